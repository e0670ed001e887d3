"""A node opened from its directory: configuration, keys, databases, ready to serve or check.

`NodeRuntime.open(node_dir)` reads `node.toml`, the passphrase from where `[keys]` says, the
identity key and the mutual-TLS credentials, and opens the audit log, its checkpoint issuer, the
policy tables and the peer-index cache in the node's database. Closing it stops the audit log's
writer after its last commit. Nothing here keeps a decrypted key on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.errors import FederationError
from crypto.signed_note import Ed25519Signer
from node.audit import AuditLog, CheckpointIssuer
from node.config import NodeConfig
from node.home import NodeLayout, load_node_config, load_tls_credentials
from node.keys.disclosure import load_disclosure_key
from node.keys.identity import load_private_key
from node.keys.tls import TlsCredentials
from node.owner.disclosure_desk import OwnerDesk
from node.owner.policy import PolicyEngine
from node.querier.checker import Querier
from node.querier.disclosure_desk import QuerierDesk
from node.querier.index_cache import PeerIndexCache
from node.querier.membership import Membership, effective_config
from node.storage.disclosure_requests import DisclosureStore

__all__ = ["NodeRuntime"]


@dataclass
class NodeRuntime:
    """Everything a running node holds open."""

    config: NodeConfig
    passphrase: bytes
    identity: Ed25519PrivateKey
    signer: Ed25519Signer
    tls: TlsCredentials
    audit: AuditLog
    checkpoints: CheckpointIssuer
    policy: PolicyEngine
    cache: PeerIndexCache
    disclosures: DisclosureStore
    membership: Membership | None = None
    _querier: Querier | None = None

    @classmethod
    def open(cls, node_dir: Path) -> NodeRuntime:
        """Open the node in `node_dir`; raises `InputError`/`StorageError` with one line."""
        config = load_node_config(node_dir)
        passphrase = config.keys.read_passphrase()
        identity = load_private_key(NodeLayout(config.directory).identity_key, passphrase)
        signer = Ed25519Signer(config.node.id, identity)
        tls = load_tls_credentials(node_dir, passphrase)
        database = config.node.database
        audit = AuditLog(database)
        try:
            checkpoints = CheckpointIssuer(audit, signer)
            policy = PolicyEngine(config, database)
            cache = PeerIndexCache(database)
            disclosures = DisclosureStore(database)
            membership = Membership(config, tls) if config.federation is not None else None
        except BaseException:
            audit.close()
            raise
        if membership is not None:
            config = effective_config(config, membership.directory)
            policy.reconfigure(config)
        return cls(
            config, passphrase, identity, signer, tls, audit, checkpoints, policy, cache,
            disclosures, membership,
        )  # fmt: skip

    def refresh_membership(self) -> bool:
        """Fetch the federation's directory; adopt its peers. Returns whether anything changed.

        Raises:
            FederationError: no coordinating node is configured, or it did not answer.
        """
        if self.membership is None:
            raise FederationError("this node has no [federation] in node.toml")
        before = self.membership.directory
        directory = self.membership.refresh()
        if before is not None and before.version == directory.version:
            return False
        self.config = effective_config(self.config, directory)
        self.policy.reconfigure(self.config)
        if self._querier is not None:
            self._querier.close()
            self._querier = None
        return True

    def querier(self) -> Querier:
        """The node as a querier; one per runtime, so channels to peers are reused."""
        if self._querier is None:
            self._querier = Querier(
                self.config, self.identity, self.tls, self.audit, self.cache, self.disclosures
            )
        return self._querier

    def owner_desk(self) -> OwnerDesk:
        """The owner's side of disclosure (decide, deliver)."""
        return OwnerDesk(self.config, self.disclosures, self.audit)

    def querier_desk(self) -> QuerierDesk:
        """The querier's side of disclosure (file, fetch), over this runtime's channels."""
        key = load_disclosure_key(self.config.directory, self.passphrase)
        querier = self.querier()
        return QuerierDesk(
            self.config, self.disclosures, self.audit, self.identity, key, querier.client
        )

    def close(self) -> None:
        if self._querier is not None:
            self._querier.close()
        self.cache.close()
        self.disclosures.close()
        if self.membership is not None:
            self.membership.close()
        self.policy.close()
        self.audit.close()

    def __enter__(self) -> NodeRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
