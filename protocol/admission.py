"""The owner's admission of a peer's request: the ordered checks, as a pure state machine.

Before an owner evaluates anything for a peer (a blind evaluation, an owner match, an index sync,
a disclosure request), the request passes these steps, in this order:

1. `check_context`: the request names the connected peer as its querier, carries a 16-byte
   request id, and its purpose fields (officer, purpose, legal basis, case reference) are
   present codes that the audit log can record faithfully;
2. `authorize`: the peer has a policy rule for the dataset that allows the query mode, and the
   batch holds at least one element and fits both the rule's and the node's batch limit;
3. `check_epoch`: the request names the dataset's current epoch;
4. `check_fresh`: the request was signed within `FRESHNESS` of the owner's clock;
5. `check_quota`: the elements fit what is left of the peer's daily quota (the caller reads the
   use so far and writes the new one in the same transaction; see `node.owner.policy`).

A step called before the one it follows raises `RuntimeError("cannot ... before ...")`, so a
servicer cannot skip one by mistake; a failed step raises the error family that says why
(`PeerError`, `NotPermitted`, `StaleEpoch`, `QuotaExceeded`), and `refusal_reason` turns it into
the reason code of the audit entry that records the refusal. Nothing here reads a clock, a
database or the network: time and usage are arguments.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from typing import Final, Protocol

from crypto.errors import (
    BatchTooLarge,
    BlindhitError,
    NotPermitted,
    PeerError,
    PolicyError,
    QuotaExceeded,
    StaleEpoch,
    UnknownPeer,
)

__all__ = [
    "CODE_LIMITS",
    "FRESHNESS",
    "REQUEST_ID_BYTES",
    "Admission",
    "PurposeFields",
    "QueryMode",
    "Rule",
    "check_fresh",
    "check_purpose_fields",
    "refusal_reason",
]

# How far a request's signing time may lie from the owner's clock. Five minutes absorbs clock
# drift between countries' servers while keeping the replay window (twice this) small.
FRESHNESS: Final = timedelta(minutes=5)
REQUEST_ID_BYTES: Final = 16

# The grammar of purpose fields is the audit log's (`node.audit.entries`): codes without spaces,
# so that a request that cannot be logged faithfully is refused before anything is evaluated.
_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/()#-]*")
CODE_LIMITS: Final = {"officer_id": 64, "purpose": 64, "legal_basis": 128, "case_reference": 64}


class QueryMode(StrEnum):
    """How a peer may query a dataset."""

    INDEX = "index"
    """The querier syncs the match index and looks its tags up itself; the owner never learns
    the outcome."""
    OWNER_MATCH = "owner-match"
    """The querier sends finalised tags back and the owner answers hit or no hit per tag."""


class Rule(Protocol):
    """What admission reads of the owner's policy rule for a peer (`node.config.PolicyRule`)."""

    @property
    def datasets(self) -> Collection[str]: ...
    @property
    def modes(self) -> Collection[QueryMode]: ...
    @property
    def max_batch(self) -> int: ...
    @property
    def daily_quota(self) -> int: ...


@dataclass(frozen=True)
class PurposeFields:
    """The request context a peer signs: who asks, under which purpose and legal basis."""

    querier_node: str
    request_id: bytes
    officer_id: str
    purpose: str
    legal_basis: str
    case_reference: str


def check_purpose_fields(fields: PurposeFields, peer: str) -> None:
    """Step 1 on its own (also what the coordinating node checks before it relays).

    Raises:
        PeerError: the request names another querier, its id is not 16 bytes, or a purpose
            field is missing or not a code the audit log can record.
    """
    if fields.querier_node != peer:
        raise PeerError("the request names another querier node than the one connected")
    if len(fields.request_id) != REQUEST_ID_BYTES:
        raise PeerError(f"the request id must be {REQUEST_ID_BYTES} bytes")
    for field, limit in CODE_LIMITS.items():
        value: str = getattr(fields, field)
        name = field.replace("_", " ")
        if not value:
            raise PeerError(f"{name} is missing")
        if len(value) > limit or not _CODE.fullmatch(value):
            raise PeerError(
                f"{name} must be a code of at most {limit} letters, digits or ._:/()#- (no spaces)"
            )


def check_fresh(issued_at: datetime, now: datetime) -> None:
    """Step 4 on its own (a disclosure request is checked for freshness and replay, not quota).

    Raises:
        PeerError: `issued_at` lies more than `FRESHNESS` from `now`.
    """
    if abs(now - issued_at) > FRESHNESS:
        raise PeerError("the request was signed too long ago or in the future")


