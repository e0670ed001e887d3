"""`protocol.disclosure`: deadlines, handling codes, the decision state machine, standing rules,
the canonical release and its HPKE sealing bound to owner, querier and request id."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InputError, InvalidEncoding, InvalidInput, PeerError
from protocol.disclosure import (
    HPKE_SUITE_NAME,
    MAX_JUSTIFICATION,
    DenyReason,
    Handling,
    HandlingCode,
    InvalidTransition,
    Release,
    ReleasedRecord,
    RequestState,
    StandingRule,
    Urgency,
    approval_state,
    check_field_names,
    check_justification,
    choose_rule,
    decide,
    due_at,
    open_release,
    public_key_from_bytes,
    seal_release,
)

T0 = datetime(2026, 3, 1, 12, 30, 45, tzinfo=UTC)
OWNER = "fr-ct"
QUERIER = "de-bka"
REQUEST_A = bytes.fromhex("a1" * 16)
REQUEST_B = bytes.fromhex("b2" * 16)

# The HPKE `info` as the module docstring defines it: a label, then owner, querier and request
# id, separated by zero bytes. Used to build ciphertexts that `seal_release` would never make.
INFO_LABEL = b"blindhit/v1 disclosure release"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)

# X25519 u-coordinates of small order, and non-canonical encodings of them (RFC 7748 §7; the
# list of points to refuse from Bernstein's Curve25519 page).
_P = 2**255 - 19
LOW_ORDER_POINTS = [
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    _P - 1,
    _P,
    _P + 1,
]
LOW_ORDER_IDS = ["1", "order-8", "order-8-other", "p-1", "p", "p+1"]


def release_of(
    request_id: bytes = REQUEST_A, owner: str = OWNER, *, automatic: bool = False
) -> Release:
    return Release(
        request_id=request_id,
        owner=owner,
        dataset="persons",
        records=(
            ReleasedRecord(
                {"family_name": "Müller", "date_of_birth": "1980-02-29", "aliases": ["Mü", "M"]},
                {"person_status": "wanted", "notice_type": "red-notice"},
            ),
            ReleasedRecord({"family_name": "東京"}, {}),
        ),
        handling=(Handling(HandlingCode.H2), Handling(HandlingCode.H3, "destroy after use")),
        expires_at=T0 + timedelta(days=30),
        contact="DCPJ duty desk +33 1 00 00 00 00",
        decided_by="fr-of-9",
        decided_at=T0,
        automatic=automatic,
        approved_fields=("family_name", "date_of_birth", "aliases"),
    )


def public_bytes(key: X25519PrivateKey | X25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def info(owner: str, querier: str, request_id: bytes) -> bytes:
    return b"\x00".join((INFO_LABEL, owner.encode(), querier.encode(), request_id))


@pytest.fixture(scope="module")
def querier_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


@pytest.fixture(scope="module")
def sealed(querier_key: X25519PrivateKey) -> bytes:
    return seal_release(release_of(), querier_key.public_key(), querier=QUERIER)


def open_as_querier(data: bytes, key: X25519PrivateKey) -> Release:
    return open_release(data, key, owner=OWNER, querier=QUERIER, request_id=REQUEST_A)


# -- urgency and deadlines -------------------------------------------------------------------------


def test_urgent_requests_are_due_within_8_hours() -> None:
    assert Urgency.URGENT.allowed_time == timedelta(hours=8)
    assert due_at(T0, Urgency.URGENT) == datetime(2026, 3, 1, 20, 30, 45, tzinfo=UTC)


def test_standard_requests_are_due_within_7_days() -> None:
    assert Urgency.STANDARD.allowed_time == timedelta(days=7)
    assert due_at(T0, Urgency.STANDARD) == datetime(2026, 3, 8, 12, 30, 45, tzinfo=UTC)


def test_due_date_keeps_the_time_zone_of_the_receipt() -> None:
    paris = T0.astimezone(timezone(timedelta(hours=1)))
    due = due_at(paris, Urgency.URGENT)
    assert due.utcoffset() == timedelta(hours=1)
    assert due == due_at(T0, Urgency.URGENT)


def test_urgency_values_are_the_wire_words() -> None:
    assert [u.value for u in Urgency] == ["urgent", "standard"]
    assert Urgency("urgent") is Urgency.URGENT


# -- handling codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("H0", Handling(HandlingCode.H0)),
        ("H1", Handling(HandlingCode.H1)),
        ("H2", Handling(HandlingCode.H2)),
        ("h0", Handling(HandlingCode.H0)),
        ("h2", Handling(HandlingCode.H2)),
        (" H1 ", Handling(HandlingCode.H1)),
        ("H3:destroy after the case", Handling(HandlingCode.H3, "destroy after the case")),
        ("h3: keep in the case file ", Handling(HandlingCode.H3, "keep in the case file")),
        ("H3:see: annex 2", Handling(HandlingCode.H3, "see: annex 2")),
        ("H0:note", Handling(HandlingCode.H0, "note")),
    ],
)
def test_handling_parse(text: str, expected: Handling) -> None:
    assert Handling.parse(text) == expected


@pytest.mark.parametrize("text", ["H3", "H3:", "H3:   ", "h3: \t "])
def test_handling_h3_needs_a_text(text: str) -> None:
    with pytest.raises(InputError, match="H3 needs a text"):
        Handling.parse(text)


@pytest.mark.parametrize("text", ["H4", "H", "X1", "", ":text", "H 1", "H01", "H-1"])
def test_handling_unknown_code_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="unknown handling code") as caught:
        Handling.parse(text)
    assert "expected H0, H1, H2 or H3:<text>" in str(caught.value)


@pytest.mark.parametrize(
    "text", ["H3:line one\nline two", "H3:tab\there", "H3:bell\x07", "H0:nul\x00", "H2:del\x7f"]
)
def test_handling_text_with_control_characters_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="handling text contains control characters"):
        Handling.parse(text)


def test_handling_text_is_limited_to_500_characters() -> None:
    assert Handling.parse("H3:" + "x" * 500).text == "x" * 500
    with pytest.raises(InputError, match="longer than 500"):
        Handling.parse("H3:" + "x" * 501)


def test_handling_constructor_checks_like_parse() -> None:
    with pytest.raises(InputError, match="H3 needs a text"):
        Handling(HandlingCode.H3)
    with pytest.raises(InputError, match="control characters"):
        Handling(HandlingCode.H1, "a\x1bb")


def test_handling_describe_and_json() -> None:
    assert Handling(HandlingCode.H0).describe() == "H0 (law-enforcement use only)"
    h3 = Handling(HandlingCode.H3, "destroy after use")
    assert h3.describe() == "H3 (other condition: destroy after use)"
    assert h3.to_json() == {"code": "H3", "text": "destroy after use"}
    assert {code: Handling(code, "t").meaning for code in HandlingCode} == {
        HandlingCode.H0: "law-enforcement use only",
        HandlingCode.H1: "not for court without permission",
        HandlingCode.H2: "no onward sharing without permission",
        HandlingCode.H3: "other condition",
    }


def test_deny_reasons_are_a_fixed_list() -> None:
    assert {r.value for r in DenyReason} == {
        "insufficient_justification",
        "legal_basis_not_applicable",
        "not_proportionate",
        "ongoing_investigation",
        "source_protection",
        "no_longer_held",
        "other",
    }
    with pytest.raises(ValueError, match="because"):
        DenyReason("because")


# -- the decision state machine --------------------------------------------------------------------

DECISIONS = [RequestState.APPROVED, RequestState.APPROVED_IN_PART, RequestState.DENIED]
NON_DECISIONS = [RequestState.PENDING, RequestState.EXPIRED]


def test_only_pending_is_undecided() -> None:
    assert [s for s in RequestState if not s.decided] == [RequestState.PENDING]


@pytest.mark.parametrize("decision", DECISIONS)
def test_a_pending_request_takes_one_decision(decision: RequestState) -> None:
    assert decide(RequestState.PENDING, decision) is decision


@pytest.mark.parametrize("state", [s for s in RequestState if s is not RequestState.PENDING])
@pytest.mark.parametrize("decision", DECISIONS)
def test_a_second_decision_is_refused(state: RequestState, decision: RequestState) -> None:
    with pytest.raises(InvalidTransition, match=rf"already decided \({state.value}\)"):
        decide(state, decision)


@pytest.mark.parametrize("state", list(RequestState))
@pytest.mark.parametrize("decision", NON_DECISIONS)
def test_a_non_decision_is_refused(state: RequestState, decision: RequestState) -> None:
    with pytest.raises(InvalidTransition, match=f"{decision.value} is not a decision"):
        decide(state, decision)


def test_an_invalid_transition_is_an_input_error() -> None:
    assert issubclass(InvalidTransition, InputError)
    # What that buys: the officer's command line, which handles bad input, reports a second
    # decision as one line naming the states, without knowing this module.
    with pytest.raises(InputError, match="pending is not a decision"):
        decide(RequestState.PENDING, RequestState.PENDING)


@pytest.mark.parametrize(
    ("requested", "approved", "expected"),
    [
        (["family_name"], ["family_name"], RequestState.APPROVED),
        (["a", "b", "c"], ["c", "a", "b"], RequestState.APPROVED),
        (["a", "b", "c"], ["b"], RequestState.APPROVED_IN_PART),
        (["a", "b", "c"], ["a", "c"], RequestState.APPROVED_IN_PART),
    ],
)
def test_approval_state(requested: list[str], approved: list[str], expected: RequestState) -> None:
    assert approval_state(requested, approved) is expected


def test_approving_nothing_is_refused() -> None:
    with pytest.raises(InputError, match="approve at least one field, or deny"):
        approval_state(["family_name"], [])


@pytest.mark.parametrize("approved", [["sex"], ["family_name", "sex"], ["dna", "sex"]])
def test_approving_an_unrequested_field_is_refused(approved: list[str]) -> None:
    with pytest.raises(InputError, match="was not requested") as caught:
        approval_state(["family_name", "given_names"], approved)
    # The message names the first unrequested field in sorted order.
    assert f"field {sorted(set(approved) - {'family_name'})[0]} " in str(caught.value)


# -- field names and justification -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [["family_name"], ["a"], ["a" + "b" * 63], ["date_of_birth", "iban", "dna"], ["x9_"]],
)
def test_field_names_accepted(fields: list[str]) -> None:
    assert check_field_names(fields, "fields") == tuple(fields)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Family_name",
        "1st",
        "_x",
        "family-name",
        "family name",
        "a" + "b" * 64,
        "name\n",
        "émile",
        "a.b",
    ],
)
def test_field_names_refused(name: str) -> None:
    with pytest.raises(InputError, match=r"^--fields: .* is not a field name$"):
        check_field_names(["family_name", name], "--fields")


def test_field_names_need_at_least_one() -> None:
    with pytest.raises(InputError, match=r"^requested fields: name at least one field$"):
        check_field_names([], "requested fields")


def test_field_named_twice_is_refused() -> None:
    with pytest.raises(InputError, match=r"^f: a field is named twice$"):
        check_field_names(["sex", "iban", "sex"], "f")


@pytest.mark.parametrize(
    "text",
    [
        "x",
        "Boarding flight LH 1234; matches a wanted person.",
        "line one\nline two\n\tindented",
        "x" * MAX_JUSTIFICATION,
        "é" * MAX_JUSTIFICATION,
        "  leading and trailing spaces are kept  ",
    ],
)
def test_justification_accepted(text: str) -> None:
    assert check_justification(text) == text


@pytest.mark.parametrize("text", ["", " ", "\n\t \n"])
def test_justification_missing(text: str) -> None:
    with pytest.raises(InputError, match=r"^the justification is missing$"):
        check_justification(text)


def test_justification_too_long() -> None:
    with pytest.raises(InputError, match=f"longer than {MAX_JUSTIFICATION} characters"):
        check_justification("x" * (MAX_JUSTIFICATION + 1))


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x1f", "\x7f"])
def test_justification_with_control_characters(character: str) -> None:
    with pytest.raises(InputError, match="the justification contains control characters"):
        check_justification(f"matches{character}a wanted person")


@pytest.mark.parametrize("character", ["\x85", "\x9b"])
def test_justification_with_c1_control_characters(character: str) -> None:
    with pytest.raises(InputError, match="control characters"):
        check_justification(f"matches{character}31ma wanted person")


# -- standing rules --------------------------------------------------------------------------------


def rule(
    name: str,
    *,
    peer: str = QUERIER,
    datasets: tuple[str, ...] = ("persons",),
    fields: tuple[str, ...] = ("family_name", "given_names", "date_of_birth"),
    urgencies: tuple[Urgency, ...] = (Urgency.URGENT, Urgency.STANDARD),
) -> StandingRule:
    return StandingRule(
        name=name,
        peer=peer,
        datasets=datasets,
        fields=fields,
        urgencies=urgencies,
        handling=(Handling(HandlingCode.H0),),
        expiry=timedelta(days=7),
        contact="duty desk",
    )


def test_a_rule_covers_a_request_asking_for_a_subset_of_its_fields() -> None:
    only = rule("identity")
    assert choose_rule([only], QUERIER, "persons", Urgency.URGENT, ["family_name"]) is only
    assert (
        choose_rule([only], QUERIER, "persons", Urgency.STANDARD, ["date_of_birth", "family_name"])
        is only
    )
    everything = ["family_name", "given_names", "date_of_birth"]
    assert choose_rule([only], QUERIER, "persons", Urgency.URGENT, everything) is only


@pytest.mark.parametrize(
    ("peer", "dataset", "urgency", "requested"),
    [
        pytest.param("es-cnp", "persons", Urgency.URGENT, ["family_name"], id="other-peer"),
        pytest.param(QUERIER, "documents", Urgency.URGENT, ["family_name"], id="other-dataset"),
        pytest.param(QUERIER, "persons", Urgency.STANDARD, ["family_name"], id="other-urgency"),
        pytest.param(QUERIER, "persons", Urgency.URGENT, ["family_name", "sex"], id="more-fields"),
    ],
)
def test_no_rule_applies_and_an_officer_decides(
    peer: str, dataset: str, urgency: Urgency, requested: list[str]
) -> None:
    urgent_only = rule("urgent-identity", urgencies=(Urgency.URGENT,))
    assert choose_rule([urgent_only], peer, dataset, urgency, requested) is None


def test_no_rules_decide_nothing() -> None:
    assert choose_rule([], QUERIER, "persons", Urgency.URGENT, ["family_name"]) is None


def test_the_first_matching_rule_wins() -> None:
    narrow = rule("narrow", fields=("family_name",))
    wide = rule("wide", datasets=("documents", "persons"))
    other_peer = rule("other-peer", peer="es-cnp")
    rules = [other_peer, narrow, wide]
    assert choose_rule(rules, QUERIER, "persons", Urgency.URGENT, ["family_name"]) is narrow
    assert choose_rule(rules, QUERIER, "persons", Urgency.URGENT, ["given_names"]) is wide
    assert choose_rule(rules, QUERIER, "documents", Urgency.URGENT, ["family_name"]) is wide
    assert choose_rule(rules[::-1], QUERIER, "persons", Urgency.URGENT, ["family_name"]) is wide
    assert choose_rule(rules, "es-cnp", "persons", Urgency.URGENT, ["family_name"]) is other_peer


# -- the release -----------------------------------------------------------------------------------


def test_release_encoding_is_canonical_json() -> None:
    encoded = release_of().encode()
    value = json.loads(encoded)
    assert encoded == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert list(value) == sorted(value)
    assert "東京".encode() in encoded
    assert value["request_id"] == REQUEST_A.hex()
    assert value["expires_at"] == "2026-03-31T12:30:45+00:00"
    assert value["handling"] == [
        {"code": "H2", "text": ""},
        {"code": "H3", "text": "destroy after use"},
    ]


def test_release_encoding_is_stable() -> None:
    first = release_of().encode()
    assert release_of().encode() == first
    # Field order inside a record does not change the bytes.
    reordered = release_of()
    fields = reordered.records[0].fields
    swapped = ReleasedRecord(dict(reversed(list(fields.items()))), reordered.records[0].metadata)
    assert list(swapped.fields) != list(fields)
    again = Release(
        request_id=reordered.request_id,
        owner=reordered.owner,
        dataset=reordered.dataset,
        records=(swapped, reordered.records[1]),
        handling=reordered.handling,
        expires_at=reordered.expires_at,
        contact=reordered.contact,
        decided_by=reordered.decided_by,
        decided_at=reordered.decided_at,
        automatic=reordered.automatic,
        approved_fields=reordered.approved_fields,
    )
    assert again.encode() == first


def test_release_decode_inverts_encode() -> None:
    for release in (release_of(), release_of(automatic=True)):
        assert Release.decode(release.encode()) == release


_texts = st.text(max_size=40)
_safe_texts = st.text(
    st.characters(min_codepoint=32, exclude_categories=["Cc", "Cs"]),
    max_size=40,
)
_field_names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
_values = st.one_of(
    _texts,
    st.lists(_texts, max_size=3),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.booleans(),
    st.none(),
)
_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
).map(lambda t: t.replace(microsecond=0))
_handling = st.one_of(
    st.builds(Handling, st.sampled_from([HandlingCode.H0, HandlingCode.H1, HandlingCode.H2])),
    st.builds(
        Handling,
        st.just(HandlingCode.H3),
        _safe_texts.filter(lambda t: bool(t.strip())),
    ),
)
_releases = st.builds(
    Release,
    request_id=st.binary(min_size=16, max_size=32),
    owner=_texts,
    dataset=_texts,
    records=st.lists(
        st.builds(
            ReleasedRecord,
            st.dictionaries(_field_names, _values, max_size=4),
            st.dictionaries(_texts, _texts, max_size=3),
        ),
        max_size=3,
    ).map(tuple),
    handling=st.lists(_handling, max_size=3).map(tuple),
    expires_at=_times,
    contact=_texts,
    decided_by=_texts,
    decided_at=_times,
    automatic=st.booleans(),
    approved_fields=st.lists(_field_names, max_size=4).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(release=_releases)
def test_release_round_trip_property(release: Release) -> None:
    encoded = release.encode()
    decoded = Release.decode(encoded)
    assert decoded == release
    assert decoded.encode() == encoded


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe",
        b"[]",
        b"null",
        b'{"request_id": "zz"}',
        b"{}",
    ],
)
def test_release_decode_refuses_garbage(data: bytes) -> None:
    with pytest.raises(PeerError, match="the decrypted release is malformed"):
        Release.decode(data)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("request_id", "not hex"),
        ("expires_at", "tomorrow"),
        ("handling", [{"code": "H9", "text": ""}]),
        ("handling", [{"code": "H3", "text": ""}]),
        ("records", [{"fields": {}}]),
        ("records", "none"),
        ("approved_fields", 7),
    ],
)
def test_release_decode_refuses_a_bad_member(key: str, value: object) -> None:
    document = json.loads(release_of().encode())
    document[key] = value
    with pytest.raises(PeerError, match="the decrypted release is malformed"):
        Release.decode(json.dumps(document).encode())


def test_release_decode_refuses_a_missing_member() -> None:
    for key in json.loads(release_of().encode()):
        document = json.loads(release_of().encode())
        del document[key]
        with pytest.raises(PeerError, match="the decrypted release is malformed:"):
            Release.decode(json.dumps(document).encode())


# -- sealing ---------------------------------------------------------------------------------------


def test_suite_name() -> None:
    assert HPKE_SUITE_NAME == "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM"


def test_seal_then_open(querier_key: X25519PrivateKey, sealed: bytes) -> None:
    assert open_as_querier(sealed, querier_key) == release_of()
    # 32 bytes of encapsulated key and 16 of AES-GCM tag around the canonical JSON.
    assert len(sealed) == 32 + len(release_of().encode()) + 16
    assert release_of().encode() not in sealed


def test_sealing_is_randomised(querier_key: X25519PrivateKey, sealed: bytes) -> None:
    again = seal_release(release_of(), querier_key.public_key(), querier=QUERIER)
    assert again != sealed
    assert open_as_querier(again, querier_key) == release_of()


def test_seal_to_a_key_read_from_its_bytes(querier_key: X25519PrivateKey) -> None:
    recipient = public_key_from_bytes(public_bytes(querier_key))
    data = seal_release(release_of(), recipient, querier=QUERIER)
    assert open_as_querier(data, querier_key) == release_of()


def test_a_flipped_bit_in_the_encapsulated_key_is_refused(
    querier_key: X25519PrivateKey, sealed: bytes
) -> None:
    # Every bit, including the top bit of the last byte, which X25519 itself ignores (RFC 7748
    # §5): the HPKE key schedule binds the encapsulated key as sent.
    for position in range(32):
        for bit in range(8):
            mutated = bytearray(sealed)
            mutated[position] ^= 1 << bit
            with pytest.raises(PeerError, match="does not decrypt"):
                open_as_querier(bytes(mutated), querier_key)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_a_flipped_bit_anywhere_is_refused(
    querier_key: X25519PrivateKey, sealed: bytes, position: int, bit: int
) -> None:
    mutated = bytearray(sealed)
    mutated[position % len(sealed)] ^= 1 << bit
    with pytest.raises(PeerError, match="does not decrypt"):
        open_as_querier(bytes(mutated), querier_key)


def test_a_flipped_bit_in_the_tag_is_refused(querier_key: X25519PrivateKey, sealed: bytes) -> None:
    for position in range(len(sealed) - 16, len(sealed)):
        for bit in range(8):
            mutated = bytearray(sealed)
            mutated[position] ^= 1 << bit
            with pytest.raises(PeerError, match="does not decrypt"):
                open_as_querier(bytes(mutated), querier_key)


@pytest.mark.parametrize("keep", [0, 1, 31, 32, 33, 47, 48, -16, -1])
def test_truncation_is_refused(querier_key: X25519PrivateKey, sealed: bytes, keep: int) -> None:
    with pytest.raises(PeerError, match="does not decrypt"):
        open_as_querier(sealed[:keep], querier_key)


@pytest.mark.parametrize("garbage", [b"\x00", b"\x00" * 16, b"trailing"])
def test_trailing_garbage_is_refused(
    querier_key: X25519PrivateKey, sealed: bytes, garbage: bytes
) -> None:
    with pytest.raises(PeerError, match="does not decrypt"):
        open_as_querier(sealed + garbage, querier_key)


def test_another_recipient_key_is_refused(sealed: bytes) -> None:
    with pytest.raises(PeerError, match="does not decrypt"):
        open_as_querier(sealed, X25519PrivateKey.generate())


@pytest.mark.parametrize(
    ("owner", "querier", "request_id"),
    [
        pytest.param("es-cnp", QUERIER, REQUEST_A, id="another-owner"),
        pytest.param(OWNER, "it-dcsa", REQUEST_A, id="another-querier"),
        pytest.param(OWNER, QUERIER, REQUEST_B, id="another-request"),
        pytest.param(OWNER, QUERIER, REQUEST_A[:-1], id="shorter-request-id"),
        pytest.param(OWNER, QUERIER, REQUEST_A + b"\x00", id="longer-request-id"),
        pytest.param(OWNER + "\x00", QUERIER, REQUEST_A, id="owner-with-separator"),
        pytest.param(OWNER, "", REQUEST_A, id="no-querier"),
    ],
)
def test_a_release_bound_to_another_request_is_refused(
    querier_key: X25519PrivateKey, sealed: bytes, owner: str, querier: str, request_id: bytes
) -> None:
    with pytest.raises(PeerError, match="does not decrypt"):
        open_release(sealed, querier_key, owner=owner, querier=querier, request_id=request_id)


def test_a_release_for_request_a_does_not_answer_request_b(querier_key: X25519PrivateKey) -> None:
    for_a = seal_release(release_of(REQUEST_A), querier_key.public_key(), querier=QUERIER)
    with pytest.raises(
        PeerError, match="the sealed release does not decrypt: altered, or not sealed for this r"
    ):
        open_release(for_a, querier_key, owner=OWNER, querier=QUERIER, request_id=REQUEST_B)
    for_b = seal_release(release_of(REQUEST_B), querier_key.public_key(), querier=QUERIER)
    assert open_release(
        for_b, querier_key, owner=OWNER, querier=QUERIER, request_id=REQUEST_B
    ) == release_of(REQUEST_B)


def test_the_binding_as_documented_opens(querier_key: X25519PrivateKey) -> None:
    # The reference construction below is what the two next tests rely on.
    data = SUITE.encrypt(
        release_of().encode(), querier_key.public_key(), info=info(OWNER, QUERIER, REQUEST_A)
    )
    assert open_as_querier(data, querier_key) == release_of()


def test_an_inner_request_id_other_than_the_bound_one_is_refused(
    querier_key: X25519PrivateKey,
) -> None:
    # Bound to request B, but the release inside names request A.
    data = SUITE.encrypt(
        release_of(REQUEST_A).encode(),
        querier_key.public_key(),
        info=info(OWNER, QUERIER, REQUEST_B),
    )
    with pytest.raises(PeerError, match="names another request or owner"):
        open_release(data, querier_key, owner=OWNER, querier=QUERIER, request_id=REQUEST_B)


def test_an_inner_owner_other_than_the_bound_one_is_refused(
    querier_key: X25519PrivateKey,
) -> None:
    data = SUITE.encrypt(
        release_of(owner="es-cnp").encode(),
        querier_key.public_key(),
        info=info(OWNER, QUERIER, REQUEST_A),
    )
    with pytest.raises(PeerError, match="names another request or owner"):
        open_as_querier(data, querier_key)


def test_a_sealed_non_release_is_refused(querier_key: X25519PrivateKey) -> None:
    data = SUITE.encrypt(
        b'{"hello": "world"}', querier_key.public_key(), info=info(OWNER, QUERIER, REQUEST_A)
    )
    with pytest.raises(PeerError, match="malformed"):
        open_as_querier(data, querier_key)


# -- the querier's public key ----------------------------------------------------------------------


def test_public_key_from_bytes_reads_a_key(querier_key: X25519PrivateKey) -> None:
    raw = public_bytes(querier_key)
    assert public_bytes(public_key_from_bytes(raw)) == raw


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_public_key_of_the_wrong_length_is_refused(length: int) -> None:
    with pytest.raises(
        InvalidEncoding, match=f"expected a 32-byte X25519 public key, got {length}"
    ):
        public_key_from_bytes(b"\x09" * length)


def test_the_zero_point_is_refused() -> None:
    with pytest.raises(InvalidEncoding, match="low-order point"):
        public_key_from_bytes(bytes(32))


@pytest.mark.parametrize("u", LOW_ORDER_POINTS, ids=LOW_ORDER_IDS)
def test_sealing_to_a_low_order_point_fails(u: int) -> None:
    # Whatever the check at arrival, HPKE itself never seals to a predictable shared secret.
    recipient = X25519PublicKey.from_public_bytes(u.to_bytes(32, "little"))
    with pytest.raises(InvalidInput, match="cannot seal the release"):
        seal_release(release_of(), recipient, querier=QUERIER)


@pytest.mark.parametrize("u", LOW_ORDER_POINTS, ids=LOW_ORDER_IDS)
def test_other_low_order_points_are_refused(u: int) -> None:
    with pytest.raises(InvalidEncoding, match=r"the X25519 public key is a low\-order point"):
        public_key_from_bytes(u.to_bytes(32, "little"))
