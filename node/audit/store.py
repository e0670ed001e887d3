"""The audit log in the node's SQLite database: append-only entries under an RFC 9162 Merkle tree.

Tables (prefixed `audit_` because the log shares the node's database with other tables):

- `audit_entries(idx INTEGER PRIMARY KEY, body BLOB)`: the canonical entry encodings
  (`node.audit.entries`), leaf `idx` of the tree.
- `audit_nodes(level, idx, hash, PRIMARY KEY(level, idx))`: every *perfect* subtree hash,
  `NodeId(level, idx)` of `crypto.merkle`, stored once when its last leaf is appended (level 0
  holds the leaf hashes). A root or a proof then costs one query of O(log n) rows, and nothing is
  ever rebuilt. Right-edge subtrees that are not perfect are folded on demand by `crypto.merkle`.
- `audit_checkpoints(size INTEGER PRIMARY KEY, note TEXT)`: signed checkpoints
  (c2sp.org/tlog-checkpoint), at most one per tree size; Ed25519 is deterministic, so signing the
  same size twice gives the same note.
- `audit_cosignatures(size, witness, note, PRIMARY KEY(size, witness))`: checkpoints as the
  witnesses returned them (c2sp.org/tlog-cosignature: the node's note with the witness's
  signature line added), so that an export can show them. The first cosigned note per size and
  witness is kept; its text must be that of the stored checkpoint of the same size. A read-only
  reader of an older database without the table sees no cosignatures.
- `audit_meta(name, value)`: the log's origin, bound on first use so that one log is never
  signed under two names.

The tables are defined, and older files upgraded, in `node.storage.schema`.

Triggers refuse UPDATE and DELETE on entries, nodes, checkpoints and cosignatures: the node's
own code cannot rewrite history by accident. (Whoever controls the file can drop them; that is
what signed checkpoints, witness cosignatures, receipts held by counterparts and `blindhit audit
verify` are for.)

Durability and group commit. One writer thread owns the only writing connection. Appenders hand
their encoded entries to a queue and block on a future; the writer takes everything queued (up to
`max_batch` entries), assigns consecutive indexes, computes the leaf hashes and the perfect
subtrees they complete (`crypto.merkle.nodes_on_append`, with the right edge of the tree kept in
memory so no read is needed), writes them in one transaction and commits. The database runs in
WAL mode with `synchronous=FULL`, so a commit returns only after the write-ahead log is fsynced;
then every future of the batch gets its index. Many concurrent appenders thus share one fsync,
and an index returned by `append` is always durable: a crash loses only entries whose callers were
still waiting, and because entries and nodes commit in the same transaction the tree is never
half written. Readers use their own connections and see the last committed tree.

Several processes may append to one log: a node serves peers while its operators run `check`
or `import` beside it. The writer takes SQLite's write lock (`BEGIN IMMEDIATE`) before it
numbers a batch, reads the log's size inside that transaction, and when another process appended
since its last batch it reloads the right edge of the tree (O(log n) rows) first, so indexes
never collide and the tree stays one. `size` is then what this process last saw committed, which
is always a prefix of the log. Any number of processes may read.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from crypto import merkle
from crypto.errors import CryptoError, InputError, StorageError
from crypto.merkle import LeafHash, NodeId, RootHash
from crypto.signed_note import parse_note
from node.audit.entries import AuditEntry, decode_entry, encode_entry
from node.storage.schema import NODE_SCHEMA
from node.storage.sqlite import ThreadConnections, connect, open_database

__all__ = ["DEFAULT_MAX_BATCH", "SCHEMA_VERSION", "AuditLog"]

_logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = NODE_SCHEMA.version
"""The node database schema version this code reads and writes (`node.storage.schema`)."""
DEFAULT_MAX_BATCH: Final = 8192
"""Most entries committed in one transaction, unless one caller appends more at once."""


@dataclass(slots=True)
class _Submission:
    """Encoded entries appended together, and the future that receives the first index."""

    bodies: list[bytes]
    future: Future[int]


_STOP: Final = object()


def _node_query(count: int) -> str:
    """Return the query for `count` nodes, bound to `(level, idx)` pairs.

    A join on the wanted ids lets SQLite search the primary key once per id; a row-value
    `IN (VALUES ...)` would scan the whole table. Only placeholders are interpolated.
    """
    placeholders = ",".join("(?, ?)" for _ in range(count))
    return (
        f"SELECT n.level, n.idx, n.hash FROM (VALUES {placeholders}) AS wanted "  # noqa: S608
        "JOIN audit_nodes AS n ON n.level = wanted.column1 AND n.idx = wanted.column2"
    )


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit) with durable commits.

    Durable commits (`node.storage.sqlite`) are what make an index returned by `append` durable.
    """
    try:
        return connect(path, read_only=read_only)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open audit database {path}: {exc}") from exc


