"""Hashing to finite fields and to the P-256 curve, RFC 9380.

Implements `expand_message_xmd` (§5.3.1, including the oversize-DST rule of §5.3.3),
`hash_to_field` for prime fields (§5.2), the simplified SWU map for P-256 (§6.6.2) and the
random-oracle encoding `P256_XMD:SHA-256_SSWU_RO_` (§8.2). The ristretto255 suite needs only
`expand_message_xmd`; its one-way map is libsodium's `crypto_core_ristretto255_from_hash`.

Field arithmetic here uses Python integers: it costs a few modular exponentiations per hash, far
below one P-256 scalar multiplication, and it is not constant time. Inputs hashed here are the
querier's own probes on its own machine, so no remote party can time this code.
"""

from __future__ import annotations

import hashlib
from typing import Final

from Cryptodome.PublicKey.ECC import EccPoint

from crypto.errors import InvalidInput

__all__ = [
    "P256_A",
    "P256_B",
    "P256_ORDER",
    "P256_P",
    "expand_message_xmd",
    "hash_to_curve_p256",
    "hash_to_field",
    "map_to_curve_sswu_p256",
]

# NIST P-256 (SEC 2 secp256r1) domain parameters.
P256_P: Final = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
P256_A: Final = P256_P - 3
P256_B: Final = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# RFC 9380 §8.2: Z = -10 for P256_XMD:SHA-256_SSWU_RO_.
_P256_Z: Final = P256_P - 10
# RFC 9380 §8.2: L = 48 bytes per field element (ceil((ceil(log2(p)) + k) / 8) with k = 128).
_P256_L: Final = 48

# RFC 9380 §5.3.3: a DST longer than 255 bytes is replaced by the hash of this prefix and the DST.
_OVERSIZE_DST_PREFIX: Final = b"H2C-OVERSIZE-DST-"

# Precomputed constants of the simplified SWU map (RFC 9380 §6.6.2).
_MINUS_B_OVER_A: Final = (-P256_B * pow(P256_A, -1, P256_P)) % P256_P
_B_OVER_ZA: Final = (P256_B * pow(_P256_Z * P256_A, -1, P256_P)) % P256_P
# P-256's p is 3 mod 4, so a square root is a single exponentiation (RFC 9380 Appendix I.1).
_SQRT_EXPONENT: Final = (P256_P + 1) // 4
_LEGENDRE_EXPONENT: Final = (P256_P - 1) // 2


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int, hash_name: str) -> bytes:
    """Return `len_in_bytes` uniform bytes from `msg` and `dst` (RFC 9380 §5.3.1).

    `hash_name` is a `hashlib` name of a Merkle-Damgård hash (`sha256` or `sha512`).
    """
    hash_factory = getattr(hashlib, hash_name)
    b_in_bytes = hash_factory().digest_size
    s_in_bytes = hash_factory().block_size
    if len(dst) > 255:
        dst = hash_factory(_OVERSIZE_DST_PREFIX + dst).digest()
    ell = -(-len_in_bytes // b_in_bytes)
    if ell > 255 or len_in_bytes > 65535 or len_in_bytes <= 0:
        raise InvalidInput(f"expand_message_xmd cannot produce {len_in_bytes} bytes")
    dst_prime = dst + len(dst).to_bytes(1, "big")
    msg_prime = bytes(s_in_bytes) + msg + len_in_bytes.to_bytes(2, "big") + b"\x00" + dst_prime
    b_0 = hash_factory(msg_prime).digest()
    b_i = hash_factory(b_0 + b"\x01" + dst_prime).digest()
    blocks = [b_i]
    for i in range(2, ell + 1):
        mixed = bytes(x ^ y for x, y in zip(b_0, b_i, strict=True))
        b_i = hash_factory(mixed + i.to_bytes(1, "big") + dst_prime).digest()
        blocks.append(b_i)
    return b"".join(blocks)[:len_in_bytes]


def hash_to_field(
    msg: bytes, dst: bytes, count: int, modulus: int, length: int, hash_name: str
) -> list[int]:
    """Hash to `count` elements of the prime field of `modulus` (RFC 9380 §5.2, m = 1).

    `length` is L, the number of bytes reduced per element (RFC 9380 §5: ceil((ceil(log2(p)) +
    k) / 8)). The same function serves RFC 9497's HashToScalar with the group order as modulus.
    """
    uniform = expand_message_xmd(msg, dst, count * length, hash_name)
    return [
        int.from_bytes(uniform[i * length : (i + 1) * length], "big") % modulus
        for i in range(count)
    ]


def _is_square(value: int) -> bool:
    # Euler's criterion; zero counts as a square (RFC 9380 §4, is_square).
    return pow(value, _LEGENDRE_EXPONENT, P256_P) in (0, 1)


def _sgn0(value: int) -> int:
    # RFC 9380 §4.1, for m = 1.
    return value & 1


def map_to_curve_sswu_p256(u: int) -> tuple[int, int]:
    """Map a field element to an affine P-256 point with the simplified SWU map (§6.6.2)."""
    p = P256_P
    u2 = u * u % p
    z_u2 = _P256_Z * u2 % p
    denominator = (z_u2 * z_u2 + z_u2) % p
    # Step 1-3: tv1 = inv0(Z^2 u^4 + Z u^2); x1 = (-B/A)(1 + tv1), or B/(Z A) when tv1 = 0.
    x1 = _B_OVER_ZA if denominator == 0 else _MINUS_B_OVER_A * (1 + pow(denominator, -1, p)) % p
    gx1 = (x1 * x1 * x1 + P256_A * x1 + P256_B) % p
    if _is_square(gx1):
        x, y = x1, pow(gx1, _SQRT_EXPONENT, p)
    else:
        x = z_u2 * x1 % p
        gx2 = (x * x * x + P256_A * x + P256_B) % p
        y = pow(gx2, _SQRT_EXPONENT, p)
    if _sgn0(u) != _sgn0(y):
        y = p - y
    return x, y


def hash_to_curve_p256(msg: bytes, dst: bytes) -> EccPoint:
    """Hash `msg` to a P-256 point, suite `P256_XMD:SHA-256_SSWU_RO_` (RFC 9380 §8.2, §3).

    P-256 has cofactor 1, so `clear_cofactor` is the identity map.
    """
    u0, u1 = hash_to_field(msg, dst, 2, P256_P, _P256_L, "sha256")
    q0 = EccPoint(*map_to_curve_sswu_p256(u0), curve="P-256")
    q1 = EccPoint(*map_to_curve_sswu_p256(u1), curve="P-256")
    return q0 + q1
