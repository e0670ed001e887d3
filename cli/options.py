"""Options shared by several verbs, so that they read and behave the same everywhere.

Like every verb module's `register`, this module stays light: building the `blindhit` parser
imports nothing beyond the standard library, `crypto.errors` and `protocol.validation`. What a
verb needs to run is imported by its handler. `DeferredChoices` and `defer_help` let a parser
name values that live in heavy modules (the reasons of a denial, the keying profiles) without
importing those modules until the value is checked or the help is printed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from crypto.errors import InputError
from protocol.validation import check_env_variable, is_valid_host

if TYPE_CHECKING:
    from node.config import KeySettings

__all__ = [
    "DeferredChoices",
    "add_node_argument",
    "add_passphrase_arguments",
    "add_workers_argument",
    "check_extra_hosts",
    "defer_help",
    "key_settings",
    "non_negative",
    "positive",
]


class DeferredChoices(Iterable[str]):
    """The `choices` of an argument, computed by `values` the first time argparse reads them.

    argparse reads choices when the argument is given (to check it) and when help or usage is
    printed; give the argument a `metavar`, or argparse reads them at once to build one.
    """

    def __init__(self, values: Callable[[], Sequence[str]]) -> None:
        self._values = values

    @cached_property
    def _computed(self) -> tuple[str, ...]:
        return tuple(self._values())

    def __iter__(self) -> Iterator[str]:
        return iter(self._computed)

    def __contains__(self, value: object) -> bool:
        return value in self._computed


class _Deferred:
    """Text computed when it is shown (see `defer_help`)."""

    def __init__(self, text: Callable[[], str]) -> None:
        self._text = text

    def __str__(self) -> str:
        return self._text()


def defer_help(action: argparse.Action, **texts: Callable[[], str]) -> None:
    """Fill the `%(NAME)s` fields of `action`'s help with `texts[NAME]()` when help is printed.

    argparse expands an action's help text with the action's attributes, and only when it formats
    the help; each text is set as such an attribute and computed then.
    """
    for name, text in texts.items():
        setattr(action, name, _Deferred(text))


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
    # Imported here: the configuration machinery is for verbs that run, not for the parser.
    from node.config import KeySettings

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
