"""Frozen outputs of keying profile v1: every key, strength, warning and error, byte for byte.

`tests/data/match_keys_golden.jsonl.gz` holds, one JSON object per line, an input and the digest
of what profile v1 derived from it:

- `{"record": {...}, "digest": "..."}`: a record mapping; the digest covers `derive_keys`'s
  profile, keys (kind, strength, value, in order) and warnings (field, code, message), or the
  `InputError` message when the record is refused;
- `{"name": {"full": ..., "family": ..., "given": ..., "field_name": ...}, "digest": "..."}`: the
  arguments of `normalise_name`; the digest covers its forms (tokens, skeletons, given count,
  phonetic readings) and warnings, or the error message.

The digest is the first 16 bytes of SHA-256 over the canonical JSON of that output. The inputs
are the records and names of the protocol unit tests, both sides of every pair of
`match_keys_eval.jsonl`, 2,000 people of `dev.synthetic` and a seeded mix of tokens, particles,
titles, scripts, dates and identifiers drawn from those. A profile version never changes once
published (`protocol.match_keys.profile`), so a failure here is a behaviour change to undo, not
a file to regenerate; a new profile version gets cases of its own.

Each input is keyed twice, in file order and in reverse order, so that state carried from one
record to the next (a cache returning a shared, mutated value) shows as a difference too.

`python tests/unit/protocol/test_keys_golden.py INPUTS.json` writes the file from a JSON object
`{"records": [...], "names": [...]}`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crypto.errors import InputError
from protocol.match_keys import (
    MATCH_KEY_LABEL,
    KeyKind,
    MatchKey,
    Strength,
    WarningCode,
    derive_keys,
    oprf_input,
)
from protocol.match_keys.names import normalise_name

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "match_keys_golden.jsonl.gz"
_REPORTED = 5


def _digest(output: object) -> str:
    text = json.dumps(output, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def record_output(record: dict[str, Any]) -> dict[str, Any]:
    """What profile v1 derives from `record`, as plain JSON values."""
    try:
        result = derive_keys(record)
    except InputError as error:
        return {"error": str(error)}
    for key in result.keys:
        assert type(key) is MatchKey
        assert type(key.kind) is KeyKind
        assert type(key.strength) is Strength
    for warning in result.warnings:
        assert type(warning.code) is WarningCode
    return {
        "profile": result.profile,
        "keys": [[key.kind.value, key.strength.value, key.value] for key in result.keys],
        "warnings": [[w.field, w.code.value, w.message] for w in result.warnings],
    }


def name_output(arguments: dict[str, Any]) -> dict[str, Any]:
    """What `normalise_name` makes of `arguments`, as plain JSON values."""
    try:
        normalised = normalise_name(**arguments)
    except InputError as error:
        return {"error": str(error)}
    return {
        "forms": [
            [
                list(form.tokens),
                [list(s) for s in form.skeletons],
                form.given,
                [list(p) for p in form.phonetics],
            ]
            for form in normalised.forms
        ],
        "warnings": [[code.value, message] for code, message in normalised.warnings],
    }


def _output(case: dict[str, Any]) -> dict[str, Any]:
    return record_output(case["record"]) if "record" in case else name_output(case["name"])


def _cases() -> Iterator[dict[str, Any]]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def test_golden_file_is_small_and_varied() -> None:
    cases = list(_cases())
    assert GOLDEN.stat().st_size < 1_000_000
    records = [case for case in cases if "record" in case]
    assert len(records) >= 7000
    assert len(cases) - len(records) >= 3000
    assert sum("error" in record_output(case["record"]) for case in records[:2000]) > 0


def test_profile_v1_outputs_are_unchanged() -> None:
    cases = list(_cases())
    for order in (cases, cases[::-1]):
        differing = [case for case in order if _digest(_output(case)) != case["digest"]]
        shown = "\n".join(
            json.dumps({"input": case, "now": _output(case)}, ensure_ascii=False)
            for case in differing[:_REPORTED]
        )
        assert not differing, f"{len(differing)} of {len(cases)} outputs changed, e.g.:\n{shown}"


def test_oprf_inputs_of_every_key_follow_the_encoding() -> None:
    """Every key of the corpus, framed: two-byte big-endian lengths before UTF-8 fields."""
    framed = 0
    for case in _cases():
        if "record" not in case or "error" in record_output(case["record"]):
            continue
        for key in derive_keys(case["record"]).keys:
            for profile, dataset in (("v1", "persons"), ("v1", "sltd|doc"), ("v2", "ünïcode")):
                fields = (
                    MATCH_KEY_LABEL, profile.encode(), dataset.encode(), key.kind.value.encode(),
                    key.value.encode(),
                )  # fmt: skip
                expected = b"".join(len(part).to_bytes(2, "big") + part for part in fields)
                assert oprf_input(profile, dataset, key) == expected
                framed += 1
    assert framed > 100_000


def test_oprf_input_refuses_an_oversized_value() -> None:
    key = MatchKey(KeyKind.NAME, Strength.WEAK, "a" * 0x10000)
    with pytest.raises(InputError, match=r"^value: longer than 65535 bytes once encoded"):
        oprf_input("v1", "persons", key)
    assert len(oprf_input("v1", "persons", MatchKey(KeyKind.NAME, Strength.WEAK, "a" * 0xFFFF)))
    with pytest.raises(InputError, match=r"^dataset: must not be empty"):
        oprf_input("v1", "", key)


def main(inputs: str) -> None:
    corpus = json.loads(Path(inputs).read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = [{"record": record} for record in corpus["records"]]
    cases += [{"name": arguments} for arguments in corpus["names"]]
    with gzip.GzipFile(GOLDEN, "wb", mtime=0) as raw:
        for case in cases:
            case["digest"] = _digest(_output(case))
            raw.write(json.dumps(case, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")


if __name__ == "__main__":
    main(sys.argv[1])
