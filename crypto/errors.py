"""The error tree of blindhit: one root, `BlindhitError`, and its families by where a fault comes
from.

This is the one errors module of the project. It lives in `crypto/`, the innermost package,
because dependencies point inward: every package may import `crypto/` and none is imported by
it, so the root and every family can be raised from anywhere, the cryptographic core included.
Defining a family here does no I/O and ties `crypto/` to nothing.

Each family maps to one way of reporting: `InputError` to a one-line CLI message and a non-zero
exit, `PeerError` and `CryptoError` to `INVALID_ARGUMENT`, `PolicyError` to `PERMISSION_DENIED`
and its relatives (`UnknownPeer` UNAUTHENTICATED, `QuotaExceeded` RESOURCE_EXHAUSTED,
`StaleEpoch` FAILED_PRECONDITION), `StorageError` to UNAVAILABLE.

Every cryptographic failure raises; nothing returns False (a forgotten check must not pass
silently). Bytes that arrive from outside and fail to decode raise `InvalidEncoding` whatever
failed inside, so that a peer cannot learn which check rejected its input.
"""

from __future__ import annotations

__all__ = [
    "BatchTooLarge",
    "BlindhitError",
    "CryptoError",
    "FederationError",
    "ForeignReference",
    "InputError",
    "InvalidCiphertext",
    "InvalidEncoding",
    "InvalidInput",
    "InvalidProof",
    "InvalidSignature",
    "NotPermitted",
    "PeerError",
    "PolicyError",
    "QuotaExceeded",
    "StaleEpoch",
    "StorageError",
    "UnknownPeer",
    "UnknownReference",
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


class InvalidCiphertext(CryptoError):
    """Sealed bytes (RFC 9180 HPKE) do not open: altered, or sealed for another key or context."""


class InvalidInput(CryptoError):
    """Arguments that are well encoded but cannot be used together.

    For example a batch whose lists have different lengths, an input that hashes to the identity
    element (RFC 9497 `InvalidInputError`), or a POPRF key tweak that is zero (`InverseError`).
    """


class InvalidProof(CryptoError):
    """A DLEQ proof (RFC 9497 §2.2) or a Merkle proof (RFC 9162 §2.1) does not verify."""


class InvalidSignature(CryptoError):
    """A signed note carries no valid signature by the expected key."""


class InputError(BlindhitError):
    """A file, field or argument given by the local user is malformed."""


class PeerError(BlindhitError):
    """A peer node sent data that does not decode or does not verify."""


class UnknownReference(PeerError):
    """A disclosure request quotes a match reference that resolves to no current record."""


class ForeignReference(PeerError):
    """A disclosure request quotes a check not answered for that peer, or one already quoted."""


class BatchTooLarge(PeerError):
    """A request holds more elements than the owner takes from that peer in one request."""


class StaleEpoch(PeerError):
    """A request names an epoch of a dataset that is no longer the current one."""


class PolicyError(BlindhitError):
    """A request is well formed but this node's policy does not allow it."""


class UnknownPeer(PolicyError):
    """The caller is not a peer this node knows (no such member, or its identity fails)."""


class NotPermitted(PolicyError):
    """A known peer asked for something its policy rule does not allow."""


class QuotaExceeded(PolicyError):
    """A known peer has used its quota for the period."""


class StorageError(BlindhitError):
    """The node's database or files cannot be read or written as expected."""


class FederationError(BlindhitError):
    """Membership, directory or coordinating-node state is inconsistent or refused."""
