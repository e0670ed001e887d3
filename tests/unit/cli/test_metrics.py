"""`blindhit metrics`: Prometheus text read from the node database without writing to it."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cli.metrics import collect
from node.audit.entries import AuditEntry, Decision, EntryKind, digest_request
from node.audit.store import AuditLog
from node.config import Dataset
from node.storage.disclosure_requests import DisclosureStore, ReceivedRequest
from node.storage.sqlite import BUSY_TIMEOUT_MS
from protocol.disclosure import RequestState, Urgency, due_at

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DATASETS = (Dataset("people"),)


def received(n: int, at: datetime) -> ReceivedRequest:
    return ReceivedRequest(
        request_id=bytes([n]) * 16, peer="de.bka", dataset="people", received_at=at,
        due_at=due_at(at, Urgency.URGENT), urgency=Urgency.URGENT, officer="de-of-1",
        purpose="border-check", legal_basis="EU-2016/680:Art.8", case_reference=f"DE-{n}",
        justification="a reason", requested_fields=("family_name",),
        references=(bytes([n]) * 32,), records=("R1",), check_entry_index=n,
        recipient_key=bytes([2]) * 32, request_digest=bytes([3]) * 32,
        state=RequestState.PENDING, decision=None, sealed_release=None,
        decision_logged=False, delivered_at=None, deliveries=0,
    )  # fmt: skip


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "node.db"
    entries = [
        AuditEntry(
            kind=EntryKind.CHECK_RECEIVED, time=NOW, node="fr-dcpj", officer="de-of-1",
            counterpart="de.bka", dataset="people", element_count=1, purpose="investigation",
            legal_basis="EU-2016/680:Art.8", case_reference=f"DE-{n}",
            request_digest=digest_request(bytes([n])), decision=Decision.ANSWERED,
        )
        for n in range(4)
    ]  # fmt: skip
    with AuditLog(path) as log:
        log.append_many(entries)
    with DisclosureStore(path) as store:
        store.add_received(received(1, NOW - timedelta(hours=9)))  # past its 8 hours
        store.add_received(received(2, NOW - timedelta(hours=1)))
    return path


def values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_gauges_are_prometheus_text(database: Path) -> None:
    text = collect(database, DATASETS, NOW)
    found = values(text)
    assert found[("blindhit_audit_log_entries", ())] == 4
    assert found[("blindhit_audit_checkpoint_size", ())] == 0
    assert found[("blindhit_dataset_epoch", (("dataset", "people"),))] == 0
    assert found[("blindhit_dataset_records", (("dataset", "people"),))] == 0
    pending = (("direction", "received"), ("state", "pending"))
    assert found[("blindhit_disclosure_requests", pending)] == 2
    assert found[("blindhit_disclosure_overdue", ())] == 1
    assert found[("blindhit_disclosure_overdue_seconds_max", ())] == 3600
    lines = text.splitlines()
    assert "# TYPE blindhit_disclosure_overdue gauge" in lines
    # Whole values are printed as integers, as the command always printed them.
    assert "blindhit_disclosure_overdue 1" in lines
    assert 'blindhit_dataset_epoch{dataset="people"} 0' in lines


def test_metrics_run_while_another_process_holds_the_write_lock(database: Path) -> None:
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        text = collect(database, DATASETS, NOW)
        # Waiting for the lock would take the busy timeout; reading takes no lock.
        assert time.monotonic() - started < BUSY_TIMEOUT_MS / 2000
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    assert values(text)[("blindhit_audit_log_entries", ())] == 4


def test_metrics_leave_the_file_as_it_is(database: Path) -> None:
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    schema = connection.execute("SELECT * FROM sqlite_master").fetchall()
    connection.close()
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    collect(database, DATASETS, NOW)
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    connection = sqlite3.connect(database)
    assert connection.execute("SELECT * FROM sqlite_master").fetchall() == schema
    connection.close()


def test_a_missing_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist"):
        collect(tmp_path / "absent.db", DATASETS, NOW)
    assert not (tmp_path / "absent.db").exists()
