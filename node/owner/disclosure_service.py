"""The member node's gRPC Disclosure service: requests in, decisions and sealed releases out.

The same steps as the Match service (`node.owner.match_service`): the peer from its mTLS
certificate, the request signed by that peer, its purpose fields well formed; then the owner's desk
(`node.owner.disclosure_desk.OwnerDesk`) does the work and appends the audit entry before anything
is answered; the answer is signed by this node and carries a receipt for that entry. A disclosure
request is also fresh and new (the policy's replay and freshness checks, charged zero elements
of the quota: requests are few and each is decided by a person or a logged rule).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import grpc
from google.protobuf.message import DecodeError

from crypto.errors import PeerError
from node.config import NodeConfig
from node.owner.disclosure_desk import OwnerDesk, Refusal
from node.owner.match_service import MatchService
from node.owner.policy import PolicyEngine
from node.transport.envelope import Label
from node.transport.rpc import rpc
from node.transport.wire import from_ms, purpose_fields, to_ms
from proto.blindhit.v1 import common_pb2, disclosure_pb2
from protocol.admission import check_fresh, check_purpose_fields

__all__ = ["DisclosureService"]


class DisclosureService:
    """RequestDisclosure and FetchRelease for this node's datasets."""

    def __init__(
        self, config: NodeConfig, match: MatchService, desk: OwnerDesk, policy: PolicyEngine
    ) -> None:
        self._config = config
        self._match = match
        self._desk = desk
        self._policy = policy

    @rpc
    def RequestDisclosure(  # noqa: N802 (the name is fixed by the service definition)
        self, raw: bytes, context: grpc.ServicerContext
    ) -> common_pb2.SignedEnvelope:
        peer, body = self._match.open_request(Label.DISCLOSURE_REQUEST, raw, context)
        request = _decode(disclosure_pb2.DisclosureRequest, body)
        check_purpose_fields(purpose_fields(request.context), peer)
        if self._config.rule_for(peer, request.dataset) is not None:
            now = datetime.now(UTC)
            check_fresh(from_ms(request.context.issued_at_ms), now)
            self._policy.remember(peer, request.context.request_id, now)
        try:
            received, index = self._desk.receive(peer, body, request)
        except Refusal as refusal:
            raise refusal.error from None
        ack = disclosure_pb2.DisclosureAck(
            request_id=received.request_id,
            state=received.state.value,
            due_at_ms=to_ms(received.due_at),
            receipt=self._match.receipt(index),
        )
        return self._match.seal(Label.DISCLOSURE_ACK, ack.SerializeToString())

    @rpc
    def FetchRelease(  # noqa: N802
        self, raw: bytes, context: grpc.ServicerContext
    ) -> common_pb2.SignedEnvelope:
        peer, body = self._match.open_request(Label.FETCH_REQUEST, raw, context)
        request = _decode(disclosure_pb2.FetchRequest, body)
        check_purpose_fields(purpose_fields(request.context), peer)
        answer, index = self._desk.fetch(peer, body, request)
        if index is not None:
            answer.receipt.CopyFrom(self._match.receipt(index))
        return self._match.seal(Label.FETCH_RESPONSE, answer.SerializeToString())


_Message = TypeVar("_Message", disclosure_pb2.DisclosureRequest, disclosure_pb2.FetchRequest)


def _decode(message: type[_Message], body: bytes) -> _Message:
    try:
        return message.FromString(body)
    except DecodeError:
        raise PeerError("the signed request does not decode") from None
