"""The OPRF input of a match key: domain-separated and unambiguous.

`oprf_input` encodes `(label, profile version, dataset, kind, value)` as a sequence of fields,
each a two-byte big-endian length followed by that many bytes of UTF-8. The constant label keeps
these inputs apart from any other use of the same OPRF key; the length prefixes make the encoding
injective, so no choice of dataset name or value can make two different keys collide (a plain
`|`-joined string could: `a|b` + `c` and `a` + `b|c`). This is the rule of docs/promises.md ("Match
keys") `profile version | dataset | kind | canonical value`, made unambiguous.
"""

from __future__ import annotations

import functools

from crypto.errors import InputError
from protocol.match_keys.keys import KeyKind, MatchKey

__all__ = ["MATCH_KEY_LABEL", "oprf_input"]

MATCH_KEY_LABEL = b"blindhit match key"
_MAX_FIELD = 0xFFFF


def _field(name: str, data: bytes) -> bytes:
    if len(data) > _MAX_FIELD:
        raise InputError(f"{name}: longer than {_MAX_FIELD} bytes once encoded")
    return len(data).to_bytes(2, "big") + data


# The kind fields, encoded once.
_KIND_FIELDS = {kind: _field("kind", kind.value.encode()) for kind in KeyKind}


@functools.lru_cache(maxsize=64)
def _prefix(profile_version: str, dataset: str) -> bytes:
    """The fields every input of one dataset and profile version starts with."""
    if not profile_version:
        raise InputError("profile version: must not be empty")
    if not dataset:
        raise InputError("dataset: must not be empty")
    return b"".join(
        (
            _field("label", MATCH_KEY_LABEL),
            _field("profile version", profile_version.encode()),
            _field("dataset", dataset.encode()),
        )
    )


def oprf_input(profile_version: str, dataset: str, key: MatchKey) -> bytes:
    """Return the bytes to feed the OPRF for `key` of `dataset` under `profile_version`.

    The strength is not encoded: it is a function of the kind within a profile version.
    """
    prefix = _prefix(profile_version, dataset)
    kind = _KIND_FIELDS.get(key.kind) or _field("kind", key.kind.value.encode())
    return b"".join((prefix, kind, _field("value", key.value.encode())))
