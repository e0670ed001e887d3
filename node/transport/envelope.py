"""Signed envelopes: how requests and answers stay authentic across relays (docs/promises.md).

A `SignedEnvelope` carries the serialised inner message as bytes and an Ed25519 signature by the
sending node over a domain label, a zero byte, and those bytes. The label names the RPC and the
direction, so a signature made for one purpose cannot be replayed as another (a signed answer is
never a valid request, a BlindEvaluate request never a valid OwnerMatch request). Protobuf
encodings are not canonical, which is why the exact bytes are signed and kept.

Opening an envelope checks the signer against the identity keys this node trusts and raises
`PeerError` with one message whatever failed inside, so a peer learns nothing from the failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import PeerError, UnknownPeer
from proto.blindhit.v1 import common_pb2

__all__ = ["NOT_AN_ENVELOPE", "Label", "is_empty", "open_envelope", "seal_envelope"]

NOT_AN_ENVELOPE = "the request is empty or not a signed envelope"
"""The one message for bytes that decode to no envelope, or to one that names no signer."""

# A signed body larger than this is refused before its signature is checked.
MAX_BODY_BYTES = 64 * 1024 * 1024


class Label(Enum):
    """Domain labels of the signed messages, one per RPC and direction."""

    INDEX_REQUEST = b"blindhit/v1 Match.SyncIndex request"
    BLIND_EVALUATE_REQUEST = b"blindhit/v1 Match.BlindEvaluate request"
    BLIND_EVALUATE_RESPONSE = b"blindhit/v1 Match.BlindEvaluate response"
    OWNER_MATCH_REQUEST = b"blindhit/v1 Match.OwnerMatch request"
    OWNER_MATCH_RESPONSE = b"blindhit/v1 Match.OwnerMatch response"
    DISCLOSURE_REQUEST = b"blindhit/v1 Disclosure.RequestDisclosure request"
    DISCLOSURE_ACK = b"blindhit/v1 Disclosure.RequestDisclosure response"
    FETCH_REQUEST = b"blindhit/v1 Disclosure.FetchRelease request"
    FETCH_RESPONSE = b"blindhit/v1 Disclosure.FetchRelease response"


def _signed_bytes(label: Label, body: bytes) -> bytes:
    return label.value + b"\x00" + body


def seal_envelope(
    label: Label, body: bytes, signer: str, key: Ed25519PrivateKey
) -> common_pb2.SignedEnvelope:
    """Sign `body` (a serialised message) as node `signer` for the purpose `label`."""
    return common_pb2.SignedEnvelope(
        body=body, signer=signer, signature=key.sign(_signed_bytes(label, body))
    )


def is_empty(envelope: common_pb2.SignedEnvelope) -> bool:
    """Whether `envelope` names no signer, as empty request bytes decode (protobuf: all unset)."""
    return not envelope.signer


def open_envelope(
    label: Label,
    envelope: common_pb2.SignedEnvelope,
    trusted: Mapping[str, Ed25519PublicKey],
    *,
    expected_signer: str | None = None,
) -> bytes:
    """Return the body of `envelope` once its signature by a trusted node verifies.

    `expected_signer`, when given, is the node the transport authenticated (the mTLS peer): the
    envelope must be signed by that same node, so one member cannot pass off another's request.

    Raises:
        UnknownPeer: the signer is not a node this node trusts.
        PeerError: the envelope names no signer, the signer differs from `expected_signer`,
            the body is too large, or the signature does not verify.
    """
    # Checked first, so that an empty request is not reported as signed by the wrong node.
    if is_empty(envelope):
        raise PeerError(NOT_AN_ENVELOPE)
    if expected_signer is not None and envelope.signer != expected_signer:
        raise PeerError("the request is signed by another node than the one connected")
    public_key = trusted.get(envelope.signer)
    if public_key is None:
        raise UnknownPeer("the signing node is not a known peer")
    if len(envelope.body) > MAX_BODY_BYTES:
        raise PeerError(f"the signed message is larger than {MAX_BODY_BYTES} bytes")
    try:
        public_key.verify(envelope.signature, _signed_bytes(label, envelope.body))
    except _BadSignature:
        raise PeerError("the signature of the message does not verify") from None
    return envelope.body
