"""The querier's cache of its peers' match indexes, in the node's SQLite database.

A cached index is kept in its canonical wire form with the header the peer signed off on (suite,
mode, public key, keying profile, epoch, digest), so that a later sync asks only for the delta
from that epoch and a restart does not need a full transfer. An index whose digest does not match
the header it came with is never cached. Nothing here is secret to the querier, but it is still
the owner's published data: it stays in this node's database and is not logged.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from crypto.errors import PeerError, StorageError
from crypto.oprf import Mode, Suite
from node.storage.schema import NODE_SCHEMA
from node.storage.sqlite import Store
from protocol.match_index import DecodedIndex, apply_delta, decode_index

__all__ = ["CachedIndex", "PeerIndexCache"]

# A peer may not make this node hold more than this many index entries for one dataset.
MAX_INDEX_ENTRIES = 200_000_000


@dataclass(frozen=True)
class CachedIndex:
    """A peer's index of one dataset at one epoch, decoded and checked against its digest."""

    peer: str
    dataset: str
    epoch: int
    suite: Suite
    mode: Mode
    public_key: bytes
    keying_profile: str
    index: DecodedIndex
    max_batch: int = 0
    """The most elements the peer takes in one request, as its index header said; 0: unknown."""


class PeerIndexCache:
    """Read and update cached peer indexes; decoded indexes are also kept in memory."""

    def __init__(self, database: Path) -> None:
        self._lock = threading.Lock()
        self._memory: dict[tuple[str, str], CachedIndex] = {}
        # The table is `peer_indexes` of `node.storage.schema`.
        self._store = Store(database, NODE_SCHEMA)

    def close(self) -> None:
        self._store.close()

    def get(self, peer: str, dataset: str) -> CachedIndex | None:
        """The cached index of `peer`'s `dataset`, or None."""
        with self._lock:
            cached = self._memory.get((peer, dataset))
            if cached is not None:
                return cached
            with self._store.read() as db:
                row = db.execute(
                    "SELECT epoch, suite, mode, public_key, keying_profile, digest, payload, "
                    "max_batch FROM peer_indexes WHERE peer = ? AND dataset = ?",
                    (peer, dataset),
                ).fetchone()
        if row is None:
            return None
        epoch, suite, mode, public_key, profile, digest, payload, max_batch = row
        index = decode_index(bytes(payload), max_count=MAX_INDEX_ENTRIES)
        if index.digest() != bytes(digest):
            return None
        cached = CachedIndex(
            peer, dataset, int(epoch), Suite.from_identifier(str(suite)), Mode(int(mode)),
            bytes(public_key), str(profile), index, int(max_batch),
        )  # fmt: skip
        with self._lock:
            self._memory[(peer, dataset)] = cached
        return cached

    def update(
        self,
        peer: str,
        dataset: str,
        *,
        epoch: int,
        suite: Suite,
        mode: Mode,
        public_key: bytes,
        keying_profile: str,
        digest: bytes,
        payload: bytes,
        delta: bool,
        max_batch: int = 0,
    ) -> CachedIndex:
        """Apply a full index or a delta from the peer and cache the result.

        Raises `PeerError` if the payload does not decode, a delta does not apply to the cached
        epoch, or the result does not have the digest the peer announced.
        """
        if delta:
            base = self.get(peer, dataset)
            if base is None:
                raise PeerError(f"peer {peer} sent a delta but no index of {dataset} is cached")
            index = apply_delta(base.index, payload, max_count=MAX_INDEX_ENTRIES)
        else:
            index = decode_index(payload, max_count=MAX_INDEX_ENTRIES)
        if index.digest() != digest:
            raise PeerError(f"the index of {dataset} from peer {peer} does not match its digest")
        cached = CachedIndex(
            peer, dataset, epoch, suite, mode, public_key, keying_profile, index, max_batch
        )
        with self._lock:
            try:
                with self._store.transaction() as db:
                    db.execute(
                        "INSERT OR REPLACE INTO peer_indexes (peer, dataset, epoch, suite, mode, "
                        "public_key, keying_profile, digest, payload, max_batch) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            peer, dataset, epoch, suite.value.identifier, int(mode), public_key,
                            keying_profile, digest, index.encode(), max_batch,
                        ),
                    )  # fmt: skip
            except sqlite3.Error as error:
                raise StorageError(f"cannot cache the index of {peer}: {error}") from error
            self._memory[(peer, dataset)] = cached
        return cached

    def set_max_batch(self, peer: str, dataset: str, max_batch: int) -> CachedIndex | None:
        """Record the batch limit a peer's header gave for an index already cached at its epoch."""
        cached = self.get(peer, dataset)
        if cached is None or cached.max_batch == max_batch:
            return cached
        updated = dataclasses.replace(cached, max_batch=max_batch)
        with self._lock:
            try:
                with self._store.transaction() as db:
                    db.execute(
                        "UPDATE peer_indexes SET max_batch = ? WHERE peer = ? AND dataset = ?",
                        (max_batch, peer, dataset),
                    )
            except sqlite3.Error as error:
                raise StorageError(f"cannot cache the index of {peer}: {error}") from error
            self._memory[(peer, dataset)] = updated
        return updated
