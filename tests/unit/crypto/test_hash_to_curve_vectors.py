"""RFC 9380 vectors: expand_message_xmd (Appendix K.1-K.3) and P256_XMD:SHA-256_SSWU_RO_ (J.1.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto.hash_to_curve import (
    P256_P,
    expand_message_xmd,
    hash_to_curve_p256,
    hash_to_field,
    map_to_curve_sswu_p256,
)

VECTORS = Path(__file__).parents[2] / "vectors" / "rfc9380"
EXPAND_FILES = [
    "expand_message_xmd_SHA256_38.json",
    "expand_message_xmd_SHA256_256.json",
    "expand_message_xmd_SHA512_38.json",
]


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def _expand_cases() -> list[tuple[str, str, dict[str, str]]]:
    cases = []
    for name in EXPAND_FILES:
        suite = _load(name)
        cases += [(suite["DST"], suite["hash"].lower(), test) for test in suite["tests"]]
    return cases


@pytest.mark.parametrize(("dst", "hash_name", "case"), _expand_cases())
def test_expand_message_xmd(dst: str, hash_name: str, case: dict[str, str]) -> None:
    uniform = expand_message_xmd(
        case["msg"].encode(), dst.encode(), int(case["len_in_bytes"], 16), hash_name
    )
    assert uniform.hex() == case["uniform_bytes"]


P256_SUITE = _load("P256_XMD:SHA-256_SSWU_RO_.json")


@pytest.mark.parametrize("case", P256_SUITE["vectors"], ids=lambda c: repr(c["msg"][:12]))
def test_p256_hash_to_curve(case: dict[str, Any]) -> None:
    dst = P256_SUITE["dst"].encode()
    msg = case["msg"].encode()
    u = hash_to_field(msg, dst, 2, P256_P, 48, "sha256")
    assert u == [int(x, 16) for x in case["u"]]
    for field_element, name in zip(u, ("Q0", "Q1"), strict=True):
        x, y = map_to_curve_sswu_p256(field_element)
        assert (x, y) == (int(case[name]["x"], 16), int(case[name]["y"], 16))
    point = hash_to_curve_p256(msg, dst)
    assert (int(point.x), int(point.y)) == (int(case["P"]["x"], 16), int(case["P"]["y"], 16))
