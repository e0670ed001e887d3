"""The `blindhit` command line: one entry point, verbs grouped by role.

Each verb lives in a module of this package (`cli/`) that exposes `register(subparsers)`; the module
adds its parser and sets `handler` to a function `(argparse.Namespace) -> int`. This file only
dispatches and turns errors into one-line messages: a `BlindhitError` becomes `blindhit: <message>`
on stderr and exit status 2, never a traceback.

Building the parser is light: a verb module imports at its top only the standard library, the
error tree (`crypto.errors`), `protocol.validation` and the small modules of defaults; its handler
imports the machinery it runs on (gRPC, cryptography, the configuration, storage). So `blindhit
--help` or `blindhit keys` load what they use and nothing more; `tests/unit/cli/test_start.py`
holds that.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

# The node package sets GRPC_VERBOSITY (unless the operator did), which gRPC reads when it is
# first imported. Handlers import gRPC, some through modules that import it before anything of
# the node (federation.server), so the package is imported here, ahead of every handler; it
# imports nothing itself.
import node  # noqa: F401
from cli import (
    audit,
    check,
    dataset,
    demo,
    desk,
    dev_ca,
    federation,
    import_records,
    init,
    join,
    match_keys,
    metrics,
    referrals,
    requests,
    serve,
)
from crypto.errors import BlindhitError

__all__ = ["EXIT_ERROR", "main"]

# Exit status for bad input or a refused operation. 0 and 1 are left to verbs that report an
# outcome (for example hit / no hit).
EXIT_ERROR = 2

_COMMANDS: tuple[ModuleType, ...] = (
    init,
    join,
    dev_ca,
    import_records,
    dataset,
    serve,
    desk,
    check,
    requests,
    referrals,
    metrics,
    demo,
    match_keys,
    audit,
    federation,
)

Handler = Callable[[argparse.Namespace], int]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blindhit",
        description="Blinded hit/no-hit checks between police nodes.",
        epilog="Example: blindhit demo",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (callable in-process by tests)."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except BlindhitError as error:
        print(f"blindhit: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("blindhit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`blindhit ... | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
