"""Signed notes (c2sp.org/signed-note) with Ed25519, and log checkpoints (c2sp.org/tlog-checkpoint).

A signed note is a UTF-8 text ending in a newline, a blank line, and one or more signature lines
`— <key name> <base64(key ID || signature)>`. Audit-log checkpoints are signed notes whose text is
`<origin>\\n<tree size>\\n<base64 root hash>\\n` followed by optional extension lines; witnesses
add their own signature lines to the same note later.

Invariants kept here:

- A note is valid UTF-8 without ASCII control characters other than newline; its text is
  non-empty and ends in a newline; the text is separated from the signatures by the *last* blank
  line (signed-note, "Format").
- Key names are non-empty and contain neither Unicode spaces nor `+`.
- An Ed25519 key ID is `SHA-256(key name || 0x0A || 0x01 || public key)[:4]`, big-endian
  (signed-note, "Ed25519 signatures"); the signature covers the note text, final newline
  included, separating blank line excluded.
- Verifiers ignore signatures by unknown keys (a key is its name *and* ID); a signature by a known
  key that does not verify rejects the whole note; a note with no verified signature is rejected
  (signed-note, "Signatures").
- At most `MAX_SIGNATURES` signature lines are accepted (the spec requires at least 16).

Key encodings are those of the Go module checksum database (golang.org/x/mod/sumdb/note), which
transparency logs and witnesses share: a verifier key is `<name>+<8 hex key ID>+<base64(0x01 ||
public key)>` and a signer key `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || seed)>`.

Malformed notes and keys raise `InvalidEncoding`; notes that no known key verifies raise
`InvalidSignature`; bad arguments from local callers raise `InvalidInput`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Final, Generic, Self, TypeVar

from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from crypto.errors import InvalidEncoding, InvalidInput, InvalidSignature

__all__ = [
    "ED25519_SIGNATURE_TYPE",
    "MAX_SIGNATURES",
    "Checkpoint",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Note",
    "NoteSignature",
    "VerifiedNote",
    "cosign_note",
    "ed25519_key_id",
    "is_valid_key_name",
    "open_checkpoint",
    "open_note",
    "parse_note",
    "sign_checkpoint",
    "sign_note",
]

# signed-note, "Signature types": 0x01 identifies Ed25519 signatures.
ED25519_SIGNATURE_TYPE: Final = 0x01
# signed-note, "Format": verifiers must accept at least 16 signatures and should cap them; 100 is
# the cap of the Go implementation, so a note it accepts is accepted here too.
MAX_SIGNATURES: Final = 100

_SIGNATURE_PREFIX: Final = "\u2014 "  # Em dash (U+2014) and a space, signed-note "Format".
_SIGNER_KEY_PREFIX: Final = "PRIVATE+KEY+"
_KEY_ID_SIZE: Final = 4
_ED25519_KEY_SIZE: Final = 32
_ED25519_SIGNATURE_SIZE: Final = 64
_HEX_KEY_ID: Final = re.compile(r"[0-9a-f]{8}")
# tlog-checkpoint, "Note text": the tree size is ASCII decimal without leading zeros.
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*")
# A tree size is a count of leaves; 2**64 - 1 is the largest that RFC 9162's uint64 fields hold.
_MAX_TREE_SIZE: Final = 2**64 - 1
_ROOT_HASH_SIZE: Final = 32


def _has_control_characters(text: str) -> bool:
    """Return whether `text` holds an ASCII control character other than newline."""
    return any(ch < " " and ch != "\n" for ch in text)


def is_valid_key_name(name: str) -> bool:
    """Return whether `name` is a valid key name: non-empty, no Unicode space, no `+`.

    signed-note, "Format". Control characters are refused too, since a note may not hold them.
    """
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and not _has_control_characters(name)
        and _is_encodable(name)
    )


def _is_encodable(text: str) -> bool:
    """Return whether `text` can be written as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _b64decode_strict(value: str) -> bytes:
    """Decode standard padded base64 (RFC 4648 §4), refusing any non-canonical spelling."""
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidEncoding(f"expected standard padded base64, got {value!r}") from exc
    # b64decode ignores the unused low bits of the last character; re-encoding catches them, so
    # each byte string has exactly one accepted encoding.
    if base64.b64encode(decoded).decode("ascii") != value:
        raise InvalidEncoding(f"expected canonical base64, got {value!r}")
    return decoded


