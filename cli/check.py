"""`blindhit check`: check one person or a manifest against peers, blinded, in parallel.

Without `--dataset`, every dataset each peer offers is checked: the datasets the federation
directory lists for each member, or `[[peers]] datasets` for peers configured by hand.

Exit status: 0 when every peer answered and nothing hit, 1 when anything hit, 3 when nothing hit
but some peer did not answer (the result is incomplete), 2 for bad input or a node that cannot
start. A hit says only that the owner holds something: the match reference is what a disclosure
request quotes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.options import add_node_argument
from crypto.errors import FederationError, InputError
from protocol.admission import QueryMode

if TYPE_CHECKING:
    from node.querier.checker import PeerResult, Target
    from node.runtime import NodeRuntime

__all__ = ["EXIT_HIT", "EXIT_INCOMPLETE", "EXIT_NO_HIT", "register"]

EXIT_NO_HIT = 0
EXIT_HIT = 1
EXIT_INCOMPLETE = 3

# A manifest is a border list: a few hundred people. Far more is almost surely a wrong file.
MAX_MANIFEST_ROWS = 5000
_PERSON_FLAGS = {
    "name": "name",
    "date_of_birth": "dob",
    "nationality": "nationality",
    "document_number": "document_number",
    "document_issuing_country": "document_country",
}


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "check",
        help="check a person or a manifest against peers, blinded",
        description=(
            "Check a person or a manifest against peers' datasets. The peers never see the "
            "probes. Exit 0 no hit, 1 hit, 3 incomplete (a peer did not answer), 2 error. "
            "A manifest is CSV with a header row, or JSON Lines, one person per row: columns "
            "id (your label for the row, never sent), name or family_name and given_names, "
            "date_of_birth (or dob), nationality, sex, document_type, document_number, "
            "document_issuing_country (or document_country), and the other record fields of "
            "`blindhit keys`; other columns are ignored with a warning. "
            "Example: blindhit check --node fr-node --dataset watchlist --name 'Usama bin Ladin' "
            "--dob 1957-03-10 --officer of-17 --purpose border-check "
            "--legal-basis EU-2016/680:Art.8 --case FR-2026-17"
        ),
    )
    add_node_argument(parser)
    probe = parser.add_argument_group("probe (one person, or --manifest)")
    probe.add_argument("--person", metavar="JSON", help="one person as a JSON object")
    probe.add_argument("--name", help="full name, in any script")
    probe.add_argument("--dob", help="date of birth: YYYY-MM-DD, YYYY-MM or YYYY")
    probe.add_argument("--nationality", help="ISO 3166 alpha-3 code")
    probe.add_argument("--document-number", help="passport or identity document number")
    probe.add_argument("--document-country", help="issuing country of the document (alpha-3)")
    probe.add_argument("--manifest", type=Path, help="a CSV or JSON Lines file of persons")
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        help="a dataset to check (repeatable; default: every dataset each peer offers, from the "
        "directory or [[peers]] datasets)",
    )
    parser.add_argument(
        "--peer", action="append", default=[], help="a peer id (repeatable; default: all peers)"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="every member of the federation offering the dataset, in one fan-out through the "
        "coordinating node (needs [federation] in node.toml)",
    )
    parser.add_argument(
        "--mode", choices=[m.value for m in QueryMode], default=QueryMode.INDEX.value
    )
    why = parser.add_argument_group("why (logged by every owner; codes, no spaces)")
    why.add_argument("--officer", required=True, help="your officer id")
    why.add_argument("--purpose", required=True, help="e.g. border-check")
    why.add_argument("--legal-basis", required=True, help="e.g. EU-2016/680:Art.8")
    why.add_argument("--case", required=True, help="your case reference")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON report")
    output.add_argument("--csv", action="store_true", help="print a CSV report")
    parser.set_defaults(handler=_run)


def _probes(args: argparse.Namespace) -> tuple[list[str], list[dict[str, object]]]:
    flags = {field: getattr(args, flag) for field, flag in _PERSON_FLAGS.items()}
    given = {field: value for field, value in flags.items() if value}
    chosen = [bool(args.person), bool(given), args.manifest is not None]
    if sum(chosen) != 1:
        raise InputError("give exactly one of --person, person flags (--name ...) or --manifest")
    if args.person:
        try:
            person = json.loads(args.person)
        except json.JSONDecodeError as error:
            raise InputError(f"--person: not valid JSON ({error.msg} at {error.pos})") from None
        if not isinstance(person, dict):
            raise InputError("--person: expected a JSON object")
        return ["person"], [person]
    if given:
        return [str(given.get("name") or given.get("document_number"))], [given]
    return _manifest(args.manifest)


def _manifest(path: Path) -> tuple[list[str], list[dict[str, object]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read as UTF-8 text: {error}") from None
    rows: list[dict[str, object]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}:{number}: expected a JSON object")
            rows.append(row)
    else:
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            if None in row:
                raise InputError(f"{path}:{reader.line_num}: more values than columns")
            rows.append({key: value for key, value in row.items() if value not in ("", None)})
    if not rows:
        raise InputError(f"{path}: the manifest holds no person")
    rows = _known_columns(path, rows)
    if len(rows) > MAX_MANIFEST_ROWS:
        raise InputError(f"{path}: {len(rows)} persons; at most {MAX_MANIFEST_ROWS} per check")
    labels = [
        str(row.pop("id", None) or row.get("name") or f"row {i + 1}") for i, row in enumerate(rows)
    ]
    return labels, rows


# Columns named as `check`'s own flags are read as the fields those flags set.
_COLUMN_ALIASES = {"dob": "date_of_birth", "document_country": "document_issuing_country"}


def _known_columns(path: Path, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rename the flag-named columns, drop (and name once, on stderr) the unknown ones."""
    from protocol.match_keys.records import KNOWN_FIELDS

    unknown: set[str] = set()
    known_rows = []
    for row in rows:
        renamed = {_COLUMN_ALIASES.get(key, key): value for key, value in row.items()}
        unknown.update(key for key in renamed if key not in KNOWN_FIELDS)
        known_rows.append({k: v for k, v in renamed.items() if k in KNOWN_FIELDS})
    if unknown:
        print(
            f"blindhit: warning: {path}: ignoring unknown columns {', '.join(sorted(unknown))}",
            file=sys.stderr,
        )
    return known_rows


