"""The coordinating node's witness of members' audit logs (c2sp.org/tlog-witness, tlog-cosignature).

Every member signs checkpoints of its audit log. A member that wanted to rewrite history could
show one history to an auditor and another to a counterpart: both would verify under its key.
The witness stops that. Members hand it each new checkpoint with a consistency proof from the
last checkpoint it cosigned for them; it checks the proof (RFC 9162 §2.1.4.2) and cosigns
(`crypto.cosignature`). A member can then only ever get one linear history cosigned, and anyone
who holds a cosigned checkpoint knows the member could not have shown another one to the witness.

The checks follow tlog-witness, "add-checkpoint", in this order. The first is made here; the
others are `protocol.witness.judge`, pure, over the stored state this module reads and writes:

1. The origin must be a log this witness was told to witness (`UnknownPeer` otherwise), and the
   note must carry a valid signature by that log's key for that origin (`InvalidSignature`,
   `InvalidEncoding`). Signatures by other keys, other witnesses' cosignatures for example, are
   ignored and kept in the note.
2. `old_size`, when the member gives it, must not exceed the checkpoint's size (`PeerError`)
   and must be the size last cosigned for the origin (0 before the first); otherwise
   `StaleCheckpoint` names that size, so the member can send a proof from it. Without
   `old_size` the proof is taken to start at that size. A member that states `old_size` (as
   tlog-witness requires of its clients) is never mistaken for a misbehaving one: a racing or
   late submission is then always answered as stale and recorded nowhere.
3. Against the last cosigned checkpoint (size N, root R):
   - a larger size needs a consistency proof from (N, R): a proof of the wrong length is refused
     (`StaleCheckpoint` naming N when the member did not state `old_size`, since it most likely
     starts elsewhere); a proof of the right length that fails is evidence `inconsistent_proof`;
   - the same size needs the same root and no proof, and is cosigned again with a fresh time;
     another root is evidence `fork_same_size`;
   - a smaller size is refused with `StaleCheckpoint`. If the witness cosigned that very size
     before with another root it is evidence `fork_same_size`; if it never saw that size it is
     evidence `rollback`; the same checkpoint cosigned before is a harmless resend.
   An empty tree (size 0) is a prefix of every tree, so it can be stale but never evidence; its
   root must be SHA-256 of the empty string.
4. The cosignature's time is the clock's, but never earlier than the last cosignature for the
   origin, so that a later cosignature of a log never looks older when the clock steps back.
   The new state is committed before the cosigned note is returned (tlog-witness: "The witness
   MUST persist the new checkpoint before responding").

Evidence. Each evidence record keeps the checkpoint the witness had cosigned, the checkpoint
presented, the proof and the time, forever (triggers refuse UPDATE and DELETE), and is recorded
once. Its strength differs by kind, and reports should say so:

- `fork_same_size` is conclusive: two checkpoints of one size with different roots, both signed
  by the member's key. Anyone with the member's public key can check it offline.
- `inconsistent_proof` and `rollback` are accusations to confirm: the member signed both
  checkpoints but did not prove them consistent. Ask the member for a consistency proof between
  the two sizes (`blindhit audit prove --from-size`): if it has one, the submission was wrong
  (a bug, or someone who replayed the member's checkpoints with a bad proof), not the log; if it
  has none, its log was rewritten or rolled back. A checkpoint signed earlier and submitted late
  without `old_size` also looks like a `rollback`.

Storage. One SQLite file (WAL, `synchronous=FULL`, so a commit is on disk when it returns), the
tables prefixed `wt_` so that it can share the coordinating node's database (they are defined,
and older files upgraded, in `federation.schema`):

- `wt_logs(origin, verifier_key)`: the logs witnessed and each one's checkpoint key (a C2SP
  vkey). Removing a log keeps its state: re-admitted, it resumes from the last cosigned
  checkpoint, so leaving and rejoining the federation cannot reset a member's history.
- `wt_latest(origin, size, root_hash, note, time)`: the last cosigned checkpoint per origin, the
  state that tlog-witness requires; a trigger refuses to make its size smaller.
- `wt_cosigned(origin, size, root_hash, note, time)`: every checkpoint cosigned, at its first
  cosignature, append-only; it recognises resends and forks at sizes below the latest, and a
  restart loses no cosigned checkpoint.
- `wt_evidence(id, origin, time, kind, cosigned_note, presented_note, proof, detail)`:
  append-only; the proof is stored as tlog-witness writes it, one base64 hash per line.

Concurrency. Any number of threads may call `cosign`. One origin's submissions are serialised by
a lock per origin, and each decision reads the state and writes the new one in one
`BEGIN IMMEDIATE` transaction, so two processes sharing the file cannot roll a log back either
(the race tlog-witness "add-checkpoint" warns about). Verifying the member's signature happens
before the transaction, so the write lock is held only for the proof check, one Ed25519
signature and the commit.
"""

