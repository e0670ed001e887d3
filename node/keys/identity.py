"""The node's Ed25519 signing key on disk, and the public keys that others are given.

A private key is a PKCS #8 PEM file (`-----BEGIN PRIVATE KEY-----`, or `ENCRYPTED PRIVATE KEY`
when it is protected by a passphrase), written with mode 0600 and never overwritten. A passphrase
comes from an environment variable or a file, never from the command line, where it would show in
the process list and shell history.

A public key is accepted either as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or as a signed-note
verifier key `<name>+<key ID>+<base64>` (c2sp.org/signed-note), the form transparency-log tools
exchange; the latter also fixes the key name, which for a checkpoint key is the log's origin.

Every failure is an `InputError` that names the file and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from crypto.errors import InputError, InvalidEncoding, InvalidInput
from crypto.signed_note import Ed25519Verifier

__all__ = [
    "load_private_key",
    "load_verifier",
    "read_passphrase",
    "write_private_key",
    "write_public_key",
]

# Refuse absurd files early rather than reading them whole; a PEM key is a few hundred bytes.
_MAX_KEY_FILE_SIZE = 64 * 1024


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE_SIZE + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > _MAX_KEY_FILE_SIZE:
        raise InputError(f"{what} {path} is larger than {_MAX_KEY_FILE_SIZE} bytes")
    return data


def read_passphrase(*, env: str | None = None, file: Path | None = None) -> bytes | None:
    """Return the passphrase from environment variable `env` or from `file`, or None for neither.

    A file's trailing newline is not part of the passphrase.

    Raises:
        InputError: both or an unset variable or unreadable file were given.
    """
    if env is not None and file is not None:
        raise InputError("give the passphrase in an environment variable or a file, not both")
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise InputError(f"environment variable {env} holding the passphrase is not set")
        return value.encode("utf-8")
    if file is not None:
        return _read_key_file(file, "passphrase file").rstrip(b"\r\n")
    return None


def load_private_key(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from a PKCS #8 PEM file, decrypting it with `passphrase`.

    Raises:
        InputError: the file is unreadable, not PEM, not Ed25519, encrypted without a passphrase
            given, or the passphrase is wrong.
    """
    data = _read_key_file(path, "private key")
    try:
        key = load_pem_private_key(data, password=passphrase)
    except TypeError as exc:
        # cryptography raises TypeError when encryption and passphrase disagree.
        if passphrase is None:
            raise InputError(f"private key {path} is encrypted; give its passphrase") from exc
        raise InputError(f"private key {path} is not encrypted; give no passphrase") from exc
    except ValueError as exc:
        raise InputError(
            f"cannot load private key {path}: expected an Ed25519 PKCS #8 PEM key "
            "(or the passphrase is wrong)"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"expected an Ed25519 private key in {path}, got {type(key).__name__}")
    return key


def load_verifier(
    path: Path, name: str | None = None, *, fallback_name: str | None = None
) -> Ed25519Verifier:
    """Load a public key as a signed-note verifier named `name`.

    A verifier-key file carries its own name; if `name` is given too, the two must agree. A PEM
    public key has no name, so it takes `name`, or else `fallback_name` (for example the origin
    read from the checkpoint to verify: a wrong name only makes the signature fail, since the
    key ID covers the name).

    Raises:
        InputError: the file is unreadable or holds no Ed25519 public key, the names disagree, or
            a PEM key comes without a name.
    """
    data = _read_key_file(path, "public key")
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = load_pem_public_key(data)
        except ValueError as exc:
            raise InputError(f"cannot load public key {path}: expected a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise InputError(f"expected an Ed25519 public key in {path}, got {type(key).__name__}")
        pem_name = name if name is not None else fallback_name
        if pem_name is None:
            raise InputError(f"public key {path} is a PEM key; give the log's origin as its name")
        try:
            return Ed25519Verifier(pem_name, key)
        except InvalidInput as exc:
            raise InputError(f"cannot use {pem_name!r} as key name: {exc}") from exc
    try:
        verifier = Ed25519Verifier.from_verifier_key(data.decode("utf-8").strip())
    except (UnicodeDecodeError, InvalidEncoding) as exc:
        raise InputError(
            f"cannot load public key {path}: expected a PEM public key or a verifier key "
            f"<name>+<key ID>+<base64>: {exc}"
        ) from exc
    if name is not None and verifier.name != name:
        raise InputError(f"public key {path} is named {verifier.name!r}, expected {name!r}")
    return verifier


def write_private_key(path: Path, key: Ed25519PrivateKey, passphrase: bytes | None = None) -> None:
    """Write `key` as PKCS #8 PEM with mode 0600, encrypted if a passphrase is given.

    Raises:
        InputError: the file exists already (a key is never overwritten) or cannot be written.
    """
    encryption = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(f"{path} exists; a private key is never overwritten") from exc
    except OSError as exc:
        raise InputError(f"cannot create private key {path}: {exc.strerror or exc}") from exc
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def write_public_key(path: Path, key: Ed25519PublicKey) -> None:
    """Write `key` as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).

    Raises:
        InputError: the file cannot be written.
    """
    pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    try:
        path.write_bytes(pem)
    except OSError as exc:
        raise InputError(f"cannot write public key {path}: {exc.strerror or exc}") from exc