class AuditLog:
    """An append-only, tamper-evident audit log stored in a node's SQLite database.

    Open with `AuditLog(path)` (brings the file to the current schema, `node.storage.schema`)
    and close with `close()` or a `with` block. `read_only=True` opens the file read-only, for
    tools that only read; an older file is then read as it is.

    The writer thread starts with the first append. Until then, and in a process that never
    appends (a command-line tool beside a running node), `size` is read from the database, so
    it always names the last committed tree; once this object appends, it is the writer's own
    committed size, since no other process may write the same log.
    """

    def __init__(
        self, path: Path | str, *, read_only: bool = False, max_batch: int = DEFAULT_MAX_BATCH
    ) -> None:
        self.path = Path(path)
        self._read_only = read_only
        self._max_batch = max_batch
        self._closing = False
        self._failure = StorageError("the audit log is closed")
        self._closed = False
        self._readers = ThreadConnections(lambda: _connect(self.path, read_only=self._read_only))
        # Submissions and the stop marker are queued under this lock, so that nothing can be
        # queued after the stop marker and wait for ever.
        self._submit_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Submission | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        if read_only and not self.path.exists():
            raise InputError(f"audit database {self.path} does not exist")
        self._create_schema()
        # The committed size and the right edge of the tree, set when the writer starts; only
        # the writer changes them afterwards. Counting all entries once detects missing ones.
        self._size = self._count_entries()
        self._edge: dict[int, tuple[int, bytes]] = {}

    # -----------------------------------------------------------------------------------------
    # Opening and closing.
    # -----------------------------------------------------------------------------------------

    def _create_schema(self) -> None:
        """Bring the file to the current schema (`node.storage.schema`) before it is used."""
        # The audit tables are in every kind of database: a coordinating node keeps its own log
        # in `federation.db`, which is then upgraded with its own schema.
        open_database(self.path, NODE_SCHEMA, read_only=self._read_only, shared=True).close()

    def _reader(self) -> sqlite3.Connection:
        """Return this thread's reading connection, opening it on first use."""
        if self._closed:
            raise StorageError("the audit log is closed")
        return self._readers.get()

    def close(self) -> None:
        """Finish the queued appends, stop the writer and close every connection."""
        with self._submit_lock:
            if self._closing:
                return
            self._closing = True
            if self._writer is not None:
                self._queue.put(_STOP)
        if self._writer is not None:
            self._writer.join()
        self._closed = True
        self._readers.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    # Origin.
    # -----------------------------------------------------------------------------------------

    @property
    def origin(self) -> str | None:
        """The origin (node id) bound to this log, or None before the first checkpoint."""
        row = self._query_one("SELECT value FROM audit_meta WHERE name = 'origin'", ())
        return None if row is None else str(row[0])

    def bind_origin(self, origin: str) -> None:
        """Bind the log to `origin` on first use; afterwards only the same origin is accepted.

        Raises:
            InputError: the log is bound to another origin.
        """
        if self._read_only:
            bound = self.origin
        else:
            connection = self._reader()
            try:
                connection.execute(
                    "INSERT OR IGNORE INTO audit_meta (name, value) VALUES ('origin', ?)",
                    (origin,),
                )
            except sqlite3.Error as exc:
                raise StorageError(f"cannot record the audit log's origin: {exc}") from exc
            bound = self.origin
        if bound != origin:
            raise InputError(f"this audit log belongs to origin {bound!r}, not {origin!r}")

    # -----------------------------------------------------------------------------------------
    # Appending.
    # -----------------------------------------------------------------------------------------

    def submit(self, entries: Sequence[AuditEntry]) -> Future[int]:
        """Queue `entries` to append in order and contiguously; return the first index's future.

        The future completes once the entries are durable, or fails with `StorageError`.
        """
        if self._read_only:
            raise StorageError("the audit log was opened read-only")
        if not entries:
            raise InputError("expected at least one audit entry to append")
        bodies = [encode_entry(entry) for entry in entries]
        future: Future[int] = Future()
        with self._submit_lock:
            if self._closing:
                raise StorageError(str(self._failure))
            if self._writer is None:
                self._start_writer()
            self._queue.put(_Submission(bodies, future))
        return future

    def _start_writer(self) -> None:
        """Load the committed tree's size and right edge, and start the writer thread."""
        self._size = self._count_entries()
        self._edge = self._load_edge(self._size)
        self._writer = threading.Thread(
            target=self._write_loop, name=f"audit-writer:{self.path.name}", daemon=True
        )
        self._writer.start()

    def append(self, entry: AuditEntry) -> int:
        """Append `entry`, wait until it is durable, and return its index.

        A caller that promised to log before answering answers only after this returns.

        Raises:
            StorageError: the entry could not be committed; it is not in the log.
        """
        return self.submit([entry]).result()

    def append_many(self, entries: Sequence[AuditEntry]) -> list[int]:
        """Append `entries` as consecutive leaves in one transaction; return their indexes."""
        first = self.submit(entries).result()
        return list(range(first, first + len(entries)))

    def _write_loop(self) -> None:
        failure: StorageError = StorageError("the audit log is closed")
        try:
            connection = _connect(self.path)
            try:
                self._drain_into_commits(connection)
            finally:
                connection.close()
        except Exception as exc:  # The writer must never die silently with appenders waiting.
            failure = exc if isinstance(exc, StorageError) else StorageError(str(exc))
            failure = StorageError(f"the audit log's writer stopped: {failure}")
            _logger.exception("the audit log's writer stopped")
        finally:
            with self._submit_lock:
                self._closing = True
                self._failure = failure
            # Anything still queued fails rather than waiting for ever.
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Submission):
                    item.future.set_exception(failure)

    def _drain_into_commits(self, connection: sqlite3.Connection) -> None:
        """Commit queued submissions in batches until the stop marker comes."""
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, _Submission)
            batch = [item]
            count = len(item.bodies)
            stopping = False
            # Group commit: take whatever else is already waiting, up to the batch bound.
            while count < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                assert isinstance(item, _Submission)
                batch.append(item)
                count += len(item.bodies)
            self._commit_batch(connection, batch)
            if stopping:
                return

    def _commit_batch(self, connection: sqlite3.Connection, batch: list[_Submission]) -> None:
        """Write `batch` in one durable transaction, then hand each submission its first index.

        On any failure every submission of the batch fails, the in-memory edge is left as it was
        and the committed state is read back, so the next batch starts from the truth.
        """
        try:
            firsts, stop, edge = self._write_batch(connection, batch)
        except Exception as exc:  # Every appender must learn of any failure.
            error = (
                exc
                if isinstance(exc, StorageError)
                else StorageError(f"cannot append to the audit log: {exc}")
            )
            for submission in batch:
                submission.future.set_exception(error)
            try:
                self._size = self._count_entries()
                self._edge = self._load_edge(self._size)
            except StorageError:
                pass  # The next batch fails the same way and reports it to its appenders.
            return
        self._edge = edge
        self._size = stop
        for submission, first in zip(batch, firsts, strict=True):
            submission.future.set_result(first)

    def _write_batch(
        self, connection: sqlite3.Connection, batch: list[_Submission]
    ) -> tuple[list[int], int, dict[int, tuple[int, bytes]]]:
        """Insert the batch's entries and completed nodes and commit; return the new state."""
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                # The write lock is held from here: no other process can append until COMMIT.
                # If one appended since our last batch (a `check` or an `import` beside a
                # serving node), start from its tree, not from ours.
                size = int(
                    connection.execute(
                        "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries"
                    ).fetchone()[0]
                )
                if size != self._size:
                    self._size, self._edge = size, self._load_edge(size)
                firsts, entry_rows, node_rows, index, edge = self._rows(batch)
                connection.executemany(
                    "INSERT INTO audit_entries (idx, body) VALUES (?, ?)", entry_rows
                )
                connection.executemany(
                    "INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", node_rows
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StorageError(f"cannot append to the audit log: {exc}") from exc
        return firsts, index, edge

    def _rows(
        self, batch: list[_Submission]
    ) -> tuple[
        list[int],
        list[tuple[int, bytes]],
        list[tuple[int, int, bytes]],
        int,
        dict[int, tuple[int, bytes]],
    ]:
        """The rows that append `batch` to the tree of `self._size` leaves, and the new edge."""
        edge = dict(self._edge)

        def fetch_edge(ids: Sequence[NodeId]) -> list[bytes]:
            # Appending only ever needs left siblings on the right edge of the tree, each the
            # latest completed node of its level.
            hashes: list[bytes] = []
            for level, index in ids:
                held_index, value = edge[level]
                if held_index != index:
                    raise StorageError(f"audit tree edge holds node {held_index}, not {index}")
                hashes.append(value)
            return hashes

        entry_rows: list[tuple[int, bytes]] = []
        node_rows: list[tuple[int, int, bytes]] = []
        index = self._size
        firsts: list[int] = []
        for submission in batch:
            firsts.append(index)
            for body in submission.bodies:
                entry_rows.append((index, body))
                leaf = merkle.leaf_hash(body)
                for (level, node_index), value in merkle.nodes_on_append(index, leaf, fetch_edge):
                    node_rows.append((level, node_index, value))
                    edge[level] = (node_index, value)
                index += 1
        return firsts, entry_rows, node_rows, index, edge

    # -----------------------------------------------------------------------------------------
    # Reading.
    # -----------------------------------------------------------------------------------------

    def _query_one(self, sql: str, parameters: tuple[object, ...]) -> tuple[object, ...] | None:
        try:
            row: tuple[object, ...] | None = self._reader().execute(sql, parameters).fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the audit log: {exc}") from exc
        return row

    def _count_entries(self) -> int:
        row = self._query_one("SELECT COALESCE(MAX(idx) + 1, 0), COUNT(*) FROM audit_entries", ())
        assert row is not None
        size, count = int(str(row[0])), int(str(row[1]))
        if size != count:
            raise StorageError(
                f"audit log has {count} entries but its last index is {size - 1}: entries are "
                "missing"
            )
        return size

    def _load_edge(self, size: int) -> dict[int, tuple[int, bytes]]:
        """Return the right edge of the tree of `size` leaves: the last node of each level.

        Those are exactly the perfect subtrees that decompose the tree (RFC 9162 §2.1.1), so a
        restart reads O(log n) rows.
        """
        ids = merkle.root_node_ids(size)
        hashes = self.fetch_nodes(ids)
        return {
            node_id.level: (node_id.index, value)
            for node_id, value in zip(ids, hashes, strict=True)
        }

    @property
    def size(self) -> int:
        """The number of durable entries (see the class docstring for where it comes from)."""
        if self._writer is None:
            # The largest key of the rowid tree is found in O(log n); the full count that
            # detects missing entries is done once, when the log is opened.
            row = self._query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries", ())
            assert row is not None
            return int(str(row[0]))
        return self._size

    def fetch_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """Return the stored hashes of the perfect subtrees `ids`, in order (a `NodeFetcher`).

        Raises:
            StorageError: a node is missing.
        """
        if not ids:
            return []
        sql = _node_query(len(ids))
        parameters = [number for node_id in ids for number in node_id]
        try:
            rows = self._reader().execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read audit tree nodes: {exc}") from exc
        found = {(int(level), int(index)): bytes(value) for level, index, value in rows}
        try:
            return [found[(node_id.level, node_id.index)] for node_id in ids]
        except KeyError as exc:
            raise StorageError(f"audit tree node {exc.args[0]} is missing") from exc

    def _check_size(self, size: int) -> None:
        current = self.size
        if not 0 <= size <= current:
            raise InputError(f"expected a tree size in [0, {current}], got {size}")

    def root_hash(self, size: int | None = None) -> RootHash:
        """Return `MTH(D[size])` (RFC 9162 §2.1.1), by default of the whole committed log."""
        size = self.size if size is None else size
        self._check_size(size)
        return merkle.root_hash(size, self.fetch_nodes)

    def leaf_hash(self, index: int) -> LeafHash:
        """Return the stored leaf hash of entry `index`."""
        self._check_index(index)
        return LeafHash(self.fetch_nodes([NodeId(0, index)])[0])

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return `PATH(index, D[size])` (RFC 9162 §2.1.3.1), by default in the whole log."""
        size = self.size if size is None else size
        self._check_size(size)
        self._check_index(index, size)
        return merkle.inclusion_proof(index, size, self.fetch_nodes)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return `PROOF(size1, D[size2])` (RFC 9162 §2.1.4.1), by default to the whole log."""
        size2 = self.size if size2 is None else size2
        self._check_size(size2)
        if not 0 < size1 <= size2:
            raise InputError(f"expected 0 < old size <= {size2}, got {size1}")
        return merkle.consistency_proof(size1, size2, self.fetch_nodes)

    def _check_index(self, index: int, size: int | None = None) -> None:
        size = self.size if size is None else size
        if not 0 <= index < size:
            raise InputError(f"expected an entry index in [0, {size}), got {index}")

    def entry_bytes(self, index: int) -> bytes:
        """Return the encoded entry at `index`."""
        self._check_index(index)
        row = self._query_one("SELECT body FROM audit_entries WHERE idx = ?", (index,))
        if row is None:
            raise StorageError(f"audit entry {index} is missing")
        body = row[0]
        assert isinstance(body, bytes)
        return body

    def entry(self, index: int) -> AuditEntry:
        """Return the decoded entry at `index`."""
        return decode_entry(self.entry_bytes(index))

    def iter_entry_bytes(self, start: int, stop: int) -> Iterator[bytes]:
        """Yield the encoded entries `start <= index < stop` in order, checking none is missing."""
        expected = start
        try:
            cursor = self._reader().execute(
                "SELECT idx, body FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, stop),
            )
            for index, body in cursor:
                if index != expected:
                    raise StorageError(f"audit entry {expected} is missing")
                yield bytes(body)
                expected += 1
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read audit entries: {exc}") from exc
        if expected != stop:
            raise StorageError(f"audit entry {expected} is missing")

    def iter_level(self, level: int, start: int, stop: int) -> Iterator[bytes]:
        """Yield the hashes of the perfect subtrees `NodeId(level, i)`, `start <= i < stop`."""
        expected = start
        try:
            cursor = self._reader().execute(
                "SELECT idx, hash FROM audit_nodes WHERE level = ? AND idx >= ? AND idx < ? "
                "ORDER BY idx",
                (level, start, stop),
            )
            for index, value in cursor:
                if index != expected:
                    raise StorageError(f"audit tree node ({level}, {expected}) is missing")
                yield bytes(value)
                expected += 1
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read audit tree nodes: {exc}") from exc
        if expected != stop:
            raise StorageError(f"audit tree node ({level}, {expected}) is missing")

    # -----------------------------------------------------------------------------------------
    # Checkpoints.
    # -----------------------------------------------------------------------------------------

    def store_checkpoint(self, size: int, note: str) -> None:
        """Store a signed checkpoint note of tree size `size` (kept once per size)."""
        if self._read_only:
            raise StorageError("the audit log was opened read-only")
        try:
            self._reader().execute(
                "INSERT OR IGNORE INTO audit_checkpoints (size, note) VALUES (?, ?)", (size, note)
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store an audit checkpoint: {exc}") from exc

    def checkpoint_note(self, size: int) -> str | None:
        """Return the stored checkpoint note of tree size `size`, if any."""
        row = self._query_one("SELECT note FROM audit_checkpoints WHERE size = ?", (size,))
        return None if row is None else str(row[0])

    def latest_checkpoint(self) -> tuple[int, str] | None:
        """Return `(size, note)` of the stored checkpoint of the largest tree, if any."""
        row = self._query_one(
            "SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1", ()
        )
        return None if row is None else (int(str(row[0])), str(row[1]))

    def checkpoints(self) -> list[tuple[int, str]]:
        """Return every stored `(size, note)`, smallest tree first."""
        try:
            rows = (
                self._reader()
                .execute("SELECT size, note FROM audit_checkpoints ORDER BY size")
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read audit checkpoints: {exc}") from exc
        return [(int(size), str(note)) for size, note in rows]

    # -----------------------------------------------------------------------------------------
    # Witness cosignatures.
    # -----------------------------------------------------------------------------------------

    def store_cosigned(self, size: int, witness_name: str, note: str) -> None:
        """Store the checkpoint of `size` as cosigned by the witness `witness_name`.

        The note must be the stored checkpoint of that size with the witness's signature line
        added; signatures are checked by the caller (`CheckpointIssuer.store_cosigned`) and by
        auditors. The first note per size and witness is kept.

        Raises:
            InputError: no checkpoint of that size is stored, the note's text differs from it,
                or the note carries no line by `witness_name`.
        """
        if self._read_only:
            raise StorageError("the audit log was opened read-only")
        stored = self.checkpoint_note(size)
        if stored is None:
            raise InputError(f"no checkpoint of size {size} is stored to attach a cosignature to")
        try:
            cosigned = parse_note(note)
            own = parse_note(stored)
        except CryptoError as exc:
            raise InputError(f"the cosigned checkpoint of size {size} is malformed: {exc}") from exc
        if cosigned.text != own.text:
            raise InputError(
                f"the note cosigned by {witness_name!r} is not this node's checkpoint of size "
                f"{size}"
            )
        if not any(signature.key_name == witness_name for signature in cosigned.signatures):
            raise InputError(
                f"the cosigned checkpoint of size {size} has no line by {witness_name!r}"
            )
        try:
            self._reader().execute(
                "INSERT OR IGNORE INTO audit_cosignatures (size, witness, note) VALUES (?, ?, ?)",
                (size, witness_name, note),
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot store a witness cosignature: {exc}") from exc

    def cosigned_checkpoints(self, max_size: int | None = None) -> list[tuple[int, str, str]]:
        """Return every stored `(size, witness name, cosigned note)`, by size then witness.

        With `max_size`, only sizes up to it.
        """
        limit = max_size if max_size is not None else 2**63 - 1
        try:
            rows = (
                self._reader()
                .execute(
                    "SELECT size, witness, note FROM audit_cosignatures WHERE size <= ? "
                    "ORDER BY size, witness",
                    (limit,),
                )
                .fetchall()
            )
        except sqlite3.OperationalError as exc:
            # A database written before the table existed, opened read-only: none stored.
            if "no such table" in str(exc):
                return []
            raise StorageError(f"cannot read witness cosignatures: {exc}") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read witness cosignatures: {exc}") from exc
        return [(int(size), str(witness), str(note)) for size, witness, note in rows]