from __future__ import annotations

import base64
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from crypto import merkle
from crypto.cosignature import CosignatureSigner
from crypto.errors import (
    CryptoError,
    InputError,
    InvalidEncoding,
    PeerError,
    StaleEpoch,
    StorageError,
    UnknownPeer,
)
from crypto.signed_note import Checkpoint, Ed25519Verifier, open_checkpoint
from federation.schema import FEDERATION_SCHEMA
from node.storage.sqlite import ThreadConnections, connect, open_database, transaction
from protocol.witness import (
    Accept,
    CosignedCheckpoint,
    EvidenceKind,
    Malformed,
    Stale,
    cosignature_time,
    judge,
)

__all__ = [
    "SCHEMA_VERSION",
    "CosignedCheckpoint",
    "Evidence",
    "EvidenceKind",
    "InconsistentLog",
    "StaleCheckpoint",
    "Witness",
    "read_evidence",
]

SCHEMA_VERSION: Final = FEDERATION_SCHEMA.version
"""The schema version of the file this code reads and writes (`federation.schema`)."""
# tlog-witness, "add-checkpoint": a client MUST NOT send more than 63 proof lines.
_MAX_PROOF_HASHES: Final = 63
# Sizes are kept in SQLite's signed 64-bit integers; no audit log comes near the limit.
_MAX_SIZE: Final = 2**63 - 1


class StaleCheckpoint(StaleEpoch):
    """The checkpoint or proof does not start from the size this witness last cosigned.

    `cosigned_size` is that size (0 before the first cosignature): the member should send a
    checkpoint at least that large with a consistency proof from it (tlog-witness answers "409
    Conflict" with that size).
    """

    def __init__(self, message: str, *, origin: str, cosigned_size: int) -> None:
        super().__init__(message)
        self.origin = origin
        self.cosigned_size = cosigned_size


@dataclass(frozen=True, slots=True)
class Evidence:
    """A recorded sign of misbehaviour: both checkpoints as signed by the member, and the proof."""

    id: int
    origin: str
    time: int
    kind: EvidenceKind
    cosigned_note: str
    presented_note: str
    proof: tuple[bytes, ...]
    detail: str

    @property
    def conclusive(self) -> bool:
        """Whether the two notes alone prove a fork (two roots for one size)."""
        return self.kind is EvidenceKind.FORK_SAME_SIZE


class InconsistentLog(PeerError):
    """A member showed a history inconsistent with the one this witness cosigned.

    The evidence is recorded before this is raised; `evidence` is the record.
    """

    def __init__(self, message: str, evidence: Evidence) -> None:
        super().__init__(message)
        self.evidence = evidence


def _stale(origin: str, verdict: Stale) -> StaleCheckpoint:
    return StaleCheckpoint(verdict.message, origin=origin, cosigned_size=verdict.cosigned_size)


def _cannot_write(exc: sqlite3.Error) -> StorageError:
    return StorageError(f"cannot write the witness database: {exc}")


def _short(value: bytes) -> str:
    return value.hex()[:16] + "…"


