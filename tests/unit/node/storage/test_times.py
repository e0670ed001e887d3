"""The one stored spelling of a time, and the older spellings still read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from node.storage.times import format_time, parse_time

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def test_a_time_is_stored_in_utc_with_six_fraction_digits() -> None:
    paris = timezone(timedelta(hours=1))
    assert format_time(T0) == "2026-01-02T03:04:05.123456Z"
    assert format_time(T0.astimezone(paris)) == "2026-01-02T03:04:05.123456Z"
    assert format_time(T0.replace(microsecond=0)) == "2026-01-02T03:04:05.000000Z"


def test_a_stored_time_reads_back_as_the_same_aware_instant() -> None:
    back = parse_time(format_time(T0))
    assert back == T0
    assert back.tzinfo is UTC


def test_the_text_order_is_the_time_order() -> None:
    times = [T0 + timedelta(microseconds=n * 999_999) for n in range(-3, 4)]
    assert sorted(times, key=format_time) == sorted(times)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a time with a time zone"):
        format_time(datetime(2026, 1, 2, 3, 4, 5))


@pytest.mark.parametrize(
    "older",
    ["2026-01-02T03:04:05.123456+00:00", "2026-01-02T04:04:05.123456+01:00"],
)
def test_the_older_spellings_of_the_disclosure_tables_are_read(older: str) -> None:
    assert parse_time(older) == T0
    assert parse_time(older).tzinfo is UTC


def test_a_whole_second_time_without_fraction_is_read() -> None:
    assert parse_time("2026-01-02T03:04:05+00:00") == T0.replace(microsecond=0)


@pytest.mark.parametrize("text", ["2026-01-02T03:04:05.123456", "yesterday", "", "2026-13-02"])
def test_a_time_without_zone_or_malformed_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a stored time YYYY-MM-DDTHH:MM:SS\.ffffffZ"):
        parse_time(text)
