"""Checks at the desk: every dataset of every member in one check, indexes synced ahead of time.

A border post, a national border system or a mobile officer checks a traveller against every
dataset of every member at once. `CheckDesk` is what serves them (the local APIs stand on it):

- **Targets.** Every dataset every peer offers: the datasets the federation directory lists
  for each member, or `[[peers]] datasets` for peers configured by hand. A peer that offers no
  dataset it names is not asked.
- **Indexes kept current in the background.** A thread syncs every target's match index every
  `sync_interval` seconds — a delta when the owner has published an epoch, an empty answer when
  not — so that a check finds its indexes ready. (Polling, not a push from the owner: an epoch
  is seen within one interval, and an owner needs no list of who caches its index.) The hot
  path syncs only an index that is missing or older than `max_index_age`, and the answer then
  says so (`DatasetAnswer.synced`), with the age of the index it used.
- **One job per member.** A check runs one job per member, in parallel; a member's datasets are
  checked side by side over its one open channel, and the member's answer is handed out as soon
  as it is complete (`check` yields per member, as they come), so a slow member holds up nobody.
  Manifests are split to each owner's batch limit by the querier (`node.querier.checker`).
- **Nothing is presented as "no hit" that was not answered**: each member and dataset carries
  its status (`answered`, `refused`, `unreachable`, `failed`), and only `answered` results hold
  outcomes.

The desk holds no probe between checks and logs none: what it logs is the querier's audit
entries of the checks themselves (`check_sent`), as every check does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Final

from crypto.errors import BlindhitError, InputError
from node.querier.checker import PeerResult, Querier, Target
from protocol.admission import QueryMode
from protocol.check import ProbeOutcome, RequestPurpose
from protocol.directory import Peer

__all__ = [
    "DEFAULT_MAX_INDEX_AGE",
    "DEFAULT_SYNC_INTERVAL",
    "CheckDesk",
    "DatasetAnswer",
    "MemberAnswer",
]

DEFAULT_SYNC_INTERVAL: Final = 5.0
"""Seconds between two background syncs of every target's index."""

DEFAULT_MAX_INDEX_AGE: Final = 300.0
"""An index older than this is synced on the hot path before it is used."""

# The request context of background syncs: a sync reveals no probe, but every request names who
# asks and why, and the owner checks the codes as it checks a check's.
_SYNC_PURPOSE_CODE: Final = "index-sync"


@dataclass(frozen=True)
class DatasetAnswer:
    """How one dataset of one member answered one check."""

    dataset: str
    status: str
    message: str
    outcomes: tuple[ProbeOutcome, ...] = ()
    """One outcome per probe, in order; empty unless `status` is `answered`."""
    receipts: tuple[str, ...] = ()
    epoch: int = 0
    index_age_seconds: float | None = None
    """How old the index used was when the check began (None: none was cached)."""
    synced: bool = False
    """Whether the check had to sync the index first (missing, or older than the limit)."""


@dataclass(frozen=True)
class MemberAnswer:
    """One member's answer to one check: each of its datasets, and the time it took."""

    member: str
    status: str
    """`answered` when every dataset answered; otherwise the status they share, or `partial`."""
    datasets: tuple[DatasetAnswer, ...]
    seconds: float


