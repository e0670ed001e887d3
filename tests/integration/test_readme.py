"""The README's examples of a node by hand (with importing, serving and checking) and of the
audit, run as written, so that an example that no longer works fails a test.

The ```sh blocks of the sections "A node, by hand" and "Audit" are run in order as one bash
script, in a temporary folder that holds a `.venv` link to this interpreter's virtualenv, so the
examples' `.venv/bin/blindhit` paths stay as written. The one change made to their text is the
two ports (`SUBSTITUTIONS`), replaced by free ones so that the test never collides with a node
already listening on this machine. Every step's own output is then looked for, so that a step
that fails is caught even though `check` exits 1 for a hit.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
SECTIONS = ("## A node, by hand", "## Audit")
README_PORTS = ("127.0.0.1:7443", "127.0.0.1:7444")


def _section(text: str, title: str) -> str:
    start = text.index(f"\n{title}\n") + 1
    following = re.search(r"^## ", text[start + len(title) :], re.MULTILINE)
    return (
        text[start:] if following is None else text[start : start + len(title) + following.start()]
    )


def readme_script() -> str:
    """The sh blocks of `SECTIONS`, in order, as they are written in README.md."""
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    blocks = [
        block
        for title in SECTIONS
        for block in re.findall(r"^```sh\n(.*?)^```$", _section(text, title), re.S | re.M)
    ]
    assert len(blocks) >= 4, "the README's node-by-hand and audit examples were not found"
    return "\n".join(blocks)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_readme_examples_run_as_written(tmp_path: Path) -> None:
    script = readme_script()
    for written in README_PORTS:
        assert written in script, f"{written} is no longer in the README's examples"
    # The only substitution: the README's fixed ports, for free ones.
    substitutions = {written: f"127.0.0.1:{_free_port()}" for written in README_PORTS}
    for written, free in substitutions.items():
        script = script.replace(written, free)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "readme.sh").write_text(script, encoding="utf-8")

    process = subprocess.Popen(
        ["bash", "readme.sh"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a serve left running can be stopped with the script
    )
    try:
        out, err = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    everything = out + err
    assert process.returncode == 0, everything
    for line in err.splitlines():
        # No step failed: blindhit's errors start "blindhit: ", argparse's print a usage line.
        assert not line.startswith(("blindhit: ", "usage:")), everything
        assert "command not found" not in line, everything
        assert "No such file" not in line, everything
    # Each step said it did its work.
    assert "Created development CA 'Local CA'" in out, everything
    assert "Created node fr-ct (FRA)" in out, everything
    assert "Created node de-bka (DEU)" in out, everything
    assert "watchlist: epoch 1 published: added 2," in out, everything
    assert "Usama bin Ladin  HIT at fr-ct/watchlist" in out, everything
    assert "1 of 1 probes hit" in out, everything
    assert "exported 2 entries of fr-ct to bundle" in out, everything
    assert "1 earlier checkpoints" in out, everything
    assert "result: OK" in out, everything
    assert "fr-ct listening on" in (tmp_path / "fr-serve.log").read_text(encoding="utf-8")
    assert err.splitlines()[-1:] == ["fr-ct stopped"], everything
