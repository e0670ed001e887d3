"""Disclosure: from a hit to the record, only when the owner agrees (docs/promises.md).

A hit tells the querier only that the owner holds something. What follows is a request, a human
decision and a controlled release. This module holds the pure parts of that workflow, shared by
both nodes: the vocabulary (urgency and its deadlines, handling codes, reasons for a denial), the
request's life as a state machine, the owner's standing rules, and the release itself, sealed
with HPKE to the querier's key.

The life of a request, as the owner sees it::

    pending ──approve──▶ approved | approved_in_part ──fetch──▶ (delivered, again until expiry)
       │                        └──────── expiry ──────▶ expired
       └────deny────▶ denied ──fetch──▶ (the denial and its reason delivered)

A decision is final: deciding a decided request is refused, whoever tries (an officer twice, or
an officer after a standing rule). `Urgency.URGENT` requests are due within 8 hours,
`Urgency.STANDARD` ones within 7 days; a pending request past its due time is *overdue*.

The release. The owner seals the approved fields of the matched record(s), the record metadata a
partner needs to act safely (person status, notice type, warning markers), the handling codes,
the expiry and a contact point, as canonical JSON, with HPKE (RFC 9180, base mode,
DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM: `crypto.hpke`) to the X25519 key
the querier named in its signed request. The HPKE `info` binds the ciphertext to the owner, the
querier and the request id, so a release cannot be replayed as the answer to another request or
to another node; the signed envelope that carries it binds it to the owner's identity key.
Nothing in a release ever enters an audit log: entries carry codes and digests only.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto import hpke
from crypto.errors import InputError, InvalidCiphertext, InvalidInput, PeerError
from crypto.hpke import public_key_from_bytes

__all__ = [
    "HPKE_SUITE_NAME",
    "MAX_JUSTIFICATION",
    "MAX_REFERENCES",
    "RELEASED_METADATA",
    "DenyReason",
    "Handling",
    "HandlingCode",
    "InvalidTransition",
    "Release",
    "ReleasedRecord",
    "RequestState",
    "StandingRule",
    "Urgency",
    "approval_state",
    "check_field_names",
    "check_justification",
    "choose_rule",
    "decide",
    "due_at",
    "open_release",
    "public_key_from_bytes",
    "seal_release",
]

MAX_REFERENCES: Final = 16
"""Most match references one request may quote: a request is about one person or a few."""

MAX_JUSTIFICATION: Final = 4000
"""Longest justification, in characters: what a deciding officer reads, not an essay."""

RELEASED_METADATA: Final = ("person_status", "notice_type", "warning_markers")
"""Record metadata that goes with every approved release (the owner's reference and its internal
handling code stay home)."""

HPKE_SUITE_NAME: Final = hpke.SUITE_NAME
_INFO_LABEL: Final = b"blindhit/v1 disclosure release"
_FIELD_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


class Urgency(StrEnum):
    """How fast the owner must answer."""

    URGENT = "urgent"
    """An imminent threat: due within 8 hours."""
    STANDARD = "standard"
    """Due within 7 days."""

    @property
    def allowed_time(self) -> timedelta:
        return _DEADLINES[self]


_DEADLINES: Final = {Urgency.URGENT: timedelta(hours=8), Urgency.STANDARD: timedelta(days=7)}


def due_at(received: datetime, urgency: Urgency) -> datetime:
    """When a request received at `received` must be decided."""
    return received + urgency.allowed_time


class HandlingCode(StrEnum):
    """Conditions attached to released information (the handling codes partners know)."""

    H0 = "H0"
    """For law-enforcement use only."""
    H1 = "H1"
    """Not to be used in court without the owner's permission."""
    H2 = "H2"
    """No onward sharing without the owner's permission."""
    H3 = "H3"
    """Another condition, stated in text."""


_HANDLING_MEANINGS: Final = {
    HandlingCode.H0: "law-enforcement use only",
    HandlingCode.H1: "not for court without permission",
    HandlingCode.H2: "no onward sharing without permission",
    HandlingCode.H3: "other condition",
}


