"""The fan-out relay of the coordinating node, with real owners in this process.

`FanOutRelay.check` validates the whole request before relaying anything (current members only,
each named once, never the querier, every envelope signed by the querier, purpose fields well
formed), then relays each envelope byte for byte and streams each owner's own signed answer with
a status; each relay is logged with the digest of the querier's signed request.
"""

from __future__ import annotations

import os
import time

import grpc
import pytest
from unit.conftest import HIT_PROBE, PURPOSE, QUERIER, Federation

from crypto.errors import InputError, PeerError
from crypto.oprf import Mode, OprfClient, Suite
from node.audit import Decision, EntryKind
from node.audit.entries import digest_request
from node.transport.envelope import Label, open_envelope, seal_envelope
from proto.blindhit.v1 import common_pb2, federation_pb2, match_pb2
from protocol.match_keys import DEFAULT_PROFILE, derive_keys, oprf_input

BLIND = federation_pb2.RELAYED_METHOD_BLIND_EVALUATE


def _context(legal_basis: str = PURPOSE.legal_basis) -> common_pb2.RequestContext:
    return common_pb2.RequestContext(
        request_id=os.urandom(16), querier_node=QUERIER, officer_id=PURPOSE.officer_id,
        purpose=PURPOSE.purpose, legal_basis=legal_basis, case_reference=PURPOSE.case_reference,
        issued_at_ms=int(time.time() * 1000),
    )  # fmt: skip


def _envelope(
    federation: Federation, *, epoch: int = 1, signer: str = QUERIER, legal_basis: str = ""
) -> bytes:
    inputs = [oprf_input(DEFAULT_PROFILE, "watchlist", k) for k in derive_keys(HIT_PROBE).keys]
    batch = OprfClient(Suite.RISTRETTO255_SHA512, Mode.OPRF).blind_batch(inputs)
    body = match_pb2.BlindEvaluateRequest(
        context=_context(legal_basis or PURPOSE.legal_basis), dataset="watchlist", epoch=epoch,
        blinded_elements=list(batch.blinded_elements),
    )  # fmt: skip
    envelope = seal_envelope(
        Label.BLIND_EVALUATE_REQUEST, body.SerializeToString(), signer, federation.querier.identity
    )
    return envelope.SerializeToString()


def _request(*items: tuple[str, bytes], method: int = BLIND) -> federation_pb2.FanOutRequest:
    return federation_pb2.FanOutRequest(
        requests=[
            federation_pb2.RelayedRequest(member=member, method=method, envelope=envelope)  # type: ignore[arg-type]
            for member, envelope in items
        ],
        deadline_ms=5000,
    )


def _relay(
    federation: Federation, request: federation_pb2.FanOutRequest, querier: str = QUERIER
) -> dict[str, federation_pb2.FanOutAnswer]:
    return {a.member: a for a in federation.services.relay.check(querier, request)}


def test_each_owner_answers_for_itself_and_each_relay_is_logged(federation: Federation) -> None:
    envelopes = {owner: _envelope(federation) for owner in federation.owners}
    answers = _relay(federation, _request(*envelopes.items()))
    assert sorted(answers) == sorted(federation.owners)
    for owner, answer in answers.items():
        assert answer.status == "answered", answer.message
        # The owner's signed answer, as the owner signed it.
        signed = common_pb2.SignedEnvelope.FromString(answer.envelope)
        body = open_envelope(
            Label.BLIND_EVALUATE_RESPONSE, signed,
            {owner: federation.owners[owner].runtime.identity.public_key()},
            expected_signer=owner,
        )  # fmt: skip
        response = match_pb2.BlindEvaluateResponse.FromString(body)
        sent = common_pb2.SignedEnvelope.FromString(envelopes[owner])
        assert (
            response.request_id
            == match_pb2.BlindEvaluateRequest.FromString(sent.body).context.request_id
        )
    log = federation.services.audit
    relayed = [log.entry(i) for i in range(log.size)]
    relayed = [e for e in relayed if e.kind is EntryKind.CHECK_RELAYED]
    assert {(e.relayed_to, e.decision) for e in relayed} == {
        (owner, Decision.ANSWERED) for owner in federation.owners
    }
    digests = {
        digest_request(common_pb2.SignedEnvelope.FromString(e).body) for e in envelopes.values()
    }
    assert {e.request_digest for e in relayed} == digests
    assert all(e.counterpart == QUERIER and e.hit_count is None for e in relayed)


def test_an_owner_down_or_refusing_is_reported_with_its_status(federation: Federation) -> None:
    federation.owners["jo-psd"].stop()
    answers = _relay(
        federation,
        _request(("pl-ct", _envelope(federation, epoch=9)), ("jo-psd", _envelope(federation))),
    )
    assert answers["jo-psd"].status == "unreachable"
    assert answers["jo-psd"].envelope == b""
    assert answers["pl-ct"].status == "denied"
    assert answers["pl-ct"].code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert "epoch" in answers["pl-ct"].message
    log = federation.services.audit
    reasons = {
        (e.relayed_to, e.reason)
        for e in (log.entry(i) for i in range(log.size))
        if e.kind is EntryKind.CHECK_RELAYED
    }
    assert reasons == {("pl-ct", "denied"), ("jo-psd", "unreachable")}


def test_malformed_fan_outs_are_refused_before_anything_is_relayed(
    federation: Federation,
) -> None:
    good = _envelope(federation)
    cases: list[tuple[federation_pb2.FanOutRequest, str]] = [
        (_request(), "the fan-out names no member"),
        (_request(("pl-ct", good), ("pl-ct", good)),
         r"request 2 \(member 'pl-ct'\): the member is named twice"),
        (_request((QUERIER, good)), "not a current member to relay to"),
        (_request(("xx-nobody", good)), "not a current member to relay to"),
        (_request(("pl-ct", good), method=0), "unknown method"),
        (_request(("pl-ct", b"\xff\x00not protobuf")), "not a signed request"),
        (_request(("pl-ct", _envelope(federation, signer="pl-ct"))),
         "signed by another node than the one connected"),
        (_request(("pl-ct", _envelope(federation, legal_basis="Article 8 here"))), "legal basis"),
    ]  # fmt: skip
    for request, message in cases:
        with pytest.raises(InputError, match=message):
            _relay(federation, request)
    log = federation.services.audit
    assert not [i for i in range(log.size) if log.entry(i).kind is EntryKind.CHECK_RELAYED]


def test_only_a_current_member_may_ask(federation: Federation) -> None:
    with pytest.raises(PeerError, match=r"^node xx-nobody is not a current member$"):
        _relay(federation, _request(("pl-ct", _envelope(federation))), querier="xx-nobody")
