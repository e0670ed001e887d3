"""The querier's side of a check against one or more peers, in parallel, with deadlines.

For each (peer, dataset) target: use the cached match index, or sync it first (a delta when
one is cached); blind the probes' match keys (`protocol.check.QuerierCheck`), send
one signed batch, verify the signed answer and its receipt — the receipt must prove that the
owner logged *this* request (its entry carries the digest of the exact signed bytes sent) — then
look the tags up locally (index mode) or read the owner's per-tag answer (owner-match mode).
When the owner answers that the cached epoch is stale, the index is synced and the check
retried once, so a current cache costs no extra round trip. Channels to peers are kept open for
the life of the `Querier`. Each target ends in one `PeerResult`, whatever went
wrong with it; one slow or broken peer never holds up or breaks the others. Every check sent is
logged durably in this node's own audit log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.errors import CryptoError, InputError, PeerError
from crypto.oprf import Mode, Suite
from node.audit import AuditEntry, AuditLog, Decision, EntryKind
from node.audit.entries import digest_request
from node.audit.receipts import Receipt, verify_receipt
from node.config import NodeConfig
from node.keys.tls import TlsCredentials
from node.querier.index_cache import CachedIndex, PeerIndexCache
from node.querier.peer_client import PeerClient, PeerRefused, PeerUnavailable
from node.querier.relayed_client import CoordinatorChannel, FanOutBatch, RelayedPeerClient
from node.storage.disclosure_requests import DisclosureStore, StoredHit
from protocol.admission import QueryMode
from protocol.check import (
    CheckPart,
    DatasetDescriptor,
    ProbeOutcome,
    QuerierCheck,
    RequestPurpose,
    SharedBlinding,
)
from protocol.directory import Peer

__all__ = ["PeerResult", "Querier", "Target"]

# Tags sent in owner-match mode: the owner's local map keys on this many leading bytes.
OWNER_MATCH_TAG_BYTES = 32


@dataclass(frozen=True)
class Target:
    peer: str
    dataset: str


@dataclass(frozen=True)
class PeerResult:
    """How one target answered: `status` is answered, refused, unreachable or failed."""

    peer: str
    dataset: str
    status: str
    message: str
    outcomes: tuple[ProbeOutcome, ...] = ()
    receipt: str | None = None
    """The owner's receipt of the (first) request; `receipts` holds one per request."""
    epoch: int = 0
    seconds: float = 0.0
    receipts: tuple[str, ...] = ()
    """One receipt per request sent: more than one when the check was split to the owner's
    batch limit."""


class _OverLimit(Exception):
    """A probe has more match keys than the owner takes in one request: nothing is sent."""


@dataclass(frozen=True)
class _Sent:
    """One request of a check that the owner answered: what was signed, and its receipt."""

    part: CheckPart
    body: bytes
    count: int
    receipt: str
    entry: int