@dataclass(frozen=True)
class Handling:
    """One handling code, with its text (required for H3, optional otherwise)."""

    code: HandlingCode
    text: str = ""

    def __post_init__(self) -> None:
        if self.code is HandlingCode.H3 and not self.text.strip():
            raise InputError("handling code H3 needs a text saying what the condition is")
        _check_text(self.text, "handling text", 500)

    @property
    def meaning(self) -> str:
        return _HANDLING_MEANINGS[self.code]

    def describe(self) -> str:
        return f"{self.code.value} ({self.meaning}{': ' + self.text if self.text else ''})"

    def to_json(self) -> dict[str, str]:
        return {"code": self.code.value, "text": self.text}

    @classmethod
    def parse(cls, text: str) -> Handling:
        """`H2`, or `H3:text` as typed on a command line."""
        code, _, rest = text.partition(":")
        try:
            return cls(HandlingCode(code.strip().upper()), rest.strip())
        except ValueError:
            raise InputError(
                f"unknown handling code {code!r}: expected H0, H1, H2 or H3:<text>"
            ) from None


class DenyReason(StrEnum):
    """Why an owner refuses a disclosure (a fixed list, so that denials can be counted)."""

    INSUFFICIENT_JUSTIFICATION = "insufficient_justification"
    LEGAL_BASIS_NOT_APPLICABLE = "legal_basis_not_applicable"
    NOT_PROPORTIONATE = "not_proportionate"
    ONGOING_INVESTIGATION = "ongoing_investigation"
    SOURCE_PROTECTION = "source_protection"
    NO_LONGER_HELD = "no_longer_held"
    OTHER = "other"


