"""`blindhit keys`: print the match keys of one record, to explain why it did or did not match.

The record is one JSON object, given as the argument or on standard input. The output is JSON:
the profile version, the keys (kind, strength, canonical value) and the data-quality warnings.
With `--dataset`, each key also shows the exact OPRF input in hex.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cli.options import defer_help
from crypto.errors import InputError

__all__ = ["register"]

_EXAMPLE = """Example:
  blindhit keys '{"name": "أسامة بن لادن", "date_of_birth": "1957-03-10"}'
  echo '{"documents": [{"number": "X1234567", "issuing_country": "FR"}]}' | blindhit keys"""


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "keys",
        help="print the match keys of one record as JSON",
        description="Derive the match keys of one JSON record and print them as JSON.",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "record",
        nargs="?",
        default="-",
        help="the record as a JSON object; '-' or nothing reads standard input",
    )
    profile = parser.add_argument(
        "--profile",
        metavar="VERSION",
        help="keying profile version (known: %(known)s; default %(current)s)",
    )
    # The profiles are read from their registry only when this help is printed.
    defer_help(profile, known=_known_profiles, current=_default_profile)
    parser.add_argument(
        "--dataset",
        help="also print each key's OPRF input (hex) for this dataset name",
    )
    parser.set_defaults(handler=_run)


def _known_profiles() -> str:
    # Imported when the help is printed, not when the parser is built (see cli.main).
    from protocol.match_keys import PROFILES

    return ", ".join(sorted(PROFILES))


def _default_profile() -> str:
    # Likewise.
    from protocol.match_keys import DEFAULT_PROFILE

    return DEFAULT_PROFILE


def _read_record(argument: str) -> dict[str, object]:
    if argument == "-" and sys.stdin.isatty():
        # Waiting silently on a terminal looks like a hang; say what is expected instead.
        raise InputError("record: give a JSON object as the argument or on standard input")
    text = sys.stdin.read() if argument == "-" else argument
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"record: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from error
    if not isinstance(value, dict):
        raise InputError(f"record: expected a JSON object, got {type(value).__name__}")
    return value


def _run(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from protocol.match_keys import DEFAULT_PROFILE, derive_keys, get_profile, oprf_input

    profile = get_profile(DEFAULT_PROFILE if args.profile is None else args.profile)
    result = derive_keys(_read_record(args.record), profile)
    keys = []
    for key in result.keys:
        entry = {"kind": key.kind.value, "strength": key.strength.value, "value": key.value}
        if args.dataset is not None:
            entry["oprf_input"] = oprf_input(result.profile, args.dataset, key).hex()
        keys.append(entry)
    document = {
        "profile": result.profile,
        "keys": keys,
        "warnings": [
            {"field": warning.field, "code": warning.code.value, "message": warning.message}
            for warning in result.warnings
        ],
    }
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0
