"""A check at the desk as each client's role may see it: the one service the local APIs adapt.

`DeskService` authenticates a client by its token (`node.desk.clients`), counts what it checks
against its quota, states the purpose of its checks (the client's id as the officer of every
check, so that every audit entry names it), and shapes the answer by role:

- `system` and `officer` clients get every member's answer (`check`, per member as it comes);
- `partner` clients screen travellers (`screen`) and get, per traveller, `no_action` or `refer`
  with a referral id — never which member, dataset, kind or strength, never a match reference.
  Each `refer` raises a referral for the officers (`node.desk.referrals`) and a
  `referral_raised` audit entry per member that hit. A screening that not every member answered
  says so (`complete` is false) without saying which member, so that a partner never reads an
  unanswered check as `no_action`;
- `auditor` clients make no checks.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from crypto.errors import InputError, NotPermitted
from node.audit import AuditEntry, AuditLog, EntryKind
from node.desk.checks import CheckDesk, MemberAnswer
from node.desk.clients import ClientStore, DeskClient, Role, check_code
from node.desk.referrals import (
    Referral,
    ReferralHit,
    ReferralState,
    ReferralStore,
    new_referral_id,
)
from protocol.admission import QueryMode
from protocol.check import RequestPurpose

__all__ = [
    "MAX_TRAVELLERS",
    "CheckPurpose",
    "DeskService",
    "Screening",
    "ScreeningOutcome",
    "Traveller",
    "TravellerResult",
]

MAX_TRAVELLERS: Final = 1000
"""Most travellers or probes in one request: a flight's manifest, with room to spare."""

_CASE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class CheckPurpose:
    """What a system or officer states for a check; missing fields come from the client."""

    purpose: str | None = None
    legal_basis: str | None = None
    case_reference: str | None = None


@dataclass(frozen=True)
class Traveller:
    """One traveller of a screening: the partner's own reference for it, and its fields."""

    reference: str
    probe: Mapping[str, object]


class ScreeningOutcome(StrEnum):
    NO_ACTION = "no_action"
    REFER = "refer"


@dataclass(frozen=True)
class TravellerResult:
    reference: str
    outcome: ScreeningOutcome
    referral: str | None = None


@dataclass(frozen=True)
class Screening:
    """What a partner learns of its screening."""

    id: str
    travellers: tuple[TravellerResult, ...]
    complete: bool
    """Whether every member answered for every traveller (which member did not, it is not told)."""


class DeskService:
    """The desk's checks, by client (see the module docstring)."""

    def __init__(
        self,
        desk: CheckDesk,
        clients: ClientStore,
        referrals: ReferralStore,
        audit: AuditLog,
        node_id: str,
    ) -> None:
        self.desk = desk
        self.clients = clients
        self.referrals = referrals
        self._audit = audit
        self._node = node_id

    def authenticate(self, token: str) -> DeskClient:
        """The client of `token`; raises `UnknownPeer` for a token that is not one."""
        return self.clients.authenticate(token)

    def check(
        self,
        client: DeskClient,
        probes: Sequence[Mapping[str, object]],
        stated: CheckPurpose,
        *,
        mode: QueryMode = QueryMode.INDEX,
        members: Sequence[str] | None = None,
    ) -> Iterator[MemberAnswer]:
        """Check `probes` against every member for a system or officer client.

        Raises:
            NotPermitted: a partner or auditor client.
            InputError: no probe, too many, a malformed one, or a purpose field missing.
            QuotaExceeded: the client's quota for today would be exceeded.
        """
        if client.role not in (Role.SYSTEM, Role.OFFICER):
            raise NotPermitted(
                f"client {client.id} ({client.role.value}) may not see check results"
                + ("; partners screen travellers instead" if client.role is Role.PARTNER else "")
            )
        _check_count(len(probes))
        purpose = RequestPurpose(
            client.id,
            _required(stated.purpose or client.purpose, "purpose"),
            _required(stated.legal_basis or client.legal_basis, "legal basis"),
            _required(stated.case_reference, "case reference"),
        )
        self.desk.targets(members)  # a wrong member name is refused before anything counts
        self.clients.charge(client, len(probes))
        return self.desk.check(probes, purpose, mode=mode, members=members)

    def screen(self, client: DeskClient, travellers: Sequence[Traveller]) -> Screening:
        """Screen travellers for a partner client: `no_action` or `refer` for each.

        Raises:
            NotPermitted: a client that is not a partner.
            InputError: no traveller, too many, a malformed one, or a reference used twice.
            QuotaExceeded: the client's quota for today would be exceeded.
        """
        if client.role is not Role.PARTNER:
            raise NotPermitted(f"client {client.id} ({client.role.value}) is not a partner")
        _check_count(len(travellers))
        references = [traveller.reference for traveller in travellers]
        if len(set(references)) != len(references):
            raise InputError("each traveller needs a reference of its own in the screening")
        assert client.purpose is not None
        assert client.legal_basis is not None
        screening_id = "S-" + "".join(secrets.choice(_CASE_ALPHABET) for _ in range(10))
        purpose = RequestPurpose(client.id, client.purpose, client.legal_basis, screening_id)
        probes = [traveller.probe for traveller in travellers]
        self.clients.charge(client, len(probes))
        hits: list[list[ReferralHit]] = [[] for _ in travellers]
        complete = True
        for answer in self.desk.check(probes, purpose):
            for dataset in answer.datasets:
                if dataset.status != "answered":
                    complete = False
                    continue
                for number, outcome in enumerate(dataset.outcomes):
                    if outcome.hit:
                        hits[number].append(
                            ReferralHit(
                                answer.member,
                                dataset.dataset,
                                tuple((h.kind, h.strength.value) for h in outcome.hits),
                                outcome.hits[0].match_reference.hex(),
                            )
                        )
        results = []
        for traveller, found in zip(travellers, hits, strict=True):
            if not found:
                results.append(TravellerResult(traveller.reference, ScreeningOutcome.NO_ACTION))
                continue
            referral = self._refer(client, screening_id, traveller, found)
            results.append(TravellerResult(traveller.reference, ScreeningOutcome.REFER, referral))
        return Screening(screening_id, tuple(results), complete)

    def _refer(
        self,
        client: DeskClient,
        screening_id: str,
        traveller: Traveller,
        found: Sequence[ReferralHit],
    ) -> str:
        referral_id = new_referral_id()
        now = datetime.now(UTC)
        self.referrals.add(
            Referral(
                referral_id,
                client.id,
                now,
                traveller.reference,
                dict(traveller.probe),
                tuple(found),
                ReferralState.OPEN,
            )
        )
        self._audit.append_many(
            [
                AuditEntry(
                    kind=EntryKind.REFERRAL_RAISED,
                    time=now,
                    node=self._node,
                    officer=client.id,
                    counterpart=hit.member,
                    dataset=hit.dataset,
                    purpose=client.purpose,
                    legal_basis=client.legal_basis,
                    case_reference=screening_id,
                    reason=referral_id,
                )
                for hit in found
            ]
        )
        return referral_id


def _check_count(count: int) -> None:
    if not 1 <= count <= MAX_TRAVELLERS:
        raise InputError(f"expected 1 to {MAX_TRAVELLERS} probes in one request, got {count}")


def _required(value: str | None, what: str) -> str:
    if not value:
        raise InputError(f"{what} is missing: state it, or give the client one")
    checked = check_code(value, what)
    assert checked is not None
    return checked
