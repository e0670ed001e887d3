"""The committed generated code of the wire contract is what the .proto files produce."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from proto.blindhit.v1 import common_pb2, match_pb2

ROOT = Path(__file__).parents[3]


def test_generated_code_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "proto" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_generated_modules_import_and_round_trip() -> None:
    request = match_pb2.BlindEvaluateRequest(
        context=common_pb2.RequestContext(purpose="border check"),
        dataset="watchlist",
        blinded_elements=[b"\x01" * 32],
    )
    decoded = match_pb2.BlindEvaluateRequest.FromString(request.SerializeToString())
    assert decoded == request
