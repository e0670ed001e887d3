"""`blindhit import`: load records from CSV or JSON Lines into a dataset, as one new epoch.

The dataset must be declared in node.toml (`[datasets.<name>]`); the mapping file says which
column holds the record id, each record field and the metadata (`node.datasets.sources`). By
default an
import is all or nothing: one invalid record and nothing is written, every error is listed as
`FILE:LINE: FIELD: reason` (the first 50, then a count) and the exit status is 2. With
`--skip-invalid --rejects FILE` the invalid records go to FILE with their reasons and the rest is
imported.

The whole import is one database transaction (`node.datasets.store`), followed by the audit entry of
the new epoch (`node.datasets.build.log_epochs`), which also logs any epoch a crash left unlogged.
Progress goes to stderr when it is a terminal (`cli.progress`: a bar over the bytes of the file
read, then the phases of writing the epoch); the summary goes to stdout (`--json` for scripts).

SIGTERM stops an import as Ctrl-C does: the transaction is rolled back, the worker processes end
(`node.datasets.evaluator`), one line on stderr says that nothing was imported, and the exit
status is 128 plus the signal number (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

from cli.options import add_node_argument, add_workers_argument
from cli.progress import Progress
from crypto.errors import InputError

if TYPE_CHECKING:
    from node.datasets.build import EpochResult, Rejection
    from node.datasets.sources import RecordSource

__all__ = ["MAX_LISTED", "Progress", "register"]

MAX_LISTED: Final = 50
"""Errors (or warnings) listed one per line before the rest are only counted."""

_EXAMPLE = """The mapping file (TOML) says which input column holds what, for example:

  format = "csv"               # or "jsonl"; by default from the file's extension
  delimiter = ","              # CSV only
  id = "REF"                   # the column of the record id (required); a known id is updated
  delete = "ACTION"            # optional: a row whose ACTION is "delete" removes the record
  [fields]                     # record field = input column; fields make the match keys
  name = "FULL_NAME"
  date_of_birth = "DOB"
  document_number = "PASSPORT_NO"
  document_issuing_country = "PASSPORT_COUNTRY"
  [metadata]                   # metadata name = input column; stored, never a match key
  person_status = "STATUS"
  notice_type = "NOTICE"
  owner_reference = "FILE_REF"

Record fields: name, family_name, given_names, aliases, date_of_birth, sex, nationality,
nationalities, place_of_birth, document_type, document_number, document_issuing_country,
iban, account_number, bank_id, vin, plate, plate_country, phone, email, dna, and the lists
documents, accounts, vehicles, phones, emails (as JSON lists, in JSON Lines).
Metadata: person_status, notice_type and warning_markers reach a querier only in an approved
disclosure; owner_reference and handling_code never leave the node.

With --skip-invalid, rejected records are written to --rejects as they were read (bytes that
are not UTF-8 included), with their line and reason. SIGTERM or Ctrl-C stops an import with
nothing written.

