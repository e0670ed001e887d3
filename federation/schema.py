"""The coordinating node's database schema: every table of `federation.db`, as ordered migrations.

Three parts share the file: `fd_` (`federation.store`: members, certificates, revocations,
directories), `wt_` (`federation.witness`) and `audit_`, the coordinating node's own audit log
(`node.audit.store`, the same tables as in a node database: `node.storage.schema`). The
mechanism is the node's (`node.storage.migrations`): the version is `PRAGMA user_version`, the
file is marked as a federation database by its application id, and the steps below run in one
transaction when the file is opened.

Version 1 is exactly what the first releases left in the file: `FederationStore.create` wrote the
`fd_` tables and `fd_meta` (`schema_version`, `coordinator_id`), the witness and the audit log
added their `wt_` and `audit_` tables when first opened. Those releases never set `user_version`,
so their files are at 0, and told apart from a node's by `fd_meta`.

- Step 2: the version is `PRAGMA user_version` alone; `wt_meta` held nothing else and is dropped,
  and the `schema_version` row of `audit_meta` goes (its `origin` stays).
  `fd_meta.schema_version` is kept as written (`1`): it names the first layout and is read by
  nothing here.
- Step 3: stored times in one spelling (`node.storage.times`): the `fd_` tables wrote whole
  seconds as `YYYY-MM-DDTHH:MM:SSZ`, which gains six zero fraction digits. The witness's times are
  the POSIX seconds it signs into cosignatures (c2sp.org/tlog-cosignature) and stay integers.
"""

from __future__ import annotations

from typing import Final

from node.storage.migrations import Migration, Schema
from node.storage.schema import AUDIT_VERSION_1

__all__ = ["FEDERATION_SCHEMA", "VERSION_1"]

VERSION_1: Final = (
    """
CREATE TABLE IF NOT EXISTS fd_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fd_certificates (
    serial TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    key_digest TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    not_after TEXT NOT NULL,
    pem TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fd_certificates_key ON fd_certificates (key_digest);
CREATE TABLE IF NOT EXISTS fd_members (
    member_id TEXT PRIMARY KEY,
    country TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    certificate_serial TEXT NOT NULL UNIQUE REFERENCES fd_certificates (serial),
    identity_key TEXT NOT NULL,
    identity_public_key TEXT NOT NULL UNIQUE,
    admitted_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fd_datasets (
    member_id TEXT NOT NULL REFERENCES fd_members (member_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    suite TEXT NOT NULL,
    mode TEXT NOT NULL,
    public_key TEXT NOT NULL,
    daily_quota INTEGER NOT NULL,
    PRIMARY KEY (member_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fd_revocations (
    id INTEGER PRIMARY KEY,
    member_id TEXT NOT NULL,
    certificate_serial TEXT NOT NULL UNIQUE REFERENCES fd_certificates (serial),
    identity_public_key TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fd_revocations_member ON fd_revocations (member_id);
CREATE TABLE IF NOT EXISTS fd_directories (
    version INTEGER PRIMARY KEY,
    issued_at TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wt_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wt_logs (
    origin TEXT PRIMARY KEY,
    verifier_key TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wt_latest (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wt_cosigned (
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    time INTEGER NOT NULL,
    PRIMARY KEY (origin, size)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wt_evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    cosigned_note TEXT NOT NULL,
    presented_note TEXT NOT NULL,
    proof TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS wt_evidence_once
    ON wt_evidence (origin, kind, cosigned_note, presented_note, proof);
CREATE TRIGGER IF NOT EXISTS wt_latest_never_shrinks
    BEFORE UPDATE ON wt_latest WHEN NEW.size < OLD.size
    BEGIN SELECT RAISE(ABORT, 'a witnessed log never rolls back'); END;
CREATE TRIGGER IF NOT EXISTS wt_latest_kept
    BEFORE DELETE ON wt_latest
    BEGIN SELECT RAISE(ABORT, 'the witness keeps its state'); END;
CREATE TRIGGER IF NOT EXISTS wt_cosigned_append_only_update
    BEFORE UPDATE ON wt_cosigned
    BEGIN SELECT RAISE(ABORT, 'cosigned checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS wt_cosigned_append_only_delete
    BEFORE DELETE ON wt_cosigned
    BEGIN SELECT RAISE(ABORT, 'cosigned checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS wt_evidence_append_only_update
    BEFORE UPDATE ON wt_evidence
    BEGIN SELECT RAISE(ABORT, 'evidence is kept for ever'); END;
CREATE TRIGGER IF NOT EXISTS wt_evidence_append_only_delete
    BEFORE DELETE ON wt_evidence
    BEGIN SELECT RAISE(ABORT, 'evidence is kept for ever'); END;
INSERT OR IGNORE INTO wt_meta (name, value) VALUES ('schema_version', '1');
"""
    + AUDIT_VERSION_1
)
"""The tables of the first releases, as `federation.store`, `federation.witness` and
`node.audit.store` created them."""

_ONE_VERSION: Final = """
DROP TABLE IF EXISTS wt_meta;
DELETE FROM audit_meta WHERE name = 'schema_version';
"""

_WHOLE_SECOND_TIMES: Final = {
    "fd_certificates": ("issued_at", "not_after"),
    "fd_members": ("admitted_at",),
    "fd_revocations": ("revoked_at",),
    "fd_directories": ("issued_at",),
}

_ONE_TIME_SPELLING: Final = "".join(
    f"UPDATE {table} SET {column} = substr({column}, 1, 19) || '.000000Z' "  # noqa: S608
    f"WHERE {column} LIKE '____-__-__T__:__:__Z';\n"
    for table, columns in _WHOLE_SECOND_TIMES.items()
    for column in columns
)

FEDERATION_SCHEMA: Final = Schema(
    "federation",
    0x626C6664,  # "blfd"
    marker="fd_meta",
    migrations=(
        Migration(1, "the tables of the first releases", VERSION_1),
        Migration(2, "one schema version, in PRAGMA user_version", _ONE_VERSION),
        Migration(3, "one spelling for stored times", _ONE_TIME_SPELLING),
    ),
)
