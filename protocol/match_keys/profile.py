"""Keying profiles: versioned rules that turn a record into match keys.

A profile version fixes everything that decides whether two records share a key: normalisation,
the kinds emitted, their strengths, and the shape of the values. Every node of a federation must
derive keys with the same version, and the version is part of every OPRF input
(`protocol.match_keys.encoding`), so a change of any rule is a new version, never an edit of an
old one. Versions live in a registry so that `--profile v1` selects one.

Profile `v1`. Kinds, strengths and values (`|` separates parts; names are canonical tokens,
sorted; skeletons are consonant classes and phonetic readings are consonant classes with vowel
marks, both per token and sorted, see `protocol.match_keys.names` and `.phonetic`; dates are
ISO 8601):

| kind | strength | value | from |
|---|---|---|---|
| `doc` | strong | `CTY|NUMBER` | a document with its issuing country |
| `doc_fuzzy` | medium | `CTY|NUMBER` with O/Q->0, I->1, no leading zeros | the same |
| `doc_number` | weak | `NUMBER` | any document, with or without a country |
| `name_dob` | strong | `tokens|YYYY-MM-DD` | full name and full date of birth |
| `name_dob_swap` | medium | `tokens|YYYY|aa/bb` | full date whose day and month may be swapped |
| `name_part_dob` | medium | `two tokens|YYYY-MM-DD` | first given name + one family name |
| `name_yob` | medium | `tokens|YYYY` | full name and any date of birth |
| `phonetic_dob` | medium | `readings|YYYY-MM-DD` | whole and reduced name phonetic readings |
| `skeleton_dob` | weak | `skeletons|YYYY-MM-DD` | whole and reduced name skeletons |
| `skeleton_yob` | weak | `skeletons|YYYY` | the same, with the year only |
| `name` | weak | `tokens` | any name, with or without a date |
| `account` | strong | `IBAN|...` or `BANK|bank|account` | bank accounts |
| `vehicle` | strong | `VIN|...` | vehicles |
| `plate` | medium | `CTY|PLATE` | registration plates |
| `phone` | medium | E.164 `+...` | phone numbers |
| `email` | strong | `local@domain` | e-mail addresses |
| `dna` | strong | `LOCUS=a,b;...` | a fully typed reference locus set |
| `dna_near` | medium | `LOCUS=a,b;...` | the same set less one locus |

Why these strengths:

- `phonetic_dob` is the medium key that joins an Arabic-script name with its Latin
  transliterations (`أسامة بن لادن` and `Usama bin Ladin` share no token), and Latin spellings
  of one name with each other (`Mohammed Ali Hassan`, `Muhammad Ali Hasan`). It replaced the
  consonant skeleton in that role. Measured on `tests/data/match_keys_eval.jsonl` (509 pairs):
  with the skeleton and the full date as the medium key, every one of the 41 pairs of distinct
  people with near names born the same day (Hassan and Hussein, Said, Zaid and Saad, Karim and
  Karima, Jamal and Jamil, Mohamed and Mahmoud, twins Fernando and Fernanda) shared a medium key,
  18.6 % of the 221 distinct-person pairs held to the ceiling; with the phonetic reading, 1 of
  221 does (0.5 %: Maria Garcia Lopez and Maria Garcia Fernandez, through `name_part_dob`, which
  exists for a dropped second surname). Same-person recall at medium or stronger stays at 96.0 %
  of 276 pairs; at any strength it goes from 97.5 % to 98.2 % through two normalisation fixes
  made alongside (`Aboul`, and Arabic words whose ayns leave one Latin letter). The price is
  keys: 9.8 per record of that set on average instead of 7.3, since a vowel that Latin spells two
  ways gives two readings; the rules keep one reading wherever one choice serves both scripts.
- `skeleton_dob` is weak and kept: the consonant skeleton still joins what the phonetic reading
  misses (Hassan and Hussein born the same day; a spelling outside its rules), and a shared full
  date tells such a lead apart from the year-only `skeleton_yob`.
- What the phonetic reading cannot separate, because some common transliteration writes both
  names alike, so that a key which joins the spellings of one joins the other: Ziad and Zaid,
  Salah and Saleh, Nasr and Nasser, Hamad and Hamed, Amr and Amer, Said and Sayed, Hisham and
  Hashem, Islam and Aslam, Ihsan and Ahsan, Jalil and Khalil (Spanish `j`), Hassen (a Maghrebi
  spelling of Hassan) and Hussein, and in Arabic script حامد and حميد or هشام and هاشم, which
  differ only in a long a or in the short i of C-a-C-i-C that Latin spellings write alike. Such
  pairs share `phonetic_dob` when born the same day; they are not in the evaluation set.
- `name_yob` is medium as docs/promises.md ("Match keys") says, although namesakes born in the
  same year share it: a year is often all that a record knows. `name` alone is weak and exists
  so that records without any date of birth can hit at all.
- Plates are reissued and phone numbers recycled or shared, so both are medium. Document numbers
  without the issuing country collide across countries, so `doc_number` is weak.
- Person fields not used for keys: sex and place of birth are recorded too inconsistently;
  nationality only completes national phone numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from crypto.errors import InputError
from protocol.match_keys import dna as dna_module
from protocol.match_keys.dates import (
    DatePrecision,
    PartialDate,
    assess_date_of_birth,
    swap_key,
)
from protocol.match_keys.identifiers import (
    normalise_bank_account,
    normalise_document_number,
    normalise_email,
    normalise_iban,
    normalise_phone,
    normalise_plate,
    normalise_vin,
)
from protocol.match_keys.keys import (
    DataQualityWarning,
    KeyingResult,
    KeyKind,
    MatchKey,
    Strength,
    WarningCode,
)
from protocol.match_keys.names import NameForm, normalise_name
from protocol.match_keys.records import Person, Record, parse_record

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "PROFILE_V1",
    "KeyingLimits",
    "KeyingProfile",
    "derive_keys",
    "get_profile",
]


@dataclass(frozen=True)
class KeyingLimits:
    """Bounds on the work one record may cause (aliases times dates multiply keys)."""

    max_keys: int = 1024


@dataclass(frozen=True)
class KeyingProfile:
    """One version of the keying rules: kind strengths, limits and the derivation function."""

    version: str
    strengths: Mapping[KeyKind, Strength]
    derive: Callable[[Record, KeyingProfile], KeyingResult] = field(repr=False, compare=False)
    limits: KeyingLimits = KeyingLimits()

    def strength(self, kind: KeyKind) -> Strength:
        """Return the strength of `kind`; raise `InputError` if the profile has no such kind."""
        try:
            return self.strengths[kind]
        except KeyError as error:
            raise InputError(f"profile {self.version} has no key kind {kind.value!r}") from error


class _Collector:
    """Keys and warnings of one record under construction.

    Keys are collected as `(kind, value)` pairs and become `MatchKey`s once, sorted, at the end:
    the strength is a function of the kind, so the pairs sort and deduplicate exactly as the
    keys do. A kind the profile lacks is refused when it is first met, as `strength` would.
    """

    def __init__(self, profile: KeyingProfile) -> None:
        self.profile = profile
        self._strengths = profile.strengths
        self.keys: set[tuple[KeyKind, str]] = set()
        self.warnings: set[DataQualityWarning] = set()

    def key(self, kind: KeyKind, value: str) -> None:
        if kind not in self._strengths:
            self.profile.strength(kind)  # Raises InputError naming the kind.
        self.keys.add((kind, value))

    def warn(self, field_name: str, code: WarningCode, message: str) -> None:
        self.warnings.add(DataQualityWarning(field_name, code, message))

    def result(self) -> KeyingResult:
        if len(self.keys) > self.profile.limits.max_keys:
            raise InputError(
                f"record: would give {len(self.keys)} keys, more than the limit of "
                f"{self.profile.limits.max_keys}; split aliases or dates over several records"
            )
        strength = self.profile.strength
        return KeyingResult(
            profile=self.profile.version,
            keys=tuple(MatchKey(kind, strength(kind), value) for kind, value in sorted(self.keys)),
            warnings=tuple(sorted(self.warnings)),
        )


_Dob = tuple[DatePrecision, str, str | None]
# Bound of the caches of per-name and per-date values; see `protocol.match_keys.names`.
_CACHE = 8192


@dataclass(frozen=True, slots=True)
class _FormValues:
    """What the keys of one name form are made of: the parts that do not depend on a date."""

    tokens: str
    reduced_names: tuple[str, ...]
    skeletons: tuple[str, ...]
    phonetics: tuple[str, ...]


def _form_values(form: NameForm) -> _FormValues:
    pairs = form.reduced_pairs()
    reduced_names = {" ".join(sorted((form.tokens[i], form.tokens[j]))) for i, j in pairs}
    skeletons = set(form.skeleton_keys())
    phonetics = set(form.phonetic_keys())
    for pair in pairs:
        skeletons.update(form.skeleton_keys(pair))
        phonetics.update(form.phonetic_keys(pair))
    return _FormValues(
        form.sorted_tokens(), tuple(reduced_names), tuple(skeletons), tuple(phonetics)
    )


@functools.lru_cache(maxsize=_CACHE)
def _name_values(
    full: str | None, family: str | None, given: str | None, field_name: str
) -> tuple[tuple[tuple[WarningCode, str], ...], tuple[_FormValues, ...]]:
    """The warnings of one name and the values of its forms (a pure function, cached)."""
    normalised = normalise_name(full=full, family=family, given=given, field_name=field_name)
    return normalised.warnings, tuple(_form_values(form) for form in normalised.forms)


def _name_keys(out: _Collector, form: _FormValues, dates: list[_Dob]) -> None:
    tokens = form.tokens
    reduced_names = form.reduced_names
    skeletons = form.skeletons
    phonetics = form.phonetics
    out.key(KeyKind.NAME, tokens)
    for precision, iso, swapped in dates:
        year = iso[:4]
        out.key(KeyKind.NAME_YOB, f"{tokens}|{year}")
        for value in skeletons:
            out.key(KeyKind.SKELETON_YOB, f"{value}|{year}")
        if precision is not DatePrecision.FULL:
            continue
        out.key(KeyKind.NAME_DOB, f"{tokens}|{iso}")
        if swapped is not None:
            out.key(KeyKind.NAME_DOB_SWAP, f"{tokens}|{swapped}")
        for value in reduced_names:
            out.key(KeyKind.NAME_PART_DOB, f"{value}|{iso}")
        for value in phonetics:
            out.key(KeyKind.PHONETIC_DOB, f"{value}|{iso}")
        for value in skeletons:
            out.key(KeyKind.SKELETON_DOB, f"{value}|{iso}")


@functools.lru_cache(maxsize=_CACHE)
def _date_values(date: PartialDate) -> tuple[tuple[tuple[WarningCode, str], ...], _Dob | None]:
    """The warnings about a date of birth and what keys may use of it (pure, cached)."""
    assessment = assess_date_of_birth(date)
    iso = date.iso()
    warnings: list[tuple[WarningCode, str]] = []
    if assessment.sentinel:
        warnings.append(
            (WarningCode.SENTINEL_DATE, f"{iso} is a database null value: the date is not keyed")
        )
    if assessment.placeholder:
        warnings.append(
            (WarningCode.PLACEHOLDER_DATE, f"{iso} is a common placeholder: keyed as the year only")
        )
    if assessment.date is None:
        return tuple(warnings), None
    entry = (assessment.precision, assessment.date.iso(), swap_key(assessment.date))
    return tuple(warnings), entry


def _usable_dates(out: _Collector, person: Person) -> list[_Dob]:
    dates: list[_Dob] = []
    for dated in person.dates_of_birth:
        warnings, entry = _date_values(dated.date)
        for code, message in warnings:
            out.warn(dated.field, code, message)
        if entry is not None and entry not in dates:
            dates.append(entry)
    return dates


def _person_keys(out: _Collector, person: Person) -> None:
    dates = _usable_dates(out, person)
    if not person.names:
        if person.dates_of_birth:
            message = "a date of birth without a name gives no key"
            out.warn("date_of_birth", WarningCode.NOT_KEYED, message)
        return
    for name in person.names:
        warnings, forms = _name_values(name.full, name.family, name.given, name.field)
        for code, message in warnings:
            out.warn(name.field, code, message)
        for form in forms:
            _name_keys(out, form, dates)


def _document_keys(out: _Collector, record: Record) -> None:
    for document in record.documents:
        canonical = normalise_document_number(document.number, document.field)
        out.key(KeyKind.DOC_NUMBER, canonical.number)
        if document.issuing_country is None:
            message = "no issuing country: keyed by the number alone, which is weak"
            out.warn(document.field, WarningCode.MISSING_COUNTRY, message)
            continue
        out.key(KeyKind.DOC, f"{document.issuing_country}|{canonical.number}")
        out.key(KeyKind.DOC_FUZZY, f"{document.issuing_country}|{canonical.folded}")


def _account_keys(out: _Collector, record: Record) -> None:
    for account in record.accounts:
        if account.iban is not None:
            where = account.path("iban")
            iban = normalise_iban(account.iban, where)
            out.key(KeyKind.ACCOUNT, f"IBAN|{iban.iban}")
            for code, message in iban.findings:
                out.warn(where, code, message)
        if account.account_number is not None and account.bank_id is not None:
            value = normalise_bank_account(
                account.account_number,
                account.bank_id,
                number_field=account.path("account_number"),
                bank_field=account.path("bank_id"),
            )
            out.key(KeyKind.ACCOUNT, f"BANK|{value}")


def _vehicle_keys(out: _Collector, record: Record) -> None:
    for vehicle in record.vehicles:
        if vehicle.vin is not None:
            where = vehicle.path("vin")
            vin = normalise_vin(vehicle.vin, where)
            out.key(KeyKind.VEHICLE, f"VIN|{vin.vin}")
            for code, message in vin.findings:
                out.warn(where, code, message)
        if vehicle.plate is not None and vehicle.plate_country is not None:
            plate = normalise_plate(vehicle.plate, vehicle.path("plate"))
            out.key(KeyKind.PLATE, f"{vehicle.plate_country}|{plate}")


def _contact_keys(out: _Collector, record: Record) -> None:
    default_country = _default_phone_country(record)
    for phone in record.phones:
        number = normalise_phone(phone.number, phone.field, phone.country or default_country)
        if number is None:
            message = "a national number without + and without a known country is not keyed"
            out.warn(phone.field, WarningCode.NOT_KEYED, message)
        else:
            out.key(KeyKind.PHONE, number)
    for email in record.emails:
        out.key(KeyKind.EMAIL, normalise_email(email.address, email.field))


def _dna_keys(out: _Collector, record: Record) -> None:
    if record.dna is None:
        return
    keys = dna_module.dna_keys(record.dna)
    for value in keys.exact:
        out.key(KeyKind.DNA, value)
    for value in keys.near:
        out.key(KeyKind.DNA_NEAR, value)
    for code, message in keys.findings:
        out.warn("dna", code, message)


def _derive_v1(record: Record, profile: KeyingProfile) -> KeyingResult:
    out = _Collector(profile)
    if record.person is not None:
        _person_keys(out, record.person)
    _document_keys(out, record)
    _account_keys(out, record)
    _vehicle_keys(out, record)
    _contact_keys(out, record)
    _dna_keys(out, record)
    return out.result()


def _default_phone_country(record: Record) -> str | None:
    """Return the country that completes national phone numbers: nationality, then documents."""
    if record.person is not None and record.person.nationalities:
        return record.person.nationalities[0]
    for document in record.documents:
        if document.issuing_country is not None:
            return document.issuing_country
    return None


PROFILE_V1 = KeyingProfile(
    version="v1",
    strengths=MappingProxyType(
        {
            KeyKind.DOC: Strength.STRONG,
            KeyKind.DOC_FUZZY: Strength.MEDIUM,
            KeyKind.DOC_NUMBER: Strength.WEAK,
            KeyKind.NAME: Strength.WEAK,
            KeyKind.NAME_DOB: Strength.STRONG,
            KeyKind.NAME_DOB_SWAP: Strength.MEDIUM,
            KeyKind.NAME_PART_DOB: Strength.MEDIUM,
            KeyKind.NAME_YOB: Strength.MEDIUM,
            KeyKind.PHONETIC_DOB: Strength.MEDIUM,
            KeyKind.SKELETON_DOB: Strength.WEAK,
            KeyKind.SKELETON_YOB: Strength.WEAK,
            KeyKind.ACCOUNT: Strength.STRONG,
            KeyKind.VEHICLE: Strength.STRONG,
            KeyKind.PLATE: Strength.MEDIUM,
            KeyKind.PHONE: Strength.MEDIUM,
            KeyKind.EMAIL: Strength.STRONG,
            KeyKind.DNA: Strength.STRONG,
            KeyKind.DNA_NEAR: Strength.MEDIUM,
        }
    ),
    derive=_derive_v1,
)

PROFILES: Mapping[str, KeyingProfile] = MappingProxyType({PROFILE_V1.version: PROFILE_V1})
DEFAULT_PROFILE = PROFILE_V1.version


def get_profile(version: str) -> KeyingProfile:
    """Return the profile of `version`; raise `InputError` listing the known versions."""
    try:
        return PROFILES[version]
    except KeyError as error:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"profile: unknown keying profile {version!r} (known: {known})") from error


def derive_keys(
    record: Record | Mapping[str, object], profile: KeyingProfile | str = DEFAULT_PROFILE
) -> KeyingResult:
    """Derive the match keys and data-quality warnings of one record.

    `record` may be a parsed `Record` or the plain mapping that `parse_record` accepts;
    `profile` a `KeyingProfile` or its version string. Raises `InputError` naming the field
    for malformed input.
    """
    chosen = get_profile(profile) if isinstance(profile, str) else profile
    parsed = record if isinstance(record, Record) else parse_record(record)
    return chosen.derive(parsed, chosen)
