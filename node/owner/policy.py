"""The owner's policy at request time: the peer's rule, its daily quota and the replay window.

The decisions are `protocol.admission`'s, in its order; this module holds what they need from
the node: the rule a peer has for a dataset (`rule`), and in the node's database the elements
charged per peer, rule and UTC day and the request ids seen within twice `FRESHNESS`
(`charge`, `remember`).

`charge` runs in one transaction, so two concurrent requests cannot both pass a quota that only
one fits, and a request refused by the quota leaves the count unchanged.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from crypto.errors import PeerError, StorageError, UnknownPeer
from node.config import NodeConfig, PolicyRule
from node.storage.schema import NODE_SCHEMA
from node.storage.sqlite import Store
from node.storage.times import format_time
from protocol.admission import FRESHNESS, REQUEST_ID_BYTES, Admission, Rule

__all__ = ["PolicyEngine", "refusals_on"]


class PolicyEngine:
    """One node's `[[policy]]` rules, with the quota counts and replay window behind them."""

    def __init__(self, config: NodeConfig, database: Path) -> None:
        self._config = config
        # The tables are `policy_` of `node.storage.schema`.
        self._store = Store(database, NODE_SCHEMA)

    def reconfigure(self, config: NodeConfig) -> None:
        """Use `config` from now on (the peers of a newer federation directory)."""
        self._config = config

    def close(self) -> None:
        self._store.close()

    @property
    def max_batch(self) -> int:
        """The node's own batch limit (`[limits] max_batch`), which every rule is held to."""
        return self._config.limits.max_batch

    def rule(self, peer: str, dataset: str) -> PolicyRule | None:
        """The rule `peer` has for `dataset`; None for no rule or a dataset the node lacks.

        Raises:
            UnknownPeer: `peer` is not among the node's peers.
        """
        if self._config.peer(peer) is None:
            raise UnknownPeer(f"node {peer} is not a known peer")
        if self._config.dataset(dataset) is None:
            return None
        return self._config.rule_for(peer, dataset)

    def charge(self, admission: Admission, request_id: bytes, now: datetime) -> None:
        """Refuse a replayed request, then let `admission` check the quota and charge it.

        One transaction: the request id is remembered and the elements counted, or neither.
        """
        day = now.date().isoformat()
        try:
            with self._store.transaction() as db:
                self._remember(db, admission.peer, request_id, now)
                scope = _scope(admission.rule)
                used = self._used(db, admission.peer, scope, day)
                admission.check_quota(used)
                db.execute(
                    "INSERT INTO policy_usage VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (peer, scope, day) "
                    "DO UPDATE SET elements = elements + excluded.elements",
                    (admission.peer, scope, day, admission.elements),
                )
        except sqlite3.Error as error:
            raise StorageError(f"cannot record the request: {error}") from error

    def remember(self, peer: str, request_id: bytes, now: datetime) -> None:
        """Refuse a replayed request without charging a quota (disclosure requests)."""
        try:
            with self._store.transaction() as db:
                self._remember(db, peer, request_id, now)
        except sqlite3.Error as error:
            raise StorageError(f"cannot record the request: {error}") from error

    @staticmethod
    def _remember(db: sqlite3.Connection, peer: str, request_id: bytes, now: datetime) -> None:
        if len(request_id) != REQUEST_ID_BYTES:
            raise PeerError(
                f"the request id must be {REQUEST_ID_BYTES} bytes, got {len(request_id)}"
            )
        # Stored times sort as text (`node.storage.times`), so the window is one range.
        horizon = format_time(now - 2 * FRESHNESS)
        db.execute("DELETE FROM policy_seen_requests WHERE seen_at < ?", (horizon,))
        inserted = db.execute(
            "INSERT OR IGNORE INTO policy_seen_requests VALUES (?, ?, ?)",
            (request_id, peer, format_time(now)),
        ).rowcount
        if inserted == 0:
            raise PeerError("this request was already received (replay)")

    @staticmethod
    def _used(db: sqlite3.Connection, peer: str, scope: str, day: str) -> int:
        row = db.execute(
            "SELECT elements FROM policy_usage WHERE peer = ? AND scope = ? AND day = ?",
            (peer, scope, day),
        ).fetchone()
        return int(row[0]) if row else 0

    def count_refusals(
        self, peer: str, reason: str, count: int, now: datetime | None = None
    ) -> None:
        """Add `count` refused requests of `peer` for `reason` to today's (UTC) tally."""
        day = (now or datetime.now(UTC)).date().isoformat()
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO policy_refusals VALUES (?, ?, ?, ?) "
                "ON CONFLICT (peer, reason, day) DO UPDATE SET count = count + excluded.count",
                (peer, reason, day, count),
            )

    def used_today(self, peer: str, rule: PolicyRule, now: datetime | None = None) -> int:
        """Elements `peer` has used today (UTC) under `rule`."""
        day = (now or datetime.now(UTC)).date().isoformat()
        with self._store.read() as db:
            return self._used(db, peer, _scope(rule), day)


def _scope(rule: Rule) -> str:
    # A peer has at most one rule per dataset (node.config refuses overlaps), so the sorted
    # dataset names identify the rule whose quota is charged.
    return ",".join(sorted(rule.datasets))


def refusals_on(database: Path, day: date) -> dict[str, int]:
    """Requests refused on `day` (UTC), by reason, read-only (for `blindhit metrics`).

    A database from before refusals were counted reads as none.
    """
    store = Store(database, NODE_SCHEMA, read_only=True, create=False)
    try:
        with store.read() as db:
            try:
                rows = db.execute(
                    "SELECT reason, SUM(count) FROM policy_refusals WHERE day = ? GROUP BY reason",
                    (day.isoformat(),),
                ).fetchall()
            except sqlite3.OperationalError:
                return {}
    finally:
        store.close()
    return {str(reason): int(count) for reason, count in rows}
