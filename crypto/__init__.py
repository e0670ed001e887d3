"""Cryptographic primitives of blindhit: bytes in, bytes out; no I/O and no project imports.

Modules: `hash_to_curve` (RFC 9380), `groups` (ristretto255 and P-256 prime-order groups),
`oprf` (RFC 9497), `merkle` (RFC 9162 §2.1), `signed_note` (C2SP signed-note, tlog-checkpoint),
`cosignature` (C2SP tlog-cosignature, the witness's Ed25519 `cosignature/v1`), `hpke`
(RFC 9180), and `errors`, the project's one error tree.
"""

from crypto.errors import (
    BlindhitError,
    CryptoError,
    InvalidEncoding,
    InvalidInput,
    InvalidProof,
    InvalidSignature,
)

__all__ = [
    "BlindhitError",
    "CryptoError",
    "InvalidEncoding",
    "InvalidInput",
    "InvalidProof",
    "InvalidSignature",
]
