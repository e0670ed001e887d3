"""Signed envelopes refuse every change to the body, the label, the signer or the signature."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.errors import PeerError, UnknownPeer
from node.transport.envelope import Label, open_envelope, seal_envelope
from proto.blindhit.v1 import common_pb2

ES_KEY = Ed25519PrivateKey.generate()
FR_KEY = Ed25519PrivateKey.generate()
TRUSTED = {"es-ct": ES_KEY.public_key(), "fr-ct": FR_KEY.public_key()}
BODY = b"\x0a\x05hello serialised request"


def test_round_trip() -> None:
    envelope = seal_envelope(Label.BLIND_EVALUATE_REQUEST, BODY, "es-ct", ES_KEY)
    decoded = common_pb2.SignedEnvelope.FromString(envelope.SerializeToString())
    assert open_envelope(Label.BLIND_EVALUATE_REQUEST, decoded, TRUSTED) == BODY
    assert (
        open_envelope(Label.BLIND_EVALUATE_REQUEST, decoded, TRUSTED, expected_signer="es-ct")
        == BODY
    )


def _envelope(body: bytes, signer: str, signature: bytes = b"") -> common_pb2.SignedEnvelope:
    return common_pb2.SignedEnvelope(body=body, signer=signer, signature=signature)


def _mutations() -> list[tuple[str, common_pb2.SignedEnvelope]]:
    good = seal_envelope(Label.BLIND_EVALUATE_REQUEST, BODY, "es-ct", ES_KEY)
    flipped = bytearray(good.body)
    flipped[3] ^= 1
    bad_signature = bytearray(good.signature)
    bad_signature[0] ^= 0x80
    return [
        ("body bit flipped", _envelope(bytes(flipped), "es-ct", good.signature)),
        ("body truncated", _envelope(BODY[:-1], "es-ct", good.signature)),
        ("body appended", _envelope(BODY + b"\x00", "es-ct", good.signature)),
        ("signature flipped", _envelope(BODY, "es-ct", bytes(bad_signature))),
        ("signature missing", _envelope(BODY, "es-ct")),
        ("other trusted signer claimed", _envelope(BODY, "fr-ct", good.signature)),
    ]


@pytest.mark.parametrize(("case", "envelope"), _mutations(), ids=[c for c, _ in _mutations()])
def test_mutations_are_refused(case: str, envelope: common_pb2.SignedEnvelope) -> None:
    with pytest.raises(PeerError, match="does not verify"):
        open_envelope(Label.BLIND_EVALUATE_REQUEST, envelope, TRUSTED)


def test_label_binds_the_purpose() -> None:
    envelope = seal_envelope(Label.BLIND_EVALUATE_RESPONSE, BODY, "es-ct", ES_KEY)
    with pytest.raises(PeerError, match="the signature of the message does not verify"):
        open_envelope(Label.BLIND_EVALUATE_REQUEST, envelope, TRUSTED)


def test_unknown_signer_and_wrong_connection() -> None:
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(UnknownPeer, match="the signing node is not a known peer"):
        open_envelope(
            Label.OWNER_MATCH_REQUEST,
            seal_envelope(Label.OWNER_MATCH_REQUEST, BODY, "xx-ct", stranger),
            TRUSTED,
        )
    envelope = seal_envelope(Label.OWNER_MATCH_REQUEST, BODY, "es-ct", ES_KEY)
    with pytest.raises(PeerError, match="another node"):
        open_envelope(Label.OWNER_MATCH_REQUEST, envelope, TRUSTED, expected_signer="fr-ct")


@pytest.mark.parametrize(
    "envelope",
    [
        common_pb2.SignedEnvelope.FromString(b""),
        _envelope(
            BODY, "", seal_envelope(Label.OWNER_MATCH_REQUEST, BODY, "es-ct", ES_KEY).signature
        ),
    ],
    ids=["empty request bytes", "no signer"],
)
def test_an_empty_envelope_says_so(envelope: common_pb2.SignedEnvelope) -> None:
    # Not "signed by another node": an empty request names no node at all.
    with pytest.raises(PeerError, match=r"^the request is empty or not a signed envelope$"):
        open_envelope(Label.OWNER_MATCH_REQUEST, envelope, TRUSTED, expected_signer="es-ct")
