"""The owner's checks of an incoming disclosure request, in order, as a pure state machine.

A disclosure request quotes match references from a check the owner answered, and asks for some
fields of the records they match. Before the owner stores anything, the request passes these
steps, in this order (`node.owner.disclosure_desk` feeds them from its configuration, audit log
and dataset store, and logs a refusal with `refusal_reason`):

1. `check_dataset`: the peer has a policy rule for the dataset (a dataset the owner lacks is
   refused with the same words, so that peers cannot list datasets by name);
2. `check_fields`: the fields asked for are well formed, record fields, and fields the dataset
   may ever release;
3. `check_justification`: a justification a deciding officer can read;
4. `check_urgency`: urgent or standard, stated;
5. `check_recipient_key`: an X25519 key a release can be sealed to (not a low-order point);
6. `check_references`: 1 to `MAX_REFERENCES` references of 32 bytes each;
7. `check_quoted_check`: the quoted audit entry is a check (`check_received` or `owner_match`)
   this owner ANSWERED for *this* peer on *this* dataset, with at least as many elements as
   references, at most `CHECK_VALIDITY` old, and no earlier request quoted it — so a reference
   another peer got, or one replayed from an older request, backs nothing;
8. `check_resolved`: every reference resolves to a record among the dataset's current tags (a
   guessed one does not; after a key rotation the querier must check again).

A step called out of order raises `RuntimeError`. Nothing here reads a clock, the audit log or
the database: what they hold is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from crypto.errors import (
    BlindhitError,
    ForeignReference,
    InputError,
    NotPermitted,
    UnknownReference,
)
from crypto.hpke import public_key_from_bytes
from protocol.disclosure import (
    MAX_REFERENCES,
    Urgency,
    check_field_names,
    check_justification,
)

__all__ = [
    "CHECK_VALIDITY",
    "REFERENCE_BYTES",
    "DisclosureAdmission",
    "QuotedCheck",
    "refusal_reason",
]

CHECK_VALIDITY: Final = timedelta(days=30)
"""How long after a check its references may back a disclosure request."""

REFERENCE_BYTES: Final = 32


@dataclass(frozen=True)
class QuotedCheck:
    """What the owner's audit log says of the entry a request quotes."""

    is_check: bool
    """The entry records a check (`check_received` or `owner_match`)."""
    counterpart: str | None
    dataset: str | None
    answered: bool
    element_count: int
    time: datetime


class _Step(Enum):
    NEW = 0
    DATASET = 1
    FIELDS = 2
    JUSTIFICATION = 3
    URGENCY = 4
    RECIPIENT = 5
    REFERENCES = 6
    QUOTED = 7
    RESOLVED = 8


_NAMES: Final = {
    _Step.DATASET: "check the dataset",
    _Step.FIELDS: "check the fields",
    _Step.JUSTIFICATION: "check the justification",
    _Step.URGENCY: "check the urgency",
    _Step.RECIPIENT: "check the recipient key",
    _Step.REFERENCES: "check the references",
    _Step.QUOTED: "check the quoted check",
    _Step.RESOLVED: "resolve the references",
}

_FOREIGN: Final = (
    "the match references do not come from a check this node answered for you; "
    "quote the check's receipt entry"
)