class CheckDesk:
    """This node's querier side as a service: targets, background syncs, checks per member."""

    def __init__(
        self,
        querier: Querier,
        peers: Sequence[Peer],
        node_id: str,
        *,
        sync_interval: float = DEFAULT_SYNC_INTERVAL,
        max_index_age: float = DEFAULT_MAX_INDEX_AGE,
        max_members: int = 256,
    ) -> None:
        if sync_interval <= 0 or max_index_age <= 0:
            raise InputError("the sync interval and the index age limit must be positive")
        self._querier = querier
        self._node_id = node_id
        self._sync_interval = sync_interval
        self._max_index_age = max_index_age
        self._lock = threading.Lock()
        self._synced_at: dict[tuple[str, str], float] = {}
        self._peers: dict[str, Peer] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=max_members, thread_name_prefix="desk")
        self.reconfigure(peers)

    # -- targets --------------------------------------------------------------------------------

    def reconfigure(self, peers: Sequence[Peer], querier: Querier | None = None) -> None:
        """Check the datasets of `peers` from now on (a newer directory, say).

        A node's runtime closes its querier when it adopts a newer directory
        (`NodeRuntime.refresh_membership`), so the new one is handed over with the peers.
        """
        with self._lock:
            self._peers = {peer.id: peer for peer in peers if peer.datasets}
            if querier is not None:
                self._querier = querier

    def targets(self, members: Sequence[str] | None = None) -> list[Target]:
        """Every (member, dataset) the desk checks, or those of `members` only.

        Raises:
            InputError: a member named is not a peer offering any dataset.
        """
        with self._lock:
            peers = dict(self._peers)
        if members is not None:
            unknown = sorted(set(members) - set(peers))
            if unknown:
                raise InputError(f"not a peer offering datasets here: {', '.join(unknown)}")
            peers = {member: peers[member] for member in members}
        return [Target(peer.id, dataset) for peer in peers.values() for dataset in peer.datasets]

    # -- background sync ------------------------------------------------------------------------

    def start(self) -> None:
        """Start syncing every target's index in the background (returns at once)."""
        if self._thread is not None:
            raise RuntimeError("the desk is already started")
        self._thread = threading.Thread(target=self._sync_loop, name="desk-sync", daemon=True)
        self._thread.start()

    def sync_all(self) -> dict[Target, str | None]:
        """Sync every target now, in parallel; for each, None or why it could not be synced."""
        targets = self.targets()
        futures = {target: self._pool.submit(self._sync, target) for target in targets}
        return {target: future.result() for target, future in futures.items()}

    def _sync_loop(self) -> None:
        while not self._stop.is_set():
            self.sync_all()
            self._stop.wait(self._sync_interval)

    def _sync(self, target: Target) -> str | None:
        purpose = RequestPurpose(
            f"{self._node_id}-desk", _SYNC_PURPOSE_CODE, _SYNC_PURPOSE_CODE, _SYNC_PURPOSE_CODE
        )
        try:
            self._querier.sync(target, purpose)
        except BlindhitError as error:
            return str(error)
        with self._lock:
            self._synced_at[(target.peer, target.dataset)] = time.monotonic()
        return None

    def index_age(self, target: Target) -> float | None:
        """Seconds since `target`'s index was last synced by this desk (None: never)."""
        with self._lock:
            synced = self._synced_at.get((target.peer, target.dataset))
        return None if synced is None else time.monotonic() - synced

    # -- checks ---------------------------------------------------------------------------------

    def check(
        self,
        probes: Sequence[Mapping[str, object]],
        purpose: RequestPurpose,
        *,
        mode: QueryMode = QueryMode.INDEX,
        members: Sequence[str] | None = None,
    ) -> Iterator[MemberAnswer]:
        """Check `probes` against every target; yield each member's answer as it completes.

        Raises:
            InputError: no member offers a dataset to check, or a probe is malformed (checked
                before anything is sent).
        """
        targets = self.targets(members)
        if not targets:
            raise InputError("no peer offers a dataset to check: configure [[peers]] datasets")
        by_member: dict[str, list[Target]] = {}
        for target in targets:
            by_member.setdefault(target.peer, []).append(target)
        jobs: dict[Future[MemberAnswer], str] = {
            self._pool.submit(
                self._check_member, member, member_targets, probes, purpose, mode
            ): member
            for member, member_targets in by_member.items()
        }
        for future in as_completed(jobs):
            yield future.result()

    def _check_member(
        self,
        member: str,
        targets: Sequence[Target],
        probes: Sequence[Mapping[str, object]],
        purpose: RequestPurpose,
        mode: QueryMode,
    ) -> MemberAnswer:
        started = time.monotonic()
        ages = [self.index_age(target) for target in targets]
        synced = [age is None or age > self._max_index_age for age in ages]
        for target, needed in zip(targets, synced, strict=True):
            if needed:
                # Missing or too old: sync now, on this check's time, and say so.
                self._sync(target)
        # The member's datasets in parallel, over its one channel (HTTP/2 carries them side by
        # side).
        results = self._querier.check(probes, targets, purpose, mode)
        answers = [
            _dataset_answer(result, age, needed)
            for result, age, needed in zip(results, ages, synced, strict=True)
        ]
        statuses = {answer.status for answer in answers}
        status = statuses.pop() if len(statuses) == 1 else "partial"
        return MemberAnswer(member, status, tuple(answers), time.monotonic() - started)

    def close(self) -> None:
        """Stop the background sync and the member jobs; the querier's channels stay open."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _dataset_answer(result: PeerResult, age: float | None, synced: bool) -> DatasetAnswer:
    return DatasetAnswer(
        dataset=result.dataset,
        status=result.status,
        message=result.message,
        outcomes=result.outcomes if result.status == "answered" else (),
        receipts=result.receipts,
        epoch=result.epoch,
        index_age_seconds=age,
        synced=synced,
    )
