"""`blindhit metrics`: the node's state as Prometheus text, for monitoring to scrape or read.

Read-only, and needs no passphrase: it opens the node's database for reading and prints gauges
in the Prometheus text exposition format (version 0.0.4), one per line, so that a cron job can
write them where a node exporter's textfile collector reads them. Overdue disclosure requests
(pending past their deadline: 8 hours when urgent, 7 days otherwise) are counted here as well as
marked in `blindhit requests list`.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from cli.options import add_node_argument
from node.audit.store import AuditLog
from node.datasets.store import DatasetStore
from node.home import load_node_config
from node.storage.disclosure_requests import DisclosureStore
from protocol.disclosure import RequestState

__all__ = ["register"]


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "metrics",
        help="print the node's state as Prometheus text",
        description="Print audit-log, dataset and disclosure gauges in the Prometheus text "
        "format. Example: blindhit metrics --node fr-node > /var/lib/node_exporter/blindhit.prom",
    )
    add_node_argument(parser)
    parser.set_defaults(handler=_run)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Gauges:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._seen: set[str] = set()

    def add(self, name: str, help_text: str, value: float, **labels: str) -> None:
        if name not in self._seen:
            self._seen.add(name)
            self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        shown = ",".join(f'{key}="{_label(text)}"' for key, text in sorted(labels.items()))
        self.lines.append(f"{name}{{{shown}}} {value:g}" if shown else f"{name} {value:g}")


def _run(args: argparse.Namespace) -> int:
    config = load_node_config(args.node)
    database = config.node.database
    now = datetime.now(UTC)
    gauges = _Gauges()
    with AuditLog(database, read_only=True) as audit:
        gauges.add("blindhit_audit_log_entries", "Entries in the node's audit log.", audit.size)
        latest = audit.latest_checkpoint()
        gauges.add(
            "blindhit_audit_checkpoint_size",
            "Tree size of the latest signed audit checkpoint.",
            latest[0] if latest else 0,
        )
    with DatasetStore(database, create=False) as store:
        for dataset in config.datasets:
            epoch = store.published_epoch(dataset.name)
            records = store.record_count(dataset.name) if epoch else 0
            gauges.add("blindhit_dataset_records", "Records in a dataset.", records,
                       dataset=dataset.name)  # fmt: skip
            gauges.add("blindhit_dataset_epoch", "Published epoch of a dataset (0: none).",
                       epoch.epoch if epoch else 0, dataset=dataset.name)  # fmt: skip
            gauges.add("blindhit_dataset_index_entries", "Entries in a dataset's published index.",
                       epoch.published_count if epoch else 0, dataset=dataset.name)  # fmt: skip
    with DisclosureStore(database) as disclosures:
        received = disclosures.list_received()
        sent = disclosures.list_sent()
    for state in RequestState:
        gauges.add(
            "blindhit_disclosure_requests", "Disclosure requests by direction and state.",
            sum(r.current_state(now) is state for r in received),
            direction="received", state=state.value,
        )  # fmt: skip
    for state in RequestState:
        gauges.add(
            "blindhit_disclosure_requests", "Disclosure requests by direction and state.",
            sum(s.state is state for s in sent), direction="sent", state=state.value,
        )  # fmt: skip
    overdue = [r for r in received if r.overdue(now)]
    gauges.add("blindhit_disclosure_overdue", "Received requests pending past their deadline.",
               len(overdue))  # fmt: skip
    oldest = max(((now - r.due_at).total_seconds() for r in overdue), default=0.0)
    gauges.add("blindhit_disclosure_overdue_seconds_max",
               "How far the most overdue received request is past its deadline.",
               oldest)  # fmt: skip
    print("\n".join(gauges.lines))
    return 0
