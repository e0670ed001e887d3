"""A check at the desk, by role, against a federation served in this process.

A system sees every member's answer; a partner learns only no_action or refer with a referral
id, and the officers get the referral with everything the partner does not see; an auditor
checks nothing; each check names the client in every audit entry; a screening that a member did
not answer is marked incomplete without naming the member.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from unit.conftest import HIT_PROBE, MISS_PROBE, OWNERS, Federation

from crypto.errors import InputError, NotPermitted
from node.audit import EntryKind
from node.desk.checks import CheckDesk
from node.desk.clients import ClientStore, Role
from node.desk.referrals import ReferralState, ReferralStore
from node.desk.service import CheckPurpose, DeskService, ScreeningOutcome, Traveller

OWNER_IDS = sorted(owner for owner, _ in OWNERS)
STATED = CheckPurpose("border-check", "EU-2016/680:Art.8", "FR-2026-0117")


@pytest.fixture
def service(federation: Federation) -> Iterator[DeskService]:
    runtime = federation.querier
    database = runtime.config.node.database
    desk = CheckDesk(runtime.querier(), runtime.config.peers, runtime.config.node.id)
    clients, referrals = ClientStore(database), ReferralStore(database)
    yield DeskService(desk, clients, referrals, runtime.audit, runtime.config.node.id)
    desk.close()
    clients.close()
    referrals.close()


def test_a_system_sees_every_members_answer_and_is_named_in_the_log(
    service: DeskService, federation: Federation
) -> None:
    client, token = service.clients.add("border-cdg", Role.SYSTEM)
    assert service.authenticate(token) == client
    answers = list(service.check(client, [HIT_PROBE, MISS_PROBE], STATED))
    assert sorted(a.member for a in answers) == OWNER_IDS
    assert all([o.hit for o in a.datasets[0].outcomes] == [True, False] for a in answers)
    audit = federation.querier.audit
    sent = [
        e for e in (audit.entry(i) for i in range(audit.size)) if e.kind is EntryKind.CHECK_SENT
    ]
    assert sent
    assert {e.officer for e in sent} == {"border-cdg"}
    assert {e.case_reference for e in sent} == {"FR-2026-0117"}


def test_a_system_must_state_why(service: DeskService) -> None:
    client, _ = service.clients.add("border-cdg", Role.SYSTEM)
    with pytest.raises(InputError, match="case reference is missing"):
        list(service.check(client, [HIT_PROBE], dataclasses.replace(STATED, case_reference=None)))
    with pytest.raises(InputError, match="purpose: expected a code without spaces"):
        list(service.check(client, [HIT_PROBE], dataclasses.replace(STATED, purpose="a b")))
    with pytest.raises(InputError, match="expected 1 to 1000 probes in one request, got 0"):
        list(service.check(client, [], STATED))


def test_a_partner_learns_refer_or_no_action_and_the_officers_the_rest(
    service: DeskService, federation: Federation
) -> None:
    partner, _ = service.clients.add(
        "airline-lh", Role.PARTNER, purpose="carrier-screening", legal_basis="EU-2016/681"
    )
    with pytest.raises(NotPermitted, match="partners screen travellers instead"):
        list(service.check(partner, [HIT_PROBE], STATED))
    screening = service.screen(
        partner, [Traveller("PNR-1", MISS_PROBE), Traveller("PNR-2", HIT_PROBE)]
    )
    assert screening.complete
    first, second = screening.travellers
    assert (first.reference, first.outcome, first.referral) == (
        "PNR-1", ScreeningOutcome.NO_ACTION, None,
    )  # fmt: skip
    assert (second.reference, second.outcome) == ("PNR-2", ScreeningOutcome.REFER)
    assert second.referral is not None
    assert second.referral.startswith("R-")
    # What the partner learns has no member, dataset, kind, strength or reference in it.
    assert set(dataclasses.asdict(second)) == {"reference", "outcome", "referral"}
    referral = service.referrals.get(second.referral)
    assert referral.state is ReferralState.OPEN
    assert (referral.client, referral.traveller) == ("airline-lh", "PNR-2")
    assert sorted(h.member for h in referral.hits) == OWNER_IDS
    assert all(h.dataset == "watchlist" and h.kinds and len(h.match_reference) == 64
               for h in referral.hits)  # fmt: skip
    audit = federation.querier.audit
    raised = [
        e for e in (audit.entry(i) for i in range(audit.size))
        if e.kind is EntryKind.REFERRAL_RAISED
    ]  # fmt: skip
    assert sorted(e.counterpart or "" for e in raised) == OWNER_IDS
    assert {(e.officer, e.reason, e.case_reference) for e in raised} == {
        ("airline-lh", second.referral, screening.id)
    }


def test_a_screening_a_member_did_not_answer_is_marked_incomplete(
    service: DeskService, federation: Federation
) -> None:
    partner, _ = service.clients.add(
        "airline-lh", Role.PARTNER, purpose="carrier-screening", legal_basis="EU-2016/681"
    )
    federation.owners[OWNER_IDS[0]].stop()
    screening = service.screen(partner, [Traveller("PNR-2", HIT_PROBE)])
    assert not screening.complete
    # The other member's hit still refers the traveller.
    assert screening.travellers[0].outcome is ScreeningOutcome.REFER
    (hit,) = service.referrals.get(screening.travellers[0].referral or "").hits
    assert hit.member == OWNER_IDS[1]


def test_an_auditor_checks_nothing_and_a_partner_reference_counts_once(
    service: DeskService,
) -> None:
    auditor, _ = service.clients.add("audit-1", Role.AUDITOR)
    with pytest.raises(NotPermitted, match="may not see check results"):
        list(service.check(auditor, [HIT_PROBE], STATED))
    with pytest.raises(NotPermitted, match="is not a partner"):
        service.screen(auditor, [Traveller("PNR-1", HIT_PROBE)])
    partner, _ = service.clients.add(
        "airline-lh", Role.PARTNER, purpose="carrier-screening", legal_basis="EU-2016/681"
    )
    with pytest.raises(InputError, match="a reference of its own"):
        service.screen(partner, [Traveller("PNR-1", HIT_PROBE), Traveller("PNR-1", MISS_PROBE)])