class _Step(Enum):
    NEW = 0
    CONTEXT = 1
    AUTHORIZED = 2
    EPOCH = 3
    FRESH = 4
    ADMITTED = 5


_NAMES: Final = {
    _Step.CONTEXT: "check the context",
    _Step.AUTHORIZED: "authorize",
    _Step.EPOCH: "check the epoch",
    _Step.FRESH: "check freshness",
    _Step.ADMITTED: "check the quota",
}


class Admission:
    """One request's way through the owner's checks; each method is one step, in order."""

    def __init__(self, peer: str, dataset: str, mode: QueryMode, elements: int) -> None:
        self.peer = peer
        self.dataset = dataset
        self.mode = mode
        self.elements = elements
        self._step = _Step.NEW
        self._rule: Rule | None = None

    def _require(self, to: _Step) -> None:
        """Raise RuntimeError unless the step before `to` is the last one passed."""
        before = _Step(to.value - 1)
        if self._step is before:
            return
        if self._step.value >= to.value:
            raise RuntimeError(f"cannot {_NAMES[to]} twice")
        raise RuntimeError(f"cannot {_NAMES[to]} before {_NAMES[_Step(to.value - 1)]}")

    def check_context(self, fields: PurposeFields) -> None:
        """Step 1 (see the module docstring)."""
        self._require(_Step.CONTEXT)
        check_purpose_fields(fields, self.peer)
        self._step = _Step.CONTEXT

    def authorize(self, rule: Rule | None, *, node_max_batch: int) -> Rule:
        """Step 2: `rule` is the peer's rule for the dataset, None when it has none.

        A dataset the node does not hold is refused with the same message as one the peer may
        not use (the caller passes None for both), so that peers cannot list datasets by name.
        """
        self._require(_Step.AUTHORIZED)
        if rule is None:
            raise NotPermitted(f"dataset {self.dataset} is not available to {self.peer}")
        if self.mode not in rule.modes:
            raise NotPermitted(
                f"{self.mode.value} mode on dataset {self.dataset} is not allowed for {self.peer}"
            )
        limit = min(rule.max_batch, node_max_batch)
        if self.elements < 1:
            raise PeerError("the request holds no elements")
        if self.elements > limit:
            raise BatchTooLarge(
                f"the batch holds {self.elements} elements; at most {limit} allowed "
                "(elements are match keys, about 10 per person checked)"
            )
        self._step = _Step.AUTHORIZED
        self._rule = rule
        return rule

    def check_epoch(self, asked: int, current: int) -> None:
        """Step 3: the request must name the dataset's current epoch."""
        self._require(_Step.EPOCH)
        if asked != current:
            raise StaleEpoch(
                f"epoch {asked} of {self.dataset} is not current; sync the index to epoch {current}"
            )
        self._step = _Step.EPOCH

    def check_fresh(self, issued_at: datetime, now: datetime) -> None:
        """Step 4: signed within `FRESHNESS` of `now`, in either direction."""
        self._require(_Step.FRESH)
        check_fresh(issued_at, now)
        self._step = _Step.FRESH

    def check_quota(self, used_today: int) -> None:
        """Step 5: `used_today` elements were charged to the rule today; these must fit too."""
        self._require(_Step.ADMITTED)
        rule = self.rule
        if used_today + self.elements > rule.daily_quota:
            raise QuotaExceeded(
                f"the daily quota of {rule.daily_quota} elements for {self.peer} is used up "
                f"({used_today} used, {self.elements} asked)"
            )
        self._step = _Step.ADMITTED

    @property
    def rule(self) -> Rule:
        """The rule that `authorize` accepted."""
        if self._rule is None:
            raise RuntimeError("cannot read the rule before authorize")
        return self._rule

    @property
    def context_checked(self) -> bool:
        """Whether step 1 has passed: the purpose fields are codes an audit entry may hold."""
        return self._step.value >= _Step.CONTEXT.value

    @property
    def admitted(self) -> bool:
        """Whether every step has passed."""
        return self._step is _Step.ADMITTED


def refusal_reason(error: BlindhitError) -> str:
    """The reason code an audit entry records for a request refused with `error`."""
    if isinstance(error, QuotaExceeded):
        return "quota_exceeded"
    if isinstance(error, StaleEpoch):
        return "stale_epoch"
    if isinstance(error, BatchTooLarge):
        return "batch_too_large"
    if isinstance(error, UnknownPeer):
        return "unknown_peer"
    if isinstance(error, PolicyError):
        return "not_permitted"
    return "malformed_request"
