"""The member node's gRPC Audit service: its latest signed checkpoint and RFC 9162 proofs.

A peer holding receipts from this node (`node.audit.receipts`) asks here whether the node still
shows it the same log: the latest checkpoint, an inclusion proof of one of its receipts' entries
in a tree it holds a checkpoint of, and a consistency proof between two trees. The peer verifies
every answer itself (`crypto.merkle.verify_inclusion`, `crypto.merkle.verify_consistency`, the
checkpoint's signature by the node's identity key); the node vouches for nothing but the notes
it signs, so answers need no envelope.

The steps, in the order of the Match service's (`node.owner.match_service`):

1. the peer is a known peer, by its mTLS certificate (the coordinating node, which asks nothing
   on its own behalf of a member, is refused like an unknown one);
2. the request is decoded here from raw bytes, so that an undecodable one is answered
   INVALID_ARGUMENT, not INTERNAL by the gRPC runtime;
3. sizes and indexes are within the log (INVALID_ARGUMENT otherwise), and an inclusion proof is
   only of an entry whose counterpart is the asking peer (PERMISSION_DENIED otherwise): the
   entries of other peers' requests are theirs and the auditors', and even the existence of a
   particular one is none of this peer's business beyond the log's size.

Reading proofs is not written to the audit log. The log records requests about data (checks,
disclosures) and the node's own changes; an answer here discloses no record, no probe and no
other peer's entry, only a signed size and root and hashes the peer can already derive from what
it holds. And an entry per read would make the log grow with every verification of it: a peer
checking consistency on a schedule would keep changing the very tree it checks, filling the log
with entries that account for nothing. The reads are logged locally, at debug level.
"""

from __future__ import annotations

import logging
from typing import TypeVar

import grpc
from google.protobuf.message import DecodeError

from crypto.errors import InputError, NotPermitted, PeerError
from node.audit import AuditLog, CheckpointIssuer
from node.owner.match_service import MatchService
from node.transport.rpc import rpc
from proto.blindhit.v1 import audit_pb2

__all__ = ["AuditService"]

_log = logging.getLogger("blindhit.node")


class AuditService:
    """GetCheckpoint, GetInclusionProof and GetConsistencyProof over this node's audit log."""

    def __init__(self, match: MatchService, audit: AuditLog, checkpoints: CheckpointIssuer) -> None:
        self._match = match
        self._audit = audit
        self._checkpoints = checkpoints

    @rpc
    def GetCheckpoint(  # noqa: N802 (the name is fixed by the service definition)
        self, raw: bytes, context: grpc.ServicerContext
    ) -> audit_pb2.CheckpointResponse:
        peer = self._match.authenticate(context)
        _decode(audit_pb2.CheckpointRequest, raw)
        # The timer signs the grown log every interval and every receipt signs the checkpoint
        # it quotes, so the latest stored one is current; only a log never signed gets one here.
        signed = self._checkpoints.latest() or self._checkpoints.issue()
        _log.debug("audit: checkpoint of size %d for %s", signed.size, peer)
        return audit_pb2.CheckpointResponse(checkpoint=signed.note)

    @rpc
    def GetInclusionProof(  # noqa: N802
        self, raw: bytes, context: grpc.ServicerContext
    ) -> audit_pb2.InclusionProofResponse:
        peer = self._match.authenticate(context)
        request = _decode(audit_pb2.InclusionProofRequest, raw)
        size = self._tree_size(request.tree_size, "tree_size")
        index = request.entry_index
        if index >= size:
            raise InputError(f"entry_index {index} is not in a tree of size {size}")
        if self._audit.entry(index).counterpart != peer:
            raise NotPermitted(f"entry {index} of this log is not one of {peer}'s")
        proof = self._audit.inclusion_proof(index, size)
        _log.debug("audit: inclusion of entry %d in size %d for %s", index, size, peer)
        return audit_pb2.InclusionProofResponse(leaf_hash=self._audit.leaf_hash(index), proof=proof)

    @rpc
    def GetConsistencyProof(  # noqa: N802
        self, raw: bytes, context: grpc.ServicerContext
    ) -> audit_pb2.ConsistencyProofResponse:
        peer = self._match.authenticate(context)
        request = _decode(audit_pb2.ConsistencyProofRequest, raw)
        second = self._tree_size(request.second_size, "second_size")
        first = request.first_size
        if not 0 < first <= second:
            raise InputError(f"first_size must be in [1, second_size {second}], got {first}")
        proof = self._audit.consistency_proof(first, second)
        _log.debug("audit: consistency of sizes %d and %d for %s", first, second, peer)
        return audit_pb2.ConsistencyProofResponse(proof=proof)

    def _tree_size(self, size: int, field: str) -> int:
        current = self._audit.size
        if not 0 < size <= current:
            raise InputError(f"{field} must be in [1, {current}] (the log's size), got {size}")
        return size


_Message = TypeVar(
    "_Message",
    audit_pb2.CheckpointRequest,
    audit_pb2.InclusionProofRequest,
    audit_pb2.ConsistencyProofRequest,
)


def _decode(message: type[_Message], raw: bytes) -> _Message:
    try:
        return message.FromString(raw)
    except DecodeError:
        name = message.DESCRIPTOR.name
        raise PeerError(f"the request is not a {name}") from None
