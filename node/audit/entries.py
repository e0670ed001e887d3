"""Audit-log entries: what a node records about each consultation, disclosure and change.

An entry answers the questions Directive (EU) 2016/680 Art. 25(1) asks of consultation and
disclosure logs: the justification (purpose, legal basis, case reference), the date and time, the
officer who acted and the identity of the recipient (the counterpart node). It adds what an
auditor needs to tie entries together and to judge them: the dataset, the number of elements, a
digest of the signed request, the decision and a reason code.

Invariants:

- **Nothing searched for is ever logged.** An entry holds only typed fields: enumerations,
  counts, 32-byte digests, a UTC time, and short identifier tokens (letters, digits and a few
  punctuation marks, no spaces, bounded lengths). There is no free-text or opaque-bytes field, so
  a probe value, a match key, a blinded element or a record field cannot be put in by construction:
  a caller who has one must digest it first, and the log keeps only the digest of the whole signed
  request, never an element of it.
- **One encoding per entry.** The leaf of the Merkle tree (RFC 9162 §2.1.1) is the encoding, so it
  must be deterministic: a version byte, then canonical JSON (keys sorted, no whitespace, ASCII
  only, absent fields omitted rather than null, integers in decimal, digests in lowercase hex,
  times as `YYYY-MM-DDTHH:MM:SS.ffffffZ`). Decoding refuses an unknown version, an unknown or
  missing field, a wrong type, and any byte string that is not exactly what encoding the decoded
  entry gives back; hence `encode_entry(decode_entry(b)) == b` for every accepted `b`.
- **Versioned.** `ENTRY_FORMAT_VERSION` is the first byte. A later format gets a new byte and its
  own decoder; entries already in a log are never re-encoded, since that would change their leaf
  hashes.

JSON was chosen over a binary TLV because an auditor can read an entry with any tool, and the
canonical rules above leave it exactly one spelling. Every entry is far below the 65,535 bytes
that a C2SP tlog-tiles entry bundle can frame (`MAX_ENTRY_SIZE`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, NewType

import blake3

from crypto.errors import InputError

__all__ = [
    "DIGEST_SIZE",
    "ENTRY_FORMAT_VERSION",
    "LEGAL_BASIS_KINDS",
    "MAX_ENTRY_SIZE",
    "AuditEntry",
    "Decision",
    "EntryKind",
    "InvalidEntry",
    "RequestDigest",
    "check_entry",
    "decode_entry",
    "digest_request",
    "encode_entry",
    "format_time",
]

ENTRY_FORMAT_VERSION: Final = 1
"""The first byte of every entry encoded by this module."""

MAX_ENTRY_SIZE: Final = 4096
"""Upper bound of an encoded entry; the longest possible entry of version 1 is about 1.3 KiB."""

DIGEST_SIZE: Final = 32
"""Every digest in an entry is 32 bytes (BLAKE3-256 or SHA-256, named by the field)."""

RequestDigest = NewType("RequestDigest", bytes)
"""BLAKE3-256 of the signed request bytes exactly as they went over the wire."""

_VERSION_PREFIX: Final = bytes([ENTRY_FORMAT_VERSION])
# Counts are bounded so that a count can never smuggle a 64-bit value such as a tag.
_MAX_COUNT: Final = 10**9
_MAX_EPOCH: Final = 2**31 - 1
_MIN_YEAR: Final = 1970
_MAX_YEAR: Final = 9998


class InvalidEntry(InputError):
    """An audit entry is malformed: a bad field when built, or bytes that do not decode."""


class EntryKind(StrEnum):
    """What happened. The value is what the encoding holds."""

    CHECK_RECEIVED = "check_received"
    """This node (the owner) evaluated a blinded check sent by the counterpart."""
    CHECK_SENT = "check_sent"
    """This node (the querier) sent a blinded check to the counterpart."""
    OWNER_MATCH = "owner_match"
    """This node (the owner) matched finalised tags of the counterpart against its index."""
    DISCLOSURE_REQUESTED = "disclosure_requested"
    """A disclosure request was filed with or received from the counterpart."""
    DISCLOSURE_DECIDED = "disclosure_decided"
    """An officer or a standing rule approved or denied a disclosure request."""
    DISCLOSURE_DELIVERED = "disclosure_delivered"
    """A sealed disclosure was sent to, or received from, the counterpart."""
    POLICY_CHANGED = "policy_changed"
    """This node's access policy changed; the entry holds the new policy's digest."""
    KEY_ROTATED = "key_rotated"
    """One of this node's keys was replaced; the entry holds the new public key's fingerprint."""
    DATASET_EPOCH_PUBLISHED = "dataset_epoch_published"
    """A new epoch of a dataset's match index was published, with the index's BLAKE3 digest."""
    MEMBER_ADMITTED = "member_admitted"
    """The counterpart was admitted to the federation."""
    MEMBER_REVOKED = "member_revoked"
    """The counterpart's membership was revoked."""
    CHECK_RELAYED = "check_relayed"
    """This node (the coordinating node) relayed the counterpart's signed check to the member
    `relayed_to` and passed its signed answer back (fan-out)."""
    REFERRAL_RAISED = "referral_raised"
    """A partner's screening (`officer`: the partner's client id) hit at the counterpart's
    `dataset`; the country's officers hold the referral (`node.desk.referrals`)."""
    REQUEST_REFUSED = "request_refused"
    """This node refused `element_count` requests of the counterpart for `reason` before it
    evaluated anything: one that could not be read far enough to name a dataset, or the count of
    refusals coalesced after the first of a window (`node.owner.refusals`)."""


