"""The node's disclosure key: X25519, `keys/disclosure.pem`, encrypted at rest like every key.

Owners seal releases to the key a querier names in its request (RFC 9180 HPKE); this is the key
this node names, created on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
    load_pem_private_key,
)

from crypto.errors import InputError

__all__ = ["DISCLOSURE_KEY_FILE", "load_disclosure_key"]

DISCLOSURE_KEY_FILE = "disclosure.pem"


def load_disclosure_key(node_dir: Path, passphrase: bytes) -> X25519PrivateKey:
    """The node's X25519 disclosure key, created (0600, encrypted) on first use."""
    path = node_dir / "keys" / DISCLOSURE_KEY_FILE
    if not path.exists():
        key = X25519PrivateKey.generate()
        pem = key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase)
        )
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile: use that one
        except OSError as error:
            raise InputError(f"cannot create {path}: {error.strerror}") from None
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
    try:
        loaded = load_pem_private_key(path.read_bytes(), password=passphrase)
    except (OSError, ValueError, TypeError) as error:
        raise InputError(f"cannot load the disclosure key {path}: {error}") from None
    if not isinstance(loaded, X25519PrivateKey):
        raise InputError(f"{path} does not hold an X25519 key")
    return loaded
