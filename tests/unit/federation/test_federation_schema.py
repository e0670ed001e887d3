"""federation.db's schema: a file of the first releases is upgraded in place; newer is refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.cosignature import CosignatureSigner
from crypto.errors import StorageError
from crypto.signed_note import Ed25519Signer
from federation.schema import FEDERATION_SCHEMA, VERSION_1
from federation.store import FederationStore
from federation.witness import Witness
from node.audit.store import AuditLog
from node.datasets.store import DatasetStore
from node.storage.migrations import statements

COORDINATOR = "int-gs"
ORIGIN = "fr-ct"
SIGNER = CosignatureSigner.from_seed("witness.example/gs", b"\x22" * 32)
MEMBER_KEY = Ed25519Signer.from_seed(ORIGIN, b"\x11" * 32).verifier().verifier_key()


def old_file(path: Path) -> None:
    """A federation.db as the first releases wrote it: their tables, their spellings, version 0.

    `FederationStore.create` wrote the `fd_` tables and `fd_meta`, the witness its `wt_` tables
    and `wt_meta` when first opened; times were whole seconds (`protocol.directory`).
    """
    connection = sqlite3.connect(path)
    for statement in statements(VERSION_1):
        connection.execute(statement)
    connection.executemany(
        "INSERT INTO fd_meta VALUES (?, ?)",
        [("schema_version", "1"), ("coordinator_id", COORDINATOR)],
    )
    connection.executemany(
        "INSERT INTO fd_directories VALUES (?, ?, ?)",
        [(1, "2026-03-01T09:00:00Z", "first note"), (2, "2026-03-02T09:00:00Z", "second note")],
    )
    connection.execute("INSERT INTO wt_logs VALUES (?, ?)", (ORIGIN, MEMBER_KEY))
    connection.execute(
        "INSERT INTO wt_latest VALUES (?, ?, ?, ?, ?)", (ORIGIN, 5, bytes(32), "note 5", 1700)
    )
    connection.execute(
        "INSERT INTO wt_cosigned VALUES (?, ?, ?, ?, ?)", (ORIGIN, 5, bytes(32), "note 5", 1700)
    )
    connection.commit()
    connection.close()


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        connection.close()


def version(path: Path) -> int:
    return int(str(rows(path, "pragma_user_version")[0][0]))


def test_an_old_federation_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "federation.db"
    old_file(path)
    assert version(path) == 0
    with FederationStore.open(path) as store:
        assert store.coordinator_id == COORDINATOR
        assert [(d.version, d.issued_at, d.note) for d in store.directories()] == [
            (1, datetime(2026, 3, 1, 9, tzinfo=UTC), "first note"),
            (2, datetime(2026, 3, 2, 9, tzinfo=UTC), "second note"),
        ]
    assert version(path) == FEDERATION_SCHEMA.version
    assert rows(path, "fd_directories")[0][1] == "2026-03-01T09:00:00.000000Z"
    assert sorted(rows(path, "fd_meta")) == [
        ("coordinator_id", COORDINATOR),
        ("schema_version", "1"),
    ]
    assert rows(path, "sqlite_master WHERE name = 'wt_meta'") == []
    with Witness(path, SIGNER) as witness:
        assert witness.logs() == {ORIGIN: MEMBER_KEY}
        latest = witness.latest(ORIGIN)
        assert latest is not None
        assert (latest.size, latest.note, latest.time) == (5, "note 5", 1700)


def test_a_newer_federation_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "federation.db"
    FederationStore.create(path, COORDINATOR).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {FEDERATION_SCHEMA.version + 1}")
    connection.close()
    message = (
        f"^database {path} has federation schema version {FEDERATION_SCHEMA.version + 1}, "
        f"newer than version {FEDERATION_SCHEMA.version} of this software"
    )
    with pytest.raises(StorageError, match=message):
        FederationStore.open(path)
    with pytest.raises(StorageError, match=message):
        Witness(path, SIGNER)


def test_a_failed_upgrade_leaves_the_federation_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "federation.db"
    old_file(path)
    # A trigger of this file refuses step 3's rewrite of the directory times.
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TRIGGER fd_directories_kept BEFORE UPDATE ON fd_directories "
        "BEGIN SELECT RAISE(ABORT, 'directories are kept as published'); END"
    )
    connection.commit()
    connection.close()
    before = [rows(path, table) for table in ("fd_directories", "wt_meta", "sqlite_master")]
    with pytest.raises(StorageError, match=r"to federation schema version 3 .*kept as published"):
        FederationStore.open(path)
    assert [rows(path, table) for table in ("fd_directories", "wt_meta", "sqlite_master")] == before
    assert version(path) == 0


def application_id(path: Path) -> int:
    return int(str(rows(path, "pragma_application_id")[0][0]))


def test_the_audit_log_opened_first_upgrades_an_old_file_as_a_federation_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "federation.db"
    old_file(path)
    assert application_id(path) == 0
    # The coordinating node keeps its own audit log in the file: whoever opens it first upgrades
    # it with the file's own schema.
    with AuditLog(path) as log:
        assert log.size == 0
    assert application_id(path) == FEDERATION_SCHEMA.application_id
    assert version(path) == FEDERATION_SCHEMA.version
    with FederationStore.open(path) as store:
        assert [d.version for d in store.directories()] == [1, 2]
    assert rows(path, "sqlite_master WHERE name = 'ds_datasets'") == []


def test_a_node_store_refuses_a_federation_database_and_the_other_way_round(
    tmp_path: Path,
) -> None:
    federation_db = tmp_path / "federation.db"
    old_file(federation_db)
    with pytest.raises(
        StorageError, match=f"^database {federation_db} is a federation database, not a node one$"
    ):
        DatasetStore(federation_db)
    assert application_id(federation_db) == 0
    assert rows(federation_db, "sqlite_master WHERE name LIKE 'ds%'") == []
    FederationStore.open(federation_db).close()
    with pytest.raises(StorageError, match="is a federation database, not a node one"):
        DatasetStore(federation_db)
    node_db = tmp_path / "node.db"
    DatasetStore(node_db).close()
    with pytest.raises(StorageError, match=f"^database {node_db} is a node database, not a "):
        FederationStore.open(node_db)
    with pytest.raises(StorageError, match="is a node database, not a federation one"):
        Witness(node_db, SIGNER)
