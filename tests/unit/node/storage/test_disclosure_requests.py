"""`node.storage.disclosure_requests`: the disclosure tables of a node database, on a real SQLite
file."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from crypto.errors import InputError
from node.storage.disclosure_requests import (
    Decision,
    DisclosureStore,
    ReceivedRequest,
    SentRequest,
    StoredHit,
)
from protocol.disclosure import (
    DenyReason,
    Handling,
    HandlingCode,
    InvalidTransition,
    RequestState,
    Urgency,
    due_at,
)

T0 = datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)
PEER = "de-bka"


def request_id(n: int) -> bytes:
    return n.to_bytes(2, "big") + bytes(range(14))


def received_of(n: int, *, entry: int | None = None, peer: str = PEER) -> ReceivedRequest:
    received_at = T0 + timedelta(minutes=n)
    return ReceivedRequest(
        request_id=request_id(n),
        peer=peer,
        dataset="persons",
        received_at=received_at,
        due_at=due_at(received_at, Urgency.URGENT),
        urgency=Urgency.URGENT,
        officer="de-of-17",
        purpose="border-check",
        legal_basis="EU-2016/680:Art.8",
        case_reference=f"DE-2026-{n:04d}",
        justification="Boarding flight LH 1234.\nMatches a wanted person.",
        requested_fields=("family_name", "date_of_birth"),
        references=(bytes([n % 251]) * 32, bytes([n % 251 + 1]) * 32),
        records=("rec-1", "rec-2"),
        check_entry_index=100 + n if entry is None else entry,
        recipient_key=bytes([9]) * 32,
        request_digest=bytes([n % 251]) * 32,
        state=RequestState.PENDING,
        decision=None,
        sealed_release=None,
        decision_logged=False,
        delivered_at=None,
        deliveries=0,
    )


def approval(officer: str = "fr-of-9", at: datetime = T0 + timedelta(hours=1)) -> Decision:
    return Decision(
        state=RequestState.APPROVED_IN_PART,
        decided_at=at,
        decided_by=officer,
        automatic=False,
        approved_fields=("family_name",),
        handling=(Handling(HandlingCode.H2), Handling(HandlingCode.H3, "destroy after use")),
        expires_at=at + timedelta(days=30),
        contact="DCPJ duty desk",
    )


def denial(officer: str = "fr-of-10", at: datetime = T0 + timedelta(hours=2)) -> Decision:
    return Decision(
        state=RequestState.DENIED,
        decided_at=at,
        decided_by=officer,
        automatic=False,
        deny_reason=DenyReason.NOT_PROPORTIONATE,
        deny_text="too broad",
    )


def sent_of(n: int) -> SentRequest:
    filed_at = T0 + timedelta(minutes=n)
    return SentRequest(
        request_id=request_id(n),
        peer="fr-ct",
        dataset="persons",
        filed_at=filed_at,
        due_at=due_at(filed_at, Urgency.STANDARD),
        urgency=Urgency.STANDARD,
        officer="de-of-17",
        case_reference=f"DE-2026-{n:04d}",
        references=(bytes([n % 251]) * 32,),
        requested_fields=("family_name", "given_names"),
        state=RequestState.PENDING,
        deny_reason=None,
        deny_text=None,
        sealed_release=None,
        expires_at=None,
        fetched_at=None,
        owner_answer=None,
    )


def hit_of(reference: bytes, entry: int, at: datetime, peer: str = "fr-ct") -> StoredHit:
    return StoredHit(peer, "persons", reference, entry, at, f"case-{entry}")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "node.db"


@pytest.fixture
def store(database: Path) -> Iterator[DisclosureStore]:
    with DisclosureStore(database) as opened:
        yield opened


# -- received requests -----------------------------------------------------------------------------


def test_a_received_request_comes_back_as_stored(store: DisclosureStore) -> None:
    request = received_of(1)
    store.add_received(request)
    assert store.received(request.request_id) == request
    assert store.list_received() == [request]
    assert store.received(request_id(2)) is None


def test_times_come_back_as_the_same_instant_in_utc(store: DisclosureStore) -> None:
    paris = timezone(timedelta(hours=1))
    request = dataclasses.replace(received_of(1), received_at=T0.astimezone(paris))
    store.add_received(request)
    found = store.received(request.request_id)
    assert found is not None
    assert found.received_at == T0
    assert found.received_at.utcoffset() == timedelta(0)


def test_received_requests_are_listed_in_order_of_arrival(store: DisclosureStore) -> None:
    for n in (3, 1, 2):
        store.add_received(received_of(n))
    assert [r.request_id for r in store.list_received()] == [request_id(n) for n in (1, 2, 3)]


def test_a_check_backs_one_request_only(store: DisclosureStore) -> None:
    store.add_received(received_of(1, entry=7))
    assert store.check_entry_used(PEER, 7)
    with pytest.raises(InputError, match="already backs an earlier disclosure request"):
        store.add_received(received_of(2, entry=7))
    assert [r.request_id for r in store.list_received()] == [request_id(1)]
    # The same entry index seen by another peer is another check.
    assert not store.check_entry_used("es-cnp", 7)
    store.add_received(received_of(3, entry=7, peer="es-cnp"))
    assert len(store.list_received()) == 2


def test_a_request_id_is_stored_once(store: DisclosureStore) -> None:
    store.add_received(received_of(1, entry=7))
    with pytest.raises(InputError):
        store.add_received(received_of(1, entry=8))
    assert not store.check_entry_used(PEER, 8)
    assert store.list_received() == [received_of(1, entry=7)]


# -- decisions -------------------------------------------------------------------------------------


def test_a_decision_moves_a_pending_request_once(store: DisclosureStore) -> None:
    store.add_received(received_of(1))
    store.record_decision(request_id(1), approval(), b"sealed release")
    found = store.received(request_id(1))
    assert found is not None
    assert found.state is RequestState.APPROVED_IN_PART
    assert found.decision == approval()
    assert found.sealed_release == b"sealed release"
    assert not found.decision_logged


def test_a_denial_is_stored_with_its_reason(store: DisclosureStore) -> None:
    store.add_received(received_of(1))
    store.record_decision(request_id(1), denial(), None)
    found = store.received(request_id(1))
    assert found is not None
    assert found.state is RequestState.DENIED
    assert found.decision == denial()
    assert found.sealed_release is None


def test_a_second_decision_is_refused_and_names_who_decided(store: DisclosureStore) -> None:
    store.add_received(received_of(1))
    store.record_decision(request_id(1), approval("fr-of-9"), b"first")
    with pytest.raises(InvalidTransition) as caught:
        store.record_decision(request_id(1), denial("fr-of-10"), None)
    message = str(caught.value)
    assert message.startswith(f"request {request_id(1).hex()[:12]} is already decided")
    assert "approved_in_part by fr-of-9 at 2026-03-01T13:30:45Z" in message
    # The first decision stands untouched.
    found = store.received(request_id(1))
    assert found is not None
    assert found.decision == approval("fr-of-9")
    assert found.sealed_release == b"first"


def test_a_rule_and_an_officer_cannot_both_decide(store: DisclosureStore) -> None:
    store.add_received(received_of(1))
    automatic = dataclasses.replace(approval("rule:bka-identity"), automatic=True)
    store.record_decision(request_id(1), automatic, b"sealed")
    with pytest.raises(InvalidTransition, match="by rule:bka-identity"):
        store.record_decision(request_id(1), approval("fr-of-9"), b"other")
    found = store.received(request_id(1))
    assert found is not None
    assert found.decision is not None
    assert found.decision.automatic


def test_deciding_an_unknown_request_is_refused(store: DisclosureStore) -> None:
    with pytest.raises(InputError, match=f"no disclosure request {request_id(5).hex()}"):
        store.record_decision(request_id(5), approval(), b"sealed")


def test_concurrent_decisions_have_one_winner(database: Path) -> None:
    with DisclosureStore(database) as first:
        first.add_received(received_of(1))
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def decide(officer: str) -> None:
        with DisclosureStore(database) as store:
            barrier.wait()
            try:
                store.record_decision(request_id(1), approval(officer), officer.encode())
            except InvalidTransition:
                outcomes.append("refused")
            else:
                outcomes.append(officer)

    threads = [threading.Thread(target=decide, args=(f"fr-of-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1
    assert outcomes.count("refused") == 7
    with DisclosureStore(database) as store:
        found = store.received(request_id(1))
    assert found is not None
    assert found.decision is not None
    assert found.decision.decided_by == winners[0]
    assert found.sealed_release == winners[0].encode()


def test_unlogged_decisions_until_marked(store: DisclosureStore) -> None:
    for n in (1, 2, 3):
        store.add_received(received_of(n))
    assert store.unlogged_decisions() == []
    store.record_decision(request_id(2), denial(at=T0 + timedelta(hours=3)), None)
    store.record_decision(request_id(1), approval(at=T0 + timedelta(hours=4)), b"sealed")
    unlogged = store.unlogged_decisions()
    # Oldest decision first; the pending request is not among them.
    assert [r.request_id for r in unlogged] == [request_id(2), request_id(1)]
    assert not any(r.decision_logged for r in unlogged)
    store.mark_decision_logged(request_id(2))
    assert [r.request_id for r in store.unlogged_decisions()] == [request_id(1)]
    logged = store.received(request_id(2))
    assert logged is not None
    assert logged.decision_logged
    store.mark_decision_logged(request_id(1))
    assert store.unlogged_decisions() == []


def test_deliveries_are_counted_and_the_first_time_kept(store: DisclosureStore) -> None:
    store.add_received(received_of(1))
    store.record_decision(request_id(1), approval(), b"sealed")
    first = T0 + timedelta(hours=5)
    store.mark_delivered(request_id(1), first)
    store.mark_delivered(request_id(1), first + timedelta(hours=1))
    store.mark_delivered(request_id(1), first + timedelta(days=2))
    found = store.received(request_id(1))
    assert found is not None
    assert found.deliveries == 3
    assert found.delivered_at == first


def test_current_state_shows_an_approval_past_its_expiry_as_expired(
    store: DisclosureStore,
) -> None:
    store.add_received(received_of(1))
    store.record_decision(request_id(1), approval(), b"sealed")
    found = store.received(request_id(1))
    assert found is not None
    expires = approval().expires_at
    assert expires is not None
    assert found.current_state(expires - timedelta(seconds=1)) is RequestState.APPROVED_IN_PART
    assert found.current_state(expires) is RequestState.EXPIRED


def test_a_pending_request_past_its_due_time_is_overdue(store: DisclosureStore) -> None:
    store.add_received(received_of(1))
    store.add_received(received_of(2))
    store.record_decision(request_id(2), denial(), None)
    pending, decided = store.list_received()
    late = pending.due_at + timedelta(seconds=1)
    assert not pending.overdue(pending.due_at)
    assert pending.overdue(late)
    assert pending.current_state(late) is RequestState.PENDING
    assert not decided.overdue(late + timedelta(days=30))


# -- finding a request by a prefix of its id ------------------------------------------------------


def test_find_received_by_prefix(store: DisclosureStore) -> None:
    store.add_received(received_of(0x0A0B))
    store.add_received(received_of(0x0C0D))
    full = request_id(0x0A0B).hex()
    assert store.find_received(full[:8]).request_id == request_id(0x0A0B)
    assert store.find_received(full).request_id == request_id(0x0A0B)
    assert store.find_received(f"  {full[:10].upper()} ").request_id == request_id(0x0A0B)


@pytest.mark.parametrize("prefix", ["", "0a0b", "0a0b000", "0a0b0001z", "0a0b-0001", "g" * 8])
def test_find_received_refuses_what_is_not_a_prefix(store: DisclosureStore, prefix: str) -> None:
    store.add_received(received_of(0x0A0B))
    with pytest.raises(InputError, match="is not a request id: give at least 8 hex digits"):
        store.find_received(prefix)


def test_find_received_refuses_an_ambiguous_prefix(store: DisclosureStore) -> None:
    # Both ids start 0a0b0001 (see request_id); the third byte differs.
    store.add_received(received_of(0x0A0B))
    store.add_received(dataclasses.replace(received_of(2), request_id=bytes.fromhex("0a0b0001ff")))
    with pytest.raises(InputError, match="0a0b0001 names 2 requests: give more digits"):
        store.find_received("0a0b0001")
    assert store.find_received("0a0b0001ff").request_id == bytes.fromhex("0a0b0001ff")


def test_find_received_refuses_a_missing_request(store: DisclosureStore) -> None:
    store.add_received(received_of(0x0A0B))
    with pytest.raises(InputError, match="no disclosure request ffffffff"):
        store.find_received("ffffffff")


# -- sent requests and hits ------------------------------------------------------------------------


def test_a_sent_request_comes_back_as_stored(store: DisclosureStore) -> None:
    store.add_sent(sent_of(2))
    store.add_sent(sent_of(1))
    assert store.sent(request_id(1)) == sent_of(1)
    assert store.sent(request_id(3)) is None
    assert store.list_sent() == [sent_of(1), sent_of(2)]
    assert store.find_sent(request_id(2).hex()[:8]) == sent_of(2)
    with pytest.raises(InputError, match="no disclosure request 0003"):
        store.find_sent(request_id(3).hex()[:8])


def test_update_sent_records_the_answer(store: DisclosureStore) -> None:
    store.add_sent(sent_of(1))
    fetched = T0 + timedelta(hours=2)
    expires = T0 + timedelta(days=30)
    store.update_sent(
        request_id(1),
        state=RequestState.APPROVED,
        fetched_at=fetched,
        owner_answer=b"signed answer",
        sealed_release=b"sealed",
        expires_at=expires,
    )
    found = store.sent(request_id(1))
    assert found == dataclasses.replace(
        sent_of(1),
        state=RequestState.APPROVED,
        fetched_at=fetched,
        owner_answer=b"signed answer",
        sealed_release=b"sealed",
        expires_at=expires,
    )
    # A later fetch without a release keeps the one already held, and its expiry.
    later = fetched + timedelta(days=1)
    store.update_sent(
        request_id(1), state=RequestState.APPROVED, fetched_at=later, owner_answer=b"again"
    )
    found = store.sent(request_id(1))
    assert found is not None
    assert (found.sealed_release, found.expires_at) == (b"sealed", expires)
    assert (found.fetched_at, found.owner_answer) == (later, b"again")


def test_update_sent_records_a_denial(store: DisclosureStore) -> None:
    store.add_sent(sent_of(1))
    store.update_sent(
        request_id(1),
        state=RequestState.DENIED,
        fetched_at=T0,
        owner_answer=b"answer",
        deny_reason="source_protection",
        deny_text="",
    )
    found = store.sent(request_id(1))
    assert found is not None
    assert found.state is RequestState.DENIED
    assert (found.deny_reason, found.deny_text) == ("source_protection", "")
    assert found.sealed_release is None


def test_hits_newest_first_and_duplicates_ignored(store: DisclosureStore) -> None:
    reference = bytes([0xAB]) * 32
    old = hit_of(reference, 10, T0)
    new = hit_of(reference, 20, T0 + timedelta(days=1))
    other = hit_of(bytes([0xCD]) * 32, 30, T0 + timedelta(days=2))
    store.add_hits([old, new, other])
    store.add_hits([old, dataclasses.replace(new, case_reference="changed")])
    assert store.hits_for(reference) == [new, old]
    assert store.hits_for(bytes([0xCD]) * 32) == [other]
    assert store.hits_for(bytes(32)) == []
    store.add_hits([])
    # The same reference from another owner's check is another hit.
    elsewhere = hit_of(reference, 10, T0 + timedelta(hours=1), peer="es-cnp")
    store.add_hits([elsewhere])
    assert store.hits_for(reference) == [new, elsewhere, old]


# -- durability ------------------------------------------------------------------------------------


def test_everything_is_found_again_after_a_restart(database: Path) -> None:
    hit = hit_of(bytes([0xAB]) * 32, 10, T0)
    with DisclosureStore(database) as store:
        for n in (1, 2, 3):
            store.add_received(received_of(n))
        store.record_decision(request_id(1), approval(), b"sealed")
        store.mark_decision_logged(request_id(1))
        store.mark_delivered(request_id(1), T0 + timedelta(hours=6))
        store.record_decision(request_id(2), denial(), None)
        store.add_sent(sent_of(4))
        store.update_sent(
            request_id(4), state=RequestState.PENDING, fetched_at=T0, owner_answer=b"pending"
        )
        store.add_hits([hit])
        before = (store.list_received(), store.list_sent())

    with DisclosureStore(database) as store:
        assert (store.list_received(), store.list_sent()) == before
        first, second, third = store.list_received()
        assert first.decision == approval()
        assert first.decision_logged
        assert (first.deliveries, first.delivered_at) == (1, T0 + timedelta(hours=6))
        assert second.decision == denial()
        assert [r.request_id for r in store.unlogged_decisions()] == [request_id(2)]
        assert third == received_of(3)
        assert store.hits_for(hit.reference) == [hit]
        assert store.check_entry_used(PEER, received_of(1).check_entry_index)
        with pytest.raises(InvalidTransition, match="by fr-of-9"):
            store.record_decision(request_id(1), denial(), None)
        with pytest.raises(InputError, match="already backs"):
            store.add_received(received_of(9, entry=received_of(3).check_entry_index))
