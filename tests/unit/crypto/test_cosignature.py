"""C2SP tlog-cosignature: round trips, key encodings and mutations that must be refused."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.cosignature import (
    MAX_TIMESTAMP,
    CosignatureSigner,
    CosignatureVerifier,
    cosigned_message,
    verify_cosignatures,
)
from crypto.errors import InvalidEncoding, InvalidInput, InvalidSignature
from crypto.signed_note import (
    Checkpoint,
    Ed25519Signer,
    Ed25519Verifier,
    NoteSignature,
    open_checkpoint,
    parse_note,
    sign_checkpoint,
)

LOG = Ed25519Signer.from_seed("fr-dcpj", bytes(range(32)))
WITNESS = CosignatureSigner.from_seed("witness.interpol.int/gs", bytes(range(32, 64)))
OTHER_WITNESS = CosignatureSigner.from_seed("witness.example/other", bytes(range(64, 96)))
ROOT = hashlib.sha256(b"a root").digest()
CHECKPOINT = Checkpoint("fr-dcpj", 42, ROOT)
NOTE = sign_checkpoint(CHECKPOINT, LOG)
TIME = 1_740_000_000


def _replace_line(note: str, signer: CosignatureSigner, signature: bytes) -> str:
    """Return `note` with the cosignature line of `signer` carrying `signature` instead."""
    parsed = parse_note(note)
    lines = [
        NoteSignature(s.key_name, s.key_id, signature) if signer.verifier().matches(s) else s
        for s in parsed.signatures
    ]
    return parsed.text + "\n" + "".join(line.to_line() for line in lines)


def _cosignature_blob(note: str, signer: CosignatureSigner) -> bytes:
    [line] = [s for s in parse_note(note).signatures if signer.verifier().matches(s)]
    return line.signature


def test_cosign_appends_one_line_and_keeps_the_log_signature() -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    assert cosigned.startswith(NOTE)
    assert cosigned.count("\n— ") == 2
    # The log's verifier ignores the witness line (another key type, so another key ID) ...
    assert open_checkpoint(cosigned, LOG.verifier()) == CHECKPOINT
    # ... and the witness's verifier checks it and returns the time it signed at.
    assert WITNESS.verifier().verify(cosigned) == TIME


def test_signature_line_layout() -> None:
    blob = _cosignature_blob(WITNESS.cosign(NOTE, TIME), WITNESS)
    # tlog-cosignature: timestamped_signature = u64 big-endian timestamp || 64-byte signature.
    assert len(blob) == 72
    assert int.from_bytes(blob[:8], "big") == TIME
    public = WITNESS.verifier().public_key
    message = b"cosignature/v1\ntime 1740000000\n" + CHECKPOINT.to_body().encode()
    assert cosigned_message(CHECKPOINT.to_body(), TIME) == message
    Ed25519PublicKey.from_public_bytes(public).verify(blob[8:], message)


def test_key_id_differs_from_the_note_key_id_of_the_same_key() -> None:
    seed = bytes(range(32, 64))
    note_key = Ed25519Signer.from_seed(WITNESS.name, seed)
    assert note_key.key_id != WITNESS.key_id
    expected = hashlib.sha256(
        WITNESS.name.encode() + b"\n\x04" + WITNESS.verifier().public_key
    ).digest()[:4]
    assert WITNESS.key_id == int.from_bytes(expected, "big")


def test_cosigning_twice_replaces_the_witness_line() -> None:
    once = WITNESS.cosign(NOTE, TIME)
    twice = WITNESS.cosign(once, TIME + 60)
    assert twice.count("\n— ") == 2
    assert WITNESS.verifier().verify(twice) == TIME + 60


def test_two_witnesses_verify_independently() -> None:
    both = OTHER_WITNESS.cosign(WITNESS.cosign(NOTE, TIME), TIME + 1)
    found = verify_cosignatures(both, [WITNESS.verifier(), OTHER_WITNESS.verifier()])
    assert {(c.key_name, c.timestamp) for c in found} == {
        (WITNESS.name, TIME),
        (OTHER_WITNESS.name, TIME + 1),
    }
    assert verify_cosignatures(both, [WITNESS.verifier()]) == [found[0]]
    assert verify_cosignatures(NOTE, [WITNESS.verifier()]) == []


def test_extension_lines_are_signed() -> None:
    extended = sign_checkpoint(Checkpoint("fr-dcpj", 42, ROOT, ("epoch persons 7",)), LOG)
    cosigned = WITNESS.cosign(extended, TIME)
    assert WITNESS.verifier().verify(cosigned) == TIME
    altered = cosigned.replace("epoch persons 7", "epoch persons 8")
    with pytest.raises(InvalidSignature, match="invalid cosignature"):
        WITNESS.verifier().verify(altered)


# ---------------------------------------------------------------------------------------------
# Mutations.
# ---------------------------------------------------------------------------------------------


def test_wrong_key_is_ignored_and_then_no_cosignature_is_found() -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    with pytest.raises(InvalidSignature, match="no cosignature by witness"):
        OTHER_WITNESS.verifier().verify(cosigned)


def test_a_line_relabelled_with_the_witness_key_id_is_refused() -> None:
    # Another key of the same name signs; its line, relabelled with the witness's key ID, is
    # then "known" to the witness's verifier and must fail, which rejects the note.
    impostor = CosignatureSigner.from_seed(WITNESS.name, bytes(32))
    cosigned = impostor.cosign(NOTE, TIME)
    assert verify_cosignatures(cosigned, [WITNESS.verifier()]) == []
    relabelled = NoteSignature(WITNESS.name, WITNESS.key_id, _cosignature_blob(cosigned, impostor))
    with pytest.raises(InvalidSignature, match="invalid cosignature"):
        WITNESS.verifier().verify(NOTE + relabelled.to_line())


def test_wrong_time_is_refused() -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    blob = _cosignature_blob(cosigned, WITNESS)
    later = (TIME + 1).to_bytes(8, "big") + blob[8:]
    with pytest.raises(InvalidSignature, match="invalid cosignature"):
        WITNESS.verifier().verify(_replace_line(cosigned, WITNESS, later))


def test_time_beyond_two_to_the_63_is_refused() -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    blob = _cosignature_blob(cosigned, WITNESS)
    huge = (2**63).to_bytes(8, "big") + blob[8:]
    with pytest.raises(InvalidSignature, match="above 2\\*\\*63"):
        WITNESS.verifier().verify(_replace_line(cosigned, WITNESS, huge))


def test_altered_body_is_refused() -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    body = CHECKPOINT.to_body()
    other_root = base64.b64encode(hashlib.sha256(b"another root").digest()).decode()
    altered = cosigned.replace(body, f"fr-dcpj\n42\n{other_root}\n")
    with pytest.raises(InvalidSignature, match="invalid cosignature"):
        WITNESS.verifier().verify(altered)
    with pytest.raises(InvalidSignature, match="invalid cosignature"):
        WITNESS.verifier().verify(cosigned.replace("\n42\n", "\n43\n"))


@pytest.mark.parametrize("length", [0, 8, 71, 73])
def test_truncated_or_padded_signature_is_refused(length: int) -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    blob = (_cosignature_blob(cosigned, WITNESS) + b"\x00")[:length]
    if length == 0:
        # A line with a key ID and nothing after it is malformed as a note signature.
        line = NoteSignature(WITNESS.name, WITNESS.key_id, b"\x00").to_line()
        malformed = NOTE + line.replace(line.split(" ")[-1], "AAAAAA==\n")
        with pytest.raises(
            InvalidEncoding, match="expected a key ID and a signature, got 4 bytes in total"
        ):
            WITNESS.verifier().verify(malformed)
        return
    with pytest.raises(InvalidSignature, match="72-byte timestamped signature"):
        WITNESS.verifier().verify(_replace_line(cosigned, WITNESS, blob))


def test_flipped_bit_in_the_signature_is_refused() -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    blob = bytearray(_cosignature_blob(cosigned, WITNESS))
    blob[40] ^= 0x01
    with pytest.raises(InvalidSignature, match="invalid cosignature"):
        WITNESS.verifier().verify(_replace_line(cosigned, WITNESS, bytes(blob)))


def test_future_timestamps_can_be_refused() -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    assert WITNESS.verifier().verify(cosigned, not_after=TIME) == TIME
    with pytest.raises(InvalidSignature, match="after"):
        WITNESS.verifier().verify(cosigned, not_after=TIME - 1)


def test_a_witness_cosigns_checkpoints_only() -> None:
    with pytest.raises(InvalidInput, match="cosigns checkpoints only"):
        WITNESS.cosign(LOG.sign("not a checkpoint\n"), TIME)


@pytest.mark.parametrize("time", [-1, 2**63, True, 1.5])
def test_time_out_of_range_is_refused(time: object) -> None:
    with pytest.raises(InvalidInput, match="timestamp"):
        WITNESS.cosign(NOTE, time)  # type: ignore[arg-type]


def test_extreme_times_round_trip() -> None:
    for time in (0, MAX_TIMESTAMP):
        assert WITNESS.verifier().verify(WITNESS.cosign(NOTE, time)) == time


@settings(max_examples=25, deadline=None)
@given(time=st.integers(0, MAX_TIMESTAMP), size=st.integers(0, 2**64 - 1))
def test_any_time_and_size_round_trip(time: int, size: int) -> None:
    note = sign_checkpoint(Checkpoint("fr-dcpj", size, ROOT), LOG)
    assert WITNESS.verifier().verify(WITNESS.cosign(note, time)) == time


# ---------------------------------------------------------------------------------------------
# Keys.
# ---------------------------------------------------------------------------------------------


def test_vkey_and_signer_key_round_trip() -> None:
    vkey = WITNESS.verifier_key()
    assert vkey.startswith(f"{WITNESS.name}+{WITNESS.key_id:08x}+")
    assert CosignatureVerifier.from_verifier_key(vkey) == WITNESS.verifier()
    restored = CosignatureSigner.from_signer_key(WITNESS.signer_key())
    assert restored.verifier() == WITNESS.verifier()
    assert "PRIVATE" not in repr(WITNESS)


def test_a_log_note_key_is_not_a_witness_key() -> None:
    with pytest.raises(InvalidEncoding, match=r"signature type 0x04.*got 0x01"):
        CosignatureVerifier.from_verifier_key(LOG.verifier_key())
    # Nor the other way round: the note verifier refuses the 0x04 type.
    with pytest.raises(
        InvalidEncoding,
        match=r"expected 0x01 and a 32\-byte Ed25519 key in the verifier key, got 33 by",
    ):
        Ed25519Verifier.from_verifier_key(WITNESS.verifier_key())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda k: k.split("+", 1)[1], "of the form"),
        (lambda k: k.replace("+", "+0", 1), "8 lowercase hex"),
        (lambda k: k[:-1], "base64"),
        (lambda k: "other.name+" + k.split("+", 1)[1], "does not match"),
        (lambda k: "bad name+" + k.split("+", 1)[1], "key name"),
    ],
)
def test_malformed_vkeys_are_refused(mutate: object, message: str) -> None:
    assert callable(mutate)
    with pytest.raises(InvalidEncoding, match=message):
        CosignatureVerifier.from_verifier_key(mutate(WITNESS.verifier_key()))


def test_short_key_material_is_refused() -> None:
    name, key_id, _ = WITNESS.verifier_key().split("+", 2)
    short = base64.b64encode(b"\x04" + bytes(31)).decode()
    with pytest.raises(InvalidEncoding, match="32-byte Ed25519 key"):
        CosignatureVerifier.from_verifier_key(f"{name}+{key_id}+{short}")


def test_signer_key_with_a_wrong_id_is_refused() -> None:
    key = WITNESS.signer_key()
    prefix, name, key_id, blob = key.rsplit("+", 3)
    wrong = f"{prefix}+{name}+{int(key_id, 16) ^ 1:08x}+{blob}"
    with pytest.raises(InvalidEncoding, match="does not match"):
        CosignatureSigner.from_signer_key(wrong)
    with pytest.raises(InvalidEncoding, match="PRIVATE"):
        CosignatureSigner.from_signer_key(WITNESS.verifier_key())


def test_the_same_witness_key_given_twice_counts_once() -> None:
    cosigned = WITNESS.cosign(NOTE, TIME)
    found = verify_cosignatures(cosigned, [WITNESS.verifier(), WITNESS.verifier()])
    assert [c.timestamp for c in found] == [TIME]
