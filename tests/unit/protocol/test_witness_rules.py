"""The witness's rules (protocol.witness) as a state machine: a log's state and each submission.

A small model of the witness's storage (the latest cosigned checkpoint and every one cosigned,
by size) applies each verdict as `federation.witness` does; the tests drive it through honest
growth, resends, stale and racing submissions, forks and rollbacks, over real RFC 9162 trees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from crypto import merkle
from crypto.signed_note import Checkpoint
from protocol.witness import (
    Accept,
    CosignedCheckpoint,
    EvidenceKind,
    Inconsistent,
    Malformed,
    Stale,
    Verdict,
    cosignature_time,
    judge,
)

ORIGIN = "example.org/log"


def tree(size: int, branch: bytes = b"a") -> list[bytes]:
    """Leaf hashes of a log of `size` entries; another `branch` rewrites every entry."""
    return [merkle.leaf_hash(branch + i.to_bytes(4, "big")) for i in range(size)]


def root(leaves: list[bytes]) -> bytes:
    return merkle.root_from_leaf_hashes(leaves) if leaves else merkle.EMPTY_ROOT_HASH


def proof(leaves: list[bytes], old: int) -> tuple[bytes, ...]:
    levels = merkle.perfect_subtree_levels(leaves)

    def fetch(ids: Sequence[merkle.NodeId]) -> list[bytes]:
        return [levels[node.level][node.index] for node in ids]

    return tuple(merkle.consistency_proof(old, len(leaves), fetch))


@dataclass
class WitnessModel:
    """What the witness stores for one log, and the evidence it recorded."""

    latest: CosignedCheckpoint | None = None
    cosigned: dict[int, CosignedCheckpoint] = field(default_factory=dict)
    evidence: list[EvidenceKind] = field(default_factory=list)
    clock: int = 1000

    def submit(
        self, leaves: list[bytes], sent: tuple[bytes, ...] = (), old_size: int | None = None
    ) -> Verdict:
        checkpoint = Checkpoint(ORIGIN, len(leaves), root(leaves))
        verdict = judge(
            ORIGIN,
            checkpoint,
            sent,
            old_size,
            latest=self.latest,
            at_size=self.cosigned.get(checkpoint.size),
        )
        if isinstance(verdict, Accept):
            time = cosignature_time(self.clock, self.latest)
            stored = CosignedCheckpoint(
                ORIGIN, checkpoint.size, checkpoint.root_hash, f"note {checkpoint.size}", time
            )
            self.cosigned.setdefault(checkpoint.size, stored)
            self.latest = stored
        elif isinstance(verdict, Inconsistent):
            self.evidence.append(verdict.kind)
        return verdict

    def grow(self, leaves: list[bytes]) -> None:
        old = 0 if self.latest is None else self.latest.size
        sent = proof(leaves, old) if 0 < old < len(leaves) else ()
        assert self.submit(leaves, sent, old_size=old) == Accept()


def test_an_honest_log_is_cosigned_as_it_grows() -> None:
    witness = WitnessModel()
    full = tree(40)
    for size in (0, 1, 2, 7, 8, 21, 40):
        witness.grow(full[:size])
    assert witness.latest is not None
    assert witness.latest.size == 40
    assert sorted(witness.cosigned) == [0, 1, 2, 7, 8, 21, 40]
    assert witness.evidence == []


def test_the_first_checkpoint_needs_no_proof() -> None:
    witness = WitnessModel()
    leaves = tree(5)
    verdict = witness.submit(leaves, (bytes(32),))
    assert verdict == Stale(
        f"a proof of 1 hashes was sent where none is needed; this witness last cosigned size 0 "
        f"of {ORIGIN}",
        0,
    )
    assert witness.latest is None
    assert witness.submit(leaves) == Accept()


def test_a_stated_old_size_must_be_the_cosigned_one() -> None:
    witness = WitnessModel()
    witness.grow(tree(4))
    leaves = tree(9)
    verdict = witness.submit(leaves, proof(leaves, 3), old_size=3)
    assert isinstance(verdict, Stale)
    assert verdict.cosigned_size == 4
    assert verdict.message.startswith("the proof starts at size 3; this witness last cosigned")
    assert witness.latest is not None
    assert witness.latest.size == 4


def test_the_same_checkpoint_again_is_cosigned_again_and_time_never_goes_back() -> None:
    witness = WitnessModel(clock=2000)
    witness.grow(tree(6))
    witness.clock = 1500  # the clock stepped back
    assert witness.submit(tree(6)) == Accept()
    assert witness.latest is not None
    assert witness.latest.time == 2000
    assert cosignature_time(2500, witness.latest) == 2500


def test_the_same_size_with_a_proof_is_malformed() -> None:
    witness = WitnessModel()
    witness.grow(tree(6))
    verdict = witness.submit(tree(6), (bytes(32),))
    assert verdict == Malformed(
        f"{ORIGIN}: expected no consistency proof for a checkpoint of the cosigned size 6, "
        "got 1 hashes"
    )


def test_another_root_at_the_cosigned_size_is_a_fork() -> None:
    witness = WitnessModel()
    witness.grow(tree(6))
    verdict = witness.submit(tree(6, b"b"))
    assert isinstance(verdict, Inconsistent)
    assert verdict.kind is EvidenceKind.FORK_SAME_SIZE
    assert verdict.cosigned_note == "note 6"
    assert verdict.answer is None
    assert verdict.detail.startswith("two roots for size 6: ")
    assert witness.latest is not None
    assert witness.latest.root_hash == root(tree(6))


def test_a_proof_of_the_wrong_length_is_stale_unless_the_member_said_where_it_starts() -> None:
    witness = WitnessModel()
    witness.grow(tree(5))
    leaves = tree(12)
    wrong = proof(leaves, 4)  # two hashes; a proof from size 5 has five
    assert len(wrong) != len(proof(leaves, 5))
    unstated = witness.submit(leaves, wrong)
    assert isinstance(unstated, Stale)
    assert unstated.cosigned_size == 5
    assert "consistency proof from size 5 to 12" in unstated.message
    stated = witness.submit(leaves, wrong, old_size=5)
    assert isinstance(stated, Malformed)
    assert stated.message.startswith(f"{ORIGIN}: expected ")


def test_a_proof_that_fails_is_evidence_of_an_inconsistent_log() -> None:
    witness = WitnessModel()
    witness.grow(tree(5))
    rewritten = tree(12, b"b")
    verdict = witness.submit(rewritten, proof(rewritten, 5), old_size=5)
    assert isinstance(verdict, Inconsistent)
    assert verdict.kind is EvidenceKind.INCONSISTENT_PROOF
    assert verdict.cosigned_note == "note 5"
    assert witness.latest is not None
    assert witness.latest.size == 5


def test_an_older_checkpoint_cosigned_before_is_a_harmless_resend() -> None:
    witness = WitnessModel()
    full = tree(20)
    witness.grow(full[:8])
    witness.grow(full)
    verdict = witness.submit(full[:8])
    assert verdict == Stale(
        f"the checkpoint of size 8 is older than the cosigned one; this witness last cosigned "
        f"size 20 of {ORIGIN}",
        20,
    )
    assert witness.evidence == []


def test_an_older_size_never_cosigned_is_a_rollback_answered_as_stale() -> None:
    witness = WitnessModel()
    full = tree(20)
    witness.grow(full)
    verdict = witness.submit(full[:11])
    assert isinstance(verdict, Inconsistent)
    assert verdict.kind is EvidenceKind.ROLLBACK
    assert verdict.answer is not None
    assert verdict.answer.cosigned_size == 20
    assert "size 11 presented as the current tree after size 20" in verdict.detail


def test_an_older_size_with_another_root_is_a_fork_against_that_checkpoint() -> None:
    witness = WitnessModel()
    full = tree(20)
    witness.grow(full[:8])
    witness.grow(full)
    verdict = witness.submit(tree(8, b"b"))
    assert isinstance(verdict, Inconsistent)
    assert verdict.kind is EvidenceKind.FORK_SAME_SIZE
    assert verdict.cosigned_note == "note 8"
    assert verdict.answer is None


def test_the_empty_tree_is_stale_but_never_evidence() -> None:
    witness = WitnessModel()
    witness.grow(tree(3))
    verdict = witness.submit([])
    assert isinstance(verdict, Stale)
    assert verdict.cosigned_size == 3
    assert witness.evidence == []


@pytest.mark.parametrize("sizes", [(2, 3, 4), (5, 9, 17, 33), (2, 64, 65, 100)])
def test_once_a_history_is_cosigned_no_other_one_is(sizes: tuple[int, ...]) -> None:
    witness = WitnessModel()
    honest, forged = tree(100), tree(100, b"z")
    witness.grow(honest[:1])
    for size in sizes:
        assert witness.latest is not None
        old = witness.latest.size
        # The forged history of this size, with its own consistency proof from the cosigned
        # size, the old size stated or not, is never cosigned.
        for stated in (None, old):
            verdict = witness.submit(forged[:size], proof(forged[:size], old), old_size=stated)
            assert not isinstance(verdict, Accept)
        witness.grow(honest[:size])
    assert all(stored.root_hash == root(honest[:n]) for n, stored in witness.cosigned.items())
    assert witness.evidence
    assert set(witness.evidence) == {EvidenceKind.INCONSISTENT_PROOF}