class RequestState(StrEnum):
    """Where a disclosure request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    APPROVED_IN_PART = "approved_in_part"
    DENIED = "denied"
    EXPIRED = "expired"
    """Approved, but its release is past its expiry (derived, never stored)."""

    @property
    def decided(self) -> bool:
        return self is not RequestState.PENDING


class InvalidTransition(InputError):
    """A decision on a request that is already decided."""


def decide(state: RequestState, decision: RequestState) -> RequestState:
    """The state after `decision` on a request in `state`; refuses any second decision."""
    if decision not in (RequestState.APPROVED, RequestState.APPROVED_IN_PART, RequestState.DENIED):
        raise InvalidTransition(f"{decision.value} is not a decision")
    if state is not RequestState.PENDING:
        raise InvalidTransition(f"the request is already decided ({state.value})")
    return decision


def approval_state(requested: Sequence[str], approved: Sequence[str]) -> RequestState:
    """APPROVED when every requested field is released, else APPROVED_IN_PART.

    Raises:
        InputError: nothing is approved, or a field that was not requested is.
    """
    extra = sorted(set(approved) - set(requested))
    if extra:
        raise InputError(f"field {extra[0]} was not requested; approve requested fields only")
    if not approved:
        raise InputError("approve at least one field, or deny the request")
    return (
        RequestState.APPROVED if set(approved) == set(requested) else RequestState.APPROVED_IN_PART
    )


def check_field_names(fields: Sequence[str], what: str) -> tuple[str, ...]:
    """Field names as codes (`date_of_birth`), unique, at least one."""
    if not fields:
        raise InputError(f"{what}: name at least one field")
    for name in fields:
        if not _FIELD_NAME.fullmatch(name):
            raise InputError(f"{what}: {name!r} is not a field name")
    if len(set(fields)) != len(fields):
        raise InputError(f"{what}: a field is named twice")
    return tuple(fields)


def check_justification(text: str) -> str:
    """A justification: present, at most `MAX_JUSTIFICATION` characters, no control characters."""
    if not text.strip():
        raise InputError("the justification is missing")
    _check_text(text, "the justification", MAX_JUSTIFICATION, allow_newlines=True)
    return text


def _check_text(text: str, what: str, limit: int, *, allow_newlines: bool = False) -> None:
    if len(text) > limit:
        raise InputError(f"{what} is longer than {limit} characters")
    allowed = "\r\n\t" if allow_newlines else ""
    # Category Cc: C0, DEL and C1 (U+0080..U+009F, which include a terminal's escape introducer);
    # Cs: lone surrogates, which a command line gets from bytes that are not UTF-8.
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in text):
        raise InputError(f"{what} contains control characters or bytes that are not text")


@dataclass(frozen=True)
class StandingRule:
    """An owner's rule that approves matching requests without an officer (`[[disclosure_rules]]`).

    A rule applies when the request comes from `peer`, is about one of `datasets`, has one of
    `urgencies`, and asks only for fields among `fields`; it then approves them all, with the
    rule's handling codes, expiry and contact point. Every decision it takes is logged as
    automatic, under the rule's name.
    """

    name: str
    peer: str
    datasets: tuple[str, ...]
    fields: tuple[str, ...]
    urgencies: tuple[Urgency, ...]
    handling: tuple[Handling, ...]
    expiry: timedelta
    contact: str


def choose_rule(
    rules: Sequence[StandingRule],
    peer: str,
    dataset: str,
    urgency: Urgency,
    requested: Sequence[str],
) -> StandingRule | None:
    """The first rule that approves this request in full, or None (an officer decides)."""
    for rule in rules:
        if (
            rule.peer == peer
            and dataset in rule.datasets
            and urgency in rule.urgencies
            and set(requested) <= set(rule.fields)
        ):
            return rule
    return None


@dataclass(frozen=True)
class ReleasedRecord:
    """One matched record as released: the approved fields and the metadata that goes with it."""

    fields: Mapping[str, object]
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class Release:
    """What the querier decrypts: the records, the conditions, who decided and until when."""

    request_id: bytes
    owner: str
    dataset: str
    records: tuple[ReleasedRecord, ...]
    handling: tuple[Handling, ...]
    expires_at: datetime
    contact: str
    decided_by: str
    decided_at: datetime
    automatic: bool = False
    approved_fields: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "request_id": self.request_id.hex(),
            "owner": self.owner,
            "dataset": self.dataset,
            "approved_fields": list(self.approved_fields),
            "records": [
                {"fields": dict(r.fields), "metadata": dict(r.metadata)} for r in self.records
            ],
            "handling": [h.to_json() for h in self.handling],
            "expires_at": _time(self.expires_at),
            "contact": self.contact,
            "decided_by": self.decided_by,
            "decided_at": _time(self.decided_at),
            "automatic": self.automatic,
        }

    def encode(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces, UTF-8)."""
        return json.dumps(
            self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> Release:
        """Parse a decrypted release; raises `PeerError` if it is not one."""
        try:
            value = json.loads(data.decode("utf-8"))
            records = tuple(
                ReleasedRecord(
                    dict(r["fields"]), {str(k): str(v) for k, v in r["metadata"].items()}
                )
                for r in value["records"]
            )
            return cls(
                request_id=bytes.fromhex(value["request_id"]),
                owner=str(value["owner"]),
                dataset=str(value["dataset"]),
                records=records,
                handling=tuple(
                    Handling(HandlingCode(h["code"]), str(h["text"])) for h in value["handling"]
                ),
                expires_at=datetime.fromisoformat(value["expires_at"]),
                contact=str(value["contact"]),
                decided_by=str(value["decided_by"]),
                decided_at=datetime.fromisoformat(value["decided_at"]),
                automatic=bool(value["automatic"]),
                approved_fields=tuple(str(f) for f in value["approved_fields"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError, InputError) as error:
            raise PeerError(f"the decrypted release is malformed: {error}") from None


def _time(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _info(owner: str, querier: str, request_id: bytes) -> bytes:
    return b"\x00".join((_INFO_LABEL, owner.encode("utf-8"), querier.encode("utf-8"), request_id))


def seal_release(release: Release, recipient: X25519PublicKey, *, querier: str) -> bytes:
    """Seal `release` to the querier's key, bound to owner, querier and request id."""
    try:
        return hpke.seal(
            release.encode(), recipient, info=_info(release.owner, querier, release.request_id)
        )
    except InvalidInput as error:
        raise InvalidInput(f"cannot seal the release: {error}") from None


def open_release(
    sealed: bytes, private_key: X25519PrivateKey, *, owner: str, querier: str, request_id: bytes
) -> Release:
    """Decrypt and parse a release; refuses one not sealed for exactly this request.

    Raises:
        PeerError: the ciphertext was altered, sealed to another key or bound to another request,
            or what it holds is not a release for this request.
    """
    try:
        plaintext = hpke.open_sealed(sealed, private_key, info=_info(owner, querier, request_id))
    except InvalidCiphertext:
        raise PeerError(
            "the sealed release does not decrypt: altered, or not sealed for this request and key"
        ) from None
    release = Release.decode(plaintext)
    if release.request_id != request_id or release.owner != owner:
        raise PeerError("the release names another request or owner")
    return release