def _targets(args: argparse.Namespace, node: NodeRuntime) -> list[Target]:
    """(peer, dataset) pairs to check: what the options name, else every dataset offered."""
    from node.querier.checker import Target

    wanted: list[str] = args.dataset
    if args.all:
        if args.peer:
            raise InputError("give --all or --peer, not both")
        membership = node.membership
        if membership is None or membership.directory is None:
            raise InputError("--all needs [federation] in node.toml")
        targets = [
            Target(member.id, dataset.name)
            for member in membership.directory.members
            if member.id != node.config.node.id
            for dataset in member.datasets
            if not wanted or dataset.name in wanted
        ]
        if not targets:
            offered = " or ".join(wanted) if wanted else "a dataset"
            raise InputError(f"no other member of the federation offers {offered}")
        return targets
    peers = []
    for peer_id in args.peer or [peer.id for peer in node.config.peers]:
        peer = node.config.peer(peer_id)
        if peer is None:
            raise InputError(f"peer {peer_id} is not in node.toml's [[peers]]")
        peers.append(peer)
    targets = [
        Target(peer.id, dataset)
        for peer in peers
        # A peer whose datasets are known is asked only for those it offers.
        for dataset in (
            wanted if not peer.datasets else [d for d in peer.datasets if not wanted or d in wanted]
        )
    ]
    if not targets:
        raise InputError(
            "no peer offers a dataset to check: name one with --dataset, or list what each "
            "peer offers in node.toml's [[peers]] datasets"
        )
    return targets


