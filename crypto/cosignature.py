"""Witness cosignatures of log checkpoints (c2sp.org/tlog-cosignature, Ed25519 `cosignature/v1`).

A cosignature is a witness's statement that it verified a checkpoint to be consistent with every
checkpoint of the same log it saw before. Concretely it is one more signature line on the
checkpoint's signed note (c2sp.org/signed-note), so a cosigned checkpoint is still a checkpoint
and any verifier that does not know the witness simply ignores the line (signed-note,
"Signatures").

What this module implements, all from tlog-cosignature, "Format" and "Ed25519 signed message":

- The key ID is `SHA-256(<name> || 0x0A || 0x04 || 32-byte public key)[:4]`: the signature
  type byte 0x04 (not the 0x01 of plain Ed25519 note signatures) keeps a cosignature from ever
  being taken for the log's own signature, and the other way round.
- The signature line is `— <witness name> base64(key ID || timestamp || signature)`, the
  `timestamped_signature` structure: an 8-byte big-endian POSIX timestamp in seconds (at most
  2**63 - 1) followed by the 64-byte Ed25519 signature (RFC 8032).
- The signed message is `cosignature/v1\\n`, `time <decimal timestamp, no leading zeros>\\n`,
  then the whole checkpoint text, extension lines and final newline included, signature lines
  excluded.
- Verifier keys ("vkeys", signed-note "Verifier keys") are `<name>+<8 hex key ID>+<base64(0x04
  || public key)>`, and signer keys `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x04 || seed)>`,
  as for Ed25519 note keys with the cosignature type byte.

Semantics, tlog-cosignature "Ed25519 signed message": a cosignature of time T says that, as of
T, the consistent checkpoint with the largest size the witness saw for the origin has this root
hash. The message does not commit to the witness name, so one key must serve one witness only.

Time is an argument, never read from a clock here, so that signing is deterministic (Ed25519 is)
and testable against known answers. Malformed notes and keys raise `InvalidEncoding`; a
cosignature by a known witness key that does not verify, or a note without one, raises
`InvalidSignature`; bad arguments from local callers raise `InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature

from crypto.errors import CryptoError, InvalidEncoding, InvalidInput, InvalidSignature
from crypto.signed_note import (
    MAX_SIGNATURES,
    Checkpoint,
    Note,
    NoteSignature,
    _decode_key_fields,
    _key_id,
    _NoteKeySigner,
    _NoteKeyVerifier,
    is_valid_key_name,
    parse_note,
)

__all__ = [
    "COSIGNATURE_SIGNATURE_TYPE",
    "COSIGNATURE_V1_HEADER",
    "MAX_TIMESTAMP",
    "Cosignature",
    "CosignatureSigner",
    "CosignatureVerifier",
    "cosignature_key_id",
    "cosigned_message",
    "verify_cosignatures",
]

COSIGNATURE_SIGNATURE_TYPE: Final = 0x04
"""tlog-cosignature, "Format": the signature type byte of Ed25519 cosignatures."""
COSIGNATURE_V1_HEADER: Final = "cosignature/v1\n"
"""tlog-cosignature, "Ed25519 signed message": the header line, for domain separation."""
MAX_TIMESTAMP: Final = 2**63 - 1
"""tlog-cosignature, "Format": a timestamp MUST NOT exceed 2**63 - 1."""

_TIMESTAMP_SIZE: Final = 8
_ED25519_KEY_SIZE: Final = 32
_ED25519_SIGNATURE_SIZE: Final = 64
_SIGNATURE_SIZE: Final = _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise InvalidInput(f"expected a POSIX timestamp in whole seconds, got {timestamp!r}")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InvalidInput(f"expected a timestamp in [0, 2**63 - 1], got {timestamp}")


def cosignature_key_id(name: str, public_key: bytes) -> int:
    """Return `SHA-256(name || 0x0A || 0x04 || public key)[:4]` as a big-endian uint32.

    tlog-cosignature, "Format".
    """
    if not is_valid_key_name(name):
        raise InvalidInput(f"expected a key name without spaces or '+', got {name!r}")
    return _key_id(name, COSIGNATURE_SIGNATURE_TYPE, public_key)


def cosigned_message(text: str, timestamp: int) -> bytes:
    """Return the message a `cosignature/v1` signs: header, time line, then the checkpoint text.

    tlog-cosignature, "Ed25519 signed message". `text` is the note text, final newline included.
    """
    _check_timestamp(timestamp)
    if not text.endswith("\n"):
        raise InvalidInput("expected a checkpoint text ending in a newline")
    return f"{COSIGNATURE_V1_HEADER}time {timestamp}\n{text}".encode()


def _split_key(encoded: str, what: str) -> tuple[str, int, bytes]:
    """Split `<name>+<hex key ID>+<base64(0x04 || key)>` into its checked parts."""
    parts = encoded.split("+", 2)
    if len(parts) != 3:
        raise InvalidEncoding(f"expected a {what} of the form <name>+<key ID>+<key>")
    name, hex_id, key64 = parts
    key_id, key = _decode_key_fields(name, hex_id, key64, what)
    if not key:
        raise InvalidEncoding(f"expected a signature type and a key in the {what}")
    if key[0] != COSIGNATURE_SIGNATURE_TYPE:
        raise InvalidEncoding(
            f"expected signature type 0x04 (Ed25519 cosignature/v1) in the {what}, got "
            f"0x{key[0]:02x}" + (" (a log's note key)" if key[0] == 0x01 else "")
        )
    if len(key) != 1 + _ED25519_KEY_SIZE:
        raise InvalidEncoding(
            f"expected a {_ED25519_KEY_SIZE}-byte Ed25519 key in the {what}, got "
            f"{len(key) - 1} bytes"
        )
    return name, key_id, key[1:]


@dataclass(frozen=True, slots=True)
class Cosignature:
    """One verified cosignature: the witness's key name and ID, and the time it signed at."""

    key_name: str
    key_id: int
    timestamp: int

    @property
    def key(self) -> str:
        """The witness named as in reports: `<name>+<8 hex key ID>`."""
        return f"{self.key_name}+{self.key_id:08x}"


