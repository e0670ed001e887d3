"""Options shared by several verbs, so that they read and behave the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_node_argument", "add_workers_argument", "non_negative", "positive"]


def add_node_argument(parser: argparse.ArgumentParser) -> None:
    """`--node DIR`: the node directory every verb that runs as a node takes (default: `.`)."""
    parser.add_argument(
        "--node",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="node directory holding node.toml (default: the current directory)",
    )


def add_workers_argument(parser: argparse.ArgumentParser) -> None:
    """`--workers N`: processes that evaluate keys."""
    parser.add_argument(
        "--workers",
        type=positive,
        metavar="N",
        help="processes that evaluate keys (default: all cores)",
    )


def non_negative(text: str) -> int:
    """An argparse type: an integer >= 0 written in digits."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def positive(text: str) -> int:
    """An argparse type: an integer >= 1 written in digits."""
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
