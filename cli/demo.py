"""`blindhit demo`: the federation on loopback (`dev.demo`), or `--local`, one check.

The federation demo is the main job of `make demo`: see `dev.demo` for its six steps.

`--local` runs a real blinded check between an owner and a querier in one process. The owner
holds a few thousand invented person records (names in Latin, Arabic and Cyrillic script),
derives their match keys, and evaluates each with its secret OPRF key into an index of tags. The
querier blinds the match keys of a handful of probes; the owner evaluates only the blinded
elements; the querier unblinds them and looks the tags up locally.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crypto.errors import InputError

__all__ = ["register"]

_DATASET = "watchlist"
# Records the owner holds besides the invented crowd, written the way the owner's files have
# them, and the probes the querier sends, written the way a border officer types them.
_PLANTED: tuple[dict[str, Any], ...] = (
    {"id": "W-0001", "name": "أسامة بن لادن", "date_of_birth": "1957-03-10"},
    {
        "id": "W-0002",
        "family_name": "Kowalczyk",
        "given_names": "Anna Maria",
        "date_of_birth": "1988-11-02",
        "document_type": "passport",
        "document_number": "EK 4471902",
        "document_issuing_country": "POL",
    },
    {"id": "W-0003", "name": "Дмитрий Соколов", "date_of_birth": "1979-06-21"},
)


def _passport(country: str, number: str) -> dict[str, Any]:
    return {
        "document_type": "passport",
        "document_number": number,
        "document_issuing_country": country,
    }


def _person(name: str, born: str) -> dict[str, Any]:
    return {"name": name, "date_of_birth": born}


_PROBES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Usama bin Ladin, born 1957-03-10", _person("Usama bin Ladin", "1957-03-10")),
    ("passport POL EK-4471902", _passport("POL", "EK-4471902")),
    ("SOKOLOV, Dmitriy, born 1979", _person("SOKOLOV, Dmitriy", "1979")),
    ("Maria Gonzalez, born 1990-04-14", _person("Maria Gonzalez", "1990-04-14")),
    ("passport FRA 19AB12345", _passport("FRA", "19AB12345")),
    ("Ivan Petrenko, born 1966-01-30", _person("Ivan Petrenko", "1966-01-30")),
)


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "demo",
        help="run a federation on loopback: fan-out check, disclosure, verified audit logs",
        description="Start a coordinating node and four member nodes on loopback, check a "
        "300-passenger manifest against all of them, disclose one hit and verify every audit "
        "log. Example: blindhit demo. With --local: one blinded check in this process.",
    )
    parser.add_argument(
        "--local", action="store_true", help="only one blinded check, owner and querier here"
    )
    parser.add_argument(
        "--records", type=int, default=4000, help="with --local: the owner's records (4000)"
    )
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="run in DIR (new) and keep its files"
    )
    parser.set_defaults(handler=_dispatch)


def _dispatch(args: argparse.Namespace) -> int:
    if args.local:
        return _run(args)
    # Imported here: the federation demo drives the command line itself.
    from dev.demo import run_demo

    print("blindhit demo: a federation of five processes on loopback, every step real")
    if args.keep is not None:
        if args.keep.exists():
            raise InputError(f"--keep {args.keep}: already exists; name a new directory")
        run_demo(args.keep)
        return 0
    with tempfile.TemporaryDirectory(prefix="blindhit-demo-") as root:
        run_demo(Path(root) / "federation")
    return 0


def _timed(step: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = step()
    return result, time.perf_counter() - start


def _run(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.oprf import Mode, OprfServer, Suite, generate_key_pair
    from dev.synthetic import synthetic_people
    from protocol.check import DatasetDescriptor, QuerierCheck
    from protocol.match_index import DecodedIndex, IndexParameters, decode_index
    from protocol.match_keys import DEFAULT_PROFILE, derive_keys, oprf_input

    suite = Suite.RISTRETTO255_SHA512
    print("blindhit demo --local: one blinded check, owner and querier in this process\n")

    # Owner: records, match keys, and the index of tags under the dataset's secret key.
    records = [*synthetic_people(args.records), *_PLANTED]
    inputs = [
        oprf_input(DEFAULT_PROFILE, _DATASET, key)
        for record in records
        for key in derive_keys(record, DEFAULT_PROFILE).keys
    ]
    key_pair = generate_key_pair(suite)
    owner = OprfServer(suite, Mode.OPRF, key_pair.private_key)
    tags, index_seconds = _timed(lambda: owner.evaluate_batch(inputs))
    wire = DecodedIndex.from_tags(tags, IndexParameters.for_capacity(len(tags))).encode()
    print(f"owner    holds {len(records):,} records in dataset '{_DATASET}'")
    print(
        f"owner    evaluated {len(inputs):,} match keys in {index_seconds:.2f} s "
        f"({len(inputs) / index_seconds:,.0f} keys/s, {suite.value.identifier}, OPRF mode)"
    )
    print(
        f"owner    publishes its match index: {len(wire):,} bytes "
        f"({len(wire) / len(inputs):.2f} bytes per key, false-hit bound 2^-30 per probe key)"
    )

    # Querier: the index it synced, then one batch of blinded match keys for all probes.
    index = decode_index(wire, max_count=len(inputs))
    descriptor = DatasetDescriptor(
        owner="demo-owner",
        dataset=_DATASET,
        suite=suite,
        mode=Mode.OPRF,
        public_key=None,
        epoch=1,
        keying_profile=DEFAULT_PROFILE,
    )
    check = QuerierCheck(descriptor, [record for _, record in _PROBES])
    blinded, blind_seconds = _timed(check.blinded_elements)
    print(
        f"querier  blinded {len(blinded)} match keys of {len(_PROBES)} probes in "
        f"{blind_seconds * 1000:.1f} ms; first element sent: {blinded[0].hex()[:24]}…"
    )
    evaluation, evaluate_seconds = _timed(lambda: owner.blind_evaluate_batch(blinded))
    print(
        f"owner    evaluated {len(blinded)} blinded elements in {evaluate_seconds * 1000:.1f} ms "
        "(it sees random group elements, never a probe)"
    )
    start = time.perf_counter()
    check.finalize(evaluation.evaluated_elements, evaluation.proof)
    outcomes = check.outcomes_from_index(index)
    finalize_seconds = time.perf_counter() - start
    print(f"querier  unblinded and looked up its tags in {finalize_seconds * 1000:.1f} ms\n")

    # Querier: the report. A key kind tells how strong each hit is.
    print(f"{'probe':<36} {'result':<7} matched keys (strength)")
    for (label, _), outcome in zip(_PROBES, outcomes, strict=True):
        shown = ", ".join(f"{hit.kind} ({hit.strength.value})" for hit in outcome.hits)
        print(f"{label:<36} {'HIT' if outcome.hit else 'no hit':<7} {shown}")
    hits = sum(outcome.hit for outcome in outcomes)
    print(f"\n{hits} of {len(_PROBES)} probes hit; the owner learned none of them.")
    return 0
