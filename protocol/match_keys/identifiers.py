"""Identifiers: travel documents, IBANs and bank accounts, VINs and plates, phones, e-mail.

Each function takes the text of one field and its name, returns the canonical form (and the
data-quality findings), and raises `InputError` naming the field when the text cannot be an
identifier of that kind. A wrong check digit is a finding, not an error: the record is still
keyed as written, so it matches other records carrying the same typing error, and the operator
is told.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType

from crypto.errors import InputError
from protocol.match_keys.countries import calling_code, trunk_prefix
from protocol.match_keys.keys import WarningCode

__all__ = [
    "CanonicalDocument",
    "CanonicalIban",
    "CanonicalVin",
    "Finding",
    "normalise_bank_account",
    "normalise_document_number",
    "normalise_email",
    "normalise_iban",
    "normalise_phone",
    "normalise_plate",
    "normalise_vin",
]

Finding = tuple[WarningCode, str]

# Separators people type inside identifiers, and the filler of machine-readable zones.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015./_:<]+")
_ALNUM = re.compile(r"[A-Z0-9]+")


_DOCUMENT_FOLD = str.maketrans("OQI", "001")
_VIN_FOLD = str.maketrans("IOQ", "100")


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).upper())


@dataclass(frozen=True, slots=True)
class CanonicalDocument:
    """A document number as written (compacted) and with look-alike characters folded."""

    number: str
    folded: str


def normalise_document_number(text: str, field: str) -> CanonicalDocument:
    """Compact a travel or identity document number: uppercase, no spaces, dashes or fillers.

    `folded` additionally reads the letters O and Q as the digit 0 and I as 1, and drops leading
    zeros. These are the confusions of reading a document aloud, by eye or by OCR (ICAO Doc 9303
    Part 3 itself avoids none of them in document numbers), and systems that store numbers as
    integers lose leading zeros. The folded form is keyed separately and less strongly, because it
    also merges numbers that differ for real.
    """
    number = _compact(text)
    if not _ALNUM.fullmatch(number):
        raise InputError(
            f"{field}: a document number may hold only letters and digits, got {text!r}"
        )
    if not 4 <= len(number) <= 24:
        raise InputError(f"{field}: expected 4 to 24 letters and digits, got {len(number)}")
    folded = number.translate(_DOCUMENT_FOLD).lstrip("0") or "0"
    return CanonicalDocument(number=number, folded=folded)


# IBAN lengths per country from the ISO 13616 registry (SWIFT, IBAN Registry). Countries missing
# here are checked only for the generic 15..34 length and the mod-97 check.
_IBAN_LENGTHS = MappingProxyType(
    {
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
        "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
        "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
        "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
        "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
        "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
        "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
        "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
        "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    }
)  # fmt: skip
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


@dataclass(frozen=True)
class CanonicalIban:
    """An IBAN in electronic format (ISO 13616-1: uppercase, no spaces)."""

    iban: str
    findings: tuple[Finding, ...]


def iban_checksum_valid(iban: str) -> bool:
    """Return whether an electronic-format IBAN passes the ISO 7064 MOD 97-10 check (ISO 13616)."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def normalise_iban(text: str, field: str) -> CanonicalIban:
    """Return the electronic format of an IBAN; a failed check or length is a finding."""
    iban = _compact(text)
    iban = iban.removeprefix("IBAN")
    if not _IBAN_SHAPE.fullmatch(iban):
        raise InputError(
            f"{field}: expected an IBAN (country letters, two check digits, 11 to 30 letters or "
            f"digits), got {text!r}"
        )
    findings: list[Finding] = []
    expected = _IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        findings.append(
            (
                WarningCode.UNEXPECTED_LENGTH,
                f"an IBAN of {iban[:2]} has {expected} characters, this one {len(iban)}",
            )
        )
    if not iban_checksum_valid(iban):
        findings.append((WarningCode.INVALID_CHECKSUM, "the IBAN fails its mod-97 check"))
    return CanonicalIban(iban=iban, findings=tuple(findings))


_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


def normalise_bank_account(number: str, bank_id: str, *, number_field: str, bank_field: str) -> str:
    """Return `bank|account` for a domestic account number and its bank identifier.

    A BIC (ISO 9362) is cut to its first eight characters, because the branch code does not
    change the account; any other bank identifier (a sort code, a routing number) is compacted.
    Leading zeros of the account number are kept: in many countries they are significant.
    """
    bank = _compact(bank_id)
    account = _compact(number)
    if not bank or not _ALNUM.fullmatch(bank) or len(bank) > 20:
        raise InputError(f"{bank_field}: expected a BIC or a bank code, got {bank_id!r}")
    if not account or not _ALNUM.fullmatch(account) or not 4 <= len(account) <= 34:
        raise InputError(f"{number_field}: expected 4 to 34 letters and digits, got {number!r}")
    if _BIC.fullmatch(bank):
        bank = bank[:8]
    return f"{bank}|{account}"


@dataclass(frozen=True)
class CanonicalVin:
    """A vehicle identification number or, for pre-1981 vehicles, a chassis number."""

    vin: str
    findings: tuple[Finding, ...]


