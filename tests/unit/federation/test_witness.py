"""The witness of members' audit logs: real members (AuditLog + CheckpointIssuer), real SQLite.

A member `fr-dcpj` signs checkpoints of its own log; the witness of the coordinating node checks
each one against what it cosigned before. A forked member is two logs under the same origin and
key that share a prefix and then diverge, as a node would that showed one history to an auditor
and another to a counterpart.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.cosignature import CosignatureSigner, CosignatureVerifier
from crypto.errors import (
    InputError,
    InvalidEncoding,
    InvalidSignature,
    PeerError,
    StaleEpoch,
    UnknownPeer,
)
from crypto.signed_note import Checkpoint, Ed25519Signer, open_checkpoint, parse_note
from federation.witness import (
    EvidenceKind,
    InconsistentLog,
    StaleCheckpoint,
    Witness,
)
from node.audit.checkpoints import CheckpointIssuer
from node.audit.entries import AuditEntry, EntryKind
from node.audit.store import AuditLog

ORIGIN = "fr-dcpj"
MEMBER_SEED = b"\x11" * 32
T0 = datetime(2025, 3, 1, tzinfo=UTC)
START = 1_740_000_000


def entry(number: int, branch: str) -> AuditEntry:
    """Entry `number` of one history; two branches give different entries at every index."""
    return AuditEntry(
        kind=EntryKind.DATASET_EPOCH_PUBLISHED,
        time=T0,
        node=ORIGIN,
        dataset="persons",
        epoch=number,
        element_count=number * 10,
        index_digest=hashlib.sha256(f"{branch} {number}".encode()).digest(),
    )


class Member:
    """A member node's audit log and checkpoint issuer, in its own SQLite file."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.signer = Ed25519Signer.from_seed(ORIGIN, MEMBER_SEED)
        self.log = AuditLog(path)
        self.issuer = CheckpointIssuer(self.log, self.signer)
        self.branch = branch

    def grow_to(self, size: int, branch: str | None = None) -> str:
        """Append entries up to `size` and return a freshly signed checkpoint note."""
        start = self.log.size
        if size > start:
            self.log.append_many([entry(i, branch or self.branch) for i in range(start, size)])
        return self.issuer.issue().note

    def proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        if old_size == 0:
            return []
        return self.log.consistency_proof(old_size, new_size)

    def close(self) -> None:
        self.log.close()


class Clock:
    """A settable clock; the witness reads whole POSIX seconds from it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


WITNESS_SIGNER = CosignatureSigner.from_seed("witness.interpol.int/gs", b"\x22" * 32)
WITNESS_KEY: CosignatureVerifier = WITNESS_SIGNER.verifier()


@pytest.fixture
def member(tmp_path: Path) -> Iterator[Member]:
    created = Member(tmp_path / "member.db")
    yield created
    created.close()


@pytest.fixture
def fork(tmp_path: Path) -> Iterator[Member]:
    """The same member's second history: same origin, same key, another database."""
    created = Member(tmp_path / "fork.db", branch="fork")
    yield created
    created.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def witness(tmp_path: Path, member: Member, clock: Clock) -> Iterator[Witness]:
    opened = Witness(tmp_path / "coordination.db", WITNESS_SIGNER, clock=clock)
    opened.add_log(ORIGIN, member.signer.verifier())
    yield opened
    opened.close()


def cosign_growth(witness: Witness, member: Member, size: int) -> str:
    """Grow the member to `size` and have the witness cosign it with a proof from its state."""
    latest = witness.latest(ORIGIN)
    old = 0 if latest is None else latest.size
    note = member.grow_to(size)
    return witness.cosign(ORIGIN, note, member.proof(old, size))


# ---------------------------------------------------------------------------------------------
# An honest member.
# ---------------------------------------------------------------------------------------------


def test_first_checkpoint_is_cosigned_without_a_proof(witness: Witness, member: Member) -> None:
    note = member.grow_to(10)
    cosigned = witness.cosign(ORIGIN, note)
    assert cosigned.startswith(note)
    assert WITNESS_KEY.verify(cosigned) == START
    assert open_checkpoint(cosigned, member.signer.verifier()).size == 10
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert (latest.size, latest.note, latest.time) == (10, cosigned, START)
    assert latest.root_hash == member.log.root_hash(10)


