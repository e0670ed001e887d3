"""Prime-order groups for RFC 9497: ristretto255 (libsodium) and NIST P-256 (pycryptodomex).

Each group implements the abstract API of RFC 9497 §2.1 (HashToGroup, HashToScalar, ScalarMult,
SerializeElement, DeserializeElement, SerializeScalar, DeserializeScalar) plus one fused batch
operation, `multiply_encoded`, that decodes, validates, multiplies and re-encodes a list of
elements. That operation is the server's hot path: for ristretto255 it is one libsodium call per
element, because `crypto_scalarmult_ristretto255` itself refuses a non-canonical encoding, an
invalid point and an identity result, so no separate validation pass is needed.

Invariants:
- Scalars are Python integers in [0, order). Deserialised scalars are canonical and non-zero.
- Elements are group-specific values (the 32-byte canonical encoding for ristretto255, an
  `EccPoint` for P-256). Deserialised elements are valid and never the identity (RFC 9497 §2.1:
  DeserializeElement fails on the identity).
"""

from __future__ import annotations

import ctypes
import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Final, Generic, TypeVar

import rbcl
from Cryptodome.PublicKey.ECC import EccPoint

from crypto.errors import InvalidEncoding, InvalidInput
from crypto.hash_to_curve import (
    P256_A,
    P256_B,
    P256_ORDER,
    P256_P,
    expand_message_xmd,
    hash_to_curve_p256,
    hash_to_field,
)

__all__ = ["P256", "Group", "P256Group", "Ristretto255", "Ristretto255Group"]

E = TypeVar("E")


class Group(ABC, Generic[E]):
    """A prime-order group as RFC 9497 §2.1 describes it."""

    name: str
    order: int
    element_length: int
    scalar_length: int

    @abstractmethod
    def hash_to_group(self, msg: bytes, dst: bytes) -> E:
        """Deterministically map bytes to an element (RFC 9380 encoding of the suite)."""

    @abstractmethod
    def hash_to_scalar(self, msg: bytes, dst: bytes) -> int:
        """Deterministically map bytes to a scalar."""

    @abstractmethod
    def generator(self) -> E:
        """The fixed generator of the group."""

    @abstractmethod
    def scalar_mult(self, scalar: int, element: E) -> E:
        """Return `scalar * element`; raise `InvalidInput` if the result is the identity."""

    @abstractmethod
    def scalar_mult_base(self, scalar: int) -> E:
        """Return `scalar * generator`."""

    @abstractmethod
    def add(self, left: E, right: E) -> E:
        """Return `left + right`; raise `InvalidInput` if the result is the identity."""

    @abstractmethod
    def serialize_element(self, element: E) -> bytes:
        """Encode an element canonically."""

    @abstractmethod
    def deserialize_element(self, data: bytes) -> E:
        """Decode and validate an element; refuse the identity with `InvalidEncoding`."""

    def decode_validated(self, data: bytes) -> E:
        """Decode an encoding that this process produced or already validated.

        Skips the validity checks where the group can (ristretto255 elements are their
        encodings); never call it on bytes straight from a peer.
        """
        return self.deserialize_element(data)

    @abstractmethod
    def serialize_scalar(self, scalar: int) -> bytes:
        """Encode a scalar canonically."""

    @abstractmethod
    def _scalar_from_bytes(self, data: bytes) -> int:
        """Interpret exactly `scalar_length` bytes as an integer (no range check)."""

    def deserialize_scalar(self, data: bytes) -> int:
        """Decode a scalar; refuse a wrong length, a value >= order and zero."""
        if len(data) != self.scalar_length:
            raise InvalidEncoding(
                f"expected a {self.scalar_length}-byte {self.name} scalar, got {len(data)} bytes"
            )
        value = self._scalar_from_bytes(data)
        if value >= self.order:
            raise InvalidEncoding(f"{self.name} scalar is not reduced modulo the group order")
        if value == 0:
            raise InvalidEncoding(f"{self.name} scalar is zero")
        return value

    def random_scalar(self) -> int:
        """A uniformly random non-zero scalar from the operating system's CSPRNG."""
        return secrets.randbelow(self.order - 1) + 1

    def multiply_encoded(self, scalar: int, encodings: Sequence[bytes]) -> list[bytes]:
        """Decode each element, multiply it by `scalar` and encode the product.

        Raises `InvalidEncoding` naming the first position that does not decode to a valid,
        non-identity element. The generic version composes the single-element operations.
        """
        products = []
        for position, data in enumerate(encodings):
            try:
                element = self.deserialize_element(data)
            except InvalidEncoding as error:
                raise InvalidEncoding(f"element {position}: {error}") from None
            products.append(self.serialize_element(self.scalar_mult(scalar, element)))
        return products

    def multiply_each_encoded(
        self, scalars: Sequence[int], encodings: Sequence[bytes]
    ) -> list[bytes]:
        """Like `multiply_encoded`, with one scalar per element (the client's unblinding)."""
        if len(scalars) != len(encodings):
            raise InvalidInput(f"{len(scalars)} scalars but {len(encodings)} elements")
        products = []
        for position, (scalar, data) in enumerate(zip(scalars, encodings, strict=True)):
            products.extend(self._multiply_at(position, scalar, [data]))
        return products

    def _multiply_at(self, position: int, scalar: int, encodings: Sequence[bytes]) -> list[bytes]:
        try:
            return self.multiply_encoded(scalar, encodings)
        except InvalidEncoding:
            raise InvalidEncoding(
                f"element {position} is not a valid non-identity {self.name} encoding"
            ) from None


