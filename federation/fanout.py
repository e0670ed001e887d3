"""Fan-out: one check from a querier relayed in parallel to every member it names.

The querier builds one signed request per member itself (each with its own blinds and request
id) and hands them over in one `FanOut.Check` call. The coordinating node relays each envelope
byte for byte to the member's Match service over its own mutual-TLS channel, with a deadline,
and streams each member's signed answer back as soon as it arrives, with a status: `answered`,
`denied` (the member refused: policy, quota, stale epoch...), `timed_out`, `unreachable`, or
`failed`. A slow or dead member holds up nobody else: every relay runs on its own thread and the
stream yields in order of arrival.

What the coordinating node sees is what docs/promises.md allows it to see: who asks, why
(the request context is signed, not encrypted), how many elements, which members answered and
when. The elements are blinded, so no probe; the answers are evaluated blinded elements, so no
outcome; and both are signed end to end, so it can neither forge nor alter them. Each relay is
logged in the coordinating node's own audit log (`check_relayed`, with the digest of the
querier's signed request, the same digest the owner logs).

Before relaying, the coordinating node checks what it can check without any key of the members:
the querier is a current member (its mTLS certificate), each target is a current member other
than the querier, each envelope was signed by the querier (so no member can make it relay
another's requests), and a request names each member at most once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import grpc
from google.protobuf.message import DecodeError

from crypto.errors import InputError, PeerError
from node.audit import AuditEntry, AuditLog, Decision, EntryKind
from node.audit.entries import digest_request
from node.keys.tls import TlsCredentials
from node.transport.rpc import RECONNECT_OPTIONS
from node.transport.wire import purpose_fields
from proto.blindhit.v1 import common_pb2, federation_pb2, match_pb2
from proto.services import MATCH
from protocol.admission import check_purpose_fields
from protocol.validation import HostPort

__all__ = ["MAX_DEADLINE_MS", "FanOutRelay", "MemberEndpoint"]

MAX_DEADLINE_MS: Final = 30_000
"""The longest deadline a querier may ask for one member."""
MAX_MEMBERS: Final = 512
MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024

_METHODS: Final[
    dict[int, tuple[str, type[match_pb2.BlindEvaluateRequest | match_pb2.OwnerMatchRequest]]]
] = {
    federation_pb2.RELAYED_METHOD_BLIND_EVALUATE: (
        MATCH.method("BlindEvaluate").name,
        match_pb2.BlindEvaluateRequest,
    ),
    federation_pb2.RELAYED_METHOD_OWNER_MATCH: (
        MATCH.method("OwnerMatch").name,
        match_pb2.OwnerMatchRequest,
    ),
}
_DENIED: Final = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.FAILED_PRECONDITION,
    }
)


@dataclass(frozen=True)
class MemberEndpoint:
    """Where a current member listens."""

    member: str
    endpoint: HostPort


def _identity(data: bytes) -> bytes:
    return data


@dataclass(frozen=True)
class _Relay:
    member: str
    # The owner's Match method the envelope goes to.
    method: str
    envelope: bytes
    signed_body: bytes
    context: common_pb2.RequestContext
    dataset: str
    elements: int


class FanOutRelay:
    """Relays signed requests to members; one channel per member, reused."""

    def __init__(
        self,
        node_id: str,
        tls: TlsCredentials,
        members: Callable[[], Sequence[MemberEndpoint]],
        audit: AuditLog,
        *,
        workers: int = 64,
    ) -> None:
        self._node_id = node_id
        self._tls = tls
        self._members = members
        self._audit = audit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout")
        self._channels: dict[tuple[str, str], grpc.Channel] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()

    def channel(self, member: MemberEndpoint) -> grpc.Channel:
        """The channel to `member` (opened once; replaced if its endpoint changed)."""
        key = (member.member, str(member.endpoint))
        with self._lock:
            channel = self._channels.get(key)
            if channel is None:
                stale = [k for k in self._channels if k[0] == member.member]
                for old in stale:
                    self._channels.pop(old).close()
                channel = grpc.secure_channel(
                    str(member.endpoint),
                    self._tls.channel_credentials(),
                    options=[
                        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                        *RECONNECT_OPTIONS,
                    ],
                )
                self._channels[key] = channel
            return channel

    def endpoints(self) -> dict[str, MemberEndpoint]:
        return {m.member: m for m in self._members()}

    def check(
        self, querier: str, request: federation_pb2.FanOutRequest
    ) -> Iterator[federation_pb2.FanOutAnswer]:
        """Validate the whole request, then relay; the answers come as each member answers.

        Raises:
            InputError: the request as a whole is malformed (nothing is relayed).
        """
        relays = self._validate(querier, request)
        deadline = min(request.deadline_ms or 10_000, MAX_DEADLINE_MS) / 1000
        endpoints = self.endpoints()
        answers: queue.SimpleQueue[federation_pb2.FanOutAnswer] = queue.SimpleQueue()
        for relay in relays:
            self._pool.submit(self._relay_one, endpoints[relay.member], relay, deadline, answers)
        return (answers.get() for _ in relays)

    def _validate(self, querier: str, request: federation_pb2.FanOutRequest) -> list[_Relay]:
        if not request.requests:
            raise InputError("the fan-out names no member")
        if len(request.requests) > MAX_MEMBERS:
            raise InputError(f"a fan-out may name at most {MAX_MEMBERS} members")
        members = self.endpoints()
        if querier not in members:
            raise PeerError(f"node {querier} is not a current member")
        relays: list[_Relay] = []
        seen: set[str] = set()
        for number, item in enumerate(request.requests, start=1):
            where = f"request {number} (member {item.member!r:.70})"
            if item.member in seen:
                raise InputError(f"{where}: the member is named twice")
            seen.add(item.member)
            if item.member == querier or item.member not in members:
                raise InputError(f"{where}: not a current member to relay to")
            method = _METHODS.get(item.method)
            if method is None:
                raise InputError(f"{where}: unknown method")
            name, message = method
            try:
                envelope = common_pb2.SignedEnvelope.FromString(item.envelope)
                body: Any = message.FromString(envelope.body)
            except DecodeError:
                raise InputError(f"{where}: not a signed request") from None
            if envelope.signer != querier:
                raise InputError(f"{where}: signed by another node than the one connected")
            try:
                check_purpose_fields(purpose_fields(body.context), querier)
            except PeerError as error:
                raise InputError(f"{where}: {error}") from None
            count = len(body.tags if name == "OwnerMatch" else body.blinded_elements)
            relays.append(
                _Relay(item.member, name, item.envelope, envelope.body, body.context,
                       body.dataset, count)
            )  # fmt: skip
        return relays

    def sync(
        self, querier: str, request: federation_pb2.RelayedSync, deadline: float
    ) -> Iterator[bytes]:
        """Relay an index sync to one member (validated first); its serialised chunks stream."""
        members = self.endpoints()
        if querier not in members:
            raise PeerError(f"node {querier} is not a current member")
        if request.member == querier or request.member not in members:
            raise InputError(f"{request.member!r:.70} is not a current member to relay to")
        try:
            envelope = common_pb2.SignedEnvelope.FromString(request.envelope)
            body = match_pb2.IndexRequest.FromString(envelope.body)
        except DecodeError:
            raise InputError("the relayed sync is not a signed index request") from None
        if envelope.signer != querier:
            raise InputError("the relayed sync is signed by another node than the one connected")
        try:
            check_purpose_fields(purpose_fields(body.context), querier)
        except PeerError as error:
            raise InputError(str(error)) from None
        call = MATCH.unary_stream(
            self.channel(members[request.member]), "SyncIndex", _identity, _identity
        )
        return (bytes(chunk) for chunk in call(request.envelope, timeout=deadline))

    def _relay_one(
        self,
        member: MemberEndpoint,
        relay: _Relay,
        deadline: float,
        answers: queue.SimpleQueue[federation_pb2.FanOutAnswer],
    ) -> None:
        start = time.perf_counter()
        answer = federation_pb2.FanOutAnswer(member=relay.member)
        try:
            call = MATCH.unary_unary(self.channel(member), relay.method, _identity, _identity)
            answer.envelope = call(relay.envelope, timeout=deadline)
            answer.status = "answered"
        except grpc.RpcError as error:
            failed: Any = error
            code = failed.code() if hasattr(failed, "code") else grpc.StatusCode.UNKNOWN
            answer.code = code.value[0]
            answer.message = (failed.details() if hasattr(failed, "details") else "") or ""
            answer.status = (
                "timed_out" if code is grpc.StatusCode.DEADLINE_EXCEEDED
                else "unreachable" if code is grpc.StatusCode.UNAVAILABLE
                else "denied" if code in _DENIED
                else "failed"
            )  # fmt: skip
        except Exception as error:  # one member's fault must not lose the others' answers
            answer.status = "failed"
            answer.message = f"relay failed: {type(error).__name__}"
        answer.milliseconds = int((time.perf_counter() - start) * 1000)
        try:
            self._log(relay, answer)
        except Exception as error:  # reported to the querier, never swallowed
            answer.status = "failed"
            answer.envelope = b""
            answer.message = f"the coordinating node could not log the relay: {error}"
        answers.put(answer)

    def _log(self, relay: _Relay, answer: federation_pb2.FanOutAnswer) -> None:
        context = relay.context
        self._audit.append(
            AuditEntry(
                kind=EntryKind.CHECK_RELAYED,
                time=datetime.now(UTC),
                node=self._node_id,
                officer=_code_or_none(context.officer_id),
                counterpart=context.querier_node,
                relayed_to=relay.member,
                dataset=_code_or_none(relay.dataset),
                element_count=relay.elements,
                purpose=_code_or_none(context.purpose),
                legal_basis=_code_or_none(context.legal_basis),
                case_reference=_code_or_none(context.case_reference),
                request_digest=digest_request(relay.signed_body),
                decision=Decision.ANSWERED if answer.status == "answered" else Decision.FAILED,
                reason=None if answer.status == "answered" else answer.status,
            )
        )


def _code_or_none(value: str) -> str | None:
    return value or None