LEGAL_BASIS_KINDS: Final = frozenset(
    {
        EntryKind.CHECK_RECEIVED,
        EntryKind.CHECK_SENT,
        EntryKind.OWNER_MATCH,
        EntryKind.DISCLOSURE_REQUESTED,
        EntryKind.DISCLOSURE_DECIDED,
        EntryKind.DISCLOSURE_DELIVERED,
        EntryKind.CHECK_RELAYED,
    }
)
"""Kinds that record a consultation or disclosure, which Art. 25 requires to be justified.

An entry of these kinds without a legal basis is still accepted, because the log must record what
happened (for example a refused request that named none); `blindhit audit verify` reports it.
"""


class Decision(StrEnum):
    """The outcome the entry records."""

    ANSWERED = "answered"
    """A check was evaluated and answered."""
    REFUSED = "refused"
    """A check or request was refused before evaluation (policy, quota, malformed)."""
    APPROVED = "approved"
    """A disclosure was approved for every requested field."""
    APPROVED_IN_PART = "approved_in_part"
    """A disclosure was approved for some of the requested fields."""
    DENIED = "denied"
    """A disclosure was denied."""
    FAILED = "failed"
    """The operation was accepted but could not be completed (for example delivery failed)."""


# Field values. Codes are ASCII, start with a letter or digit and hold no space, so that they can
# name a code, an identifier or a reference but not a sentence or a person's full name.
_CODE_CHARACTERS: Final = r"[A-Za-z0-9][A-Za-z0-9._:/()#-]"
_NODE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_TIME: Final = re.compile(r"(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_HEX_DIGEST: Final = re.compile(r"[0-9a-f]{64}")


def _code(max_length: int) -> re.Pattern[str]:
    return re.compile(f"{_CODE_CHARACTERS}{{0,{max_length - 1}}}")


_TEXT_FIELDS: Final[Mapping[str, re.Pattern[str]]] = {
    "node": _NODE_ID,
    "officer": _code(64),
    "counterpart": _NODE_ID,
    "relayed_to": _NODE_ID,
    "dataset": _code(64),
    "purpose": _code(64),
    "legal_basis": _code(128),
    "case_reference": _code(64),
    "reason": _code(64),
}
_COUNT_FIELDS: Final[Mapping[str, int]] = {
    "element_count": _MAX_COUNT,
    "hit_count": _MAX_COUNT,
    "epoch": _MAX_EPOCH,
}
_DIGEST_FIELDS: Final = ("request_digest", "index_digest", "policy_digest", "key_fingerprint")
_KIND_VALUES: Final = frozenset(kind.value for kind in EntryKind)
_DECISION_VALUES: Final = frozenset(decision.value for decision in Decision)
_KNOWN_FIELDS: Final = frozenset(
    {"kind", "time", "decision", *_TEXT_FIELDS, *_COUNT_FIELDS, *_DIGEST_FIELDS}
)

# The fields each kind must carry; any other field may be present too, except the kind-specific
# ones listed in `_ONLY_FOR`.
_COMMON_REQUIRED: Final = frozenset({"kind", "time", "node"})
_CHECK_REQUIRED: Final = frozenset(
    {"counterpart", "dataset", "element_count", "request_digest", "decision"}
)
_REQUIRED: Final[Mapping[str, frozenset[str]]] = {
    EntryKind.CHECK_RECEIVED: _CHECK_REQUIRED,
    EntryKind.CHECK_SENT: _CHECK_REQUIRED,
    EntryKind.OWNER_MATCH: _CHECK_REQUIRED,
    EntryKind.DISCLOSURE_REQUESTED: frozenset({"counterpart", "dataset", "request_digest"}),
    EntryKind.DISCLOSURE_DECIDED: frozenset(
        {"counterpart", "dataset", "request_digest", "decision"}
    ),
    EntryKind.DISCLOSURE_DELIVERED: frozenset(
        {"counterpart", "dataset", "request_digest", "decision"}
    ),
    EntryKind.POLICY_CHANGED: frozenset({"policy_digest"}),
    EntryKind.KEY_ROTATED: frozenset({"key_fingerprint"}),
    EntryKind.DATASET_EPOCH_PUBLISHED: frozenset(
        {"dataset", "epoch", "element_count", "index_digest"}
    ),
    EntryKind.MEMBER_ADMITTED: frozenset({"counterpart"}),
    EntryKind.MEMBER_REVOKED: frozenset({"counterpart"}),
    EntryKind.CHECK_RELAYED: frozenset(
        {"counterpart", "relayed_to", "element_count", "request_digest", "decision"}
    ),
    EntryKind.REQUEST_REFUSED: frozenset({"counterpart", "element_count", "decision", "reason"}),
    EntryKind.REFERRAL_RAISED: frozenset({"officer", "counterpart", "dataset", "case_reference"}),
}
_ONLY_FOR: Final[Mapping[str, frozenset[str]]] = {
    "hit_count": frozenset({EntryKind.CHECK_SENT, EntryKind.OWNER_MATCH}),
    "epoch": frozenset({EntryKind.DATASET_EPOCH_PUBLISHED}),
    "index_digest": frozenset({EntryKind.DATASET_EPOCH_PUBLISHED}),
    "policy_digest": frozenset({EntryKind.POLICY_CHANGED}),
    "key_fingerprint": frozenset({EntryKind.KEY_ROTATED}),
    "relayed_to": frozenset({EntryKind.CHECK_RELAYED}),
}


def format_time(time: datetime) -> str:
    """Return the canonical spelling of a UTC time, `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    return time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digest_request(signed_request: bytes) -> RequestDigest:
    """Return the request digest to log: BLAKE3-256 of the signed request as sent.

    Both sides hold the same bytes, so a querier can recompute the digest that the owner logged
    and match the owner's entry to its own. The request carries blinded elements only, each under
    a fresh random blind, so the digest reveals nothing about a probe.
    """
    return RequestDigest(blake3.blake3(signed_request).digest())


def _validate_json_object(fields: Mapping[str, object]) -> None:
    """Check every rule of the format on the JSON object of an entry.

    This is the one place where the rules live: `AuditEntry` checks its own JSON object here when
    it is built, and `check_entry` checks decoded bytes here without building an object.
    """
    for name, value in fields.items():
        _check_field(name, value)
    missing = _COMMON_REQUIRED.difference(fields)
    if missing:
        raise InvalidEntry(f"entry has no {', '.join(sorted(missing))}")
    kind = str(fields["kind"])
    missing = _REQUIRED[kind].difference(fields)
    if missing:
        raise InvalidEntry(f"a {kind} entry needs {', '.join(sorted(missing))}")
    for name, kinds in _ONLY_FOR.items():
        if name in fields and kind not in kinds:
            raise InvalidEntry(f"a {kind} entry cannot carry {name}")
    hits = fields.get("hit_count")
    elements = fields.get("element_count")
    if isinstance(hits, int) and isinstance(elements, int) and hits > elements:
        raise InvalidEntry(f"expected hit_count <= element_count, got {hits} > {elements}")


def _check_field(name: str, value: object) -> None:
    """Check one field of an entry's JSON object by the rule of its name."""
    if name in _TEXT_FIELDS:
        if not isinstance(value, str) or _TEXT_FIELDS[name].fullmatch(value) is None:
            raise InvalidEntry(
                f"expected {name} to be a short code of letters, digits and ._:/()#- "
                f"(no spaces), got {value!r:.80}"
            )
    elif name in _COUNT_FIELDS:
        maximum = _COUNT_FIELDS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise InvalidEntry(
                f"expected {name} to be an integer in [0, {maximum}], got {value!r:.80}"
            )
    elif name in _DIGEST_FIELDS:
        if not isinstance(value, str) or _HEX_DIGEST.fullmatch(value) is None:
            raise InvalidEntry(
                f"expected {name} to be {DIGEST_SIZE} bytes in lowercase hex, got {value!r:.80}"
            )
    elif name == "time":
        _check_time(value)
    elif name == "kind":
        if not isinstance(value, str) or value not in _KIND_VALUES:
            raise InvalidEntry(f"unknown entry kind {value!r:.80}")
    elif name == "decision":
        if not isinstance(value, str) or value not in _DECISION_VALUES:
            raise InvalidEntry(f"unknown decision {value!r:.80}")
    else:
        raise InvalidEntry(f"unknown entry field {name!r:.80}")


def _check_time(value: object) -> None:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidEntry(f"expected a time as YYYY-MM-DDTHH:MM:SS.ffffffZ, got {value!r:.80}")
    # Four-digit years keep the spelling fixed-width, so times also sort as text.
    if not _MIN_YEAR <= int(match.group(1)) <= _MAX_YEAR:
        raise InvalidEntry(f"expected an entry time in years {_MIN_YEAR}..{_MAX_YEAR}")
    try:
        datetime.fromisoformat(match.group(0))
    except ValueError as exc:
        raise InvalidEntry(f"entry time {value!r} is not a valid date and time") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One audit-log entry. Every field is typed and bounded; see the module docstring.

    Attributes:
        kind: what happened.
        time: when, as an aware datetime; kept in UTC with microseconds.
        node: the acting node, the owner of the log (its checkpoint origin).
        officer: the officer who acted. For an entry about a counterpart's request, the officer
            that the signed request names.
        counterpart: the other node (the asker, the owner asked, the member admitted...).
        dataset: the dataset concerned.
        element_count: the number of elements checked, fields requested or records indexed; for
            `request_refused`, the number of requests refused.
        hit_count: for `check_sent` and `owner_match`, how many elements were hits.
        purpose: the purpose code stated for the operation.
        legal_basis: the legal-basis code stated for the operation.
        case_reference: the case reference stated for the operation.
        request_digest: `digest_request` of the signed request the entry is about.
        decision: the outcome.
        reason: a reason code for the decision (for example `quota_exceeded`).
        epoch: for `dataset_epoch_published`, the new epoch number.
        index_digest: for `dataset_epoch_published`, BLAKE3-256 of the published match index.
        policy_digest: for `policy_changed`, BLAKE3-256 of the new policy document.
        key_fingerprint: for `key_rotated`, SHA-256 of the new public key.
        relayed_to: for `check_relayed`, the member the coordinating node relayed the check to.

    Raises:
        InvalidEntry: a field has the wrong type or value, the kind lacks a field it needs, or
            carries one that belongs to another kind.
    """

    kind: EntryKind
    time: datetime
    node: str
    officer: str | None = None
    counterpart: str | None = None
    dataset: str | None = None
    element_count: int | None = None
    hit_count: int | None = None
    purpose: str | None = None
    legal_basis: str | None = None
    case_reference: str | None = None
    request_digest: bytes | None = None
    decision: Decision | None = None
    reason: str | None = None
    epoch: int | None = None
    index_digest: bytes | None = None
    policy_digest: bytes | None = None
    key_fingerprint: bytes | None = None
    relayed_to: str | None = None

    def __post_init__(self) -> None:
        # Types first, so that the JSON object can be formed; values are then checked on that
        # object by the same rules that decoding applies.
        try:
            object.__setattr__(self, "kind", EntryKind(self.kind))
        except ValueError as exc:
            raise InvalidEntry(f"unknown entry kind {self.kind!r:.80}") from exc
        if not isinstance(self.time, datetime) or self.time.tzinfo is None:
            raise InvalidEntry(f"expected an aware datetime as entry time, got {self.time!r:.80}")
        object.__setattr__(self, "time", self.time.astimezone(UTC))
        if self.decision is not None:
            try:
                object.__setattr__(self, "decision", Decision(self.decision))
            except ValueError as exc:
                raise InvalidEntry(f"unknown decision {self.decision!r:.80}") from exc
        for name in _DIGEST_FIELDS:
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, bytes | bytearray) or len(value) != DIGEST_SIZE:
                    raise InvalidEntry(f"expected a {DIGEST_SIZE}-byte {name}, got {value!r:.80}")
                object.__setattr__(self, name, bytes(value))
        _validate_json_object(self.to_json_object())

    def to_json_object(self) -> dict[str, str | int]:
        """Return the fields as the JSON object that the encoding holds (absent fields omitted)."""
        fields: dict[str, str | int] = {"kind": self.kind.value, "time": format_time(self.time)}
        for name in _TEXT_FIELDS:
            text = getattr(self, name)
            if text is not None:
                fields[name] = text
        for name in _COUNT_FIELDS:
            count = getattr(self, name)
            if count is not None:
                fields[name] = count
        for name in _DIGEST_FIELDS:
            digest = getattr(self, name)
            if digest is not None:
                fields[name] = digest.hex()
        if self.decision is not None:
            fields["decision"] = self.decision.value
        return fields


def _canonical_json(fields: Mapping[str, object]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )


def encode_entry(entry: AuditEntry) -> bytes:
    """Return the canonical encoding of `entry`: the version byte, then canonical JSON."""
    return _VERSION_PREFIX + _canonical_json(entry.to_json_object())


def check_entry(encoded: bytes) -> dict[str, Any]:
    """Check that `encoded` is the canonical encoding of a valid entry; return its JSON object.

    This is `decode_entry` without building an `AuditEntry`, for verifiers that read millions.

    Raises:
        InvalidEntry: whatever is wrong: size, version, JSON, an unknown or missing field, a
            wrong type or value, or a non-canonical spelling.
    """
    if not encoded:
        raise InvalidEntry("expected an audit entry, got no bytes")
    if len(encoded) > MAX_ENTRY_SIZE:
        raise InvalidEntry(f"expected at most {MAX_ENTRY_SIZE} bytes, got {len(encoded)}")
    if encoded[0] != ENTRY_FORMAT_VERSION:
        raise InvalidEntry(
            f"expected entry format version {ENTRY_FORMAT_VERSION}, got version {encoded[0]}"
        )
    try:
        fields = json.loads(encoded[1:])
    except (ValueError, RecursionError) as exc:
        raise InvalidEntry(f"entry is not valid JSON: {exc}") from exc
    if not isinstance(fields, dict):
        raise InvalidEntry(f"expected a JSON object, got {type(fields).__name__}")
    _validate_json_object(fields)
    # Every accepted value has exactly one spelling, so comparing with the re-encoded object
    # catches key order, whitespace, escapes, duplicate keys and any other alternative spelling.
    if _canonical_json(fields) != encoded[1:]:
        raise InvalidEntry("entry is not in canonical encoding")
    return fields


def decode_entry(encoded: bytes) -> AuditEntry:
    """Decode an entry, accepting only the canonical encoding of a valid entry.

    Raises:
        InvalidEntry: as `check_entry`.
    """
    fields = check_entry(encoded)
    typed: dict[str, Any] = dict(fields)
    typed["time"] = datetime.fromisoformat(fields["time"])
    for name in _DIGEST_FIELDS:
        if name in fields:
            typed[name] = bytes.fromhex(fields[name])
    return AuditEntry(**typed)
