"""The benchmark scripts run end to end at tiny sizes (a smoke test; figures are not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]


def test_crypto_benchmark_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "crypto.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for expected in ("BlindEvaluateBatch (OPRF", "Finalize (VOPRF", "inclusion proof"):
        assert expected in result.stdout
