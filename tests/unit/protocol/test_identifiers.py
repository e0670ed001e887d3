"""Identifiers: documents, IBANs, bank accounts, VINs, plates, phones and e-mail addresses."""

# Some refused inputs are written in Cyrillic letters that look Latin, on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from crypto.errors import InputError
from protocol.match_keys.countries import calling_code, normalise_country, trunk_prefix
from protocol.match_keys.identifiers import (
    iban_checksum_valid,
    normalise_bank_account,
    normalise_document_number,
    normalise_email,
    normalise_iban,
    normalise_phone,
    normalise_plate,
    normalise_vin,
    vin_check_digit,
)
from protocol.match_keys.keys import WarningCode


def test_document_number_is_compacted() -> None:
    document = normalise_document_number(" c01x-00t 47 ", "document_number")
    assert document.number == "C01X00T47"


def test_document_number_folds_confusables_and_leading_zeros() -> None:
    assert normalise_document_number("O0123456", "n").folded == "123456"
    assert (
        normalise_document_number("AI0Q9", "n").folded
        == normalise_document_number("A1009", "n").folded
    )


@pytest.mark.parametrize("text", ["AB*12345", "123", "X" * 25, "АВ123456"])
def test_bad_document_number_names_the_field(text: str) -> None:
    with pytest.raises(InputError, match=r"^documents\[0\]\.number: "):
        normalise_document_number(text, "documents[0].number")


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
        "iban nl91abna0417164300",
    ],
)
def test_valid_ibans(iban: str) -> None:
    result = normalise_iban(iban, "iban")
    assert result.findings == ()
    assert " " not in result.iban
    assert result.iban.isupper() or result.iban.isalnum()


def test_iban_checksum_failure_is_a_finding_not_an_error() -> None:
    result = normalise_iban("GB82 WEST 1234 5698 7654 33", "iban")
    assert result.iban == "GB82WEST12345698765433"
    assert [code for code, _ in result.findings] == [WarningCode.INVALID_CHECKSUM]
    assert not iban_checksum_valid("GB82WEST12345698765433")


def test_iban_wrong_length_for_country_is_a_finding() -> None:
    result = normalise_iban("DE89 3704 0044 0532 0130 0", "iban")
    assert WarningCode.UNEXPECTED_LENGTH in {code for code, _ in result.findings}


@pytest.mark.parametrize("text", ["DE89", "1234567890123456", "DE89 3704 0044 0532 0130 00 !"])
def test_malformed_iban_is_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^accounts.0..iban: expected an IBAN"):
        normalise_iban(text, "accounts[0].iban")


def test_bank_account_cuts_bic_to_institution() -> None:
    value = normalise_bank_account(
        "0012 3456", "DEUTDEFF500", number_field="account_number", bank_field="bank_id"
    )
    assert value == "DEUTDEFF|00123456"
    with pytest.raises(InputError, match=r"^bank_id: "):
        normalise_bank_account("123456", "", number_field="account_number", bank_field="bank_id")
    with pytest.raises(InputError, match=r"^account_number: "):
        normalise_bank_account("1", "DEUTDEFF", number_field="account_number", bank_field="bank_id")


def test_vin_check_digit_of_the_49_cfr_565_example() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert normalise_vin("1M8GDM9AXKP042788", "vin").findings == ()


def test_vin_with_wrong_check_digit_is_a_finding() -> None:
    result = normalise_vin("1M8GDM9A1KP042788", "vin")
    assert [code for code, _ in result.findings] == [WarningCode.INVALID_CHECKSUM]


def test_vin_check_digit_is_not_required_outside_north_america() -> None:
    assert normalise_vin("WVWZZZ1JZXW000001", "vin").findings == ()


def test_vin_forbidden_letters_are_read_as_digits() -> None:
    result = normalise_vin("WVWZZZIJZXWOOOOO1", "vin")
    assert result.vin == "WVWZZZ1JZXW000001"
    assert WarningCode.CONFUSABLE_CHARACTERS in {code for code, _ in result.findings}


def test_short_chassis_number_is_accepted_with_a_finding() -> None:
    result = normalise_vin("WBA-12345", "vin")
    assert result.vin == "WBA12345"
    assert WarningCode.UNEXPECTED_LENGTH in {code for code, _ in result.findings}


@pytest.mark.parametrize("text", ["ABC", "1M8GDM9AXKP0427881", "1M8GDM9AXKP04278*"])
def test_bad_vin_is_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^vehicles\[0\]\.vin: "):
        normalise_vin(text, "vehicles[0].vin")


def test_plate_is_compacted() -> None:
    assert normalise_plate("m-ab 1234", "plate") == "MAB1234"
    with pytest.raises(InputError, match=r"^plate: "):
        normalise_plate("Х", "plate")


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GBR", "+442079460958"),
        ("06 12 34 56 78", "FRA", "+33612345678"),
        ("612 34 56 78", "ESP", "+34612345678"),
        ("06 1234567", "ITA", "+39061234567"),
        ("8 (495) 123-45-67", "RUS", "+74951234567"),
        ("(202) 555-0142", "USA", "+12025550142"),
        ("050 123 4567", "SAU", "+966501234567"),
    ],
)
def test_phone_to_e164(text: str, country: str | None, expected: str) -> None:
    assert normalise_phone(text, "phone", country) == expected


def test_national_phone_without_country_is_not_keyed() -> None:
    assert normalise_phone("06 12 34 56 78", "phone", None) is None


@pytest.mark.parametrize("text", ["+33 6 12 ab 56", "+1 23", "+1234567890123456", "12+34"])
def test_bad_phone_is_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^phones.1.: "):
        normalise_phone(text, "phones[1]", "FRA")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ali.Hassan@Example.ORG", "ali.hassan@example.org"),
        ("John.Smith+news@GoogleMail.com", "johnsmith@gmail.com"),
        ("j.smith+x@outlook.com", "j.smith@outlook.com"),
        ("a+b@example.org", "a+b@example.org"),
        ("mailto:ana@bücher.de", "ana@xn--bcher-kva.de"),
    ],
)
def test_email_canonical_form(text: str, expected: str) -> None:
    assert normalise_email(text, "email") == expected


@pytest.mark.parametrize(
    "text", ["no-at-sign", "a@b", "@example.org", "a..b@example.org", "a@-bad-.org", "a b@x.org"]
)
def test_bad_email_is_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^email: "):
        normalise_email(text, "email")


def test_country_codes() -> None:
    assert normalise_country("fr", "c") == "FRA"
    assert normalise_country("DEU", "c") == "DEU"
    assert normalise_country("D<<", "c") == "DEU"
    assert normalise_country("XXA", "c") == "XXA"
    with pytest.raises(InputError, match=r"^c: unknown ISO 3166 alpha-2"):
        normalise_country("QQ", "c")
    with pytest.raises(InputError, match=r"^c: expected an ISO 3166"):
        normalise_country("France", "c")
    assert calling_code("KAZ") == "7"
    assert trunk_prefix("ITA") == ""
    assert trunk_prefix("USA") == "1"
    assert trunk_prefix("FRA") == "0"
