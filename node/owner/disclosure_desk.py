"""The owner's disclosure desk: receive a request, decide it, deliver the sealed release.

Used by the gRPC Disclosure service (`node.owner.disclosure_service`) and by `blindhit requests`,
in whichever process runs them: the decision of an officer at the command line and the fetch a
serving node answers meet in the node's database (`node.storage.disclosure_requests`).

The owner, receiving a request (`OwnerDesk.receive`), takes it through the eight ordered checks of
`protocol.disclosure_admission`, logging a refusal of a known peer with its reason code, and
stores nothing of a refused request. Only then does it store the request with its deadline, log
`disclosure_requested`, and try the standing rules: a rule that covers the request decides at
once, as `rule:<name>`, logged as automatic.

A decision (`OwnerDesk.approve`, `OwnerDesk.deny`) seals the release to the key the querier
named, stores decision and release in one transaction, then logs `disclosure_decided` and marks
it logged (`log_pending` finishes that after a crash). Delivery is a fetch by the querier: the
owner logs `disclosure_delivered` before it answers with a decision; a fetch of a pending request
is answered without a log entry, since it discloses nothing.

Releases are sealed to the X25519 key the querier named (`node.keys.disclosure` holds this
node's own).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from crypto.errors import CryptoError, InputError, NotPermitted, PeerError
from node.audit import AuditEntry, AuditLog, Decision, EntryKind
from node.audit.entries import digest_request
from node.config import NodeConfig
from node.datasets.sources import RECORD_FIELDS
from node.datasets.store import DatasetStore
from node.storage.disclosure_requests import Decision as StoredDecision
from node.storage.disclosure_requests import (
    DisclosureStore,
    ReceivedRequest,
)
from node.transport.wire import to_ms
from proto.blindhit.v1 import common_pb2, disclosure_pb2
from protocol.disclosure import (
    RELEASED_METADATA,
    DenyReason,
    Handling,
    Release,
    ReleasedRecord,
    RequestState,
    Urgency,
    approval_state,
    choose_rule,
    decide,
    due_at,
    public_key_from_bytes,
    seal_release,
)
from protocol.disclosure_admission import DisclosureAdmission, QuotedCheck, refusal_reason

__all__ = ["OwnerDesk", "Refusal"]


_URGENCY_WIRE = {
    Urgency.STANDARD: disclosure_pb2.URGENCY_STANDARD,
    Urgency.URGENT: disclosure_pb2.URGENCY_URGENT,
}
_URGENCY_FROM_WIRE = {wire: urgency for urgency, wire in _URGENCY_WIRE.items()}
_DECISIONS = {
    RequestState.APPROVED: Decision.APPROVED,
    RequestState.APPROVED_IN_PART: Decision.APPROVED_IN_PART,
    RequestState.DENIED: Decision.DENIED,
}


class Refusal(Exception):
    """A request refused after its peer is known: logged with `reason`, answered with `error`."""

    def __init__(self, error: InputError | PeerError | NotPermitted, reason: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.reason = reason


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
            reason = refusal_reason(error)
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
        """The steps of `protocol.disclosure_admission`, fed from this node's config and logs."""
        admission = DisclosureAdmission(peer, request.dataset)
        dataset = self._config.dataset(request.dataset)
        admission.check_dataset(
            has_rule=dataset is not None
            and self._config.rule_for(peer, request.dataset) is not None
        )
        assert dataset is not None  # check_dataset refused a dataset this node lacks
        fields = admission.check_fields(
            request.requested_fields, record_fields=RECORD_FIELDS, releasable=dataset.releases
        )
        justification = admission.check_justification(request.justification)
        urgency = admission.check_urgency(_URGENCY_FROM_WIRE.get(request.urgency))
        admission.check_recipient_key(request.recipient_public_key)
        references = admission.check_references(list(request.match_references))
        index = request.check_entry_index
        now = datetime.now(UTC)
        admission.check_quoted_check(
            index,
            self._quoted(index),
            already_quoted=self._store.check_entry_used(peer, index),
            now=now,
        )
        with DatasetStore(self._config.node.database, create=False) as store:
            owners = store.lookup_tags(request.dataset, list(references))
        records = admission.check_resolved(
            [[owner.record_id for owner in found] for found in owners]
        )
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
            references=references,
            records=records,
            check_entry_index=index,
            recipient_key=bytes(request.recipient_public_key),
            request_digest=digest_request(signed_body),
            state=RequestState.PENDING,
            decision=None,
            sealed_release=None,
            decision_logged=False,
            delivered_at=None,
            deliveries=0,
        )

    def _quoted(self, index: int) -> QuotedCheck | None:
        """What this node's audit log says of entry `index`; None past its end."""
        if index >= self._audit.size:
            return None
        entry = self._audit.entry(index)
        return QuotedCheck(
            is_check=entry.kind in (EntryKind.CHECK_RECEIVED, EntryKind.OWNER_MATCH),
            counterpart=entry.counterpart,
            dataset=entry.dataset,
            answered=entry.decision is Decision.ANSWERED,
            element_count=entry.element_count or 0,
            time=entry.time,
        )

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
            disclosure_request_id=found.request_id, state=state.value, due_at_ms=to_ms(found.due_at)
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
            answer.expires_at_ms = to_ms(decision.expires_at)
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