class Querier:
    """This node as a querier: its keys, TLS credentials, audit log and index cache."""

    def __init__(
        self,
        config: NodeConfig,
        identity: Ed25519PrivateKey,
        tls: TlsCredentials,
        audit: AuditLog,
        cache: PeerIndexCache,
        hits: DisclosureStore | None = None,
    ) -> None:
        self._config = config
        self._hits = hits
        self._identity = identity
        self._tls = tls
        self._audit = audit
        self._cache = cache
        self._clients: dict[str, PeerClient] = {}
        self._clients_lock = threading.Lock()
        self._coordinator: CoordinatorChannel | None = None
        self.last_batch: FanOutBatch | None = None
        """The fan-out batch of the latest relayed check (its `calls`, for tests)."""

    def close(self) -> None:
        """Close the channels to peers."""
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
            coordinator, self._coordinator = self._coordinator, None
        for client in clients:
            client.close()
        if coordinator is not None:
            coordinator.close()

    def client(self, peer: Peer) -> PeerClient:
        """The open channel to `peer` (for disclosure requests, which reuse it)."""
        return self._client(peer)

    def _client(self, peer: Peer) -> PeerClient:
        with self._clients_lock:
            client = self._clients.get(peer.id)
            if client is None:
                client = PeerClient(
                    self._config.node.id, self._identity, self._tls, peer, self._config.limits
                )
                self._clients[peer.id] = client
            return client

    def sync(self, target: Target, purpose: RequestPurpose) -> CachedIndex:
        """Sync `target`'s index now: a delta from the cached epoch, or nothing when current.

        Raises:
            InputError: the target's peer is not in node.toml's [[peers]] or the directory.
            PeerUnavailable, PeerRefused, PeerError: as a check's sync would.
        """
        peer = self._config.peer(target.peer)
        if peer is None:
            raise InputError(f"peer {target.peer} is not in node.toml's [[peers]]")
        return self._sync(self._client(peer), target.dataset, purpose, refresh=True)

    def check(
        self,
        probes: Sequence[Mapping[str, object]],
        targets: Sequence[Target],
        purpose: RequestPurpose,
        mode: QueryMode = QueryMode.INDEX,
        *,
        relayed: bool = False,
    ) -> list[PeerResult]:
        """Check `probes` against every target in parallel; one result per target, in order.

        `relayed` sends everything through the coordinating node (`node.querier.relayed_client`):
        one fan-out call for all targets instead of one connection to each.
        """
        if not targets:
            raise InputError("no peer to check against: configure [[peers]] or name one")
        peers = {}
        for target in targets:
            peer = self._config.peer(target.peer)
            if peer is None:
                raise InputError(f"peer {target.peer} is not in node.toml's [[peers]]")
            peers[target.peer] = peer
        if relayed:
            return self._check_relayed(probes, targets, peers, purpose, mode)
        if len(targets) == 1:
            # One target: on this thread, without handing it to another and waiting for it.
            (target,) = targets
            return [
                self._one(self._client(peers[target.peer]), target.dataset, probes, purpose, mode)
            ]
        with ThreadPoolExecutor(max_workers=min(len(targets), 64)) as pool:
            futures = [
                pool.submit(
                    self._one, self._client(peers[t.peer]), t.dataset, probes, purpose, mode
                )
                for t in targets
            ]
            return [future.result() for future in futures]

    def _check_relayed(
        self,
        probes: Sequence[Mapping[str, object]],
        targets: Sequence[Target],
        peers: Mapping[str, Peer],
        purpose: RequestPurpose,
        mode: QueryMode,
    ) -> list[PeerResult]:
        """The same check, every request through the coordinating node in one fan-out call."""
        federation = self._config.federation
        if federation is None:
            raise InputError(
                "checking through the coordinating node needs [federation] in node.toml"
            )
        with self._clients_lock:
            if self._coordinator is None:
                self._coordinator = CoordinatorChannel(federation, self._tls, self._config.limits)
            channel = self._coordinator
        batch = FanOutBatch(channel, len(targets), self._config.limits.deadline_seconds)
        self.last_batch = batch
        shared = SharedBlinding()

        def one(target: Target) -> PeerResult:
            client = RelayedPeerClient(
                self._config.node.id, self._identity, self._tls, peers[target.peer],
                self._config.limits, channel, batch,
            )  # fmt: skip
            try:
                return self._one(client, target.dataset, probes, purpose, mode, shared)
            finally:
                batch.finished()
                client.close()

        with ThreadPoolExecutor(max_workers=min(len(targets), 64)) as pool:
            return list(pool.map(one, targets))

    def _one(
        self,
        client: PeerClient,
        dataset: str,
        probes: Sequence[Mapping[str, object]],
        purpose: RequestPurpose,
        mode: QueryMode,
        shared: SharedBlinding | None = None,
    ) -> PeerResult:
        start = time.perf_counter()
        peer = client.peer
        try:
            outcomes, receipts, epoch, entries = self._attempt(
                client, dataset, probes, purpose, mode, shared
            )
        except PeerUnavailable as error:
            return PeerResult(peer.id, dataset, "unreachable", str(error), seconds=_since(start))
        except (PeerRefused, _OverLimit) as error:
            return PeerResult(peer.id, dataset, "refused", str(error), seconds=_since(start))
        except (PeerError, CryptoError) as error:
            return PeerResult(peer.id, dataset, "failed", str(error), seconds=_since(start))
        self._remember_hits(peer.id, dataset, outcomes, entries, purpose)
        hits = sum(outcome.hit for outcome in outcomes)
        return PeerResult(
            peer.id, dataset, "answered", f"{hits} of {len(outcomes)} probes hit",
            tuple(outcomes), receipts[0], epoch, _since(start), tuple(receipts),
        )  # fmt: skip

    def _sync(
        self, client: PeerClient, dataset: str, purpose: RequestPurpose, *, refresh: bool
    ) -> CachedIndex:
        cached = self._cache.get(client.peer.id, dataset)
        if cached is not None and not refresh:
            return cached
        header, payload = client.sync_index(dataset, cached.epoch if cached else 0, purpose)
        if (
            cached is not None
            and header.delta
            and header.base_epoch == header.epoch == cached.epoch
        ):
            return self._cache.set_max_batch(client.peer.id, dataset, header.max_batch) or cached
        if header.delta and (cached is None or header.base_epoch != cached.epoch):
            raise PeerError(f"peer {client.peer.id} sent a delta from an epoch not cached here")
        try:
            suite = Suite.from_identifier(header.suite)
            mode = Mode(header.mode)
        except (CryptoError, ValueError) as error:
            raise PeerError(f"peer {client.peer.id} announced an unknown suite or mode") from error
        return self._cache.update(
            client.peer.id, dataset, epoch=header.epoch, suite=suite, mode=mode,
            public_key=header.public_key, keying_profile=header.keying_profile,
            digest=header.index_digest, payload=payload, delta=header.delta,
            max_batch=header.max_batch,
        )  # fmt: skip

    def _attempt(
        self,
        client: PeerClient,
        dataset: str,
        probes: Sequence[Mapping[str, object]],
        purpose: RequestPurpose,
        mode: QueryMode,
        shared: SharedBlinding | None = None,
    ) -> tuple[list[ProbeOutcome], list[str], int, list[int]]:
        """(outcomes, receipts, epoch, the owner's entry for each probe) of one target.

        A check with more elements than the owner takes in one request goes as several
        requests of whole probes (`QuerierCheck.parts`), each signed, logged and receipted.
        """
        for attempt in range(2):
            cached = self._sync(client, dataset, purpose, refresh=attempt > 0)
            descriptor = DatasetDescriptor(
                owner=client.peer.id,
                dataset=dataset,
                suite=cached.suite,
                mode=cached.mode,
                public_key=cached.public_key if cached.mode is not Mode.OPRF else None,
                epoch=cached.epoch,
                keying_profile=cached.keying_profile,
            )
            check = QuerierCheck(descriptor, probes, shared=shared)
            elements = check.blinded_elements()
            try:
                parts = check.parts(self._batch_limit(cached))
            except InputError as error:
                raise _OverLimit(f"peer {client.peer.id} refuses it: {error}") from error
            answers: list[tuple[Sequence[bytes], bytes | None]] = []
            requests: list[_Sent] = []
            stale = False
            for part in parts:
                chunk = elements[part.elements.start : part.elements.stop]
                try:
                    response, _, sent = client.blind_evaluate(dataset, cached.epoch, chunk, purpose)
                except PeerRefused as error:
                    if (
                        error.status is grpc.StatusCode.FAILED_PRECONDITION
                        and attempt == 0
                        and not answers
                    ):
                        stale = True
                        break
                    self._log_unfinished(client.peer.id, dataset, purpose, requests)
                    self._log_sent(
                        client.peer.id, dataset, len(chunk), purpose, client.last_sent, None
                    )
                    raise
                except (PeerUnavailable, PeerError, CryptoError):
                    self._log_unfinished(client.peer.id, dataset, purpose, requests)
                    raise
                receipt = self._verified_receipt(client.peer, response.receipt.tlog_proof, sent)
                requests.append(
                    _Sent(part, sent, len(chunk), receipt, response.receipt.entry_index)
                )
                answers.append((response.evaluated_elements, response.proof))
            if stale:
                continue
            check.finalize_parts(parts, answers)
            if mode is QueryMode.OWNER_MATCH:
                outcomes, requests = self._owner_match(
                    client, dataset, cached, check, parts, purpose
                )
            else:
                outcomes = check.outcomes_from_index(cached.index)
            entries = [0] * len(outcomes)
            for request in requests:
                part_outcomes = outcomes[request.part.probes.start : request.part.probes.stop]
                hit_keys = sum(len(outcome.hits) for outcome in part_outcomes)
                self._log_sent(
                    client.peer.id, dataset, request.count, purpose, request.body, hit_keys
                )
                for probe in request.part.probes:
                    entries[probe] = request.entry
            return outcomes, [request.receipt for request in requests], cached.epoch, entries
        raise PeerError(f"peer {client.peer.id} kept answering that the epoch is stale")

    def _owner_match(
        self,
        client: PeerClient,
        dataset: str,
        cached: CachedIndex,
        check: QuerierCheck,
        parts: Sequence[CheckPart],
        purpose: RequestPurpose,
    ) -> tuple[list[ProbeOutcome], list[_Sent]]:
        """Owner-match mode: send the finalised tags back, part by part, and read the answers."""
        tags = check.tags(OWNER_MATCH_TAG_BYTES)
        hits: list[bool] = []
        references: list[bytes] = []
        requests: list[_Sent] = []
        for part in parts:
            chunk = tags[part.elements.start : part.elements.stop]
            try:
                matched, _, sent = client.owner_match(dataset, cached.epoch, chunk, purpose)
            except (PeerRefused, PeerUnavailable, PeerError):
                self._log_unfinished(client.peer.id, dataset, purpose, requests)
                raise
            receipt = self._verified_receipt(client.peer, matched.receipt.tlog_proof, sent)
            requests.append(_Sent(part, sent, len(chunk), receipt, matched.receipt.entry_index))
            hits += matched.hits
            references += matched.match_references
        return check.outcomes_from_owner_match(hits, references), requests

    def _batch_limit(self, cached: CachedIndex) -> int:
        """Elements per request: the owner's limit for this node, within this node's own."""
        own = self._config.limits.max_batch
        return min(own, cached.max_batch) if cached.max_batch > 0 else own

    def _log_unfinished(
        self, peer: str, dataset: str, purpose: RequestPurpose, requests: Sequence[_Sent]
    ) -> None:
        """Log the requests of a check that the owner answered before a later one failed."""
        for request in requests:
            self._log_sent(peer, dataset, request.count, purpose, request.body, None)

    def _remember_hits(
        self,
        peer: str,
        dataset: str,
        outcomes: Sequence[ProbeOutcome],
        entries: Sequence[int],
        purpose: RequestPurpose,
    ) -> None:
        """Keep each hit's match reference with the owner's entry of the check (for disclosure)."""
        if self._hits is None:
            return
        now = datetime.now(UTC)
        found = [
            StoredHit(peer, dataset, hit.match_reference, entry, now, purpose.case_reference)
            for outcome, entry in zip(outcomes, entries, strict=True)
            for hit in outcome.hits
        ]
        if found:
            self._hits.add_hits(found)

    def _verified_receipt(self, peer: Peer, text: str, sent: bytes) -> str:
        """Check the owner's receipt proves it logged exactly the request we sent."""
        try:
            verified = verify_receipt(Receipt.from_text(text), peer.identity_key, origin=peer.id)
        except (CryptoError, InputError) as error:
            raise PeerError(f"the receipt of peer {peer.id} does not verify: {error}") from error
        if verified.entry.request_digest != digest_request(sent):
            raise PeerError(f"the receipt of peer {peer.id} is for another request")
        return text

    def _log_sent(
        self,
        peer: str,
        dataset: str,
        count: int,
        purpose: RequestPurpose,
        sent: bytes,
        hits: int | None,
    ) -> None:
        """Log a check sent: answered when `hits` is known, refused otherwise."""
        self._audit.append(
            AuditEntry(
                kind=EntryKind.CHECK_SENT,
                time=datetime.now(UTC),
                node=self._config.node.id,
                officer=purpose.officer_id,
                counterpart=peer,
                dataset=dataset,
                element_count=count,
                hit_count=hits,
                purpose=purpose.purpose,
                legal_basis=purpose.legal_basis,
                case_reference=purpose.case_reference,
                request_digest=digest_request(sent),
                decision=Decision.ANSWERED if hits is not None else Decision.REFUSED,
            )
        )


def _since(start: float) -> float:
    return time.perf_counter() - start
