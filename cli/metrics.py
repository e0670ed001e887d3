"""`blindhit metrics`: the node's state as Prometheus text, for monitoring to scrape or read.

Read-only, and needs no passphrase: it opens the node's database with `mode=ro`, so it takes no
lock, creates nothing and runs beside `blindhit serve` or on a file it may not write. The gauges
are built in a `prometheus_client` registry and printed in the Prometheus text exposition format
(version 0.0.4), so that a cron job can write them where a node exporter's textfile collector
reads them. Whole values are printed without a fraction (`... 1`, not `... 1.0`; both are valid
in that format), as this command always has, so that scripts matching its lines keep working.
Overdue disclosure requests (pending past their deadline: 8 hours when urgent, 7 days otherwise)
are counted here as well as marked in `blindhit requests list`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cli.options import add_node_argument

if TYPE_CHECKING:
    from prometheus_client import Gauge

    from node.config import Dataset

__all__ = ["collect", "register"]

# A sample line whose value is a whole number written with a zero fraction.
_WHOLE_VALUE: Final = re.compile(r"^([^#].* -?\d+)\.0$", re.MULTILINE)


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "metrics",
        help="print the node's state as Prometheus text",
        description="Print audit-log, dataset and disclosure gauges in the Prometheus text "
        "format. Example: blindhit metrics --node fr-node > /var/lib/node_exporter/blindhit.prom",
    )
    add_node_argument(parser)
    parser.set_defaults(handler=_run)


def collect(database: Path, datasets: Sequence[Dataset], now: datetime) -> str:
    """Return the gauges of the node database `database` as Prometheus text, reading only."""
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    from node.audit.store import AuditLog
    from node.datasets.store import DatasetStore
    from node.owner.policy import refusals_on
    from node.storage.disclosure_requests import DisclosureStore
    from protocol.disclosure import RequestState

    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, help_text, labelnames=labels, registry=registry)

    with AuditLog(database, read_only=True) as audit:
        gauge("blindhit_audit_log_entries", "Entries in the node's audit log.").set(audit.size)
        latest = audit.latest_checkpoint()
        gauge(
            "blindhit_audit_checkpoint_size", "Tree size of the latest signed audit checkpoint."
        ).set(latest[0] if latest else 0)
    records = gauge("blindhit_dataset_records", "Records in a dataset.", ["dataset"])
    epochs = gauge("blindhit_dataset_epoch", "Published epoch of a dataset (0: none).", ["dataset"])
    entries = gauge(
        "blindhit_dataset_index_entries", "Entries in a dataset's published index.", ["dataset"]
    )
    with DatasetStore(database, create=False, read_only=True) as store:
        for dataset in datasets:
            epoch = store.published_epoch(dataset.name)
            records.labels(dataset.name).set(store.record_count(dataset.name) if epoch else 0)
            epochs.labels(dataset.name).set(epoch.epoch if epoch else 0)
            entries.labels(dataset.name).set(epoch.published_count if epoch else 0)
    with DisclosureStore(database, read_only=True) as disclosures:
        received = disclosures.list_received()
        sent = disclosures.list_sent()
    requests = gauge(
        "blindhit_disclosure_requests",
        "Disclosure requests by direction and state.",
        ["direction", "state"],
    )
    for state in RequestState:
        requests.labels("received", state.value).set(
            sum(r.current_state(now) is state for r in received)
        )
    for state in RequestState:
        requests.labels("sent", state.value).set(sum(s.state is state for s in sent))
    overdue = [r for r in received if r.overdue(now)]
    gauge("blindhit_disclosure_overdue", "Received requests pending past their deadline.").set(
        len(overdue)
    )
    gauge(
        "blindhit_disclosure_overdue_seconds_max",
        "How far the most overdue received request is past its deadline.",
    ).set(max(((now - r.due_at).total_seconds() for r in overdue), default=0.0))
    refused = gauge(
        "blindhit_requests_refused_today",
        "Requests of peers refused today (UTC), by reason; the audit log holds each refusal.",
        ["reason"],
    )
    for reason, count in sorted(refusals_on(database, now.date()).items()):
        refused.labels(reason).set(count)
    text = generate_latest(registry).decode("utf-8")
    return _WHOLE_VALUE.sub(r"\1", text)


def _run(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.home import load_node_config

    config = load_node_config(args.node)
    print(collect(config.node.database, config.datasets, datetime.now(UTC)), end="")
    return 0