def _b64encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """Return `SHA-256(name || 0x0A || signature type || key)[:4]` as a big-endian uint32."""
    if len(public_key) != _ED25519_KEY_SIZE:
        raise InvalidInput(
            f"expected a {_ED25519_KEY_SIZE}-byte Ed25519 public key, got {len(public_key)} bytes"
        )
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key
    ).digest()
    return int.from_bytes(digest[:_KEY_ID_SIZE], "big")


def ed25519_key_id(name: str, public_key: bytes) -> int:
    """Return the key ID of an Ed25519 key: `SHA-256(name || 0x0A || 0x01 || key)[:4]` as uint32.

    signed-note, "Ed25519 signatures".
    """
    return _key_id(name, ED25519_SIGNATURE_TYPE, public_key)


def _decode_key_fields(name: str, hex_id: str, key64: str, what: str) -> tuple[int, bytes]:
    """Check the name and key ID fields of a `what` and decode its base64 key data."""
    if not is_valid_key_name(name):
        raise InvalidEncoding(f"expected a key name without spaces or '+' in the {what}")
    if _HEX_KEY_ID.fullmatch(hex_id) is None:
        raise InvalidEncoding(f"expected 8 lowercase hex digits as key ID, got {hex_id!r}")
    return int(hex_id, 16), _b64decode_strict(key64)


def _encode_key(name: str, key_id: int, signature_type: int, key: bytes) -> str:
    """Return `<name>+<8 hex key ID>+<base64(signature type || key)>`."""
    return f"{name}+{key_id:08x}+{_b64encode(bytes([signature_type]) + key)}"


def _split_key(encoded: str, what: str) -> tuple[str, int, bytes]:
    """Split `<name>+<hex key ID>+<base64(0x01 || key)>` into its checked parts."""
    parts = encoded.split("+", 2)
    if len(parts) != 3:
        raise InvalidEncoding(f"expected a {what} of the form <name>+<key ID>+<key>, got 1 field")
    name, hex_id, key64 = parts
    key_id, key = _decode_key_fields(name, hex_id, key64, what)
    if len(key) != 1 + _ED25519_KEY_SIZE or key[0] != ED25519_SIGNATURE_TYPE:
        raise InvalidEncoding(
            f"expected 0x01 and a {_ED25519_KEY_SIZE}-byte Ed25519 key in the {what}, got "
            f"{len(key)} bytes starting {key[:1].hex() or 'with nothing'}"
        )
    return name, key_id, key[1:]


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note: key name, key ID and the signature bytes after the ID."""

    key_name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.key_name):
            raise InvalidInput(f"expected a key name without spaces or '+', got {self.key_name!r}")
        if not 0 <= self.key_id < 2**32:
            raise InvalidInput(f"expected a 32-bit key ID, got {self.key_id}")
        if not self.signature:
            raise InvalidInput("expected a non-empty signature")

    def to_line(self) -> str:
        """Return the signature line, `— <key name> <base64(key ID || signature)>\\n`."""
        blob = self.key_id.to_bytes(_KEY_ID_SIZE, "big") + self.signature
        return f"{_SIGNATURE_PREFIX}{self.key_name} {_b64encode(blob)}\n"

    @classmethod
    def from_line(cls, line: str) -> NoteSignature:
        """Parse one signature line, without its final newline.

        Raises:
            InvalidEncoding: the line is not `— <key name> <base64>` with a valid name and at
                least one signature byte after the 4-byte key ID.
        """
        if not line.startswith(_SIGNATURE_PREFIX):
            raise InvalidEncoding(f"expected a signature line starting with '— ', got {line!r}")
        fields = line[len(_SIGNATURE_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise InvalidEncoding(
                f"expected '— <key name> <signature>' with single spaces, got {line!r}"
            )
        name, blob64 = fields
        if not is_valid_key_name(name):
            raise InvalidEncoding(f"expected a key name without spaces or '+', got {name!r}")
        blob = _b64decode_strict(blob64)
        if len(blob) <= _KEY_ID_SIZE:
            raise InvalidEncoding(
                f"expected a key ID and a signature, got {len(blob)} bytes in total"
            )
        return cls(name, int.from_bytes(blob[:_KEY_ID_SIZE], "big"), blob[_KEY_ID_SIZE:])


def _check_text(text: str) -> None:
    """Check that `text` can be the text of a note (signed-note, "Format")."""
    if not text.endswith("\n"):
        raise InvalidInput("expected a note text ending in a newline")
    if _has_control_characters(text):
        raise InvalidInput("expected a note text without control characters other than newline")
    if not _is_encodable(text):
        raise InvalidInput("expected a note text that is valid Unicode (no lone surrogates)")


@dataclass(frozen=True, slots=True)
class Note:
    """A note as written: its text and its signatures, none of them verified.

    The text must be ignored until `open_note` has verified a signature by a trusted key.
    """

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def __post_init__(self) -> None:
        _check_text(self.text)
        if len(self.signatures) > MAX_SIGNATURES:
            raise InvalidInput(
                f"expected at most {MAX_SIGNATURES} signatures, got {len(self.signatures)}"
            )

    def to_str(self) -> str:
        """Return the signed note: text, blank line, one line per signature."""
        if not self.signatures:
            raise InvalidInput("a note needs at least one signature to be written")
        return self.text + "\n" + "".join(sig.to_line() for sig in self.signatures)

    def to_bytes(self) -> bytes:
        """Return the signed note encoded as UTF-8."""
        return self.to_str().encode("utf-8")


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note of which at least one signature was verified by a trusted key.

    `verified` lists the signatures checked by known keys; `unverified` those by keys the
    verifier did not know (for example witness cosignatures), kept in note order.
    """

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...] = field(default=())


