"""The querier's disclosure desk: file a request quoting a hit, fetch and open the release.

A request quotes match references this node got in a check (kept with the owner's receipt entry
of that check), is signed by this node and logged in its own audit log before it leaves; a fetch
verifies the owner's signature, opens the release sealed to this node's disclosure key
(`node.keys.disclosure`) and logs what came.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
)

from crypto.errors import InputError, PeerError
from node.audit import AuditEntry, AuditLog, Decision, EntryKind
from node.audit.entries import digest_request
from node.config import NodeConfig
from node.querier.peer_client import PeerClient
from node.storage.disclosure_requests import (
    DisclosureStore,
    SentRequest,
    StoredHit,
)
from node.transport.wire import from_ms
from proto.blindhit.v1 import disclosure_pb2
from protocol.check import RequestPurpose
from protocol.directory import Peer
from protocol.disclosure import (
    Release,
    RequestState,
    Urgency,
    check_field_names,
    check_justification,
    due_at,
    open_release,
)

__all__ = ["FetchOutcome", "QuerierDesk"]


_URGENCY_WIRE = {
    Urgency.STANDARD: disclosure_pb2.URGENCY_STANDARD,
    Urgency.URGENT: disclosure_pb2.URGENCY_URGENT,
}
_ClientFactory = Callable[[Peer], PeerClient]
_DECISIONS = {
    RequestState.APPROVED: Decision.APPROVED,
    RequestState.APPROVED_IN_PART: Decision.APPROVED_IN_PART,
    RequestState.DENIED: Decision.DENIED,
}


@dataclass(frozen=True)
class FetchOutcome:
    """What a fetch brought back, for display."""

    request: SentRequest
    release: Release | None


class QuerierDesk:
    """The querier's side: file requests, fetch and decrypt releases, log both."""

    def __init__(
        self,
        config: NodeConfig,
        store: DisclosureStore,
        audit: AuditLog,
        identity: Ed25519PrivateKey,
        disclosure_key: X25519PrivateKey,
        client_for: _ClientFactory,
    ) -> None:
        self._config = config
        self._store = store
        self._audit = audit
        self._identity = identity
        self._key = disclosure_key
        self._client_for = client_for

    def file(
        self,
        references: Sequence[bytes],
        *,
        fields: Sequence[str],
        urgency: Urgency,
        justification: str,
        purpose: RequestPurpose,
        peer: str | None = None,
    ) -> SentRequest:
        """File a request for the record(s) behind `references`, which this node's checks got."""
        hit = self._hit(references, peer)
        target = self._peer(hit.peer)
        client = self._client_for(target)
        request = disclosure_pb2.DisclosureRequest(
            context=client.new_context(purpose),
            dataset=hit.dataset,
            match_references=list(references),
            check_entry_index=hit.check_entry_index,
            justification=check_justification(justification),
            urgency=_URGENCY_WIRE[urgency],
            requested_fields=list(check_field_names(list(fields), "--fields")),
            recipient_public_key=self._key.public_key().public_bytes(
                Encoding.Raw, PublicFormat.Raw
            ),
        )
        signed = request.SerializeToString()
        try:
            ack, _, sent = client.request_disclosure(request)
        except PeerError:
            self._log_own(EntryKind.DISCLOSURE_REQUESTED, hit.peer, hit.dataset, purpose,
                          client.last_sent or signed, len(fields), Decision.REFUSED)  # fmt: skip
            raise
        self._log_own(EntryKind.DISCLOSURE_REQUESTED, hit.peer, hit.dataset, purpose, sent,
                      len(fields), Decision.ANSWERED)  # fmt: skip
        now = datetime.now(UTC)
        filed = SentRequest(
            request_id=bytes(request.context.request_id),
            peer=hit.peer,
            dataset=hit.dataset,
            filed_at=now,
            due_at=from_ms(ack.due_at_ms) if ack.due_at_ms else due_at(now, urgency),
            urgency=urgency,
            officer=purpose.officer_id,
            case_reference=purpose.case_reference,
            references=tuple(references),
            requested_fields=tuple(fields),
            state=RequestState(ack.state) if ack.state in _STATES else RequestState.PENDING,
            deny_reason=None,
            deny_text=None,
            sealed_release=None,
            expires_at=None,
            fetched_at=None,
            owner_answer=None,
        )
        self._store.add_sent(filed)
        return filed

    def _hit(self, references: Sequence[bytes], peer: str | None) -> StoredHit:
        if not references:
            raise InputError("quote at least one match reference from a check")
        chosen: StoredHit | None = None
        for reference in references:
            hits = [h for h in self._store.hits_for(reference) if peer in (None, h.peer)]
            if not hits:
                raise InputError(
                    f"match reference {reference.hex()[:16]}… is not one this node's checks got"
                )
            if chosen is None:
                chosen = hits[0]
            elif not any(
                (h.peer, h.dataset, h.check_entry_index)
                == (chosen.peer, chosen.dataset, chosen.check_entry_index)
                for h in hits
            ):
                raise InputError("quote references of one check (one peer, one dataset) at a time")
        assert chosen is not None
        return chosen

    def _peer(self, peer_id: str) -> Peer:
        peer = self._config.peer(peer_id)
        if peer is None:
            raise InputError(f"peer {peer_id} is no longer in node.toml's [[peers]]")
        return peer

    def fetch(self, request_id: bytes, purpose: RequestPurpose) -> FetchOutcome:
        """Ask the owner; decrypt and keep a release; log a delivered decision."""
        sent = self._store.sent(request_id)
        if sent is None:
            raise InputError(f"no disclosure request {request_id.hex()} was filed by this node")
        client = self._client_for(self._peer(sent.peer))
        answer, signed, body = client.fetch_release(request_id, purpose)
        state = RequestState(answer.state) if answer.state in _STATES else None
        if state is None:
            raise PeerError(f"peer {sent.peer} answered an unknown state {answer.state!r}")
        release: Release | None = None
        if state in (RequestState.APPROVED, RequestState.APPROVED_IN_PART):
            release = open_release(
                answer.sealed_release,
                self._key,
                owner=sent.peer,
                querier=self._config.node.id,
                request_id=request_id,
            )
        if state is not RequestState.PENDING:
            self._log_own(
                EntryKind.DISCLOSURE_DELIVERED, sent.peer, sent.dataset, purpose, body,
                len(release.approved_fields) if release else 0,
                _DECISIONS.get(state, Decision.FAILED),
            )  # fmt: skip
        self._store.update_sent(
            request_id,
            state=state,
            fetched_at=datetime.now(UTC),
            owner_answer=signed.envelope,
            sealed_release=answer.sealed_release or None,
            expires_at=from_ms(answer.expires_at_ms) if answer.expires_at_ms else None,
            deny_reason=answer.deny_reason or None,
            deny_text=answer.deny_text or None,
        )
        updated = self._store.sent(request_id)
        assert updated is not None
        return FetchOutcome(updated, release)

    def open_stored(self, request: SentRequest) -> Release | None:
        """Decrypt the release kept from an earlier fetch (None if there is none)."""
        if request.sealed_release is None:
            return None
        return open_release(
            request.sealed_release,
            self._key,
            owner=request.peer,
            querier=self._config.node.id,
            request_id=request.request_id,
        )

    def _log_own(
        self,
        kind: EntryKind,
        peer: str,
        dataset: str,
        purpose: RequestPurpose,
        signed_body: bytes,
        count: int,
        decision: Decision,
    ) -> None:
        self._audit.append(
            AuditEntry(
                kind=kind,
                time=datetime.now(UTC),
                node=self._config.node.id,
                officer=purpose.officer_id,
                counterpart=peer,
                dataset=dataset,
                element_count=count,
                purpose=purpose.purpose,
                legal_basis=purpose.legal_basis,
                case_reference=purpose.case_reference,
                request_digest=digest_request(signed_body),
                decision=decision,
            )
        )


_STATES = frozenset(state.value for state in RequestState)
