"""The Match service over real gRPC with mutual TLS on loopback, between two node directories.

The owner's dataset here is held in memory (real OPRF key, real wire-form index) so that these
tests exercise exactly the service, the client, policy, audit and receipts; the dataset storage
and import have their own tests, and the end-to-end CLI test uses them together.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.check import EXIT_HIT, EXIT_NO_HIT
from cli.main import main
from dev.localnet import allow, create_local_nodes, introduce
from dev.memory_dataset import MemoryDataset
from node.audit import EntryKind
from node.config import Dataset
from node.owner.match_service import MatchService
from node.owner.peer_server import create_server
from node.querier.checker import PeerResult, Target
from node.runtime import NodeRuntime
from node.transport.envelope import Label, seal_envelope
from proto.blindhit.v1 import common_pb2, match_pb2
from proto.services import MATCH
from protocol.admission import QueryMode
from protocol.check import RequestPurpose
from protocol.match_keys import derive_keys

PASSPHRASE_ENV = "BLINDHIT_TEST_PASSPHRASE"
OWNER_RECORDS: list[dict[str, object]] = [
    {"name": "أسامة بن لادن", "date_of_birth": "1957-03-10"},
    {
        "document_type": "passport",
        "document_number": "EK 4471902",
        "document_issuing_country": "POL",
    },
    {"name": "Anna Maria Kowalczyk", "date_of_birth": "1988-11-02"},
]
PROBES: list[dict[str, object]] = [
    {"name": "Usama bin Ladin", "date_of_birth": "1957-03-10"},
    {"document_number": "EK-4471902", "document_issuing_country": "POL"},
    {"name": "Jean Dupont", "date_of_birth": "1970-05-05"},
]
PURPOSE = RequestPurpose("officer-17", "border-check", "EU-2016/680:Art.8", "FR-2026-0117")


@dataclass
class Pair:
    owner: NodeRuntime
    querier: NodeRuntime
    owner_dir: Path
    querier_dir: Path
    server: grpc.Server
    port: int


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    owner, querier = create_local_nodes(
        tmp_path, [("pl-ct", "POL"), ("fr-ct", "FRA")], PASSPHRASE_ENV
    )
    allow(owner, [querier], [Dataset("watchlist"), Dataset("vehicles")], daily_quota=40)
    # Only the watchlist is open to fr-ct: the vehicles dataset exists but has no rule.
    rule = owner.config().policy[0]
    owner.rewrite(policy=(dataclasses.replace(rule, datasets=("watchlist",)),))
    owner_runtime = NodeRuntime.open(owner.root)
    service = MatchService(
        owner_runtime.config,
        MemoryDataset("watchlist", OWNER_RECORDS),
        owner_runtime.policy,
        owner_runtime.audit,
        owner_runtime.checkpoints,
        owner_runtime.identity,
    )
    server, port = create_server(owner_runtime.config, owner_runtime.tls, service, port=0)
    server.start()
    introduce(querier, owner, port)
    querier_runtime = NodeRuntime.open(querier.root)
    try:
        yield Pair(owner_runtime, querier_runtime, owner.root, querier.root, server, port)
    finally:
        server.stop(grace=None).wait()
        querier_runtime.close()
        owner_runtime.close()


def _check(pair: Pair, mode: QueryMode = QueryMode.INDEX, **kwargs: object) -> PeerResult:
    purpose = dataclasses.replace(PURPOSE, **kwargs)  # type: ignore[arg-type]
    [result] = pair.querier.querier().check(PROBES, [Target("pl-ct", "watchlist")], purpose, mode)
    return result


@pytest.mark.parametrize("mode", [QueryMode.INDEX, QueryMode.OWNER_MATCH])
def test_hits_and_misses_with_verified_receipts(pair: Pair, mode: QueryMode) -> None:
    result = _check(pair, mode)
    assert result.status == "answered", result.message
    assert [outcome.hit for outcome in result.outcomes] == [True, True, False]
    assert result.outcomes[1].hits[0].kind == "doc"
    assert result.receipt is not None
    assert "tlog-proof" in result.receipt
    owner_kinds = [pair.owner.audit.entry(i).kind for i in range(pair.owner.audit.size)]
    expected = EntryKind.OWNER_MATCH if mode is QueryMode.OWNER_MATCH else EntryKind.CHECK_RECEIVED
    assert expected in owner_kinds
    querier_entries = [pair.querier.audit.entry(i) for i in range(pair.querier.audit.size)]
    assert [e.kind for e in querier_entries][-1] is EntryKind.CHECK_SENT
    assert (querier_entries[-1].hit_count or 0) > 0


def test_index_is_cached_and_resynced_only_by_delta(pair: Pair) -> None:
    assert _check(pair).status == "answered"
    cached = pair.querier.cache.get("pl-ct", "watchlist")
    assert cached is not None
    assert cached.epoch == 1
    assert _check(pair).status == "answered"


def test_refusals_carry_status_and_one_line_reason(pair: Pair) -> None:
    spaced = _check(pair, legal_basis="Article 8 of the directive")
    assert spaced.status == "refused"
    assert "legal basis" in spaced.message
    assert "\n" not in spaced.message
    [other] = pair.querier.querier().check(PROBES, [Target("pl-ct", "vehicles")], PURPOSE)
    assert other.status == "refused"
    assert "not available" in other.message
    # The quota is 40 elements a day: as many whole checks as fit are answered, then refused.
    keys = sum(len(derive_keys(probe).keys) for probe in PROBES)
    statuses = [_check(pair) for _ in range(40 // keys + 1)]
    assert [r.status for r in statuses] == ["answered"] * (40 // keys) + ["refused"]
    assert "quota" in statuses[-1].message


def test_unreachable_owner_is_reported_not_raised(pair: Pair) -> None:
    pair.server.stop(grace=None).wait()
    result = _check(pair)
    assert result.status == "unreachable"


def test_owner_keeps_no_probe_value(pair: Pair) -> None:
    assert _check(pair).status == "answered"
    pair.owner.audit.close()
    pair.owner.policy.close()
    pair.owner.cache.close()
    stored = b"".join(p.read_bytes() for p in pair.owner_dir.glob("node.db*"))
    for needle in ("Usama", "Ladin", "EK-4471902", "4471902", "Dupont", "1970-05-05"):
        assert needle.encode() not in stored
        assert needle.upper().encode() not in stored
    for probe in PROBES:
        for key in derive_keys(probe).keys:
            assert key.value.encode() not in stored


def test_check_command_reports_and_exits_by_outcome(
    pair: Pair, capsys: pytest.CaptureFixture[str]
) -> None:
    common = [
        "check", "--node", str(pair.querier_dir), "--dataset", "watchlist",
        "--officer", "officer-17", "--purpose", "border-check",
        "--legal-basis", "EU-2016/680:Art.8", "--case", "FR-1",
    ]  # fmt: skip
    hit = main([*common, "--name", "Usama bin Ladin", "--dob", "1957-03-10", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert hit == EXIT_HIT
    assert report["probes"][0]["results"][0]["status"] == "hit"
    assert report["peers"][0]["receipt"].startswith("c2sp.org/tlog-proof")
    miss = main([*common, "--name", "Jean Dupont", "--dob", "1970-05-05"])
    assert miss == EXIT_NO_HIT
    assert "0 of 1 probes hit" in capsys.readouterr().out
    manifest = pair.querier_dir / "manifest.csv"
    manifest.write_text(
        "id,name,date_of_birth,document_number,document_issuing_country\n"
        "p1,Jean Dupont,1970-05-05,,\n"
        "p2,,,EK-4471902,POL\n",
        encoding="utf-8",
    )
    assert main([*common, "--manifest", str(manifest), "--csv"]) == EXIT_HIT
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].startswith("p1,pl-ct,watchlist,no hit")
    assert rows[2].startswith("p2,pl-ct,watchlist,hit,doc:strong")
    bad = main([*common, "--manifest", str(pair.querier_dir / "missing.csv")])
    assert bad == 2
    assert "missing.csv" in capsys.readouterr().err


# --- The server never dies of a bad request -----------------------------------------------

_ALLOWED_REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.FAILED_PRECONDITION,
}


def _raw_call(pair: Pair, method: str, payload: bytes) -> grpc.StatusCode:
    channel = grpc.secure_channel(f"127.0.0.1:{pair.port}", pair.querier.tls.channel_credentials())
    try:
        call = MATCH.unary_unary(channel, method, lambda raw: raw, lambda raw: raw)
        try:
            call(payload, timeout=10)
        except grpc.RpcError as error:
            code: grpc.StatusCode = error.code()
            return code
        return grpc.StatusCode.OK
    finally:
        channel.close()


_codes = st.text(alphabet="abcXYZ019-:/ .é", max_size=20)
_requests = st.builds(
    match_pb2.BlindEvaluateRequest,
    context=st.builds(
        common_pb2.RequestContext,
        request_id=st.binary(max_size=20),
        querier_node=st.sampled_from(["fr-ct", "pl-ct", "", "zz-ct"]),
        officer_id=_codes,
        purpose=_codes,
        legal_basis=_codes,
        case_reference=_codes,
        issued_at_ms=st.integers(min_value=-(2**40), max_value=2**42),
    ),
    dataset=st.sampled_from(["watchlist", "vehicles", "", "x" * 300]),
    epoch=st.integers(min_value=0, max_value=2**64 - 1),
    info=st.binary(max_size=8),
    blinded_elements=st.lists(st.binary(min_size=0, max_size=40), max_size=6),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_requests_are_refused_cleanly(pair: Pair, data: st.DataObject) -> None:
    signer = pair.querier.identity
    if data.draw(st.booleans()):
        payload = data.draw(st.binary(max_size=200))
    else:
        body = data.draw(_requests).SerializeToString()
        envelope = seal_envelope(Label.BLIND_EVALUATE_REQUEST, body, "fr-ct", signer)
        if data.draw(st.booleans()):
            envelope.signer = data.draw(st.sampled_from(["pl-ct", "zz-ct", ""]))
        payload = envelope.SerializeToString()
    method = data.draw(st.sampled_from(["BlindEvaluate", "OwnerMatch"]))
    code = _raw_call(pair, method, payload)
    assert code in _ALLOWED_REFUSALS | {grpc.StatusCode.OK}
    # The server is still there and still answers a good check.
    assert _raw_call(pair, "BlindEvaluate", b"") in _ALLOWED_REFUSALS


@pytest.mark.parametrize("payload", [b"", b"\xff\xff\xff"], ids=["empty", "undecodable"])
def test_an_empty_or_undecodable_request_is_named_as_such(pair: Pair, payload: bytes) -> None:
    channel = grpc.secure_channel(f"127.0.0.1:{pair.port}", pair.querier.tls.channel_credentials())
    try:
        call = MATCH.unary_unary(channel, "BlindEvaluate", lambda raw: raw, lambda raw: raw)
        with pytest.raises(grpc.RpcError) as caught:
            call(payload, timeout=10)
    finally:
        channel.close()
    error: grpc.Call = caught.value  # type: ignore[assignment]
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "the request is empty or not a signed envelope" in (error.details() or "")
