"""Hybrid public-key encryption (RFC 9180), base mode, one suite: X25519, HKDF-SHA256, AES-128-GCM.

What an owner seals a disclosed record with, to the X25519 key a querier named. This module is
bytes in, bytes out over `cryptography`'s HPKE (`cryptography.hazmat.primitives.hpke`): `seal`
and `open_sealed` take the `info` string that binds a ciphertext to its context (RFC 9180 §5.1;
the caller decides what it holds), and `public_key_from_bytes` refuses the keys that would make
the shared secret predictable.

Suite (RFC 9180 §7): KEM `DHKEM(X25519, HKDF-SHA256)` (0x0020), KDF `HKDF-SHA256` (0x0001), AEAD
`AES-128-GCM` (0x0001). The single-shot API puts the KEM's encapsulated key in front of the
ciphertext, so one byte string travels.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto.errors import InvalidCiphertext, InvalidEncoding, InvalidInput

__all__ = ["PUBLIC_KEY_BYTES", "SUITE_NAME", "open_sealed", "public_key_from_bytes", "seal"]

SUITE_NAME: Final = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM"
PUBLIC_KEY_BYTES: Final = 32
_SUITE: Final = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)


def public_key_from_bytes(data: bytes) -> X25519PublicKey:
    """An X25519 public key from its 32 raw bytes.

    A low-order point (the zero point among them) would make the shared secret predictable;
    HPKE refuses to seal to one, and a key naming one is refused here, by trying the
    Diffie-Hellman exchange sealing will need (which fails on exactly those points, RFC 7748 §6.1).

    Raises:
        InvalidEncoding: not 32 bytes, or a low-order point.
    """
    if len(data) != PUBLIC_KEY_BYTES:
        raise InvalidEncoding(
            f"expected a {PUBLIC_KEY_BYTES}-byte X25519 public key, got {len(data)} bytes"
        )
    key = X25519PublicKey.from_public_bytes(data)
    try:
        X25519PrivateKey.generate().exchange(key)
    except ValueError:
        raise InvalidEncoding("the X25519 public key is a low-order point") from None
    return key


def seal(plaintext: bytes, recipient: X25519PublicKey, *, info: bytes) -> bytes:
    """Encrypt `plaintext` to `recipient`, bound to `info` (RFC 9180 §6.1 single-shot Seal).

    Raises:
        InvalidInput: the key cannot be sealed to.
    """
    try:
        return _SUITE.encrypt(plaintext, recipient, info=info)
    except ValueError as error:
        raise InvalidInput(str(error)) from None


def open_sealed(sealed: bytes, private_key: X25519PrivateKey, *, info: bytes) -> bytes:
    """Decrypt what `seal` made for `private_key` with the same `info` (RFC 9180 §6.1 Open).

    Raises:
        InvalidCiphertext: the bytes were altered, sealed to another key, or bound to another
            `info` — one error whatever failed, so a sender cannot probe which.
    """
    try:
        return _SUITE.decrypt(sealed, private_key, info=info)
    except (InvalidTag, ValueError):
        raise InvalidCiphertext(
            "the sealed bytes do not decrypt: altered, or not sealed for this key and context"
        ) from None