def test_a_growing_log_is_cosigned_with_consistency_proofs(
    witness: Witness, member: Member, clock: Clock
) -> None:
    for size in (1, 2, 3, 7, 8, 100, 257):
        clock.now += 10
        cosigned = cosign_growth(witness, member, size)
        assert WITNESS_KEY.verify(cosigned) == clock.now
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.size == 257
    first = witness.cosigned(ORIGIN, 7)
    assert first is not None
    assert first.root_hash == member.log.root_hash(7)
    assert witness.evidence() == []


def test_the_member_keeps_the_cosigned_notes(witness: Witness, member: Member) -> None:
    cosigned = cosign_growth(witness, member, 12)
    assert member.issuer.store_cosigned(cosigned, WITNESS_KEY) == START
    assert member.log.cosigned_checkpoints() == [(12, WITNESS_KEY.name, cosigned)]
    # A cosignature of a checkpoint the member never stored is refused.
    forged = member.signer.sign(Checkpoint(ORIGIN, 13, bytes(32)).to_body())
    with pytest.raises(InputError, match="did not store"):
        member.issuer.store_cosigned(WITNESS_SIGNER.cosign(forged, START), WITNESS_KEY)
    # And one that the witness key did not make.
    stranger = CosignatureSigner.from_seed(WITNESS_KEY.name, b"\x33" * 32)
    with pytest.raises(InvalidSignature, match="no cosignature by witness"):
        member.issuer.store_cosigned(stranger.cosign(member.grow_to(12), START), WITNESS_KEY)


def test_the_same_checkpoint_is_cosigned_again_with_a_fresh_time(
    witness: Witness, member: Member, clock: Clock
) -> None:
    note = member.grow_to(5)
    witness.cosign(ORIGIN, note)
    clock.now += 60
    again = witness.cosign(ORIGIN, witness.cosign(ORIGIN, note))
    assert again.count("\n— ") == 2  # The log's line and one witness line, replaced.
    assert WITNESS_KEY.verify(again) == START + 60
    latest, first = witness.latest(ORIGIN), witness.cosigned(ORIGIN, 5)
    assert latest is not None
    assert first is not None
    assert (latest.time, first.time) == (START + 60, START)


def test_cosignature_time_never_goes_back(witness: Witness, member: Member, clock: Clock) -> None:
    cosign_growth(witness, member, 3)
    clock.now -= 3600  # The coordinating node's clock is stepped back.
    cosigned = cosign_growth(witness, member, 4)
    assert WITNESS_KEY.verify(cosigned) == START


def test_the_empty_tree_is_cosigned_and_then_extended(witness: Witness, member: Member) -> None:
    empty = member.grow_to(0)
    witness.cosign(ORIGIN, empty)
    cosigned = witness.cosign(ORIGIN, member.grow_to(4))
    assert WITNESS_KEY.verify(cosigned) == START


def test_other_witnesses_lines_are_kept(witness: Witness, member: Member) -> None:
    other = CosignatureSigner.from_seed("witness.example/other", b"\x44" * 32)
    note = other.cosign(member.grow_to(6), START - 5)
    cosigned = witness.cosign(ORIGIN, note)
    assert other.verifier().verify(cosigned) == START - 5
    assert WITNESS_KEY.verify(cosigned) == START


# ---------------------------------------------------------------------------------------------
# Restart.
# ---------------------------------------------------------------------------------------------


def test_a_restart_keeps_the_last_cosigned_checkpoint(
    tmp_path: Path, witness: Witness, member: Member, clock: Clock
) -> None:
    cosigned = cosign_growth(witness, member, 40)
    witness.close()
    with Witness(tmp_path / "coordination.db", WITNESS_SIGNER, clock=clock) as restarted:
        latest = restarted.latest(ORIGIN)
        assert latest is not None
        assert (latest.size, latest.note) == (40, cosigned)
        assert restarted.logs() == {ORIGIN: member.signer.verifier_key()}
        # It still holds the member to the cosigned history.
        note = member.grow_to(50)
        with pytest.raises(StaleCheckpoint):
            restarted.cosign(ORIGIN, note, member.proof(30, 50))
        assert WITNESS_KEY.verify(restarted.cosign(ORIGIN, note, member.proof(40, 50)))