def _encode_proof(proof: Sequence[bytes]) -> str:
    """One base64 hash per line, as tlog-witness "add-checkpoint" writes proofs."""
    return "".join(base64.b64encode(value).decode("ascii") + "\n" for value in proof)


def _decode_proof(text: str) -> tuple[bytes, ...]:
    return tuple(base64.b64decode(line) for line in text.splitlines())


def _check_origin(origin: str) -> None:
    """Check that `origin` can be a checkpoint's origin line (tlog-checkpoint, "Note text")."""
    try:
        Checkpoint(origin, 0, merkle.EMPTY_ROOT_HASH)
    except CryptoError as exc:
        raise InputError(f"expected a non-empty one-line log origin, got {origin!r}") from exc


class Witness:
    """Cosigns members' checkpoints after checking them against what it cosigned before.

    Open with `Witness(path, signer)` (brings the file to the current schema,
    `federation.schema`) and close with `close()` or a `with` block. `clock` returns the current
    POSIX time in seconds; tests inject one.
    """

    def __init__(
        self,
        path: Path | str,
        signer: CosignatureSigner,
        *,
        clock: Callable[[], int] = lambda: int(time.time()),
    ) -> None:
        self.path = Path(path)
        self._signer = signer
        self._clock = clock
        self._connections = ThreadConnections(self._open)
        self._origin_locks: dict[str, threading.Lock] = {}
        self._origin_locks_lock = threading.Lock()
        self._closed = False
        self._create_schema()

    # -----------------------------------------------------------------------------------------
    # Opening and closing.
    # -----------------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        # Commits are durable when they return (`node.storage.sqlite`), so a cosignature handed out
        # is never lost by a crash.
        try:
            return connect(self.path)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open witness database {self.path}: {exc}") from exc

    def _create_schema(self) -> None:
        """Bring the file to the current schema (`federation.schema`) before it is used."""
        open_database(self.path, FEDERATION_SCHEMA).close()

    def _connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        if self._closed:
            raise StorageError("the witness is closed")
        return self._connections.get()

    def close(self) -> None:
        """Close every connection; a closed witness refuses further calls."""
        self._closed = True
        self._connections.close()

    def __enter__(self) -> Witness:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one `BEGIN IMMEDIATE` transaction, committed when it ends normally.

        Domain errors raised by the block roll it back like any other; a caller that must keep
        what it wrote (evidence) commits first and raises after.
        """
        with transaction(self._connection(), begin_error=_cannot_write) as connection:
            yield connection

    def _origin_lock(self, origin: str) -> threading.Lock:
        with self._origin_locks_lock:
            return self._origin_locks.setdefault(origin, threading.Lock())

    # -----------------------------------------------------------------------------------------
    # Logs witnessed.
    # -----------------------------------------------------------------------------------------

    @property
    def signer(self) -> CosignatureSigner:
        """The witness key that cosigns."""
        return self._signer

    def add_log(self, origin: str, verifier: Ed25519Verifier | str) -> None:
        """Witness the log `origin`, whose checkpoints are signed by `verifier` (or its vkey).

        Adding the same log with the same key again changes nothing.

        Raises:
            InputError: the origin is not one line, the vkey is malformed, or the origin is
                witnessed under another key (remove it first to change its key).
        """
        _check_origin(origin)
        if isinstance(verifier, str):
            try:
                verifier = Ed25519Verifier.from_verifier_key(verifier)
            except InvalidEncoding as exc:
                raise InputError(f"cannot witness {origin!r}: {exc}") from exc
        vkey = verifier.verifier_key()
        try:
            with self._transaction() as connection:
                connection.execute(
                    "INSERT OR IGNORE INTO wt_logs (origin, verifier_key) VALUES (?, ?)",
                    (origin, vkey),
                )
                row = connection.execute(
                    "SELECT verifier_key FROM wt_logs WHERE origin = ?", (origin,)
                ).fetchone()
                if row[0] != vkey:
                    raise InputError(
                        f"{origin!r} is witnessed under key {row[0].split('+', 2)[1]}, not "
                        f"{verifier.key_id:08x}; remove it first to change its key"
                    )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot record the witnessed log {origin!r}: {exc}") from exc

    def remove_log(self, origin: str) -> None:
        """Stop witnessing `origin`; its last cosigned checkpoint and evidence are kept.

        Raises:
            UnknownPeer: `origin` is not witnessed.
        """
        try:
            with self._transaction() as connection:
                deleted = connection.execute(
                    "DELETE FROM wt_logs WHERE origin = ?", (origin,)
                ).rowcount
        except sqlite3.Error as exc:
            raise StorageError(f"cannot remove the witnessed log {origin!r}: {exc}") from exc
        if not deleted:
            raise UnknownPeer(f"this witness does not witness a log {origin!r}")

    def logs(self) -> dict[str, str]:
        """Return the witnessed origins and their checkpoint keys (vkeys)."""
        rows = self._query("SELECT origin, verifier_key FROM wt_logs ORDER BY origin", ())
        return {str(origin): str(vkey) for origin, vkey in rows}

    def _verifier(self, origin: str) -> Ed25519Verifier:
        rows = self._query("SELECT verifier_key FROM wt_logs WHERE origin = ?", (origin,))
        if not rows:
            raise UnknownPeer(f"this witness does not witness a log {origin!r}")
        try:
            return Ed25519Verifier.from_verifier_key(str(rows[0][0]))
        except InvalidEncoding as exc:
            raise StorageError(f"the stored key of {origin!r} is malformed: {exc}") from exc

    # -----------------------------------------------------------------------------------------
    # Reading state.
    # -----------------------------------------------------------------------------------------

    def _query(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            return self._connection().execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the witness database: {exc}") from exc

    def latest(self, origin: str) -> CosignedCheckpoint | None:
        """Return the last checkpoint cosigned for `origin`, or None before the first.

        Raises:
            UnknownPeer: `origin` is neither witnessed nor was it ever.
        """
        rows = self._query(
            "SELECT size, root_hash, note, time FROM wt_latest WHERE origin = ?", (origin,)
        )
        if rows:
            return _cosigned(origin, rows[0])
        self._verifier(origin)
        return None

    def cosigned(self, origin: str, size: int) -> CosignedCheckpoint | None:
        """Return the checkpoint of `size` cosigned for `origin` (at its first cosignature)."""
        rows = self._query(
            "SELECT size, root_hash, note, time FROM wt_cosigned WHERE origin = ? AND size = ?",
            (origin, size),
        )
        return _cosigned(origin, rows[0]) if rows else None

    def evidence(self, origin: str | None = None) -> list[Evidence]:
        """Return the evidence recorded, for one origin or all, oldest first."""
        columns = "id, origin, time, kind, cosigned_note, presented_note, proof, detail"
        if origin is None:
            rows = self._query(f"SELECT {columns} FROM wt_evidence ORDER BY id", ())  # noqa: S608
        else:
            rows = self._query(
                f"SELECT {columns} FROM wt_evidence WHERE origin = ? ORDER BY id",  # noqa: S608
                (origin,),
            )
        return [_evidence(row) for row in rows]

    # -----------------------------------------------------------------------------------------
    # Cosigning.
    # -----------------------------------------------------------------------------------------

    def cosign(
        self,
        origin: str,
        checkpoint_note: str | bytes,
        consistency_proof: Sequence[bytes] = (),
        *,
        old_size: int | None = None,
    ) -> str:
        """Check `checkpoint_note` against the last cosigned checkpoint; cosign and return it.

        `consistency_proof` is `PROOF(old size, new tree)` (RFC 9162 §2.1.4.1), the old size
        being `old_size` if given, else the last size cosigned for `origin`. The returned note
        is the one given, with this witness's cosignature line added; it is durable first.

        Raises:
            UnknownPeer: `origin` is not witnessed.
            InvalidEncoding: the note is malformed.
            InvalidSignature: the log's key did not sign it for `origin`.
            StaleCheckpoint: it is older than, or its proof does not start at, the last
                cosigned checkpoint, whose size the error carries.
            InconsistentLog: it contradicts the cosigned history; the evidence is recorded.
            PeerError: the checkpoint or the proof is malformed in another way.
        """
        with self._origin_lock(origin):
            checkpoint = open_checkpoint(checkpoint_note, self._verifier(origin), origin=origin)
            note = (
                checkpoint_note.decode("utf-8")
                if isinstance(checkpoint_note, bytes)
                else checkpoint_note
            )
            proof = _check_submission(origin, checkpoint, consistency_proof, old_size)
            outcome: PeerError | str
            try:
                with self._transaction() as connection:
                    outcome = self._decide(connection, origin, checkpoint, note, proof, old_size)
            except sqlite3.Error as exc:
                raise StorageError(f"cannot record a cosignature of {origin!r}: {exc}") from exc
            if isinstance(outcome, str):
                return outcome
            raise outcome

    def _decide(
        self,
        connection: sqlite3.Connection,
        origin: str,
        checkpoint: Checkpoint,
        note: str,
        proof: tuple[bytes, ...],
        old_size: int | None,
    ) -> PeerError | str:
        """Inside the write transaction: read the state, let `protocol.witness` judge, carry out.

        Returns the cosigned note, or the error to raise once the transaction has committed
        (so that evidence is kept although the call fails).
        """
        latest = self._stored(connection, origin, None)
        at_size = self._stored(connection, origin, checkpoint.size)
        verdict = judge(origin, checkpoint, proof, old_size, latest=latest, at_size=at_size)
        if isinstance(verdict, Accept):
            return self._store(connection, checkpoint, note, latest)
        if isinstance(verdict, Stale):
            return _stale(origin, verdict)
        if isinstance(verdict, Malformed):
            return PeerError(verdict.message)
        accusation = self._record(
            connection, origin, verdict.kind, verdict.cosigned_note, note, proof, verdict.detail
        )
        # A rollback is recorded and still answered as stale: see "Evidence" above.
        return accusation if verdict.answer is None else _stale(origin, verdict.answer)

    @staticmethod
    def _stored(
        connection: sqlite3.Connection, origin: str, size: int | None
    ) -> CosignedCheckpoint | None:
        """The latest checkpoint of `origin` (`wt_latest`), or the one cosigned at `size`."""
        if size is None:
            row = connection.execute(
                "SELECT size, root_hash, note, time FROM wt_latest WHERE origin = ?", (origin,)
            ).fetchone()
        else:
            row = connection.execute(
                "SELECT size, root_hash, note, time FROM wt_cosigned WHERE origin = ? AND size = ?",
                (origin, size),
            ).fetchone()
        return None if row is None else _cosigned(origin, row)

    def _record(
        self,
        connection: sqlite3.Connection,
        origin: str,
        kind: EvidenceKind,
        cosigned_note: str,
        presented_note: str,
        proof: tuple[bytes, ...],
        detail: str,
    ) -> InconsistentLog:
        """Record evidence (once) in the open transaction; return the error that reports it."""
        encoded = _encode_proof(proof)
        connection.execute(
            "INSERT OR IGNORE INTO wt_evidence "
            "(origin, time, kind, cosigned_note, presented_note, proof, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (origin, self._clock(), kind.value, cosigned_note, presented_note, encoded, detail),
        )
        row = connection.execute(
            "SELECT id, origin, time, kind, cosigned_note, presented_note, proof, detail "
            "FROM wt_evidence WHERE origin = ? AND kind = ? AND cosigned_note = ? "
            "AND presented_note = ? AND proof = ?",
            (origin, kind.value, cosigned_note, presented_note, encoded),
        ).fetchone()
        evidence = _evidence(row)
        return InconsistentLog(
            f"{origin} shows a history inconsistent with the one this witness cosigned "
            f"({kind.value}: {detail}); evidence {evidence.id} recorded",
            evidence,
        )

    def _store(
        self,
        connection: sqlite3.Connection,
        checkpoint: Checkpoint,
        note: str,
        latest: CosignedCheckpoint | None,
    ) -> str:
        """Cosign `note`, store it as the latest (and first at its size), return it."""
        now = cosignature_time(self._clock(), latest)
        cosigned = self._signer.cosign(note, now)
        origin, size, root = checkpoint.origin, checkpoint.size, checkpoint.root_hash
        connection.execute(
            "INSERT OR IGNORE INTO wt_cosigned (origin, size, root_hash, note, time) "
            "VALUES (?, ?, ?, ?, ?)",
            (origin, size, root, cosigned, now),
        )
        connection.execute(
            "INSERT INTO wt_latest (origin, size, root_hash, note, time) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
            "root_hash = excluded.root_hash, note = excluded.note, time = excluded.time",
            (origin, size, root, cosigned, now),
        )
        return cosigned


def read_evidence(path: Path) -> list[Evidence]:
    """The evidence recorded in the witness tables of `path`, oldest first, read-only.

    For `blindhit federation show`, which needs no signing key: the file is opened read-only
    (`node.storage.sqlite.connect`), so a running coordinating node is not held up. A file whose
    witness has never run holds no evidence.
    """
    columns = "id, origin, time, kind, cosigned_note, presented_note, proof, detail"
    try:
        connection = connect(path, read_only=True)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open witness database {path}: {exc}") from exc
    try:
        rows = connection.execute(f"SELECT {columns} FROM wt_evidence ORDER BY id").fetchall()  # noqa: S608
    except sqlite3.OperationalError:
        return []  # the file predates the witness tables and was never upgraded
    finally:
        connection.close()
    return [_evidence(row) for row in rows]


def _check_submission(
    origin: str, checkpoint: Checkpoint, proof: Sequence[bytes], old_size: int | None
) -> tuple[bytes, ...]:
    """Check what can be checked without the stored state; return the proof as a tuple."""
    if checkpoint.size > _MAX_SIZE:
        raise PeerError(f"{origin}: tree sizes above 2**63 - 1 are not witnessed")
    if checkpoint.size == 0 and checkpoint.root_hash != merkle.EMPTY_ROOT_HASH:
        raise PeerError(
            f"{origin}: a checkpoint of the empty tree must have root SHA-256(''), got "
            f"{_short(checkpoint.root_hash)}"
        )
    if old_size is not None and (
        isinstance(old_size, bool) or not 0 <= old_size <= checkpoint.size
    ):
        raise PeerError(
            f"{origin}: expected an old size in [0, {checkpoint.size}], got {old_size!r}"
        )
    hashes = tuple(bytes(value) for value in proof)
    if len(hashes) > _MAX_PROOF_HASHES:
        raise PeerError(
            f"{origin}: expected at most {_MAX_PROOF_HASHES} proof hashes, got {len(hashes)}"
        )
    for position, value in enumerate(hashes):
        if len(value) != merkle.HASH_SIZE:
            raise PeerError(
                f"{origin}: expected {merkle.HASH_SIZE}-byte proof hashes, got {len(value)} "
                f"bytes at position {position}"
            )
    return hashes


def _cosigned(origin: str, row: tuple[object, ...]) -> CosignedCheckpoint:
    size, root, note, when = row
    assert isinstance(size, int)
    assert isinstance(root, bytes)
    assert isinstance(when, int)
    return CosignedCheckpoint(origin, size, root, str(note), when)


def _evidence(row: tuple[object, ...]) -> Evidence:
    identifier, origin, when, kind, cosigned_note, presented_note, proof, detail = row
    assert isinstance(identifier, int)
    assert isinstance(when, int)
    return Evidence(
        identifier,
        str(origin),
        when,
        EvidenceKind(str(kind)),
        str(cosigned_note),
        str(presented_note),
        _decode_proof(str(proof)),
        str(detail),
    )
