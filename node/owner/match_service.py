"""The member node's gRPC Match service: thin servicers over `protocol/`, `crypto/` and storage.

Every request goes through the same steps, in this order, and nothing leaves the node before the
audit entry that records it is durable (docs/promises.md, "The check"):

1. the transport: the peer is the node named in its mTLS client certificate (URI SAN
   `blindhit://node/<id>`), pinned to the fingerprint in `[[peers]]` when one is configured;
2. the envelope: signed by that same node's identity key (`node.transport.envelope`);
3. the request: decoded, its purpose fields present and well formed, the epoch current;
4. the policy: the peer's rule allows the dataset and mode, the batch fits, the request is fresh
   and new, the quota holds (`node.owner.policy`);
5. the work: the OPRF evaluation (which validates every element) or the tag lookup;
6. the audit entry, appended durably (group commit), then a receipt for it;
7. the signed answer.

A request refused at step 3 or later by a known peer is logged as refused, with a reason code.
Errors become gRPC statuses in one place (`node.transport.rpc`), each with a one-line message and no
internals: unknown peer UNAUTHENTICATED, not allowed PERMISSION_DENIED, quota RESOURCE_EXHAUSTED,
malformed INVALID_ARGUMENT, stale epoch FAILED_PRECONDITION. Anything unexpected is logged
locally with its traceback and answered INTERNAL "internal error".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf.message import DecodeError

from crypto.errors import (
    CryptoError,
    PeerError,
    PolicyError,
    UnknownPeer,
)
from crypto.oprf import Mode, OprfServer, Suite
from node.audit import AuditEntry, AuditLog, CheckpointIssuer, Decision, EntryKind
from node.audit.entries import InvalidEntry, digest_request
from node.audit.receipts import issue_receipt
from node.config import NodeConfig
from node.keys.tls import certificate_fingerprint, node_id_from_auth_context
from node.owner.policy import PolicyEngine
from node.owner.refusals import UNKNOWN_PEER, RefusalLog
from node.transport.envelope import NOT_AN_ENVELOPE, Label, is_empty, open_envelope, seal_envelope
from node.transport.rpc import RELAY_PEER, Refused, rpc
from node.transport.wire import from_ms, purpose_fields
from proto.blindhit.v1 import common_pb2, match_pb2
from protocol.admission import Admission, QueryMode, refusal_reason
from protocol.validation import is_valid_node_id

__all__ = ["DatasetSource", "MatchService", "PublishedDataset"]

_log = logging.getLogger("blindhit.node")

# Index payloads are streamed in chunks of this size, well under gRPC's message limit.
INDEX_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class PublishedDataset:
    """The current epoch of a dataset, as a querier sees it in the index header."""

    name: str
    epoch: int
    suite: Suite
    mode: Mode
    public_key: bytes
    keying_profile: str
    index_digest: bytes


class DatasetSource(Protocol):
    """What the Match service needs from the node's dataset storage."""

    def published(self, dataset: str) -> PublishedDataset:
        """The current epoch; raises `NotPermitted` for a dataset with no published epoch."""
        ...

    def oprf_server(self, dataset: str) -> OprfServer:
        """The evaluator holding the dataset's current OPRF key."""
        ...

    def index_payload(self, dataset: str, have_epoch: int) -> tuple[int, bytes]:
        """(base epoch, payload): a delta from `have_epoch` if possible, else (0, full index)."""
        ...

    def resolve_tags(self, dataset: str, tags: Sequence[bytes]) -> list[bytes | None]:
        """For each tag, the match reference of a record key it matches, or None."""
        ...


_CheckMessage = TypeVar(
    "_CheckMessage", match_pb2.BlindEvaluateRequest, match_pb2.OwnerMatchRequest
)


def _element_count(decoded: match_pb2.BlindEvaluateRequest | match_pb2.OwnerMatchRequest) -> int:
    if isinstance(decoded, match_pb2.BlindEvaluateRequest):
        return len(decoded.blinded_elements)
    return len(decoded.tags)


@dataclass(frozen=True)
class _Admitted:
    peer: str
    signed: bytes
    context: common_pb2.RequestContext
    dataset: str
    published: PublishedDataset


