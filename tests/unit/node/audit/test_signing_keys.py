"""The node's Ed25519 signing key on disk (`node.keys.identity`), as the audit log uses it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from crypto.errors import InputError
from crypto.signed_note import Ed25519Signer
from node.keys.identity import (
    load_private_key,
    load_verifier,
    read_passphrase,
    write_private_key,
    write_public_key,
)


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def test_private_key_round_trips_with_mode_0600(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "node.pem"
    write_private_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _raw(load_private_key(path)) == _raw(key)
    with pytest.raises(InputError, match="never overwritten"):
        write_private_key(path, key)


def test_encrypted_private_key_needs_its_passphrase(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "node.pem"
    write_private_key(path, key, b"correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert _raw(load_private_key(path, b"correct horse")) == _raw(key)
    with pytest.raises(InputError, match="encrypted"):
        load_private_key(path)
    with pytest.raises(InputError, match="passphrase"):
        load_private_key(path, b"wrong")


def test_plain_key_with_a_passphrase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.pem"
    write_private_key(path, Ed25519PrivateKey.generate())
    with pytest.raises(InputError, match="not encrypted"):
        load_private_key(path, b"unneeded")


def test_other_key_types_and_garbage_are_refused(tmp_path: Path) -> None:
    ec = tmp_path / "ec.pem"
    ec.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
    )
    with pytest.raises(InputError, match="Ed25519"):
        load_private_key(ec)
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a key")
    with pytest.raises(InputError, match="cannot load private key"):
        load_private_key(garbage)
    with pytest.raises(InputError, match="cannot read"):
        load_private_key(tmp_path / "absent.pem")
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"-" * 100_000)
    with pytest.raises(InputError, match="larger"):
        load_private_key(huge)


def test_verifier_from_pem_and_from_verifier_key(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    signer = Ed25519Signer("fr-dcpj", key)
    pem = tmp_path / "node.pub"
    write_public_key(pem, key.public_key())
    assert load_verifier(pem, "fr-dcpj") == signer.verifier()
    assert load_verifier(pem, fallback_name="fr-dcpj") == signer.verifier()
    with pytest.raises(InputError, match="origin"):
        load_verifier(pem)
    vkey = tmp_path / "node.vkey"
    vkey.write_text(signer.verifier_key() + "\n")
    assert load_verifier(vkey) == signer.verifier()
    assert load_verifier(vkey, fallback_name="ignored") == signer.verifier()
    with pytest.raises(InputError, match="named"):
        load_verifier(vkey, "de.bka")
    broken = tmp_path / "broken.vkey"
    broken.write_text("fr-dcpj+00000000+AAAA\n")
    with pytest.raises(InputError, match="verifier key"):
        load_verifier(broken)


def test_passphrase_from_environment_or_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLINDHIT_TEST_PASSPHRASE", "from env")
    assert read_passphrase(env="BLINDHIT_TEST_PASSPHRASE") == b"from env"
    secret = tmp_path / "passphrase"
    secret.write_bytes(b"from file\n")
    assert read_passphrase(file=secret) == b"from file"
    assert read_passphrase() is None
    with pytest.raises(InputError, match="not both"):
        read_passphrase(env="BLINDHIT_TEST_PASSPHRASE", file=secret)
    monkeypatch.delenv("BLINDHIT_TEST_PASSPHRASE")
    with pytest.raises(InputError, match="not set"):
        read_passphrase(env="BLINDHIT_TEST_PASSPHRASE")
