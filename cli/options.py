"""Options shared by several verbs, so that they read and behave the same everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from crypto.errors import InputError
from node.config import KeySettings
from protocol.validation import check_env_variable, is_valid_host

__all__ = [
    "add_node_argument",
    "add_passphrase_arguments",
    "add_workers_argument",
    "check_extra_hosts",
    "key_settings",
    "non_negative",
    "positive",
]


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


def add_passphrase_arguments(parser: argparse.ArgumentParser) -> None:
    """`--passphrase-env VARIABLE` or `--passphrase-file FILE` (one required): the passphrase."""
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument(
        "--passphrase-env", metavar="VARIABLE", help="environment variable holding the passphrase"
    )
    secret.add_argument(
        "--passphrase-file", type=Path, metavar="FILE", help="file holding the passphrase"
    )


def key_settings(args: argparse.Namespace) -> KeySettings:
    """The passphrase source of `add_passphrase_arguments`, checked, with the file made absolute.

    Raises:
        InputError: the environment variable name is malformed.
    """
    if args.passphrase_env is not None:
        check_env_variable(args.passphrase_env, "--passphrase-env")
    return KeySettings(
        passphrase_env=args.passphrase_env,
        passphrase_file=args.passphrase_file.absolute() if args.passphrase_file else None,
    )


def check_extra_hosts(hosts: Sequence[str]) -> None:
    """Check the host names of `--san` options, extra names for a TLS certificate.

    Raises:
        InputError: one is neither a host name nor an IP address.
    """
    for host in hosts:
        if not is_valid_host(host):
            raise InputError(f"--san: expected a host name or IP address, got {host!r}")


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