class MatchService:
    """Index sync, blind evaluation and owner match for this node's datasets."""

    def __init__(
        self,
        config: NodeConfig,
        datasets: DatasetSource,
        policy: PolicyEngine,
        audit: AuditLog,
        checkpoints: CheckpointIssuer,
        identity: Ed25519PrivateKey,
    ) -> None:
        self._config = config
        self._datasets = datasets
        self._policy = policy
        self._audit = audit
        self._checkpoints = checkpoints
        self._identity = identity
        self._peer_cache: dict[bytes, str] = {}
        self._refusals = RefusalLog(audit, config.node.id, count=policy.count_refusals)
        self._cache_lock = threading.Lock()
        self.reconfigure(config)

    def reconfigure(self, config: NodeConfig) -> None:
        """Trust the peers of `config` from now on (a newer federation directory, say).

        A peer dropped from the configuration is refused from its next request: the cache of
        authenticated certificates is emptied with the swap.
        """
        trusted: Mapping[str, Ed25519PublicKey] = {
            peer.id: Ed25519PublicKey.from_public_bytes(peer.identity_key.public_key)
            for peer in config.peers
        }
        pins = {
            peer.id: peer.certificate_fingerprint
            for peer in config.peers
            if peer.certificate_fingerprint
        }
        with self._cache_lock:
            self._config, self._trusted, self._pins = config, trusted, pins
            self._peer_cache.clear()

    @property
    def audit(self) -> AuditLog:
        """The node's audit log, which the node's Audit service serves proofs of."""
        return self._audit

    @property
    def checkpoints(self) -> CheckpointIssuer:
        """The issuer of the log's signed checkpoints."""
        return self._checkpoints

    # -- steps shared by the RPCs ---------------------------------------------------------------

    def authenticate(self, context: grpc.ServicerContext) -> str:
        """The peer of the connection, known by its certificate (for the node's other services)."""
        return self._peer(context)

    def open_request(
        self, label: Label, raw: bytes, context: grpc.ServicerContext
    ) -> tuple[str, bytes]:
        """Steps 1 and 2 for another service: (peer, signed body) of a raw request envelope."""
        envelope = _envelope(raw)
        peer = self._requester(context, envelope)
        body = open_envelope(label, envelope, self._trusted, expected_signer=peer)
        return peer, body

    def receipt(self, index: int) -> common_pb2.Receipt:
        """A receipt for entry `index` of this node's audit log."""
        return self._receipt(index)

    def seal(self, label: Label, body: bytes) -> common_pb2.SignedEnvelope:
        """Sign an answer as this node."""
        return self._seal(label, body)

    def _requester(self, context: grpc.ServicerContext, envelope: common_pb2.SignedEnvelope) -> str:
        """Step 1: who asks. The peer of the connection, or for a request the coordinating node
        relays, the peer that signed it (the signature is checked in step 2 like any other)."""
        transport = self._transport_peer(context)
        if transport == RELAY_PEER:
            if envelope.signer not in self._trusted:
                raise UnknownPeer(f"node {envelope.signer} is not a known peer")
            return envelope.signer
        return transport

    def _peer(self, context: grpc.ServicerContext) -> str:
        """The authenticated peer of the connection, which must not be a relay."""
        transport = self._transport_peer(context)
        if transport == RELAY_PEER:
            raise UnknownPeer("the coordinating node cannot ask on its own behalf here")
        return transport

    def _transport_peer(self, context: grpc.ServicerContext) -> str:
        """The node named by the connection's client certificate: a known peer, or `RELAY_PEER`."""
        auth = context.auth_context()
        pems = list(auth.get("x509_pem_cert") or [])
        key = bytes(pems[0]) if pems else b""
        with self._cache_lock:
            cached = self._peer_cache.get(key)
        if cached is not None:
            return cached
        try:
            peer = node_id_from_auth_context(auth)
        except PeerError as error:
            raise UnknownPeer(str(error)) from error
        federation = self._config.federation
        if federation is not None and peer == federation.coordinator:
            pin = federation.certificate_fingerprint
            if pin is not None and _fingerprint(key) != pin:
                raise UnknownPeer(f"the certificate of {peer} is not the pinned one")
            peer = RELAY_PEER
        elif peer not in self._trusted:
            raise UnknownPeer(f"node {peer} is not a known peer")
        pin = self._pins.get(peer)
        if pin is not None and _fingerprint(key) != pin:
            raise UnknownPeer(f"the certificate of {peer} is not the pinned one")
        with self._cache_lock:
            if len(self._peer_cache) > 4096:
                self._peer_cache.clear()
            self._peer_cache[key] = peer
        return peer

    def _admit(
        self,
        peer: str,
        envelope: common_pb2.SignedEnvelope,
        label: Label,
        decoded: match_pb2.BlindEvaluateRequest | match_pb2.OwnerMatchRequest,
        mode: QueryMode,
        count: int,
    ) -> _Admitted:
        """Steps 3 and 4 for a request already opened and decoded."""
        del label
        request_context = decoded.context
        dataset = decoded.dataset
        admission = Admission(peer, dataset, mode, count)
        try:
            admission.check_context(purpose_fields(request_context))
            admission.authorize(
                self._policy.rule(peer, dataset), node_max_batch=self._policy.max_batch
            )
            published = self._datasets.published(dataset)
            admission.check_epoch(decoded.epoch, published.epoch)
            now = datetime.now(UTC)
            issued = from_ms(request_context.issued_at_ms)
            admission.check_fresh(issued, now)
            self._policy.charge(admission, request_context.request_id, now)
        except (PeerError, PolicyError) as error:
            refused = Refused(error, refusal_reason(error))
            refused.context_checked = admission.context_checked
            raise refused from error
        return _Admitted(peer, envelope.body, request_context, dataset, published)

    def _open_check(
        self,
        label: Label,
        raw: bytes,
        context: grpc.ServicerContext,
        message: type[_CheckMessage],
        kind: EntryKind,
    ) -> tuple[_Admitted, _CheckMessage, int]:
        """Steps 1 to 4 of a check: (admitted, decoded request, element count).

        A refusal at any step is recorded (`node.owner.refusals`) before it is answered, with
        the reason of the step that refused: `unknown_peer` for the connection or signer,
        `bad_signature` for the envelope, `malformed_request` for what does not decode, then the
        admission's own reasons.
        """
        peer: str | None = None  # known once step 1 passes
        stage = "malformed_request"
        decoded: _CheckMessage | None = None
        count = 0
        try:
            request = _envelope(raw)
            stage = "unknown_peer"
            peer = self._requester(context, request)
            stage = "bad_signature"
            body = open_envelope(label, request, self._trusted, expected_signer=peer)
            stage = "malformed_request"
            decoded = _decode(message, body)
            count = _element_count(decoded)
            mode = QueryMode.OWNER_MATCH if kind is EntryKind.OWNER_MATCH else QueryMode.INDEX
            admitted = self._admit(peer, request, label, decoded, mode, count)
        except Refused as refused:
            if refused.context_checked and decoded is not None:
                assert peer is not None  # the context was checked against it
                self._refuse_in_full(kind, peer, raw, decoded, count, refused.reason)
            else:
                self._refuse(peer or self._claimed_peer(context), refused.reason, raw)
            raise
        except (PeerError, PolicyError, CryptoError) as error:
            reason = "unknown_peer" if isinstance(error, UnknownPeer) else stage
            self._refuse(peer or self._claimed_peer(context), reason, raw)
            raise Refused(error, reason) from error
        return admitted, decoded, count

    def _claimed_peer(self, context: grpc.ServicerContext) -> str:
        """Who the connection's certificate says it is, for the record of a refusal.

        Parsed only when a request is refused before its peer is known, never on the path of
        an answered request.
        """
        try:
            claimed = node_id_from_auth_context(context.auth_context())
        except PeerError:
            return UNKNOWN_PEER
        return claimed if is_valid_node_id(claimed) else UNKNOWN_PEER

    def _refuse(self, peer: str, reason: str, raw: bytes) -> None:
        """Record a refusal of a request not read far enough to name its dataset or purpose."""
        counterpart = peer if is_valid_node_id(peer) else UNKNOWN_PEER
        self._refusals.refused(
            counterpart, reason, lambda: self._refused_entry(counterpart, reason, raw)
        )

    def _refused_entry(self, counterpart: str, reason: str, raw: bytes) -> AuditEntry:
        return AuditEntry(
            kind=EntryKind.REQUEST_REFUSED,
            time=datetime.now(UTC),
            node=self._config.node.id,
            counterpart=counterpart,
            element_count=1,
            request_digest=digest_request(raw),
            decision=Decision.REFUSED,
            reason=reason,
        )

    def _refuse_in_full(
        self,
        kind: EntryKind,
        peer: str,
        raw: bytes,
        decoded: _CheckMessage,
        count: int,
        reason: str,
    ) -> None:
        """Record a refusal of a known peer's readable request, with its purpose and dataset."""

        def entry() -> AuditEntry:
            context = decoded.context
            try:
                return AuditEntry(
                    kind=kind,
                    time=datetime.now(UTC),
                    node=self._config.node.id,
                    officer=context.officer_id,
                    counterpart=peer,
                    dataset=decoded.dataset,
                    element_count=count,
                    purpose=context.purpose,
                    legal_basis=context.legal_basis,
                    case_reference=context.case_reference,
                    request_digest=digest_request(_envelope(raw).body),
                    decision=Decision.REFUSED,
                    reason=reason,
                )
            except InvalidEntry:
                # A dataset name no entry may hold (the purpose fields were checked): the
                # refusal is still recorded, without what cannot be written faithfully.
                return self._refused_entry(peer, reason, raw)

        self._refusals.refused(peer, reason, entry)

    def flush_refusals(self) -> None:
        """Log the counts of refusals whose window has passed (the serving loop calls this)."""
        self._refusals.flush()

    def close(self) -> None:
        """Log every count of refusals still open; the service takes no more requests."""
        self._refusals.close()

    def _log_entry(
        self,
        kind: EntryKind,
        admitted: _Admitted,
        count: int,
        decision: Decision,
        *,
        hits: int | None = None,
        reason: str | None = None,
    ) -> int:
        """Step 6: append the entry durably and return its index."""
        return self._audit.append(
            self._entry(kind, admitted, count, decision, hits=hits, reason=reason)
        )

    def _entry(
        self,
        kind: EntryKind,
        admitted: _Admitted,
        count: int,
        decision: Decision,
        *,
        hits: int | None = None,
        reason: str | None = None,
    ) -> AuditEntry:
        context = admitted.context
        return AuditEntry(
            kind=kind,
            time=datetime.now(UTC),
            node=self._config.node.id,
            officer=context.officer_id,
            counterpart=admitted.peer,
            dataset=admitted.dataset,
            element_count=count,
            hit_count=hits,
            purpose=context.purpose,
            legal_basis=context.legal_basis,
            case_reference=context.case_reference,
            request_digest=digest_request(admitted.signed),
            decision=decision,
            reason=reason,
        )

    def _receipt(self, index: int) -> common_pb2.Receipt:
        receipt = issue_receipt(self._audit, self._checkpoints, index)
        return common_pb2.Receipt(entry_index=receipt.index, tlog_proof=receipt.to_text())

    def _seal(self, label: Label, body: bytes) -> common_pb2.SignedEnvelope:
        return seal_envelope(label, body, self._config.node.id, self._identity)

    # -- RPCs --------------------------------------------------------------------------------

    @rpc
    def BlindEvaluate(  # noqa: N802 (the name is fixed by the service definition)
        self, raw: bytes, context: grpc.ServicerContext
    ) -> common_pb2.SignedEnvelope:
        admitted, decoded, count = self._open_check(
            Label.BLIND_EVALUATE_REQUEST,
            raw,
            context,
            match_pb2.BlindEvaluateRequest,
            EntryKind.CHECK_RECEIVED,
        )
        try:
            evaluation = self._datasets.oprf_server(admitted.dataset).blind_evaluate_batch(
                list(decoded.blinded_elements), decoded.info
            )
        except CryptoError as error:
            self._refusals.refused(
                admitted.peer,
                "malformed_element",
                lambda: self._entry(
                    EntryKind.CHECK_RECEIVED,
                    admitted,
                    count,
                    Decision.REFUSED,
                    reason="malformed_element",
                ),
            )
            raise PeerError(f"the request is refused: {error}") from error
        index = self._log_entry(EntryKind.CHECK_RECEIVED, admitted, count, Decision.ANSWERED)
        answer = match_pb2.BlindEvaluateResponse(
            request_id=admitted.context.request_id,
            dataset=admitted.dataset,
            epoch=admitted.published.epoch,
            evaluated_elements=list(evaluation.evaluated_elements),
            proof=evaluation.proof or b"",
            receipt=self._receipt(index),
        )
        return self._seal(Label.BLIND_EVALUATE_RESPONSE, answer.SerializeToString())

    @rpc
    def OwnerMatch(  # noqa: N802
        self, raw: bytes, context: grpc.ServicerContext
    ) -> common_pb2.SignedEnvelope:
        admitted, decoded, count = self._open_check(
            Label.OWNER_MATCH_REQUEST,
            raw,
            context,
            match_pb2.OwnerMatchRequest,
            EntryKind.OWNER_MATCH,
        )
        references = self._datasets.resolve_tags(admitted.dataset, list(decoded.tags))
        hits = sum(reference is not None for reference in references)
        index = self._log_entry(
            EntryKind.OWNER_MATCH, admitted, count, Decision.ANSWERED, hits=hits
        )
        answer = match_pb2.OwnerMatchResponse(
            request_id=admitted.context.request_id,
            dataset=admitted.dataset,
            epoch=admitted.published.epoch,
            hits=[reference is not None for reference in references],
            match_references=[reference or b"" for reference in references],
            receipt=self._receipt(index),
        )
        return self._seal(Label.OWNER_MATCH_RESPONSE, answer.SerializeToString())

    @rpc
    def SyncIndex(  # noqa: N802
        self, raw: bytes, context: grpc.ServicerContext
    ) -> Iterator[match_pb2.IndexChunk]:
        peer: str | None = None  # known once step 1 passes
        stage = "malformed_request"
        try:
            request = _envelope(raw)
            stage = "unknown_peer"
            peer = self._requester(context, request)
            stage = "bad_signature"
            body = open_envelope(Label.INDEX_REQUEST, request, self._trusted, expected_signer=peer)
            stage = "malformed_request"
            decoded = _decode(match_pb2.IndexRequest, body)
            # An index sync reveals no probe; it needs the same rule as index-mode checks.
            admission = Admission(peer, decoded.dataset, QueryMode.INDEX, 1)
            admission.check_context(purpose_fields(decoded.context))
            stage = "not_permitted"
            rule = admission.authorize(
                self._policy.rule(peer, decoded.dataset), node_max_batch=self._policy.max_batch
            )
            published = self._datasets.published(decoded.dataset)
        except (PeerError, PolicyError, CryptoError) as error:
            reason = "unknown_peer" if isinstance(error, UnknownPeer) else stage
            self._refuse(peer or self._claimed_peer(context), reason, raw)
            raise
        base, payload = self._datasets.index_payload(decoded.dataset, decoded.have_epoch)
        header = match_pb2.IndexHeader(
            dataset=published.name,
            epoch=published.epoch,
            suite=published.suite.value.identifier,
            mode=int(published.mode),
            public_key=published.public_key if published.mode is not Mode.OPRF else b"",
            delta=base != 0,
            base_epoch=base,
            payload_length=len(payload),
            index_digest=published.index_digest,
            keying_profile=published.keying_profile,
            # What this peer may send in one request, so that it splits a larger check itself.
            max_batch=min(rule.max_batch, self._policy.max_batch),
        )
        return _chunks(header, payload)


