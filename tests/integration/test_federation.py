"""The federation end to end: a coordinating node and four members, each its own process.

Built by `dev.demo.running_federation` (the same code `make demo` runs), with small
datasets. Then: a fan-out check finds each owner's planted persons while the coordinating node
keeps nothing of a probe or an outcome; a relayed answer the coordinating node altered is
refused; a member that is down does not hold up the others; a revoked member is refused within
one directory refresh; a restart of the coordinating node loses no member and no cosignature; and
a coordinating node that alters what it relays is caught by the querier.

The tests that leave the federation as they found it share one (`shared`, built once per module
and worker); a test that changes it for good (kills a member, revokes one, restarts the
coordinating node) builds its own (`federation`) and says why.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from dev.demo import (
    COORDINATOR,
    MEMBERS,
    PASSPHRASE_ENV,
    QUERIER,
    REPOSITORY,
    DemoFederation,
    running_federation,
)
from federation.coordinator import Coordinator
from federation.fanout import FanOutRelay
from federation.server import CoordinatorServer, create_server
from node.audit import AuditLog, EntryKind
from node.home import load_tls_credentials
from proto.blindhit.v1 import common_pb2, federation_pb2
from proto.services import DIRECTORY, FAN_OUT, WITNESS
from protocol.match_keys import derive_keys

SMALL = tuple(dataclasses.replace(member, records=150) for member in MEMBERS)
CASE = ["--officer", "de-of-17", "--purpose", "border-check",
        "--legal-basis", "EU-2016/680:Art.8", "--case", "DE-2026-0042"]  # fmt: skip


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFederation]:
    """One federation for the tests that leave it as they found it.

    Built once per module and xdist worker: a worker that runs none of its tests builds none.
    """
    root = tmp_path_factory.mktemp("shared-federation")
    with running_federation(root / "federation", io.StringIO(), members=SMALL) as demo:
        yield demo


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[DemoFederation]:
    """A federation of this test's own, for a test that changes it for good."""
    with running_federation(tmp_path / "federation", io.StringIO(), members=SMALL) as demo:
        yield demo


def blindhit(*argv: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *map(str, argv)],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ},
    )  # fmt: skip


