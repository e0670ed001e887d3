"""Audit entries: typed fields only, one canonical encoding, strict decoding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InputError
from node.audit.entries import (
    ENTRY_FORMAT_VERSION,
    MAX_ENTRY_SIZE,
    AuditEntry,
    Decision,
    EntryKind,
    InvalidEntry,
    check_entry,
    decode_entry,
    digest_request,
    encode_entry,
)

T0 = datetime(2025, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)
DIGEST = bytes(range(32))


def entry_of(kind: EntryKind, /, **overrides: Any) -> AuditEntry:
    """Return a valid entry of `kind` with every field it may carry, then `overrides`."""
    fields: dict[str, Any] = {"kind": kind, "time": T0, "node": "fr-dcpj"}
    if kind in {EntryKind.CHECK_RECEIVED, EntryKind.CHECK_SENT, EntryKind.OWNER_MATCH}:
        fields |= {
            "officer": "fr-4711",
            "counterpart": "de.bka",
            "dataset": "persons",
            "element_count": 300,
            "purpose": "investigation",
            "legal_basis": "EU-2016/680:Art.8",
            "case_reference": "FR-2025-000017",
            "request_digest": DIGEST,
            "decision": Decision.ANSWERED,
        }
        if kind is not EntryKind.CHECK_RECEIVED:
            fields["hit_count"] = 2
    elif kind in {
        EntryKind.DISCLOSURE_REQUESTED,
        EntryKind.DISCLOSURE_DECIDED,
        EntryKind.DISCLOSURE_DELIVERED,
    }:
        fields |= {
            "officer": "fr-4711",
            "counterpart": "de.bka",
            "dataset": "persons",
            "element_count": 3,
            "purpose": "investigation",
            "legal_basis": "EU-2016/680:Art.9",
            "case_reference": "FR-2025-000017",
            "request_digest": DIGEST,
        }
        if kind is not EntryKind.DISCLOSURE_REQUESTED:
            fields["decision"] = Decision.APPROVED_IN_PART
            fields["reason"] = "fields-limited"
    elif kind is EntryKind.POLICY_CHANGED:
        fields |= {"officer": "fr-admin-1", "policy_digest": DIGEST}
    elif kind is EntryKind.KEY_ROTATED:
        fields |= {"officer": "fr-admin-1", "key_fingerprint": DIGEST, "reason": "scheduled"}
    elif kind is EntryKind.DATASET_EPOCH_PUBLISHED:
        fields |= {"dataset": "persons", "epoch": 7, "element_count": 1_000_000}
        fields["index_digest"] = DIGEST
    elif kind is EntryKind.CHECK_RELAYED:
        fields |= {
            "officer": "de-4711",
            "counterpart": "de.bka",
            "relayed_to": "fr.dcpj",
            "dataset": "persons",
            "element_count": 1200,
            "purpose": "border-check",
            "legal_basis": "EU-2016/680:Art.8",
            "case_reference": "DE-2026-0042",
            "request_digest": DIGEST,
            "decision": Decision.ANSWERED,
        }
    elif kind is EntryKind.REFERRAL_RAISED:
        fields |= {
            "officer": "airline-lh",
            "counterpart": "fr.dcpj",
            "dataset": "persons",
            "purpose": "carrier-screening",
            "legal_basis": "EU-2016/681",
            "case_reference": "S-7KQ2M9XW4T",
            "reason": "R-7KQ2M9XW4T",
        }
    elif kind is EntryKind.REQUEST_REFUSED:
        fields |= {
            "counterpart": "de.bka",
            "element_count": 41,
            "request_digest": DIGEST,
            "decision": Decision.REFUSED,
            "reason": "quota_exceeded",
        }
    else:
        fields |= {"counterpart": "es.cnp", "officer": "gs-ops-2"}
    return AuditEntry(**(fields | overrides))


ALL_KINDS = list(EntryKind)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_round_trips(kind: EntryKind) -> None:
    entry = entry_of(kind)
    encoded = encode_entry(entry)
    assert encoded[0] == ENTRY_FORMAT_VERSION
    assert decode_entry(encoded) == entry
    assert encode_entry(decode_entry(encoded)) == encoded
    assert len(encoded) <= MAX_ENTRY_SIZE


def test_known_encoding() -> None:
    # A fixed vector: any change of the canonical encoding would change every leaf hash.
    entry = entry_of(EntryKind.CHECK_RECEIVED)
    expected = (
        b'\x01{"case_reference":"FR-2025-000017","counterpart":"de.bka","dataset":"persons",'
        b'"decision":"answered","element_count":300,"kind":"check_received",'
        b'"legal_basis":"EU-2016/680:Art.8","node":"fr-dcpj","officer":"fr-4711",'
        b'"purpose":"investigation","request_digest":"'
        + DIGEST.hex().encode()
        + b'","time":"2025-03-01T12:30:45.123456Z"}'
    )
    assert encode_entry(entry) == expected


def test_time_is_kept_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    entry = entry_of(EntryKind.MEMBER_ADMITTED, time=T0.astimezone(paris))
    assert entry.time.tzinfo is UTC
    assert encode_entry(entry) == encode_entry(entry_of(EntryKind.MEMBER_ADMITTED))


def test_request_digest_is_blake3_of_the_signed_request() -> None:
    digest = digest_request(b"signed request")
    assert len(digest) == 32
    assert digest != digest_request(b"signed request!")


def test_invalid_entry_is_an_input_error() -> None:
    assert issubclass(InvalidEntry, InputError)
    # What that buys: a caller that handles bad input (the command line: one line, exit 2)
    # handles a refused entry without knowing the audit module, and gets the field named.
    with pytest.raises(InputError, match="expected case_reference to be a short code") as caught:
        entry_of(EntryKind.CHECK_SENT, case_reference="Jane Doe")
    assert "\n" not in str(caught.value)


# -------------------------------------------------------------------------------------------
# Construction refuses anything that is not a typed, bounded value.
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("case_reference", "Jane Doe"),  # A space: free text cannot be logged.
        ("officer", "x" * 65),
        ("legal_basis", "l" * 129),
        ("purpose", "ünïcode"),
        ("reason", "two\nlines"),
        ("dataset", ""),
        ("counterpart", "-starts-with-dash"),
        ("node", "a" * 129),
        ("element_count", -1),
        ("element_count", 10**9 + 1),
        ("element_count", True),
        ("element_count", 3.0),
        ("request_digest", b"\x00" * 31),
        ("request_digest", "00" * 32),
        ("decision", "maybe"),
        ("kind", "check_forgotten"),
        ("time", datetime(2025, 1, 1)),  # A naive time is refused.
        ("time", datetime(1969, 12, 31, tzinfo=UTC)),
    ],
)
def test_construction_refuses_bad_field(field: str, value: object) -> None:
    # The one-line message names the field that is wrong.
    with pytest.raises(InvalidEntry, match=rf"\b{field}\b"):
        entry_of(EntryKind.CHECK_RECEIVED, **{field: value})


@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        (EntryKind.CHECK_RECEIVED, "request_digest"),
        (EntryKind.CHECK_SENT, "element_count"),
        (EntryKind.OWNER_MATCH, "decision"),
        (EntryKind.DISCLOSURE_DECIDED, "decision"),
        (EntryKind.DATASET_EPOCH_PUBLISHED, "index_digest"),
        (EntryKind.KEY_ROTATED, "key_fingerprint"),
        (EntryKind.POLICY_CHANGED, "policy_digest"),
        (EntryKind.MEMBER_REVOKED, "counterpart"),
    ],
)
def test_construction_refuses_missing_required_field(kind: EntryKind, missing: str) -> None:
    with pytest.raises(InvalidEntry, match=missing):
        entry_of(kind, **{missing: None})


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        (EntryKind.CHECK_RECEIVED, "hit_count", 1),
        (EntryKind.CHECK_RECEIVED, "index_digest", DIGEST),
        (EntryKind.MEMBER_ADMITTED, "epoch", 1),
        (EntryKind.POLICY_CHANGED, "key_fingerprint", DIGEST),
    ],
)
def test_construction_refuses_field_of_another_kind(
    kind: EntryKind, field: str, value: object
) -> None:
    with pytest.raises(InvalidEntry, match="cannot carry"):
        entry_of(kind, **{field: value})


def test_hits_cannot_exceed_elements() -> None:
    with pytest.raises(InvalidEntry, match="hit_count"):
        entry_of(EntryKind.CHECK_SENT, element_count=2, hit_count=3)


def test_there_is_no_field_for_free_form_data() -> None:
    with pytest.raises(TypeError):
        AuditEntry(kind=EntryKind.CHECK_SENT, time=T0, node="fr", probe="Jane Doe")  # type: ignore[call-arg]


# -------------------------------------------------------------------------------------------
# Decoding accepts only the canonical encoding of a valid entry.
# -------------------------------------------------------------------------------------------


def _object(kind: EntryKind = EntryKind.CHECK_SENT) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads(encode_entry(entry_of(kind))[1:])
    return fields


def _encode_object(fields: dict[str, Any]) -> bytes:
    return b"\x01" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def test_decoding_accepts_a_re_encoded_object() -> None:
    assert decode_entry(_encode_object(_object())) == entry_of(EntryKind.CHECK_SENT)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda o: o | {"probe": "Jane"}, id="unknown field"),
        pytest.param(lambda o: {k: v for k, v in o.items() if k != "node"}, id="no node"),
        pytest.param(lambda o: {k: v for k, v in o.items() if k != "kind"}, id="no kind"),
        pytest.param(lambda o: o | {"officer": None}, id="null"),
        pytest.param(lambda o: o | {"element_count": "300"}, id="count as string"),
        pytest.param(lambda o: o | {"element_count": 300.0}, id="count as float"),
        pytest.param(lambda o: o | {"element_count": True}, id="count as bool"),
        pytest.param(lambda o: o | {"request_digest": DIGEST.hex().upper()}, id="upper hex"),
        pytest.param(lambda o: o | {"time": "2025-03-01T12:30:45Z"}, id="short time"),
        pytest.param(lambda o: o | {"time": "2025-02-30T12:30:45.000000Z"}, id="no such day"),
        pytest.param(lambda o: o | {"kind": ["check_sent"]}, id="kind as list"),
        pytest.param(lambda o: o | {"decision": {"a": 1}}, id="decision as object"),
    ],
)
def test_decoding_refuses_invalid_object(mutate: Any) -> None:
    with pytest.raises(InvalidEntry):
        decode_entry(_encode_object(mutate(_object())))


def test_decoding_refuses_non_canonical_spellings() -> None:
    canonical = encode_entry(entry_of(EntryKind.CHECK_SENT))
    fields = _object()
    spaced = b"\x01" + json.dumps(fields, sort_keys=True).encode()
    unsorted = b"\x01" + json.dumps(dict(reversed(fields.items())), separators=(",", ":")).encode()
    escaped = canonical.replace(b'"fr-dcpj"', b'"\\u0066r.dcpj"')
    duplicated = canonical.replace(b'{"case', b'{"node":"xx.other","case')
    trailing = canonical + b" "
    for encoded in (spaced, unsorted, escaped, duplicated, trailing):
        with pytest.raises(InvalidEntry, match="entry is not in canonical encoding"):
            decode_entry(encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        b"",
        b"\x02" + encode_entry(entry_of(EntryKind.MEMBER_ADMITTED))[1:],
        b"\x01",
        b"\x01[]",
        b"\x01not json",
        b"\x01" + b"[" * 5000,
        b"\x01" + b" " * (MAX_ENTRY_SIZE + 1),
    ],
)
def test_decoding_refuses_garbage(encoded: bytes) -> None:
    with pytest.raises(InvalidEntry):
        check_entry(encoded)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(ALL_KINDS),
    position=st.integers(min_value=0, max_value=10_000),
    byte=st.integers(min_value=0, max_value=255),
)
def test_a_changed_byte_never_passes_for_the_original(
    kind: EntryKind, position: int, byte: int
) -> None:
    encoded = encode_entry(entry_of(kind))
    position %= len(encoded)
    mutated = encoded[:position] + bytes([byte]) + encoded[position + 1 :]
    try:
        decoded = decode_entry(mutated)
    except InvalidEntry:
        return
    # A mutation that still decodes is a different, canonical entry: never two spellings.
    assert encode_entry(decoded) == mutated
    assert (decoded == entry_of(kind)) == (mutated == encoded)


_codes = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/()#-]{0,20}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    officer=st.none() | _codes,
    purpose=st.none() | _codes,
    legal_basis=st.none() | _codes,
    case_reference=st.none() | _codes,
    elements=st.integers(min_value=0, max_value=10**9),
    microseconds=st.integers(min_value=0, max_value=10**15),
)
def test_any_valid_check_entry_round_trips(
    officer: str | None,
    purpose: str | None,
    legal_basis: str | None,
    case_reference: str | None,
    elements: int,
    microseconds: int,
) -> None:
    entry = entry_of(
        EntryKind.CHECK_RECEIVED,
        officer=officer,
        purpose=purpose,
        legal_basis=legal_basis,
        case_reference=case_reference,
        element_count=elements,
        time=datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds),
    )
    assert decode_entry(encode_entry(entry)) == entry
