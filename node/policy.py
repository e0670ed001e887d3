"""The owner's policy at request time: who may ask what, how much, and only once.

Every request that reaches the Match service passes here before anything is evaluated:

1. `authorize` — the peer (authenticated by its mTLS certificate and by the signature of its
   request) must have a `[[policy]]` rule for the dataset that allows the query mode, and the
   batch must fit both the rule's `max_batch` and the node's `[limits]`;
2. `admit` — the request must be fresh (signed within `FRESHNESS` of now) and never seen before
   (its random request id is remembered for twice that window), and its elements must fit in
   the peer's daily quota, counted per UTC day.

Step 2 writes to the node's SQLite database in one transaction, so two concurrent requests
cannot both pass a quota that only one fits, and a request refused by the quota leaves the
count unchanged. Errors are the families `protocol.errors` defines; the gRPC layer turns
them into status codes.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from node.config import NodeConfig, PolicyRule, QueryMode
from protocol.errors import NotPermitted, PeerError, QuotaExceeded, StorageError, UnknownPeer

__all__ = ["FRESHNESS", "PolicyEngine"]

# How far a request's signing time may lie from this node's clock. Five minutes absorbs clock
# drift between countries' servers while keeping the replay cache small.
FRESHNESS = timedelta(minutes=5)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS policy_usage (
    peer TEXT NOT NULL,
    scope TEXT NOT NULL,
    day TEXT NOT NULL,
    elements INTEGER NOT NULL,
    PRIMARY KEY (peer, scope, day)
);
CREATE TABLE IF NOT EXISTS policy_seen_requests (
    request_id BLOB PRIMARY KEY,
    peer TEXT NOT NULL,
    seen_at REAL NOT NULL
);
"""


class PolicyEngine:
    """Applies one node's `[[policy]]` rules, quotas and replay protection."""

    def __init__(self, config: NodeConfig, database: Path) -> None:
        self._config = config
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open the policy tables in {database}: {error}") from error

    def reconfigure(self, config: NodeConfig) -> None:
        """Use `config` from now on (the peers of a newer federation directory)."""
        self._config = config

    def close(self) -> None:
        self._db.close()

    def authorize(self, peer: str, dataset: str, mode: QueryMode, elements: int) -> PolicyRule:
        """Return the rule that lets `peer` make this request, or raise why not."""
        if self._config.peer(peer) is None:
            raise UnknownPeer(f"node {peer} is not a known peer")
        if self._config.dataset(dataset) is None:
            # The same answer as for a dataset the peer may not use, so that peers cannot list
            # this node's datasets by trying names.
            raise NotPermitted(f"dataset {dataset} is not available to {peer}")
        rule = self._config.rule_for(peer, dataset)
        if rule is None:
            raise NotPermitted(f"dataset {dataset} is not available to {peer}")
        if mode not in rule.modes:
            raise NotPermitted(f"{mode.value} mode on dataset {dataset} is not allowed for {peer}")
        limit = min(rule.max_batch, self._config.limits.max_batch)
        if elements < 1:
            raise PeerError("the request holds no elements")
        if elements > limit:
            raise PeerError(f"the batch holds {elements} elements; at most {limit} allowed")
        return rule

    def admit(
        self,
        peer: str,
        rule: PolicyRule,
        request_id: bytes,
        issued_at: datetime,
        elements: int,
        now: datetime | None = None,
    ) -> None:
        """Refuse a stale or replayed request, then charge `elements` to today's quota."""
        now = now or datetime.now(UTC)
        if len(request_id) != 16:
            raise PeerError(f"the request id must be 16 bytes, got {len(request_id)}")
        if abs(now - issued_at) > FRESHNESS:
            raise PeerError("the request was signed too long ago or in the future")
        day = now.date().isoformat()
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._charge(peer, rule, request_id, day, elements, now)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                raise StorageError(f"cannot record the request: {error}") from error

    def _charge(
        self,
        peer: str,
        rule: PolicyRule,
        request_id: bytes,
        day: str,
        elements: int,
        now: datetime,
    ) -> None:
        horizon = (now - 2 * FRESHNESS).timestamp()
        self._db.execute("DELETE FROM policy_seen_requests WHERE seen_at < ?", (horizon,))
        inserted = self._db.execute(
            "INSERT OR IGNORE INTO policy_seen_requests VALUES (?, ?, ?)",
            (request_id, peer, now.timestamp()),
        ).rowcount
        if inserted == 0:
            raise PeerError("this request was already received (replay)")
        scope = _scope(rule)
        row = self._db.execute(
            "SELECT elements FROM policy_usage WHERE peer = ? AND scope = ? AND day = ?",
            (peer, scope, day),
        ).fetchone()
        used = int(row[0]) if row else 0
        if used + elements > rule.daily_quota:
            raise QuotaExceeded(
                f"the daily quota of {rule.daily_quota} elements for {peer} is used up "
                f"({used} used, {elements} asked)"
            )
        self._db.execute(
            "INSERT INTO policy_usage VALUES (?, ?, ?, ?) ON CONFLICT (peer, scope, day) "
            "DO UPDATE SET elements = elements + excluded.elements",
            (peer, scope, day, elements),
        )

    def used_today(self, peer: str, rule: PolicyRule, now: datetime | None = None) -> int:
        """Elements `peer` has used today (UTC) under `rule`."""
        day = (now or datetime.now(UTC)).date().isoformat()
        with self._lock:
            row = self._db.execute(
                "SELECT elements FROM policy_usage WHERE peer = ? AND scope = ? AND day = ?",
                (peer, _scope(rule), day),
            ).fetchone()
        return int(row[0]) if row else 0


def _scope(rule: PolicyRule) -> str:
    # A peer has at most one rule per dataset (node.config refuses overlaps), so the sorted
    # dataset names identify the rule whose quota is charged.
    return ",".join(sorted(rule.datasets))
