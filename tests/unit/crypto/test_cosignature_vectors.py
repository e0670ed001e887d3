"""C2SP tlog-cosignature (Ed25519 `cosignature/v1`): known answers published by others."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from crypto.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    cosignature_key_id,
    cosigned_message,
    verify_cosignatures,
)
from crypto.errors import InvalidSignature
from crypto.signed_note import NoteSignature, parse_note

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "c2sp" / "cosignature_vectors.json").read_text("utf-8")
)
SIGSUM = VECTORS["sigsum_go_cosignature"]
SPEC = VECTORS["c2sp_spec_example"]

SIGSUM_SIGNER = CosignatureSigner.from_seed(
    SIGSUM["witness_key_name"], bytes.fromhex(SIGSUM["witness_seed_hex"])
)
SIGSUM_TEXT: str = SIGSUM["checkpoint_text"]
SIGSUM_LINE: str = SIGSUM["cosignature_line"]


def _note(*lines: str) -> str:
    """The sigsum checkpoint text followed by the given signature lines (no log signature)."""
    return SIGSUM_TEXT + "\n" + "".join(lines)


def test_sigsum_key_id_uses_the_cosignature_type_byte() -> None:
    verifier = SIGSUM_SIGNER.verifier()
    assert f"{verifier.key_id:08x}" == SIGSUM["key_id"]
    assert cosignature_key_id(SIGSUM["witness_key_name"], verifier.public_key) == verifier.key_id


def test_sigsum_cosignature_is_reproduced_byte_for_byte() -> None:
    # Ed25519 is deterministic, so signing the same checkpoint at the same time gives the
    # published line exactly.
    signature = SIGSUM_SIGNER.signature(SIGSUM_TEXT, SIGSUM["timestamp"])
    assert signature.to_line() == SIGSUM_LINE


def test_sigsum_cosignature_verifies_and_yields_its_time() -> None:
    verifier = SIGSUM_SIGNER.verifier()
    assert verifier.verify(_note(SIGSUM_LINE)) == SIGSUM["timestamp"]
    [cosignature] = verify_cosignatures(_note(SIGSUM_LINE), [verifier])
    assert cosignature.timestamp == SIGSUM["timestamp"]
    assert cosignature.key == f"{SIGSUM['witness_key_name']}+{SIGSUM['key_id']}"


def test_sigsum_lines_of_other_keys_are_ignored() -> None:
    # Another key ID or another name is another key (signed-note, "Signatures").
    verifier = SIGSUM_SIGNER.verifier()
    note = _note(SIGSUM["other_key_id_line"], SIGSUM_LINE, SIGSUM["other_name_line"])
    assert verifier.verify(note) == SIGSUM["timestamp"]
    alone = _note(SIGSUM["other_key_id_line"], SIGSUM["other_name_line"])
    assert verify_cosignatures(alone, [verifier]) == []
    with pytest.raises(InvalidSignature, match="no cosignature by witness"):
        verifier.verify(alone)


def test_sigsum_line_of_the_wrong_length_rejects_the_note() -> None:
    # sigsum-go skips this line; signed-note says a signature by a known key (same name and key
    # ID) that fails to verify rejects the note, which is what blindhit follows.
    note = _note(SIGSUM_LINE, SIGSUM["wrong_size_line"])
    with pytest.raises(InvalidSignature, match="72-byte timestamped signature"):
        SIGSUM_SIGNER.verifier().verify(note)


def test_spec_example_line_carries_its_key_id_and_time() -> None:
    parsed = parse_note(SPEC["note"])
    [cosignature] = [s for s in parsed.signatures if s.key_name == SPEC["witness_key_name"]]
    assert f"{cosignature.key_id:08x}" == SPEC["key_id"]
    assert len(cosignature.signature) == 8 + 64
    timestamp = int.from_bytes(cosignature.signature[:8], "big")
    assert timestamp == SPEC["timestamp"]
    expected = SPEC["signed_message"].encode("utf-8")
    assert cosigned_message(parsed.text, timestamp) == expected


def test_spec_example_is_refused_under_an_unrelated_key() -> None:
    # The spec does not publish the witness key; a key of the same name cannot verify it.
    stranger = CosignatureSigner.from_seed(SPEC["witness_key_name"], bytes(32)).verifier()
    line = parse_note(SPEC["note"]).signatures[1]
    forged = NoteSignature(line.key_name, stranger.key_id, line.signature)
    with pytest.raises(InvalidSignature, match="invalid cosignature"):
        stranger.verify_signature(parse_note(SPEC["note"]).text, forged)


def test_vkey_round_trip_of_the_sigsum_key() -> None:
    vkey = SIGSUM_SIGNER.verifier_key()
    name, key_id, blob = vkey.split("+", 2)
    assert (name, key_id) == (SIGSUM["witness_key_name"], SIGSUM["key_id"])
    assert base64.b64decode(blob)[0] == 0x04
    assert CosignatureVerifier.from_verifier_key(vkey) == SIGSUM_SIGNER.verifier()