def parse_note(note: str | bytes) -> Note:
    """Parse a signed note without verifying any signature (for example for a witness).

    Duplicate signature lines are kept once.

    Raises:
        InvalidEncoding: the note is not valid UTF-8, holds control characters, has no blank line
            before its signatures, has a malformed or no signature line, or more than
            `MAX_SIGNATURES` of them.
    """
    if isinstance(note, bytes):
        try:
            message = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEncoding("expected a note in valid UTF-8") from exc
    else:
        message = note
        if not _is_encodable(message):
            raise InvalidEncoding("expected a note that is valid Unicode (no lone surrogates)")
    if _has_control_characters(message):
        raise InvalidEncoding("expected a note without control characters other than newline")
    if not message.endswith("\n"):
        raise InvalidEncoding("expected a note ending in a newline")
    # signed-note, "Format": the text is separated from the signatures by the last empty line;
    # signature lines are never empty, so the last "\n\n" is that separator.
    split = message.rfind("\n\n")
    if split < 0:
        raise InvalidEncoding("expected a blank line between the note text and its signatures")
    text = message[: split + 1]
    lines = message[split + 2 : -1].split("\n")
    if lines == [""]:
        raise InvalidEncoding("expected at least one signature line after the blank line")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidEncoding(
            f"expected at most {MAX_SIGNATURES} signature lines, got {len(lines)}"
        )
    signatures: list[NoteSignature] = []
    seen: set[NoteSignature] = set()
    for line in lines:
        signature = NoteSignature.from_line(line)
        if signature not in seen:
            seen.add(signature)
            signatures.append(signature)
    return Note(text, tuple(signatures))


