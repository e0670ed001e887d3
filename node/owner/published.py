"""The owner's published datasets, as the Match service reads them from the node's store.

`StoredDatasets` is the Match service's `DatasetSource` over the node's `DatasetStore`. What it
serves of a dataset is its *published* epoch (committed and logged in the audit log), with the
OPRF key of that epoch's key version, unsealed once with the node's passphrase and kept in memory
only. An import running beside the server commits a new epoch and logs it; the next request sees
it, so a node never needs a restart to publish.

Threads. gRPC answers on a pool of threads; SQLite connections belong to the thread that opened
them. Every read of the store therefore runs on one dedicated thread holding the one connection
(`_StoreThread`), which also keeps the node to one page cache however many peers call. The reads
are short (an epoch row, a key, a tag range scan); the expensive results (the full encoding of
an epoch's index, a delta, the unsealed key) are cached by epoch, so a thousand peers syncing the
same epoch cost one rebuild.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from crypto.errors import InputError, NotPermitted, StorageError
from crypto.oprf import OprfServer
from node.config import NodeConfig
from node.datasets.store import DatasetStore, EpochInfo, StoredKey
from node.keys.sealed import unseal_private_key
from node.owner.match_service import PublishedDataset

__all__ = ["StoredDatasets"]

_T = TypeVar("_T")


class _StoreThread:
    """One thread owning one `DatasetStore` connection; callers wait for their result."""

    def __init__(self, database: Path) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blindhit-store")
        self._store: DatasetStore | None = None
        self._store = self._executor.submit(DatasetStore, database, create=False).result()

    def run(self, work: Callable[[DatasetStore], _T]) -> _T:
        store = self._store
        if store is None:
            raise StorageError("the dataset store is closed")
        return self._executor.submit(work, store).result()

    def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            self._executor.submit(store.close).result()
        self._executor.shutdown(wait=True)


class StoredDatasets:
    """`node.owner.match_service.DatasetSource` over the node's stored, published datasets."""

    def __init__(self, config: NodeConfig, passphrase: bytes) -> None:
        self._config = config
        self._passphrase = passphrase
        self._store = _StoreThread(config.node.database)
        self._lock = threading.Lock()
        self._published: dict[str, PublishedDataset] = {}
        self._servers: dict[tuple[str, int], OprfServer] = {}
        self._full: dict[str, tuple[int, bytes]] = {}
        self._deltas: dict[tuple[str, int, int], bytes | None] = {}

    def close(self) -> None:
        self._store.close()

    def _epoch(self, dataset: str) -> EpochInfo:
        if self._config.dataset(dataset) is None:
            raise NotPermitted(f"dataset {dataset} is not available")
        epoch = self._store.run(lambda store: store.published_epoch(dataset))
        if epoch is None:
            raise NotPermitted(f"dataset {dataset} has no published epoch yet")
        return epoch

    def published(self, dataset: str) -> PublishedDataset:
        epoch = self._epoch(dataset)
        with self._lock:
            cached = self._published.get(dataset)
        if cached is not None and cached.epoch == epoch.epoch:
            return cached
        info, key = self._store.run(
            lambda store: (store.dataset(dataset), _key(store, dataset, epoch.key_version))
        )
        if info is None:
            raise NotPermitted(f"dataset {dataset} is not available")
        published = PublishedDataset(
            name=dataset,
            epoch=epoch.epoch,
            suite=info.suite,
            mode=info.mode,
            public_key=key.public_key,
            keying_profile=info.profile,
            index_digest=epoch.index_digest,
        )
        with self._lock:
            self._published[dataset] = published
        return published

    def oprf_server(self, dataset: str) -> OprfServer:
        epoch = self._epoch(dataset)
        cache_key = (dataset, epoch.key_version)
        with self._lock:
            server = self._servers.get(cache_key)
        if server is not None:
            return server
        info, key = self._store.run(
            lambda store: (store.dataset(dataset), _key(store, dataset, epoch.key_version))
        )
        if info is None:
            raise NotPermitted(f"dataset {dataset} is not available")
        private = unseal_private_key(
            key.sealed_private_key,
            self._passphrase,
            node_id=self._config.node.id,
            dataset=dataset,
            key_version=key.version,
        )
        server = OprfServer(info.suite, info.mode, private)
        with self._lock:
            # Keys of older versions are never asked for again once a newer one is served.
            for stale in [k for k in self._servers if k[0] == dataset and k[1] < key.version]:
                del self._servers[stale]
            self._servers[cache_key] = server
        return server

    def index_payload(self, dataset: str, have_epoch: int) -> tuple[int, bytes]:
        epoch = self._epoch(dataset)
        if have_epoch == epoch.epoch:
            return epoch.epoch, b""
        if 0 < have_epoch < epoch.epoch:
            delta = self._delta(dataset, have_epoch, epoch.epoch)
            if delta is not None and len(delta) < epoch.index_size:
                return have_epoch, delta
        return 0, self._full_index(dataset, epoch.epoch)

    def _delta(self, dataset: str, from_epoch: int, to_epoch: int) -> bytes | None:
        cache_key = (dataset, from_epoch, to_epoch)
        with self._lock:
            if cache_key in self._deltas:
                return self._deltas[cache_key]

        def compute(store: DatasetStore) -> bytes | None:
            try:
                return store.delta(dataset, from_epoch, to_epoch)
            except InputError:
                return None  # an epoch this node never had: the full index will do

        delta = self._store.run(compute)
        with self._lock:
            for stale in [k for k in self._deltas if k[0] == dataset and k[2] != to_epoch]:
                del self._deltas[stale]
            self._deltas[cache_key] = delta
        return delta

    def _full_index(self, dataset: str, epoch: int) -> bytes:
        with self._lock:
            cached = self._full.get(dataset)
        if cached is not None and cached[0] == epoch:
            return cached[1]
        payload = self._store.run(lambda store: store.index(dataset, epoch).encode())
        with self._lock:
            self._full[dataset] = (epoch, payload)
        return payload

    def resolve_tags(self, dataset: str, tags: Sequence[bytes]) -> list[bytes | None]:
        self._epoch(dataset)
        # A tag is 32 bytes (protocol.check.REFERENCE_LENGTH); shorter ones are refused by the
        # lookup, so a querier cannot widen the match by sending a prefix.
        for tag in tags:
            if len(tag) != _REFERENCE_LENGTH:
                raise InputError(f"expected tags of {_REFERENCE_LENGTH} bytes, got {len(tag)}")
        owners = self._store.run(lambda store: store.lookup_tags(dataset, list(tags)))
        return [bytes(tag) if found else None for tag, found in zip(tags, owners, strict=True)]


_REFERENCE_LENGTH = 32


def _key(store: DatasetStore, dataset: str, version: int) -> StoredKey:
    for key in store.keys(dataset):
        if key.version == version:
            return key
    raise StorageError(f"dataset {dataset!r} has no OPRF key version {version}")