# ---------------------------------------------------------------------------------------------
# ristretto255 (RFC 9496) through libsodium.

_RISTRETTO_ORDER: Final = 2**252 + 27742317777372353535851937790883648493
_RISTRETTO_IDENTITY: Final = bytes(32)
# RFC 9496 §4.4: the canonical encoding of the ristretto255 generator.
_RISTRETTO_GENERATOR: Final = bytes.fromhex(
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"
)


class Ristretto255Group(Group[bytes]):
    """ristretto255 with SHA-512 hash-to-group (RFC 9497 §4.1).

    Elements are their 32-byte canonical encodings, which is what libsodium consumes, so
    serialisation is free and every arithmetic call validates its operands.
    """

    name = "ristretto255"
    order = _RISTRETTO_ORDER
    element_length = 32
    scalar_length = 32

    def __init__(self) -> None:
        # The libsodium functions are called through ctypes directly on the hot paths: the
        # wrappers of rbcl re-check lengths and types that this module has already checked.
        # rbcl exports its library handle (`rbcl._sodium`) for this use.
        sodium = rbcl._sodium
        self._scalarmult = sodium.crypto_scalarmult_ristretto255
        self._scalarmult_base = sodium.crypto_scalarmult_ristretto255_base
        self._from_hash = sodium.crypto_core_ristretto255_from_hash
        self._point_add = sodium.crypto_core_ristretto255_add
        self._is_valid_point = sodium.crypto_core_ristretto255_is_valid_point

    def hash_to_group(self, msg: bytes, dst: bytes) -> bytes:
        # RFC 9497 §4.1: hash_to_ristretto255 with expand_message_xmd(SHA-512) and 64 bytes.
        uniform = expand_message_xmd(msg, dst, 64, "sha512")
        out = ctypes.create_string_buffer(32)
        self._from_hash(out, uniform)
        return out.raw

    def hash_to_scalar(self, msg: bytes, dst: bytes) -> int:
        # RFC 9497 §4.1: 64 uniform bytes, read little-endian, reduced modulo the order.
        uniform = expand_message_xmd(msg, dst, 64, "sha512")
        return int.from_bytes(uniform, "little") % _RISTRETTO_ORDER

    def generator(self) -> bytes:
        return _RISTRETTO_GENERATOR

    def scalar_mult(self, scalar: int, element: bytes) -> bytes:
        out = ctypes.create_string_buffer(32)
        if self._scalarmult(out, scalar.to_bytes(32, "little"), element) != 0:
            raise InvalidInput("ristretto255 scalar multiplication gave the identity element")
        return out.raw

    def scalar_mult_base(self, scalar: int) -> bytes:
        out = ctypes.create_string_buffer(32)
        if self._scalarmult_base(out, scalar.to_bytes(32, "little")) != 0:
            raise InvalidInput("ristretto255 base multiplication by a zero scalar")
        return out.raw

    def add(self, left: bytes, right: bytes) -> bytes:
        out = ctypes.create_string_buffer(32)
        if self._point_add(out, left, right) != 0:
            raise InvalidInput("ristretto255 addition of an invalid element")
        if out.raw == _RISTRETTO_IDENTITY:
            raise InvalidInput("ristretto255 addition gave the identity element")
        return out.raw

    def serialize_element(self, element: bytes) -> bytes:
        return element

    def deserialize_element(self, data: bytes) -> bytes:
        if len(data) != 32:
            raise InvalidEncoding(f"expected a 32-byte ristretto255 element, got {len(data)} bytes")
        if data == _RISTRETTO_IDENTITY:
            raise InvalidEncoding("ristretto255 element is the identity")
        # The libsodium that rbcl bundles ignores bit 255 when it checks canonicity, so a value
        # of 2^255 or more (never canonical, RFC 9496 §4.3.1) is refused here first.
        if data[31] & 0x80 or self._is_valid_point(bytes(data)) != 1:
            raise InvalidEncoding("bytes are not a canonical ristretto255 encoding")
        return bytes(data)

    def decode_validated(self, data: bytes) -> bytes:
        return data

    def serialize_scalar(self, scalar: int) -> bytes:
        return scalar.to_bytes(32, "little")

    def _scalar_from_bytes(self, data: bytes) -> int:
        return int.from_bytes(data, "little")

    def multiply_encoded(self, scalar: int, encodings: Sequence[bytes]) -> list[bytes]:
        # One libsodium call per element. It decodes the point (refusing non-canonical
        # encodings and invalid points) and fails when the product is the identity, which for a
        # non-zero scalar below the prime order happens exactly when the input is the identity.
        # Bit 255 is checked here because the bundled libsodium ignores it (see
        # deserialize_element).
        scalarmult = self._scalarmult
        k = scalar.to_bytes(32, "little")
        out = ctypes.create_string_buffer(32)
        products: list[bytes] = []
        append = products.append
        for position, data in enumerate(encodings):
            if len(data) != 32 or data[31] & 0x80 or scalarmult(out, k, data) != 0:
                raise InvalidEncoding(
                    f"element {position} is not a valid non-identity ristretto255 encoding"
                )
            append(out.raw)
        return products