class CosignatureVerifier(_NoteKeyVerifier):
    """A witness's Ed25519 public key with its name: checks `cosignature/v1` lines of a note.

    Its verifier key ("vkey") is `<name>+<8 hex key ID>+<base64(0x04 || public key)>`.
    """

    __slots__ = ()

    _SIGNATURE_TYPE = COSIGNATURE_SIGNATURE_TYPE
    _VERIFIER_KEY = "witness verifier key"
    _split_key = staticmethod(_split_key)

    @property
    def key(self) -> str:
        """The witness named as in reports: `<name>+<8 hex key ID>`."""
        return f"{self._name}+{self._key_id:08x}"

    def matches(self, signature: NoteSignature) -> bool:
        """Return whether `signature` is a line by this key (same name and key ID)."""
        return signature.key_name == self._name and signature.key_id == self._key_id

    def verify_signature(self, text: str, signature: NoteSignature) -> int:
        """Check one signature line by this key over the note text `text`; return its time.

        Raises:
            InvalidSignature: the line names another key, is not 8 + 64 bytes after the key
                ID, has a timestamp above 2**63 - 1, or does not verify.
        """
        if not self.matches(signature):
            raise InvalidSignature(
                f"expected a cosignature by {self.key}, got a signature by "
                f"{signature.key_name}+{signature.key_id:08x}"
            )
        blob = signature.signature
        if len(blob) != _SIGNATURE_SIZE:
            raise InvalidSignature(
                f"expected a {_SIGNATURE_SIZE}-byte timestamped signature by {self.key}, got "
                f"{len(blob)} bytes"
            )
        timestamp = int.from_bytes(blob[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            raise InvalidSignature(f"cosignature by {self.key} has a timestamp above 2**63 - 1")
        try:
            self._key.verify(blob[_TIMESTAMP_SIZE:], cosigned_message(text, timestamp))
        except _CryptographyInvalidSignature as exc:
            raise InvalidSignature(f"invalid cosignature by {self.key}") from exc
        except InvalidInput as exc:
            raise InvalidSignature(f"cosignature by {self.key} over an invalid text") from exc
        return timestamp

    def verify(self, note: str | bytes, *, not_after: int | None = None) -> int:
        """Verify this witness's cosignature of `note`; return its timestamp.

        Every line by this key must verify (signed-note, "Signatures": a failing signature by a
        known key rejects the note); with several, the latest timestamp is returned. With
        `not_after`, a timestamp beyond it is refused (tlog-cosignature: verifiers MAY reject
        timestamps in the future). The log's own signature is not checked here: open the note
        with the log's key as well.

        Raises:
            InvalidEncoding: the note is malformed.
            InvalidSignature: no line by this key, or one that does not verify or is too late.
        """
        parsed = parse_note(note)
        found = [sig for sig in parsed.signatures if self.matches(sig)]
        if not found:
            raise InvalidSignature(f"note has no cosignature by witness {self.key}")
        timestamp = max(self.verify_signature(parsed.text, sig) for sig in found)
        if not_after is not None and timestamp > not_after:
            raise InvalidSignature(
                f"cosignature by {self.key} is dated {timestamp}, after {not_after}"
            )
        return timestamp


class CosignatureSigner(_NoteKeySigner[CosignatureVerifier]):
    """A witness's Ed25519 private key with its name: adds `cosignature/v1` lines to checkpoints.

    It signs what it is given: a witness opens the note with the log's key and checks
    consistency first (`federation.witness`), then cosigns. Its signer key is
    `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x04 || seed)>`.
    """

    __slots__ = ()

    _VERIFIER = CosignatureVerifier
    _SIGNER_KEY = "witness signer key"

    def signature(self, text: str, time: int) -> NoteSignature:
        """Return this witness's cosignature line of the checkpoint text `text` at `time`.

        Raises:
            InvalidInput: `text` is not a checkpoint text, or `time` is not in [0, 2**63 - 1].
        """
        # A cosignature is a statement about a log's tree (tlog-cosignature, "Format"), so a
        # witness key never signs a text that is not a checkpoint.
        try:
            Checkpoint.from_body(text)
        except CryptoError as exc:
            raise InvalidInput(f"a witness cosigns checkpoints only: {exc}") from exc
        message = cosigned_message(text, time)
        blob = time.to_bytes(_TIMESTAMP_SIZE, "big") + self._key.sign(message)
        return NoteSignature(self.name, self.key_id, blob)

    def cosign(self, checkpoint_note: str | bytes, time: int) -> str:
        """Return `checkpoint_note` with this witness's cosignature at `time` appended.

        The existing signature lines are kept in order, except an earlier cosignature by this
        same key, which the new one replaces (one line per witness key is what clients expect).

        Raises:
            InvalidEncoding: the note is malformed.
            InvalidInput: its text is not a checkpoint, `time` is out of range, or the note
                would hold more than `MAX_SIGNATURES` signatures.
        """
        parsed = parse_note(checkpoint_note)
        new = self.signature(parsed.text, time)
        kept = [sig for sig in parsed.signatures if not self._verifier.matches(sig)]
        if len(kept) + 1 > MAX_SIGNATURES:
            raise InvalidInput(f"a note holds at most {MAX_SIGNATURES} signatures")
        return Note(parsed.text, (*kept, new)).to_str()


def verify_cosignatures(
    note: str | bytes, verifiers: Iterable[CosignatureVerifier]
) -> list[Cosignature]:
    """Verify the cosignatures of `note` by the known witnesses `verifiers`.

    Returns one `Cosignature` per known witness that cosigned (none is an empty list: whether
    that is acceptable is the caller's policy). Lines by unknown keys are ignored, lines by a
    known key must verify. The log's own signature is not checked here.

    Raises:
        InvalidEncoding: the note is malformed.
        InvalidSignature: a cosignature by a known witness does not verify.
        InvalidInput: two different verifiers share a name and key ID.
    """
    known: dict[tuple[str, int], CosignatureVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if known.setdefault(slot, verifier) != verifier:
            raise InvalidInput(f"ambiguous witness keys: two keys named {verifier.key}")
    parsed = parse_note(note)
    times: dict[tuple[str, int], int] = {}
    for signature in parsed.signatures:
        slot = (signature.key_name, signature.key_id)
        witness = known.get(slot)
        if witness is None:
            continue
        timestamp = witness.verify_signature(parsed.text, signature)
        times[slot] = max(timestamp, times.get(slot, timestamp))
    return [Cosignature(name, key_id, timestamp) for (name, key_id), timestamp in times.items()]
