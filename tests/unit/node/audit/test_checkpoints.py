"""Signed checkpoints of the audit log: on demand, on a timer, never over a rewritten tree."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.errors import InputError, InvalidSignature, StorageError
from crypto.signed_note import Ed25519Signer, open_checkpoint
from node.audit.checkpoints import CheckpointIssuer, CheckpointTimer
from node.audit.entries import AuditEntry, EntryKind
from node.audit.store import AuditLog

ORIGIN = "fr-dcpj"
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def admitted(number: int) -> AuditEntry:
    return AuditEntry(
        kind=EntryKind.MEMBER_ADMITTED, time=T0, node=ORIGIN, counterpart=f"member-{number}"
    )


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "node.db") as opened:
        yield opened


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.from_seed(ORIGIN, bytes(range(32)))


def test_issued_checkpoint_verifies_and_commits_to_the_tree(
    log: AuditLog, signer: Ed25519Signer
) -> None:
    issuer = CheckpointIssuer(log, signer)
    empty = issuer.issue()
    assert empty.size == 0
    log.append_many([admitted(i) for i in range(9)])
    signed = issuer.issue()
    checkpoint = open_checkpoint(signed.note, signer.verifier())
    assert checkpoint.origin == ORIGIN
    assert checkpoint.size == 9
    assert checkpoint.root_hash == log.root_hash(9)
    assert signed.note.startswith(f"{ORIGIN}\n9\n")
    assert log.checkpoint_note(9) == signed.note
    assert log.origin == ORIGIN


def test_same_size_gives_the_same_note(log: AuditLog, signer: Ed25519Signer) -> None:
    issuer = CheckpointIssuer(log, signer)
    log.append(admitted(0))
    assert issuer.issue() == issuer.issue()
    assert len(log.checkpoints()) == 1


def test_other_key_does_not_verify(log: AuditLog, signer: Ed25519Signer) -> None:
    note = CheckpointIssuer(log, signer).issue().note
    other = Ed25519Signer.generate(ORIGIN)
    with pytest.raises(
        InvalidSignature,
        match="note has no valid signature by a known key",
    ):
        open_checkpoint(note, other.verifier())


def test_log_is_bound_to_one_origin(log: AuditLog, signer: Ed25519Signer) -> None:
    CheckpointIssuer(log, signer)
    with pytest.raises(InputError, match="origin"):
        CheckpointIssuer(log, Ed25519Signer.generate("de.bka"))


def test_covering_signs_only_when_needed(log: AuditLog, signer: Ed25519Signer) -> None:
    issuer = CheckpointIssuer(log, signer)
    log.append_many([admitted(i) for i in range(3)])
    first = issuer.covering(2)
    assert first.size == 3
    log.append(admitted(3))
    assert issuer.covering(1) == first
    assert issuer.covering(3).size == 4
    with pytest.raises(InputError, match=r"entry 4 is not in the log \(size 4\)"):
        issuer.covering(4)


def test_refuses_to_sign_over_removed_entries(tmp_path: Path, signer: Ed25519Signer) -> None:
    path = tmp_path / "node.db"
    with AuditLog(path) as log:
        log.append_many([admitted(i) for i in range(8)])
        CheckpointIssuer(log, signer).issue()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TRIGGER audit_entries_append_only_delete")
        connection.execute("DELETE FROM audit_entries WHERE idx >= 5")
    with AuditLog(path) as log, pytest.raises(StorageError, match="removed"):
        CheckpointIssuer(log, signer).issue()


def test_refuses_to_sign_over_rewritten_history(tmp_path: Path, signer: Ed25519Signer) -> None:
    path = tmp_path / "node.db"
    with AuditLog(path) as log:
        log.append_many([admitted(i) for i in range(8)])
        CheckpointIssuer(log, signer).issue()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TRIGGER audit_nodes_append_only_update")
        connection.execute("UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 3")
    with AuditLog(path) as log:
        log.append(admitted(8))
        with pytest.raises(StorageError, match="rewritten"):
            CheckpointIssuer(log, signer).issue()


def test_timer_signs_while_the_log_grows_and_stops(log: AuditLog, signer: Ed25519Signer) -> None:
    issuer = CheckpointIssuer(log, signer)
    with CheckpointTimer(issuer, 0.02) as timer:
        for number in range(3):
            log.append(admitted(number))
            deadline = time.monotonic() + 5
            while log.latest_checkpoint() is None or log.latest_checkpoint()[0] != number + 1:  # type: ignore[index]
                assert time.monotonic() < deadline, "the timer did not sign"
                time.sleep(0.01)
    assert timer.issued >= 3
    sizes = [size for size, _ in log.checkpoints()]
    assert sizes[-1] == 3
    started = time.monotonic()
    timer.stop()
    assert time.monotonic() - started < 1


def test_timer_needs_a_positive_interval(log: AuditLog, signer: Ed25519Signer) -> None:
    with pytest.raises(InputError, match="expected a positive checkpoint interval, got 0"):
        CheckpointTimer(CheckpointIssuer(log, signer), 0)
