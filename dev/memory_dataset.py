"""A dataset held in memory: one published epoch, real OPRF key, real wire-form index.

Used by the in-process demo, the benchmarks and the Match service's own tests, where a
persistent dataset store would only add import time. It implements
`node.owner.match_service.DatasetSource` for exactly one dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from crypto.errors import NotPermitted
from crypto.oprf import Mode, OprfServer, Suite, generate_key_pair
from node.owner.match_service import PublishedDataset
from protocol.match_index import DecodedIndex, IndexParameters
from protocol.match_keys import DEFAULT_PROFILE, derive_keys, oprf_input

__all__ = ["MemoryDataset"]

# A match reference is the first 32 bytes of the OPRF output (protocol.check.REFERENCE_LENGTH).
_REFERENCE = 32


class MemoryDataset:
    """One dataset's current epoch, built from records (and optionally extra raw tags)."""

    def __init__(
        self,
        name: str,
        records: Iterable[Mapping[str, object]],
        *,
        suite: Suite = Suite.RISTRETTO255_SHA512,
        mode: Mode = Mode.OPRF,
        extra_tags: Sequence[bytes] = (),
    ) -> None:
        self.name = name
        self.server = OprfServer(suite, mode, generate_key_pair(suite).private_key)
        inputs = [
            oprf_input(DEFAULT_PROFILE, name, key)
            for record in records
            for key in derive_keys(record).keys
        ]
        tags = [*self.server.evaluate_batch(inputs), *extra_tags]
        self.references = {tag[:_REFERENCE] for tag in tags}
        self.index = DecodedIndex.from_tags(tags, IndexParameters.for_capacity(len(tags)))
        self.info = PublishedDataset(
            name, 1, suite, mode, self.server.public_key, DEFAULT_PROFILE, self.index.digest()
        )

    def published(self, dataset: str) -> PublishedDataset:
        if dataset != self.name:
            raise NotPermitted(f"dataset {dataset} is not available")
        return self.info

    def oprf_server(self, dataset: str) -> OprfServer:
        self.published(dataset)
        return self.server

    def index_payload(self, dataset: str, have_epoch: int) -> tuple[int, bytes]:
        self.published(dataset)
        if have_epoch == self.info.epoch:
            return self.info.epoch, b""
        return 0, self.index.encode()

    def resolve_tags(self, dataset: str, tags: Sequence[bytes]) -> list[bytes | None]:
        self.published(dataset)
        return [bytes(tag) if bytes(tag) in self.references else None for tag in tags]
