"""Dates of birth: formats, partial dates, placeholders and the day/month swap."""

from __future__ import annotations

import pytest

from crypto.errors import InputError
from protocol.match_keys.dates import (
    DatePrecision,
    PartialDate,
    assess_date_of_birth,
    parse_date,
    swap_key,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1957-03-10", PartialDate(1957, 3, 10)),
        ("1957/03/10", PartialDate(1957, 3, 10)),
        ("19570310", PartialDate(1957, 3, 10)),
        ("10/03/1957", PartialDate(1957, 3, 10)),
        ("10.03.1957", PartialDate(1957, 3, 10)),
        ("10-03-1957", PartialDate(1957, 3, 10)),
        ("1957-03", PartialDate(1957, 3, None)),
        ("1957", PartialDate(1957, None, None)),
        (" 1957 ", PartialDate(1957, None, None)),
        ("1957-00-00", PartialDate(1957, None, None)),
        ("00/00/1957", PartialDate(1957, None, None)),
        ("1957-XX-XX", PartialDate(1957, None, None)),
        ("1957-03-00", PartialDate(1957, 3, None)),
        ("2000-02-29", PartialDate(2000, 2, 29)),
    ],
)
def test_accepted_spellings(text: str, expected: PartialDate) -> None:
    assert parse_date(text, "date_of_birth") == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1957-02-30", "has no day 30"),
        ("1900-02-29", "has no day 29"),
        ("1957-13-01", "month 13"),
        ("31/13/1957", "month 13"),
        ("1957-00-05", "day without a month"),
        ("1755-01-02", "outside"),
        ("2200", "outside"),
        ("10 March 1957", "expected a date"),
        ("57-03-10", "expected a date"),
        ("", "expected a date"),
    ],
)
def test_impossible_dates_name_the_field(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=rf"^aliases\[0\]\.dob: .*{reason}"):
        parse_date(text, "aliases[0].dob")


def test_precision_and_iso() -> None:
    assert PartialDate(1957, 3, 10).precision is DatePrecision.FULL
    assert PartialDate(1957, 3, None).iso() == "1957-03"
    assert PartialDate(1957, None, None).precision is DatePrecision.YEAR
    with pytest.raises(ValueError, match="day without the month"):
        PartialDate(1957, None, 3)


def test_first_of_january_is_a_placeholder() -> None:
    assessment = assess_date_of_birth(PartialDate(1980, 1, 1))
    assert assessment.placeholder
    assert assessment.date == PartialDate(1980, None, None)
    assert assessment.precision is DatePrecision.YEAR


@pytest.mark.parametrize("year", [1900, 1970])
def test_null_sentinels_are_not_keyed(year: int) -> None:
    assessment = assess_date_of_birth(PartialDate(year, 1, 1))
    assert assessment.sentinel
    assert assessment.precision is DatePrecision.NONE


def test_ordinary_date_is_kept() -> None:
    assessment = assess_date_of_birth(PartialDate(1980, 7, 1))
    assert not assessment.placeholder
    assert not assessment.sentinel
    assert assessment.date == PartialDate(1980, 7, 1)


def test_swap_key_joins_swapped_dates_only() -> None:
    assert swap_key(PartialDate(1968, 2, 10)) == swap_key(PartialDate(1968, 10, 2)) == "1968|02/10"
    assert swap_key(PartialDate(1968, 2, 13)) is None
    assert swap_key(PartialDate(1968, 5, 5)) is None
    assert swap_key(PartialDate(1968, 5, None)) is None
