"""SQLite connections, transactions and the store base class of a node and a coordinating node.

Every connection opened by `connect` is the same:

- autocommit mode (`isolation_level=None`), so that the only transactions are the explicit
  `BEGIN ... COMMIT` of `transaction`;
- usable from any thread (`check_same_thread=False`): each store decides which thread uses which
  connection, and serialises access where it shares one;
- a busy timeout, so that a connection waits for another's write lock instead of failing at once;
- `synchronous = FULL`: in WAL mode every commit fsyncs the write-ahead log before it returns, so
  whatever a store reports written is durable (SQLite, "PRAGMA synchronous");
- a writable connection puts the file in WAL mode (readers see the last commit while a writer
  appends; each commit is one sequential write and one fsync) and refuses a file that cannot use
  it; a read-only connection (`mode=ro`) never writes, so it runs beside a writer or on a file
  it may not change, and a missing file is an error rather than a new database.

`Store` is what the stores build on: it opens the file, brings its schema to the current version
(`node.storage.migrations`), and gives one connection, its lock and `transaction`. Stores keep
their SQL to themselves: what callers get are model objects and `StorageError`, never a cursor,
so another database could stand behind the same classes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from crypto.errors import InputError, StorageError
from node.storage.migrations import Schema, migrate

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Store",
    "ThreadConnections",
    "connect",
    "open_database",
    "transaction",
]

BUSY_TIMEOUT_MS: Final = 10_000
"""How long a connection waits for another one's lock before reporting the database busy."""


def connect(
    path: Path,
    *,
    read_only: bool = False,
    foreign_keys: bool = False,
    secure_delete: bool = False,
    cache_kib: int | None = None,
) -> sqlite3.Connection:
    """Open `path` as described in the module docstring.

    `foreign_keys` enforces REFERENCES clauses; `secure_delete` overwrites deleted content in
    the file (for personal data that must not linger); `cache_kib` sizes the page cache.

    Raises:
        sqlite3.Error: the database cannot be opened or configured, or cannot use WAL mode.
    """
    if read_only:
        uri = path.resolve().as_uri() + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _configure(connection, read_only, foreign_keys, secure_delete, cache_kib)
    except BaseException:
        connection.close()
        raise
    return connection


def _configure(
    connection: sqlite3.Connection,
    read_only: bool,
    foreign_keys: bool,
    secure_delete: bool,
    cache_kib: int | None,
) -> None:
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA synchronous = FULL")
    if foreign_keys:
        connection.execute("PRAGMA foreign_keys = ON")
    if secure_delete:
        connection.execute("PRAGMA secure_delete = ON")
    if cache_kib is not None:
        connection.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
    if not read_only:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot use WAL mode (got {mode!r})")


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


def open_database(
    path: Path,
    schema: Schema,
    *,
    read_only: bool = False,
    create: bool = True,
    foreign_keys: bool = False,
    secure_delete: bool = False,
    cache_kib: int | None = None,
    require_table: str | None = None,
    shared: bool = False,
) -> sqlite3.Connection:
    """Connect to `path` and bring it to `schema`'s current version (or check it is there).

    `require_table` and `shared`: see `node.storage.migrations.migrate`.

    Raises:
        InputError: the file does not exist and `create` is false (always so when `read_only`).
        StorageError: it cannot be opened, or is another kind of database, or its schema is
            newer than this software's, or a migration failed (the file is then unchanged).
    """
    if (read_only or not create) and not path.exists():
        raise InputError(f"database {path} does not exist: create the node with `blindhit init`")
    try:
        connection = connect(
            path,
            read_only=read_only,
            foreign_keys=foreign_keys,
            secure_delete=secure_delete,
            cache_kib=cache_kib,
        )
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    try:
        migrate(
            connection,
            path,
            schema,
            read_only=read_only,
            require_table=require_table,
            shared=shared,
        )
    except BaseException:
        connection.close()
        raise
    return connection


class Store:
    """One database file of `schema`, opened and migrated, behind one connection and a lock.

    Subclasses run their statements inside `transaction()` (one writing transaction, with the
    lock held) or `read()` (the lock held, no transaction), and turn rows into model objects.
    `read_only` opens the file without writing, and reads an older schema as it is.
    """

    def __init__(
        self,
        path: Path | str,
        schema: Schema,
        *,
        read_only: bool = False,
        create: bool = True,
        foreign_keys: bool = False,
        secure_delete: bool = False,
        cache_kib: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._closed = False
        self._connection = open_database(
            self.path,
            schema,
            read_only=read_only,
            create=create,
            foreign_keys=foreign_keys,
            secure_delete=secure_delete,
            cache_kib=cache_kib,
        )

    def _cannot_write(self, exc: sqlite3.Error) -> StorageError:
        return StorageError(f"cannot write database {self.path}: {exc}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the block in one `BEGIN IMMEDIATE` transaction."""
        with self._lock:
            if self._closed:
                raise StorageError(f"database {self.path} is closed")
            if self.read_only:
                raise StorageError(f"database {self.path} is open read-only")
            with transaction(self._connection, begin_error=self._cannot_write) as connection:
                yield connection

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and give the connection for reading statements."""
        with self._lock:
            if self._closed:
                raise StorageError(f"database {self.path} is closed")
            yield self._connection

    def close(self) -> None:
        """Close the connection; further calls raise StorageError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
