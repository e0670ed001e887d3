"""The owner's disclosure desk over a real node database (tests/unit/conftest.py `stored_pair`).

The querier checks the owner over gRPC, so that the owner's audit log holds the check a request
must quote; the requests are then handed to `OwnerDesk` as its gRPC service would: receive
(checks in order, refusals logged with their reason and nothing stored), decide (approve in
part, deny, never twice), deliver (a fetch logs the delivery; the release opens only with the
querier's key; another peer's request id is not even acknowledged), and standing rules.
"""

from __future__ import annotations

import dataclasses
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from unit.conftest import HIT_PROBE, PURPOSE, Pair

from crypto.errors import InputError, PeerError
from node.audit import Decision, EntryKind
from node.owner.disclosure_desk import OwnerDesk, Refusal
from node.querier.checker import Target
from proto.blindhit.v1 import common_pb2, disclosure_pb2
from protocol.disclosure import (
    DenyReason,
    Handling,
    HandlingCode,
    RequestState,
    StandingRule,
    Urgency,
    open_release,
)
from protocol.match_keys import Strength

QUERIER_KEY = X25519PrivateKey.generate()


def _context(case: str = "FR-2026-0117") -> common_pb2.RequestContext:
    return common_pb2.RequestContext(
        request_id=os.urandom(16), querier_node="fr-ct", officer_id=PURPOSE.officer_id,
        purpose=PURPOSE.purpose, legal_basis=PURPOSE.legal_basis, case_reference=case,
        issued_at_ms=int(time.time() * 1000),
    )  # fmt: skip


def _checked(pair: Pair) -> tuple[bytes, int]:
    """Check the planted person; (the strong match reference, the owner's entry of the check)."""
    [result] = pair.querier.querier().check([HIT_PROBE], [Target("pl-ct", "watchlist")], PURPOSE)
    assert result.status == "answered", result.message
    reference = next(
        h.match_reference for h in result.outcomes[0].hits if h.strength is Strength.STRONG
    )
    [hit] = pair.querier.disclosures.hits_for(reference)
    return reference, hit.check_entry_index


def _request(
    reference: bytes, entry: int, fields: tuple[str, ...] = ("family_name", "date_of_birth")
) -> disclosure_pb2.DisclosureRequest:
    return disclosure_pb2.DisclosureRequest(
        context=_context(), dataset="watchlist", match_references=[reference],
        check_entry_index=entry, justification="Boarding LH 1234 with a matched passport.",
        urgency=disclosure_pb2.URGENCY_URGENT, requested_fields=list(fields),
        recipient_public_key=QUERIER_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )  # fmt: skip


def _desk(pair: Pair) -> OwnerDesk:
    return pair.owner.runtime.owner_desk()


def _owner_entries(pair: Pair, kind: EntryKind) -> list[tuple[Decision | None, str | None]]:
    audit = pair.owner.runtime.audit
    entries = (audit.entry(i) for i in range(audit.size))
    return [(e.decision, e.reason) for e in entries if e.kind is kind]


def test_receive_decide_and_deliver(stored_pair: Pair) -> None:
    pair = stored_pair
    reference, entry = _checked(pair)
    request = _request(reference, entry)
    body = request.SerializeToString()
    received, index = _desk(pair).receive("fr-ct", body, request)
    assert received.state is RequestState.PENDING
    assert received.records == ("PL-1",)
    assert received.urgency is Urgency.URGENT
    assert timedelta(hours=7) < received.due_at - received.received_at <= timedelta(hours=8)
    assert pair.owner.runtime.audit.entry(index).kind is EntryKind.DISCLOSURE_REQUESTED

    fetch = disclosure_pb2.FetchRequest(
        context=_context(), disclosure_request_id=received.request_id
    )
    pending, logged = _desk(pair).fetch("fr-ct", fetch.SerializeToString(), fetch)
    assert (pending.state, logged) == ("pending", None)  # nothing disclosed, nothing logged

    decided = _desk(pair).approve(
        received.request_id, fields=["family_name"], handling=[Handling(HandlingCode.H0)],
        expires_at=datetime.now(UTC) + timedelta(days=1), contact="KGP duty desk",
        officer="pl-of-3",
    )  # fmt: skip
    assert decided.state is RequestState.APPROVED_IN_PART
    with pytest.raises(InputError, match=r"is already decided: approved_in_part by pl-of-3"):
        _desk(pair).deny(received.request_id, reason=DenyReason.OTHER, text="no", officer="pl-of-4")

    answer, delivered = _desk(pair).fetch("fr-ct", fetch.SerializeToString(), fetch)
    assert delivered is not None
    assert answer.state == "approved_in_part"
    release = open_release(
        answer.sealed_release, QUERIER_KEY, owner="pl-ct", querier="fr-ct",
        request_id=received.request_id,
    )  # fmt: skip
    assert [r.fields for r in release.records] == [{"family_name": "Kowalczyk"}]
    with pytest.raises(PeerError, match="the sealed release does not decrypt"):
        open_release(
            answer.sealed_release, X25519PrivateKey.generate(), owner="pl-ct", querier="fr-ct",
            request_id=received.request_id,
        )  # fmt: skip
    assert _owner_entries(pair, EntryKind.DISCLOSURE_REQUESTED) == [(Decision.ANSWERED, None)]
    assert _owner_entries(pair, EntryKind.DISCLOSURE_DECIDED) == [(Decision.APPROVED_IN_PART, None)]
    assert _owner_entries(pair, EntryKind.DISCLOSURE_DELIVERED) == [
        (Decision.APPROVED_IN_PART, None)
    ]


