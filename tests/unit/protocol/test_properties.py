"""Properties of keying: determinism, and independence of field order, whitespace and case."""

# Generated names mix Latin, Arabic, Cyrillic and Greek letters on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import random
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InputError
from protocol.match_keys import KeyingResult, KeyKind, derive_keys
from protocol.match_keys.phonetic import arabic_readings, latin_readings

_WORDS = [
    "Usama", "Osama", "bin", "Ladin", "Laden", "Mohammed", "Muhammad", "Abdul", "Rahman",
    "al-Qaradawi", "Abu", "Bakr", "de", "la", "Cruz", "van", "Gogh", "García", "López", "Müller",
    "Sørensen", "O'Brien", "Jean-Pierre", "Nguyễn", "Văn", "Fayçal", "Salahuddin", "Rahmatullah",
    "أسامة", "بن", "لادن", "عبد", "الرحمن", "محمد", "أبو", "آل", "خامنه‌ای", "Владимир", "Путин",
    "Юрий", "Милошевић", "Αλέξης", "Τσίπρας", "Sheikh", "Dr.", "Ivаnov",
]  # fmt: skip
_LETTERS = string.ascii_letters + "áéíóúñçäöüøłšžćđßàèìòùâêîôûãõ"
# Given and family names that are no particle, title or prefix anywhere in a name.
_PLAIN_NAMES = [
    "Hassan", "Hussein", "Karima", "Youssef", "Mohamed", "Jamal", "Aicha", "Omar", "Fatemeh",
    "Mahmoud", "Khaled", "Saeed", "Ivanova", "Petrov", "García", "حسين", "محمد", "خالد", "فاطمة",
]  # fmt: skip
# The characters a phonetic reading is made of: consonant classes, then vowel and final marks.
_READING_ALPHABET = frozenset("btszjkhrxflmnv" + "aiu" + "eyo")

token = st.one_of(st.sampled_from(_WORDS), st.text(alphabet=_LETTERS, min_size=2, max_size=9))
name = st.lists(token, min_size=1, max_size=5).map(" ".join)
date = st.dates().filter(lambda d: 1900 <= d.year <= 2020).map(lambda d: d.isoformat())
document = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=6, max_size=9)
phone = st.integers(min_value=100_000_000, max_value=999_999_999).map(lambda n: f"+33{n}")


@st.composite
def records(draw: st.DrawFn) -> dict[str, object]:
    record: dict[str, object] = {"name": draw(name)}
    if draw(st.booleans()):
        record["date_of_birth"] = draw(date)
    if draw(st.booleans()):
        record["aliases"] = draw(st.lists(name, min_size=1, max_size=2))
    if draw(st.booleans()):
        record["documents"] = [{"number": draw(document), "issuing_country": "FRA"}]
    if draw(st.booleans()):
        record["phone"] = draw(phone)
    return record


def _keys(record: dict[str, object]) -> KeyingResult | None:
    """Return the result, or None when the generated name holds no usable letters."""
    try:
        return derive_keys(record)
    except InputError:
        return None


def _respace(text: str, rng: random.Random) -> str:
    words = text.split()
    gaps = [rng.choice([" ", "  ", "\t", " \u00a0"]) for _ in words]
    return rng.choice(["", " ", "\t"]) + "".join(w + g for w, g in zip(words, gaps, strict=True))


@settings(max_examples=150, deadline=None)
@given(records())
def test_keys_are_deterministic(record: dict[str, object]) -> None:
    assert _keys(record) == _keys(dict(record))


@settings(max_examples=150, deadline=None)
@given(records(), st.randoms(use_true_random=False))
def test_keys_do_not_depend_on_field_order(record: dict[str, object], rng: random.Random) -> None:
    items = list(record.items())
    rng.shuffle(items)
    assert _keys(record) == _keys(dict(items))


@settings(max_examples=150, deadline=None)
@given(records(), st.randoms(use_true_random=False))
def test_keys_do_not_depend_on_whitespace(record: dict[str, object], rng: random.Random) -> None:
    spaced = dict(record)
    spaced["name"] = _respace(str(record["name"]), rng)
    if "documents" in record:
        number = record["documents"][0]["number"]  # type: ignore[index]
        spaced["documents"] = [{"number": f" {number[:3]} {number[3:]} ", "issuing_country": "FRA"}]
    assert _keys(record) == _keys(spaced)


@settings(max_examples=150, deadline=None)
@given(records())
def test_keys_do_not_depend_on_case(record: dict[str, object]) -> None:
    upper = dict(record, name=str(record["name"]).upper())
    lower = dict(record, name=str(record["name"]).lower())
    if "aliases" in record:
        upper["aliases"] = [alias.upper() for alias in record["aliases"]]  # type: ignore[attr-defined]
        lower["aliases"] = [alias.lower() for alias in record["aliases"]]  # type: ignore[attr-defined]
    assert _keys(upper) == _keys(lower)


@settings(max_examples=200, deadline=None)
@given(name.filter(lambda text: text != text.lower() or not text.isascii()))
def test_no_key_contains_the_raw_name(raw: str) -> None:
    result = _keys({"name": raw, "date_of_birth": "1970-05-06"})
    if result is None:
        return
    for key in result.keys:
        assert raw.strip() not in key.value
        assert key.value.isascii()
        assert key.value.isprintable()


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_arbitrary_text_never_crashes(text: str) -> None:
    for field in ("name", "date_of_birth", "document_number", "phone", "email", "iban", "vin"):
        record: dict[str, object] = {"name": "Ana Silva", field: text}
        try:
            result = derive_keys(record)
        except InputError as error:
            named = str(error).split(":", 1)[0]
            assert named.startswith((field, "record")), named
        else:
            assert all(key.value.isascii() for key in result.keys)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=14))
def test_latin_readings_are_few_distinct_and_made_of_classes_and_marks(text: str) -> None:
    readings = latin_readings(text)
    assert readings == latin_readings(text)
    assert len(readings) == len(set(readings)) <= 8
    for reading in readings:
        assert reading
        assert set(reading) <= _READING_ALPHABET


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهويءأإآةىئؤپچژگکی", min_size=1, max_size=10))
def test_arabic_readings_are_few_distinct_and_made_of_classes_and_marks(text: str) -> None:
    readings = arabic_readings(text)
    assert len(readings) == len(set(readings)) <= 8
    for reading in readings:
        assert set(reading) <= _READING_ALPHABET


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(_PLAIN_NAMES), min_size=2, max_size=4, unique=True),
    st.randoms(use_true_random=False),
)
def test_phonetic_keys_do_not_depend_on_token_order(names: list[str], rng: random.Random) -> None:
    shuffled = list(names)
    rng.shuffle(shuffled)

    def whole_name_keys(order: list[str]) -> set[str]:
        keys = derive_keys({"name": " ".join(order), "date_of_birth": "1970-05-06"}).keys
        values = {key.value for key in keys if key.kind is KeyKind.PHONETIC_DOB}
        # The whole name gives the values that hold every token; reduced pairs follow the order.
        longest = max(len(value.split()) for value in values)
        return {value for value in values if len(value.split()) == longest}

    assert whole_name_keys(names) == whole_name_keys(shuffled)
