"""Disclosure on a node: the owner's desk (receive, decide, deliver), the querier's (file, fetch).

Both desks are used by the gRPC service (`node.owner.disclosure_service`) and by `blindhit requests`,
in whichever process runs them: the decision of an officer at the command line and the fetch a
serving node answers meet in the node's database (`node.storage.disclosure_requests`).

The owner, receiving a request (`OwnerDesk.receive`), checks in this order, logging a refusal of a
known peer with its reason code, and stores nothing of a refused request:

1. the fields asked for are record fields the dataset may ever release (`releasable_fields`);
2. the quoted check is an entry of its own audit log that answered *this* peer on *this*
   dataset (`check_received` or `owner_match`), with at least as many elements as references,
   and no earlier request quoted it: a reference another peer got, or one replayed from an
   older request, resolves to nothing;
3. every reference resolves to a record among the dataset's current tags (a guessed one does not;
   after a key rotation the querier must check again).

Only then does it resolve the references to record ids, store the request with its deadline, log
`disclosure_requested`, and try the standing rules: a rule that covers the request decides at
once, as `rule:<name>`, logged as automatic.

A decision (`OwnerDesk.approve`, `OwnerDesk.deny`) seals the release to the key the querier
named, stores decision and release in one transaction, then logs `disclosure_decided` and marks
it logged (`log_pending` finishes that after a crash). Delivery is a fetch by the querier: the
owner logs `disclosure_delivered` before it answers with a decision; a fetch of a pending request
is answered without a log entry, since it discloses nothing.

The node's disclosure key (X25519, `keys/disclosure.pem`, encrypted at rest like every private
key) is what releases are sealed to; it is created on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from crypto.errors import CryptoError, InputError, NotPermitted, PeerError
from node.audit import AuditEntry, AuditLog, Decision, EntryKind
from node.audit.entries import digest_request
from node.config import NodeConfig, Peer
from node.datasets.sources import RECORD_FIELDS
from node.datasets.store import DatasetStore
from node.querier.peer_client import PeerClient
from node.storage.disclosure_requests import Decision as StoredDecision
from node.storage.disclosure_requests import (
    DisclosureStore,
    ReceivedRequest,
    SentRequest,
    StoredHit,
)
from proto.blindhit.v1 import common_pb2, disclosure_pb2
from protocol.check import RequestPurpose
from protocol.disclosure import (
    MAX_REFERENCES,
    RELEASED_METADATA,
    DenyReason,
    Handling,
    Release,
    ReleasedRecord,
    RequestState,
    Urgency,
    approval_state,
    check_field_names,
    check_justification,
    choose_rule,
    decide,
    due_at,
    open_release,
    public_key_from_bytes,
    seal_release,
)

__all__ = ["FetchOutcome", "OwnerDesk", "QuerierDesk", "Refusal", "load_disclosure_key"]

DISCLOSURE_KEY_FILE = "disclosure.pem"
CHECK_VALIDITY = timedelta(days=30)
"""How long after a check its references may back a disclosure request."""

_URGENCY_WIRE = {
    Urgency.STANDARD: disclosure_pb2.URGENCY_STANDARD,
    Urgency.URGENT: disclosure_pb2.URGENCY_URGENT,
}
_URGENCY_FROM_WIRE = {wire: urgency for urgency, wire in _URGENCY_WIRE.items()}
_ClientFactory = Callable[[Peer], PeerClient]
_DECISIONS = {
    RequestState.APPROVED: Decision.APPROVED,
    RequestState.APPROVED_IN_PART: Decision.APPROVED_IN_PART,
    RequestState.DENIED: Decision.DENIED,
}


def load_disclosure_key(node_dir: Path, passphrase: bytes) -> X25519PrivateKey:
    """The node's X25519 disclosure key, created (0600, encrypted) on first use."""
    path = node_dir / "keys" / DISCLOSURE_KEY_FILE
    if not path.exists():
        key = X25519PrivateKey.generate()
        pem = key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase)
        )
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile: use that one
        except OSError as error:
            raise InputError(f"cannot create {path}: {error.strerror}") from None
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
    try:
        loaded = load_pem_private_key(path.read_bytes(), password=passphrase)
    except (OSError, ValueError, TypeError) as error:
        raise InputError(f"cannot load the disclosure key {path}: {error}") from None
    if not isinstance(loaded, X25519PrivateKey):
        raise InputError(f"{path} does not hold an X25519 key")
    return loaded


