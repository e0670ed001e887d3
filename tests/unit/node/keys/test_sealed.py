"""OPRF private keys sealed at rest: round trip, wrong passphrase, binding, damage."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from crypto.errors import InputError, StorageError
from node.keys.sealed import DEFAULT_COST, ScryptCost, seal_private_key, unseal_private_key

# The lowest accepted cost keeps these tests fast; the default is checked separately.
CHEAP = ScryptCost(log2_n=10, r=8, p=1)
KEY = bytes(range(32))


def seal(
    key: bytes = KEY,
    passphrase: bytes = b"right",
    *,
    node_id: str = "fr-ct",
    dataset: str = "persons",
    key_version: int = 1,
) -> bytes:
    return seal_private_key(
        key, passphrase, node_id=node_id, dataset=dataset, key_version=key_version, cost=CHEAP
    )


def unseal(
    sealed: bytes,
    passphrase: bytes = b"right",
    *,
    node_id: str = "fr-ct",
    dataset: str = "persons",
    key_version: int = 1,
) -> bytes:
    return unseal_private_key(
        sealed, passphrase, node_id=node_id, dataset=dataset, key_version=key_version
    )


def test_round_trip() -> None:
    assert unseal(seal()) == KEY


def test_each_sealing_uses_fresh_salt_and_nonce() -> None:
    first, second = seal(), seal()
    assert first != second
    assert first[8:36] != second[8:36]
    assert unseal(first) == unseal(second) == KEY


def _associated(header: bytes, node_id: str, dataset: str, key_version: int) -> bytes:
    """The associated data as the module docstring gives it: header, then framed bindings."""

    def framed(text: str) -> bytes:
        return len(text.encode()).to_bytes(2, "big") + text.encode()

    return header + framed(node_id) + framed(dataset) + key_version.to_bytes(4, "big")


def test_the_private_key_is_not_in_the_blob() -> None:
    sealed = seal()
    assert KEY not in sealed
    # The blob is AES-256-GCM as documented, opened here by the primitives alone: the key from
    # scrypt over the header's salt and cost, the header's nonce, the documented associated data.
    header, ciphertext = sealed[:36], sealed[36:]
    assert header[:5] == b"BHSK\x01"
    log2_n, r, p = header[5], header[6], header[7]
    assert (log2_n, r, p) == (CHEAP.log2_n, CHEAP.r, CHEAP.p)
    salt, nonce = header[8:24], header[24:36]
    assert len(ciphertext) == len(KEY) + 16  # the key and the GCM tag, nothing else

    def derive(passphrase: bytes) -> AESGCM:
        return AESGCM(Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase))

    right = _associated(header, "fr-ct", "persons", 1)
    assert derive(b"right").decrypt(nonce, ciphertext, right) == KEY
    # The wrong key, other associated data, or a changed ciphertext: the tag check refuses.
    tampered = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    attempts = [
        (derive(b"wrong"), ciphertext, right),
        (derive(b"right"), ciphertext, _associated(header, "fr-ct", "vehicles", 1)),
        (derive(b"right"), ciphertext, _associated(header, "fr-ct", "persons", 2)),
        (derive(b"right"), ciphertext, _associated(header, "de-bka", "persons", 1)),
        (derive(b"right"), tampered, right),
    ]
    for cipher, data, associated in attempts:
        with pytest.raises(InvalidTag):
            cipher.decrypt(nonce, data, associated)


def test_wrong_passphrase_is_a_clear_input_error() -> None:
    with pytest.raises(InputError, match="wrong passphrase") as raised:
        unseal(seal(), passphrase=b"wrong")
    assert "persons" in str(raised.value)
    assert "key version 1" in str(raised.value)


@pytest.mark.parametrize(
    ("node_id", "dataset", "key_version"),
    [("de-bka", "persons", 1), ("fr-ct", "vehicles", 1), ("fr-ct", "persons", 2)],
    ids=["other node", "other dataset", "other version"],
)
def test_a_blob_opens_only_where_it_was_sealed(
    node_id: str, dataset: str, key_version: int
) -> None:
    with pytest.raises(InputError, match="wrong passphrase, or the sealed key was altered"):
        unseal(seal(), node_id=node_id, dataset=dataset, key_version=key_version)


@pytest.mark.parametrize("position", [0, 4, 5, 8, 20, 40, -1])
def test_any_flipped_bit_is_refused(position: int) -> None:
    sealed = bytearray(seal())
    sealed[position] ^= 0x01
    with pytest.raises((InputError, StorageError)) as caught:
        unseal(bytes(sealed))
    # A changed magic or format version is a damaged database; anything else (cost, salt,
    # nonce, ciphertext, tag) fails the tag check, which cannot tell it from a wrong passphrase.
    if 0 <= position < 5:
        assert isinstance(caught.value, StorageError)
        assert "is damaged: expected a sealed key of format 1" in str(caught.value)
    else:
        assert isinstance(caught.value, InputError)
        assert "wrong passphrase, or the sealed key was altered" in str(caught.value)


def test_lowering_the_cost_in_the_header_does_not_open_the_key() -> None:
    sealed = bytearray(
        seal_private_key(
            KEY, b"right", node_id="fr-ct", dataset="persons", key_version=1, cost=ScryptCost(11)
        )
    )
    sealed[5] = 10
    with pytest.raises(InputError, match="wrong passphrase"):
        unseal(bytes(sealed))


def test_an_absurd_cost_is_refused_before_any_work() -> None:
    sealed = bytearray(seal())
    sealed[5] = 40
    with pytest.raises(StorageError, match="cost refused"):
        unseal(bytes(sealed))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:20], "too short"),
        (lambda b: b"XXXX" + b[4:], "format"),
        (lambda b: b[:4] + b"\x09" + b[5:], "format"),
    ],
    ids=["truncated", "magic", "version"],
)
def test_a_damaged_blob_is_a_storage_error(damage: Callable[[bytes], bytes], message: str) -> None:
    with pytest.raises(StorageError, match=message):
        unseal(damage(seal()))


def test_sealing_refuses_an_empty_passphrase_and_bad_keys() -> None:
    with pytest.raises(InputError, match="empty passphrase"):
        seal(passphrase=b"")
    with pytest.raises(InputError, match="private key"):
        seal(key=b"")
    with pytest.raises(InputError, match="key version"):
        seal(key_version=0)


def test_cost_bounds() -> None:
    assert ScryptCost(17, 8, 1) == DEFAULT_COST
    assert DEFAULT_COST.problem() is None
    assert ScryptCost(9).problem() is not None
    assert ScryptCost(23).problem() is not None
    assert ScryptCost(20, 16).problem() is not None  # 128 * 2**20 * 16 bytes is 2 GiB.
    with pytest.raises(InputError, match="cost refused"):
        seal_private_key(KEY, b"x", node_id="a", dataset="b", key_version=1, cost=ScryptCost(5))
