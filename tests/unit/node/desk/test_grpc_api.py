"""`blindhit.v1.Checks` served in this process with TLS, against a federation in this process.

A system's check streams one answer per member; a partner's screening answers refer or
no_action only; no token, a wrong one, a role that may not call, and undecodable bytes get
their statuses with one-line messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct
from unit.conftest import HIT_PROBE, MISS_PROBE, OWNERS, Federation

from node.desk.checks import CheckDesk
from node.desk.clients import ClientStore, Role
from node.desk.grpc_api import create_checks_server
from node.desk.referrals import ReferralStore
from node.desk.service import DeskService
from proto.blindhit.v1 import checks_pb2
from proto.services import CHECKS

OWNER_IDS = sorted(owner for owner, _ in OWNERS)


class _Desk:
    def __init__(self, channel: grpc.Channel, service: DeskService) -> None:
        self.service = service
        self.check = CHECKS.unary_stream(
            channel, "Check", checks_pb2.CheckRequest.SerializeToString,
            checks_pb2.MemberAnswer.FromString,
        )  # fmt: skip
        self.screen = CHECKS.unary_unary(
            channel, "Screen", checks_pb2.ScreenRequest.SerializeToString,
            checks_pb2.ScreenResponse.FromString,
        )  # fmt: skip
        self.raw: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            CHECKS.path("Screen"),
            request_serializer=lambda body: body,
            response_deserializer=lambda body: body,
        )


@pytest.fixture
def desk(federation: Federation) -> Iterator[_Desk]:
    runtime = federation.querier
    database = runtime.config.node.database
    core = CheckDesk(runtime.querier(), runtime.config.peers, runtime.config.node.id)
    clients, referrals = ClientStore(database), ReferralStore(database)
    service = DeskService(core, clients, referrals, runtime.audit, runtime.config.node.id)
    server, port = create_checks_server(service, runtime.tls)
    server.start()
    # The client trusts the federation CA that issued the node's certificate.
    credentials = grpc.ssl_channel_credentials(root_certificates=runtime.tls.root_certificates)
    channel = grpc.secure_channel(f"localhost:{port}", credentials)
    try:
        yield _Desk(channel, service)
    finally:
        channel.close()
        server.stop(None).wait()
        core.close()
        clients.close()
        referrals.close()


def _struct(fields: dict[str, object]) -> Struct:
    struct = Struct()
    struct.update(cast("dict[str, Any]", fields))
    return struct


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def test_a_systems_check_streams_one_answer_per_member(desk: _Desk) -> None:
    _, token = desk.service.clients.add("border-cdg", Role.SYSTEM)
    request = checks_pb2.CheckRequest(
        probes=[_struct(HIT_PROBE), _struct(MISS_PROBE)], purpose="border-check",
        legal_basis="EU-2016/680:Art.8", case_reference="FR-2026-0117",
    )  # fmt: skip
    answers = list(desk.check(request, metadata=_bearer(token), timeout=30))
    assert sorted(a.member for a in answers) == OWNER_IDS
    for answer in answers:
        assert answer.status == "answered"
        (dataset,) = answer.datasets
        assert [p.hit for p in dataset.probes] == [True, False]
        assert {k.strength for k in dataset.probes[0].keys} <= {"strong", "medium", "weak"}
        assert all(len(k.match_reference) == 32 for k in dataset.probes[0].keys)


def test_a_partner_screens_and_learns_refer_only(desk: _Desk) -> None:
    _, token = desk.service.clients.add(
        "airline-lh", Role.PARTNER, purpose="carrier-screening", legal_basis="EU-2016/681"
    )
    request = checks_pb2.ScreenRequest(
        travellers=[
            checks_pb2.Traveller(reference="PNR-1", fields=_struct(MISS_PROBE)),
            checks_pb2.Traveller(reference="PNR-2", fields=_struct(HIT_PROBE)),
        ]
    )
    response = desk.screen(request, metadata=_bearer(token), timeout=30)
    assert response.complete
    assert [(t.reference, t.outcome) for t in response.travellers] == [
        ("PNR-1", "no_action"), ("PNR-2", "refer"),
    ]  # fmt: skip
    assert response.travellers[1].referral.startswith("R-")
    assert response.travellers[0].referral == ""
    with pytest.raises(grpc.RpcError) as refused:
        list(desk.check(checks_pb2.CheckRequest(probes=[_struct(HIT_PROBE)]),
                        metadata=_bearer(token), timeout=30))  # fmt: skip
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "partners screen travellers instead" in (refused.value.details() or "")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ((), "no bearer token"),
        ((("authorization", "Bearer bhd_not-a-token"),), "not one of this desk's clients"),
        ((("authorization", "Basic dXNlcjpwYXNz"),), "no bearer token"),
    ],
)
def test_no_token_or_a_wrong_one_is_unauthenticated(
    desk: _Desk, metadata: tuple[tuple[str, str], ...], message: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        desk.screen(checks_pb2.ScreenRequest(), metadata=metadata, timeout=10)
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert message in (refused.value.details() or "")
    with pytest.raises(grpc.RpcError) as streamed:
        list(desk.check(checks_pb2.CheckRequest(), metadata=metadata, timeout=10))
    assert streamed.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_bad_requests_are_invalid_arguments(desk: _Desk) -> None:
    _, token = desk.service.clients.add("border-cdg", Role.SYSTEM)
    _, partner = desk.service.clients.add(
        "airline-lh", Role.PARTNER, purpose="carrier-screening", legal_basis="EU-2016/681"
    )
    with pytest.raises(grpc.RpcError) as undecodable:
        desk.raw(b"\xff\xff\xff", metadata=_bearer(partner), timeout=10)
    assert undecodable.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "does not decode" in (undecodable.value.details() or "")
    with pytest.raises(grpc.RpcError) as empty:
        list(desk.check(checks_pb2.CheckRequest(purpose="border-check",
             legal_basis="EU-2016/680:Art.8", case_reference="c-1"),
             metadata=_bearer(token), timeout=10))  # fmt: skip
    assert empty.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "expected 1 to 1000 probes" in (empty.value.details() or "")
    with pytest.raises(grpc.RpcError) as mode:
        list(desk.check(checks_pb2.CheckRequest(probes=[_struct(HIT_PROBE)], mode="fast"),
             metadata=_bearer(token), timeout=10))  # fmt: skip
    assert mode.value.code() is grpc.StatusCode.INVALID_ARGUMENT