class Refusal(Exception):
    """A request refused after its peer is known: logged with `reason`, answered with `error`."""

    def __init__(self, error: InputError | PeerError | NotPermitted, reason: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.reason = reason


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


class OwnerDesk:
    """The owner's side of disclosure, over the node's database and audit log."""

    def __init__(self, config: NodeConfig, store: DisclosureStore, audit: AuditLog) -> None:
        self._config = config
        self._store = store
        self._audit = audit

    # -- receiving -------------------------------------------------------------------------------

    def receive(
        self, peer: str, signed_body: bytes, request: disclosure_pb2.DisclosureRequest
    ) -> tuple[ReceivedRequest, int]:
        """Check, store and log a request; a standing rule may decide it at once.

        Returns the stored request and the index of its `disclosure_requested` entry.

        Raises:
            Refusal: the request is refused; it was logged as refused.
        """
        context = request.context
        dataset = request.dataset
        count = len(request.requested_fields)
        try:
            received = self._admit(peer, signed_body, request)
        except (InputError, PeerError, NotPermitted, CryptoError) as error:
            reason = _reason(error)
            self._log(
                EntryKind.DISCLOSURE_REQUESTED, peer, dataset, context, signed_body, count,
                Decision.REFUSED, reason=reason,
            )  # fmt: skip
            wrapped = error if not isinstance(error, CryptoError) else PeerError(str(error))
            raise Refusal(wrapped, reason) from error
        index = self._log(
            EntryKind.DISCLOSURE_REQUESTED, peer, dataset, context, signed_body, count,
            Decision.ANSWERED,
        )  # fmt: skip
        self._store.add_received(received)
        rule = choose_rule(
            self._config.disclosure_rules,
            peer,
            dataset,
            received.urgency,
            received.requested_fields,
        )
        if rule is not None:
            self.approve(
                received.request_id,
                fields=received.requested_fields,
                handling=rule.handling,
                expires_at=datetime.now(UTC) + rule.expiry,
                contact=rule.contact,
                officer=f"rule:{rule.name}",
                automatic=True,
            )
        found = self._store.received(received.request_id)
        assert found is not None
        return found, index

    def _admit(
        self, peer: str, signed_body: bytes, request: disclosure_pb2.DisclosureRequest
    ) -> ReceivedRequest:
        dataset = self._config.dataset(request.dataset)
        if dataset is None or self._config.rule_for(peer, request.dataset) is None:
            raise NotPermitted(f"dataset {request.dataset} is not available to {peer}")
        fields = check_field_names(list(request.requested_fields), "requested fields")
        for name in fields:
            if name not in RECORD_FIELDS:
                raise InputError(f"requested field {name} is not a record field")
            if not dataset.releases(name):
                raise NotPermitted(f"field {name} is never released from dataset {dataset.name}")
        justification = check_justification(request.justification)
        urgency = _URGENCY_FROM_WIRE.get(request.urgency)
        if urgency is None:
            raise InputError("the urgency is missing: urgent or standard")
        public_key_from_bytes(request.recipient_public_key)
        references = list(request.match_references)
        if not 1 <= len(references) <= MAX_REFERENCES:
            raise InputError(f"quote 1 to {MAX_REFERENCES} match references, not {len(references)}")
        if any(len(reference) != 32 for reference in references):
            raise InputError("a match reference must be 32 bytes")
        self._check_entry(peer, request.dataset, request.check_entry_index, len(references))
        records = self._resolve(request.dataset, references)
        now = datetime.now(UTC)
        context = request.context
        return ReceivedRequest(
            request_id=bytes(context.request_id),
            peer=peer,
            dataset=request.dataset,
            received_at=now,
            due_at=due_at(now, urgency),
            urgency=urgency,
            officer=context.officer_id,
            purpose=context.purpose,
            legal_basis=context.legal_basis,
            case_reference=context.case_reference,
            justification=justification,
            requested_fields=fields,
            references=tuple(bytes(r) for r in references),
            records=records,
            check_entry_index=request.check_entry_index,
            recipient_key=bytes(request.recipient_public_key),
            request_digest=digest_request(signed_body),
            state=RequestState.PENDING,
            decision=None,
            sealed_release=None,
            decision_logged=False,
            delivered_at=None,
            deliveries=0,
        )

    def _check_entry(self, peer: str, dataset: str, index: int, references: int) -> None:
        unknown = PeerError(
            "the match references do not come from a check this node answered for you; "
            "quote the check's receipt entry"
        )
        if index >= self._audit.size:
            raise unknown
        entry = self._audit.entry(index)
        if (
            entry.kind not in (EntryKind.CHECK_RECEIVED, EntryKind.OWNER_MATCH)
            or entry.counterpart != peer
            or entry.dataset != dataset
            or entry.decision is not Decision.ANSWERED
            or (entry.element_count or 0) < references
        ):
            raise unknown
        if datetime.now(UTC) - entry.time > CHECK_VALIDITY:
            raise PeerError(f"the check at entry {index} is older than {CHECK_VALIDITY.days} days")
        if self._store.check_entry_used(peer, index):
            raise PeerError(
                f"the check at entry {index} already backs a disclosure request; check again"
            )

    def _resolve(self, dataset: str, references: Sequence[bytes]) -> tuple[str, ...]:
        with DatasetStore(self._config.node.database, create=False) as store:
            owners = store.lookup_tags(dataset, [bytes(r) for r in references])
        records: list[str] = []
        for number, found in enumerate(owners, start=1):
            if not found:
                raise PeerError(
                    f"match reference {number} resolves to no record of {dataset}: guessed, "
                    "foreign, or from before a key rotation (check again)"
                )
            records.extend(owner.record_id for owner in found)
        return tuple(dict.fromkeys(records))

    # -- deciding --------------------------------------------------------------------------------

    def approve(
        self,
        request_id: bytes,
        *,
        fields: Sequence[str],
        handling: Sequence[Handling],
        expires_at: datetime,
        contact: str,
        officer: str,
        automatic: bool = False,
    ) -> ReceivedRequest:
        """Approve all or some requested fields; seal the release; store, then log the decision."""
        request = self._pending(request_id)
        state = approval_state(request.requested_fields, list(fields))
        if not handling:
            raise InputError("attach at least one handling code (H0 law-enforcement use only)")
        now = datetime.now(UTC)
        if expires_at <= now:
            raise InputError("the expiry must be in the future")
        if not contact.strip():
            raise InputError("give a contact point for the querier")
        release = Release(
            request_id=request.request_id,
            owner=self._config.node.id,
            dataset=request.dataset,
            records=self._records(request, fields),
            handling=tuple(handling),
            expires_at=expires_at,
            contact=contact,
            decided_by=officer,
            decided_at=now,
            automatic=automatic,
            approved_fields=tuple(fields),
        )
        sealed = seal_release(
            release, public_key_from_bytes(request.recipient_key), querier=request.peer
        )
        decision = StoredDecision(
            state=state, decided_at=now, decided_by=officer, automatic=automatic,
            approved_fields=tuple(fields), handling=tuple(handling), expires_at=expires_at,
            contact=contact,
        )  # fmt: skip
        self._store.record_decision(request.request_id, decision, sealed)
        return self._log_decision(request.request_id)

    def deny(
        self, request_id: bytes, *, reason: DenyReason, text: str, officer: str
    ) -> ReceivedRequest:
        """Deny a request with a reason of the fixed list and free text."""
        request = self._pending(request_id)
        if reason is DenyReason.OTHER and not text.strip():
            raise InputError("a denial for reason 'other' needs a text")
        decide(request.state, RequestState.DENIED)
        decision = StoredDecision(
            state=RequestState.DENIED, decided_at=datetime.now(UTC), decided_by=officer,
            automatic=False, deny_reason=reason, deny_text=text,
        )  # fmt: skip
        self._store.record_decision(request.request_id, decision, None)
        return self._log_decision(request.request_id)

    def _pending(self, request_id: bytes) -> ReceivedRequest:
        request = self._store.received(request_id)
        if request is None:
            raise InputError(f"no disclosure request {request_id.hex()}")
        if request.state is not RequestState.PENDING and request.decision is not None:
            raise InputError(
                f"request {request_id.hex()[:12]} is already decided: {request.state.value} by "
                f"{request.decision.decided_by} at {request.decision.decided_at:%Y-%m-%d %H:%M}Z"
            )
        return request

    def _records(
        self, request: ReceivedRequest, fields: Sequence[str]
    ) -> tuple[ReleasedRecord, ...]:
        released: list[ReleasedRecord] = []
        with DatasetStore(self._config.node.database, create=False) as store:
            for record_id in request.records:
                content = store.record_content(request.dataset, record_id)
                metadata = store.record_metadata(request.dataset, record_id)
                if content is None or metadata is None:
                    raise InputError(
                        f"record {record_id} of {request.dataset} was deleted since the request; "
                        "deny it with reason no_longer_held"
                    )
                released.append(
                    ReleasedRecord(
                        {name: content[name] for name in fields if name in content},
                        {k: metadata[k] for k in RELEASED_METADATA if metadata.get(k)},
                    )
                )
        return tuple(released)

    def _log_decision(self, request_id: bytes) -> ReceivedRequest:
        request = self._store.received(request_id)
        assert request is not None
        assert request.decision is not None
        decision = request.decision
        reason = (
            decision.deny_reason.value
            if decision.deny_reason is not None
            else ("standing_rule" if decision.automatic else None)
        )
        self._audit.append(
            AuditEntry(
                kind=EntryKind.DISCLOSURE_DECIDED,
                time=decision.decided_at,
                node=self._config.node.id,
                officer=decision.decided_by,
                counterpart=request.peer,
                dataset=request.dataset,
                element_count=len(decision.approved_fields),
                purpose=request.purpose,
                legal_basis=request.legal_basis,
                case_reference=request.case_reference,
                request_digest=request.request_digest,
                decision=_DECISIONS[decision.state],
                reason=reason,
            )
        )
        self._store.mark_decision_logged(request_id)
        found = self._store.received(request_id)
        assert found is not None
        return found

    def log_pending(self) -> int:
        """Log decisions a crash left unlogged; return how many."""
        pending = self._store.unlogged_decisions()
        for request in pending:
            self._log_decision(request.request_id)
        return len(pending)

    # -- delivering ------------------------------------------------------------------------------

    def fetch(
        self, peer: str, signed_body: bytes, request: disclosure_pb2.FetchRequest
    ) -> tuple[disclosure_pb2.FetchResponse, int | None]:
        """Answer a fetch; log the delivery of a decision first. Returns (answer, entry index)."""
        found = self._store.received(bytes(request.disclosure_request_id))
        if found is None or found.peer != peer:
            # The same answer for another peer's request as for none, so ids cannot be probed.
            raise InputError("no disclosure request of yours has this id")
        now = datetime.now(UTC)
        state = found.current_state(now)
        answer = disclosure_pb2.FetchResponse(
            disclosure_request_id=found.request_id, state=state.value, due_at_ms=_ms(found.due_at)
        )
        if state is RequestState.PENDING:
            return answer, None
        if not found.decision_logged:
            self._log_decision(found.request_id)
        decision = found.decision
        assert decision is not None
        if state is RequestState.DENIED:
            answer.deny_reason = decision.deny_reason.value if decision.deny_reason else ""
            answer.deny_text = decision.deny_text
        elif state is not RequestState.EXPIRED:
            answer.sealed_release = found.sealed_release or b""
            assert decision.expires_at is not None
            answer.expires_at_ms = _ms(decision.expires_at)
        index = self._log(
            EntryKind.DISCLOSURE_DELIVERED, peer, found.dataset, request.context, signed_body,
            len(decision.approved_fields),
            Decision.FAILED if state is RequestState.EXPIRED else _DECISIONS[found.state],
            reason="expired" if state is RequestState.EXPIRED else None,
        )  # fmt: skip
        if state is not RequestState.EXPIRED:
            self._store.mark_delivered(found.request_id, now)
        return answer, index

    def _log(
        self,
        kind: EntryKind,
        peer: str,
        dataset: str,
        context: common_pb2.RequestContext,
        signed_body: bytes,
        count: int,
        decision: Decision,
        *,
        reason: str | None = None,
    ) -> int:
        return self._audit.append(
            AuditEntry(
                kind=kind,
                time=datetime.now(UTC),
                node=self._config.node.id,
                officer=context.officer_id or None,
                counterpart=peer,
                dataset=dataset or None,
                element_count=count,
                purpose=context.purpose or None,
                legal_basis=context.legal_basis or None,
                case_reference=context.case_reference or None,
                request_digest=digest_request(signed_body),
                decision=decision,
                reason=reason,
            )
        )


def _reason(error: Exception) -> str:
    if isinstance(error, NotPermitted):
        return "not_permitted"
    text = str(error)
    if "resolves to no record" in text:
        return "unknown_reference"
    if "already backs" in text or "do not come from a check" in text or "older than" in text:
        return "foreign_or_replayed_reference"
    return "malformed_request"


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
            due_at=_from_ms(ack.due_at_ms) if ack.due_at_ms else due_at(now, urgency),
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
            expires_at=_from_ms(answer.expires_at_ms) if answer.expires_at_ms else None,
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
