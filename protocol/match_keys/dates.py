"""Dates of birth: parsing of full and partial dates, placeholders, and the day/month swap.

Accepted spellings (after trimming): `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, `YYYY-MM`, `YYYY`,
`DD/MM/YYYY`, `DD.MM.YYYY` and `DD-MM-YYYY`. Day-first spellings are read as day, month, year (the
order used by Arabic-, French- and Spanish-speaking administrations); a record that was written
month-first by mistake is still found through the separate, weaker day/month swap key.

Unknown parts may be written `00`, `XX` or `??` (`1957-00-00`, `00/00/1957`, `1957-XX-XX`): they
give a partial date. A known day with an unknown month is refused, because it cannot be keyed.

Decisions on placeholders (applied by `assess_date_of_birth`, not by the parser, because they are
keying policy and belong to a profile version):

- 1 January is recorded far more often than it is a birthday: many civil registries and
  asylum procedures assign it when only the year is known. A date on 01-01 is therefore keyed as
  year-only, with a `placeholder_date` warning. A person truly born on 1 January still matches on
  the year keys; only the full-date keys are withheld.
- 1900-01-01 and 1970-01-01 are the null values of common databases and spreadsheets; they are
  treated as no date at all, with a `sentinel_date` warning.
- Years outside 1850..2100 are refused: they are typing errors or other null values, and a pure
  function has no clock to judge "in the future" more precisely.
"""

from __future__ import annotations

import calendar
import enum
import re
from dataclasses import dataclass

from crypto.errors import InputError

__all__ = [
    "DateAssessment",
    "DatePrecision",
    "PartialDate",
    "assess_date_of_birth",
    "parse_date",
    "swap_key",
]

_MIN_YEAR = 1850
_MAX_YEAR = 2100
_UNKNOWN = frozenset({"00", "0", "XX", "X", "??", "?", "--"})
_PART = r"(\d{1,2}|XX|X|\?\?|\?|--)"

_YEAR_FIRST = re.compile(r"(\d{4})(?:[-/.]" + _PART + r"(?:[-/.]" + _PART + r")?)?", re.IGNORECASE)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DAY_FIRST = re.compile(_PART + r"([/.\-])" + _PART + r"\2(\d{4})", re.IGNORECASE)


class DatePrecision(enum.StrEnum):
    """How much of a date of birth is known and usable for keys."""

    FULL = "full"
    YEAR_MONTH = "year_month"
    YEAR = "year"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A calendar date of which the day, or the month and day, may be unknown."""

    year: int
    month: int | None
    day: int | None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a partial date cannot know the day without the month")

    @property
    def precision(self) -> DatePrecision:
        """Return how much of the date is known."""
        if self.day is not None:
            return DatePrecision.FULL
        if self.month is not None:
            return DatePrecision.YEAR_MONTH
        return DatePrecision.YEAR

    def iso(self) -> str:
        """Return `YYYY-MM-DD`, `YYYY-MM` or `YYYY`."""
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text


@dataclass(frozen=True, slots=True)
class DateAssessment:
    """What a profile may key from a date of birth, and why it withheld the rest."""

    date: PartialDate | None
    placeholder: bool
    sentinel: bool

    @property
    def precision(self) -> DatePrecision:
        """Return the precision that keys may use."""
        return DatePrecision.NONE if self.date is None else self.date.precision


def _part(text: str | None) -> int | None:
    """Return a day or month number, or None when the part is absent or marked unknown."""
    if text is None or text.upper() in _UNKNOWN:
        return None
    value = int(text)
    return None if value == 0 else value


def parse_date(text: str, field: str) -> PartialDate:
    """Parse a full or partial date; raise `InputError` naming `field` when it is not a date."""
    raw = text.strip()
    year_text: str
    month_text: str | None
    day_text: str | None
    if match := (_COMPACT.fullmatch(raw) or _YEAR_FIRST.fullmatch(raw)):
        year_text, month_text, day_text = match.group(1), match.group(2), match.group(3)
    elif match := _DAY_FIRST.fullmatch(raw):
        day_text, month_text, year_text = match.group(1), match.group(3), match.group(4)
    else:
        raise InputError(
            f"{field}: expected a date as YYYY-MM-DD, YYYY-MM, YYYY, DD/MM/YYYY or DD.MM.YYYY, "
            f"got {raw!r}"
        )
    year = int(year_text)
    month = _part(month_text)
    day = _part(day_text)
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise InputError(f"{field}: year {year} is outside {_MIN_YEAR}..{_MAX_YEAR}")
    if month is None and day is not None:
        raise InputError(f"{field}: a day without a month cannot be used, got {raw!r}")
    if month is not None and not 1 <= month <= 12:
        raise InputError(f"{field}: month {month} does not exist, got {raw!r}")
    if day is not None and month is not None:
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            raise InputError(f"{field}: {year:04d}-{month:02d} has no day {day}, got {raw!r}")
    return PartialDate(year, month, day)


def assess_date_of_birth(date: PartialDate) -> DateAssessment:
    """Apply the placeholder rules of the module docstring to a parsed date of birth."""
    if date.month == 1 and date.day == 1:
        if date.year in (1900, 1970):
            return DateAssessment(None, placeholder=False, sentinel=True)
        return DateAssessment(PartialDate(date.year, None, None), placeholder=True, sentinel=False)
    return DateAssessment(date, placeholder=False, sentinel=False)


def swap_key(date: PartialDate) -> str | None:
    """Return the day/month-swap form `YYYY|aa/bb` (the two numbers sorted), or None.

    The form exists only for full dates whose day and month are different and both at most 12,
    the dates a month-first or day-first misreading can turn into each other. Two records share
    it exactly when their dates are equal or swapped.
    """
    if date.day is None or date.month is None or date.day > 12 or date.day == date.month:
        return None
    low, high = sorted((date.day, date.month))
    return f"{date.year:04d}|{low:02d}/{high:02d}"
