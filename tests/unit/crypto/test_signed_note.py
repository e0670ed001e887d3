"""C2SP signed notes (Ed25519) and tlog checkpoints: known answers, round trips, mutation."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InvalidEncoding, InvalidInput, InvalidSignature
from crypto.signed_note import (
    MAX_SIGNATURES,
    Checkpoint,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteSignature,
    cosign_note,
    ed25519_key_id,
    is_valid_key_name,
    open_checkpoint,
    open_note,
    parse_note,
    sign_checkpoint,
    sign_note,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "c2sp" / "note_vectors.json").read_text("utf-8")
)
GO = VECTORS["go_sumdb_note"]
SUMDB = VECTORS["sum_golang_org_checkpoint"]

PETER_SIGNER = Ed25519Signer.from_signer_key(GO["signer_key"])
PETER = Ed25519Verifier.from_verifier_key(GO["verifier_key"])
ENOCH = Ed25519Verifier.from_verifier_key(GO["cosigner_verifier_key"])
TEXT: str = GO["text"]
PETER_LINE: str = GO["signature_line"]
ENOCH_LINE: str = GO["cosigner_signature_line"]
PETER_NOTE = TEXT + "\n" + PETER_LINE
BOTH_NOTE = PETER_NOTE + ENOCH_LINE

# Fixed seeds keep the behaviour tests deterministic.
LOG = Ed25519Signer.from_seed("log.example/blindhit/de-bka", bytes(range(32)))
WITNESS = Ed25519Signer.from_seed("witness.example/gs", bytes(range(32, 64)))
ROOT = hashlib.sha256(b"a root").digest()


# ---------------------------------------------------------------------------------------------
# Known answers.
# ---------------------------------------------------------------------------------------------


def test_key_id_is_truncated_sha256_of_name_type_and_key() -> None:
    # c2sp.org/signed-note, "Ed25519 signatures": SHA-256(name || 0x0A || 0x01 || key)[:4].
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + PETER.public_key).digest()[:4]
    assert ed25519_key_id("PeterNeumann", PETER.public_key) == int.from_bytes(expected, "big")
    assert PETER.key_id == int(GO["key_id"], 16)
    assert PETER.name == GO["key_name"]


def test_go_keys_parse_and_encode_back() -> None:
    assert PETER_SIGNER.key_id == PETER.key_id
    assert PETER_SIGNER.verifier() == PETER
    assert PETER_SIGNER.verifier_key() == GO["verifier_key"]
    assert PETER_SIGNER.signer_key() == GO["signer_key"]
    assert PETER.verifier_key() == GO["verifier_key"]


def test_go_note_is_signed_byte_for_byte() -> None:
    # Ed25519 is deterministic (RFC 8032 §5.1.6), so the published note is reproduced exactly.
    assert PETER_SIGNER.sign(TEXT) == PETER_NOTE
    assert sign_note(TEXT, [PETER_SIGNER]) == PETER_NOTE


def test_go_note_opens_with_known_keys_only() -> None:
    opened = open_note(BOTH_NOTE, [PETER])
    assert opened.text == TEXT
    assert [s.key_name for s in opened.verified] == ["PeterNeumann"]
    assert [s.key_name for s in opened.unverified] == ["EnochRoot"]
    both = open_note(BOTH_NOTE.encode("utf-8"), [PETER, ENOCH])
    assert [s.key_name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified == ()
    assert open_note(BOTH_NOTE, ENOCH).verified[0].key_id == 0xAF0CFE78
    with pytest.raises(InvalidSignature, match="no valid signature by a known key"):
        open_note(BOTH_NOTE, [])


def test_sum_golang_org_checkpoint_opens() -> None:
    verifier = Ed25519Verifier.from_verifier_key(SUMDB["verifier_key"])
    checkpoint = open_checkpoint(SUMDB["note"], verifier, origin=SUMDB["origin"])
    assert checkpoint.origin == SUMDB["origin"]
    assert checkpoint.size == SUMDB["size"]
    assert checkpoint.root_hash == base64.b64decode(SUMDB["root_hash"])
    assert checkpoint.extensions == ()
    # By default the origin must be the key name, which this log does not follow.
    with pytest.raises(InvalidSignature, match="origin"):
        open_checkpoint(SUMDB["note"], verifier)


def _manglings(encoded: str) -> list[str]:
    """Every proper substring and every one-character increment of `encoded`.

    The same manglings that golang.org/x/mod/sumdb/note's TestNewVerifier applies.
    """
    out = {
        encoded[i:j]
        for i in range(len(encoded) + 1)
        for j in range(i + 1, len(encoded) + 1)
        if (i, j) != (0, len(encoded))
    }
    out.update(
        encoded[:i] + chr(ord(encoded[i]) + 1) + encoded[i + 1 :] for i in range(len(encoded))
    )
    out.discard(encoded)
    return sorted(out)


def test_mangled_verifier_keys_are_refused() -> None:
    accepted = []
    for key in _manglings(GO["verifier_key"]):
        try:
            Ed25519Verifier.from_verifier_key(key)
        except InvalidEncoding:
            continue
        accepted.append(key)
    assert accepted == []
    # A key of the wrong length, and an unknown algorithm, each with a matching key ID (from the
    # same Go test).
    for key in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ):
        with pytest.raises(InvalidEncoding):
            Ed25519Verifier.from_verifier_key(key)


def test_mangled_signer_keys_are_refused() -> None:
    accepted = []
    for key in _manglings(GO["signer_key"]):
        try:
            Ed25519Signer.from_signer_key(key)
        except InvalidEncoding:
            continue
        accepted.append(key)
    assert accepted == []


def test_uppercase_key_id_is_refused() -> None:
    with pytest.raises(InvalidEncoding, match="lowercase hex"):
        Ed25519Verifier.from_verifier_key(GO["verifier_key"].replace("c74f20a3", "C74F20A3"))


# ---------------------------------------------------------------------------------------------
# Round trips and cosigning.
# ---------------------------------------------------------------------------------------------


def test_round_trip_with_generated_key() -> None:
    signer = Ed25519Signer.generate("node.example/fr")
    verifier = Ed25519Verifier.from_verifier_key(signer.verifier_key())
    assert verifier == signer.verifier()
    assert Ed25519Signer.from_signer_key(signer.signer_key()).verifier() == verifier
    text = "Line one\n\nline three after an empty line\n"
    opened = open_note(signer.sign(text), verifier)
    assert opened.text == text


def test_text_ending_in_empty_lines_round_trips() -> None:
    # signed-note, "Format": the text may hold empty lines; the last blank line separates it.
    for text in ("\n", "a\n\n", "a\n\n\n", "x\n\ny\n"):
        assert open_note(LOG.sign(text), LOG.verifier()).text == text


def test_cosigning_keeps_existing_signatures() -> None:
    note = LOG.sign(TEXT)
    cosigned = cosign_note(note, [WITNESS])
    assert cosigned.startswith(note)
    parsed = parse_note(cosigned)
    assert [s.key_name for s in parsed.signatures] == [LOG.name, WITNESS.name]
    log_view = open_note(cosigned, LOG.verifier())
    assert [s.key_name for s in log_view.unverified] == [WITNESS.name]
    witness_view = open_note(cosigned, [LOG.verifier(), WITNESS.verifier()])
    assert len(witness_view.verified) == 2


def test_signing_again_replaces_the_same_keys_signature() -> None:
    stale = NoteSignature(LOG.name, LOG.key_id, b"\x00" * 64)
    fresh = sign_note(Note(TEXT, (stale,)), [LOG])
    assert fresh == LOG.sign(TEXT)


def test_duplicate_signature_lines_count_once() -> None:
    parsed = parse_note(PETER_NOTE + PETER_LINE + ENOCH_LINE + ENOCH_LINE)
    assert [s.key_name for s in parsed.signatures] == ["PeterNeumann", "EnochRoot"]
    assert parse_note(PETER_NOTE).to_str() == PETER_NOTE


def test_many_signatures_up_to_the_limit() -> None:
    signers = [Ed25519Signer.from_seed(f"w{i}.example", bytes([i]) * 32) for i in range(16)]
    note = sign_note(TEXT, signers)
    opened = open_note(note, [s.verifier() for s in signers])
    assert len(opened.verified) == 16
    lines = [f"— k{i} {base64.b64encode(bytes(68)).decode()}\n" for i in range(MAX_SIGNATURES)]
    assert len(parse_note(TEXT + "\n" + "".join(lines)).signatures) == MAX_SIGNATURES
    extra = "— k-extra " + base64.b64encode(bytes(68)).decode() + "\n"
    with pytest.raises(InvalidEncoding, match=f"at most {MAX_SIGNATURES}"):
        parse_note(TEXT + "\n" + "".join(lines) + extra)


# ---------------------------------------------------------------------------------------------
# Mutated notes are refused.
# ---------------------------------------------------------------------------------------------


def _with_blob(line: str, change: Any) -> str:
    """Return the signature line with its decoded key ID and signature bytes changed."""
    prefix, blob64 = line.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(blob64))
    change(blob)
    return f"{prefix} {base64.b64encode(bytes(blob)).decode()}\n"


def _flip_signature_bit(blob: bytearray) -> None:
    blob[10] ^= 0x04


def _flip_key_id_bit(blob: bytearray) -> None:
    blob[0] ^= 0x01


def _shorten_signature(blob: bytearray) -> None:
    del blob[-1]


@pytest.mark.parametrize(
    ("note", "error", "message"),
    [
        pytest.param(
            TEXT + "\n" + _with_blob(PETER_LINE, _flip_signature_bit),
            InvalidSignature,
            "invalid signature for key PeterNeumann",
            id="flipped signature bit",
        ),
        pytest.param(
            TEXT + "\n" + _with_blob(PETER_LINE, _shorten_signature),
            InvalidSignature,
            "64-byte Ed25519 signature",
            id="short signature",
        ),
        pytest.param(
            TEXT + "\n" + _with_blob(PETER_LINE, _flip_key_id_bit),
            InvalidSignature,
            "no valid signature by a known key",
            id="other key id is an unknown key",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("PeterNeumann", "PeterNeuman"),
            InvalidSignature,
            "no valid signature by a known key",
            id="other key name is an unknown key",
        ),
        pytest.param(
            TEXT + "\n" + ENOCH_LINE,
            InvalidSignature,
            "no valid signature by a known key",
            id="unknown key only",
        ),
        pytest.param(
            TEXT.replace("problem,", "problem;") + "\n" + PETER_LINE,
            InvalidSignature,
            "invalid signature",
            id="changed text",
        ),
        pytest.param(
            "x" + PETER_NOTE, InvalidSignature, "invalid signature", id="text with prefix"
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE + _with_blob(PETER_LINE, _flip_signature_bit),
            InvalidSignature,
            "invalid signature",
            id="one good and one bad signature by the same key",
        ),
        pytest.param(
            PETER_NOTE[:-1], InvalidEncoding, "ending in a newline", id="no final newline"
        ),
        pytest.param(TEXT, InvalidEncoding, "blank line", id="no signatures"),
        pytest.param(TEXT + "\n", InvalidEncoding, "at least one signature", id="empty block"),
        pytest.param(TEXT + PETER_LINE, InvalidEncoding, "blank line", id="no blank line"),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("\u2014", "-"), InvalidEncoding, "— ", id="hyphen"
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("\u2014", "\u2013"),
            InvalidEncoding,
            "— ",
            id="en dash",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("— ", "—  "),
            InvalidEncoding,
            "single spaces",
            id="two spaces after dash",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("Neumann ", "Neumann  "),
            InvalidEncoding,
            "single spaces",
            id="two spaces after name",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("\n", " \n"),
            InvalidEncoding,
            "single spaces",
            id="trailing space",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("=\n", "\n"),
            InvalidEncoding,
            "base64",
            id="missing padding",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("x08go", "x08g*"),
            InvalidEncoding,
            "base64",
            id="bad base64 character",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("AM=", "AN="),
            InvalidEncoding,
            "canonical base64",
            id="non-canonical base64",
        ),
        pytest.param(
            TEXT + "\n" + "— PeterNeumann " + base64.b64encode(b"\xc7\x4f\x20\xa3").decode() + "\n",
            InvalidEncoding,
            "a key ID and a signature",
            id="key id without signature",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("PeterNeumann", "Peter+Neumann"),
            InvalidEncoding,
            "key name",
            id="plus in key name",
        ),
        pytest.param(
            TEXT + "\n" + PETER_LINE.replace("PeterNeumann", "Peter\u00a0Neumann"),
            InvalidEncoding,
            "key name",
            id="no-break space in key name",
        ),
        pytest.param(
            PETER_NOTE + "Unexpected line.\n", InvalidEncoding, "signature line", id="trailing line"
        ),
        pytest.param(
            "\x01" + PETER_NOTE, InvalidEncoding, "control characters", id="control character"
        ),
        pytest.param(
            PETER_NOTE.replace("\n", "\r\n"),
            InvalidEncoding,
            "control characters",
            id="CRLF line ends",
        ),
        pytest.param("\t" + PETER_NOTE, InvalidEncoding, "control characters", id="tab"),
        pytest.param(
            b"\xff" + PETER_NOTE.encode("utf-8"), InvalidEncoding, "UTF-8", id="invalid UTF-8"
        ),
        pytest.param(
            PETER_NOTE.encode("utf-8").replace(b"\xe2\x80\x94", b"\xe2\x80"),
            InvalidEncoding,
            "UTF-8",
            id="truncated em dash",
        ),
        pytest.param("\ud800" + PETER_NOTE, InvalidEncoding, "Unicode", id="lone surrogate"),
    ],
)
def test_malformed_or_forged_notes_are_refused(
    note: str | bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        open_note(note, [PETER])


def test_every_truncation_is_refused() -> None:
    for cut in range(len(BOTH_NOTE)):
        if cut == len(PETER_NOTE):
            # Dropping the whole last signature line leaves a valid note signed by Peter only.
            assert open_note(BOTH_NOTE[:cut], [PETER, ENOCH]).verified[0].key_name == PETER.name
            continue
        with pytest.raises((InvalidEncoding, InvalidSignature)):
            open_note(BOTH_NOTE[:cut], [PETER, ENOCH])


def test_ambiguous_verifiers_are_refused() -> None:
    # Two different keys share a name and key ID only if their IDs collide; a subclass stands
    # in for such a collision, which would take about 2**16 generated keys to find.
    class Colliding(Ed25519Verifier):
        __slots__ = ()

        @property
        def key_id(self) -> int:
            return PETER.key_id

    impostor = Colliding("PeterNeumann", ENOCH.public_key)
    with pytest.raises(InvalidInput, match="ambiguous"):
        open_note(PETER_NOTE, [PETER, impostor])
    # The same key twice is not ambiguous.
    assert open_note(PETER_NOTE, [PETER, PETER_SIGNER.verifier()]).text == TEXT


def test_verifier_rejects_signatures_by_other_keys() -> None:
    signature = parse_note(BOTH_NOTE).signatures[1]
    with pytest.raises(InvalidSignature, match="expected a signature by PeterNeumann"):
        PETER.verify(TEXT, signature)


# ---------------------------------------------------------------------------------------------
# Arguments from local callers.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u2003b", "a\nb", "\ud800"])
def test_invalid_key_names_are_refused(name: str) -> None:
    assert not is_valid_key_name(name)
    with pytest.raises(InvalidInput, match="key name"):
        Ed25519Signer.from_seed(name, bytes(32))


def test_valid_key_names() -> None:
    for name in ("example.com/log42", "PeterNeumann", "интерпол.example/журнал", "a"):
        assert is_valid_key_name(name)


@pytest.mark.parametrize("text", ["", "no newline", "bell\x07\n", "cr\r\n", "\ud800\n"])
def test_invalid_texts_are_not_signed(text: str) -> None:
    with pytest.raises(InvalidInput, match="note text"):
        LOG.sign(text)


def test_signing_needs_a_signer_and_valid_keys() -> None:
    with pytest.raises(InvalidInput, match="at least one signer"):
        sign_note(TEXT, [])
    with pytest.raises(InvalidInput, match="32-byte Ed25519 seed"):
        Ed25519Signer.from_seed("a", bytes(31))
    with pytest.raises(InvalidInput, match="32-byte Ed25519 public key"):
        Ed25519Verifier("a", bytes(33))


def test_signer_repr_hides_the_private_key() -> None:
    text = repr(PETER_SIGNER)
    assert "c74f20a3" in text
    assert GO["signer_key"].rsplit("+", 1)[1] not in text


# ---------------------------------------------------------------------------------------------
# Checkpoints.
# ---------------------------------------------------------------------------------------------


def test_checkpoint_body_layout() -> None:
    checkpoint = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT, ("ext one",))
    root64 = base64.b64encode(ROOT).decode()
    body = f"example.com/behind-the-sofa\n20852163\n{root64}\next one\n"
    assert checkpoint.to_body() == body
    assert Checkpoint.from_body(body) == checkpoint
    empty = Checkpoint("o", 0, ROOT)
    assert empty.to_body().split("\n")[1] == "0"


origins = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
)


@settings(max_examples=100, deadline=None)
@given(
    origin=origins,
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(origins, max_size=3),
)
def test_checkpoint_body_round_trip(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.from_body(checkpoint.to_body()) == checkpoint


ROOT64 = base64.b64encode(ROOT).decode()
URL_SAFE64 = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(f"o\n042\n{ROOT64}\n", "leading zeros", id="leading zero"),
        pytest.param(f"o\n00\n{ROOT64}\n", "leading zeros", id="double zero"),
        pytest.param(f"o\n+5\n{ROOT64}\n", "decimal", id="plus sign"),
        pytest.param(f"o\n-1\n{ROOT64}\n", "decimal", id="negative"),
        pytest.param(f"o\n 5\n{ROOT64}\n", "decimal", id="leading space"),
        pytest.param(f"o\n5 \n{ROOT64}\n", "decimal", id="trailing space"),
        pytest.param(f"o\n1e3\n{ROOT64}\n", "decimal", id="exponent"),
        pytest.param(f"o\n0x10\n{ROOT64}\n", "decimal", id="hex"),
        pytest.param(f"o\n\u0665\n{ROOT64}\n", "decimal", id="arabic-indic digit"),
        pytest.param(f"o\n1_000\n{ROOT64}\n", "decimal", id="underscore"),
        pytest.param(f"o\n{2**64}\n{ROOT64}\n", "tree size", id="above uint64"),
        pytest.param(f"o\n{'9' * 5000}\n{ROOT64}\n", "decimal", id="huge"),
        pytest.param(
            f"o\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "32-byte root", id="short root"
        ),
        pytest.param(
            f"o\n5\n{base64.b64encode(ROOT + b'x').decode()}\n", "32-byte root", id="long root"
        ),
        pytest.param(f"o\n5\n{ROOT64.rstrip('=')}\n", "base64", id="unpadded root"),
        pytest.param(f"o\n5\n{URL_SAFE64}\n", "base64", id="url-safe"),
        pytest.param(f"o\n5\n{ROOT64[:-2]}B=\n", "canonical", id="non-canonical root"),
        pytest.param(f"o\n5\n{ROOT64}", "newline", id="no final newline"),
        pytest.param(f"o\n5\n{ROOT64}\n\n", "empty line", id="empty extension"),
        pytest.param(f"o\n5\n{ROOT64}\n\next\n", "empty line", id="empty line before extension"),
        pytest.param(f"\n5\n{ROOT64}\n", "empty line", id="empty origin"),
        pytest.param("o\n5\n", "at least 3 lines", id="no root"),
        pytest.param(f"5\n{ROOT64}\n", "at least 3 lines", id="no origin"),
        pytest.param("", "newline", id="empty"),
        pytest.param(f"o\x01\n5\n{ROOT64}\n", "one-line origin", id="control character"),
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str, message: str) -> None:
    with pytest.raises(InvalidEncoding, match=message):
        Checkpoint.from_body(body)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        ("o", -1, ROOT, ()),
        ("o", 2**64, ROOT, ()),
        ("o", True, ROOT, ()),
        ("o", 1, ROOT[:31], ()),
        ("o", 1, ROOT, ("",)),
        ("o", 1, ROOT, ("two\nlines",)),
    ],
)
def test_invalid_checkpoints_are_not_built(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInput):
        Checkpoint(origin, size, root, extensions)


def test_checkpoint_sign_and_open() -> None:
    checkpoint = Checkpoint(LOG.name, 1234, ROOT)
    note = sign_checkpoint(checkpoint, LOG)
    assert note.startswith(checkpoint.to_body() + "\n\u2014 " + LOG.name + " ")
    assert open_checkpoint(note, LOG.verifier()) == checkpoint
    # A witness cosignature does not disturb the log's view.
    cosigned = cosign_note(note, [WITNESS])
    assert open_checkpoint(cosigned, LOG.verifier()) == checkpoint
    assert open_checkpoint(cosigned.encode("utf-8"), LOG.verifier()) == checkpoint


def test_checkpoint_by_another_key_or_origin_is_refused() -> None:
    checkpoint = Checkpoint(LOG.name, 1234, ROOT)
    note = sign_checkpoint(checkpoint, LOG)
    with pytest.raises(InvalidSignature, match="no valid signature"):
        open_checkpoint(note, WITNESS.verifier())
    with pytest.raises(InvalidInput, match="origin"):
        sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), LOG)
    # A log key signing another origin's text (as a plain note) is not that origin's checkpoint.
    foreign = LOG.sign(Checkpoint("other.example/log", 1, ROOT).to_body())
    with pytest.raises(InvalidSignature, match="origin"):
        open_checkpoint(foreign, LOG.verifier())
    with pytest.raises(InvalidEncoding, match="at least 3 lines"):
        open_checkpoint(LOG.sign("just text\n"), LOG.verifier())
