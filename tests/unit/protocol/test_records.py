"""Parsing of plain mappings into records: shapes, flat CSV fields and field-naming errors."""

from __future__ import annotations

import pytest

from crypto.errors import InputError
from protocol.match_keys.dates import PartialDate
from protocol.match_keys.records import DocumentType, Sex, parse_record


def test_full_record() -> None:
    record = parse_record(
        {
            "id": "R-1",
            "name": "BIN LADEN, Usama",
            "aliases": ["Osama bin Laden", {"family_name": "Laden", "given_names": "Usama"}],
            "date_of_birth": ["1957-03-10", 1957],
            "sex": "m",
            "nationalities": "sa; af",
            "place_of_birth": "Riyadh",
            "documents": [{"type": "P", "number": "A1234567", "issuing_country": "SAU"}],
            "accounts": [{"iban": "DE89370400440532013000"}],
            "vehicles": [{"plate": "M-AB 1234", "plate_country": "DE"}],
            "phones": [{"number": "050 123 4567", "country": "SA"}],
            "email": "a@example.org",
            "dna": {"D3S1358": "15,16"},
        }
    )
    assert record.person is not None
    assert [name.field for name in record.person.names] == [
        "name",
        "aliases[0]",
        "aliases[1]",
    ]
    assert record.person.dates_of_birth[1].date == PartialDate(1957, None, None)
    assert record.person.sex is Sex.MALE
    assert record.person.nationalities == ("SAU", "AFG")
    assert record.documents[0].type is DocumentType.PASSPORT
    assert record.vehicles[0].plate_country == "DEU"
    assert record.phones[0].country == "SAU"


def test_flat_csv_fields_and_empty_strings() -> None:
    record = parse_record(
        {
            "name": "Ana Silva",
            "date_of_birth": "",
            "document_number": "X123456",
            "document_issuing_country": "pt",
            "iban": "",
            "account_number": "123456",
            "bank_id": "CGDIPTPL",
            "vin": "WVWZZZ1JZXW000001",
            "phone": "+351 912 345 678",
            "emails": "a@example.org, b@example.org",
        }
    )
    assert record.person is not None
    assert record.person.dates_of_birth == ()
    assert record.documents[0].field == "document_number"
    assert record.documents[0].issuing_country == "PRT"
    assert record.accounts[0].path("bank_id") == "bank_id"
    assert record.vehicles[0].path("vin") == "vin"
    assert [email.field for email in record.emails] == ["emails[0]", "emails[1]"]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"name": "A B", "nickname": "x"}, r"^nickname: unknown field"),
        ({"name": 12}, r"^name: expected a string, got a number"),
        ({"name": "A B", "date_of_birth": "1957-02-30"}, r"^date_of_birth: "),
        ({"name": "A B", "date_of_birth": ["1957", "x"]}, r"^date_of_birth\[1\]: "),
        ({"name": "A B", "sex": "q"}, r"^sex: expected F, M, X or U"),
        ({"name": "A B", "nationality": "QQ"}, r"^nationality: unknown ISO 3166"),
        ({"documents": [{"number": "X1", "issuing_country": "Q1"}]}, r"documents\[0\]\.issuing"),
        ({"documents": [{"type": "P"}]}, r"^documents\[0\]\.number: a document needs"),
        ({"documents": [{"number": "X", "colour": "red"}]}, r"^documents\[0\]\.colour: unknown"),
        ({"document_number": 1234567}, r"^document_number: expected a string, got a number"),
        ({"account_number": "123456"}, r"^bank_id: an account number needs its bank_id"),
        ({"accounts": [{}]}, r"^accounts: expected a list|^accounts\[0\]: an account needs"),
        ({"vehicles": [{"plate": "AB123"}]}, r"^vehicles\[0\]\.plate_country: a plate needs"),
        ({"phones": [{"country": "FR"}]}, r"^phones\[0\]\.number: a phone entry needs"),
        ({"aliases": [{"name": "A", "family_name": "B"}]}, r"^aliases\[0\]: give either"),
        ({"sex": "F"}, r"^record: no identifying field"),
        ({}, r"^record: no identifying field"),
        ({"id": ["x"], "name": "A B"}, r"^id: expected a string or a number"),
    ],
)
def test_errors_name_the_field(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_record(mapping)


def test_non_mapping_is_refused() -> None:
    with pytest.raises(InputError, match=r"^record: expected an object"):
        parse_record(["name"])  # type: ignore[arg-type]
