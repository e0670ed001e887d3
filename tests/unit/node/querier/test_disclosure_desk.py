"""The querier's disclosure desk against an owner served in this process (tests/unit/conftest.py).

A check gets a hit; the desk files a request quoting its reference, signed and logged before it
leaves; the owner decides; the desk fetches, verifies and opens the release sealed to its own
key, and logs what came. A reference no check got is refused before anything is sent; the
owner's refusals come back with their reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from unit.conftest import HIT_PROBE, PURPOSE, Pair

from crypto.errors import InputError
from node.audit import Decision, EntryKind
from node.querier.checker import Target
from node.querier.peer_client import PeerRefused, PeerUnavailable
from protocol.disclosure import DenyReason, Handling, HandlingCode, RequestState, Urgency
from protocol.match_keys import Strength

JUSTIFICATION = "Passenger boarding flight LH 1234 matches a wanted person."


def _strong_reference(pair: Pair) -> bytes:
    [result] = pair.querier.querier().check([HIT_PROBE], [Target("pl-ct", "watchlist")], PURPOSE)
    assert result.status == "answered", result.message
    [outcome] = result.outcomes
    return next(h.match_reference for h in outcome.hits if h.strength is Strength.STRONG)


def _file(pair: Pair, reference: bytes, fields: tuple[str, ...]) -> bytes:
    filed = pair.querier.querier_desk().file(
        [reference], fields=fields, urgency=Urgency.URGENT, justification=JUSTIFICATION,
        purpose=PURPOSE,
    )  # fmt: skip
    assert filed.state is RequestState.PENDING
    assert filed.peer == "pl-ct"
    return filed.request_id


def _kinds(pair: Pair) -> list[tuple[EntryKind, Decision | None]]:
    audit = pair.querier.audit
    entries = [audit.entry(i) for i in range(audit.size)]
    return [(e.kind, e.decision) for e in entries if e.kind.value.startswith("disclosure")]


def test_file_decide_fetch_and_open_the_release(stored_pair: Pair) -> None:
    pair = stored_pair
    reference = _strong_reference(pair)
    request_id = _file(pair, reference, ("family_name", "date_of_birth", "document_number"))
    desk = pair.querier.querier_desk()

    pending = desk.fetch(request_id, PURPOSE)
    assert pending.request.state is RequestState.PENDING
    assert pending.release is None

    pair.owner.runtime.owner_desk().approve(
        request_id, fields=["family_name", "date_of_birth"],
        handling=[Handling(HandlingCode.H2)], expires_at=datetime.now(UTC) + timedelta(days=2),
        contact="KGP duty desk", officer="pl-of-3",
    )  # fmt: skip
    fetched = desk.fetch(request_id, PURPOSE)
    assert fetched.request.state is RequestState.APPROVED_IN_PART
    release = fetched.release
    assert release is not None
    assert release.owner == "pl-ct"
    assert release.decided_by == "pl-of-3"
    assert [r.fields for r in release.records] == [
        {"family_name": "Kowalczyk", "date_of_birth": "1988-11-02"}
    ]
    assert [h.code for h in release.handling] == [HandlingCode.H2]
    # The release is kept sealed and opens again from the store.
    assert desk.open_stored(fetched.request) == release
    assert _kinds(pair) == [
        (EntryKind.DISCLOSURE_REQUESTED, Decision.ANSWERED),
        (EntryKind.DISCLOSURE_DELIVERED, Decision.APPROVED_IN_PART),
    ]


def test_a_denial_comes_back_with_its_reason_and_no_release(stored_pair: Pair) -> None:
    pair = stored_pair
    request_id = _file(pair, _strong_reference(pair), ("family_name",))
    pair.owner.runtime.owner_desk().deny(
        request_id, reason=DenyReason.ONGOING_INVESTIGATION, text="Ask again in March.",
        officer="pl-of-3",
    )  # fmt: skip
    fetched = pair.querier.querier_desk().fetch(request_id, PURPOSE)
    assert fetched.request.state is RequestState.DENIED
    assert fetched.request.deny_reason == "ongoing_investigation"
    assert fetched.request.deny_text == "Ask again in March."
    assert fetched.release is None
    assert _kinds(pair)[-1] == (EntryKind.DISCLOSURE_DELIVERED, Decision.DENIED)


def test_a_reference_no_check_got_is_refused_before_anything_is_sent(stored_pair: Pair) -> None:
    pair = stored_pair
    desk = pair.querier.querier_desk()
    with pytest.raises(InputError, match="is not one this node's checks got"):
        desk.file(
            [bytes(32)], fields=["family_name"], urgency=Urgency.URGENT,
            justification=JUSTIFICATION, purpose=PURPOSE,
        )  # fmt: skip
    with pytest.raises(InputError, match="quote at least one match reference"):
        desk.file(
            [], fields=["family_name"], urgency=Urgency.URGENT,
            justification=JUSTIFICATION, purpose=PURPOSE,
        )  # fmt: skip
    with pytest.raises(InputError, match="was filed by this node"):
        desk.fetch(bytes(16), PURPOSE)
    assert _kinds(pair) == []
    assert pair.owner.runtime.disclosures.received(bytes(16)) is None


def test_the_owners_refusal_is_logged_as_refused_with_its_reason(stored_pair: Pair) -> None:
    pair = stored_pair
    reference = _strong_reference(pair)
    with pytest.raises(PeerRefused, match="field place_of_birth is never released") as caught:
        pair.querier.querier_desk().file(
            [reference], fields=["place_of_birth"], urgency=Urgency.STANDARD,
            justification=JUSTIFICATION, purpose=PURPOSE,
        )  # fmt: skip
    assert "refused" in str(caught.value)
    assert _kinds(pair) == [(EntryKind.DISCLOSURE_REQUESTED, Decision.REFUSED)]


def test_an_owner_that_is_down_is_unavailable(stored_pair: Pair) -> None:
    pair = stored_pair
    request_id = _file(pair, _strong_reference(pair), ("family_name",))
    pair.owner.stop()
    with pytest.raises(PeerUnavailable, match="peer pl-ct is unreachable"):
        pair.querier.querier_desk().fetch(request_id, PURPOSE)
