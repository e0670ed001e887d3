"""OPRF private keys sealed at rest: AES-256-GCM, keyed by scrypt from the node passphrase.

A dataset's OPRF private key is what keeps its match index from being enumerated: whoever holds it
can evaluate guesses offline and test them against the index (docs/promises.md). It is therefore
stored only sealed, in the node's database, and unsealed in memory for an import, a key rotation
or the server.

Format of a sealed key (version 1, integers big-endian):

    magic "BHSK" | version u8 = 1 | log2_n u8 | r u8 | p u8 | salt [16] | nonce [12]
    | AES-256-GCM ciphertext of the private key, with its 16-byte tag

- The sealing key is `scrypt(passphrase, salt, N = 2**log2_n, r, p)`, 32 bytes (RFC 7914). The
  default cost N = 2**17, r = 8, p = 1 makes every try cost 128 MiB of memory and a noticeable
  fraction of a second; a key is unsealed once per command or server start, so the cost is paid
  rarely and slows a guesser down in proportion. The cost travels in the header so that it can
  be raised later without breaking keys sealed earlier.
- Salt and nonce are fresh random values for every sealing, so sealing the same key twice gives
  unrelated blobs, and one sealing key never encrypts twice under one nonce.
- The associated data binds the blob to where it belongs: the whole header (so the cost cannot be
  lowered by editing it), then the node id, the dataset name and the key version, each framed
  with its length. A sealed key copied to another dataset, version or node does not open.

Unsealing with a wrong passphrase, or a blob that was altered or moved, fails the GCM tag check;
the two cannot be told apart, and both raise `InputError` saying so. A blob that does not even
have the format raises `StorageError` (the database is damaged), as does a cost outside sane
bounds, which would otherwise let a damaged or hostile database make the node allocate gigabytes.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from crypto.errors import InputError, StorageError

__all__ = [
    "DEFAULT_COST",
    "SEALED_KEY_VERSION",
    "ScryptCost",
    "seal_private_key",
    "unseal_private_key",
]

SEALED_KEY_VERSION: Final = 1

_MAGIC: Final = b"BHSK"
_HEADER: Final = struct.Struct(">4sBBBB16s12s")
_TAG_LENGTH: Final = 16
_KEY_LENGTH: Final = 32
# Bounds on the cost read back from a blob, so that a damaged database cannot make the node spend
# minutes or gigabytes on one key derivation; the memory bound below is the one that binds.
_MIN_LOG2_N: Final = 10
_MAX_LOG2_N: Final = 22
_MAX_R: Final = 32
_MAX_P: Final = 16
# scrypt needs about 128 * N * r bytes; refuse anything above 1 GiB.
_MAX_MEMORY: Final = 1 << 30
# Private keys of the supported suites are 32-byte scalars; a little room for other encodings.
_MAX_PLAINTEXT: Final = 256


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's cost parameters (RFC 7914 §2): N = 2**log2_n, block size r, parallelism p."""

    log2_n: int = 17
    r: int = 8
    p: int = 1

    def problem(self) -> str | None:
        """Why these parameters are refused, or None if they are acceptable."""
        if not _MIN_LOG2_N <= self.log2_n <= _MAX_LOG2_N:
            return f"expected log2(N) in [{_MIN_LOG2_N}, {_MAX_LOG2_N}], got {self.log2_n}"
        if not 1 <= self.r <= _MAX_R or not 1 <= self.p <= _MAX_P:
            return f"expected 1 <= r <= {_MAX_R} and 1 <= p <= {_MAX_P}, got r={self.r} p={self.p}"
        if 128 * (1 << self.log2_n) * self.r > _MAX_MEMORY:
            return f"scrypt with log2(N)={self.log2_n} and r={self.r} needs more than 1 GiB"
        return None


DEFAULT_COST: Final = ScryptCost()


def _frame(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _associated_data(header: bytes, node_id: str, dataset: str, key_version: int) -> bytes:
    if not 0 < key_version < 1 << 32:
        raise InputError(f"expected a key version in [1, 2**32), got {key_version}")
    return b"".join(
        (
            header,
            _frame(node_id.encode("utf-8")),
            _frame(dataset.encode("utf-8")),
            key_version.to_bytes(4, "big"),
        )
    )


def _sealing_key(passphrase: bytes, salt: bytes, cost: ScryptCost) -> bytes:
    kdf = Scrypt(salt=salt, length=_KEY_LENGTH, n=1 << cost.log2_n, r=cost.r, p=cost.p)
    return kdf.derive(passphrase)


def seal_private_key(
    private_key: bytes,
    passphrase: bytes,
    *,
    node_id: str,
    dataset: str,
    key_version: int,
    cost: ScryptCost = DEFAULT_COST,
) -> bytes:
    """Seal `private_key` under `passphrase`, bound to (node id, dataset, key version).

    Raises:
        InputError: an empty passphrase, an empty or oversized key, or refused cost parameters.
    """
    if not passphrase:
        raise InputError("an OPRF private key cannot be sealed under an empty passphrase")
    if not 0 < len(private_key) <= _MAX_PLAINTEXT:
        raise InputError(f"expected a private key of 1 to {_MAX_PLAINTEXT} bytes")
    problem = cost.problem()
    if problem is not None:
        raise InputError(f"scrypt cost refused: {problem}")
    salt = os.urandom(16)
    nonce = os.urandom(12)
    header = _HEADER.pack(_MAGIC, SEALED_KEY_VERSION, cost.log2_n, cost.r, cost.p, salt, nonce)
    associated = _associated_data(header, node_id, dataset, key_version)
    sealed = AESGCM(_sealing_key(passphrase, salt, cost)).encrypt(nonce, private_key, associated)
    return header + sealed


def unseal_private_key(
    sealed: bytes, passphrase: bytes, *, node_id: str, dataset: str, key_version: int
) -> bytes:
    """Open a sealed key; the node id, dataset and key version must be those it was sealed for.

    Raises:
        InputError: the passphrase is wrong, or the blob was altered or belongs elsewhere.
        StorageError: the blob does not have the sealed-key format or its cost is out of bounds.
    """
    where = f"the OPRF key of dataset {dataset!r} (key version {key_version})"
    if len(sealed) < _HEADER.size + _TAG_LENGTH + 1:
        raise StorageError(f"{where} is damaged: {len(sealed)} bytes is too short a sealed key")
    magic, version, log2_n, r, p, salt, nonce = _HEADER.unpack_from(sealed)
    if magic != _MAGIC or version != SEALED_KEY_VERSION:
        raise StorageError(
            f"{where} is damaged: expected a sealed key of format {SEALED_KEY_VERSION} "
            f"(magic {_MAGIC!r}), got magic {magic!r} version {version}"
        )
    cost = ScryptCost(log2_n, r, p)
    problem = cost.problem()
    if problem is not None:
        raise StorageError(f"{where} is damaged: scrypt cost refused: {problem}")
    header = sealed[: _HEADER.size]
    associated = _associated_data(header, node_id, dataset, key_version)
    try:
        return AESGCM(_sealing_key(passphrase, salt, cost)).decrypt(
            nonce, sealed[_HEADER.size :], associated
        )
    except InvalidTag as error:
        raise InputError(
            f"cannot unseal {where}: wrong passphrase, or the sealed key was altered or "
            "belongs to another node, dataset or key version"
        ) from error
