"""The node database's schema: an old node's file is upgraded in place, a newer one is refused."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto.errors import PeerError, StorageError
from crypto.signed_note import Ed25519Signer
from node.audit.store import AuditLog
from node.config import Dataset, KeySettings, Limits, NodeConfig, NodeSettings
from node.datasets.store import DatasetStore
from node.owner.policy import PolicyEngine
from node.querier.index_cache import PeerIndexCache
from node.storage.disclosure_requests import DisclosureStore
from node.storage.migrations import Migration, Schema, migrate, statements
from node.storage.schema import NODE_SCHEMA, VERSION_1
from node.storage.sqlite import connect, open_database
from protocol.directory import Peer
from protocol.disclosure import RequestState
from protocol.validation import HostPort

# tests/data/node-v1.md says how the file was made with the release at commit d608e44.
FIXTURE = Path(__file__).parents[3] / "data" / "node-v1.db"
T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@pytest.fixture
def old(tmp_path: Path) -> Path:
    path = tmp_path / "node.db"
    shutil.copyfile(FIXTURE, path)
    path.chmod(0o600)
    return path


def objects(path: Path) -> list[tuple[str, str]]:
    """Every table, index and trigger in the file, by type and name."""
    connection = sqlite3.connect(path)
    try:
        return sorted(connection.execute("SELECT type, name FROM sqlite_master").fetchall())
    finally:
        connection.close()


def content(path: Path) -> tuple[int, list[tuple[str, str]], dict[str, list[tuple[object, ...]]]]:
    """The version, the schema objects and every row of every table of the file."""
    connection = sqlite3.connect(path)
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        rows = {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in tables
        }
    finally:
        connection.close()
    return version, objects(path), rows


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def policy_config(tmp_path: Path, database: Path) -> NodeConfig:
    peer = Peer("de.bka", HostPort("127.0.0.1", 7443), Ed25519Signer.generate("de.bka").verifier())
    return NodeConfig(
        directory=tmp_path,
        node=NodeSettings("fr-dcpj", "FRA", HostPort("127.0.0.1", 0), database),
        keys=KeySettings(passphrase_env="BLINDHIT_PASSPHRASE"),
        limits=Limits(max_batch=64),
        peers=(peer,),
        datasets=(Dataset("people"),),
        policy=(),
    )


def test_version_1_is_what_the_first_releases_created(old: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    connection = sqlite3.connect(fresh)
    for statement in statements(VERSION_1):
        connection.execute(statement)
    connection.commit()
    connection.close()
    assert objects(fresh) == objects(old)


def test_an_old_node_database_is_upgraded_in_place_and_keeps_its_rows(
    old: Path, tmp_path: Path
) -> None:
    before = content(old)[2]
    assert content(old)[0] == 0
    # Any store's open upgrades the whole file.
    DisclosureStore(old).close()
    version, _, after = content(old)
    assert version == NODE_SCHEMA.version
    # Step 2: one schema version; the other rows of the meta tables stay.
    assert "ds_meta" not in after
    assert after["audit_meta"] == [("origin", "fr-dcpj")]
    assert after["meta"] == before["meta"] == [("node_id", "fr-dcpj"), ("schema_version", "1")]
    # Tables whose rows hold no time are unchanged, row for row.
    for table in ("audit_entries", "audit_nodes", "audit_checkpoints", "ds_records", "ds_tags"):
        assert after[table] == before[table]
    for table in ("ds_datasets", "ds_keys", "ds_epochs", "policy_usage"):
        assert after[table] == before[table]
    # Step 4: each cached index gains its peer's batch limit, unknown (0) until the next sync.
    assert before["peer_indexes"]
    assert after["peer_indexes"] == [(*row, 0) for row in before["peer_indexes"]]
    # Step 3: the times in one spelling, the same instants.
    assert after["dr_sent"][0][3:5] == (
        "2026-01-02T03:04:05.123456Z",
        "2026-01-09T03:04:05.123456Z",
    )
    assert after["mb_directories"] == [(1, "a signed directory", "2026-01-02T03:04:05.000000Z")]
    assert after["policy_seen_requests"] == [
        (bytes(range(16)), "de.bka", "2026-01-02T03:04:05.123456Z")
    ]

    # Every store reads what the old release wrote.
    with DisclosureStore(old) as disclosures:
        received = disclosures.received(bytes(16))
        assert received is not None
        assert received.received_at == T0
        assert received.state is RequestState.APPROVED
        assert received.decision is not None
        assert received.decision.decided_at == T0 + timedelta(hours=1)
        assert received.decision.expires_at == T0 + timedelta(days=30)
        assert received.delivered_at == T0 + timedelta(hours=2)
        [sent] = disclosures.list_sent()
        assert sent.filed_at == T0
        [hit] = disclosures.hits_for(bytes([4]) * 32)
        assert hit.checked_at == T0
    with AuditLog(old, read_only=True) as log:
        assert log.size == 3
        assert log.origin == "fr-dcpj"
        assert log.latest_checkpoint() is not None
    with DatasetStore(old, create=False) as store:
        epoch = store.epoch("people", 1)
        assert epoch is not None
        assert epoch.created == T0
        assert store.record_count("people") == 1
    cache = PeerIndexCache(old)
    cached = cache.get("de.bka", "people")
    cache.close()
    assert cached is not None
    assert cached.epoch == 4
    # The replay window still refuses the request id it saw, at its converted time.
    policy = PolicyEngine(policy_config(tmp_path, old), old)
    try:
        with pytest.raises(PeerError, match="replay"):
            policy.remember("de.bka", bytes(range(16)), T0 + timedelta(seconds=1))
    finally:
        policy.close()
    # Opening again changes nothing.
    DisclosureStore(old).close()
    assert content(old)[2] == after


def test_a_read_only_open_of_an_old_file_leaves_it_as_it_is(old: Path) -> None:
    before = digest(old)
    with DisclosureStore(old, read_only=True) as disclosures:
        received = disclosures.received(bytes(16))
    assert received is not None
    # The old spelling of the same instant is read where the file could not be upgraded.
    assert received.received_at == T0
    assert digest(old) == before
    assert content(old)[0] == 0


def test_a_newer_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    DisclosureStore(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {NODE_SCHEMA.version + 1}")
    connection.close()
    before = content(path)
    message = (
        f"^database {path} has node schema version {NODE_SCHEMA.version + 1}, newer than "
        f"version {NODE_SCHEMA.version} of this software: upgrade blindhit to open it$"
    )
    for opening in (
        lambda: DisclosureStore(path),
        lambda: DatasetStore(path, create=False),
        lambda: AuditLog(path),
        lambda: AuditLog(path, read_only=True),
    ):
        with pytest.raises(StorageError, match=message):
            opening()
    assert content(path) == before


def test_a_failed_migration_leaves_the_file_unchanged(old: Path) -> None:
    # A stored time that no release could have written stops step 3 half way.
    connection = sqlite3.connect(old)
    connection.execute("UPDATE mb_directories SET fetched_at = 'yesterday'")
    connection.commit()
    connection.close()
    before, file_before = content(old), digest(old)
    with pytest.raises(
        StorageError,
        match=rf"^cannot upgrade database {old} to node schema version 3 \(one spelling for "
        r"stored times\): .*'yesterday'.*; the file is unchanged$",
    ):
        DisclosureStore(old)
    assert content(old) == before
    connection = sqlite3.connect(old)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert digest(old) == file_before


def test_a_failing_step_rolls_back_the_steps_before_it(tmp_path: Path) -> None:
    path = tmp_path / "test.db"

    def fails(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t VALUES (2)")
        connection.execute("INSERT INTO missing VALUES (1)")

    schema = Schema(
        "test",
        0x74657374,
        register=False,
        migrations=(
            Migration(1, "a table", "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);"),
            Migration(2, "a failure", fails),
        ),
    )
    connection = connect(path)
    try:
        with pytest.raises(StorageError, match=r"test schema version 2 \(a failure\): no such"):
            migrate(connection, path, schema)
        assert connection.execute("PRAGMA user_version").fetchone() == (0,)
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []
        assert not connection.in_transaction
    finally:
        connection.close()
    good = Schema("test", 0x74657374, schema.migrations[:1], register=False)
    open_database(path, good).close()
    assert content(path)[2] == {"t": [(1,)]}


def test_migrations_must_be_numbered_in_order() -> None:
    with pytest.raises(ValueError, match=r"numbered 1, 2, \.\.\., got \[1, 3\]"):
        Schema("test", 0x74657374, (Migration(1, "a", ""), Migration(3, "b", "")), register=False)


def test_statements_keep_trigger_bodies_whole() -> None:
    script = (
        "CREATE TABLE t (x);\n"
        "CREATE TRIGGER t_kept BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'no'); END;\n"
    )
    assert list(statements(script)) == [
        "CREATE TABLE t (x);",
        "CREATE TRIGGER t_kept BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'no'); END;",
    ]
    with pytest.raises(ValueError, match="incomplete SQL statement"):
        list(statements("CREATE TRIGGER x BEFORE DELETE ON t BEGIN SELECT 1;"))


def test_a_missing_file_is_not_created_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist"):
        open_database(tmp_path / "absent.db", NODE_SCHEMA, create=False)
    assert not (tmp_path / "absent.db").exists()