def test_another_peers_request_id_gets_the_answer_of_no_request(stored_pair: Pair) -> None:
    pair = stored_pair
    reference, entry = _checked(pair)
    request = _request(reference, entry)
    received, _ = _desk(pair).receive("fr-ct", request.SerializeToString(), request)
    fetch = disclosure_pb2.FetchRequest(
        context=_context(), disclosure_request_id=received.request_id
    )
    for peer, request_id in (("de-bka", received.request_id), ("fr-ct", bytes(16))):
        fetch.disclosure_request_id = request_id
        with pytest.raises(InputError, match=r"^no disclosure request of yours has this id$"):
            _desk(pair).fetch(peer, fetch.SerializeToString(), fetch)


@pytest.mark.parametrize(
    ("change", "reason", "message"),
    [
        (
            {"fields": ("place_of_birth",)},
            "not_permitted",
            "field place_of_birth is never released from dataset watchlist",
        ),
        ({"fields": ("shoe_size",)}, "malformed_request", "shoe_size is not a record field"),
        ({"reference": bytes(32)}, "unknown_reference", "match reference 1 resolves to no record"),
        (
            {"entry": 0},
            "foreign_or_replayed_reference",
            "do not come from a check this node answered for you",
        ),
        (
            {"urgency": disclosure_pb2.URGENCY_UNSPECIFIED},
            "malformed_request",
            "the urgency is missing",
        ),
        ({"dataset": "vehicles"}, "not_permitted", "dataset vehicles is not available to fr-ct"),
    ],
    ids=["unreleasable", "not-a-field", "guessed", "not-a-check", "no-urgency", "other-dataset"],
)
def test_a_refusal_is_logged_with_its_reason_and_stores_nothing(
    stored_pair: Pair, change: dict[str, object], reason: str, message: str
) -> None:
    pair = stored_pair
    reference, entry = _checked(pair)
    request = _request(
        change.get("reference", reference),  # type: ignore[arg-type]
        change.get("entry", entry),  # type: ignore[arg-type]
        change.get("fields", ("family_name",)),  # type: ignore[arg-type]
    )
    if "urgency" in change:
        request.urgency = change["urgency"]  # type: ignore[assignment]
    if "dataset" in change:
        request.dataset = change["dataset"]  # type: ignore[assignment]
    with pytest.raises(Refusal, match=message) as caught:
        _desk(pair).receive("fr-ct", request.SerializeToString(), request)
    assert caught.value.reason == reason
    assert _owner_entries(pair, EntryKind.DISCLOSURE_REQUESTED) == [(Decision.REFUSED, reason)]
    assert pair.owner.runtime.disclosures.received(bytes(request.context.request_id)) is None


def test_one_check_backs_one_request_only(stored_pair: Pair) -> None:
    pair = stored_pair
    reference, entry = _checked(pair)
    first = _request(reference, entry)
    _desk(pair).receive("fr-ct", first.SerializeToString(), first)
    replay = _request(reference, entry)
    with pytest.raises(Refusal, match=f"the check at entry {entry} already backs") as caught:
        _desk(pair).receive("fr-ct", replay.SerializeToString(), replay)
    assert caught.value.reason == "foreign_or_replayed_reference"


def test_a_standing_rule_decides_at_once_as_automatic(stored_pair: Pair) -> None:
    pair = stored_pair
    reference, entry = _checked(pair)
    rule = StandingRule(
        "kgp-urgent-identity", "fr-ct", ("watchlist",), ("family_name", "date_of_birth"),
        (Urgency.URGENT,), (Handling(HandlingCode.H0),), timedelta(days=7), "KGP duty desk",
    )  # fmt: skip
    runtime = pair.owner.runtime
    config = dataclasses.replace(runtime.config, disclosure_rules=(rule,))
    desk = OwnerDesk(config, runtime.disclosures, runtime.audit)
    request = _request(reference, entry)
    received, _ = desk.receive("fr-ct", request.SerializeToString(), request)
    assert received.state is RequestState.APPROVED
    assert received.decision is not None
    assert received.decision.decided_by == "rule:kgp-urgent-identity"
    assert received.decision.automatic
    assert _owner_entries(pair, EntryKind.DISCLOSURE_DECIDED) == [
        (Decision.APPROVED, "standing_rule")
    ]
