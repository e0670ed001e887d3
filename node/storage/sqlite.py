"""SQLite connections and transactions as the stores of a node and of a coordinating node use them.

Every connection opened here is the same:

- autocommit mode (`isolation_level=None`), so that the only transactions are the explicit
  `BEGIN ... COMMIT` of the store;
- usable from any thread (`check_same_thread=False`): each store decides which thread uses which
  connection, and serialises access where it shares one;
- a busy timeout, so that a connection waits for another's write lock instead of failing at once;
- `synchronous = FULL`: in WAL mode every commit fsyncs the write-ahead log before it returns, so
  whatever a store reports written is durable (SQLite, "PRAGMA synchronous").

Failures are raised as `sqlite3.Error`; each store says in its own words what could not be done.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

__all__ = ["BUSY_TIMEOUT_MS", "ThreadConnections", "connect", "transaction"]

BUSY_TIMEOUT_MS: Final = 10_000
"""How long a connection waits for another one's lock before reporting the database busy."""


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open `path` as described in the module docstring; `read_only` opens it with `mode=ro`.

    Raises:
        sqlite3.Error: the database cannot be opened or configured.
    """
    if read_only:
        uri = path.resolve().as_uri() + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA synchronous = FULL")
    return connection


@contextlib.contextmanager
def transaction(
    connection: sqlite3.Connection,
    *,
    write: bool = True,
    begin_error: Callable[[sqlite3.Error], Exception],
) -> Iterator[sqlite3.Connection]:
    """Run a block in one transaction: committed if it ends normally, rolled back otherwise.

    `write` begins with `BEGIN IMMEDIATE`, which takes the write lock at once, so that what the
    block reads cannot change before it writes; otherwise with a plain `BEGIN`. When BEGIN fails,
    the exception `begin_error` makes of the SQLite error is raised instead. Whatever the block
    or COMMIT raises is raised again after the rollback, whose own failure is ignored: SQLite
    rolls some failed transactions back by itself.
    """
    try:
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    except sqlite3.Error as exc:
        raise begin_error(exc) from exc
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            connection.execute("ROLLBACK")
        raise


class ThreadConnections:
    """One connection per thread, opened by `open_connection` at the thread's first use.

    SQLite connections must not run statements from two threads at once; giving each thread its
    own lets readers proceed in parallel under WAL.
    """

    def __init__(self, open_connection: Callable[[], sqlite3.Connection]) -> None:
        self._open_connection = open_connection
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open_connection()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        """Close every connection opened so far."""
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
