"""Schema versions and ordered migrations, for the node database and the coordinating node's.

A `Schema` is a list of numbered steps, 1, 2, 3, ...; step N takes a database at version N - 1
to version N, and is either an SQL script or a function of the connection. A database's version
is `PRAGMA user_version`, which SQLite keeps in the file header:

- it is read without any table existing, and a read-only reader can read it; an empty file and
  a file of the first releases (which never set it) are both at version 0, and step 1 serves
  both, since it creates only what is missing;
- it is written inside the migrating transaction, so the version and the tables it describes
  change together or not at all;
- one number for the whole file, however many parts of the software own tables in it. (A meta
  table would have to exist before the version could be read, and the first releases had three,
  one per part.)

Each kind of file (a node's `node.db`, a coordinating node's `federation.db`) has its own
`Schema` and its own version numbers, so the file also says which kind it is: `PRAGMA
application_id`, set by the first migration. A file of another kind is refused, not given this
kind's tables; a file of the first releases (application id 0) is told by a `marker` table only
its kind holds. The audit log's tables are in every kind of file, so the audit log opens a file of
any kind known to the process (`shared`) and upgrades it with that kind's schema.

`migrate` runs, in ONE `BEGIN IMMEDIATE` transaction, every step above the file's version and
then sets the version: a failed step rolls everything back and leaves the file as it was. A
file of a newer version than the software's is refused with a one-line message naming it and
both versions; a read-only connection never migrates: it reads an older file as it is.
Steps are never edited once released: a change is a new step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from crypto.errors import StorageError

__all__ = ["Migration", "Schema", "migrate", "schema_version", "statements"]

_KINDS: dict[int, Schema] = {}
"""Every kind of file this process knows, by application id; a `Schema` registers itself."""


@dataclass(frozen=True, slots=True)
class Migration:
    """Step `version`: takes a database from `version - 1` to `version`."""

    version: int
    summary: str
    step: str | Callable[[sqlite3.Connection], None]
    """An SQL script (statements separated by `;`) or a function run inside the transaction."""


@dataclass(frozen=True, slots=True)
class Schema:
    """The ordered migrations of one kind of database; `name` says which, in messages.

    `application_id` marks the files of this kind; `marker` is a table that every file of this
    kind holds, written by the first releases too (None for the default kind, the node's).
    `register=False` keeps a schema out of the process's known kinds (tests).
    """

    name: str
    application_id: int
    migrations: tuple[Migration, ...]
    marker: str | None = None
    register: bool = True

    def __post_init__(self) -> None:
        numbers = [migration.version for migration in self.migrations]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.name}: migrations must be numbered 1, 2, ..., got {numbers}")
        if not 0 < self.application_id < 2**31:
            raise ValueError(f"{self.name}: expected an application id in [1, 2**31)")
        if self.register:
            known = _KINDS.setdefault(self.application_id, self)
            if known is not self:
                raise ValueError(f"{self.name}: application id taken by {known.name}")

    @property
    def version(self) -> int:
        """The version this software writes: the number of the last step."""
        return len(self.migrations)


def statements(script: str) -> Iterator[str]:
    """Split `script` into complete statements (a trigger's body keeps its inner `;`).

    `executescript` would commit the open transaction first, so migrations run statements one
    by one instead.
    """
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\n;"):
                yield pending.strip()
            pending = ""
    if pending.strip(" \t\n;"):
        raise ValueError(f"incomplete SQL statement at the end of a script: {pending.strip()!r}")


def schema_version(connection: sqlite3.Connection) -> int:
    """The file's `PRAGMA user_version`."""
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _check_not_newer(path: Path, schema: Schema, found: int) -> None:
    if found > schema.version:
        raise StorageError(
            f"database {path} has {schema.name} schema version {found}, newer than version "
            f"{schema.version} of this software: upgrade blindhit to open it"
        )


def _has_table(connection: sqlite3.Connection, table: str) -> bool:
    row = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return row is not None


def _kind(connection: sqlite3.Connection, path: Path, schema: Schema, shared: bool) -> Schema:
    """The schema the file is of: `schema`, or with `shared` the file's own known kind."""
    application_id = int(connection.execute("PRAGMA application_id").fetchone()[0])
    if application_id == 0:
        # A file of the first releases, or a new one: its marker table tells its kind.
        others = [k for k in _KINDS.values() if k is not schema and k.marker is not None]
        found = next((k for k in others if _has_table(connection, str(k.marker))), schema)
    else:
        found = _KINDS.get(application_id, schema)
        if found is schema and application_id != schema.application_id:
            raise StorageError(
                f"database {path} is not a {schema.name} database "
                f"(application id {application_id:#010x})"
            )
    if found is not schema and not shared:
        raise StorageError(f"database {path} is a {found.name} database, not a {schema.name} one")
    return found


def migrate(
    connection: sqlite3.Connection,
    path: Path,
    schema: Schema,
    *,
    read_only: bool = False,
    require_table: str | None = None,
    shared: bool = False,
) -> int:
    """Bring the database behind `connection` to its schema's version; return the version found.

    The schema is `schema`, or with `shared` that of the file's own kind if the process knows
    it (see the module docstring). `require_table` names a table the file must already hold (a
    file that is not of this kind is refused rather than given the tables).

    Raises:
        StorageError: the file is of another kind, or newer than the software, or a step
            failed; in every case nothing was changed.
    """
    try:
        schema = _kind(connection, path, schema, shared)
        found = schema_version(connection)
        missing = require_table is not None and not _has_table(connection, require_table)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the schema of database {path}: {exc}") from exc
    _check_not_newer(path, schema, found)
    if missing:
        raise StorageError(
            f"{path} is not a {schema.name} database (it has no table {require_table})"
        )
    if found == schema.version:
        return found
    if read_only:
        # A reader cannot upgrade, and may be looking at a file it must not change: it reads
        # the older layout as it is (`node.storage.times` reads the older time spellings).
        return found
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StorageError(f"cannot upgrade database {path}: {exc}") from exc
    try:
        # Another process may have migrated the file between the first read and the lock.
        found = schema_version(connection)
        _check_not_newer(path, schema, found)
        for migration in schema.migrations[found:]:
            _run(connection, path, schema, migration)
        connection.execute(f"PRAGMA application_id = {schema.application_id}")
        connection.execute(f"PRAGMA user_version = {schema.version}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return found


def _run(connection: sqlite3.Connection, path: Path, schema: Schema, migration: Migration) -> None:
    try:
        if isinstance(migration.step, str):
            for statement in statements(migration.step):
                connection.execute(statement)
        else:
            migration.step(connection)
    except (sqlite3.Error, ValueError) as exc:
        raise StorageError(
            f"cannot upgrade database {path} to {schema.name} schema version "
            f"{migration.version} ({migration.summary}): {exc}; the file is unchanged"
        ) from exc
