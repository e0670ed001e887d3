"""Receipts: offline-verifiable proof, for a counterpart, that its request is in this node's log.

A receipt is a C2SP transparency-log proof (c2sp.org/tlog-proof, version `@v1`):

```
c2sp.org/tlog-proof@v1
extra <base64 of the canonical entry>
index <entry index>
<base64 inclusion-proof hash, one per line, the leaf's sibling first>
<empty line>
<signed checkpoint note, verbatim>
```

The `extra` line carries the entry itself, so the receipt holds the entry index, the entry and
therefore its leaf hash `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1), the inclusion proof
`PATH(index, D[size])` (§2.1.3.1) and a checkpoint signed by the log. tlog-proof says extra data
is not authenticated; here it is authenticated by hashing it into the leaf and verifying the
inclusion proof against the signed root, which `verify_receipt` does before returning anything.

The entry is the owner's record of the counterpart's own request (its officer, purpose, legal
basis, case reference, element count and request digest, and the owner's decision), so handing
it to that counterpart discloses nothing it did not already hold; the counterpart checks that the
owner logged what it asked, and an auditor later checks the receipt against the owner's export.

Several receipts may be concatenated in one file: each starts with the header line.

Consistency proofs (RFC 9162 §2.1.4) have no C2SP text format; `ConsistencyProof` writes them in
the same spirit, with their own header so that neither can be mistaken for the other:

```
blindhit/consistency-proof@v1
old <old tree size>
new <new tree size>
<base64 proof hash, one per line>
<empty line>
<signed checkpoint note of the new size, verbatim>
```
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from crypto import merkle
from crypto.errors import InputError, InvalidEncoding, InvalidProof
from crypto.merkle import LeafHash
from crypto.signed_note import Checkpoint, Ed25519Verifier, open_checkpoint
from node.audit.checkpoints import CheckpointIssuer
from node.audit.entries import AuditEntry, decode_entry
from node.audit.store import AuditLog

__all__ = [
    "CONSISTENCY_PROOF_HEADER",
    "RECEIPT_HEADER",
    "ConsistencyProof",
    "Receipt",
    "VerifiedReceipt",
    "issue_receipt",
    "parse_receipts",
    "receipts_text",
    "verify_receipt",
]

RECEIPT_HEADER: Final = "c2sp.org/tlog-proof@v1"
"""The first line of a receipt (tlog-proof, "Format")."""

CONSISTENCY_PROOF_HEADER: Final = "blindhit/consistency-proof@v1"
"""The first line of a consistency proof written by this module."""

_HEADER_LINE: Final = re.compile(r"^" + re.escape(RECEIPT_HEADER) + r"\n", re.MULTILINE)
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,19}")
# An inclusion proof in a tree of at most 2**64 leaves has at most 64 hashes.
_MAX_PROOF_HASHES: Final = 64


def _b64decode(value: str, what: str) -> bytes:
    """Decode standard padded base64 (RFC 4648 §4), refusing any other spelling."""
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidEncoding(f"expected base64 {what}, got {value[:60]!r}") from exc
    if base64.b64encode(decoded).decode("ascii") != value:
        raise InvalidEncoding(f"expected canonical base64 {what}, got {value[:60]!r}")
    return decoded


@dataclass(frozen=True, slots=True)
class Receipt:
    """A receipt as written; nothing in it is trusted until `verify_receipt` checks it."""

    index: int
    entry: bytes
    proof: tuple[bytes, ...]
    checkpoint_note: str

    @property
    def leaf_hash(self) -> LeafHash:
        """The leaf hash of the receipt's entry, `SHA-256(0x00 || entry)`."""
        return merkle.leaf_hash(self.entry)

    def to_text(self) -> str:
        """Return the receipt in the tlog-proof@v1 text format."""
        lines = [
            RECEIPT_HEADER,
            "extra " + base64.b64encode(self.entry).decode("ascii"),
            f"index {self.index}",
            *(base64.b64encode(value).decode("ascii") for value in self.proof),
        ]
        return "\n".join(lines) + "\n\n" + self.checkpoint_note

    @classmethod
    def from_text(cls, text: str) -> Receipt:
        """Parse one receipt without verifying it.

        Raises:
            InvalidEncoding: the text is not a tlog-proof@v1 with an entry as extra data.
        """
        header, separator, rest = text.partition("\n")
        if header != RECEIPT_HEADER or not separator:
            raise InvalidEncoding(f"expected a receipt starting with {RECEIPT_HEADER!r}")
        head, separator, note = rest.partition("\n\n")
        if not separator:
            raise InvalidEncoding("expected an empty line between the proof and the checkpoint")
        lines = head.split("\n")
        if len(lines) < 2 or not lines[0].startswith("extra "):
            raise InvalidEncoding("expected the receipt's entry on an 'extra' line")
        entry = _b64decode(lines[0].removeprefix("extra "), "entry")
        index_line = lines[1]
        if not index_line.startswith("index ") or not _DECIMAL.fullmatch(index_line[6:]):
            raise InvalidEncoding(f"expected 'index <decimal>', got {index_line[:40]!r}")
        hash_lines = lines[2:]
        if len(hash_lines) > _MAX_PROOF_HASHES:
            raise InvalidEncoding(f"expected at most {_MAX_PROOF_HASHES} proof hashes")
        proof = tuple(_b64decode(line, "proof hash") for line in hash_lines)
        return cls(int(index_line[6:]), entry, proof, note)


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """A receipt whose checkpoint signature and inclusion proof verified."""

    index: int
    entry: AuditEntry
    leaf_hash: LeafHash
    checkpoint: Checkpoint


