"""`blindhit demo` runs a real blinded check and reports the hits it should."""

from __future__ import annotations

import pytest

from cli.main import main


def test_demo_reports_hits_and_misses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--local", "--records", "200"]) == 0
    lines = {line.split("  ")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "HIT" in lines["Usama bin Ladin, born 1957-03-10"]
    assert "doc (strong)" in lines["passport POL EK-4471902"]
    assert "no hit" in lines["passport FRA 19AB12345"]
    assert "no hit" in lines["Ivan Petrenko, born 1966-01-30"]
