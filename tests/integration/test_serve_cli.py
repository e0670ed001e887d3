"""Two nodes from the command line, as two operators would run them: separate processes, real
certificates from a development CA, mutual TLS on loopback, SQLite files.

The owner (fr-ct) imports a CSV of wanted persons and runs `blindhit serve`; the querier (de-bka)
checks a 300-passenger manifest with `blindhit check`. Then:

- the hits are exactly the passengers planted from the owner's file;
- the owner's database, audit log and output hold no probe value and no match key of a probe;
- the querier's files hold nothing of the owner's records beyond tags;
- an import while the owner serves publishes a new epoch that the querier picks up as a delta;
- a refused request is one warning line on the owner's stderr, and a stopped owner says so;
- `kill -9` of the owner during a manifest check: the querier reports the peer as failed, both
  databases pass SQLite's integrity check, the owner restarts and its audit log verifies.
"""

from __future__ import annotations

import json
import signal
import time
from typing import TYPE_CHECKING

from dev.synthetic import synthetic_people

if TYPE_CHECKING:
    from conftest import Federation  # the fixture's type, from this folder's conftest.py

# One federation for the module (conftest.py; one per xdist worker that runs its tests), its
# tests run in the order written. Two of them change it: the import adds epoch 2 (the only
# import, so the delta is from epoch 1), and the kill test, last, kills the owner and restarts
# it. The others only read.


def test_a_manifest_check_finds_exactly_the_planted_passengers(federation: Federation) -> None:
    status, report = federation.check_manifest()
    assert status == 1
    assert report["peers"][0]["status"] == "answered"
    assert report["peers"][0]["receipt"].startswith("c2sp.org/tlog-proof")
    assert federation.hits(report) == federation.planted_ids
    for probe in report["probes"]:
        if probe["probe"] in federation.planted_ids:
            strengths = {key["strength"] for key in probe["results"][0]["keys"]}
            assert "strong" in strengths  # the passport number matched


def test_owner_match_mode_gives_the_same_hits(federation: Federation) -> None:
    status, report = federation.check_manifest("--mode", "owner-match")
    assert status == 1
    assert federation.hits(report) == federation.planted_ids


def test_the_owner_keeps_nothing_of_the_probes(federation: Federation) -> None:
    federation.check_manifest()
    misses = [p for p in federation.passengers if p["id"] not in federation.planted_ids]
    stored = federation.every_byte(federation.owner) + federation.server.log.read_bytes()
    # A passenger born the same day as a wanted person shares that date with the owner's own
    # records; only what the owner could not hold otherwise counts.
    secrets = federation.values_and_keys(misses) - federation.values_and_keys(federation.people)
    assert len(secrets) > 1000
    assert sorted(s for s in secrets if s in stored) == []


def test_the_querier_keeps_nothing_of_the_owners_records(federation: Federation) -> None:
    federation.check_manifest()
    stored = federation.every_byte(federation.querier)
    secrets = federation.values_and_keys(federation.people)
    secrets.update(f"DCPJ/2026/{number:05d}".encode() for number in range(federation.owner_records))
    secrets.update(str(person["id"]).encode() for person in federation.people)
    secrets.update([b"red-notice", b"wanted"])
    # What the querier typed into its own manifest is its own, even where the owner holds it.
    secrets -= federation.values_and_keys(federation.passengers)
    assert len(secrets) > 1000
    assert sorted(s for s in secrets if s in stored) == []


def test_an_import_while_serving_is_picked_up_as_a_delta(federation: Federation) -> None:
    newcomer = next(iter(synthetic_people(1, seed=991, prefix="N")))
    federation.import_people([federation.record_row(newcomer, 9000)], "more.csv")
    result = federation.run(
        "check", "--node", federation.querier, "--dataset", "watchlist",
        "--name", f"{newcomer['given_names']} {newcomer['family_name']}",
        "--dob", newcomer["date_of_birth"], *federation.purpose, "--json", check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert result.returncode == 1, report["peers"]
    assert report["peers"][0]["epoch"] == 2


def test_a_refusal_is_one_warning_line_and_a_stop_is_said(federation: Federation) -> None:
    # Two refused checks of a dataset the owner does not hold: one line on the owner's stderr,
    # naming peer and reason, nothing of the probe; the second is only counted.
    for _ in range(2):
        refused = federation.run(
            "check", "--node", federation.querier, "--dataset", "vehicles",
            "--name", "Ottilie Brandtner-Vasquez", "--dob", "1971-02-03", *federation.purpose,
            check=False,
        )  # fmt: skip
        assert refused.returncode == 3, refused.stdout + refused.stderr
    log = federation.server.stop()
    lines = [line for line in log.splitlines() if "refused a request from de-bka" in line]
    assert [line for line in lines if "not_permitted" in line] == [
        "blindhit serve: WARNING refused a request from de-bka: not_permitted "
        "(further ones within 60 s are only counted)"
    ], log
    for value in ("Ottilie", "Brandtner", "1971-02-03"):
        assert value not in log
    assert log.splitlines()[-1] == "fr-ct stopped"
    federation.restart_owner()


def test_kill_9_of_the_owner_during_a_manifest_check(federation: Federation) -> None:
    server = federation.server
    # Freeze the owner, start the check, then kill the owner while the check waits on it.
    server.process.send_signal(signal.SIGSTOP)
    check = federation.popen(
        "check", "--node", federation.querier, "--dataset", "watchlist",
        "--manifest", federation.manifest, *federation.purpose, "--json",
    )  # fmt: skip
    time.sleep(3)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    out, err = check.communicate(timeout=120)
    assert check.returncode == 3, err
    report = json.loads(out)
    assert report["peers"][0]["status"] in ("unreachable", "failed")
    assert federation.integrity(federation.querier / "node.db") == "ok"
    assert federation.integrity(federation.owner / "node.db") == "ok"

    # The owner restarts, serves again, and its audit log verifies offline.
    federation.restart_owner()
    federation.verify_audit_log(federation.owner, "export-after-kill")
    status, report = federation.check_manifest()
    assert status == 1
    assert federation.hits(report) == federation.planted_ids
