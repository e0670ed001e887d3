"""The vocabulary of match keys: kinds, strengths, keys, data-quality warnings and results.

A match key is a `(kind, strength, value)` triple. The *kind* names what was compared (a document
number, a name with a full date of birth, a consonant skeleton with a year of birth, ...); the
*strength* says how much a shared key means; the *value* is the canonical string that is fed,
domain-separated, to the OPRF (see `protocol.match_keys.encoding`).

Invariants:

- The strength of a key is a function of its kind within one profile version, so two records that
  share a key always agree on how strong the hit is, and a querier can present a `doc` hit and a
  `skeleton_yob` hit differently (docs/promises.md, "Match keys").
- Values are printable ASCII and never contain the raw input unnormalised: every value is built
  from canonical tokens, digits and fixed separators.
- Warnings are data-quality findings, never errors: the record is still keyed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "DataQualityWarning",
    "KeyKind",
    "KeyingResult",
    "MatchKey",
    "Strength",
    "WarningCode",
]


class Strength(enum.StrEnum):
    """How much a shared key means, from a near-certain identity to a lead worth a look.

    `strong`: the same identifier or the same full name with the same full date of birth; a false
    hit needs a data-entry coincidence. `medium`: a plausible identity that an officer must
    confirm (year of birth only, a reduced name, a phonetic reading of the name with a full date
    of birth, one DNA locus left out). `weak`: a lead that many distinct people share (a name
    alone, a consonant skeleton with a date of birth).
    """

    WEAK = "weak"
    MEDIUM = "medium"
    STRONG = "strong"

    @property
    def rank(self) -> int:
        """Return 0 for weak, 1 for medium, 2 for strong, for ordering."""
        return _RANKS[self]

    def at_least(self, other: Strength) -> bool:
        """Return whether this strength is `other` or stronger."""
        return self.rank >= other.rank


_RANKS = {Strength.WEAK: 0, Strength.MEDIUM: 1, Strength.STRONG: 2}


class KeyKind(enum.StrEnum):
    """What a match key compares; the string value is part of the OPRF input."""

    DOC = "doc"
    DOC_FUZZY = "doc_fuzzy"
    DOC_NUMBER = "doc_number"
    NAME = "name"
    NAME_DOB = "name_dob"
    NAME_DOB_SWAP = "name_dob_swap"
    NAME_PART_DOB = "name_part_dob"
    NAME_YOB = "name_yob"
    PHONETIC_DOB = "phonetic_dob"
    SKELETON_DOB = "skeleton_dob"
    SKELETON_YOB = "skeleton_yob"
    ACCOUNT = "account"
    VEHICLE = "vehicle"
    PLATE = "plate"
    PHONE = "phone"
    EMAIL = "email"
    DNA = "dna"
    DNA_NEAR = "dna_near"


class WarningCode(enum.StrEnum):
    """Kinds of data-quality findings returned beside the keys."""

    PLACEHOLDER_DATE = "placeholder_date"
    SENTINEL_DATE = "sentinel_date"
    SINGLE_TOKEN_NAME = "single_token_name"  # noqa: S105 (a name token, not a secret)
    MIXED_SCRIPTS = "mixed_scripts"
    INVALID_CHECKSUM = "invalid_checksum"
    UNEXPECTED_LENGTH = "unexpected_length"
    CONFUSABLE_CHARACTERS = "confusable_characters"
    MISSING_COUNTRY = "missing_country"
    NOT_KEYED = "not_keyed"


@dataclass(frozen=True, order=True, slots=True)
class MatchKey:
    """One match key: what is compared, how strong a shared key is, and the canonical value."""

    kind: KeyKind
    strength: Strength
    value: str


@dataclass(frozen=True, order=True, slots=True)
class DataQualityWarning:
    """A finding about the input that does not stop keying; `field` names where it was found."""

    field: str
    code: WarningCode
    message: str


@dataclass(frozen=True, slots=True)
class KeyingResult:
    """The keys derived from one record under one profile version, with data-quality warnings.

    Keys and warnings are sorted and free of duplicates, so equal records give equal results.
    """

    profile: str
    keys: tuple[MatchKey, ...]
    warnings: tuple[DataQualityWarning, ...]

    def kinds(self) -> frozenset[KeyKind]:
        """Return the kinds present among the keys."""
        return frozenset(key.kind for key in self.keys)