Example:
  blindhit import --node ./fr-ct --dataset persons --mapping persons.toml wanted.csv
  blindhit import --node ./fr-ct --dataset persons --mapping persons.toml wanted.csv \\
      --skip-invalid --rejects wanted.rejects.csv"""


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    """Add `import` to the `blindhit` parser."""
    parser = subparsers.add_parser(
        "import",
        help="import records from CSV or JSON Lines into a dataset (a new epoch)",
        description="Import records into a dataset declared in node.toml, with a field mapping "
        "(TOML). Records with a known id are updated, a delete column removes records; the "
        "match index is rebuilt incrementally and its digest logged in the audit log.",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="CSV or JSON Lines file")
    add_node_argument(parser)
    parser.add_argument("--dataset", required=True, help="dataset name, as in node.toml")
    parser.add_argument("--mapping", type=Path, required=True, help="field mapping (TOML)")
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid records and write the invalid ones to --rejects",
    )
    parser.add_argument(
        "--rejects", type=Path, metavar="FILE", help="new file for invalid records and reasons"
    )
    add_workers_argument(parser)
    parser.add_argument(
        "--warnings", action="store_true", help="list data-quality warnings on stderr"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=_run)


def print_listed(source: RecordSource, items: Iterable[Rejection], what: str) -> None:
    """Print `FILE:LINE: message` lines on stderr, the first `MAX_LISTED`, then a count."""
    listed = list(items)
    for item in listed[:MAX_LISTED]:
        print(f"{source.where(item.line)}: {source.explain(item.reason)}", file=sys.stderr)
    if len(listed) > MAX_LISTED:
        print(f"... and {len(listed) - MAX_LISTED} more {what}", file=sys.stderr)


def _summary(result: EpochResult, source: RecordSource, rejects: Path | None) -> dict[str, Any]:
    epoch = result.epoch
    return {
        "dataset": result.dataset,
        "file": str(source.path),
        "epoch": None if epoch is None else epoch.epoch,
        "created_dataset": result.created_dataset,
        "added": result.added,
        "updated": result.updated,
        "deleted": result.deleted,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "rejects_file": None if rejects is None else str(rejects),
        "warnings": result.warning_count,
        "records_evaluated": result.records_evaluated,
        "keys_evaluated": result.keys_evaluated,
        "records": None if epoch is None else epoch.record_count,
        "index_entries": None if epoch is None else epoch.published_count,
        "index_bytes": None if epoch is None else epoch.index_size,
        "delta_bytes": None if epoch is None else epoch.delta_size,
        "index_digest": None if epoch is None else epoch.index_digest.hex(),
        "audit_index": None if epoch is None else epoch.audit_index,
        "seconds": round(result.timings.get("total", 0.0), 3),
    }


def _print_summary(summary: dict[str, Any]) -> None:
    counts = (
        f"added {summary['added']:,}, updated {summary['updated']:,}, "
        f"deleted {summary['deleted']:,}, unchanged {summary['unchanged']:,}, "
        f"rejected {summary['rejected']:,}"
    )
    if summary["epoch"] is None:
        print(f"{summary['dataset']}: no changes ({counts}); {summary['seconds']:.2f} s")
        return
    print(
        f"{summary['dataset']}: epoch {summary['epoch']} published: {counts}; "
        f"{summary['keys_evaluated']:,} keys evaluated; index {summary['index_entries']:,} "
        f"entries, {summary['index_bytes']:,} bytes, digest {summary['index_digest'][:16]}...; "
        f"{summary['seconds']:.2f} s"
    )
    if summary["warnings"]:
        print(f"  {summary['warnings']:,} data-quality warnings (list them with --warnings)")
    if summary["rejects_file"] is not None:
        print(f"  rejected records written to {summary['rejects_file']}")


class _Stop:
    """Which signal stopped the import, and whether its epoch was committed by then."""

    def __init__(self) -> None:
        self.signal = signal.SIGINT
        self.committed = False


@contextlib.contextmanager
def _sigterm_interrupts(stop: _Stop) -> Iterator[None]:
    """Let SIGTERM raise `KeyboardInterrupt` in the main thread, as SIGINT does by default."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Only the main thread may set signal handlers.
        return

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.signal = signal.Signals(number)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    stop = _Stop()
    try:
        with _sigterm_interrupts(stop):
            return _import(args, stop)
    except KeyboardInterrupt:
        name = "SIGTERM" if stop.signal == signal.SIGTERM else "interrupted"
        if stop.committed:
            # The epoch was committed; a command that finds it unlogged logs it
            # (`node.datasets.build.log_epochs`).
            print(f"blindhit: {name}: the import was committed before it stopped", file=sys.stderr)
        else:
            print(f"blindhit: {name}: import stopped, nothing was imported", file=sys.stderr)
        return 128 + int(stop.signal)


def _import(args: argparse.Namespace, stop: _Stop) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.audit.store import AuditLog
    from node.datasets.build import ImportOptions, ImportRejected, import_records, log_epochs
    from node.datasets.sources import load_mapping, open_source
    from node.datasets.store import DatasetStore
    from node.home import NodeLayout, load_node_config

    if args.skip_invalid and args.rejects is None:
        raise InputError("--skip-invalid needs --rejects FILE, so that no record is dropped unseen")
    if args.rejects is not None and not args.skip_invalid:
        raise InputError("--rejects is only used with --skip-invalid")
    if args.rejects is not None and args.rejects.exists():
        raise InputError(f"{args.rejects} exists; a rejects file is never replaced")
    config = load_node_config(args.node)
    dataset = config.dataset(args.dataset)
    if dataset is None:
        raise InputError(
            f"{NodeLayout(config.directory).config}: no [datasets.{args.dataset}] table; "
            f"declare dataset {args.dataset!r} there before importing into it"
        )
    mapping = load_mapping(args.mapping)
    source = open_source(args.file, mapping)
    passphrase = config.keys.read_passphrase()
    options = ImportOptions(skip_invalid=args.skip_invalid, workers=args.workers)
    progress = Progress(
        sys.stderr,
        f"importing {source.path.name}",
        source.size,
        position=lambda step: source.bytes_read,
    )
    database = config.node.database
    with DatasetStore(database, create=False) as store, AuditLog(database) as audit:
        log_epochs(store, audit, config.node.id)
        try:
            result = import_records(
                store,
                dataset,
                source,
                node_id=config.node.id,
                passphrase=passphrase,
                options=options,
                on_progress=progress,
            )
        except ImportRejected as rejected:
            progress.close()
            print_listed(source, rejected.rejections, "invalid records")
            raise
        finally:
            progress.close()
        stop.committed = True
        published = log_epochs(store, audit, config.node.id)
    epoch = next((e for e in published if e.dataset == dataset.name), result.epoch)
    result = dataclasses.replace(result, epoch=epoch)
    if args.rejects is not None:
        reasons = {r.line: source.explain(r.reason) for r in result.rejections}
        source.write_rejects(args.rejects, reasons)
    if args.warnings:
        print_listed(source, result.warnings, "warnings")
    summary = _summary(result, source, args.rejects)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0
