"""The querier's connection to one peer: signed requests out, verified answers in.

`PeerClient` speaks the Match, Disclosure and Audit services over mutual TLS. Every request is
signed with this node's identity key (`node.transport.envelope`); every answer must be signed by
the peer's identity key as listed in `[[peers]]` and must echo the request id, so neither a relay
nor a wrong server can forge or replay it. The Audit service's answers are checkpoints signed by
the same key and RFC 9162 proofs, each verified before it is returned. Each call has a deadline;
transport failures become `PeerUnavailable` with the peer named, and refusals keep the peer's
one-line reason and status.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf.message import DecodeError

from crypto import merkle
from crypto.errors import PeerError
from crypto.merkle import LeafHash
from crypto.signed_note import Checkpoint, open_checkpoint
from node.config import Limits
from node.keys.tls import TlsCredentials
from node.transport.envelope import Label, open_envelope, seal_envelope
from node.transport.rpc import RECONNECT_OPTIONS
from proto.blindhit.v1 import audit_pb2, common_pb2, disclosure_pb2, match_pb2
from proto.services import AUDIT, DISCLOSURE, MATCH
from protocol.check import RequestPurpose
from protocol.directory import Peer

__all__ = ["PeerClient", "PeerRefused", "PeerUnavailable"]

"""Reconnection backoff of every channel to another node. gRPC's default grows to two minutes,
so a peer that restarted would stay unreachable long after it is back; five seconds at most."""


class PeerUnavailable(PeerError):
    """The peer could not be reached in time (down, unreachable, deadline exceeded)."""


class PeerRefused(PeerError):
    """The peer answered with an error status; `status` keeps its code."""

    def __init__(self, message: str, status: grpc.StatusCode) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SignedAnswer:
    """A verified answer and the exact signed bytes, kept as evidence."""

    body: bytes
    envelope: bytes


class PeerClient:
    """One mutual-TLS channel to a peer's Match service."""

    def __init__(
        self,
        node_id: str,
        identity: Ed25519PrivateKey,
        tls: TlsCredentials,
        peer: Peer,
        limits: Limits,
    ) -> None:
        self.peer = peer
        self._node_id = node_id
        self._identity = identity
        self._limits = limits
        # The signed body of the latest request, kept so that a refused request can be logged
        # with the same digest the owner logs (`node.audit.entries.digest_request` of it).
        self.last_sent = b""
        self._trusted = {peer.id: Ed25519PublicKey.from_public_bytes(peer.identity_key.public_key)}
        self._channel = grpc.secure_channel(
            str(peer.endpoint),
            tls.channel_credentials(),
            options=[
                ("grpc.max_receive_message_length", limits.max_message_bytes),
                ("grpc.max_send_message_length", limits.max_message_bytes),
                *RECONNECT_OPTIONS,
            ],
        )
        serialize = common_pb2.SignedEnvelope.SerializeToString
        answer = common_pb2.SignedEnvelope.FromString
        channel = self._channel
        self._sync = MATCH.unary_stream(
            channel, "SyncIndex", serialize, match_pb2.IndexChunk.FromString
        )
        self._evaluate = MATCH.unary_unary(channel, "BlindEvaluate", serialize, answer)
        self._owner_match = MATCH.unary_unary(channel, "OwnerMatch", serialize, answer)
        self._request_disclosure = DISCLOSURE.unary_unary(
            channel, "RequestDisclosure", serialize, answer
        )
        self._fetch_release = DISCLOSURE.unary_unary(channel, "FetchRelease", serialize, answer)
        self._checkpoint = AUDIT.unary_unary(
            channel,
            "GetCheckpoint",
            audit_pb2.CheckpointRequest.SerializeToString,
            audit_pb2.CheckpointResponse.FromString,
        )
        self._inclusion = AUDIT.unary_unary(
            channel,
            "GetInclusionProof",
            audit_pb2.InclusionProofRequest.SerializeToString,
            audit_pb2.InclusionProofResponse.FromString,
        )
        self._consistency = AUDIT.unary_unary(
            channel,
            "GetConsistencyProof",
            audit_pb2.ConsistencyProofRequest.SerializeToString,
            audit_pb2.ConsistencyProofResponse.FromString,
        )

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _context(self, purpose: RequestPurpose) -> common_pb2.RequestContext:
        return common_pb2.RequestContext(
            request_id=os.urandom(16),
            querier_node=self._node_id,
            officer_id=purpose.officer_id,
            purpose=purpose.purpose,
            legal_basis=purpose.legal_basis,
            case_reference=purpose.case_reference,
            issued_at_ms=int(time.time() * 1000),
        )

    def _sealed(self, label: Label, body: bytes) -> common_pb2.SignedEnvelope:
        envelope = seal_envelope(label, body, self._node_id, self._identity)
        self.last_sent = body
        return envelope

    def _failure(self, error: grpc.RpcError) -> PeerError:
        # The errors gRPC raises are also grpc.Call objects, which the type stubs cannot express.
        call: Any = error
        code = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
        details = (call.details() if hasattr(call, "details") else None) or "no detail"
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return PeerUnavailable(f"peer {self.peer.id} is unreachable: {details}")
        return PeerRefused(f"peer {self.peer.id} refused: {details}", code)

    def _open_answer(self, label: Label, envelope: common_pb2.SignedEnvelope) -> SignedAnswer:
        body = open_envelope(label, envelope, self._trusted, expected_signer=self.peer.id)
        return SignedAnswer(body, envelope.SerializeToString())

    def sync_index(
        self, dataset: str, have_epoch: int, purpose: RequestPurpose
    ) -> tuple[match_pb2.IndexHeader, bytes]:
        """Fetch the peer's index of `dataset`: a delta from `have_epoch`, or the full index."""
        request = match_pb2.IndexRequest(
            context=self._context(purpose), dataset=dataset, have_epoch=have_epoch
        )
        envelope = self._sealed(Label.INDEX_REQUEST, request.SerializeToString())
        header: match_pb2.IndexHeader | None = None
        parts: list[bytes] = []
        received = 0
        try:
            for chunk in self._sync(envelope, timeout=self._limits.sync_deadline_seconds):
                if chunk.HasField("header"):
                    if header is not None:
                        raise PeerError(f"peer {self.peer.id} sent two index headers")
                    header = chunk.header
                    continue
                if header is None:
                    raise PeerError(f"peer {self.peer.id} sent index data before its header")
                received += len(chunk.payload)
                if received > header.payload_length:
                    raise PeerError(f"peer {self.peer.id} sent more index data than announced")
                parts.append(chunk.payload)
        except grpc.RpcError as error:
            raise self._failure(error) from None
        if header is None or received != header.payload_length:
            raise PeerError(f"peer {self.peer.id} sent an incomplete index")
        return header, b"".join(parts)

    def blind_evaluate(
        self,
        dataset: str,
        epoch: int,
        elements: Sequence[bytes],
        purpose: RequestPurpose,
        info: bytes = b"",
    ) -> tuple[match_pb2.BlindEvaluateResponse, SignedAnswer, bytes]:
        """Send blinded elements; return the verified answer, its evidence and the signed body."""
        request = match_pb2.BlindEvaluateRequest(
            context=self._context(purpose),
            dataset=dataset,
            epoch=epoch,
            info=info,
            blinded_elements=list(elements),
        )
        envelope = self._sealed(Label.BLIND_EVALUATE_REQUEST, request.SerializeToString())
        try:
            answer = self._evaluate(envelope, timeout=self._limits.deadline_seconds)
        except grpc.RpcError as error:
            raise self._failure(error) from None
        signed = self._open_answer(Label.BLIND_EVALUATE_RESPONSE, answer)
        response = _decode_answer(match_pb2.BlindEvaluateResponse, signed.body, self.peer.id)
        _check_echo(response.request_id, request.context.request_id, self.peer.id)
        return response, signed, envelope.body

    def owner_match(
        self, dataset: str, epoch: int, tags: Sequence[bytes], purpose: RequestPurpose
    ) -> tuple[match_pb2.OwnerMatchResponse, SignedAnswer, bytes]:
        """Send finalised tags (owner-match mode); return the verified per-tag answer."""
        request = match_pb2.OwnerMatchRequest(
            context=self._context(purpose), dataset=dataset, epoch=epoch, tags=list(tags)
        )
        envelope = self._sealed(Label.OWNER_MATCH_REQUEST, request.SerializeToString())
        try:
            answer = self._owner_match(envelope, timeout=self._limits.deadline_seconds)
        except grpc.RpcError as error:
            raise self._failure(error) from None
        signed = self._open_answer(Label.OWNER_MATCH_RESPONSE, answer)
        response = _decode_answer(match_pb2.OwnerMatchResponse, signed.body, self.peer.id)
        _check_echo(response.request_id, request.context.request_id, self.peer.id)
        return response, signed, envelope.body

    def request_disclosure(
        self, request: disclosure_pb2.DisclosureRequest
    ) -> tuple[disclosure_pb2.DisclosureAck, SignedAnswer, bytes]:
        """File a disclosure request (its context already set); return the owner's signed ack."""
        envelope = self._sealed(Label.DISCLOSURE_REQUEST, request.SerializeToString())
        try:
            answer = self._request_disclosure(envelope, timeout=self._limits.deadline_seconds)
        except grpc.RpcError as error:
            raise self._failure(error) from None
        signed = self._open_answer(Label.DISCLOSURE_ACK, answer)
        ack = _decode_answer(disclosure_pb2.DisclosureAck, signed.body, self.peer.id)
        _check_echo(ack.request_id, request.context.request_id, self.peer.id)
        return ack, signed, envelope.body

    def fetch_release(
        self, request_id: bytes, purpose: RequestPurpose
    ) -> tuple[disclosure_pb2.FetchResponse, SignedAnswer, bytes]:
        """Ask where disclosure request `request_id` stands; the release comes once approved."""
        request = disclosure_pb2.FetchRequest(
            context=self._context(purpose), disclosure_request_id=request_id
        )
        envelope = self._sealed(Label.FETCH_REQUEST, request.SerializeToString())
        try:
            answer = self._fetch_release(envelope, timeout=self._limits.deadline_seconds)
        except grpc.RpcError as error:
            raise self._failure(error) from None
        signed = self._open_answer(Label.FETCH_RESPONSE, answer)
        response = _decode_answer(disclosure_pb2.FetchResponse, signed.body, self.peer.id)
        _check_echo(response.disclosure_request_id, request_id, self.peer.id)
        return response, signed, envelope.body

    def audit_checkpoint(self) -> tuple[Checkpoint, str]:
        """The peer's latest checkpoint and its note, verified: signed by the peer's identity
        key, with the peer as its origin.

        Raises:
            PeerUnavailable, PeerRefused: the call failed.
            InvalidEncoding, InvalidSignature: the note is malformed or not the peer's.
        """
        try:
            answer = self._checkpoint(
                audit_pb2.CheckpointRequest(), timeout=self._limits.deadline_seconds
            )
        except grpc.RpcError as error:
            raise self._failure(error) from None
        checkpoint = open_checkpoint(answer.checkpoint, self.peer.identity_key, origin=self.peer.id)
        return checkpoint, answer.checkpoint

    def audit_inclusion(self, index: int, leaf: LeafHash, checkpoint: Checkpoint) -> list[bytes]:
        """Check that the peer's log holds leaf `leaf` (a receipt's entry) at `index` in the
        tree of `checkpoint` (verified by `audit_checkpoint`); return the proof.

        Raises:
            PeerUnavailable, PeerRefused: the call failed.
            PeerError: the peer's log holds another entry at `index`.
            InvalidProof: the proof does not lead to the checkpoint's root (RFC 9162 §2.1.3.2).
        """
        request = audit_pb2.InclusionProofRequest(entry_index=index, tree_size=checkpoint.size)
        try:
            answer = self._inclusion(request, timeout=self._limits.deadline_seconds)
        except grpc.RpcError as error:
            raise self._failure(error) from None
        if answer.leaf_hash != leaf:
            raise PeerError(f"the log of peer {self.peer.id} holds another entry at {index}")
        proof = list(answer.proof)
        merkle.verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root_hash)
        return proof

    def audit_consistency(self, old: Checkpoint, new: Checkpoint) -> list[bytes]:
        """Check that the peer's tree of `new` extends its tree of `old` (both verified by
        `audit_checkpoint` or taken from receipts); return the proof.

        Raises:
            PeerUnavailable, PeerRefused: the call failed.
            InvalidProof: the proof does not verify (RFC 9162 §2.1.4.2): the peer forked its log.
        """
        request = audit_pb2.ConsistencyProofRequest(first_size=old.size, second_size=new.size)
        try:
            answer = self._consistency(request, timeout=self._limits.deadline_seconds)
        except grpc.RpcError as error:
            raise self._failure(error) from None
        proof = list(answer.proof)
        merkle.verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
        return proof

    def new_context(self, purpose: RequestPurpose) -> common_pb2.RequestContext:
        """A fresh request context (new id, now) for a request built by the caller."""
        return self._context(purpose)


_Answer = TypeVar(
    "_Answer",
    match_pb2.BlindEvaluateResponse,
    match_pb2.OwnerMatchResponse,
    disclosure_pb2.DisclosureAck,
    disclosure_pb2.FetchResponse,
)


def _decode_answer(message: type[_Answer], body: bytes, peer: str) -> _Answer:
    try:
        return message.FromString(body)
    except DecodeError:
        raise PeerError(f"the answer of peer {peer} does not decode") from None


def _check_echo(echoed: bytes, sent: bytes, peer: str) -> None:
    if echoed != sent:
        raise PeerError(f"the answer of peer {peer} is for another request")
