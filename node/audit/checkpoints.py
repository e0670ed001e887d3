"""Signed checkpoints of the audit log (c2sp.org/tlog-checkpoint), on demand and on a timer.

A checkpoint is the note text `<origin>\\n<tree size>\\n<base64 root hash>\\n` signed with the
node's Ed25519 key, whose key name is the origin, the node id (tlog-checkpoint, "Signatures").
Notes are produced by `crypto.signed_note`; this module decides *when* to sign and keeps the
log's promise that it never signs two inconsistent trees (tlog-checkpoint, "Signatures": "A log
MUST not sign any checkpoint which is inconsistent with any checkpoint it previously signed").

Before signing, the issuer therefore checks the stored tree against the latest checkpoint it
signed: that checkpoint's size must not exceed the current size, and the stored tree must still
have that checkpoint's root at that size. A database that was truncated or rewritten underneath
the node is refused with `StorageError` instead of being signed, so the fork stays visible.

Witnesses (c2sp.org/tlog-cosignature) return the node's checkpoint with their cosignature line
added; `store_cosigned` checks such a note (the node's own signature, the witness's cosignature,
the very checkpoint the node stored for that size) and keeps it for exports.

The timer issues a checkpoint every `interval` seconds when the log has grown since the last one;
it runs on a daemon thread stopped by an event, so `stop()` returns within one interval at most.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from types import TracebackType

from crypto.cosignature import CosignatureVerifier
from crypto.errors import CryptoError, InputError, StorageError
from crypto.signed_note import (
    Checkpoint,
    Ed25519Signer,
    open_checkpoint,
    parse_note,
    sign_checkpoint,
)
from node.audit.store import AuditLog

__all__ = ["CheckpointIssuer", "CheckpointTimer", "SignedCheckpoint"]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint and its signed note, exactly as stored and served."""

    checkpoint: Checkpoint
    note: str

    @property
    def size(self) -> int:
        """The tree size the checkpoint commits to."""
        return self.checkpoint.size


class CheckpointIssuer:
    """Signs checkpoints of one audit log with the node's key; safe to share between threads.

    The signer's key name is the log's origin. The log is bound to that origin on first use, so
    the same database is never signed under two names.
    """

    def __init__(self, log: AuditLog, signer: Ed25519Signer) -> None:
        self._log = log
        self._signer = signer
        self._verifier = signer.verifier()
        self._lock = threading.Lock()
        log.bind_origin(signer.name)

    @property
    def origin(self) -> str:
        """The log's origin, which is also the signing key's name."""
        return self._signer.name

    def issue(self) -> SignedCheckpoint:
        """Sign and store a checkpoint of the whole committed log, and return it.

        A checkpoint of the same size signed earlier is returned as stored (Ed25519 signatures
        are deterministic, so it is the same note).

        Raises:
            StorageError: the stored tree is not consistent with the latest stored checkpoint.
        """
        with self._lock:
            size = self._log.size
            latest = self.latest()
            if latest is not None:
                self._check_extends(latest, size)
                if latest.size == size:
                    return latest
            root = self._log.root_hash(size)
            checkpoint = Checkpoint(self.origin, size, root)
            note = sign_checkpoint(checkpoint, self._signer)
            self._log.store_checkpoint(size, note)
            return SignedCheckpoint(checkpoint, note)

    def latest(self) -> SignedCheckpoint | None:
        """Return the stored checkpoint of the largest tree, verified by the node's key."""
        stored = self._log.latest_checkpoint()
        if stored is None:
            return None
        return self._open(*stored)

    def covering(self, index: int) -> SignedCheckpoint:
        """Return a checkpoint whose tree holds entry `index`, signing a new one if needed."""
        latest = self.latest()
        if latest is not None and latest.size > index:
            return latest
        issued = self.issue()
        if issued.size <= index:
            raise InputError(f"entry {index} is not in the log (size {issued.size})")
        return issued

    def store_cosigned(self, note: str | bytes, witness: CosignatureVerifier) -> int:
        """Keep a checkpoint note as cosigned by `witness`; return the cosignature's time.

        The note must carry this node's signature and a valid cosignature by `witness`, and its
        text must be that of the checkpoint stored for its size (a witness cannot hand back a
        checkpoint the node never signed).

        Raises:
            InvalidEncoding: the note is malformed.
            InvalidSignature: the node's signature or the witness's cosignature does not verify.
            InputError: the node stored no such checkpoint.
        """
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        checkpoint = open_checkpoint(text, self._verifier)
        timestamp = witness.verify(text)
        stored = self._log.checkpoint_note(checkpoint.size)
        if stored is None or parse_note(stored).text != parse_note(text).text:
            raise InputError(
                f"the witness {witness.name!r} returned a checkpoint of size {checkpoint.size} "
                "that this node did not store"
            )
        self._log.store_cosigned(checkpoint.size, witness.name, text)
        return timestamp

    def _open(self, size: int, note: str) -> SignedCheckpoint:
        try:
            checkpoint = open_checkpoint(note, self._verifier)
        except CryptoError as exc:
            raise StorageError(
                f"stored checkpoint of size {size} does not verify with this node's key: {exc}"
            ) from exc
        if checkpoint.size != size:
            raise StorageError(f"stored checkpoint of size {size} says size {checkpoint.size}")
        return SignedCheckpoint(checkpoint, note)

    def _check_extends(self, latest: SignedCheckpoint, size: int) -> None:
        if latest.size > size:
            raise StorageError(
                f"refusing to sign: the log holds {size} entries but a checkpoint of size "
                f"{latest.size} was signed before (entries were removed)"
            )
        stored_root = self._log.root_hash(latest.size)
        if stored_root != latest.checkpoint.root_hash:
            raise StorageError(
                f"refusing to sign: the stored tree of size {latest.size} has root "
                f"{stored_root.hex()}, but the checkpoint signed for that size has "
                f"{latest.checkpoint.root_hash.hex()} (history was rewritten)"
            )


class CheckpointTimer:
    """Issues a checkpoint every `interval` seconds while the log grows, on a daemon thread.

    Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(self, issuer: CheckpointIssuer, interval: float) -> None:
        if not interval > 0:
            raise InputError(f"expected a positive checkpoint interval, got {interval}")
        self._issuer = issuer
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.issued = 0
        """How many checkpoints this timer signed (for monitoring and tests)."""

    def start(self) -> None:
        """Start the timer thread."""
        if self._thread is not None:
            raise RuntimeError("cannot start a checkpoint timer twice")
        self._thread = threading.Thread(
            target=self._run, name=f"audit-checkpoints:{self._issuer.origin}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer thread and wait for it."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                before = self._issuer.latest()
                issued = self._issuer.issue()
            except StorageError:
                # The log refuses to sign a fork; keep the node serving and say so loudly.
                _logger.exception("audit checkpoint not issued")
                continue
            if before is None or issued.size != before.size:
                self.issued += 1

    def __enter__(self) -> CheckpointTimer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
