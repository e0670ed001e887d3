"""Several member nodes on one machine, for the demo, benchmarks and integration tests.

Creates a development CA and node directories under one root, all on loopback with ephemeral
ports, and rewrites their `node.toml` to know each other once the ports are known. Everything is
real: the same `init_node_directory`, keys, certificates and configuration files an operator
would have; only the choice of names and ports is automatic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from crypto.signed_note import Ed25519Verifier
from federation.ca import CertificateAuthority, certifier, create_ca
from node.config import Dataset, KeySettings, NodeConfig, PolicyRule, load_config, update_config
from node.home import InitResult, NodeLayout, init_node_directory
from protocol.admission import QueryMode
from protocol.directory import Peer
from protocol.validation import HostPort

__all__ = ["LocalNode", "allow", "create_local_nodes", "introduce"]

_CA_PASSPHRASE = b"local development CA"


@dataclasses.dataclass(frozen=True)
class LocalNode:
    """A node directory made by `create_local_nodes`."""

    node_id: str
    root: Path
    verifier_key: str

    @property
    def config_path(self) -> Path:
        return NodeLayout(self.root).config

    def config(self) -> NodeConfig:
        return load_config(self.config_path)

    def rewrite(self, **changes: object) -> None:
        """Replace fields of the node's `NodeConfig` and edit `node.toml` to match."""
        config = dataclasses.replace(self.config(), **changes)  # type: ignore[arg-type]
        update_config(self.config_path, config)


def create_local_nodes(
    root: Path, nodes: Sequence[tuple[str, str]], passphrase_env: str
) -> list[LocalNode]:
    """Create a CA and one node directory per (node id, country) under `root`.

    The passphrase of every key is read from the environment variable `passphrase_env`.
    """
    root.mkdir(parents=True, exist_ok=True)
    ca: CertificateAuthority = create_ca(root / "ca", "Local development CA", _CA_PASSPHRASE)
    made = []
    for node_id, country in nodes:
        result: InitResult = init_node_directory(
            root / node_id,
            node_id=node_id,
            country=country,
            listen=HostPort("127.0.0.1", 0),
            keys=KeySettings(passphrase_env=passphrase_env),
            certify=certifier(ca),
        )
        made.append(LocalNode(node_id, result.layout.root, result.identity_verifier_key))
    return made


def allow(
    owner: LocalNode,
    queriers: Sequence[LocalNode],
    datasets: Sequence[Dataset],
    *,
    daily_quota: int = 1_000_000,
    modes: Sequence[QueryMode] = (QueryMode.INDEX, QueryMode.OWNER_MATCH),
) -> None:
    """Give `owner` its datasets and let every querier use all of them."""
    names = tuple(dataset.name for dataset in datasets)
    config = owner.config()
    peers = {peer.id: peer for peer in config.peers}
    for querier in queriers:
        # An owner answers queriers and never calls them, so their endpoint is a placeholder
        # until `introduce` gives the real one.
        peers.setdefault(querier.node_id, _peer(querier, HostPort("127.0.0.1", 1)))
    rules = tuple(
        PolicyRule(q.node_id, names, tuple(modes), config.limits.max_batch, daily_quota)
        for q in queriers
    )
    owner.rewrite(peers=tuple(peers.values()), datasets=tuple(datasets), policy=rules)


def introduce(querier: LocalNode, owner: LocalNode, port: int) -> None:
    """Tell `querier` where `owner` listens (after the owner's server has bound its port)."""
    config = querier.config()
    peers = [peer for peer in config.peers if peer.id != owner.node_id]
    peers.append(_peer(owner, HostPort("127.0.0.1", port)))
    querier.rewrite(peers=tuple(peers))


def _peer(node: LocalNode, endpoint: HostPort) -> Peer:
    return Peer(node.node_id, endpoint, Ed25519Verifier.from_verifier_key(node.verifier_key))
