"""The check desk from the command line: `blindhit serve` with `[desk]`, clients, referrals.

Two nodes made by `blindhit init` under a development CA: the owner (fr-ct) imports wanted
persons and serves them; the querier (de-bka) has `[desk]` in its node.toml and runs `blindhit
serve`, which prints the peer listener's line and then the desk's. Against the desk, over HTTPS
trusting the CA: a system client's check finds the planted person, a partner's screening answers
`refer` and nothing more, the officers read the referral with `blindhit referrals`, a revoked
client is refused. SIGTERM stops both listeners, and the server's stderr holds no probe value.
Then `blindhit desk serve` runs the desk alone.
"""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Federation  # the fixture's type, from this folder's conftest.py


def _started(
    federation: Federation, argv: list[str], lines: int
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `blindhit ARGV` and read its first `lines` lines (within a minute).

    The lines are read by a thread: two lines written at once arrive in one read, and a
    select on the pipe would not see the second, already in the reader's buffer.
    """
    process = federation.popen(*argv)
    stdout = process.stdout
    assert stdout is not None
    read: list[str] = []
    reader = threading.Thread(
        target=lambda: read.extend(stdout.readline() for _ in range(lines)), daemon=True
    )
    reader.start()
    reader.join(60)
    if reader.is_alive() or not all(" listening on " in line for line in read):
        process.kill()
        _, errors = process.communicate()
        raise AssertionError(f"did not start: {read!r} {errors}")
    return process, read


def _stopped(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then the exit status and what the process wrote on stderr."""
    process.send_signal(signal.SIGTERM)
    try:
        _, errors = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, errors


def _call(
    port: int, tls: ssl.SSLContext, method: str, path: str, token: str, body: object = None
) -> tuple[int, dict[str, object]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"https://127.0.0.1:{port}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, context=tls, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _token(federation: Federation, client: str, role: str, *extra: str) -> str:
    added = federation.run(
        "desk", "client", "add", "--node", federation.querier, "--id", client, "--role", role,
        *extra, "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "shown this once" in added.stderr
    token: str = json.loads(added.stdout)["token"]
    return token


def test_serve_with_a_desk_checks_screens_and_refers(federation: Federation) -> None:
    querier = federation.querier
    config = querier / "node.toml"
    # The owner's peer table names the dataset it offers, and the querier gets a desk.
    text = config.read_text(encoding="utf-8")
    assert text.count('id = "fr-ct"\n') == 1
    text = text.replace('id = "fr-ct"\n', 'id = "fr-ct"\ndatasets = ["watchlist"]\n')
    text += '\n[desk]\nlisten = "127.0.0.1:0"\nsync_interval = 1.0\n'
    config.write_text(text, encoding="utf-8")
    system = _token(federation, "border-1", "system")
    officer = _token(federation, "officer-1", "officer")
    partner = _token(
        federation, "airline-1", "partner", "--purpose", "carrier-screening",
        "--legal-basis", "EU-2016/681",
    )  # fmt: skip
    listed = federation.run("desk", "client", "list", "--node", querier, "--json")
    clients = json.loads(listed.stdout)["clients"]
    assert [(c["id"], c["role"]) for c in clients] == [
        ("airline-1", "partner"), ("border-1", "system"), ("officer-1", "officer"),
    ]  # fmt: skip
    assert system not in listed.stdout

    # A passenger the owner wants, as the border sees it (conftest.py plants five).
    planted = next(p for p in federation.passengers if p["id"] in federation.planted_ids)
    probe = {name: value for name, value in planted.items() if name != "id"}
    process, lines = _started(federation, ["serve", "--node", str(querier), "--port", "0"], 2)
    assert lines[0].startswith("de-bka listening on 127.0.0.1:")
    assert lines[1].startswith("de-bka desk listening on 127.0.0.1:")
    port = int(lines[1].rsplit(":", 1)[1])
    tls = ssl.create_default_context(cafile=querier / "keys" / "ca-cert.pem")
    try:
        status, answer = _call(port, tls, "POST", "/v1/checks", system, {
            "probes": [probe], "purpose": "border-check",
            "legal_basis": "EU-2016/680:Art.8", "case_reference": "DE-2026-0042",
        })  # fmt: skip
        assert status == 200, answer
        members = answer["members"]
        assert isinstance(members, list)
        (member,) = members
        assert member["member"] == "fr-ct"
        assert member["datasets"][0]["probes"][0]["hit"] is True

        status, screening = _call(port, tls, "POST", "/v1/screenings", partner, {
            "travellers": [{"reference": "PAX-7", **probe}],
        })  # fmt: skip
        assert status == 200, screening
        assert set(screening) == {"screening", "complete", "travellers"}
        travellers = screening["travellers"]
        assert isinstance(travellers, list)
        (traveller,) = travellers
        assert set(traveller) == {"reference", "outcome", "referral"}
        assert traveller["outcome"] == "refer"
        referral_id = traveller["referral"]

        status, referral = _call(port, tls, "GET", f"/v1/referrals/{referral_id}", officer)
        assert status == 200
        assert referral["hits"][0]["member"] == "fr-ct"  # type: ignore[index]

        revoked = federation.run("desk", "client", "revoke", "--node", querier, "--id", "border-1")
        assert revoked.returncode == 0, revoked.stderr
        status, problem = _call(port, tls, "POST", "/v1/checks", system, {
            "probes": [probe], "case_reference": "DE-2026-0043",
        })  # fmt: skip
        assert (status, problem["type"]) == (401, "urn:blindhit:problem:unauthorized")
    finally:
        status, stderr = _stopped(process)
    assert status == 0, stderr

    shown = federation.run("referrals", "show", "--node", querier, referral_id, "--json")
    assert shown.returncode == 0, shown.stderr
    details = json.loads(shown.stdout)
    assert details["traveller"] == "PAX-7"
    assert details["client"] == "airline-1"
    assert [(h["member"], h["dataset"]) for h in details["hits"]] == [("fr-ct", "watchlist")]
    assert {k["kind"] for k in details["hits"][0]["kinds"]}
    listing = federation.run("referrals", "list", "--node", querier)
    assert referral_id in listing.stdout
    assert "hit at fr-ct" in listing.stdout

    # The server logged one line per request, and no probe value.
    for value in probe.values():
        assert value not in stderr
    assert "POST /v1/checks 200 client=border-1" in stderr
    assert "POST /v1/screenings 200 client=airline-1" in stderr
    assert "POST /v1/checks 401 client=-" in stderr

    # The desk alone, for a node that only asks.
    process, lines = _started(federation, ["desk", "serve", "--node", str(querier)], 1)
    assert lines[0].startswith("de-bka desk listening on 127.0.0.1:")
    port = int(lines[0].rsplit(":", 1)[1])
    try:
        status, answer = _call(port, tls, "POST", "/v1/checks", officer, {
            "probes": [probe], "purpose": "border-check",
            "legal_basis": "EU-2016/680:Art.8", "case_reference": "DE-2026-0044",
        })  # fmt: skip
        assert status == 200, answer
    finally:
        status, stderr = _stopped(process)
    assert status == 0, stderr
    for value in probe.values():
        assert value not in stderr


def test_serve_with_a_desk_answers_over_grpc_too(federation: Federation) -> None:
    import grpc  # noqa: PLC0415 (only this test speaks gRPC to the desk)
    from google.protobuf.struct_pb2 import Struct  # noqa: PLC0415

    from proto.blindhit.v1 import checks_pb2  # noqa: PLC0415
    from proto.services import CHECKS  # noqa: PLC0415

    querier = federation.querier
    config = querier / "node.toml"
    original = config.read_text(encoding="utf-8")
    # This module's federation is shared: an earlier test may have given the querier a desk
    # and the peer's datasets already. The desk table is the file's last, so it is replaced.
    text = original.split("\n[desk]\n", 1)[0]
    if 'datasets = ["watchlist"]' not in text:
        text = text.replace('id = "fr-ct"\n', 'id = "fr-ct"\ndatasets = ["watchlist"]\n', 1)
    text += '\n[desk]\nlisten = "127.0.0.1:0"\ngrpc_listen = "127.0.0.1:0"\n'
    config.write_text(text, encoding="utf-8")
    try:
        system = _token(federation, "border-grpc", "system")
        planted = next(p for p in federation.passengers if p["id"] in federation.planted_ids)
        probe = Struct()
        probe.update({name: value for name, value in planted.items() if name != "id"})
        process, lines = _started(federation, ["serve", "--node", str(querier), "--port", "0"], 3)
        assert lines[2].startswith("de-bka desk gRPC listening on 127.0.0.1:")
        port = int(lines[2].rsplit(":", 1)[1])
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(querier / "keys" / "ca-cert.pem").read_bytes()
        )
        try:
            with grpc.secure_channel(f"localhost:{port}", credentials) as channel:
                check = CHECKS.unary_stream(
                    channel, "Check", checks_pb2.CheckRequest.SerializeToString,
                    checks_pb2.MemberAnswer.FromString,
                )  # fmt: skip
                request = checks_pb2.CheckRequest(
                    probes=[probe], purpose="border-check", legal_basis="EU-2016/680:Art.8",
                    case_reference="DE-2026-0043",
                )  # fmt: skip
                (answer,) = list(
                    check(request, metadata=(("authorization", f"Bearer {system}"),), timeout=60)
                )
                assert (answer.member, answer.status) == ("fr-ct", "answered")
                assert answer.datasets[0].probes[0].hit
                with pytest.raises(grpc.RpcError) as refused:
                    list(check(request, timeout=60))
                assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        finally:
            status, errors = _stopped(process)
        assert status == 0, errors
        for value in probe.values():
            if isinstance(value, str) and len(value) >= 6:
                assert value not in errors
    finally:
        config.write_text(original, encoding="utf-8")