# ISO 3779 forbids I, O and Q in a VIN; the check digit (position 9) is defined by 49 CFR 565.15
# and mandatory for vehicles built for North America, whose WMI begins with 1 to 5.
_VIN_VALUES = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """Return the check digit of a 17-character VIN (49 CFR 565.15): 0..9 or X for 10."""
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalise_vin(text: str, field: str) -> CanonicalVin:
    """Return the canonical VIN: uppercase, no separators, I/O/Q read as 1/0/0.

    A 17-character VIN with I, O or Q was mistyped (ISO 3779 excludes them because they look like
    1 and 0), so they are folded, with a finding. A check digit is verified where it is
    mandatory. Other lengths from 6 to 16 are accepted as chassis numbers of older vehicles, with
    a finding, because stolen-vehicle files hold them.
    """
    vin = _compact(text)
    if not _ALNUM.fullmatch(vin) or not 6 <= len(vin) <= 17:
        raise InputError(
            f"{field}: expected a 17-character VIN (or an older chassis number), got {text!r}"
        )
    findings: list[Finding] = []
    if len(vin) != 17:
        findings.append(
            (WarningCode.UNEXPECTED_LENGTH, f"{len(vin)} characters: keyed as a chassis number")
        )
        return CanonicalVin(vin=vin, findings=tuple(findings))
    if any(ch in vin for ch in "IOQ"):
        vin = vin.translate(_VIN_FOLD)
        findings.append(
            (WarningCode.CONFUSABLE_CHARACTERS, "I, O or Q in a VIN were read as 1, 0, 0")
        )
    if vin[0] in "12345" and vin[8] != vin_check_digit(vin):
        findings.append((WarningCode.INVALID_CHECKSUM, "the VIN check digit (position 9) is wrong"))
    return CanonicalVin(vin=vin, findings=tuple(findings))


def normalise_plate(text: str, field: str) -> str:
    """Return a registration plate compacted: uppercase letters and digits only."""
    plate = "".join(ch for ch in _compact(text) if ch.isalnum())
    if not plate.isascii():
        raise InputError(
            f"{field}: a plate must be given in Latin letters and digits, got {text!r}"
        )
    if not 2 <= len(plate) <= 12:
        raise InputError(f"{field}: expected 2 to 12 letters and digits, got {text!r}")
    return plate


_PHONE_ALLOWED = re.compile(r"[0-9+\s().\-/]+")
_TRUNK_IN_BRACKETS = re.compile(r"\(\s*0\s*\)")


def normalise_phone(text: str, field: str, default_country: str | None) -> str | None:
    """Return a phone number in E.164 form (`+` and 7 to 15 digits), or None if it cannot be.

    A number written with `+` or the international prefix `00` is taken as it stands, after
    removing a bracketed trunk zero (`+44 (0)20 ...`). A national number is completed with the
    calling code of `default_country` (alpha-3) after removing that country's trunk prefix; with
    no usable country it returns None and the caller reports that it was not keyed.
    """
    raw = unicodedata.normalize("NFKC", text).strip()
    if not _PHONE_ALLOWED.fullmatch(raw) or "+" in raw[1:]:
        raise InputError(
            f"{field}: a phone number may hold only digits, spaces, ( ) . - / and a leading +, "
            f"got {text!r}"
        )
    raw = _TRUNK_IN_BRACKETS.sub("", raw)
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    else:
        code = calling_code(default_country) if default_country else None
        if code is None or default_country is None:
            return None
        prefix = trunk_prefix(default_country)
        national = digits[len(prefix) :] if prefix and digits.startswith(prefix) else digits
        international = code + national
    if not 7 <= len(international) <= 15 or international.startswith("0"):
        raise InputError(f"{field}: an E.164 number has 7 to 15 digits after +, got {text!r}")
    return "+" + international


# Providers whose mailboxes ignore dots in the local part (Gmail) or accept "+tag" sub-addresses
# that reach the same mailbox; folding them joins addresses that reach one person.
_DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_SUBADDRESS_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com",
        "me.com", "proton.me", "protonmail.com", "fastmail.com",
    }
)  # fmt: skip
_LOCAL = re.compile(r"[a-z0-9!#$%&*+/=?^_`{|}~.'\-]+")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")


def normalise_email(text: str, field: str) -> str:
    """Return a canonical e-mail address.

    The domain is case-insensitive (RFC 5321 §2.4) and internationalised domains are compared in
    their ASCII (IDNA) form. The local part is case-sensitive in principle, but no large provider
    treats it so and police data records it in every case, so it is lowercased too. For the
    providers listed above, `+tag` sub-addresses are removed, and for Gmail the dots, and
    `googlemail.com` becomes `gmail.com`.
    """
    address = unicodedata.normalize("NFKC", text).strip().lower()
    if address.startswith("mailto:"):
        address = address[len("mailto:") :]
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InputError(f"{field}: expected an e-mail address with one @, got {text!r}")
    try:
        domain = domain.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError as error:
        raise InputError(f"{field}: the domain of {text!r} is not a valid host name") from error
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InputError(f"{field}: the domain of {text!r} is not a valid host name")
    if len(local) > 64 or not _LOCAL.fullmatch(local) or local.startswith(".") or ".." in local:
        raise InputError(f"{field}: the part before @ in {text!r} is not a valid mailbox name")
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in _SUBADDRESS_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
    if not local:
        raise InputError(f"{field}: the part before @ in {text!r} is empty once normalised")
    return f"{local}@{domain}"
