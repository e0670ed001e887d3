"""`protocol.directory`: the signed directory's model, canonical text, signature and rollback."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import FederationError, InputError, InvalidSignature, PeerError
from crypto.oprf import Mode, Suite
from crypto.signed_note import Ed25519Signer, sign_note
from protocol.directory import (
    Directory,
    DirectoryDataset,
    DirectoryLimits,
    DirectoryRollback,
    Member,
    Revocation,
    RevocationReason,
    decode_directory,
    encode_directory,
    open_directory,
    peers_from_directory,
    sign_directory,
)
from protocol.validation import HostPort

ISSUED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
REVOKED_AT = datetime(2026, 1, 4, 17, 0, tzinfo=UTC)
COORDINATOR = Ed25519Signer.from_seed("gs-lyon", bytes(range(32)))
DE = Ed25519Signer.from_seed("de-bka", bytes(range(1, 33)))
FR = Ed25519Signer.from_seed("fr-ct", bytes(range(2, 34)))
CA_FINGERPRINT = "sha256:" + "c" * 64
GS_FINGERPRINT = "sha256:" + "0" * 64
DE_FINGERPRINT = "sha256:" + "d" * 64
FR_FINGERPRINT = "sha256:" + "f" * 64


def element(suite: Suite, scalar: int = 7) -> bytes:
    group = suite.value.group
    return bytes(group.serialize_element(group.scalar_mult_base(scalar)))


P256_KEY = element(Suite.P256_SHA256)
RISTRETTO_KEY = element(Suite.RISTRETTO255_SHA512)


def de_member() -> Member:
    return Member(
        "de-bka",
        "DEU",
        HostPort("bka.example.de", 7443),
        DE_FINGERPRINT,
        DE.verifier(),
        (
            DirectoryDataset("vehicles", Suite.P256_SHA256, Mode.VOPRF, P256_KEY, 5000),
            DirectoryDataset("persons", Suite.RISTRETTO255_SHA512, Mode.OPRF, b"", 100000),
        ),
    )


def fr_member() -> Member:
    return Member(
        "fr-ct",
        "FRA",
        HostPort("::1", 7443),
        FR_FINGERPRINT,
        FR.verifier(),
        (DirectoryDataset("documents", Suite.RISTRETTO255_SHA512, Mode.POPRF, RISTRETTO_KEY, 1),),
    )


def sample(version: int = 3) -> Directory:
    return Directory(
        version=version,
        issued_at=ISSUED,
        coordinator_id="gs-lyon",
        coordinator_endpoint=HostPort("gs.example.org", 7400),
        coordinator_fingerprint=GS_FINGERPRINT,
        ca_fingerprint=CA_FINGERPRINT,
        refresh_seconds=300,
        members=(fr_member(), de_member()),
        revoked=(Revocation("it-sco", REVOKED_AT, RevocationReason.KEY_COMPROMISE),),
    )


EXPECTED_TEXT = (
    "blindhit directory v1\n"
    "version 3\n"
    "issued 2026-01-05T09:30:00Z\n"
    f"coordinator gs-lyon gs.example.org:7400 {GS_FINGERPRINT}\n"
    f"ca {CA_FINGERPRINT}\n"
    "refresh 300\n"
    f"member de-bka DEU bka.example.de:7443 {DE_FINGERPRINT} {DE.verifier_key()}\n"
    "dataset persons ristretto255-SHA512 OPRF - 100000\n"
    f"dataset vehicles P256-SHA256 VOPRF {P256_KEY.hex()} 5000\n"
    f"member fr-ct FRA [::1]:7443 {FR_FINGERPRINT} {FR.verifier_key()}\n"
    f"dataset documents ristretto255-SHA512 POPRF {RISTRETTO_KEY.hex()} 1\n"
    "revoked it-sco 2026-01-04T17:00:00Z key-compromise\n"
)


# Encoding.


def test_canonical_text_is_exactly_the_documented_form() -> None:
    assert encode_directory(sample()) == EXPECTED_TEXT


def test_canonical_text_does_not_depend_on_the_order_given() -> None:
    shuffled = dataclasses.replace(sample(), members=(de_member(), fr_member()))
    assert shuffled == sample()
    assert encode_directory(shuffled) == EXPECTED_TEXT


def test_signed_bytes_are_stable() -> None:
    # Ed25519 is deterministic, so the same directory and key give the same note, byte for
    # byte: the note is a pure function of the directory.
    note = sign_directory(sample(), COORDINATOR)
    assert note == sign_directory(sample(), COORDINATOR)
    assert note.startswith(EXPECTED_TEXT + "\n\u2014 gs-lyon ")
    assert note.count("\n") == EXPECTED_TEXT.count("\n") + 2
    assert (
        hashlib.sha256(note.encode()).hexdigest()
        == hashlib.sha256(sign_note(EXPECTED_TEXT, [COORDINATOR]).encode()).hexdigest()
    )


def test_round_trip() -> None:
    directory = sample()
    assert decode_directory(encode_directory(directory)) == directory
    note = sign_directory(directory, COORDINATOR)
    assert open_directory(note, COORDINATOR.verifier(), seen_version=None) == directory
    assert open_directory(note.encode(), COORDINATOR.verifier(), seen_version=3) == directory


def test_empty_directory_round_trips() -> None:
    directory = dataclasses.replace(sample(1), members=(), revoked=())
    note = sign_directory(directory, COORDINATOR)
    assert open_directory(note, COORDINATOR.verifier(), seen_version=None) == directory


def test_sign_refuses_a_key_not_named_after_the_coordinator() -> None:
    with pytest.raises(InputError, match="must be signed with its key, got a key named 'de-bka'"):
        sign_directory(sample(), DE)


def test_sign_refuses_what_members_would_refuse() -> None:
    with pytest.raises(InputError, match="2 members; members accept at most 1"):
        sign_directory(sample(), COORDINATOR, limits=DirectoryLimits(max_members=1))
    with pytest.raises(InputError, match="larger than the 100 bytes"):
        sign_directory(sample(), COORDINATOR, limits=DirectoryLimits(max_note_bytes=100))


# Signatures and versions.


def test_tampered_note_is_refused() -> None:
    note = sign_directory(sample(), COORDINATOR)
    tampered = note.replace(" 5000\n", " 5001\n")
    assert tampered != note
    with pytest.raises(InvalidSignature, match=r"^directory: invalid signature for key gs-lyon"):
        open_directory(tampered, COORDINATOR.verifier(), seen_version=None)


def test_note_by_another_key_is_refused() -> None:
    impostor = Ed25519Signer.generate("gs-lyon")
    note = sign_directory(sample(), impostor)
    with pytest.raises(InvalidSignature, match="no valid signature by a known key"):
        open_directory(note, COORDINATOR.verifier(), seen_version=None)


def test_note_naming_another_coordinator_than_its_signer_is_refused() -> None:
    other = Ed25519Signer.generate("gs-paris")
    note = sign_note(EXPECTED_TEXT, [other])
    with pytest.raises(PeerError, match="names coordinator 'gs-lyon' but is signed by 'gs-paris'"):
        open_directory(note, other.verifier(), seen_version=None)


def test_rollback_is_refused() -> None:
    older = sign_directory(sample(2), COORDINATOR)
    with pytest.raises(
        DirectoryRollback,
        match=r"^directory version 2 is older than version 3 already seen; refusing a rollback$",
    ):
        open_directory(older, COORDINATOR.verifier(), seen_version=3)
    # The same version again is a refresh with nothing new; a newer one is progress.
    assert open_directory(older, COORDINATOR.verifier(), seen_version=2).version == 2
    assert open_directory(older, COORDINATOR.verifier(), seen_version=1).version == 2


def test_a_rollback_is_a_federation_error() -> None:
    assert issubclass(DirectoryRollback, FederationError)
    # What that buys: a member's refresh loop, which reports any federation problem and keeps
    # its last directory, treats a replayed directory the same way.
    older = sign_directory(sample(2), COORDINATOR)
    with pytest.raises(FederationError, match="refusing a rollback"):
        open_directory(older, COORDINATOR.verifier(), seen_version=5)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (b"\xff\xfe", "directory: not a signed note: expected a note in valid UTF-8"),
        ("blindhit directory v1\n", "directory: not a signed note: expected a blank line"),
        ("text\n\n\u2014 gs-lyon !!!\n", "directory: not a signed note: expected standard"),
    ],
)
def test_what_is_not_a_signed_note_is_a_peer_error(note: str | bytes, message: str) -> None:
    with pytest.raises(PeerError, match=f"^{message}"):
        open_directory(note, COORDINATOR.verifier(), seen_version=None)


def test_oversized_note_is_refused_before_parsing() -> None:
    note = sign_directory(sample(), COORDINATOR)
    with pytest.raises(PeerError, match=r"^directory: \d+ bytes, larger than the 1000 bytes"):
        open_directory(
            note,
            COORDINATOR.verifier(),
            seen_version=None,
            limits=DirectoryLimits(max_note_bytes=1000),
        )


# Strict parsing: each mutation of the canonical text is signed properly, so only the parser
# can refuse it.


def replaced(old: str, new: str) -> str:
    assert old in EXPECTED_TEXT, old
    return EXPECTED_TEXT.replace(old, new, 1)


def without_line(prefix: str) -> str:
    lines = EXPECTED_TEXT.splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith(prefix))


def swapped_members() -> str:
    lines = EXPECTED_TEXT.splitlines(keepends=True)
    # de-bka's block is lines 6..8, fr-ct's 9..10 (zero-based).
    return "".join(lines[:6] + lines[9:11] + lines[6:9] + lines[11:])


MALFORMED = [
    pytest.param(
        replaced("blindhit directory v1", "blindhit directory v2"),
        "directory line 1: expected 'blindhit directory v1', got 'blindhit directory v2'",
        id="header",
    ),
    pytest.param(
        replaced("version 3", "version 03"),
        "directory line 2: version: expected a positive decimal without leading zeros, got '03'",
        id="version-leading-zero",
    ),
    pytest.param(
        replaced("version 3", "version 0"),
        "directory line 2: version: expected a positive decimal",
        id="version-zero",
    ),
    pytest.param(
        replaced("version 3", "version  3"),
        "directory line 2: expected 'version' and 1 fields separated by single spaces",
        id="double-space",
    ),
    pytest.param(
        replaced("version 3\n", "version 3 \n"),
        "directory line 2: expected 'version' and 1 fields separated by single spaces",
        id="trailing-space",
    ),
    pytest.param(
        replaced("issued 2026-01-05T09:30:00Z", "issued 2026-01-05T09:30:00+00:00"),
        "directory line 3: issue time: expected a UTC time YYYY-MM-DDTHH:MM:SSZ",
        id="issued-offset",
    ),
    pytest.param(
        replaced("issued 2026-01-05T09:30:00Z", "issued 2026-02-30T09:30:00Z"),
        "directory line 3: issue time: day is out of range for month",
        id="issued-impossible-date",
    ),
    pytest.param(
        without_line("issued"),
        "directory line 3: expected a line starting 'issued', got 'coordinator gs-lyon",
        id="issued-missing",
    ),
    pytest.param(
        replaced("coordinator gs-lyon", "coordinator GS-LYON"),
        "directory line 4: coordinator id: expected a node id",
        id="coordinator-id",
    ),
    pytest.param(
        replaced("gs.example.org:7400", "gs.example.org:0"),
        "directory line 4: coordinator endpoint: expected a port from 1 to 65535, got 0",
        id="coordinator-port",
    ),
    pytest.param(
        replaced(f"ca {CA_FINGERPRINT}", "ca sha1:abcd"),
        "directory line 5: CA certificate fingerprint: expected a certificate fingerprint",
        id="ca-fingerprint",
    ),
    pytest.param(
        replaced("refresh 300", "refresh 5"),
        "directory: refresh interval: expected 10 to 86400 seconds, got 5",
        id="refresh-range",
    ),
    pytest.param(
        replaced("member de-bka DEU", "member de-bka DE"),
        "directory line 7: country: expected an ISO 3166-1 alpha-3 country code",
        id="country",
    ),
    pytest.param(
        replaced("bka.example.de:7443", "bka.example.de"),
        "directory line 7: endpoint: expected HOST:PORT",
        id="endpoint",
    ),
    pytest.param(
        replaced(DE_FINGERPRINT, DE_FINGERPRINT.upper()),
        "directory line 7: certificate fingerprint: expected a certificate fingerprint",
        id="member-fingerprint",
    ),
    pytest.param(
        replaced(DE.verifier_key(), DE.verifier_key()[:-4] + "AAA="),
        "directory line 7: identity key: expected <name>+<key ID>+<base64>",
        id="identity-key",
    ),
    pytest.param(
        replaced(DE.verifier_key(), FR.verifier_key()),
        "directory line 7: member de-bka: identity key is named 'fr-ct'",
        id="identity-key-of-another-member",
    ),
    pytest.param(
        replaced("member de-bka DEU bka.example.de:7443", "member de-bka DEU"),
        "directory line 7: expected 'member' and 5 fields",
        id="member-fields",
    ),
    pytest.param(
        replaced("persons ristretto255-SHA512", "persons ristretto255-SHA256"),
        "directory line 8: suite: expected one of ristretto255-SHA512, P256-SHA256",
        id="suite",
    ),
    pytest.param(
        replaced("ristretto255-SHA512 OPRF", "ristretto255-SHA512 oprf"),
        "directory line 8: mode: expected one of OPRF, VOPRF, POPRF, got 'oprf'",
        id="mode",
    ),
    pytest.param(
        replaced("OPRF - 100000", f"OPRF {RISTRETTO_KEY.hex()} 100000"),
        "directory line 8: dataset persons: an OPRF-mode dataset publishes no public key",
        id="key-in-oprf-mode",
    ),
    pytest.param(
        replaced(f"VOPRF {P256_KEY.hex()}", "VOPRF -"),
        "directory line 9: dataset vehicles: a VOPRF dataset needs its 33-byte P256-SHA256 "
        "public key, got 0 bytes",
        id="verifiable-without-key",
    ),
    pytest.param(
        replaced(f"VOPRF {P256_KEY.hex()}", "VOPRF 04" + P256_KEY.hex()[2:]),
        "directory line 9: dataset vehicles: the public key is not a valid P-256 element",
        id="invalid-element",
    ),
    pytest.param(
        replaced(f"VOPRF {P256_KEY.hex()}", f"VOPRF {P256_KEY.hex().upper()}"),
        "directory line 9: public key: expected lowercase hex or '-'",
        id="uppercase-hex",
    ),
    pytest.param(
        replaced(f"POPRF {RISTRETTO_KEY.hex()}", f"POPRF {bytes(32).hex()}"),
        "directory line 11: dataset documents: the public key is not a valid ristretto255 element",
        id="identity-element",
    ),
    pytest.param(
        replaced(" 100000\n", " 0\n"),
        "directory line 8: daily quota: expected a positive decimal",
        id="quota-zero",
    ),
    pytest.param(
        replaced(" 100000\n", " 1000000000001\n"),
        "directory line 8: dataset persons: expected a daily quota from 1 to 1000000000000",
        id="quota-too-large",
    ),
    pytest.param(
        replaced(
            "dataset persons ristretto255-SHA512 OPRF - 100000\n"
            f"dataset vehicles P256-SHA256 VOPRF {P256_KEY.hex()} 5000\n",
            f"dataset vehicles P256-SHA256 VOPRF {P256_KEY.hex()} 5000\n"
            "dataset persons ristretto255-SHA512 OPRF - 100000\n",
        ),
        "directory line 9: dataset 'persons' is out of order or repeated",
        id="datasets-unsorted",
    ),
    pytest.param(
        swapped_members(),
        "directory line 9: member 'de-bka' is out of order or repeated",
        id="members-unsorted",
    ),
    pytest.param(
        replaced("refresh 300\n", "refresh 300\ndataset x ristretto255-SHA512 OPRF - 1\n"),
        "directory line 7: unexpected line starting 'dataset'",
        id="dataset-before-any-member",
    ),
    pytest.param(
        replaced("revoked it-sco", "revoked de-bka"),
        "directory: member 'de-bka' is listed both as a member and as revoked",
        id="member-and-revoked",
    ),
    pytest.param(
        replaced("key-compromise", "stolen"),
        "directory line 12: reason: expected one of unspecified, key-compromise",
        id="reason",
    ),
    pytest.param(
        EXPECTED_TEXT + "member zz-top ZZZ\n",
        "directory line 13: unexpected line starting 'member'",
        id="member-after-revoked",
    ),
    pytest.param(
        EXPECTED_TEXT + "comment hello\n",
        "directory line 13: unexpected line starting 'comment'",
        id="unknown-keyword",
    ),
    pytest.param(
        replaced("member fr-ct FRA", "member gs-lyon FRA"),
        "directory line 10: member gs-lyon: identity key is named 'fr-ct'",
        id="coordinator-as-member",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_directory_is_refused_with_its_message(text: str, message: str) -> None:
    note = sign_note(text, [COORDINATOR])
    with pytest.raises(PeerError) as caught:
        open_directory(note, COORDINATOR.verifier(), seen_version=None)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_text_must_end_in_a_newline() -> None:
    with pytest.raises(PeerError, match=r"^directory: expected a text ending in a newline$"):
        decode_directory(EXPECTED_TEXT[:-1])


def test_a_truncated_directory_names_what_is_missing() -> None:
    with pytest.raises(
        PeerError, match=r"^directory: expected a line starting 'version' after line 1$"
    ):
        decode_directory("blindhit directory v1\n")


def test_counts_beyond_the_limits_are_refused() -> None:
    with pytest.raises(PeerError, match=r"^directory line 9: more than 1 datasets for a member$"):
        decode_directory(EXPECTED_TEXT, limits=DirectoryLimits(max_datasets_per_member=1))
    with pytest.raises(PeerError, match=r"^directory line 10: more than 1 members$"):
        decode_directory(EXPECTED_TEXT, limits=DirectoryLimits(max_members=1))
    with pytest.raises(PeerError, match=r"^directory line 12: more than 0 revoked members$"):
        decode_directory(EXPECTED_TEXT, limits=DirectoryLimits(max_revoked=0))


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=len(EXPECTED_TEXT) - 1),
    replacement=st.sampled_from(["", " ", "0", "a", "Z", "-", ":", "\n", "+", "é"]),
)
def test_any_mutation_is_refused_as_a_peer_error_or_is_harmless(
    position: int, replacement: str
) -> None:
    text = EXPECTED_TEXT[:position] + replacement + EXPECTED_TEXT[position + 1 :]
    refusal: str | None = None
    try:
        directory = decode_directory(text)
    except PeerError as exc:
        refusal = str(exc)
    if refusal is not None:
        assert "\n" not in refusal
    else:
        # Whatever is accepted is canonical: it encodes back to exactly the text.
        assert encode_directory(directory) == text


# The model.


def test_model_refuses_inconsistent_directories() -> None:
    with pytest.raises(InputError, match="member 'de-bka' is listed twice"):
        dataclasses.replace(sample(), members=(de_member(), de_member()))
    with pytest.raises(InputError, match="the coordinator 'gs-lyon' is not one of the members"):
        dataclasses.replace(
            sample(), revoked=(Revocation("gs-lyon", REVOKED_AT, RevocationReason.WITHDRAWN),)
        )
    with pytest.raises(InputError, match="expected whole seconds"):
        dataclasses.replace(sample(), issued_at=ISSUED.replace(microsecond=5))
    with pytest.raises(InputError, match="expected a time with a time zone"):
        dataclasses.replace(sample(), issued_at=ISSUED.replace(tzinfo=None))
    with pytest.raises(InputError, match="version: expected 1 to"):
        dataclasses.replace(sample(), version=0)
    with pytest.raises(InputError, match="dataset 'persons' is listed twice"):
        dataclasses.replace(
            de_member(),
            datasets=(
                DirectoryDataset("persons", Suite.RISTRETTO255_SHA512, Mode.OPRF, b"", 1),
                DirectoryDataset("persons", Suite.P256_SHA256, Mode.OPRF, b"", 2),
            ),
        )
    with pytest.raises(InputError, match="expected a reason among"):
        Revocation("it-sco", REVOKED_AT, "lost")  # type: ignore[arg-type]


# Use by members.


def test_peers_are_the_other_members_with_pinned_certificates() -> None:
    peers = peers_from_directory(sample(), "fr-ct")
    assert [(peer.id, str(peer.endpoint)) for peer in peers] == [("de-bka", "bka.example.de:7443")]
    (peer,) = peers
    assert peer.certificate_fingerprint == DE_FINGERPRINT
    assert peer.identity_key == DE.verifier()
    # The coordinating node talks to every member.
    assert [peer.id for peer in peers_from_directory(sample(), "gs-lyon")] == ["de-bka", "fr-ct"]


def test_a_revoked_or_unknown_node_has_no_peers() -> None:
    with pytest.raises(
        FederationError,
        match=r"^node 'it-sco' is not a member in directory version 3: it was revoked at "
        r"2026-01-04T17:00:00Z \(key-compromise\)$",
    ):
        peers_from_directory(sample(), "it-sco")
    with pytest.raises(FederationError, match="it is not listed"):
        peers_from_directory(sample(), "es-cgpj")
