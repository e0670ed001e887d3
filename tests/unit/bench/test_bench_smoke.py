"""The benchmark scripts run end to end at tiny sizes (a smoke test; figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("cli_start.py", ("blindhit --help", "blindhit keys", "(target 150 ms: ")),
        ("crypto.py", ("BlindEvaluateBatch (OPRF", "Finalize (VOPRF", "inclusion proof")),
        ("node.py", ("served BlindEvaluate", "one-person check", "300-person manifest")),
        ("index_build.py", ("whole build", "OPRF evaluation alone", "incremental")),
        ("serve.py", ("tags served", "peak resident", "300-person manifest after sync")),
        ("federation.py", ("3 members", "1 fan-out call", "of raw")),
        # The test suite's virtualenv never has openmined-psi: the blindhit half runs alone.
        (
            "psi_compare.py",
            ("openmined-psi is not installed", "BlindEvaluateBatch", "blindhit found"),
        ),
    ],
)
def test_benchmark_runs(script: str, expected: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for line in expected:
        assert line in result.stdout