def parse_receipts(text: str) -> list[Receipt]:
    """Parse one or more concatenated receipts.

    Raises:
        InvalidEncoding: no receipt, or one that does not parse.
    """
    starts = [match.start() for match in _HEADER_LINE.finditer(text)]
    if not starts or text[: starts[0]].strip():
        raise InvalidEncoding(f"expected receipts starting with {RECEIPT_HEADER!r}")
    bounds = [*starts, len(text)]
    return [Receipt.from_text(text[bounds[i] : bounds[i + 1]]) for i in range(len(starts))]


def issue_receipt(log: AuditLog, issuer: CheckpointIssuer, index: int) -> Receipt:
    """Return a receipt for entry `index` under the latest checkpoint (signing one if needed).

    Raises:
        InputError: the entry is not in the log.
    """
    if not 0 <= index < log.size:
        raise InputError(f"expected an entry index in [0, {log.size}), got {index}")
    signed = issuer.covering(index)
    proof = log.inclusion_proof(index, signed.size)
    return Receipt(index, log.entry_bytes(index), tuple(proof), signed.note)


def verify_receipt(
    receipt: Receipt, verifier: Ed25519Verifier, *, origin: str | None = None
) -> VerifiedReceipt:
    """Verify a receipt offline with the log's public key and return what it proves.

    Raises:
        InvalidEncoding: the checkpoint or the entry is malformed.
        InvalidSignature: the log's key did not sign the checkpoint, or it is another log's.
        InvalidProof: the inclusion proof does not lead to the signed root.
    """
    checkpoint = open_checkpoint(receipt.checkpoint_note, verifier, origin=origin)
    try:
        entry = decode_entry(receipt.entry)
    except InputError as exc:
        raise InvalidEncoding(f"receipt for entry {receipt.index}: {exc}") from exc
    leaf = receipt.leaf_hash
    merkle.verify_inclusion(
        leaf, receipt.index, checkpoint.size, receipt.proof, checkpoint.root_hash
    )
    return VerifiedReceipt(receipt.index, entry, leaf, checkpoint)


def receipts_text(receipts: Sequence[Receipt]) -> str:
    """Return several receipts concatenated, as `parse_receipts` reads them."""
    return "".join(receipt.to_text() for receipt in receipts)


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """`PROOF(old_size, D[new_size])` (RFC 9162 §2.1.4.1) and the checkpoint of the new size."""

    old_size: int
    new_size: int
    proof: tuple[bytes, ...]
    checkpoint_note: str

    def to_text(self) -> str:
        """Return the proof in the text format of the module docstring."""
        lines = [
            CONSISTENCY_PROOF_HEADER,
            f"old {self.old_size}",
            f"new {self.new_size}",
            *(base64.b64encode(value).decode("ascii") for value in self.proof),
        ]
        return "\n".join(lines) + "\n\n" + self.checkpoint_note

    @classmethod
    def from_text(cls, text: str) -> ConsistencyProof:
        """Parse a consistency proof without verifying it.

        Raises:
            InvalidEncoding: the text is not in the format of the module docstring.
        """
        head, separator, note = text.partition("\n\n")
        lines = head.split("\n")
        if not separator or len(lines) < 3 or lines[0] != CONSISTENCY_PROOF_HEADER:
            raise InvalidEncoding(
                f"expected a consistency proof starting with {CONSISTENCY_PROOF_HEADER!r}, "
                "then 'old <size>', 'new <size>', the hashes, an empty line and a checkpoint"
            )
        sizes: list[int] = []
        for line, word in ((lines[1], "old "), (lines[2], "new ")):
            if not line.startswith(word) or not _DECIMAL.fullmatch(line[len(word) :]):
                raise InvalidEncoding(f"expected '{word}<decimal>', got {line[:40]!r}")
            sizes.append(int(line[len(word) :]))
        if len(lines) - 3 > 2 * _MAX_PROOF_HASHES:
            raise InvalidEncoding(f"expected at most {2 * _MAX_PROOF_HASHES} proof hashes")
        proof = tuple(_b64decode(line, "proof hash") for line in lines[3:])
        return cls(sizes[0], sizes[1], proof, note)

    def verify(self, old_root: bytes, verifier: Ed25519Verifier) -> Checkpoint:
        """Check the proof from the tree (`old_size`, `old_root`) to its signed new checkpoint.

        Returns the verified checkpoint of the new size.

        Raises:
            InvalidEncoding, InvalidSignature: the checkpoint is malformed or not signed.
            InvalidProof: the checkpoint's size is not `new_size`, or the proof does not verify.
        """
        checkpoint = open_checkpoint(self.checkpoint_note, verifier)
        if checkpoint.size != self.new_size:
            raise InvalidProof(
                f"consistency proof to size {self.new_size} comes with a checkpoint of size "
                f"{checkpoint.size}"
            )
        merkle.verify_consistency(
            self.old_size, self.new_size, old_root, checkpoint.root_hash, self.proof
        )
        return checkpoint
