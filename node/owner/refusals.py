"""The owner's record of requests it refused: every refusal leaves a trace, a flood fills no disk.

A peer probing past its quota, asking for a dataset it has no rule for, or sending requests that
do not verify must show in the owner's audit log, or an auditor cannot see it. So every refused
request is recorded, with its reason code (`protocol.admission.refusal_reason`, plus
`unknown_peer`, `bad_signature`, `malformed_request` for what fails before admission):

- the first refusal of a (peer, reason) pair in a window of `WINDOW` is appended at once, in
  full — a `check_received` or `owner_match` entry with decision `refused` when the request was
  read far enough to name its dataset, a `request_refused` entry otherwise — before the peer
  gets its answer, as for any request;
- further refusals of the same pair within the window are only counted; when the window has
  passed (`flush`, which the serving loop calls, and `close`), one `request_refused` entry says
  how many there were (`element_count`). So a flood of refused requests costs one entry per
  peer, reason and window, and an auditor still sees how many came.

The first refusal of a window is also logged at WARNING (logger `blindhit.node`, which `blindhit
serve` prints on stderr) as one line naming the peer, the reason code and the dataset when the
request named one, never anything of the request's content; the rest of the window is silent, so
a flood floods neither the audit log nor the operator's terminal.

Peers are named by what their certificate says, or `unknown` when it names no node. The counts
also go to `count` (the policy store's `policy_refusals`, per peer, reason and UTC day), which
`blindhit metrics` reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from node.audit import AuditEntry, AuditLog, Decision, EntryKind

__all__ = ["UNKNOWN_PEER", "WINDOW", "RefusalLog"]

WINDOW: Final = 60.0
"""Seconds during which further refusals of one peer for one reason are counted, not logged."""

UNKNOWN_PEER: Final = "unknown"
"""The counterpart of a refusal whose connection names no node."""

# Distinct (peer, reason) pairs held at once; past this, the oldest are flushed early, so that
# a peer inventing names cannot grow the owner's memory either.
_MAX_PAIRS: Final = 4096

_log = logging.getLogger("blindhit.node")


@dataclass
class _Window:
    opened: float
    suppressed: int = 0


class RefusalLog:
    """Coalesces refused requests into audit entries (see the module docstring). Thread-safe."""

    def __init__(
        self,
        audit: AuditLog,
        node_id: str,
        *,
        count: Callable[[str, str, int], None] | None = None,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._audit = audit
        self._node = node_id
        self._count = count
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str], _Window] = {}

    def refused(self, peer: str, reason: str, entry: Callable[[], AuditEntry]) -> int | None:
        """Record one refusal; return the index of its entry when it was logged in full.

        `entry` builds the full entry; it is called only for the first refusal of the window.
        """
        key = (peer, reason)
        now = self._clock()
        with self._lock:
            current = self._open.get(key)
            if current is not None and now - current.opened < self._window:
                current.suppressed += 1
                return None
            expired = self._take_expired(now, also=key)
            self._open[key] = _Window(now)
            if len(self._open) > _MAX_PAIRS:
                oldest = min(self._open, key=lambda k: self._open[k].opened)
                window = self._open.pop(oldest)
                expired.append((oldest, window))
        self._log_counts(expired)
        built = entry()
        index = self._audit.append(built)
        # Only codes reach this line: the peer's node id, the reason code and a dataset name, all
        # validated by the audit entry; never a value of the request.
        asked = f", dataset {built.dataset}" if built.dataset else ""
        _log.warning(
            "refused a request from %s: %s%s (further ones within %g s are only counted)",
            peer,
            reason,
            asked,
            self._window,
        )
        if self._count is not None:
            self._count(peer, reason, 1)
        return index

    def flush(self) -> int:
        """Log the counts of every window that has passed; return how many entries that took."""
        with self._lock:
            expired = self._take_expired(self._clock())
        return self._log_counts(expired)

    def close(self) -> int:
        """Log the counts of every open window, passed or not (the server is stopping)."""
        with self._lock:
            expired, self._open = list(self._open.items()), {}
        return self._log_counts(expired)

    def _take_expired(
        self, now: float, also: tuple[str, str] | None = None
    ) -> list[tuple[tuple[str, str], _Window]]:
        expired = [
            (key, window)
            for key, window in self._open.items()
            if key == also or now - window.opened >= self._window
        ]
        for key, _ in expired:
            del self._open[key]
        return expired

    def _log_counts(self, windows: list[tuple[tuple[str, str], _Window]]) -> int:
        entries = [
            AuditEntry(
                kind=EntryKind.REQUEST_REFUSED,
                time=datetime.now(UTC),
                node=self._node,
                counterpart=peer,
                element_count=window.suppressed,
                decision=Decision.REFUSED,
                reason=reason,
            )
            for (peer, reason), window in windows
            if window.suppressed > 0
        ]
        if entries:
            self._audit.append_many(entries)
            if self._count is not None:
                for (peer, reason), window in windows:
                    if window.suppressed > 0:
                        self._count(peer, reason, window.suppressed)
        return len(entries)
