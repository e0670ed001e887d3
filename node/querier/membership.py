"""A member's view of its federation: the signed directory, and the witness of its log.

With `[federation]` in node.toml, a member's peers are the members of the coordinating node's
latest signed directory, not `[[peers]]`: `Membership.refresh` fetches the directory over mutual
TLS (`Directory.GetDirectory`), verifies it with the coordinating node's key from node.toml,
refuses a version older than any it has seen (`protocol.directory.DirectoryRollback`), and keeps
every accepted version in the node's database (`mb_directories`), so that a restart or a
command run offline uses the latest one it verified. `effective_config` turns it into the peers
the node trusts; a member revoked or dropped from the directory is refused from the next
refresh on (`blindhit serve` refreshes every `refresh_seconds` of `[federation]`, or more often
if the directory asks for it).

`Membership.witness` sends the node's newest checkpoint to the coordinating node's witness with
a consistency proof from the last one it cosigned, and keeps the cosigned checkpoint in the
audit log's tables (`node.audit`), where exports and `blindhit audit verify --witness-key` find
it.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from crypto.cosignature import CosignatureVerifier
from crypto.errors import FederationError
from node.audit import AuditLog, CheckpointIssuer
from node.config import FederationSettings, NodeConfig
from node.keys.tls import TlsCredentials
from node.storage.schema import NODE_SCHEMA
from node.storage.sqlite import open_database
from node.storage.times import format_time
from node.transport.rpc import RECONNECT_OPTIONS
from proto.blindhit.v1 import federation_pb2
from proto.services import DIRECTORY, WITNESS, Service
from protocol.directory import Directory, open_directory, peers_from_directory

__all__ = ["Membership", "effective_config"]

_DEADLINE_SECONDS = 10.0


def effective_config(config: NodeConfig, directory: Directory | None) -> NodeConfig:
    """`config` with its peers taken from `directory` (none before the first directory)."""
    if config.federation is None:
        return config
    if directory is None:
        return dataclasses.replace(config, peers=())
    return dataclasses.replace(config, peers=peers_from_directory(directory, config.node.id))


class Membership:
    """The stored directory of one member, and its channel to the coordinating node."""

    def __init__(self, config: NodeConfig, tls: TlsCredentials) -> None:
        if config.federation is None:
            raise FederationError("this node has no [federation] in node.toml")
        self._config = config
        self._federation: FederationSettings = config.federation
        self._tls = tls
        self._lock = threading.Lock()
        # The table is `mb_directories` of `node.storage.schema`.
        self._connection = open_database(config.node.database, NODE_SCHEMA)
        self._channel: grpc.Channel | None = None
        self._directory = self._load()

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            self._connection.close()

    @property
    def directory(self) -> Directory | None:
        """The latest verified directory, or None before the first fetch."""
        return self._directory

    def refresh_interval(self) -> float:
        """How often to refresh: node.toml's interval, or the directory's if that is shorter."""
        wanted = self._federation.refresh_seconds
        if self._directory is not None:
            wanted = min(wanted, float(self._directory.refresh_seconds))
        return wanted

    def _load(self) -> Directory | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT note FROM mb_directories ORDER BY version DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        # Stored only after verification; verified again, since the file is not a trust anchor.
        return open_directory(str(row[0]), self._federation.identity_key, seen_version=None)

    def _stub(self) -> grpc.Channel:
        with self._lock:
            if self._channel is None:
                self._channel = grpc.secure_channel(
                    str(self._federation.endpoint),
                    self._tls.channel_credentials(),
                    options=list(RECONNECT_OPTIONS),
                )
            return self._channel

    def _call(self, service: Service, method: str, request: Any, response: Any) -> Any:  # noqa: ANN401
        call = service.unary_unary(
            self._stub(), method, type(request).SerializeToString, response.FromString
        )
        try:
            return call(request, timeout=_DEADLINE_SECONDS)
        except grpc.RpcError as error:
            failed: Any = error
            details = (failed.details() if hasattr(failed, "details") else None) or "no detail"
            raise FederationError(
                f"the coordinating node {self._federation.coordinator} did not answer: {details}"
            ) from None

    def refresh(self) -> Directory:
        """Fetch the coordinating node's directory; keep it if it is newer. Returns the latest.

        Raises:
            FederationError: the coordinating node cannot be reached, or its directory is older
                than one already seen (`DirectoryRollback`), or malformed.
            InvalidSignature: the directory is not signed by the coordinating node's key.
        """
        have = self._directory.version if self._directory is not None else 0
        answer = self._call(
            DIRECTORY,
            "GetDirectory",
            federation_pb2.DirectoryRequest(have_version=have),
            federation_pb2.DirectoryResponse,
        )
        if not answer.signed_directory:
            if self._directory is None or answer.version != have:
                raise FederationError("the coordinating node sent no directory")
            return self._directory
        directory = open_directory(
            answer.signed_directory,
            self._federation.identity_key,
            seen_version=have or None,
        )
        if directory.version > have:
            with self._lock:
                self._connection.execute(
                    "INSERT OR IGNORE INTO mb_directories (version, note, fetched_at) "
                    "VALUES (?, ?, ?)",
                    (directory.version, answer.signed_directory, format_time(datetime.now(UTC))),
                )
            self._directory = directory
        assert self._directory is not None
        return self._directory

    def members_offering(self, dataset: str) -> list[str]:
        """Members other than this node whose directory entry lists `dataset`."""
        if self._directory is None:
            return []
        return [
            member.id
            for member in self._directory.members
            if member.id != self._config.node.id and any(d.name == dataset for d in member.datasets)
        ]

    def witness_verifier(self) -> CosignatureVerifier:
        """The witness's cosignature key: the coordinating node's key, cosignature/v1 type."""
        key = self._federation.identity_key
        return CosignatureVerifier(key.name, key.public_key)

    def witness(self, audit: AuditLog, checkpoints: CheckpointIssuer) -> int:
        """Have the newest checkpoint cosigned; keep the cosigned note. Returns its size."""
        checkpoint = checkpoints.issue()
        origin = self._config.node.id
        cosigned = self._call(
            WITNESS,
            "GetCosigned",
            federation_pb2.CosignedRequest(origin=origin),
            federation_pb2.CosignedResponse,
        )
        old_size = int(cosigned.size)
        size = checkpoint.checkpoint.size
        if old_size == size and cosigned.cosigned_checkpoint:
            return size
        proof = audit.consistency_proof(old_size, size) if 0 < old_size < size else []
        answer = self._call(
            WITNESS,
            "Cosign",
            federation_pb2.CosignRequest(
                checkpoint=checkpoint.note, old_size=old_size, consistency_proof=proof
            ),
            federation_pb2.CosignResponse,
        )
        checkpoints.store_cosigned(answer.cosigned_checkpoint, self.witness_verifier())
        return size


def database_path(config: NodeConfig) -> Path:
    return config.node.database