def _envelope(raw: bytes) -> common_pb2.SignedEnvelope:
    # Requests arrive as raw bytes (see node.owner.peer_server) so that an undecodable one is
    # answered INVALID_ARGUMENT here rather than INTERNAL by the gRPC runtime.
    # An empty request decodes to an empty envelope; it is refused here too, before the signer
    # it lacks is looked up.
    try:
        envelope = common_pb2.SignedEnvelope.FromString(raw)
    except DecodeError:
        raise PeerError(NOT_AN_ENVELOPE) from None
    if is_empty(envelope):
        raise PeerError(NOT_AN_ENVELOPE)
    return envelope


def _chunks(header: match_pb2.IndexHeader, payload: bytes) -> Iterator[match_pb2.IndexChunk]:
    yield match_pb2.IndexChunk(header=header)
    for start in range(0, len(payload), INDEX_CHUNK_BYTES):
        yield match_pb2.IndexChunk(payload=payload[start : start + INDEX_CHUNK_BYTES])


_Message = TypeVar(
    "_Message", match_pb2.BlindEvaluateRequest, match_pb2.OwnerMatchRequest, match_pb2.IndexRequest
)


def _decode(message: type[_Message], body: bytes) -> _Message:
    try:
        return message.FromString(body)
    except DecodeError:
        raise PeerError("the signed request does not decode") from None


def _fingerprint(pem: bytes) -> str:
    return certificate_fingerprint(x509.load_pem_x509_certificate(pem))
