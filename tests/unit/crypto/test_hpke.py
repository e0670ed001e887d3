"""HPKE sealing (RFC 9180 base mode, X25519 / HKDF-SHA256 / AES-128-GCM) through `crypto.hpke`."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from crypto.errors import InvalidCiphertext, InvalidEncoding, InvalidInput
from crypto.hpke import SUITE_NAME, open_sealed, public_key_from_bytes, seal


def _raw(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_what_is_sealed_opens_with_the_key_and_info_only() -> None:
    key = X25519PrivateKey.generate()
    sealed = seal(b"record 7", public_key_from_bytes(_raw(key)), info=b"owner|querier|id")
    # The encapsulated X25519 key (32 bytes) and the AES-GCM tag (16 bytes) travel with it.
    assert len(sealed) == 32 + len(b"record 7") + 16
    assert open_sealed(sealed, key, info=b"owner|querier|id") == b"record 7"
    with pytest.raises(InvalidCiphertext, match="do not decrypt"):
        open_sealed(sealed, key, info=b"owner|querier|other")
    with pytest.raises(InvalidCiphertext, match="do not decrypt"):
        open_sealed(sealed, X25519PrivateKey.generate(), info=b"owner|querier|id")
    for position in (0, 31, 32, len(sealed) - 1):
        altered = bytearray(sealed)
        altered[position] ^= 0x01
        with pytest.raises(InvalidCiphertext, match="do not decrypt"):
            open_sealed(bytes(altered), key, info=b"owner|querier|id")
    with pytest.raises(InvalidCiphertext):
        open_sealed(sealed[:40], key, info=b"owner|querier|id")


def test_two_seals_of_the_same_plaintext_differ() -> None:
    recipient = X25519PrivateKey.generate().public_key()
    assert seal(b"x", recipient, info=b"i") != seal(b"x", recipient, info=b"i")


def test_keys_of_the_wrong_length_or_low_order_are_refused() -> None:
    with pytest.raises(InvalidEncoding, match="expected a 32-byte X25519 public key, got 31"):
        public_key_from_bytes(bytes(31))
    with pytest.raises(InvalidEncoding, match="low-order point"):
        public_key_from_bytes(bytes(32))


def test_sealing_to_a_low_order_point_is_refused_by_hpke_itself() -> None:
    with pytest.raises(InvalidInput):
        seal(b"x", X25519PublicKey.from_public_bytes(bytes(32)), info=b"i")


def test_the_suite_is_the_one_documented() -> None:
    assert SUITE_NAME == "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM"