# ---------------------------------------------------------------------------------------------
# NIST P-256 through pycryptodomex.

# RFC 9497 §4.3: HashToScalar for P256-SHA256 uses hash_to_field with L = 48.
_P256_SCALAR_L: Final = 48
_P256_SQRT_EXPONENT: Final = (P256_P + 1) // 4


class P256Group(Group[EccPoint]):
    """NIST P-256 with SHA-256 (RFC 9497 §4.3); SEC1 compressed encoding of 33 bytes."""

    name = "P-256"
    order = P256_ORDER
    element_length = 33
    scalar_length = 32

    def __init__(self) -> None:
        self._generator = EccPoint(
            0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
            0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
            curve="P-256",
        )

    def hash_to_group(self, msg: bytes, dst: bytes) -> EccPoint:
        return hash_to_curve_p256(msg, dst)

    def hash_to_scalar(self, msg: bytes, dst: bytes) -> int:
        return hash_to_field(msg, dst, 1, P256_ORDER, _P256_SCALAR_L, "sha256")[0]

    def generator(self) -> EccPoint:
        return self._generator.copy()

    def scalar_mult(self, scalar: int, element: EccPoint) -> EccPoint:
        product = element * scalar
        if product.is_point_at_infinity():
            raise InvalidInput("P-256 scalar multiplication gave the identity element")
        return product

    def scalar_mult_base(self, scalar: int) -> EccPoint:
        return self.scalar_mult(scalar, self._generator)

    def add(self, left: EccPoint, right: EccPoint) -> EccPoint:
        total = left + right
        if total.is_point_at_infinity():
            raise InvalidInput("P-256 addition gave the identity element")
        return total

    def serialize_element(self, element: EccPoint) -> bytes:
        x, y = (int(c) for c in element.xy)
        return bytes([2 | (y & 1)]) + x.to_bytes(32, "big")

    def deserialize_element(self, data: bytes) -> EccPoint:
        # SEC1 §2.3.4 with compressed points only; the identity has no 33-byte encoding.
        if len(data) != 33:
            raise InvalidEncoding(f"expected a 33-byte P-256 element, got {len(data)} bytes")
        prefix = data[0]
        if prefix not in (2, 3):
            raise InvalidEncoding("P-256 element is not a compressed SEC1 point")
        x = int.from_bytes(data[1:], "big")
        if x >= P256_P:
            raise InvalidEncoding("P-256 x-coordinate is not reduced modulo p")
        rhs = (x * x * x + P256_A * x + P256_B) % P256_P
        y = pow(rhs, _P256_SQRT_EXPONENT, P256_P)
        if y * y % P256_P != rhs:
            raise InvalidEncoding("P-256 x-coordinate is not on the curve")
        if (y & 1) != (prefix & 1):
            y = P256_P - y
        return EccPoint(x, y, curve="P-256")

    def serialize_scalar(self, scalar: int) -> bytes:
        return scalar.to_bytes(32, "big")

    def _scalar_from_bytes(self, data: bytes) -> int:
        return int.from_bytes(data, "big")


Ristretto255: Final = Ristretto255Group()
P256: Final = P256Group()
