"""Crash safety: a process appending under load is killed with SIGKILL, again and again.

Each round starts a real Python process that appends from eight threads and prints every index
the log returned (each with the case reference it logged), flushing after each line; the test
kills it with SIGKILL after a random delay drawn from the session's fault seed (`fault_seed` in
tests/conftest.py), so that a failure names the delays it chose and can be run again with them.
Afterwards every printed index must hold exactly the entry that was printed with it, the stored
tree must be the tree of the stored entries, and an export of the whole log must verify.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crypto import merkle
from crypto.signed_note import Ed25519Signer
from node.audit.checkpoints import CheckpointIssuer
from node.audit.export import export_log
from node.audit.store import AuditLog
from node.audit.verify import verify_export

REPOSITORY = Path(__file__).resolve().parents[2]
ROUNDS = 6

APPENDER = """
import sys, threading
from datetime import UTC, datetime
from node.audit.entries import AuditEntry, Decision, EntryKind
from node.audit.store import AuditLog

log = AuditLog(sys.argv[1])
round_number = sys.argv[2]
printing = threading.Lock()

def append_for_ever(thread):
    number = 0
    while True:
        reference = f"R{round_number}-T{thread}-{number}"
        index = log.append(AuditEntry(
            kind=EntryKind.CHECK_RECEIVED, time=datetime.now(UTC), node="fr-dcpj",
            counterpart="de.bka", dataset="persons", element_count=300,
            legal_basis="EU-2016/680:Art.8", case_reference=reference,
            request_digest=bytes(32), decision=Decision.ANSWERED,
        ))
        with printing:
            sys.stdout.write(f"{index} {reference}\\n")
            sys.stdout.flush()
        number += 1

print("ready", flush=True)
threads = [threading.Thread(target=append_for_ever, args=(t,)) for t in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def _wait_for_ready(output: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not output.read_bytes().startswith(b"ready\n"):
        assert process.poll() is None, "the appender exited early"
        assert time.monotonic() < deadline, "the appender did not start"
        time.sleep(0.01)


def _run_round(database: Path, output: Path, round_number: int, delay: float) -> None:
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(database), str(round_number)],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            cwd=REPOSITORY,
            env=environment,
        )
        try:
            _wait_for_ready(output, process)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _durable_claims(output: Path) -> dict[int, str]:
    """Return the index -> case reference pairs the appender printed in full lines."""
    claims: dict[int, str] = {}
    for line in output.read_bytes().split(b"\n")[1:-1]:
        index, reference = line.decode().split(" ")
        assert int(index) not in claims, f"index {index} was returned twice"
        claims[int(index)] = reference
    return claims


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_under_load_loses_no_durable_entry(tmp_path: Path, fault_seed: int) -> None:
    database = tmp_path / "node.db"
    chooser = random.Random(fault_seed)
    claims: dict[int, str] = {}
    for round_number in range(ROUNDS):
        output = tmp_path / f"round-{round_number}.out"
        delay = chooser.uniform(0.1, 0.4)
        where = f"round {round_number}, killed {delay:.3f} s in (fault seed {fault_seed})"
        _run_round(database, output, round_number, delay)
        round_claims = _durable_claims(output)
        assert round_claims, f"the appender returned no index before it was killed: {where}"
        assert not claims.keys() & round_claims.keys(), where
        claims |= round_claims
        with AuditLog(database, read_only=True) as log:
            for index, reference in round_claims.items():
                assert index < log.size, f"durable index {index} is beyond the log: {where}"
                assert log.entry(index).case_reference == reference, where

    with AuditLog(database) as log:
        size = log.size
        assert size >= len(claims)
        stored = [merkle.leaf_hash(body) for body in log.iter_entry_bytes(0, size)]
        assert log.root_hash() == merkle.root_from_leaf_hashes(stored)
        for index, reference in claims.items():
            assert log.entry(index).case_reference == reference
        signer = Ed25519Signer.generate("fr-dcpj")
        note = CheckpointIssuer(log, signer).issue().note
        export_log(log, tmp_path / "export", note)
    report = verify_export(tmp_path / "export", signer.verifier())
    assert report.ok, report.render()
    assert report.entries_verified == size
