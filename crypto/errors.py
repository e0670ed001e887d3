"""Error types of blindhit's cryptographic core.

`BlindhitError` is the root of every error the project raises on purpose. It lives here, in the
innermost package, because dependencies point inward: `protocol/`, `node/` and `federation/` may
import `crypto/`, never the reverse.

Every cryptographic failure raises; nothing returns False (a forgotten check must not pass
silently). Bytes that arrive from outside and fail to decode raise `InvalidEncoding` whatever
failed inside, so that a peer cannot learn which check rejected its input.
"""

from __future__ import annotations

__all__ = [
    "BlindhitError",
    "CryptoError",
    "InvalidEncoding",
    "InvalidInput",
    "InvalidProof",
    "InvalidSignature",
]


class BlindhitError(Exception):
    """Root of every error blindhit raises on purpose."""


class CryptoError(BlindhitError):
    """A cryptographic operation refused its input or failed a check."""


class InvalidEncoding(CryptoError):
    """Bytes do not encode a valid group element, scalar, proof, note or key.

    Raised for wrong lengths, non-canonical encodings, points not on the curve, the identity
    element where it is forbidden, and a zero scalar where it is forbidden.
    """


class InvalidInput(CryptoError):
    """Arguments that are well encoded but cannot be used together.

    For example a batch whose lists have different lengths, an input that hashes to the identity
    element (RFC 9497 `InvalidInputError`), or a POPRF key tweak that is zero (`InverseError`).
    """


class InvalidProof(CryptoError):
    """A DLEQ proof (RFC 9497 §2.2) or a Merkle proof (RFC 9162 §2.1) does not verify."""


class InvalidSignature(CryptoError):
    """A signed note carries no valid signature by the expected key."""