def _run(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.runtime import NodeRuntime
    from protocol.check import RequestPurpose

    labels, probes = _probes(args)
    purpose = RequestPurpose(args.officer, args.purpose, args.legal_basis, args.case)
    with NodeRuntime.open(args.node) as node:
        if node.membership is not None:
            _refresh(node)
        targets = _targets(args, node)
        results = node.querier().check(
            probes, targets, purpose, QueryMode(args.mode), relayed=args.all
        )
    if args.json:
        print(json.dumps(_report(labels, results), ensure_ascii=False, indent=2))
    elif args.csv:
        _print_csv(labels, results)
    else:
        _print_table(labels, results)
    if any(outcome.hit for result in results for outcome in result.outcomes):
        return EXIT_HIT
    if any(result.status != "answered" for result in results):
        return EXIT_INCOMPLETE
    return EXIT_NO_HIT


def _refresh(node: NodeRuntime) -> None:
    """Use the federation's current directory; fall back to the stored one, and say so."""
    try:
        node.refresh_membership()
    except FederationError as error:
        if node.membership is None or node.membership.directory is None:
            raise
        print(f"blindhit: warning: using the stored directory: {error}", file=sys.stderr)


def _report(labels: Sequence[str], results: Sequence[PeerResult]) -> dict[str, object]:
    return {
        "peers": [
            {
                "peer": r.peer,
                "dataset": r.dataset,
                "status": r.status,
                "message": r.message,
                "epoch": r.epoch,
                "seconds": round(r.seconds, 4),
                "receipt": r.receipt,
                "receipts": list(r.receipts),
            }
            for r in results
        ],
        "probes": [
            {
                "probe": label,
                "results": [_probe_result(r, number) for r in results],
            }
            for number, label in enumerate(labels)
        ],
    }


def _probe_result(result: PeerResult, number: int) -> Mapping[str, object]:
    if result.status != "answered":
        return {"peer": result.peer, "dataset": result.dataset, "status": result.status}
    outcome = result.outcomes[number]
    return {
        "peer": result.peer,
        "dataset": result.dataset,
        "status": "hit" if outcome.hit else "no hit",
        "keys": [
            {
                "kind": h.kind,
                "strength": h.strength.value,
                "match_reference": h.match_reference.hex(),
            }
            for h in outcome.hits
        ],
    }


def _print_csv(labels: Sequence[str], results: Sequence[PeerResult]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["probe", "peer", "dataset", "result", "kinds", "strongest", "match_reference"])
    for number, label in enumerate(labels):
        for r in results:
            if r.status != "answered":
                writer.writerow([label, r.peer, r.dataset, r.status, "", "", ""])
                continue
            outcome = r.outcomes[number]
            kinds = " ".join(f"{h.kind}:{h.strength.value}" for h in outcome.hits)
            strongest = outcome.strongest.value if outcome.strongest else ""
            reference = outcome.hits[0].match_reference.hex() if outcome.hits else ""
            result = "hit" if outcome.hit else "no hit"
            writer.writerow([label, r.peer, r.dataset, result, kinds, strongest, reference])


def _print_table(labels: Sequence[str], results: Sequence[PeerResult]) -> None:
    for r in results:
        print(
            f"{r.peer:<16} {r.dataset:<16} {r.status:<12} {r.seconds * 1000:7.1f} ms  {r.message}"
        )
    print()
    width = max(12, *(len(label) for label in labels))
    for number, label in enumerate(labels):
        for r in results:
            if r.status != "answered":
                continue
            outcome = r.outcomes[number]
            if not outcome.hit:
                continue
            kinds = ", ".join(f"{h.kind} ({h.strength.value})" for h in outcome.hits)
            reference = outcome.hits[0].match_reference.hex()[:16]
            print(f"{label:<{width}}  HIT at {r.peer}/{r.dataset}: {kinds}  ref {reference}…")
    hits = sum(
        1 for number in range(len(labels))
        if any(r.status == "answered" and r.outcomes[number].hit for r in results)
    )  # fmt: skip
    print(f"{hits} of {len(labels)} probes hit")