class _NoteKeyVerifier:
    """An Ed25519 public key with its key name, for signatures of one signature type.

    The type byte goes into the key ID and the verifier key, so that a key of one type is never
    taken for a key of another; subclasses say what the signatures cover.
    """

    __slots__ = ("_key", "_key_id", "_name", "_public_key")

    _SIGNATURE_TYPE: ClassVar[int]
    # What errors call a verifier key of this type.
    _VERIFIER_KEY: ClassVar[str]

    def __init__(self, name: str, public_key: bytes | Ed25519PublicKey) -> None:
        if not is_valid_key_name(name):
            raise InvalidInput(f"expected a key name without spaces or '+', got {name!r}")
        if isinstance(public_key, Ed25519PublicKey):
            raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        else:
            raw = bytes(public_key)
        self._key_id = _key_id(name, self._SIGNATURE_TYPE, raw)
        try:
            self._key = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:
            raise InvalidInput("expected a valid Ed25519 public key") from exc
        self._name = name
        self._public_key = raw

    @staticmethod
    def _split_key(encoded: str, what: str) -> tuple[str, int, bytes]:
        """Split `<name>+<hex key ID>+<base64(type byte || key)>` of this type into its parts."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The key name that signature lines by this key carry."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID that signatures by this key start with."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The 32-byte RFC 8032 public key."""
        return self._public_key

    @classmethod
    def from_verifier_key(cls, verifier_key: str) -> Self:
        """Parse a verifier key `<name>+<8 hex key ID>+<base64(type byte || public key)>`.

        Raises:
            InvalidEncoding: the key is malformed, of another signature type, or its key ID does
                not match its name and key.
        """
        name, key_id, public_key = cls._split_key(verifier_key, cls._VERIFIER_KEY)
        expected = _key_id(name, cls._SIGNATURE_TYPE, public_key)
        if expected != key_id:
            raise InvalidEncoding(
                f"{cls._VERIFIER_KEY} ID {key_id:08x} does not match its key and name "
                f"({expected:08x})"
            )
        try:
            return cls(name, public_key)
        except InvalidInput as exc:
            raise InvalidEncoding(
                f"{cls._VERIFIER_KEY} holds an invalid Ed25519 public key"
            ) from exc

    def verifier_key(self) -> str:
        """Return the verifier key `<name>+<8 hex key ID>+<base64(type byte || public key)>`."""
        return _encode_key(self._name, self._key_id, self._SIGNATURE_TYPE, self._public_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._name == other._name and self._public_key == other._public_key

    def __hash__(self) -> int:
        return hash((self._name, self._public_key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verifier_key()!r})"


_VerifierT = TypeVar("_VerifierT", bound=_NoteKeyVerifier)


class _NoteKeySigner(Generic[_VerifierT]):
    """An Ed25519 private key with its key name, for signatures of its verifier's type."""

    __slots__ = ("_key", "_verifier")

    # The verifier class of the same signature type, and what errors call a signer key.
    _VERIFIER: type[_VerifierT]
    _SIGNER_KEY: ClassVar[str]

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._verifier = self._VERIFIER(name, private_key.public_key())

    @classmethod
    def generate(cls, name: str) -> Self:
        """Return a signer with a fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Self:
        """Return the signer of the 32-byte RFC 8032 private key `seed`."""
        if len(seed) != _ED25519_KEY_SIZE:
            raise InvalidInput(
                f"expected a {_ED25519_KEY_SIZE}-byte Ed25519 seed, got {len(seed)} bytes"
            )
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_signer_key(cls, signer_key: str) -> Self:
        """Parse a signer key `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type byte || seed)>`.

        Raises:
            InvalidEncoding: the key is malformed, of another signature type, or its key ID does
                not match the public key derived from the seed.
        """
        what = cls._SIGNER_KEY
        if not signer_key.startswith(_SIGNER_KEY_PREFIX):
            raise InvalidEncoding(f"expected a {what} starting with 'PRIVATE+KEY+'")
        name, key_id, seed = cls._VERIFIER._split_key(signer_key[len(_SIGNER_KEY_PREFIX) :], what)
        signer = cls.from_seed(name, seed)
        if signer.key_id != key_id:
            raise InvalidEncoding(
                f"{what} ID {key_id:08x} does not match its key and name ({signer.key_id:08x})"
            )
        return signer

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self._verifier.name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID written before each signature."""
        return self._verifier.key_id

    def verifier(self) -> _VerifierT:
        """Return the matching verifier."""
        return self._verifier

    def verifier_key(self) -> str:
        """Return the public verifier key string to hand to verifiers."""
        return self._verifier.verifier_key()

    def signer_key(self) -> str:
        """Return the secret signer key string; whoever holds it can sign as this key."""
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = _encode_key(self.name, self.key_id, self._VERIFIER._SIGNATURE_TYPE, seed)
        return _SIGNER_KEY_PREFIX + encoded

    def __repr__(self) -> str:
        # The private key is never shown.
        return f"{type(self).__name__}(name={self.name!r}, key_id={self.key_id:08x})"


class Ed25519Verifier(_NoteKeyVerifier):
    """An Ed25519 public key with its key name: checks signatures of signed notes.

    Its verifier key is `<name>+<8 hex key ID>+<base64(0x01 || public key)>`.
    """

    __slots__ = ()

    _SIGNATURE_TYPE = ED25519_SIGNATURE_TYPE
    _VERIFIER_KEY = "verifier key"
    _split_key = staticmethod(_split_key)

    def verify(self, text: str, signature: NoteSignature) -> None:
        """Check that `signature` is this key's Ed25519 signature of the note text `text`.

        Raises:
            InvalidSignature: the signature names another key or does not verify.
        """
        if signature.key_name != self.name or signature.key_id != self.key_id:
            raise InvalidSignature(
                f"expected a signature by {self.name}+{self.key_id:08x}, got one by "
                f"{signature.key_name}+{signature.key_id:08x}"
            )
        if len(signature.signature) != _ED25519_SIGNATURE_SIZE:
            raise InvalidSignature(
                f"expected a {_ED25519_SIGNATURE_SIZE}-byte Ed25519 signature by "
                f"{self.name}+{self.key_id:08x}, got {len(signature.signature)} bytes"
            )
        try:
            self._key.verify(signature.signature, text.encode("utf-8"))
        except _CryptographyInvalidSignature as exc:
            raise InvalidSignature(
                f"invalid signature for key {self.name}+{self.key_id:08x}"
            ) from exc


class Ed25519Signer(_NoteKeySigner[Ed25519Verifier]):
    """An Ed25519 private key with its key name: signs notes and checkpoints.

    Its signer key is `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || seed)>`.
    """

    __slots__ = ()

    _VERIFIER = Ed25519Verifier
    _SIGNER_KEY = "signer key"

    def signature(self, text: str) -> NoteSignature:
        """Return this key's signature of the note text `text`."""
        _check_text(text)
        return NoteSignature(self.name, self.key_id, self._key.sign(text.encode("utf-8")))

    def sign(self, text: str) -> str:
        """Return the note of `text` signed by this key alone."""
        return sign_note(text, [self])


def sign_note(text: str | Note, signers: Sequence[Ed25519Signer]) -> str:
    """Return the signed note of `text` with one signature line per signer.

    Given a `Note`, its existing signatures are kept before the new ones, except those by the
    same key name and ID as a new signer, which the new signature replaces.

    Raises:
        InvalidInput: no signer, an invalid text, or more than `MAX_SIGNATURES` in total.
    """
    if not signers:
        raise InvalidInput("expected at least one signer")
    note = text if isinstance(text, Note) else Note(text)
    new = [signer.signature(note.text) for signer in signers]
    replaced = {(sig.key_name, sig.key_id) for sig in new}
    kept = [sig for sig in note.signatures if (sig.key_name, sig.key_id) not in replaced]
    return Note(note.text, (*kept, *new)).to_str()


def cosign_note(note: str | bytes, signers: Sequence[Ed25519Signer]) -> str:
    """Return `note` with signature lines by `signers` added, the existing ones kept.

    This signs the text unseen: a witness must first open the note with the log's key.

    Raises:
        InvalidEncoding: `note` is malformed.
        InvalidInput: no signer, or more than `MAX_SIGNATURES` signatures in total.
    """
    return sign_note(parse_note(note), signers)


def open_note(
    note: str | bytes, verifiers: Ed25519Verifier | Iterable[Ed25519Verifier]
) -> VerifiedNote:
    """Parse `note` and verify its signatures by the known keys `verifiers`.

    Signatures by other keys (another name or another key ID) are ignored and reported as
    unverified (signed-note, "Signatures").

    Raises:
        InvalidEncoding: the note is malformed.
        InvalidSignature: a signature by a known key does not verify, or no known key signed.
        InvalidInput: two different verifiers share a key name and key ID.
    """
    known = _verifier_index([verifiers] if isinstance(verifiers, Ed25519Verifier) else verifiers)
    parsed = parse_note(note)
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for signature in parsed.signatures:
        verifier = known.get((signature.key_name, signature.key_id))
        if verifier is None:
            unverified.append(signature)
            continue
        # signed-note, "Signatures": a signature by a known key that fails rejects the note.
        verifier.verify(parsed.text, signature)
        verified.append(signature)
    if not verified:
        names = ", ".join(f"{name}+{key_id:08x}" for name, key_id in known) or "none"
        raise InvalidSignature(f"note has no valid signature by a known key (known: {names})")
    return VerifiedNote(parsed.text, tuple(verified), tuple(unverified))


def _verifier_index(
    verifiers: Iterable[Ed25519Verifier],
) -> dict[tuple[str, int], Ed25519Verifier]:
    index: dict[tuple[str, int], Ed25519Verifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        previous = index.setdefault(slot, verifier)
        if previous != verifier:
            # Two keys that collide on name and ID cannot be told apart in a signature line.
            raise InvalidInput(f"ambiguous verifiers: two keys named {verifier.name}+{slot[1]:08x}")
    return index


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The text of a log checkpoint (c2sp.org/tlog-checkpoint): origin, tree size, root hash.

    `extensions` are the optional extension lines, opaque and each non-empty.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _has_control_characters(self.origin):
            raise InvalidInput(f"expected a non-empty one-line origin, got {self.origin!r}")
        if not _is_encodable(self.origin):
            raise InvalidInput("expected an origin that is valid Unicode")
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise InvalidInput(f"expected a tree size in [0, 2**64), got {self.size!r}")
        if len(self.root_hash) != _ROOT_HASH_SIZE:
            raise InvalidInput(
                f"expected a {_ROOT_HASH_SIZE}-byte root hash, got {len(self.root_hash)} bytes"
            )
        for line in self.extensions:
            if not line or "\n" in line or _has_control_characters(line) or not _is_encodable(line):
                raise InvalidInput(f"expected non-empty one-line extensions, got {line!r}")

    def to_body(self) -> str:
        """Return the note text: origin, decimal size, base64 root hash, extension lines."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_body(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (tlog-checkpoint, "Note text").

        Raises:
            InvalidEncoding: fewer than three lines, an empty line, a size that is not ASCII
                decimal without leading zeros, a root hash that is not strict base64 of 32 bytes,
                a missing final newline or a control character.
        """
        if not text.endswith("\n"):
            raise InvalidEncoding("expected a checkpoint text ending in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise InvalidEncoding(
                f"expected at least 3 lines (origin, size, root hash), got {len(lines)}"
            )
        if any(not line for line in lines):
            raise InvalidEncoding("expected no empty line in a checkpoint text")
        origin, size_text, root64, *extensions = lines
        if len(size_text) > 20 or _DECIMAL.fullmatch(size_text) is None:
            raise InvalidEncoding(
                f"expected a decimal tree size without leading zeros, got {size_text!r}"
            )
        root = _b64decode_strict(root64)
        try:
            return cls(origin, int(size_text), root, tuple(extensions))
        except InvalidInput as exc:
            raise InvalidEncoding(f"malformed checkpoint: {exc}") from exc


def sign_checkpoint(checkpoint: Checkpoint, signer: Ed25519Signer) -> str:
    """Return `checkpoint` as a note signed by the log's key.

    tlog-checkpoint, "Signatures": the key name should match the origin, so here it must.

    Raises:
        InvalidInput: the signer's key name differs from the origin.
    """
    if signer.name != checkpoint.origin:
        raise InvalidInput(
            f"expected the log key name to equal the origin {checkpoint.origin!r}, "
            f"got {signer.name!r}"
        )
    return signer.sign(checkpoint.to_body())


def open_checkpoint(
    note: str | bytes, verifier: Ed25519Verifier, *, origin: str | None = None
) -> Checkpoint:
    """Verify a checkpoint note by the log's key and return the checkpoint.

    Cosignatures by other keys (witnesses) are ignored here. The origin must equal `origin`,
    which defaults to the verifier's key name (tlog-checkpoint, "Signatures").

    Raises:
        InvalidEncoding: the note or its checkpoint text is malformed.
        InvalidSignature: the log's key did not sign it, or the origin is another log's.
    """
    opened = open_note(note, verifier)
    checkpoint = Checkpoint.from_body(opened.text)
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise InvalidSignature(
            f"expected a checkpoint of origin {expected!r}, got {checkpoint.origin!r}"
        )
    return checkpoint
