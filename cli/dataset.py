"""`blindhit dataset`: list and inspect datasets, rotate a dataset's OPRF key, export an index.

Subcommands:

- `list`: every dataset declared in node.toml or stored in the database, with its suite, mode,
  record count, latest epoch and key version.
- `show NAME`: one dataset in detail: its keys (public halves only) and every epoch with its
  counts, index size, delta size, digest and audit-log index.
- `rotate-key NAME`: a new OPRF key; every record is re-evaluated into a new epoch, the old key
  is retired, and `key_rotated` and `dataset_epoch_published` are logged. Progress goes to
  stderr when it is a terminal (`cli.progress`).
- `export-index NAME [--epoch N] --out FILE`: the wire form of an epoch's match index, for
  debugging; its BLAKE3 digest is the one logged for the epoch.

Nothing here prints a record, a tag or a private key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.options import add_node_argument, add_workers_argument
from cli.progress import Progress
from crypto.errors import InputError

if TYPE_CHECKING:
    from node.config import NodeConfig
    from node.datasets.store import DatasetStore, EpochInfo

__all__ = ["register"]


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    """Add `dataset` and its subcommands to the `blindhit` parser."""
    parser = subparsers.add_parser(
        "dataset",
        help="list and inspect datasets, rotate a key, export a match index",
        description="List and inspect the node's datasets, rotate a dataset's OPRF key, and "
        "export the match index of an epoch.",
        epilog="Example:\n  blindhit dataset show persons --node ./fr-ct",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="dataset_command", metavar="SUBCOMMAND", required=True)

    listing = commands.add_parser(
        "list",
        help="list the datasets",
        description="List the datasets declared in node.toml or stored in the database.",
        epilog="Example:\n  blindhit dataset list --node ./fr-ct",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_node_argument(listing)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    show = commands.add_parser(
        "show",
        help="show one dataset: keys and epochs",
        description="Show a dataset: suite, mode, keying profile, keys and every epoch.",
        epilog="Example:\n  blindhit dataset show persons --node ./fr-ct",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("name", metavar="NAME")
    add_node_argument(show)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_show)

    rotate = commands.add_parser(
        "rotate-key",
        help="replace a dataset's OPRF key (re-evaluates every record, new epoch)",
        description="Generate a new OPRF key for the dataset, re-evaluate every record with it "
        "into a new epoch, retire the old key and log the rotation.",
        epilog="Example:\n  blindhit dataset rotate-key persons --node ./fr-ct",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rotate.add_argument("name", metavar="NAME")
    add_node_argument(rotate)
    add_workers_argument(rotate)
    rotate.add_argument("--json", action="store_true", help="print the summary as JSON")
    rotate.set_defaults(handler=_rotate)

    export = commands.add_parser(
        "export-index",
        help="write the match index of an epoch (wire form) to a file",
        description="Write the encoded match index of an epoch (default: the latest) to a new "
        "file, for debugging. Its BLAKE3 digest is the one the audit log holds.",
        epilog="Example:\n  blindhit dataset export-index persons --epoch 3 --out persons-3.bhmi",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("name", metavar="NAME")
    add_node_argument(export)
    export.add_argument("--epoch", type=int, help="epoch to export (default: the latest)")
    export.add_argument("--out", type=Path, required=True, metavar="FILE", help="new file")
    export.set_defaults(handler=_export)


def _store(config: NodeConfig) -> DatasetStore:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.datasets.store import DatasetStore

    return DatasetStore(config.node.database, create=False)


def _epoch_summary(epoch: EpochInfo) -> dict[str, Any]:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.datasets.store import format_time

    return {
        "epoch": epoch.epoch,
        "created": format_time(epoch.created),
        "key_version": epoch.key_version,
        "records": epoch.record_count,
        "keys": epoch.key_count,
        "index_entries": epoch.published_count,
        "capacity": epoch.params.capacity,
        "false_hit_bits": epoch.params.false_hit_bits,
        "index_bytes": epoch.index_size,
        "delta_bytes": epoch.delta_size,
        "keyframe": epoch.keyframe,
        "added": epoch.added,
        "updated": epoch.updated,
        "deleted": epoch.deleted,
        "evaluated": epoch.evaluated,
        "index_digest": epoch.index_digest.hex(),
        "audit_index": epoch.audit_index,
    }


def _list(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.home import load_node_config

    config = load_node_config(args.node)
    with _store(config) as store:
        stored = {info.name: info for info in store.datasets()}
    declared = {dataset.name: dataset for dataset in config.datasets}
    rows = []
    for name in sorted(set(stored) | set(declared)):
        info = stored.get(name)
        dataset = declared.get(name)
        suite = info.suite if info is not None else dataset.suite if dataset else None
        mode = info.mode if info is not None else dataset.mode if dataset else None
        rows.append(
            {
                "name": name,
                "declared": dataset is not None,
                "suite": None if suite is None else suite.value.identifier,
                "mode": None if mode is None else mode.name,
                "records": 0 if info is None else info.record_count,
                "epoch": None if info is None else info.latest_epoch,
                "key_version": None if info is None else info.key_version,
                "description": "" if dataset is None else dataset.description,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no datasets: declare one in node.toml as [datasets.<name>]")
        return 0
    print(f"{'dataset':<24} {'suite':<20} {'mode':<6} {'records':>10} {'epoch':>6} {'key':>4}")
    for row in rows:
        note = "" if row["declared"] else "  (not declared in node.toml)"
        epoch = "-" if row["epoch"] is None else row["epoch"]
        key = "-" if row["key_version"] is None else row["key_version"]
        print(
            f"{row['name']:<24} {row['suite'] or '-':<20} {row['mode'] or '-':<6} "
            f"{row['records']:>10,} {epoch:>6} {key:>4}{note}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.datasets.store import format_time
    from node.home import load_node_config

    config = load_node_config(args.node)
    with _store(config) as store:
        info = store.dataset(args.name)
        if info is None:
            declared = config.dataset(args.name) is not None
            hint = "import records into it first" if declared else "it is not declared either"
            raise InputError(f"dataset {args.name!r} has no data: {hint}")
        keys = store.keys(args.name)
        epochs = store.epochs(args.name)
        tags = store.tag_count(args.name)
    key_rows: list[dict[str, Any]] = [
        {
            "version": key.version,
            "public_key": key.public_key.hex(),
            "created": format_time(key.created),
            "retired_at": None if key.retired_at is None else format_time(key.retired_at),
        }
        for key in keys
    ]
    epoch_rows = [_epoch_summary(epoch) for epoch in epochs]
    summary: dict[str, Any] = {
        "name": info.name,
        "suite": info.suite.value.identifier,
        "mode": info.mode.name,
        "keying_profile": info.profile,
        "created": format_time(info.created),
        "records": info.record_count,
        "tags": tags,
        "keys": key_rows,
        "epochs": epoch_rows,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"dataset {info.name}: {info.suite.value.identifier}, {info.mode.name} mode,")
    print(f"  keying profile {info.profile}, created {summary['created']}")
    print(f"  {info.record_count:,} records, {tags:,} tags in the local map")
    for key in key_rows:
        state = "current" if key["retired_at"] is None else f"retired {key['retired_at']}"
        print(f"  key {key['version']} ({state}): public key {key['public_key']}")
    print(
        f"\n{'epoch':>5} {'created':<27} {'key':>3} {'records':>9} {'entries':>9} "
        f"{'bytes':>10} {'delta':>9} {'digest':<17} {'logged':>7}"
    )
    for row in epoch_rows:
        delta = "-" if row["delta_bytes"] is None else f"{row['delta_bytes']:,}"
        logged = "no" if row["audit_index"] is None else f"#{row['audit_index']}"
        print(
            f"{row['epoch']:>5} {row['created']:<27} {row['key_version']:>3} "
            f"{row['records']:>9,} {row['index_entries']:>9,} {row['index_bytes']:>10,} "
            f"{delta:>9} {row['index_digest'][:16]:<17} {logged:>7}"
        )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.audit.store import AuditLog
    from node.datasets.build import log_epochs, rotate_key
    from node.home import NodeLayout, load_node_config

    config = load_node_config(args.node)
    dataset = config.dataset(args.name)
    if dataset is None:
        raise InputError(
            f"{NodeLayout(config.directory).config}: no [datasets.{args.name}] table; "
            f"dataset {args.name!r} is not declared"
        )
    passphrase = config.keys.read_passphrase()
    database = config.node.database
    progress = Progress(sys.stderr, f"re-evaluating {dataset.name} under a new key")
    with _store(config) as store, AuditLog(database) as audit, progress:
        log_epochs(store, audit, config.node.id)
        result = rotate_key(
            store,
            dataset,
            node_id=config.node.id,
            passphrase=passphrase,
            workers=args.workers,
            on_progress=progress,
        )
        progress.close()
        logged = log_epochs(store, audit, config.node.id)
    epoch = next((e for e in logged if e.dataset == dataset.name), result.epoch)
    assert epoch is not None
    summary = {
        "dataset": dataset.name,
        "key_version": epoch.key_version,
        **_epoch_summary(epoch),
        "keys_evaluated": result.keys_evaluated,
        "seconds": round(result.timings.get("total", 0.0), 3),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"{dataset.name}: key {epoch.key_version} in use, key {epoch.key_version - 1} retired; "
        f"epoch {epoch.epoch} published: {epoch.record_count:,} records, "
        f"{result.keys_evaluated:,} keys evaluated, digest {epoch.index_digest.hex()[:16]}...; "
        f"{summary['seconds']:.2f} s"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.home import load_node_config

    config = load_node_config(args.node)
    with _store(config) as store:
        if store.dataset(args.name) is None:
            raise InputError(f"dataset {args.name!r} has no data")
        index = store.index(args.name, args.epoch)
        epoch = store.latest_epoch(args.name) if args.epoch is None else None
        number = args.epoch if epoch is None else epoch.epoch
    encoded = index.encode()
    try:
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(f"{args.out} exists; choose a new file name") from exc
    except OSError as exc:
        raise InputError(f"cannot create {args.out}: {exc.strerror or exc}") from exc
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(encoded)
    print(
        f"{args.name}: epoch {number} index written to {args.out}: {index.count:,} entries, "
        f"{len(encoded):,} bytes, digest {index.digest().hex()}"
    )
    return 0
