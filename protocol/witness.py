"""The witness's rules: what to do with a member's checkpoint, given what was cosigned before.

Pure: no storage, no clock, no signing. `judge` looks at the submission (the checkpoint, its
consistency proof, the `old_size` the member stated) and at two stored facts, the last
checkpoint cosigned for the log and the one cosigned at the presented size (if any), and returns
one `Verdict`; the caller (`federation.witness`) reads those facts and carries the verdict out
in one transaction. The order of the checks is c2sp.org/tlog-witness, "add-checkpoint":

1. A stated `old_size` other than the size last cosigned (0 before the first) is `Stale`.
2. Nothing but the empty tree cosigned: every tree extends it, so `Accept`, unless a proof was
   sent where none is needed (`Stale`).
3. A smaller size than the last cosigned is `Stale`; it is also evidence when the witness never
   cosigned that size (`rollback`, recorded and still answered as stale) or cosigned it with
   another root (`fork_same_size`). The same checkpoint again is a harmless resend. The empty
   tree is a prefix of every tree, so it is stale but never evidence.
4. The same size needs the same root (else `fork_same_size`) and no proof (else `Malformed`),
   and is cosigned again.
5. A larger size needs a consistency proof from the last cosigned tree (RFC 9162 §2.1.4.2): one
   of the wrong length is `Stale` when the member did not state `old_size` (it most likely
   starts elsewhere) and `Malformed` when it did; one that fails to verify is evidence
   `inconsistent_proof`.

`cosignature_time` keeps a log's cosignature times from ever going back when the clock does.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from crypto import merkle
from crypto.errors import InvalidProof
from crypto.signed_note import Checkpoint

__all__ = [
    "Accept",
    "CosignedCheckpoint",
    "EvidenceKind",
    "Inconsistent",
    "Malformed",
    "Stale",
    "Verdict",
    "cosignature_time",
    "judge",
]


class EvidenceKind(enum.StrEnum):
    """What a member was caught at; `federation.witness` says what each one proves."""

    FORK_SAME_SIZE = "fork_same_size"
    INCONSISTENT_PROOF = "inconsistent_proof"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class CosignedCheckpoint:
    """A checkpoint cosigned for a log: its size and root, the cosigned note, the time."""

    origin: str
    size: int
    root_hash: bytes
    note: str
    time: int


@dataclass(frozen=True, slots=True)
class Accept:
    """Cosign the checkpoint and make it the log's latest (and the first at its size)."""


@dataclass(frozen=True, slots=True)
class Stale:
    """Refuse: the checkpoint or its proof does not start at `cosigned_size`, the last cosigned."""

    message: str
    cosigned_size: int


@dataclass(frozen=True, slots=True)
class Malformed:
    """Refuse: the submission cannot be right for the state, whatever the member's history."""

    message: str


@dataclass(frozen=True, slots=True)
class Inconsistent:
    """Record evidence of `kind` against `cosigned_note`; then refuse with `answer` if given
    (a rollback is answered as stale), else report the inconsistency."""

    kind: EvidenceKind
    cosigned_note: str
    detail: str
    answer: Stale | None = None


Verdict = Accept | Stale | Malformed | Inconsistent


def _short(value: bytes) -> str:
    return value.hex()[:16] + "…"


def judge(
    origin: str,
    checkpoint: Checkpoint,
    proof: tuple[bytes, ...],
    old_size: int | None,
    *,
    latest: CosignedCheckpoint | None,
    at_size: CosignedCheckpoint | None,
) -> Verdict:
    """Return what to do with `checkpoint` (see the module docstring).

    `latest` is the last checkpoint cosigned for `origin` (None before the first), `at_size`
    the one cosigned at `checkpoint.size` (None if none was). The submission is taken to be
    well formed on its own (signature, sizes, proof hash lengths), which the caller checks first.
    """
    cosigned_size = 0 if latest is None else latest.size

    def stale(message: str) -> Stale:
        return Stale(
            f"{message}; this witness last cosigned size {cosigned_size} of {origin}",
            cosigned_size,
        )

    if old_size is not None and old_size != cosigned_size:
        return stale(f"the proof starts at size {old_size}")
    if latest is None or latest.size == 0:
        if proof:
            return stale(f"a proof of {len(proof)} hashes was sent where none is needed")
        return Accept()
    if checkpoint.size < latest.size:
        refusal = stale(f"the checkpoint of size {checkpoint.size} is older than the cosigned one")
        return _older(checkpoint, latest, at_size, refusal)
    if checkpoint.size == latest.size:
        return _same(origin, checkpoint, proof, latest)
    return _newer(origin, checkpoint, proof, latest, stale, old_size)


def _older(
    checkpoint: Checkpoint,
    latest: CosignedCheckpoint,
    at_size: CosignedCheckpoint | None,
    refusal: Stale,
) -> Verdict:
    """A checkpoint smaller than the last cosigned one: stale, and maybe evidence."""
    size, root = checkpoint.size, checkpoint.root_hash
    if size == 0:
        return refusal
    if at_size is None:
        return Inconsistent(
            EvidenceKind.ROLLBACK,
            latest.note,
            f"size {size} presented as the current tree after size {latest.size} was cosigned",
            answer=refusal,
        )
    if hmac.compare_digest(root, at_size.root_hash):
        return refusal
    return Inconsistent(
        EvidenceKind.FORK_SAME_SIZE,
        at_size.note,
        f"two roots for size {size}: {_short(root)} presented, {_short(at_size.root_hash)} "
        "cosigned",
    )


def _same(
    origin: str, checkpoint: Checkpoint, proof: tuple[bytes, ...], latest: CosignedCheckpoint
) -> Verdict:
    """A checkpoint of the last cosigned size: the same tree is cosigned again."""
    if not hmac.compare_digest(checkpoint.root_hash, latest.root_hash):
        return Inconsistent(
            EvidenceKind.FORK_SAME_SIZE,
            latest.note,
            f"two roots for size {latest.size}: {_short(checkpoint.root_hash)} presented, "
            f"{_short(latest.root_hash)} cosigned",
        )
    if proof:
        return Malformed(
            f"{origin}: expected no consistency proof for a checkpoint of the cosigned "
            f"size {latest.size}, got {len(proof)} hashes"
        )
    return Accept()


def _newer(
    origin: str,
    checkpoint: Checkpoint,
    proof: tuple[bytes, ...],
    latest: CosignedCheckpoint,
    stale: Callable[[str], Stale],
    old_size: int | None,
) -> Verdict:
    """A checkpoint larger than the last cosigned one, judged by its consistency proof."""
    expected = len(merkle.consistency_proof_node_ids(latest.size, checkpoint.size))
    if len(proof) != expected:
        message = (
            f"expected {expected} hashes in the consistency proof from size {latest.size} to "
            f"{checkpoint.size}, got {len(proof)}"
        )
        # A member that did not say where its proof starts most likely started elsewhere.
        return stale(message) if old_size is None else Malformed(f"{origin}: {message}")
    try:
        merkle.verify_consistency(
            latest.size, checkpoint.size, latest.root_hash, checkpoint.root_hash, proof
        )
    except InvalidProof as exc:
        return Inconsistent(EvidenceKind.INCONSISTENT_PROOF, latest.note, str(exc))
    return Accept()


def cosignature_time(now: int, latest: CosignedCheckpoint | None) -> int:
    """The time to cosign at: the clock's, but never before the log's last cosignature."""
    return now if latest is None else max(now, latest.time)
