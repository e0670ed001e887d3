"""The node database's schema: every table of `node.db`, as ordered migrations.

Every part of the node keeps its tables in this one file, under its own prefix: `meta` (the
node id, written by `blindhit init`), `audit_` (`node.audit.store`), `ds_` (`node.datasets.store`),
`policy_` (`node.owner.policy`), `peer_indexes` (`node.querier.index_cache`), `dr_`
(`node.storage.disclosure_requests`) and `mb_` (`node.querier.membership`). No module creates
tables itself: a store opens the file through `node.storage.sqlite`, which runs the steps below
that the file lacks, all in one transaction (`node.storage.migrations`).

Version 1 is exactly what the first releases left in a node database once `blindhit init` had
run and every store had been opened once. Those releases created tables when a store was first
opened and never set `PRAGMA user_version`, so a file of theirs is at version 0 and holds any
subset of version 1; step 1 creates what is missing (`IF NOT EXISTS`) and keeps every row.

- Step 2: the version is `PRAGMA user_version` alone. `ds_meta` held nothing else and is dropped;
  the `schema_version` row of `audit_meta` goes (its `origin` stays). `meta.schema_version` is
  kept as `blindhit init` has always written it (`1`): it names the first layout and is read by
  nothing here.
- Step 3: every stored time in one spelling (`node.storage.times`). The disclosure tables wrote
  `+00:00` for the zone, the directory table whatever `datetime.isoformat` gave, the replay
  window POSIX seconds as REAL; all are rewritten. The dataset tables already used it.
- Step 4: `peer_indexes.max_batch`, the most elements the peer takes from this node in one
  request, as its signed index header says (0 until the next sync tells).
- Step 5: `policy_refusals`, how many requests of each peer were refused for each reason on
  each UTC day (`node.owner.refusals`; the audit log holds the entries themselves).
- Step 6: the check desk's tables: its clients (`desk_clients`, tokens as SHA-256 only), the
  probes each checked per day (`desk_usage`), and the referrals partners' checks raised
  (`desk_referrals`) (`node.desk`).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Final

from node.storage.migrations import Migration, Schema
from node.storage.times import format_time

__all__ = ["AUDIT_VERSION_1", "NODE_SCHEMA", "VERSION_1"]

AUDIT_VERSION_1: Final = """
CREATE TABLE IF NOT EXISTS audit_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_entries (
    idx INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_cosignatures (
    size INTEGER NOT NULL,
    witness TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (size, witness)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS audit_entries_append_only_update
    BEFORE UPDATE ON audit_entries BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_entries_append_only_delete
    BEFORE DELETE ON audit_entries BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_append_only_update
    BEFORE UPDATE ON audit_nodes BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_append_only_delete
    BEFORE DELETE ON audit_nodes BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_append_only_update
    BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_append_only_delete
    BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_cosignatures_append_only_update
    BEFORE UPDATE ON audit_cosignatures
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_cosignatures_append_only_delete
    BEFORE DELETE ON audit_cosignatures
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
INSERT OR IGNORE INTO audit_meta (name, value) VALUES ('schema_version', '1');
"""
"""The audit log's tables (`node.audit.store`) as the first releases created them; they are in
every kind of database (`node.storage.migrations`)."""

VERSION_1: Final = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""
    + AUDIT_VERSION_1
    + """
CREATE TABLE IF NOT EXISTS ds_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ds_datasets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    suite TEXT NOT NULL,
    mode TEXT NOT NULL,
    profile TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ds_keys (
    dataset_id INTEGER NOT NULL REFERENCES ds_datasets (id),
    key_version INTEGER NOT NULL,
    sealed_private_key BLOB NOT NULL,
    public_key BLOB NOT NULL,
    created TEXT NOT NULL,
    retired_at TEXT,
    PRIMARY KEY (dataset_id, key_version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ds_records (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES ds_datasets (id),
    record_id TEXT NOT NULL,
    content TEXT NOT NULL,
    metadata TEXT NOT NULL,
    content_digest BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    UNIQUE (dataset_id, record_id)
);
CREATE TABLE IF NOT EXISTS ds_tags (
    dataset_id INTEGER NOT NULL,
    tag BLOB NOT NULL,
    record INTEGER NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (dataset_id, tag, record)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ds_tags_by_record ON ds_tags (record);
CREATE TABLE IF NOT EXISTS ds_epochs (
    dataset_id INTEGER NOT NULL REFERENCES ds_datasets (id),
    epoch INTEGER NOT NULL,
    key_version INTEGER NOT NULL,
    created TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    key_count INTEGER NOT NULL,
    published_count INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    false_hit_bits INTEGER NOT NULL,
    index_digest BLOB NOT NULL,
    index_size INTEGER NOT NULL,
    keyframe INTEGER NOT NULL,
    index_blob BLOB,
    delta_blob BLOB,
    dummies BLOB,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    evaluated INTEGER NOT NULL,
    audit_index INTEGER,
    PRIMARY KEY (dataset_id, epoch)
) WITHOUT ROWID;
INSERT OR IGNORE INTO ds_meta (name, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS policy_usage (
    peer TEXT NOT NULL,
    scope TEXT NOT NULL,
    day TEXT NOT NULL,
    elements INTEGER NOT NULL,
    PRIMARY KEY (peer, scope, day)
);
CREATE TABLE IF NOT EXISTS policy_seen_requests (
    request_id BLOB PRIMARY KEY,
    peer TEXT NOT NULL,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS peer_indexes (
    peer TEXT NOT NULL,
    dataset TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    suite TEXT NOT NULL,
    mode INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    keying_profile TEXT NOT NULL,
    digest BLOB NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (peer, dataset)
);
CREATE TABLE IF NOT EXISTS dr_received (
    request_id BLOB PRIMARY KEY,
    peer TEXT NOT NULL,
    dataset TEXT NOT NULL,
    received_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    urgency TEXT NOT NULL,
    officer TEXT NOT NULL,
    purpose TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    case_reference TEXT NOT NULL,
    justification TEXT NOT NULL,
    requested_fields TEXT NOT NULL,
    match_references BLOB NOT NULL,
    records TEXT NOT NULL,
    check_entry_index INTEGER NOT NULL,
    recipient_key BLOB NOT NULL,
    request_digest BLOB NOT NULL,
    state TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    automatic INTEGER,
    approved_fields TEXT,
    handling TEXT,
    expires_at TEXT,
    contact TEXT,
    deny_reason TEXT,
    deny_text TEXT,
    sealed_release BLOB,
    decision_logged INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0,
    UNIQUE (peer, check_entry_index)
);
CREATE INDEX IF NOT EXISTS dr_received_state ON dr_received (state, due_at);
CREATE TABLE IF NOT EXISTS dr_sent (
    request_id BLOB PRIMARY KEY,
    peer TEXT NOT NULL,
    dataset TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    urgency TEXT NOT NULL,
    officer TEXT NOT NULL,
    case_reference TEXT NOT NULL,
    match_references BLOB NOT NULL,
    requested_fields TEXT NOT NULL,
    state TEXT NOT NULL,
    deny_reason TEXT,
    deny_text TEXT,
    sealed_release BLOB,
    expires_at TEXT,
    fetched_at TEXT,
    owner_answer BLOB
);
CREATE TABLE IF NOT EXISTS dr_hits (
    peer TEXT NOT NULL,
    dataset TEXT NOT NULL,
    reference BLOB NOT NULL,
    check_entry_index INTEGER NOT NULL,
    checked_at TEXT NOT NULL,
    case_reference TEXT NOT NULL,
    PRIMARY KEY (reference, peer, dataset, check_entry_index)
);
CREATE TABLE IF NOT EXISTS mb_directories (
    version INTEGER PRIMARY KEY,
    note TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
"""
)
"""The tables of the first releases, as their modules created them."""

_ONE_VERSION: Final = """
DROP TABLE IF EXISTS ds_meta;
DELETE FROM audit_meta WHERE name = 'schema_version';
"""

# Columns written by `datetime.isoformat(timespec="microseconds")` of a UTC time: always
# `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`, so the first 26 characters and a `Z` are the new spelling.
_OFFSET_TIMES: Final = {
    "dr_received": ("received_at", "due_at", "decided_at", "expires_at", "delivered_at"),
    "dr_sent": ("filed_at", "due_at", "expires_at", "fetched_at"),
    "dr_hits": ("checked_at",),
}


def _from_posix(seconds: object) -> str:
    return format_time(datetime.fromtimestamp(float(str(seconds)), UTC))


def _one_time_spelling(connection: sqlite3.Connection) -> None:
    for table, columns in _OFFSET_TIMES.items():
        for column in columns:
            connection.execute(
                f"UPDATE {table} SET {column} = substr({column}, 1, 26) || 'Z' "  # noqa: S608
                f"WHERE {column} LIKE '____-__-__T__:__:__.______+00:00'"
            )
    # `datetime.isoformat()` leaves the fraction out when it is zero, so these are parsed.
    rows = connection.execute("SELECT version, fetched_at FROM mb_directories").fetchall()
    for version, fetched_at in rows:
        moment = datetime.fromisoformat(str(fetched_at))
        connection.execute(
            "UPDATE mb_directories SET fetched_at = ? WHERE version = ?",
            (format_time(moment), version),
        )
    # The replay window's column changes type, so its table is rebuilt.
    seen = connection.execute("SELECT request_id, peer, seen_at FROM policy_seen_requests")
    kept = [
        (request_id, peer, seen_at if isinstance(seen_at, str) else _from_posix(seen_at))
        for request_id, peer, seen_at in seen.fetchall()
    ]
    connection.execute("DROP TABLE policy_seen_requests")
    connection.execute(
        "CREATE TABLE policy_seen_requests ("
        "request_id BLOB PRIMARY KEY, peer TEXT NOT NULL, seen_at TEXT NOT NULL)"
    )
    connection.executemany("INSERT INTO policy_seen_requests VALUES (?, ?, ?)", kept)


_DESK_TABLES: Final = """
CREATE TABLE IF NOT EXISTS desk_clients (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_sha256 BLOB NOT NULL UNIQUE,
    purpose TEXT,
    legal_basis TEXT,
    daily_quota INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS desk_usage (
    client TEXT NOT NULL,
    day TEXT NOT NULL,
    probes INTEGER NOT NULL,
    PRIMARY KEY (client, day)
);
CREATE TABLE IF NOT EXISTS desk_referrals (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    created_at TEXT NOT NULL,
    traveller TEXT NOT NULL,
    probe TEXT NOT NULL,
    hits TEXT NOT NULL,
    state TEXT NOT NULL
);
"""


def _peer_batch_limits(connection: sqlite3.Connection) -> None:
    # A file whose version was lost may have the column already: add it only where it is missing.
    columns = {row[1] for row in connection.execute("PRAGMA table_info(peer_indexes)")}
    if "max_batch" not in columns:
        connection.execute(
            "ALTER TABLE peer_indexes ADD COLUMN max_batch INTEGER NOT NULL DEFAULT 0"
        )


NODE_SCHEMA: Final = Schema(
    "node",
    0x626C6E64,  # "blnd"
    (
        Migration(1, "the tables of the first releases", VERSION_1),
        Migration(2, "one schema version, in PRAGMA user_version", _ONE_VERSION),
        Migration(3, "one spelling for stored times", _one_time_spelling),
        Migration(4, "each peer's batch limit beside its cached index", _peer_batch_limits),
        Migration(
            5,
            "refused requests counted per peer, reason and day",
            "CREATE TABLE IF NOT EXISTS policy_refusals ("
            "peer TEXT NOT NULL, reason TEXT NOT NULL, day TEXT NOT NULL, "
            "count INTEGER NOT NULL, PRIMARY KEY (peer, reason, day));",
        ),
        Migration(6, "the check desk's clients, usage and referrals", _DESK_TABLES),
    ),
)