def test_a_cosignature_is_committed_before_it_is_returned(
    tmp_path: Path, witness: Witness, member: Member
) -> None:
    cosigned = cosign_growth(witness, member, 9)
    # Another connection (another process, or the node after a crash) sees it at once.
    with contextlib.closing(sqlite3.connect(tmp_path / "coordination.db")) as other:
        row = other.execute("SELECT size, note FROM wt_latest WHERE origin = ?", (ORIGIN,))
        assert row.fetchone() == (9, cosigned)
        mode = other.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


# ---------------------------------------------------------------------------------------------
# Refusals that accuse no one.
# ---------------------------------------------------------------------------------------------


def test_unknown_origin_is_an_unknown_peer(witness: Witness, member: Member) -> None:
    note = member.grow_to(3)
    with pytest.raises(UnknownPeer, match="'de-bka'"):
        witness.cosign("de-bka", note)
    with pytest.raises(UnknownPeer):
        witness.latest("de-bka")


def test_a_note_not_signed_by_the_members_key_is_refused(witness: Witness) -> None:
    impostor = Ed25519Signer.from_seed(ORIGIN, b"\x99" * 32)
    note = impostor.sign(Checkpoint(ORIGIN, 3, bytes(32)).to_body())
    with pytest.raises(InvalidSignature, match="no valid signature by a known key"):
        witness.cosign(ORIGIN, note)
    with pytest.raises(InvalidEncoding):
        witness.cosign(ORIGIN, "not a note\n")
    assert witness.latest(ORIGIN) is None
    assert witness.evidence() == []


def test_a_checkpoint_of_another_origin_is_refused(witness: Witness) -> None:
    other = Ed25519Signer.from_seed("de-bka", b"\x55" * 32)
    witness.add_log("de-bka", other.verifier_key())
    note = other.sign(Checkpoint("de-bka", 1, bytes(32)).to_body())
    with pytest.raises(InvalidSignature, match="no valid signature"):
        witness.cosign(ORIGIN, note)
    # Signed by the member's key, but for another origin line.
    mislabelled = Ed25519Signer.from_seed(ORIGIN, MEMBER_SEED).sign(
        Checkpoint("de-bka", 1, bytes(32)).to_body()
    )
    with pytest.raises(InvalidSignature, match="expected a checkpoint of origin 'fr-dcpj'"):
        witness.cosign(ORIGIN, mislabelled)


def test_rollback_is_refused_naming_the_cosigned_size(witness: Witness, member: Member) -> None:
    small = member.grow_to(10)
    witness.cosign(ORIGIN, small)
    never_submitted = member.grow_to(15)
    cosign_growth(witness, member, 20)
    # A resend of a checkpoint the witness cosigned is harmless: refused, not evidence.
    with pytest.raises(StaleCheckpoint) as resent:
        witness.cosign(ORIGIN, small)
    assert resent.value.cosigned_size == 20
    assert isinstance(resent.value, StaleEpoch)
    assert witness.evidence() == []
    # A smaller tree the witness never saw, presented as the current one: refused, and kept as
    # an accusation to confirm (not conclusive on its own).
    with pytest.raises(StaleCheckpoint, match="last cosigned size 20 of fr-dcpj") as rolled:
        witness.cosign(ORIGIN, never_submitted)
    assert rolled.value.cosigned_size == 20
    [evidence] = witness.evidence(ORIGIN)
    assert evidence.kind is EvidenceKind.ROLLBACK
    assert not evidence.conclusive
    assert evidence.presented_note == never_submitted
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.size == 20


def test_a_proof_from_another_size_is_stale_not_evidence(witness: Witness, member: Member) -> None:
    cosign_growth(witness, member, 8)
    note = member.grow_to(21)
    with pytest.raises(StaleCheckpoint, match=r"expected 2 hashes.*got 6") as error:
        witness.cosign(ORIGIN, note, member.proof(5, 21))
    assert error.value.cosigned_size == 8
    with pytest.raises(StaleCheckpoint, match="proof starts at size 5"):
        witness.cosign(ORIGIN, note, member.proof(5, 21), old_size=5)
    # Told the wrong length while claiming the right start, the proof is merely malformed.
    with pytest.raises(PeerError, match=r"expected 2 hashes.*got 1") as malformed:
        witness.cosign(ORIGIN, note, member.proof(8, 21)[:1], old_size=8)
    assert not isinstance(malformed.value, StaleCheckpoint)
    assert witness.evidence() == []
    assert witness.cosign(ORIGIN, note, member.proof(8, 21), old_size=8)


