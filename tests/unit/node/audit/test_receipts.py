"""Receipts (C2SP tlog-proof) and consistency proofs: written, parsed, verified, mutated."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto import merkle
from crypto.errors import CryptoError, InputError, InvalidEncoding, InvalidProof, InvalidSignature
from crypto.signed_note import Ed25519Signer
from node.audit.checkpoints import CheckpointIssuer
from node.audit.entries import AuditEntry, Decision, EntryKind, digest_request, encode_entry
from node.audit.receipts import (
    ConsistencyProof,
    Receipt,
    issue_receipt,
    parse_receipts,
    receipts_text,
    verify_receipt,
)
from node.audit.store import AuditLog

ORIGIN = "fr-dcpj"
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def check_from(counterpart: str, number: int) -> AuditEntry:
    return AuditEntry(
        kind=EntryKind.CHECK_RECEIVED,
        time=T0,
        node=ORIGIN,
        counterpart=counterpart,
        dataset="persons",
        element_count=4,
        legal_basis="EU-2016/680:Art.8",
        request_digest=digest_request(f"{counterpart}/{number}".encode()),
        decision=Decision.ANSWERED,
    )


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.from_seed(ORIGIN, bytes(32))


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "node.db") as opened:
        opened.append_many([check_from("de.bka", i) for i in range(21)])
        yield opened


def test_receipt_verifies_offline(log: AuditLog, signer: Ed25519Signer) -> None:
    issuer = CheckpointIssuer(log, signer)
    receipt = issue_receipt(log, issuer, 13)
    assert receipt.index == 13
    assert receipt.leaf_hash == merkle.leaf_hash(encode_entry(check_from("de.bka", 13)))
    text = receipt.to_text()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 13\n" in text
    verified = verify_receipt(Receipt.from_text(text), signer.verifier())
    assert verified.entry == check_from("de.bka", 13)
    assert verified.checkpoint.size == 21
    assert verified.leaf_hash == receipt.leaf_hash


def test_receipt_for_every_index_and_a_tree_of_one(tmp_path: Path, signer: Ed25519Signer) -> None:
    with AuditLog(tmp_path / "one.db") as log:
        log.append(check_from("de.bka", 0))
        issuer = CheckpointIssuer(log, signer)
        receipt = issue_receipt(log, issuer, 0)
        assert receipt.proof == ()
        verify_receipt(Receipt.from_text(receipt.to_text()), signer.verifier())
        log.append_many([check_from("de.bka", i) for i in range(1, 9)])
        for index in range(9):
            verify_receipt(issue_receipt(log, issuer, index), signer.verifier())
        with pytest.raises(InputError, match=r"expected an entry index in \[0, 9\), got 9"):
            issue_receipt(log, issuer, 9)


def test_several_receipts_in_one_file(log: AuditLog, signer: Ed25519Signer) -> None:
    issuer = CheckpointIssuer(log, signer)
    receipts = [issue_receipt(log, issuer, index) for index in (0, 7, 20)]
    parsed = parse_receipts(receipts_text(receipts))
    assert parsed == receipts


def _mutated(receipt: Receipt, mutation: str) -> Receipt:
    index, entry, proof, note = (
        receipt.index,
        receipt.entry,
        receipt.proof,
        receipt.checkpoint_note,
    )
    if mutation == "flipped proof hash":
        proof = (bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:])
    elif mutation == "shorter proof":
        proof = proof[:-1]
    elif mutation == "longer proof":
        proof = (*proof, bytes(32))
    elif mutation == "wrong index":
        index += 1
    elif mutation == "other entry":
        entry = encode_entry(check_from("de.bka", 999))
    elif mutation == "altered checkpoint":
        note = note.replace("\n21\n", "\n22\n")
    return Receipt(index, entry, proof, note)


@pytest.mark.parametrize(
    "mutation",
    [
        "flipped proof hash",
        "shorter proof",
        "longer proof",
        "wrong index",
        "other entry",
        "altered checkpoint",
    ],
)
def test_mutated_receipts_are_refused(log: AuditLog, signer: Ed25519Signer, mutation: str) -> None:
    receipt = issue_receipt(log, CheckpointIssuer(log, signer), 6)
    mutated = _mutated(receipt, mutation)
    assert mutated != receipt
    with pytest.raises(CryptoError):
        verify_receipt(mutated, signer.verifier())


def test_receipt_under_another_key_is_refused(log: AuditLog, signer: Ed25519Signer) -> None:
    receipt = issue_receipt(log, CheckpointIssuer(log, signer), 6)
    with pytest.raises(
        InvalidSignature,
        match="note has no valid signature by a known key",
    ):
        verify_receipt(receipt, Ed25519Signer.generate(ORIGIN).verifier())


def test_receipt_with_malformed_entry_is_refused(log: AuditLog, signer: Ed25519Signer) -> None:
    receipt = issue_receipt(log, CheckpointIssuer(log, signer), 6)
    broken = Receipt(6, receipt.entry + b" ", receipt.proof, receipt.checkpoint_note)
    with pytest.raises(
        InvalidEncoding, match="receipt for entry 6: entry is not in canonical encoding"
    ):
        verify_receipt(broken, signer.verifier())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "c2sp.org/tlog-proof@v2\nindex 1\n\nnote\n",
        "c2sp.org/tlog-proof@v1\nindex 1\n\nnote\n",  # No entry: nothing to hash.
        "c2sp.org/tlog-proof@v1\nextra AQ==\nindex 01\n\nnote\n",
        "c2sp.org/tlog-proof@v1\nextra AQ==\nindex 1\nnot base64!\n\nnote\n",
        "c2sp.org/tlog-proof@v1\nextra AQ=\nindex 1\n\nnote\n",
        "c2sp.org/tlog-proof@v1\nextra AQ==\nindex 1\n",
        "garbage\nc2sp.org/tlog-proof@v1\nextra AQ==\nindex 1\n\nnote\n",
    ],
)
def test_malformed_receipt_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidEncoding):
        parse_receipts(text)


def test_consistency_proof_text_round_trips_and_verifies(
    log: AuditLog, signer: Ed25519Signer
) -> None:
    issuer = CheckpointIssuer(log, signer)
    old_root = log.root_hash(5)
    signed = issuer.issue()
    proof = ConsistencyProof(5, 21, tuple(log.consistency_proof(5, 21)), signed.note)
    parsed = ConsistencyProof.from_text(proof.to_text())
    assert parsed == proof
    assert parsed.verify(old_root, signer.verifier()).size == 21
    with pytest.raises(InvalidProof, match="consistency proof from size 5 to 21 leads to old root"):
        parsed.verify(log.root_hash(6), signer.verifier())
    wrong_size = ConsistencyProof(5, 20, proof.proof, signed.note)
    with pytest.raises(
        InvalidProof, match="consistency proof to size 20 comes with a checkpoint of size 21"
    ):
        wrong_size.verify(old_root, signer.verifier())
    hashes = "\n".join(base64.b64encode(h).decode() for h in proof.proof)
    with pytest.raises(
        InvalidEncoding,
        match="expected 'new <decimal>', got '",
    ):
        ConsistencyProof.from_text(f"blindhit/consistency-proof@v1\nold 5\n{hashes}\n\nx\n")
