"""The check desk's HTTP/JSON API, served by uvicorn over TLS on loopback, against a federation.

Everything is real: the federation of tests/unit/conftest.py (a coordinating node, two owners,
a querier), the querier's desk started as `blindhit serve` starts it (`start_desk`), uvicorn on
127.0.0.1 port 0 with the querier's TLS key and certificate, and a client (`urllib`) trusting
the federation's CA and checking the certificate's name.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from unit.conftest import HIT_PROBE, MISS_PROBE, OWNERS, Federation

from node.config import DeskSettings
from node.datasets.sources import RECORD_FIELDS
from node.desk.clients import ClientStore, Role
from node.desk.http import (
    HANDSHAKE_TIMEOUT_SECONDS,
    KEEP_ALIVE_SECONDS,
    MAX_BODY_BYTES,
    NDJSON,
    PROBLEM_JSON,
    Probe,
    RunningDesk,
    start_desk,
)
from node.home import NodeLayout
from node.storage.sqlite import Store
from protocol.directory import RevocationReason
from protocol.validation import HostPort

OWNER_IDS = sorted(owner for owner, _ in OWNERS)
PROBLEM = "urn:blindhit:problem:"
# What no log line and no problem may hold: the probes' values.
SECRETS = ("KOWALCZYK", "EK 4471902", "Dupont", "1988-11-02", "1970-05-05")


@dataclass
class Desk:
    running: RunningDesk
    port: int
    tls: ssl.SSLContext
    tokens: dict[str, str]

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = None,
        role: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.port}{path}", data=data, method=method
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if role is not None:
            token = self.tokens[role]
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def problem(self, status: int, headers: dict[str, str], body: bytes) -> dict[str, object]:
        assert headers["content-type"] == PROBLEM_JSON, (status, body)
        problem: dict[str, object] = json.loads(body)
        assert set(problem) == {"type", "title", "status", "detail"}
        assert problem["status"] == status
        detail = str(problem["detail"])
        assert "\n" not in detail
        assert "Traceback" not in detail
        for secret in SECRETS:
            assert secret not in detail
        return problem


@pytest.fixture
def desk(federation: Federation, caplog: pytest.LogCaptureFixture) -> Iterator[Desk]:
    caplog.set_level(logging.DEBUG)
    runtime = federation.querier
    database = runtime.config.node.database
    store = ClientStore(database)
    tokens: dict[str, str] = {}
    try:
        for role in Role:
            purpose = ("carrier-screening", "EU-2016/681") if role is Role.PARTNER else (None, None)
            _, tokens[role.value] = store.add(
                f"{role.value}-1", role, purpose=purpose[0], legal_basis=purpose[1]
            )
        _, tokens["stingy"] = store.add("stingy-1", Role.SYSTEM, daily_quota=1)
    finally:
        store.close()
    running = start_desk(runtime, DeskSettings(HostPort("127.0.0.1", 0)))
    ca = NodeLayout(runtime.config.directory).ca_certificate
    try:
        yield Desk(running, running.port, ssl.create_default_context(cafile=ca), tokens)
    finally:
        running.stop()
    # Nothing the server logged, its own lines and uvicorn's, holds a probe value.
    for secret in SECRETS:
        assert secret not in caplog.text


def _check(**changes: object) -> dict[str, object]:
    return {
        "probes": [HIT_PROBE, MISS_PROBE],
        "purpose": "border-check",
        "legal_basis": "EU-2016/680:Art.8",
        "case_reference": "FR-2026-0117",
        **changes,
    }


def test_a_system_check_finds_the_hit_in_both_owners(desk: Desk) -> None:
    status, headers, body = desk.call("POST", "/v1/checks", _check(), role="system")
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    members = json.loads(body)["members"]
    assert sorted(m["member"] for m in members) == OWNER_IDS
    for member in members:
        assert set(member) == {"member", "status", "seconds", "datasets"}
        assert member["status"] == "answered"
        (dataset,) = member["datasets"]
        assert set(dataset) == {
            "dataset", "status", "message", "epoch", "index_age_seconds", "synced", "probes",
        }  # fmt: skip
        assert dataset["dataset"] == "watchlist"
        hit, miss = dataset["probes"]
        assert (hit["probe"], hit["hit"], miss["probe"], miss["hit"]) == (0, True, 1, False)
        assert miss["keys"] == []
        assert hit["keys"]
        for key in hit["keys"]:
            assert set(key) == {"kind", "strength", "match_reference"}
            assert len(bytes.fromhex(key["match_reference"])) > 0


def test_the_ndjson_stream_has_one_line_per_member(desk: Desk) -> None:
    status, headers, body = desk.call(
        "POST", "/v1/checks", _check(mode="owner-match"), role="officer",
        headers={"Accept": NDJSON},
    )  # fmt: skip
    assert status == 200, body
    assert headers["content-type"].startswith(NDJSON)
    lines = body.decode().splitlines()
    assert len(lines) == len(OWNER_IDS)
    members = [json.loads(line) for line in lines]
    assert sorted(m["member"] for m in members) == OWNER_IDS
    assert all(m["datasets"][0]["probes"][0]["hit"] for m in members)


def test_a_partner_gets_refer_with_a_referral_id_and_nothing_else(desk: Desk) -> None:
    travellers = [{"reference": "PAX-1", **HIT_PROBE}, {"reference": "PAX-2", **MISS_PROBE}]
    status, _headers, body = desk.call(
        "POST", "/v1/screenings", {"travellers": travellers}, role="partner"
    )
    assert status == 200, body
    answer = json.loads(body)
    assert set(answer) == {"screening", "complete", "travellers"}
    assert answer["complete"] is True
    refer, no_action = answer["travellers"]
    for traveller in answer["travellers"]:
        assert set(traveller) == {"reference", "outcome", "referral"}
    assert (refer["reference"], refer["outcome"]) == ("PAX-1", "refer")
    assert refer["referral"].startswith("R-")
    assert no_action == {"reference": "PAX-2", "outcome": "no_action", "referral": None}
    # Nothing of the members reaches the partner, however it is spelt.
    for member in OWNER_IDS:
        assert member.encode() not in body
    assert b"watchlist" not in body

    # The officer sees what the partner does not.
    status, _, body = desk.call("GET", f"/v1/referrals/{refer['referral']}", role="officer")
    assert status == 200, body
    referral = json.loads(body)
    assert referral["referral"] == refer["referral"]
    assert referral["traveller"] == "PAX-1"
    assert referral["client"] == "partner-1"
    assert referral["state"] == "open"
    assert sorted(hit["member"] for hit in referral["hits"]) == OWNER_IDS
    for hit in referral["hits"]:
        assert hit["dataset"] == "watchlist"
        assert hit["kinds"]
        assert all(set(kind) == {"kind", "strength"} for kind in hit["kinds"])
        assert bytes.fromhex(hit["match_reference"])
    status, _, body = desk.call("GET", "/v1/referrals?state=open", role="officer")
    assert status == 200
    assert [r["referral"] for r in json.loads(body)["referrals"]] == [refer["referral"]]
    status, _, body = desk.call("GET", "/v1/referrals?state=closed", role="officer")
    assert json.loads(body) == {"referrals": []}


def test_health_and_the_openapi_document_need_no_token(desk: Desk) -> None:
    status, _, body = desk.call("GET", "/v1/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, _, body = desk.call("GET", "/v1/openapi.json")
    assert status == 200
    document = json.loads(body)
    assert document["openapi"].startswith("3.")
    assert {"/v1/checks", "/v1/screenings", "/v1/referrals", "/v1/referrals/{referral_id}",
            "/v1/health"} <= set(document["paths"])  # fmt: skip
    schemas = document["components"]["schemas"]
    assert set(schemas["Probe"]["properties"]) == set(RECORD_FIELDS)
    assert schemas["Probe"]["additionalProperties"] is False
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    answers = document["paths"]["/v1/checks"]["post"]["responses"]
    streamed = answers["200"]["content"][NDJSON]["schema"]["$ref"]
    assert streamed.removeprefix("#/components/schemas/") in schemas
    assert set(answers) >= {"200", "400", "401", "403", "413", "422", "429", "503", "504"}
    assert PROBLEM_JSON in answers["429"]["content"]


def test_the_probe_model_names_every_record_field() -> None:
    assert tuple(Probe.model_fields) == RECORD_FIELDS


def test_a_newer_directory_is_checked_over_the_new_querier(
    federation: Federation, desk: Desk
) -> None:
    # Adopting a newer directory closes the runtime's querier; the desk takes the new one.
    old = federation.querier.querier()
    federation.coordinator.revoke(OWNER_IDS[0], RevocationReason.SUSPENDED)
    federation.services.publish_if_changed()
    assert federation.querier.refresh_membership()
    assert federation.querier.querier() is not old
    desk.running.reconfigure(federation.querier)
    # The closed querier would open its channels again on use, with the old directory's
    # endpoints and pins, and nothing would close them; the desk must hold the new one.
    assert desk.running.service.desk._querier is federation.querier.querier()
    status, _, body = desk.call("POST", "/v1/checks", _check(), role="system")
    assert status == 200, body
    (member,) = json.loads(body)["members"]
    assert (member["member"], member["status"]) == (OWNER_IDS[1], "answered")


def test_no_token_or_a_wrong_one_is_401_with_a_bearer_challenge(desk: Desk) -> None:
    for token in (None, "bhd_not-a-token"):
        status, headers, body = desk.call("POST", "/v1/checks", _check(), token=token)
        assert status == 401
        assert headers["www-authenticate"].startswith("Bearer")
        assert desk.problem(401, headers, body)["type"] == PROBLEM + "unauthorized"
    status, headers, body = desk.call(
        "GET", "/v1/referrals", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert status == 401


def test_a_role_that_may_not_call_an_endpoint_is_403(desk: Desk) -> None:
    refused = [
        ("POST", "/v1/checks", _check(), "partner"),
        ("POST", "/v1/checks", _check(), "auditor"),
        ("POST", "/v1/screenings", {"travellers": [{"reference": "P", **HIT_PROBE}]}, "system"),
        ("GET", "/v1/referrals", None, "system"),
        ("GET", "/v1/referrals", None, "partner"),
        ("GET", "/v1/referrals/R-AAAAAAAAAA", None, "partner"),
    ]
    for method, path, body, role in refused:
        status, headers, answer = desk.call(method, path, body, role=role)
        problem = desk.problem(status, headers, answer)
        assert (status, problem["type"]) == (403, PROBLEM + "forbidden"), (path, role)
        assert f"{role}-1" in str(problem["detail"])


def test_bad_bodies_are_clear_problems(desk: Desk) -> None:
    cases: list[tuple[dict[str, object], int, str, str]] = [
        ({"raw": b'{"probes": ['}, 400, "malformed-json", "not valid JSON"),
        ({"body": _check(colour="red")}, 422, "invalid-request", "colour: Extra inputs"),
        (
            {"body": _check(probes=[{**HIT_PROBE, "shoe_size": "44"}])},
            422, "invalid-request", "probes[0].shoe_size: Extra inputs",
        ),
        ({"body": _check(mode="guess")}, 422, "invalid-request", "mode: Input should be"),
        ({"body": _check(case_reference=None)}, 422, "invalid-request", "case_reference"),
        (
            {"body": _check(probes=[MISS_PROBE] * 1001)},
            422, "invalid-request", "expected 1 to 1000 probes in one request, got 1001",
        ),
        ({"body": _check(probes=[])}, 422, "invalid-request", "got 0"),
        (
            {"body": _check(probes=[{**MISS_PROBE, "sex": "Dupont"}])},
            422, "invalid-request", "probe 1: sex",
        ),
        (
            {"body": _check(members=["xx-ct"])},
            422, "invalid-request", "not a peer offering datasets here: xx-ct",
        ),
        (
            {"raw": b'{"probes": [' + b'{"name": "a"},' * (MAX_BODY_BYTES // 14) + b"]}"},
            413, "body-too-large", f"larger than {MAX_BODY_BYTES} bytes",
        ),
    ]  # fmt: skip
    for given, status, kind, detail in cases:
        got, headers, body = desk.call("POST", "/v1/checks", role="system", **given)  # type: ignore[arg-type]
        problem = desk.problem(got, headers, body)
        assert (got, problem["type"]) == (status, PROBLEM + kind), body
        assert detail in str(problem["detail"]), problem
    status, headers, body = desk.call("GET", "/v1/referrals/R-NOSUCHONE2", role="officer")
    assert desk.problem(status, headers, body)["type"] == PROBLEM + "not-found"
    status, headers, body = desk.call("GET", "/v1/nowhere")
    assert desk.problem(status, headers, body)["type"] == PROBLEM + "not-found"
    status, headers, body = desk.call("GET", "/v1/checks", role="system")
    assert desk.problem(status, headers, body)["type"] == PROBLEM + "method-not-allowed"


def test_a_client_over_its_quota_is_429_until_the_next_day(desk: Desk) -> None:
    status, headers, body = desk.call("POST", "/v1/checks", _check(), role="stingy")
    problem = desk.problem(status, headers, body)
    assert (status, problem["type"]) == (429, PROBLEM + "quota-exceeded")
    assert "stingy-1 has used 0 of its 1 probes today" in str(problem["detail"])
    assert 0 < int(headers["retry-after"]) <= 86401


def test_a_database_that_fails_is_503(desk: Desk) -> None:
    # The referrals' store closed under the desk: what a lost database looks like to it.
    referrals: Store = desk.running.service.referrals
    referrals.close()
    status, headers, body = desk.call("GET", "/v1/referrals", role="officer")
    problem = desk.problem(status, headers, body)
    assert (status, problem["type"]) == (503, PROBLEM + "unavailable")
    assert "is closed" in str(problem["detail"])


def test_a_check_past_its_deadline_is_504(federation: Federation, desk: Desk) -> None:
    # A desk of its own with a deadline of one second, its indexes synced once and no more, so
    # that no background sync waits on the owner that stalls.
    runtime = federation.querier
    settings = DeskSettings(HostPort("127.0.0.1", 0), sync_interval=3600.0)
    running = start_desk(runtime, settings, deadline_seconds=1.0)
    slow, fast = OWNER_IDS
    try:
        waited = time.monotonic() + 20
        while any(
            running.service.desk.index_age(t) is None for t in running.service.desk.targets()
        ):
            assert time.monotonic() < waited, "the first background sync did not finish"
            time.sleep(0.05)
        # The slow owner's port now accepts connections and never answers.
        owner = federation.owners[slow]
        owner.stop()
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        stalled.bind(("127.0.0.1", owner.port))
        stalled.listen(8)
        on_its_own = Desk(running, running.port, desk.tls, desk.tokens)
        try:
            started = time.monotonic()
            status, headers, body = on_its_own.call("POST", "/v1/checks", _check(), role="system")
            problem = on_its_own.problem(status, headers, body)
            assert (status, problem["type"]) == (504, PROBLEM + "deadline-exceeded")
            assert "longer than its 1 seconds" in str(problem["detail"])
            assert time.monotonic() - started < 5
            status, _, body = on_its_own.call(
                "POST", "/v1/checks", _check(), role="system", headers={"Accept": NDJSON}
            )
            assert status == 200
            *members, last = [json.loads(line) for line in body.decode().splitlines()]
            assert [m["member"] for m in members] == [fast]
            assert last["type"] == PROBLEM + "deadline-exceeded"
            assert f"answered: {fast}" in last["detail"]
        finally:
            stalled.close()
    finally:
        running.stop()


def _closed_after(port: int, send: bytes, limit: float) -> float:
    """Seconds until the desk closes a connection that sends `send` and then waits."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit * 4) as s:
        if send:
            s.sendall(send)
        try:
            while s.recv(4096):
                pass
        except TimeoutError:
            pytest.fail(f"the desk held an idle connection past {limit * 4} s")
        except ConnectionResetError:
            pass
    return time.monotonic() - started