def test_a_proof_where_none_is_needed_is_stale(witness: Witness, member: Member) -> None:
    note = member.grow_to(4)
    with pytest.raises(StaleCheckpoint, match="none is needed") as error:
        witness.cosign(ORIGIN, note, [bytes(32)])
    assert error.value.cosigned_size == 0
    witness.cosign(ORIGIN, note)
    with pytest.raises(PeerError, match="expected no consistency proof"):
        witness.cosign(ORIGIN, note, [bytes(32)])


@pytest.mark.parametrize(
    ("proof", "message"),
    [([b"\x00" * 31], "32-byte proof hashes"), ([bytes(32)] * 64, "at most 63")],
)
def test_malformed_proofs_are_refused(
    witness: Witness, member: Member, proof: list[bytes], message: str
) -> None:
    witness.cosign(ORIGIN, member.grow_to(2))
    with pytest.raises(PeerError, match=message):
        witness.cosign(ORIGIN, member.grow_to(5), proof)


def test_an_empty_tree_with_another_root_is_refused(witness: Witness, member: Member) -> None:
    note = member.signer.sign(Checkpoint(ORIGIN, 0, bytes(32)).to_body())
    with pytest.raises(PeerError, match="empty tree"):
        witness.cosign(ORIGIN, note)


# ---------------------------------------------------------------------------------------------
# A forked member.
# ---------------------------------------------------------------------------------------------


def test_two_histories_of_one_size_are_conclusive_evidence(
    witness: Witness, member: Member, fork: Member
) -> None:
    # Both histories share their first 10 entries, then diverge.
    member.grow_to(10)
    fork.grow_to(10, branch="main")
    cosign_growth(witness, member, 20)
    shown_elsewhere = fork.grow_to(20)
    with pytest.raises(InconsistentLog, match="fork_same_size") as caught:
        witness.cosign(ORIGIN, shown_elsewhere, fork.proof(20, 20))
    evidence = caught.value.evidence
    assert evidence.kind is EvidenceKind.FORK_SAME_SIZE
    assert evidence.conclusive
    # Anyone with the member's key can check it: two signed checkpoints, one size, two roots.
    key = member.signer.verifier()
    cosigned = open_checkpoint(evidence.cosigned_note, key)
    presented = open_checkpoint(evidence.presented_note, key)
    assert cosigned.size == presented.size == 20
    assert cosigned.root_hash != presented.root_hash
    assert witness.evidence(ORIGIN) == [evidence]
    # Nothing was cosigned for the fork.
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.root_hash == member.log.root_hash(20)


def test_a_fork_that_grew_past_the_cosigned_size_fails_its_proof(
    witness: Witness, member: Member, fork: Member
) -> None:
    member.grow_to(10)
    fork.grow_to(10, branch="main")
    cosign_growth(witness, member, 20)
    note = fork.grow_to(35)
    # The fork's own honest proof from its tree of 20 cannot lead to the cosigned root.
    with pytest.raises(InconsistentLog, match="inconsistent_proof") as caught:
        witness.cosign(ORIGIN, note, fork.proof(20, 35))
    evidence = caught.value.evidence
    assert evidence.kind is EvidenceKind.INCONSISTENT_PROOF
    assert not evidence.conclusive
    assert evidence.proof == tuple(fork.proof(20, 35))
    assert parse_note(evidence.cosigned_note).text.startswith(f"{ORIGIN}\n20\n")
    # The same submission again is recorded once.
    with pytest.raises(InconsistentLog):
        witness.cosign(ORIGIN, note, fork.proof(20, 35))
    assert len(witness.evidence()) == 1


def test_a_fork_below_the_cosigned_size_is_caught_by_the_history(
    witness: Witness, member: Member, fork: Member
) -> None:
    member.grow_to(5)
    fork.grow_to(5, branch="main")
    cosign_growth(witness, member, 12)
    cosign_growth(witness, member, 30)
    # The forked history's checkpoint of size 12, a size the witness cosigned long ago.
    with pytest.raises(InconsistentLog, match="two roots for size 12"):
        witness.cosign(ORIGIN, fork.grow_to(12))
    [evidence] = witness.evidence()
    assert evidence.kind is EvidenceKind.FORK_SAME_SIZE
    assert open_checkpoint(evidence.cosigned_note, member.signer.verifier()).size == 12


