"""The record model, and parsing of a plain mapping (what CSV or JSON import produces).

A record may describe a person, travel documents, bank accounts, vehicles, phone numbers, e-mail
addresses and a DNA profile, in any combination. Parsing checks the shape and the syntax that
does not depend on a keying profile (field names and types, dates, country codes, DNA notation)
and raises `InputError` naming the field, e.g. `documents[1].issuing_country: unknown ISO 3166
alpha-2 country code 'QQ'`. The canonical forms of identifiers are a matter of the keying
profile and are checked when keys are derived, with the same kind of error.

Accepted fields (all optional, but at least one identifying field is required):

- metadata, ignored for keys: `id`, `reference`;
- person: `name` (one string, `FAMILY, Given` allowed), `family_name`, `given_names`,
  `aliases` (a list of strings or of objects with `name` or `family_name`/`given_names`, or one
  string with `;` between aliases), `date_of_birth` (a string, a year as a number, or a list),
  `sex`, `nationalities` or `nationality` (codes, a list or one string with `;` or `,`),
  `place_of_birth`;
- `documents`: a list of `{type, number, issuing_country}`, or the flat fields
  `document_type`, `document_number`, `document_issuing_country`;
- `accounts`: a list of `{iban}` or `{account_number, bank_id}`, or the flat fields `iban`,
  `account_number`, `bank_id`;
- `vehicles`: a list of `{vin}` or `{plate, plate_country}`, or the flat fields `vin`, `plate`,
  `plate_country`;
- `phones` (a list of strings or `{number, country}`) or `phone`; `emails` or `email`;
- `dna`: `{locus: alleles}` or a string `"D3S1358=15,16; VWA=17,18"`.

Empty strings and nulls count as absent, since CSV has no other way to leave a field out.
Identifier values must be strings: a document or account number read as a JSON number would
have lost its leading zeros.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from crypto.errors import InputError
from protocol.match_keys.countries import normalise_country
from protocol.match_keys.dates import PartialDate, parse_date
from protocol.match_keys.dna import DnaProfile, parse_dna_profile

__all__ = [
    "KNOWN_FIELDS",
    "Account",
    "DatedField",
    "DocumentType",
    "EmailAddress",
    "NameEntry",
    "Person",
    "PhoneNumber",
    "Record",
    "Sex",
    "TravelDocument",
    "Vehicle",
    "parse_record",
]

MAX_ITEMS = 32
# Bound of the caches of pure per-value parsers (dates, country codes, document type words):
# such values repeat across the records of a dataset.
_CACHE = 8192


class Sex(enum.StrEnum):
    """Sex as printed in travel documents (ICAO Doc 9303: F, M or X), or unknown."""

    FEMALE = "F"
    MALE = "M"
    UNSPECIFIED = "X"
    UNKNOWN = "U"


class DocumentType(enum.StrEnum):
    """Broad document classes; the exact type is not keyed because its coding varies."""

    PASSPORT = "passport"
    IDENTITY_CARD = "identity_card"
    RESIDENCE_PERMIT = "residence_permit"
    VISA = "visa"
    DRIVING_LICENCE = "driving_licence"
    OTHER = "other"


_SEX_WORDS = {
    "m": Sex.MALE, "male": Sex.MALE, "man": Sex.MALE, "h": Sex.MALE, "homme": Sex.MALE,
    "hombre": Sex.MALE, "masculino": Sex.MALE, "masculin": Sex.MALE,
    "f": Sex.FEMALE, "female": Sex.FEMALE, "woman": Sex.FEMALE, "femme": Sex.FEMALE,
    "mujer": Sex.FEMALE, "femenino": Sex.FEMALE, "feminin": Sex.FEMALE, "féminin": Sex.FEMALE,
    "x": Sex.UNSPECIFIED, "u": Sex.UNKNOWN, "unknown": Sex.UNKNOWN, "<": Sex.UNKNOWN,
}  # fmt: skip

_DOCUMENT_WORDS = {
    "p": DocumentType.PASSPORT, "pp": DocumentType.PASSPORT, "passport": DocumentType.PASSPORT,
    "passeport": DocumentType.PASSPORT, "pasaporte": DocumentType.PASSPORT,
    "i": DocumentType.IDENTITY_CARD, "id": DocumentType.IDENTITY_CARD,
    "id card": DocumentType.IDENTITY_CARD, "identity card": DocumentType.IDENTITY_CARD,
    "national id": DocumentType.IDENTITY_CARD, "cni": DocumentType.IDENTITY_CARD,
    "dni": DocumentType.IDENTITY_CARD, "carte d identite": DocumentType.IDENTITY_CARD,
    "residence permit": DocumentType.RESIDENCE_PERMIT, "rp": DocumentType.RESIDENCE_PERMIT,
    "titre de sejour": DocumentType.RESIDENCE_PERMIT, "v": DocumentType.VISA,
    "visa": DocumentType.VISA, "dl": DocumentType.DRIVING_LICENCE,
    "driving licence": DocumentType.DRIVING_LICENCE,
    "driver license": DocumentType.DRIVING_LICENCE,
    "driving license": DocumentType.DRIVING_LICENCE,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NameEntry:
    """One name of a person, whole or in parts, and the field it came from."""

    field: str
    full: str | None = None
    family: str | None = None
    given: str | None = None


@dataclass(frozen=True, slots=True)
class DatedField:
    """A parsed date and the field it came from."""

    field: str
    date: PartialDate


@dataclass(frozen=True, slots=True)
class Person:
    """Names (the primary name first, then aliases), dates of birth and descriptive fields."""

    names: tuple[NameEntry, ...]
    dates_of_birth: tuple[DatedField, ...]
    sex: Sex | None
    nationalities: tuple[str, ...]
    place_of_birth: str | None


@dataclass(frozen=True, slots=True)
class TravelDocument:
    """A travel or identity document; `number` is as given, canonicalised by the profile."""

    field: str
    number: str
    issuing_country: str | None
    type: DocumentType | None


@dataclass(frozen=True, slots=True)
class Account:
    """A bank account: an IBAN, or a domestic account number with its bank identifier."""

    field: str
    iban: str | None
    account_number: str | None
    bank_id: str | None

    def path(self, attribute: str) -> str:
        """Return the input field name of `attribute` (`iban` or `accounts[2].iban`)."""
        return attribute if self.field == "account" else f"{self.field}.{attribute}"


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle: its VIN, its registration plate with the registering country, or both."""

    field: str
    vin: str | None
    plate: str | None
    plate_country: str | None

    def path(self, attribute: str) -> str:
        """Return the input field name of `attribute` (`vin` or `vehicles[0].vin`)."""
        return attribute if self.field == "vehicle" else f"{self.field}.{attribute}"


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A phone number as given, with the country to complete a national number (alpha-3)."""

    field: str
    number: str
    country: str | None


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """An e-mail address as given."""

    field: str
    address: str


@dataclass(frozen=True, slots=True)
class Record:
    """Everything one record says that can be keyed."""

    person: Person | None
    documents: tuple[TravelDocument, ...]
    accounts: tuple[Account, ...]
    vehicles: tuple[Vehicle, ...]
    phones: tuple[PhoneNumber, ...]
    emails: tuple[EmailAddress, ...]
    dna: DnaProfile | None


_PERSON_FIELDS = frozenset(
    {
        "name", "family_name", "given_names", "aliases", "date_of_birth", "sex",
        "nationalities", "nationality", "place_of_birth",
    }
)  # fmt: skip
_FLAT_DOCUMENT = {"document_type": "type", "document_number": "number",
                  "document_issuing_country": "issuing_country"}  # fmt: skip
_FLAT_ACCOUNT = {"iban": "iban", "account_number": "account_number", "bank_id": "bank_id"}
_FLAT_VEHICLE = {"vin": "vin", "plate": "plate", "plate_country": "plate_country"}
_OTHER_FIELDS = frozenset({"documents", "accounts", "vehicles", "phones", "phone", "emails",
                           "email", "dna"})  # fmt: skip
_METADATA = frozenset({"id", "reference"})
_KNOWN = (
    _PERSON_FIELDS | set(_FLAT_DOCUMENT) | set(_FLAT_ACCOUNT) | set(_FLAT_VEHICLE)
    | _OTHER_FIELDS | _METADATA
)  # fmt: skip
KNOWN_FIELDS: Final = frozenset(_KNOWN)
"""Every top-level field a record (or a probe) may carry."""
_DOCUMENT_SEPARATORS = re.compile(r"[\s_\-'.]+")

# Pure parsers of single values, cached; an error is raised afresh on every call.
_parse_date = functools.lru_cache(maxsize=_CACHE)(parse_date)
_country = functools.lru_cache(maxsize=_CACHE)(normalise_country)
# The separators of list fields given as one string (aliases, nationalities, phones, e-mails).
_SPLITTERS = {separators: re.compile(f"[{re.escape(separators)}]") for separators in (";", ";,")}


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _text(value: object, field: str) -> str:
    if isinstance(value, str):
        return value.strip()
    kind = "a number" if isinstance(value, (int, float)) else type(value).__name__
    raise InputError(f"{field}: expected a string, got {kind}")


def _items(value: object, field: str, separators: str) -> list[tuple[str, object]]:
    """Return `(field path, item)` for a list, or for one string split at `separators`."""
    if isinstance(value, str):
        parts = (
            [p.strip() for p in _SPLITTERS[separators].split(value)]
            if separators
            else [value.strip()]
        )
        items: list[object] = [p for p in parts if p]
        paths = (
            [field] * len(items)
            if len(items) <= 1
            else [f"{field}[{i}]" for i in range(len(items))]
        )
        result = list(zip(paths, items, strict=True))
    elif isinstance(value, list):
        result = [(f"{field}[{i}]", item) for i, item in enumerate(value) if _present(item)]
    else:
        raise InputError(f"{field}: expected a list or a string")
    if len(result) > MAX_ITEMS:
        raise InputError(f"{field}: more than {MAX_ITEMS} entries")
    return result


def _object(value: object, field: str, allowed: Sequence[str]) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise InputError(f"{field}: expected an object with {', '.join(allowed)}")
    out: dict[str, object] = {}
    for key, item in value.items():
        if key not in allowed:
            raise InputError(f"{field}.{key}: unknown field (expected one of {', '.join(allowed)})")
        if _present(item):
            out[str(key)] = item
    return out


def _optional_country(value: object | None, field: str) -> str | None:
    return None if value is None else _country(_text(value, field), field)


def _parse_name_object(value: object, field: str) -> NameEntry:
    if isinstance(value, str):
        return NameEntry(field=field, full=value.strip())
    parts = _object(value, field, ("name", "family_name", "given_names"))
    if "name" in parts and len(parts) > 1:
        raise InputError(f"{field}: give either name or family_name/given_names, not both")
    if not parts:
        raise InputError(f"{field}: an alias needs name or family_name/given_names")
    if "name" in parts:
        return NameEntry(field=f"{field}.name", full=_text(parts["name"], f"{field}.name"))
    family = parts.get("family_name")
    given = parts.get("given_names")
    return NameEntry(
        field=field,
        family=None if family is None else _text(family, f"{field}.family_name"),
        given=None if given is None else _text(given, f"{field}.given_names"),
    )


def _parse_dates(value: object) -> tuple[DatedField, ...]:
    field = "date_of_birth"
    values: list[tuple[str, object]]
    if isinstance(value, list):
        values = [(f"{field}[{i}]", item) for i, item in enumerate(value) if _present(item)]
    else:
        values = [(field, value)]
    if len(values) > 8:
        raise InputError(f"{field}: more than 8 dates")
    dates = []
    for path, item in values:
        year_number = isinstance(item, int) and not isinstance(item, bool)
        text = str(item) if year_number else _text(item, path)
        dates.append(DatedField(path, _parse_date(text, path)))
    return tuple(dates)


def _parse_sex(value: object) -> Sex:
    text = _text(value, "sex").casefold()
    if text not in _SEX_WORDS:
        raise InputError(f"sex: expected F, M, X or U, got {value!r}")
    return _SEX_WORDS[text]


def _parse_person(fields: Mapping[str, object]) -> Person | None:
    if _PERSON_FIELDS.isdisjoint(fields):
        return None
    names: list[NameEntry] = []
    if "name" in fields:
        names.append(NameEntry(field="name", full=_text(fields["name"], "name")))
    if "family_name" in fields or "given_names" in fields:
        family = fields.get("family_name")
        given = fields.get("given_names")
        names.append(
            NameEntry(
                field="family_name" if family is not None else "given_names",
                family=None if family is None else _text(family, "family_name"),
                given=None if given is None else _text(given, "given_names"),
            )
        )
    if "aliases" in fields:
        for path, item in _items(fields["aliases"], "aliases", ";"):
            names.append(_parse_name_object(item, path))
    nationalities: list[str] = []
    for key in ("nationalities", "nationality"):
        if key in fields:
            for path, item in _items(fields[key], key, ";,"):
                code = _country(_text(item, path), path)
                if code not in nationalities:
                    nationalities.append(code)
    place = fields.get("place_of_birth")
    return Person(
        names=tuple(names),
        dates_of_birth=_parse_dates(fields["date_of_birth"]) if "date_of_birth" in fields else (),
        sex=_parse_sex(fields["sex"]) if "sex" in fields else None,
        nationalities=tuple(nationalities),
        place_of_birth=None if place is None else _text(place, "place_of_birth"),
    )


def _document_type(value: object | None, field: str) -> DocumentType | None:
    if value is None:
        return None
    return _document_word(_text(value, field))


@functools.lru_cache(maxsize=_CACHE)
def _document_word(text: str) -> DocumentType:
    words = _DOCUMENT_SEPARATORS.sub(" ", text.casefold()).strip()
    return _DOCUMENT_WORDS.get(words, DocumentType.OTHER)


def _parse_documents(fields: Mapping[str, object]) -> tuple[TravelDocument, ...]:
    entries: list[tuple[str, dict[str, object]]] = []
    allowed = ("type", "number", "issuing_country")
    if "documents" in fields:
        for path, item in _items(fields["documents"], "documents", ""):
            entries.append((path, _object(item, path, allowed)))
    flat = {inner: fields[outer] for outer, inner in _FLAT_DOCUMENT.items() if outer in fields}
    if flat:
        entries.append(("document", flat))
    documents = []
    for path, entry in entries:
        flat_names = path == "document"

        def name(inner: str, path: str = path, flat_names: bool = flat_names) -> str:
            return f"document_{inner}" if flat_names else f"{path}.{inner}"

        if "number" not in entry:
            raise InputError(f"{name('number')}: a document needs its number")
        documents.append(
            TravelDocument(
                field=name("number"),
                number=_text(entry["number"], name("number")),
                issuing_country=_optional_country(
                    entry.get("issuing_country"), name("issuing_country")
                ),
                type=_document_type(entry.get("type"), name("type")),
            )
        )
    return tuple(documents)


def _parse_accounts(fields: Mapping[str, object]) -> tuple[Account, ...]:
    entries: list[tuple[str, dict[str, object], bool]] = []
    allowed = ("iban", "account_number", "bank_id")
    if "accounts" in fields:
        for path, item in _items(fields["accounts"], "accounts", ""):
            entries.append((path, _object(item, path, allowed), False))
    flat = {inner: fields[outer] for outer, inner in _FLAT_ACCOUNT.items() if outer in fields}
    if flat:
        entries.append(("account", flat, True))
    accounts = []
    for path, entry, is_flat in entries:

        def name(inner: str, path: str = path, is_flat: bool = is_flat) -> str:
            return inner if is_flat else f"{path}.{inner}"

        has_domestic = "account_number" in entry or "bank_id" in entry
        if has_domestic and not ("account_number" in entry and "bank_id" in entry):
            missing = "bank_id" if "account_number" in entry else "account_number"
            raise InputError(
                f"{name(missing)}: an account number needs its bank_id and the reverse"
            )
        if not entry:
            raise InputError(f"{path}: an account needs an iban or account_number and bank_id")
        accounts.append(
            Account(
                field=path,
                iban=_text(entry["iban"], name("iban")) if "iban" in entry else None,
                account_number=(
                    _text(entry["account_number"], name("account_number"))
                    if "account_number" in entry else None
                ),
                bank_id=_text(entry["bank_id"], name("bank_id")) if "bank_id" in entry else None,
            )
        )  # fmt: skip
    return tuple(accounts)


def _parse_vehicles(fields: Mapping[str, object]) -> tuple[Vehicle, ...]:
    entries: list[tuple[str, dict[str, object], bool]] = []
    allowed = ("vin", "plate", "plate_country")
    if "vehicles" in fields:
        for path, item in _items(fields["vehicles"], "vehicles", ""):
            entries.append((path, _object(item, path, allowed), False))
    flat = {inner: fields[outer] for outer, inner in _FLAT_VEHICLE.items() if outer in fields}
    if flat:
        entries.append(("vehicle", flat, True))
    vehicles = []
    for path, entry, is_flat in entries:

        def name(inner: str, path: str = path, is_flat: bool = is_flat) -> str:
            return inner if is_flat else f"{path}.{inner}"

        if "vin" not in entry and "plate" not in entry:
            raise InputError(f"{path}: a vehicle needs a vin or a plate")
        if "plate" in entry and "plate_country" not in entry:
            raise InputError(f"{name('plate_country')}: a plate needs the country that issued it")
        vehicles.append(
            Vehicle(
                field=path,
                vin=_text(entry["vin"], name("vin")) if "vin" in entry else None,
                plate=_text(entry["plate"], name("plate")) if "plate" in entry else None,
                plate_country=_optional_country(entry.get("plate_country"), name("plate_country")),
            )
        )
    return tuple(vehicles)


def _parse_phones(fields: Mapping[str, object]) -> tuple[PhoneNumber, ...]:
    phones = []
    for key in ("phones", "phone"):
        if key not in fields:
            continue
        for path, item in _items(fields[key], key, ";"):
            if isinstance(item, Mapping):
                entry = _object(item, path, ("number", "country"))
                if "number" not in entry:
                    raise InputError(f"{path}.number: a phone entry needs its number")
                phones.append(
                    PhoneNumber(
                        field=f"{path}.number",
                        number=_text(entry["number"], f"{path}.number"),
                        country=_optional_country(entry.get("country"), f"{path}.country"),
                    )
                )
            else:
                phones.append(PhoneNumber(field=path, number=_text(item, path), country=None))
    return tuple(phones)


def _parse_emails(fields: Mapping[str, object]) -> tuple[EmailAddress, ...]:
    emails = []
    for key in ("emails", "email"):
        if key in fields:
            for path, item in _items(fields[key], key, ";,"):
                emails.append(EmailAddress(field=path, address=_text(item, path)))
    return tuple(emails)


def parse_record(mapping: Mapping[str, object]) -> Record:
    """Parse one record; raise `InputError` naming the first field that is unknown or malformed."""
    if not isinstance(mapping, Mapping):
        raise InputError("record: expected an object of fields")
    for key in mapping:
        if not isinstance(key, str) or key not in _KNOWN:
            raise InputError(f"{key}: unknown field")
    fields = {
        key: value
        for key, value in mapping.items()
        if value is not None and not (isinstance(value, str) and not value.strip())
    }
    for key in _METADATA:
        if key in fields and not isinstance(fields[key], (str, int)):
            raise InputError(f"{key}: expected a string or a number")
    record = Record(
        person=_parse_person(fields),
        documents=_parse_documents(fields),
        accounts=_parse_accounts(fields),
        vehicles=_parse_vehicles(fields),
        phones=_parse_phones(fields),
        emails=_parse_emails(fields),
        dna=parse_dna_profile(fields["dna"], "dna") if "dna" in fields else None,
    )
    identifying = (
        record.person is not None and bool(record.person.names), record.documents,
        record.accounts, record.vehicles, record.phones, record.emails, record.dna,
    )  # fmt: skip
    if not any(identifying):
        raise InputError(
            "record: no identifying field (expected a name, a document, an account, a vehicle, "
            "a phone, an e-mail or a DNA profile)"
        )
    return record
