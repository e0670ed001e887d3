"""The querier's peer client against an owner served in this process (tests/unit/conftest.py).

Signed requests out, verified answers in: an answer verifies under the peer's identity key from
node.toml and echoes the request id; an answer signed by another key is refused; a peer that is
down is `PeerUnavailable`; a refusal keeps the owner's status and one-line reason.
"""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from unit.conftest import HIT_PROBE, PURPOSE, Pair, purpose

from crypto.errors import PeerError
from crypto.oprf import Mode, OprfClient, Suite
from crypto.signed_note import Ed25519Signer
from node.audit import EntryKind
from node.audit.entries import digest_request
from node.querier.peer_client import PeerClient, PeerRefused, PeerUnavailable
from node.transport.envelope import Label, open_envelope
from proto.blindhit.v1 import common_pb2
from protocol.match_index import decode_index
from protocol.match_keys import DEFAULT_PROFILE, derive_keys, oprf_input


def _client(pair: Pair, **peer_changes: object) -> PeerClient:
    runtime = pair.querier
    peer = runtime.config.peer("pl-ct")
    assert peer is not None
    peer = dataclasses.replace(peer, **peer_changes)  # type: ignore[arg-type]
    return PeerClient(runtime.config.node.id, runtime.identity, runtime.tls, peer,
                      runtime.config.limits)  # fmt: skip


def _blinded(count: int = 2) -> list[bytes]:
    inputs = [
        oprf_input(DEFAULT_PROFILE, "watchlist", key) for key in derive_keys(HIT_PROBE).keys[:count]
    ]
    return list(
        OprfClient(Suite.RISTRETTO255_SHA512, Mode.OPRF).blind_batch(inputs).blinded_elements
    )


def test_a_signed_request_gets_a_verified_answer_the_owner_logged(memory_pair: Pair) -> None:
    with _client(memory_pair) as client:
        header, payload = client.sync_index("watchlist", 0, PURPOSE)
        assert header.epoch == 1
        assert len(payload) == header.payload_length > 0
        assert len(decode_index(payload, max_count=1000)) > 0  # the wire form decodes
        elements = _blinded()
        response, signed, body = client.blind_evaluate("watchlist", header.epoch, elements, PURPOSE)
    assert len(response.evaluated_elements) == len(elements)
    # The evidence kept is the owner's signed envelope, which verifies on its own.
    assert signed.body == open_envelope(
        Label.BLIND_EVALUATE_RESPONSE,
        common_pb2.SignedEnvelope.FromString(signed.envelope),
        {"pl-ct": memory_pair.owner.runtime.identity.public_key()},
        expected_signer="pl-ct",
    )
    assert body == client.last_sent
    # The owner logged exactly the request the querier signed (same digest).
    audit = memory_pair.owner.runtime.audit
    entry = audit.entry(audit.size - 1)
    assert entry.kind is EntryKind.CHECK_RECEIVED
    assert entry.counterpart == "fr-ct"
    assert entry.element_count == len(elements)
    assert entry.request_digest == digest_request(body)


def test_an_answer_signed_by_another_key_is_refused(memory_pair: Pair) -> None:
    impostor = Ed25519Signer.generate("pl-ct").verifier()
    with _client(memory_pair, identity_key=impostor) as client:
        header, _ = client.sync_index("watchlist", 0, PURPOSE)
        with pytest.raises(PeerError, match="signature of the message does not verify"):
            client.blind_evaluate("watchlist", header.epoch, _blinded(), PURPOSE)


def test_a_peer_that_is_down_is_unavailable_and_named(memory_pair: Pair) -> None:
    memory_pair.owner.stop()
    with (
        _client(memory_pair) as client,
        pytest.raises(PeerUnavailable, match=r"^peer pl-ct is unreachable: "),
    ):
        client.blind_evaluate("watchlist", 1, _blinded(), PURPOSE)


def test_a_refusal_keeps_the_owners_status_and_reason(memory_pair: Pair) -> None:
    with _client(memory_pair) as client:
        with pytest.raises(PeerRefused, match=r"^peer pl-ct refused: .*legal basis") as caught:
            client.blind_evaluate(
                "watchlist", 1, _blinded(), purpose(legal_basis="Article 8 of the directive")
            )
        assert caught.value.status is grpc.StatusCode.INVALID_ARGUMENT
        assert "\n" not in str(caught.value)
        with pytest.raises(PeerRefused, match="vehicles is not available") as other:
            client.blind_evaluate("vehicles", 1, _blinded(), PURPOSE)
        assert other.value.status is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(PeerRefused, match="epoch") as stale:
            client.blind_evaluate("watchlist", 7, _blinded(), PURPOSE)
        assert stale.value.status is grpc.StatusCode.FAILED_PRECONDITION
