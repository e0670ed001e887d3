"""Match keys: one identity, many scripts.

Turns a record (a person, documents, accounts, vehicles, phones, e-mail addresses, a DNA
profile) into the set of match keys that make real hits possible while keeping false hits rare,
and says how strong each hit is (docs/promises.md, "Match keys"). Pure functions, no I/O.

Typical use::

    result = derive_keys({"name": "أسامة بن لادن", "date_of_birth": "1957-03-10"}, "v1")
    for key in result.keys:
        element = oprf_input(result.profile, "watchlist", key)

Modules: `records` (the record model and parsing of plain mappings), `names`, `phonetic`,
`dates`, `identifiers` and `dna` (normalisation), `profile` (versioned keying profiles),
`encoding` (the OPRF input), `keys` (the vocabulary).
"""

from protocol.match_keys.encoding import MATCH_KEY_LABEL, oprf_input
from protocol.match_keys.keys import (
    DataQualityWarning,
    KeyingResult,
    KeyKind,
    MatchKey,
    Strength,
    WarningCode,
)
from protocol.match_keys.profile import (
    DEFAULT_PROFILE,
    PROFILE_V1,
    PROFILES,
    KeyingLimits,
    KeyingProfile,
    derive_keys,
    get_profile,
)
from protocol.match_keys.records import Record, parse_record

__all__ = [
    "DEFAULT_PROFILE",
    "MATCH_KEY_LABEL",
    "PROFILES",
    "PROFILE_V1",
    "DataQualityWarning",
    "KeyKind",
    "KeyingLimits",
    "KeyingProfile",
    "KeyingResult",
    "MatchKey",
    "Record",
    "Strength",
    "WarningCode",
    "derive_keys",
    "get_profile",
    "oprf_input",
    "parse_record",
]
