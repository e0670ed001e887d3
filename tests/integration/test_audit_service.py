"""The Audit service over real gRPC with mutual TLS on loopback: checkpoints and RFC 9162 proofs.

Two known nodes (the owner pl-ct and the querier fr-ct) and a stranger (de-ct, certified by the
same CA, knowing the owner, but not known to it). The owner's dataset is held in memory, as in
`test_match_service`; the receipts come from real checks, and every proof served is verified with
`crypto.merkle`'s verifiers, both through `PeerClient` and independently here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crypto import merkle
from crypto.errors import InvalidProof, PeerError
from crypto.signed_note import Checkpoint, open_checkpoint
from dev.localnet import allow, create_local_nodes, introduce
from dev.memory_dataset import MemoryDataset
from node.audit.receipts import Receipt
from node.config import Dataset
from node.owner.match_service import MatchService
from node.owner.peer_server import create_server
from node.querier.checker import Target
from node.querier.peer_client import PeerClient, PeerRefused
from node.runtime import NodeRuntime
from proto.blindhit.v1 import audit_pb2
from proto.services import AUDIT
from protocol.check import RequestPurpose
from protocol.directory import Peer

PASSPHRASE_ENV = "BLINDHIT_TEST_PASSPHRASE"
RECORDS: list[dict[str, object]] = [{"name": "Anna Maria Kowalczyk", "date_of_birth": "1988-11-02"}]
PROBES: list[dict[str, object]] = [{"name": "Anna Maria Kowalczyk", "date_of_birth": "1988-11-02"}]
PURPOSE = RequestPurpose("officer-17", "border-check", "EU-2016/680:Art.8", "FR-2026-0117")


@dataclass
class Nodes:
    owner: NodeRuntime
    querier: NodeRuntime
    stranger: NodeRuntime
    port: int

    def peer(self, runtime: NodeRuntime) -> Peer:
        [owner] = [peer for peer in runtime.config.peers if peer.id == "pl-ct"]
        return owner

    def client(self, runtime: NodeRuntime) -> PeerClient:
        config = runtime.config
        return PeerClient(
            config.node.id, runtime.identity, runtime.tls, self.peer(runtime), config.limits
        )

    def receipt(self) -> Receipt:
        [result] = self.querier.querier().check(PROBES, [Target("pl-ct", "watchlist")], PURPOSE)
        assert result.status == "answered", result.message
        assert result.receipt is not None
        return Receipt.from_text(result.receipt)


@pytest.fixture
def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Nodes]:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    owner, querier, stranger = create_local_nodes(
        tmp_path, [("pl-ct", "POL"), ("fr-ct", "FRA"), ("de-ct", "DEU")], PASSPHRASE_ENV
    )
    allow(owner, [querier], [Dataset("watchlist")])
    owner_runtime = NodeRuntime.open(owner.root)
    service = MatchService(
        owner_runtime.config,
        MemoryDataset("watchlist", RECORDS),
        owner_runtime.policy,
        owner_runtime.audit,
        owner_runtime.checkpoints,
        owner_runtime.identity,
    )
    server, port = create_server(owner_runtime.config, owner_runtime.tls, service, port=0)
    server.start()
    introduce(querier, owner, port)
    introduce(stranger, owner, port)
    querier_runtime = NodeRuntime.open(querier.root)
    stranger_runtime = NodeRuntime.open(stranger.root)
    try:
        yield Nodes(owner_runtime, querier_runtime, stranger_runtime, port)
    finally:
        server.stop(grace=None).wait()
        stranger_runtime.close()
        querier_runtime.close()
        owner_runtime.close()


def test_checkpoint_and_inclusion_proof_of_a_receipt_verify(nodes: Nodes) -> None:
    receipt = nodes.receipt()
    nodes.receipt()  # a later check, so that the first entry's proof is not empty
    owner_key = nodes.peer(nodes.querier).identity_key
    quoted = open_checkpoint(receipt.checkpoint_note, owner_key, origin="pl-ct")
    size_before = nodes.owner.audit.size
    with nodes.client(nodes.querier) as client:
        checkpoint, note = client.audit_checkpoint()
        assert checkpoint.origin == "pl-ct"
        assert checkpoint.size > quoted.size > receipt.index
        proof = client.audit_inclusion(receipt.index, receipt.leaf_hash, checkpoint)
        # The entry is in the tree the receipt quoted as well.
        client.audit_inclusion(receipt.index, receipt.leaf_hash, quoted)
    assert proof
    merkle.verify_inclusion(
        receipt.leaf_hash, receipt.index, checkpoint.size, proof, checkpoint.root_hash
    )
    assert proof == nodes.owner.audit.inclusion_proof(receipt.index, checkpoint.size)
    latest = nodes.owner.checkpoints.latest()
    assert latest is not None
    assert note == latest.note
    tampered = [bytes(32), *proof[1:]]
    with pytest.raises(InvalidProof, match="leads to root"):
        merkle.verify_inclusion(
            receipt.leaf_hash, receipt.index, checkpoint.size, tampered, checkpoint.root_hash
        )
    # Reading proofs writes nothing to the log it proves.
    assert nodes.owner.audit.size == size_before


def test_consistency_between_two_receipts_verifies_and_a_fork_is_caught(nodes: Nodes) -> None:
    owner_key = nodes.peer(nodes.querier).identity_key
    first = open_checkpoint(nodes.receipt().checkpoint_note, owner_key)
    second = open_checkpoint(nodes.receipt().checkpoint_note, owner_key)
    assert second.size > first.size
    with nodes.client(nodes.querier) as client:
        proof = client.audit_consistency(first, second)
        merkle.verify_consistency(first.size, second.size, first.root_hash, second.root_hash, proof)
        # A querier holding a checkpoint of another history (the same size, another root)
        # learns that the owner showed it a fork.
        forked = Checkpoint(first.origin, first.size, bytes(32))
        with pytest.raises(InvalidProof):
            client.audit_consistency(forked, second)


def test_inclusion_proof_only_of_the_peers_own_entries(nodes: Nodes) -> None:
    receipt = nodes.receipt()
    audit = nodes.owner.audit
    foreign = audit.append(dataclasses.replace(audit.entry(receipt.index), counterpart="de-ct"))
    nodes.owner.checkpoints.issue()
    with nodes.client(nodes.querier) as client:
        checkpoint, _ = client.audit_checkpoint()
        assert checkpoint.size > foreign
        with pytest.raises(PeerRefused, match=f"entry {foreign} of this log is not one of fr-ct"):
            client.audit_inclusion(foreign, receipt.leaf_hash, checkpoint)
        # Its own entries stay provable in the larger tree.
        client.audit_inclusion(receipt.index, receipt.leaf_hash, checkpoint)
        # A leaf the log does not hold at that index is caught by the client.
        with pytest.raises(PeerError, match=f"holds another entry at {receipt.index}$"):
            client.audit_inclusion(receipt.index, merkle.leaf_hash(b"other"), checkpoint)


@pytest.mark.parametrize(
    ("method", "request_message", "message"),
    [
        ("GetInclusionProof", audit_pb2.InclusionProofRequest(), "tree_size must be in"),
        (
            "GetInclusionProof",
            audit_pb2.InclusionProofRequest(entry_index=0, tree_size=2**64 - 1),
            "tree_size must be in",
        ),
        (
            "GetInclusionProof",
            audit_pb2.InclusionProofRequest(entry_index=2**63, tree_size=1),
            "entry_index 9223372036854775808 is not in a tree of size 1",
        ),
        ("GetConsistencyProof", audit_pb2.ConsistencyProofRequest(), "second_size must be in"),
        (
            "GetConsistencyProof",
            audit_pb2.ConsistencyProofRequest(first_size=0, second_size=1),
            "first_size must be in",
        ),
        (
            "GetConsistencyProof",
            audit_pb2.ConsistencyProofRequest(first_size=2, second_size=1),
            "first_size must be in",
        ),
    ],
)
def test_sizes_out_of_the_log_are_invalid_arguments(
    nodes: Nodes,
    method: str,
    request_message: audit_pb2.InclusionProofRequest | audit_pb2.ConsistencyProofRequest,
    message: str,
) -> None:
    nodes.receipt()
    code, details = _raw_call(nodes, nodes.querier, method, request_message.SerializeToString())
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert message in details
    assert "\n" not in details


@pytest.mark.parametrize("method", ["GetCheckpoint", "GetInclusionProof", "GetConsistencyProof"])
def test_undecodable_requests_are_invalid_arguments(nodes: Nodes, method: str) -> None:
    code, details = _raw_call(nodes, nodes.querier, method, b"\x0a\xff")
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("the request is not a ")


def test_an_unknown_node_is_refused(nodes: Nodes) -> None:
    with nodes.client(nodes.stranger) as client, pytest.raises(PeerRefused) as refused:
        client.audit_checkpoint()
    assert refused.value.status is grpc.StatusCode.UNAUTHENTICATED
    assert "de-ct is not a known peer" in str(refused.value)


def test_the_audit_service_reports_serving(nodes: Nodes) -> None:
    channel = grpc.secure_channel(
        f"127.0.0.1:{nodes.port}", nodes.querier.tls.channel_credentials()
    )
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=AUDIT.name), timeout=10
        )
    finally:
        channel.close()
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def _raw_call(
    nodes: Nodes, runtime: NodeRuntime, method: str, payload: bytes
) -> tuple[grpc.StatusCode, str]:
    channel = grpc.secure_channel(f"127.0.0.1:{nodes.port}", runtime.tls.channel_credentials())
    try:
        call = AUDIT.unary_unary(channel, method, lambda raw: raw, lambda raw: raw)
        try:
            call(payload, timeout=10)
        except grpc.RpcError as error:
            return error.code(), error.details() or ""
        return grpc.StatusCode.OK, ""
    finally:
        channel.close()