def test_a_stalled_handshake_and_an_idle_connection_are_closed(desk: Desk) -> None:
    with ThreadPoolExecutor(2) as pool:
        waits = list(
            pool.map(
                lambda send: _closed_after(desk.port, send, HANDSHAKE_TIMEOUT_SECONDS),
                [b"", b"\x16\x03\x01\x00"],
            )
        )
    assert all(wait < HANDSHAKE_TIMEOUT_SECONDS + 3 for wait in waits), waits
    # A connection that finished its handshake and sends no request is closed as an idle one.
    started = time.monotonic()
    with (
        socket.create_connection(("127.0.0.1", desk.port)) as raw,
        desk.tls.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.settimeout(KEEP_ALIVE_SECONDS * 4)
        assert tls.recv(4096) == b""
    assert time.monotonic() - started < KEEP_ALIVE_SECONDS + 3


def test_a_chunked_body_over_the_limit_is_413(desk: Desk) -> None:
    # No Content-Length: the limit is counted as the body arrives.
    def chunks() -> Iterator[bytes]:
        yield b'{"probes": ['
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b" " * 4096

    connection = http.client.HTTPSConnection("127.0.0.1", desk.port, context=desk.tls, timeout=30)
    try:
        connection.request(
            "POST", "/v1/checks", body=chunks(), encode_chunked=True,
            headers={"Authorization": f"Bearer {desk.tokens['system']}",
                     "Content-Type": "application/json"},
        )  # fmt: skip
        response = connection.getresponse()
        body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    problem = desk.problem(response.status, headers, body)
    assert (response.status, problem["type"]) == (413, PROBLEM + "body-too-large")


def test_bad_screenings_are_clear_problems(desk: Desk) -> None:
    cases: list[tuple[object, str]] = [
        ({"travellers": [HIT_PROBE]}, "travellers[0].reference: Field required"),
        (
            {"travellers": [{"reference": "P", **HIT_PROBE}, {"reference": "P", **MISS_PROBE}]},
            "each traveller needs a reference of its own",
        ),
        ({"travellers": []}, "expected 1 to 1000 probes in one request, got 0"),
        ({"travellers": [{"reference": "P", **HIT_PROBE}], "members": ["pl-ct"]}, "members"),
    ]
    for body, detail in cases:
        status, headers, answer = desk.call("POST", "/v1/screenings", body, role="partner")
        problem = desk.problem(status, headers, answer)
        assert (status, problem["type"]) == (422, PROBLEM + "invalid-request"), answer
        assert detail in str(problem["detail"])


def test_an_unexpected_failure_is_a_500_problem_without_a_traceback(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    # The desk's checks stopped under the listener: its pool refuses new work (a RuntimeError,
    # not an error of the project's tree).
    desk.running.service.desk.close()
    status, headers, body = desk.call("POST", "/v1/checks", _check(), role="system")
    problem = desk.problem(status, headers, body)
    assert (status, problem["type"]) == (500, PROBLEM + "internal-error")
    assert problem["detail"] == "the request failed"
    assert "POST /v1/checks: RuntimeError" in caplog.text
    assert "Traceback" not in caplog.text