class DisclosureAdmission:
    """One disclosure request's way through the owner's checks; each method is one step."""

    def __init__(self, peer: str, dataset: str) -> None:
        self.peer = peer
        self.dataset = dataset
        self._step = _Step.NEW
        self.references: tuple[bytes, ...] = ()

    def _enter(self, to: _Step) -> None:
        before = _Step(to.value - 1)
        if self._step is before:
            return
        if self._step.value >= to.value:
            raise RuntimeError(f"cannot {_NAMES[to]} twice")
        raise RuntimeError(f"cannot {_NAMES[to]} before {_NAMES[before]}")

    def check_dataset(self, *, has_rule: bool) -> None:
        """Step 1: `has_rule` is whether the peer has a rule for a dataset the owner holds."""
        self._enter(_Step.DATASET)
        if not has_rule:
            raise NotPermitted(f"dataset {self.dataset} is not available to {self.peer}")
        self._step = _Step.DATASET

    def check_fields(
        self,
        requested: Sequence[str],
        *,
        record_fields: Collection[str],
        releasable: Callable[[str], bool],
    ) -> tuple[str, ...]:
        """Step 2: the requested field names, checked and in their canonical order."""
        self._enter(_Step.FIELDS)
        fields = check_field_names(list(requested), "requested fields")
        for name in fields:
            if name not in record_fields:
                raise InputError(f"requested field {name} is not a record field")
            if not releasable(name):
                raise NotPermitted(f"field {name} is never released from dataset {self.dataset}")
        self._step = _Step.FIELDS
        return fields

    def check_justification(self, text: str) -> str:
        """Step 3: the justification, as the deciding officer will read it."""
        self._enter(_Step.JUSTIFICATION)
        justification = check_justification(text)
        self._step = _Step.JUSTIFICATION
        return justification

    def check_urgency(self, urgency: Urgency | None) -> Urgency:
        """Step 4: None stands for an urgency the request did not state (or not understood)."""
        self._enter(_Step.URGENCY)
        if urgency is None:
            raise InputError("the urgency is missing: urgent or standard")
        self._step = _Step.URGENCY
        return urgency

    def check_recipient_key(self, key: bytes) -> None:
        """Step 5: raises `InvalidEncoding` for a key a release could not be sealed to."""
        self._enter(_Step.RECIPIENT)
        public_key_from_bytes(key)
        self._step = _Step.RECIPIENT

    def check_references(self, references: Sequence[bytes]) -> tuple[bytes, ...]:
        """Step 6: how many references, and their length."""
        self._enter(_Step.REFERENCES)
        if not 1 <= len(references) <= MAX_REFERENCES:
            raise InputError(f"quote 1 to {MAX_REFERENCES} match references, not {len(references)}")
        if any(len(reference) != REFERENCE_BYTES for reference in references):
            raise InputError(f"a match reference must be {REFERENCE_BYTES} bytes")
        self.references = tuple(bytes(reference) for reference in references)
        self._step = _Step.REFERENCES
        return self.references

    def check_quoted_check(
        self, index: int, quoted: QuotedCheck | None, *, already_quoted: bool, now: datetime
    ) -> None:
        """Step 7: `quoted` is the owner's entry `index` (None past the end of its log)."""
        self._enter(_Step.QUOTED)
        if (
            quoted is None
            or not quoted.is_check
            or quoted.counterpart != self.peer
            or quoted.dataset != self.dataset
            or not quoted.answered
            or quoted.element_count < len(self.references)
        ):
            raise ForeignReference(_FOREIGN)
        if now - quoted.time > CHECK_VALIDITY:
            raise ForeignReference(
                f"the check at entry {index} is older than {CHECK_VALIDITY.days} days"
            )
        if already_quoted:
            raise ForeignReference(
                f"the check at entry {index} already backs a disclosure request; check again"
            )
        self._step = _Step.QUOTED

    def check_resolved(self, found: Sequence[Sequence[str]]) -> tuple[str, ...]:
        """Step 8: `found[i]` lists the record ids reference `i` matches; returns them all, once."""
        self._enter(_Step.RESOLVED)
        if len(found) != len(self.references):
            raise RuntimeError("expected one lookup result per reference")
        records: list[str] = []
        for number, record_ids in enumerate(found, start=1):
            if not record_ids:
                raise UnknownReference(
                    f"match reference {number} resolves to no record of {self.dataset}: guessed, "
                    "foreign, or from before a key rotation (check again)"
                )
            records.extend(record_ids)
        self._step = _Step.RESOLVED
        return tuple(dict.fromkeys(records))

    @property
    def admitted(self) -> bool:
        """Whether every step has passed."""
        return self._step is _Step.RESOLVED


def refusal_reason(error: BlindhitError) -> str:
    """The reason code an audit entry records for a disclosure request refused with `error`."""
    if isinstance(error, NotPermitted):
        return "not_permitted"
    if isinstance(error, UnknownReference):
        return "unknown_reference"
    if isinstance(error, ForeignReference):
        return "foreign_or_replayed_reference"
    return "malformed_request"
