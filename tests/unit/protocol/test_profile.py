"""Keying profile v1: kinds, strengths, warnings, limits and the OPRF input encoding."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from crypto.errors import InputError
from protocol.match_keys import (
    MATCH_KEY_LABEL,
    PROFILE_V1,
    PROFILES,
    KeyingLimits,
    KeyingProfile,
    KeyKind,
    MatchKey,
    Strength,
    WarningCode,
    derive_keys,
    get_profile,
    oprf_input,
    parse_record,
)


def _shared(first: Mapping[str, object], second: Mapping[str, object]) -> set[MatchKey]:
    return set(derive_keys(first).keys) & set(derive_keys(second).keys)


def test_every_kind_has_a_strength_in_v1() -> None:
    assert set(PROFILE_V1.strengths) == set(KeyKind)
    assert PROFILE_V1.strength(KeyKind.DOC) is Strength.STRONG
    assert PROFILE_V1.strength(KeyKind.SKELETON_YOB) is Strength.WEAK
    assert PROFILE_V1.strength(KeyKind.SKELETON_DOB) is Strength.WEAK
    assert PROFILE_V1.strength(KeyKind.PHONETIC_DOB) is Strength.MEDIUM
    assert get_profile("v1") is PROFILE_V1
    assert "v1" in PROFILES


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(InputError, match=r"^profile: unknown keying profile 'v9' \(known: v1\)"):
        get_profile("v9")


def test_strength_is_a_function_of_the_kind() -> None:
    result = derive_keys(
        {"name": "Usama bin Ladin", "date_of_birth": "1957-03-10", "email": "u@example.org"}
    )
    for key in result.keys:
        assert key.strength is PROFILE_V1.strength(key.kind)


def test_issue_example_arabic_and_latin_meet_at_medium() -> None:
    arabic = {"name": "أسامة بن لادن", "date_of_birth": "1957-03-10"}
    latin = {"name": "BIN LADEN, Usama", "date_of_birth": "10/03/1957"}
    shared = _shared(arabic, latin)
    assert {key.kind for key in shared} == {
        KeyKind.PHONETIC_DOB,
        KeyKind.SKELETON_DOB,
        KeyKind.SKELETON_YOB,
    }
    medium = {key.kind for key in shared if key.strength is Strength.MEDIUM}
    assert medium == {KeyKind.PHONETIC_DOB}


def _strongest(first: str, second: str) -> Strength | None:
    shared = _shared(
        {"name": first, "date_of_birth": "1980-03-04"},
        {"name": second, "date_of_birth": "1980-03-04"},
    )
    return max((key.strength for key in shared), key=lambda s: s.rank, default=None)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Hassan Ali", "Hussein Ali"),
        ("Hassan Ali", "Hassanein Ali"),
        ("Said Khalil", "Zaid Khalil"),
        ("Said Khalil", "Saad Khalil"),
        ("Karim Benali", "Karima Benali"),
        ("Amin Haddad", "Amina Haddad"),
        ("Jamal Nasser", "Jamil Nasser"),
        ("Jamal Nasser", "Kamal Nasser"),
        ("Omar Farouk", "Amr Farouk"),
        ("Hamid Rahimi", "Ahmed Rahimi"),
        ("Mohamed Ali", "Mahmoud Ali"),
        ("Mohamed Ali", "Mohamed Alawi"),
        ("Roberto Gomez", "Roberta Gomez"),
        ("حسن علي", "Hussein Ali"),
        ("سعد خليل", "Said Khalil"),
    ],
)
def test_near_names_born_the_same_day_share_only_weak_keys(first: str, second: str) -> None:
    assert _strongest(first, second) is Strength.WEAK


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Mohammed Ali Hassan", "Muhammad Ali Hasan"),
        ("Hussein Mahmoud", "Husain Mahmud"),
        ("Youssef Hamed", "Yusuf Hamid"),
        ("Khaled Saeed", "Khalid Said"),
        ("Jalid Said", "خالد سعيد"),
        ("Fatemeh Karimi", "Fatima Karimi"),
        ("Amr Moussa", "عمرو موسى"),
        ("Kim Jong-un", "김정은"),
    ],
)
def test_spellings_of_one_name_meet_at_medium(first: str, second: str) -> None:
    assert _strongest(first, second) is Strength.MEDIUM


def test_same_written_name_and_date_share_a_strong_key() -> None:
    shared = _shared(
        {"name": "Ahmed Hassan", "date_of_birth": "1980-05-01"},
        {"family_name": "HASSAN", "given_names": "Ahmed", "date_of_birth": "01.05.1980"},
    )
    assert MatchKey(KeyKind.NAME_DOB, Strength.STRONG, "ahmed hasan|1980-05-01") in shared


def test_year_only_meets_full_date_at_name_yob() -> None:
    shared = _shared(
        {"name": "Ibrahim Touré", "date_of_birth": "1985-07-12"},
        {"name": "Ibrahim Toure", "date_of_birth": "1985"},
    )
    assert {key.kind for key in shared} == {KeyKind.NAME, KeyKind.NAME_YOB, KeyKind.SKELETON_YOB}


def test_swapped_day_and_month_meet_at_the_swap_key_only() -> None:
    shared = _shared(
        {"name": "Amina Diallo", "date_of_birth": "1990-03-04"},
        {"name": "Amina Diallo", "date_of_birth": "1990-04-03"},
    )
    kinds = {key.kind for key in shared}
    assert KeyKind.NAME_DOB_SWAP in kinds
    assert KeyKind.NAME_DOB not in kinds


def test_dropped_middle_name_meets_at_name_part_dob() -> None:
    shared = _shared(
        {"name": "John Michael Smith", "date_of_birth": "1972-06-15"},
        {"name": "John Smith", "date_of_birth": "1972-06-15"},
    )
    assert MatchKey(KeyKind.NAME_PART_DOB, Strength.MEDIUM, "john smith|1972-06-15") in shared
    assert KeyKind.NAME_DOB not in {key.kind for key in shared}


def test_placeholder_date_is_year_only_with_a_warning() -> None:
    result = derive_keys({"name": "Samir Haddad", "date_of_birth": "1979-01-01"})
    assert KeyKind.NAME_DOB not in result.kinds()
    assert KeyKind.NAME_YOB in result.kinds()
    assert [(w.field, w.code) for w in result.warnings] == [
        ("date_of_birth", WarningCode.PLACEHOLDER_DATE)
    ]


def test_sentinel_date_is_not_keyed() -> None:
    result = derive_keys({"name": "Samir Haddad", "date_of_birth": "01/01/1900"})
    assert result.kinds() == {KeyKind.NAME}
    assert result.warnings[0].code is WarningCode.SENTINEL_DATE


def test_date_without_name_gives_no_key_but_a_warning() -> None:
    result = derive_keys({"date_of_birth": "1980-02-03", "email": "x@example.org"})
    assert result.kinds() == {KeyKind.EMAIL}
    assert result.warnings[0].code is WarningCode.NOT_KEYED


def test_documents() -> None:
    result = derive_keys({"documents": [{"number": "c01x-00t47", "issuing_country": "de"}]})
    assert set(result.keys) == {
        MatchKey(KeyKind.DOC, Strength.STRONG, "DEU|C01X00T47"),
        MatchKey(KeyKind.DOC_FUZZY, Strength.MEDIUM, "DEU|C01X00T47"),
        MatchKey(KeyKind.DOC_NUMBER, Strength.WEAK, "C01X00T47"),
    }
    o_for_zero = _shared(
        {"document_number": "P0123456", "document_issuing_country": "FRA"},
        {"document_number": "PO123456", "document_issuing_country": "FRA"},
    )
    assert {key.kind for key in o_for_zero} == {KeyKind.DOC_FUZZY}


def test_document_without_country_is_weak_with_a_warning() -> None:
    result = derive_keys({"document_number": "X1234567"})
    assert result.kinds() == {KeyKind.DOC_NUMBER}
    assert result.warnings[0].code is WarningCode.MISSING_COUNTRY
    assert result.warnings[0].field == "document_number"


def test_accounts_vehicles_contacts() -> None:
    result = derive_keys(
        {
            "nationality": "FR",
            "accounts": [
                {"iban": "FR14 2004 1010 0505 0001 3M02 606"},
                {"account_number": "12345678", "bank_id": "BNPAFRPPXXX"},
            ],
            "vehicles": [{"vin": "1M8GDM9AXKP042788", "plate": "AB-123-CD", "plate_country": "FR"}],
            "phone": "06 12 34 56 78",
            "email": "Ana@Example.org",
        }
    )
    values = {(key.kind, key.value) for key in result.keys}
    assert values == {
        (KeyKind.ACCOUNT, "IBAN|FR1420041010050500013M02606"),
        (KeyKind.ACCOUNT, "BANK|BNPAFRPP|12345678"),
        (KeyKind.VEHICLE, "VIN|1M8GDM9AXKP042788"),
        (KeyKind.PLATE, "FRA|AB123CD"),
        (KeyKind.PHONE, "+33612345678"),
        (KeyKind.EMAIL, "ana@example.org"),
    }


def test_identifier_warnings_name_their_fields() -> None:
    result = derive_keys(
        {
            "accounts": [{"iban": "GB82 WEST 1234 5698 7654 33"}],
            "vin": "1M8GDM9A1KP042788",
            "phones": ["06 12 34 56 78"],
        }
    )
    found = {(warning.field, warning.code) for warning in result.warnings}
    assert found == {
        ("accounts[0].iban", WarningCode.INVALID_CHECKSUM),
        ("vin", WarningCode.INVALID_CHECKSUM),
        ("phones[0]", WarningCode.NOT_KEYED),
    }


def test_malformed_identifier_raises_naming_the_field() -> None:
    with pytest.raises(InputError, match=r"^accounts\[1\]\.iban: expected an IBAN"):
        derive_keys({"accounts": [{"iban": "DE89370400440532013000"}, {"iban": "nonsense"}]})


def test_dna_keys() -> None:
    profile = {
        "D3S1358": "15,16",
        "VWA": "17,18",
        "D8S1179": "13",
        "D21S11": "29,30",
        "D18S51": "14,17",
        "TH01": "6,9.3",
        "FGA": "21,24",
    }
    result = derive_keys({"dna": profile})
    assert result.kinds() == {KeyKind.DNA, KeyKind.DNA_NEAR}
    near = _shared({"dna": profile}, {"dna": dict(profile, FGA="*")})
    assert {key.kind for key in near} == {KeyKind.DNA_NEAR}


def test_results_are_sorted_and_unique() -> None:
    result = derive_keys(
        {"name": "Hans Müller", "aliases": "Hans Mueller", "date_of_birth": "1961"}
    )
    assert list(result.keys) == sorted(set(result.keys))
    assert result.profile == "v1"


def test_key_limit() -> None:
    tight = KeyingProfile(
        version="v1", strengths=PROFILE_V1.strengths, derive=PROFILE_V1.derive,
        limits=KeyingLimits(max_keys=3),
    )  # fmt: skip
    with pytest.raises(InputError, match=r"^record: would give"):
        derive_keys({"name": "Ahmed Hassan", "date_of_birth": "1980-05-01"}, tight)


def test_parsed_record_and_mapping_give_the_same_result() -> None:
    mapping: dict[str, object] = {"name": "Ana Silva", "date_of_birth": "1990-01-02"}
    assert derive_keys(parse_record(mapping)) == derive_keys(mapping, "v1")


def test_oprf_input_is_length_prefixed_and_domain_separated() -> None:
    key = MatchKey(KeyKind.DOC, Strength.STRONG, "DEU|C01X00T47")
    encoded = oprf_input("v1", "sltd", key)
    expected = b"".join(
        len(part).to_bytes(2, "big") + part
        for part in (MATCH_KEY_LABEL, b"v1", b"sltd", b"doc", b"DEU|C01X00T47")
    )
    assert encoded == expected
    assert oprf_input("v1", "sltd|doc", MatchKey(KeyKind.DOC, Strength.STRONG, "x")) != oprf_input(
        "v1", "sltd", MatchKey(KeyKind.DOC, Strength.STRONG, "doc|x")
    )
    assert oprf_input("v2", "sltd", key) != encoded
    assert oprf_input("v1", "sltd", MatchKey(KeyKind.DOC_NUMBER, Strength.WEAK, key.value)) != (
        encoded
    )


def test_oprf_input_refuses_empty_and_oversized_fields() -> None:
    key = MatchKey(KeyKind.EMAIL, Strength.STRONG, "a@example.org")
    with pytest.raises(InputError, match=r"^dataset: must not be empty"):
        oprf_input("v1", "", key)
    with pytest.raises(InputError, match=r"^profile version: must not be empty"):
        oprf_input("", "d", key)
    with pytest.raises(InputError, match=r"^dataset: longer than"):
        oprf_input("v1", "d" * 70000, key)