def check_all(demo: DemoFederation, querier: str = QUERIER) -> dict[str, Any]:
    result = blindhit(
        "check", "--node", demo.node_dir(querier), "--dataset", "watchlist",
        "--manifest", demo.root / "manifest.jsonl", "--all", *CASE, "--json",
    )  # fmt: skip
    assert result.returncode in (0, 1, 3), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def hits_by_owner(report: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for probe in report["probes"]:
        for result in probe["results"]:
            if result["status"] == "hit":
                found.setdefault(result["peer"], set()).add(probe["probe"])
    return found


def every_byte(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def test_a_fan_out_finds_each_owners_hits_and_the_coordinator_learns_none(
    shared: DemoFederation,
) -> None:
    federation = shared
    # Other tests of the shared federation relay checks too: only this check's relays count.
    with AuditLog(federation.gs_dir / "federation.db", read_only=True) as log:
        relayed_before = log.size
    hits = federation.check(passengers=80)
    found = hits_by_owner(federation.report.check)
    assert {"PAX-017"} <= found["fr-ct"]
    assert {"PAX-108"} <= found["jo-psd"]
    assert {"PAX-233"} <= found["ua-sbu"]
    assert {p["probe"] for p in hits} >= {"PAX-017", "PAX-108", "PAX-233"}
    assert {p["status"] for p in federation.report.check["peers"]} == {"answered"}

    with AuditLog(federation.gs_dir / "federation.db", read_only=True) as log:
        relayed = [log.entry(i) for i in range(relayed_before, log.size)]
    relayed = [e for e in relayed if e.kind is EntryKind.CHECK_RELAYED]
    assert sorted(e.relayed_to or "" for e in relayed) == ["fr-ct", "jo-psd", "ua-sbu"]
    assert all(e.counterpart == QUERIER and e.hit_count is None for e in relayed)
    # The coordinating node's files and log hold no passenger value and no match key.
    manifest = [
        json.loads(line)
        for line in (federation.root / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    secrets: set[bytes] = set()
    for passenger in manifest:
        record = {k: v for k, v in passenger.items() if k != "id"}
        secrets.update(str(v).encode() for v in record.values())
        secrets.update(key.value.encode() for key in derive_keys(record).keys)
    stored = every_byte(federation.gs_dir) + every_byte(federation.root / "logs")
    assert len(secrets) > 300
    assert sorted(s for s in secrets if len(s) >= 6 and s in stored) == []


def test_a_member_that_is_down_holds_up_nobody(federation: DemoFederation) -> None:
    # A federation of its own: ua-sbu is killed and stays down.
    federation.check(passengers=40)  # indexes synced while everyone is up
    down = federation.processes.running["ua-sbu"]
    down.send_signal(signal.SIGKILL)
    down.wait()
    started = time.perf_counter()
    report = check_all(federation)
    elapsed = time.perf_counter() - started
    statuses = {peer["peer"]: peer["status"] for peer in report["peers"]}
    assert statuses == {"fr-ct": "answered", "jo-psd": "answered", "ua-sbu": "unreachable"}
    assert {"PAX-017"} <= hits_by_owner(report)["fr-ct"]
    assert elapsed < 20


def test_a_revoked_member_is_refused_within_one_refresh(federation: DemoFederation) -> None:
    # A federation of its own: a revocation cannot be undone.
    federation.check(passengers=40)
    revoked = blindhit(
        "federation", "revoke", "jo-psd", "--federation", federation.gs_dir,
        "--reason", "suspended",
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    # The coordinating node publishes within 2 s; members refresh every second.
    deadline = time.monotonic() + 15
    while True:
        report = check_all(federation)
        peers = {peer["peer"] for peer in report["peers"]}
        if "jo-psd" not in peers or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert peers == {"fr-ct", "ua-sbu"}
    # The revoked member itself: the coordinating node no longer relays for it, and an owner
    # it calls directly refuses it.
    own = blindhit(
        "check", "--node", federation.node_dir("jo-psd"), "--dataset", "watchlist",
        "--name", "Anna Kowalczyk", "--dob", "1988-11-02", "--peer", "fr-ct", *CASE, "--json",
    )  # fmt: skip
    assert own.returncode in (2, 3)
    assert "jo-psd" in own.stderr + own.stdout


def test_a_restart_of_the_coordinating_node_loses_nothing(federation: DemoFederation) -> None:
    # A federation of its own: the coordinating node is stopped and started again, which a test
    # sharing it could see in the middle of a check.
    federation.check(passengers=40)
    federation.verify_logs()
    cosigned_before = dict(federation.report.cosigned)
    shown_before = json.loads(
        blindhit("federation", "show", "--federation", federation.gs_dir, "--json").stdout
    )
    coordinator = federation.processes.running[COORDINATOR]
    coordinator.send_signal(signal.SIGTERM)
    assert coordinator.wait(timeout=30) == 0
    port = str(federation.report.ports[COORDINATOR])
    command = ["federation", "serve", "--federation", str(federation.gs_dir), "--port", port]
    federation.processes.start(COORDINATOR, command)
    federation.processes.wait_listening(COORDINATOR)
    shown_after = json.loads(
        blindhit("federation", "show", "--federation", federation.gs_dir, "--json").stdout
    )
    assert shown_after["members"] == shown_before["members"]
    report = check_all(federation)
    assert {peer["status"] for peer in report["peers"]} == {"answered"}
    federation.verify_logs()
    for member, size in cosigned_before.items():
        assert federation.report.cosigned[member] >= size
    assert os.environ.get(PASSPHRASE_ENV)


class _TamperingRelay(FanOutRelay):
    """A coordinating node gone bad: it flips one byte of every answer it relays."""

    def _relay_one(self, member: Any, relay: Any, deadline: float, answers: Any) -> None:
        class Tamper:
            def put(self, answer: federation_pb2.FanOutAnswer) -> None:
                if answer.envelope:
                    envelope = common_pb2.SignedEnvelope.FromString(answer.envelope)
                    body = bytearray(envelope.body)
                    body[-1] ^= 1
                    envelope.body = bytes(body)
                    answer.envelope = envelope.SerializeToString()
                answers.put(answer)

        super()._relay_one(member, relay, deadline, Tamper())  # type: ignore[arg-type]


def test_the_coordinating_node_cannot_forge_an_answer(shared: DemoFederation) -> None:
    # The shared federation: the rogue coordinating node runs beside the real one, and the
    # querier's node.toml is given back as it was, whatever happens.
    federation = shared
    federation.check(passengers=40)
    passphrase = os.environ[PASSPHRASE_ENV].encode()
    with Coordinator.open(federation.gs_dir) as coordinator:
        rogue = CoordinatorServer(coordinator, passphrase)
        rogue.relay.close()
        rogue.relay = _TamperingRelay(
            COORDINATOR,
            rogue.tls,
            rogue._member_endpoints,
            rogue.audit,
        )
        server, port = create_server(rogue, port=0)
        server.start()
        try:
            config = federation.node_dir(QUERIER) / "node.toml"
            text = config.read_text(encoding="utf-8")
            real = f"127.0.0.1:{federation.report.ports[COORDINATOR]}"
            config.write_text(text.replace(real, f"127.0.0.1:{port}"), encoding="utf-8")
            try:
                report = check_all(federation)
            finally:
                config.write_text(text, encoding="utf-8")
        finally:
            server.stop(None).wait()
            rogue.close()
    assert {peer["status"] for peer in report["peers"]} == {"failed"}
    assert all("signature" in peer["message"] for peer in report["peers"])
    assert hits_by_owner(report) == {}


def test_a_slow_member_times_out_alone(shared: DemoFederation) -> None:
    # The shared federation: jo-psd is stopped for one check and continued, whatever happens.
    federation = shared
    federation.check(passengers=40)
    slow = federation.processes.running["jo-psd"]
    slow.send_signal(signal.SIGSTOP)  # alive, connected, and answering nothing
    try:
        report = check_all(federation)
    finally:
        slow.send_signal(signal.SIGCONT)
    statuses = {peer["peer"]: peer["status"] for peer in report["peers"]}
    assert statuses["fr-ct"] == statuses["ua-sbu"] == "answered"
    assert statuses["jo-psd"] == "unreachable"
    assert "Deadline" in next(p["message"] for p in report["peers"] if p["peer"] == "jo-psd")


def test_undecodable_requests_are_invalid_arguments(federation: DemoFederation) -> None:
    passphrase = os.environ[PASSPHRASE_ENV].encode()
    tls = load_tls_credentials(federation.node_dir(QUERIER), passphrase)
    address = f"127.0.0.1:{federation.report.ports[COORDINATOR]}"
    errors: list[Any] = []
    with grpc.secure_channel(address, tls.channel_credentials()) as channel:
        for service, method in [(DIRECTORY, "GetDirectory"), (WITNESS, "GetCosigned"),
                                (WITNESS, "Cosign")]:  # fmt: skip
            with pytest.raises(grpc.RpcError) as refused:
                service.unary_unary(channel, method, _raw, _raw)(b"\x0a\xff", timeout=10)
            errors.append(refused.value)
        for method in ("Check", "SyncIndex"):
            stream = FAN_OUT.unary_stream(channel, method, _raw, _raw)
            with pytest.raises(grpc.RpcError) as refused:
                list(stream(b"\x0a\xff", timeout=10))
            errors.append(refused.value)
    assert [error.code() for error in errors] == [grpc.StatusCode.INVALID_ARGUMENT] * 5
    assert all(error.details().startswith("the request is not a ") for error in errors)


def _raw(data: bytes) -> bytes:
    return data


def test_a_check_without_a_dataset_asks_every_dataset_of_every_member(
    shared: DemoFederation, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.csv"
    # Columns named as check's flags (dob, document_country) are read as those fields; columns
    # the check does not know (passenger_id, seat) are left out, with a warning that names them.
    manifest.write_text(
        "id,passenger_id,seat,name,dob,document_number,document_country\n"
        "P1,X-1,12A,Anna Kowalczyk,1988-11-02,EK 4471902,POL\n"
        "P2,X-2,12B,Jean Dupont,1970-05-05,,\n",
        encoding="utf-8",
    )
    members = sorted(member.node_id for member in SMALL if member.node_id != QUERIER)
    for relay in (["--all"], []):
        result = blindhit(
            "check", "--node", shared.node_dir(QUERIER), "--manifest", manifest, *relay,
            *CASE, "--json",
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr
        assert "ignoring unknown columns passenger_id, seat" in result.stderr
        report = json.loads(result.stdout)
        assert sorted((p["peer"], p["dataset"]) for p in report["peers"]) == [
            (member, "watchlist") for member in members
        ]
        assert {p["status"] for p in report["peers"]} == {"answered"}
        assert [p["probe"] for p in report["probes"]] == ["P1", "P2"]