def test_evidence_is_kept_for_ever(
    tmp_path: Path, witness: Witness, member: Member, fork: Member, clock: Clock
) -> None:
    cosign_growth(witness, member, 20)
    with pytest.raises(InconsistentLog):
        witness.cosign(ORIGIN, fork.grow_to(20))
    witness.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "coordination.db")) as raw:
        for statement in (
            "DELETE FROM wt_evidence",
            "UPDATE wt_evidence SET kind = 'nothing'",
            "DELETE FROM wt_cosigned",
            "UPDATE wt_latest SET size = 3",
            "DELETE FROM wt_latest",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                raw.execute(statement)
    with Witness(tmp_path / "coordination.db", WITNESS_SIGNER, clock=clock) as restarted:
        [evidence] = restarted.evidence(ORIGIN)
        assert evidence.time == START


# ---------------------------------------------------------------------------------------------
# Membership.
# ---------------------------------------------------------------------------------------------


def test_removal_keeps_the_state_for_a_rejoining_member(witness: Witness, member: Member) -> None:
    cosign_growth(witness, member, 10)
    witness.remove_log(ORIGIN)
    with pytest.raises(UnknownPeer):
        witness.cosign(ORIGIN, member.grow_to(11))
    with pytest.raises(UnknownPeer):
        witness.remove_log(ORIGIN)
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.size == 10
    witness.add_log(ORIGIN, member.signer.verifier_key())
    with pytest.raises(StaleCheckpoint) as error:
        witness.cosign(ORIGIN, member.grow_to(11))
    assert error.value.cosigned_size == 10


def test_a_log_keeps_its_key_until_removed(witness: Witness, member: Member) -> None:
    witness.add_log(ORIGIN, member.signer.verifier())  # The same key again: nothing changes.
    other = Ed25519Signer.from_seed(ORIGIN, b"\x66" * 32)
    with pytest.raises(InputError, match="remove it first"):
        witness.add_log(ORIGIN, other.verifier())
    with pytest.raises(InputError, match="cannot witness"):
        witness.add_log("de-bka", "de-bka+00000000+AAAA")
    with pytest.raises(InputError, match="one-line log origin"):
        witness.add_log("two\nlines", other.verifier())


# ---------------------------------------------------------------------------------------------
# Concurrency.
# ---------------------------------------------------------------------------------------------


def test_concurrent_submissions_keep_one_linear_history(witness: Witness, member: Member) -> None:
    # The member signs checkpoints at many sizes; eight threads race to get them cosigned, each
    # reading the witness's state and sending a proof from it. Per-origin serialisation means
    # no submission is judged against a state that another one changed underneath it: a racing
    # submission is answered as stale, never cosigned out of order.
    notes = {size: member.grow_to(size) for size in range(5, 85, 5)}
    proofs = {
        (old, new): member.proof(old, new) for new in notes for old in [0, *notes] if old <= new
    }
    failures: list[BaseException] = []
    returned: list[str] = []
    lock = threading.Lock()

    def submit(sizes: list[int]) -> None:
        for size in sizes:
            latest = witness.latest(ORIGIN)
            old = 0 if latest is None else latest.size
            if old > size:
                continue
            try:
                cosigned = witness.cosign(
                    ORIGIN, notes[size], proofs[old, size] if old else [], old_size=old
                )
            except StaleCheckpoint:
                continue
            except BaseException as exc:
                with lock:
                    failures.append(exc)
                continue
            with lock:
                returned.append(cosigned)

    threads = [
        threading.Thread(target=submit, args=(list(notes)[offset::2],)) for offset in (0, 1)
    ] + [threading.Thread(target=submit, args=(list(notes),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    # Every member stated where its proof starts, so no race looked like misbehaviour.
    assert witness.evidence() == []
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.size == 80
    for cosigned in returned:
        checkpoint = open_checkpoint(cosigned, member.signer.verifier())
        assert checkpoint.root_hash == member.log.root_hash(checkpoint.size)
        WITNESS_KEY.verify(cosigned)
