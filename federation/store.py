"""The coordinating node's database: members, their datasets, revocations, certificates issued
and every published directory.

One SQLite file (`federation.db`), WAL mode with `synchronous=FULL`, so a change is on disk when
its call returns: a coordinating node that restarts, or crashes, loses no admitted member and no
revocation. Every table is prefixed `fd_`:

- `fd_meta(name, value)`: `coordinator_id`, the node the file belongs to, and `schema_version`
  as the first layout wrote it (the version is `PRAGMA user_version`, `federation.schema`).
- `fd_certificates(serial, subject_id, fingerprint, key_digest, issued_at, not_after, pem)`:
  every certificate the federation CA issued (members' and the coordinating node's own), never
  deleted. `serial` is the X.509 serial number in lowercase hex, `key_digest` the SHA-256 of the
  certified SubjectPublicKeyInfo.
- `fd_members(member_id, country, endpoint, certificate_serial, identity_key,
  identity_public_key, admitted_at)`: the current members, one row each. `identity_key` is the
  verifier key `<id>+<key ID>+<base64>`, `identity_public_key` its raw Ed25519 key in hex.
- `fd_datasets(member_id, name, suite, mode, public_key, daily_quota)`: each member's datasets;
  `public_key` is hex, empty in OPRF mode.
- `fd_revocations(id, member_id, certificate_serial, identity_public_key, revoked_at, reason)`:
  every revocation, never deleted.
- `fd_directories(version, issued_at, note)`: every signed directory published, never deleted,
  so any version a member quotes can be shown again.

Decisions:

- A revocation deletes the member's row (and its datasets) and records the revocation in the
  same transaction: the member is gone from the next directory, and the history stays. A revoked
  member may be admitted again with a new certificate; the directory then lists it as a member
  and no longer as revoked.
- Keys are never shared: a TLS key certified for one node is refused for another, an Ed25519
  identity key in use by one member is refused for another, and after a `key-compromise`
  revocation neither of that member's keys is ever accepted again.
- Each admission, revocation and publication is one write transaction (`BEGIN IMMEDIATE`), and
  the checks above run inside it, so two operators working at once cannot interleave; the next
  directory version is read and written in the same transaction, so versions are gapless and
  never reused.
- One connection guarded by a lock, usable from a server's worker threads.

Errors: a refused change (unknown or duplicate member, reused key) raises `FederationError`; a
database that cannot be opened, read or written raises `StorageError`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from crypto.errors import FederationError, InputError, InvalidEncoding, InvalidInput, StorageError
from crypto.oprf import Mode, Suite
from crypto.signed_note import Ed25519Verifier
from federation.ca import public_key_digest
from federation.schema import FEDERATION_SCHEMA
from node.keys.tls import certificate_fingerprint
from node.storage.sqlite import open_database, transaction
from node.storage.times import format_time, parse_time
from protocol.directory import (
    Directory,
    DirectoryDataset,
    Member,
    Revocation,
    RevocationReason,
)
from protocol.directory import format_time as directory_time
from protocol.validation import parse_host_port

__all__ = [
    "SCHEMA_VERSION",
    "AdmittedMember",
    "FederationStore",
    "IssuedCertificate",
    "PublishedDirectory",
]

SCHEMA_VERSION: Final = 1
"""What `create` writes as `fd_meta.schema_version`, unchanged since the first layout; the
schema's version is `PRAGMA user_version` (`federation.schema`)."""
# What building a model object from a row raises when the row was altered behind our back.
_CORRUPT_ROW: Final = (InputError, InvalidEncoding, InvalidInput, ValueError, KeyError)


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A certificate the federation CA issued, as recorded."""

    serial: str
    subject_id: str
    fingerprint: str
    key_digest: str
    issued_at: datetime
    not_after: datetime
    pem: bytes

    @classmethod
    def of(
        cls, certificate: x509.Certificate, subject_id: str, issued_at: datetime
    ) -> IssuedCertificate:
        """Describe `certificate`, issued to node `subject_id` at `issued_at` (whole seconds)."""
        return cls(
            serial=f"{certificate.serial_number:x}",
            subject_id=subject_id,
            fingerprint=certificate_fingerprint(certificate),
            key_digest=public_key_digest(certificate.public_key()),
            issued_at=issued_at,
            not_after=certificate.not_valid_after_utc,
            pem=certificate.public_bytes(Encoding.PEM),
        )


@dataclass(frozen=True, slots=True)
class AdmittedMember:
    """A current member with what the directory does not carry: when, and its certificate."""

    member: Member
    admitted_at: datetime
    certificate: IssuedCertificate


@dataclass(frozen=True, slots=True)
class PublishedDirectory:
    """A signed directory as published: its version, issue time and note."""

    version: int
    issued_at: datetime
    note: str


_MEMBER_COLUMNS: Final = "m.member_id, m.country, m.endpoint, m.identity_key, m.admitted_at"
_CERTIFICATE_COLUMNS: Final = (
    "c.serial, c.subject_id, c.fingerprint, c.key_digest, c.issued_at, c.not_after, c.pem"
)


def _certificate(row: Sequence[object]) -> IssuedCertificate:
    serial, subject_id, fingerprint, key_digest, issued_at, not_after, pem = row
    return IssuedCertificate(
        serial=str(serial),
        subject_id=str(subject_id),
        fingerprint=str(fingerprint),
        key_digest=str(key_digest),
        issued_at=parse_time(str(issued_at)),
        not_after=parse_time(str(not_after)),
        pem=str(pem).encode("ascii"),
    )


def _create_file(path: Path) -> None:
    # Creating the file first gives it mode 0600 from the start; SQLite keeps that mode for its
    # -wal and -shm files.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError as exc:
        raise InputError(f"{path} exists; a federation database is never overwritten") from exc
    except OSError as exc:
        raise StorageError(f"cannot create database {path}: {exc.strerror or exc}") from exc


def _open(path: Path, *, require_table: str | None = None) -> sqlite3.Connection:
    # A change is durable when the call that made it returns (`node.storage.sqlite`); the tables
    # are `fd_` of `federation.schema`, upgraded on open.
    return open_database(path, FEDERATION_SCHEMA, foreign_keys=True, require_table=require_table)


class FederationStore:
    """The coordinating node's database. Open with `create` or `open`; close with `close()`."""

    def __init__(self, path: Path, connection: sqlite3.Connection, coordinator_id: str) -> None:
        self.path = path
        self.coordinator_id = coordinator_id
        self._connection = connection
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def create(cls, path: Path, coordinator_id: str) -> FederationStore:
        """Create a new database at `path` for the coordinating node `coordinator_id`.

        Raises:
            InputError: `path` exists.
            StorageError: the database cannot be created.
        """
        _create_file(path)
        try:
            connection = _open(path)
        except StorageError:
            path.unlink(missing_ok=True)
            raise
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "INSERT INTO fd_meta (name, value) VALUES (?, ?)",
                [("schema_version", str(SCHEMA_VERSION)), ("coordinator_id", coordinator_id)],
            )
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            connection.close()
            path.unlink(missing_ok=True)
            raise StorageError(f"cannot create the federation tables in {path}: {exc}") from exc
        return cls(path, connection, coordinator_id)

    @classmethod
    def open(cls, path: Path) -> FederationStore:
        """Open the existing database at `path`.

        Raises:
            InputError: `path` does not exist.
            StorageError: it is not a federation database of this schema version.
        """
        if not path.is_file():
            raise InputError(f"federation database {path} does not exist")
        connection = _open(path, require_table="fd_meta")
        try:
            rows = dict(connection.execute("SELECT name, value FROM fd_meta").fetchall())
        except sqlite3.Error as exc:
            connection.close()
            raise StorageError(f"{path} is not a federation database: {exc}") from exc
        if "coordinator_id" not in rows:
            connection.close()
            raise StorageError(f"{path} is not a federation database: it names no coordinator")
        return cls(path, connection, str(rows["coordinator_id"]))

    def close(self) -> None:
        """Close the database; further calls raise StorageError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._connection.close()

    def __enter__(self) -> FederationStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------
    # Transactions.
    # -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction: committed if it ends normally, rolled back otherwise."""
        with self._lock:
            if self._closed:
                raise StorageError(f"the federation database {self.path} is closed")
            try:
                with transaction(
                    self._connection, write=write, begin_error=self._cannot_use
                ) as connection:
                    yield connection
            except sqlite3.Error as exc:
                raise StorageError(f"the federation database {self.path} failed: {exc}") from exc

    def _cannot_use(self, exc: sqlite3.Error) -> StorageError:
        return StorageError(f"cannot use the federation database {self.path}: {exc}")

    # -----------------------------------------------------------------------------------------
    # Certificates.
    # -----------------------------------------------------------------------------------------

    def record_certificate(self, certificate: IssuedCertificate) -> None:
        """Record a certificate issued to the coordinating node itself.

        Raises:
            FederationError: the certificate is not for the coordinating node, or its key was
                certified for another node.
        """
        if certificate.subject_id != self.coordinator_id:
            raise FederationError(
                f"record_certificate is for the coordinating node's own certificates, not for "
                f"{certificate.subject_id!r}; members are admitted"
            )
        with self._transaction(write=True) as connection:
            self._check_tls_key(connection, certificate.key_digest, certificate.subject_id)
            self._insert_certificate(connection, certificate)

    def certificates(self) -> tuple[IssuedCertificate, ...]:
        """Every certificate issued, oldest first."""
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                f"SELECT {_CERTIFICATE_COLUMNS} FROM fd_certificates AS c "  # noqa: S608
                "ORDER BY c.issued_at, c.serial"
            ).fetchall()
        return tuple(_certificate(row) for row in rows)

    @staticmethod
    def _insert_certificate(connection: sqlite3.Connection, certificate: IssuedCertificate) -> None:
        connection.execute(
            "INSERT INTO fd_certificates (serial, subject_id, fingerprint, key_digest, issued_at, "
            "not_after, pem) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                certificate.serial,
                certificate.subject_id,
                certificate.fingerprint,
                certificate.key_digest,
                format_time(certificate.issued_at),
                format_time(certificate.not_after),
                certificate.pem.decode("ascii"),
            ),
        )

    @staticmethod
    def _check_tls_key(connection: sqlite3.Connection, key_digest: str, subject_id: str) -> None:
        row = connection.execute(
            "SELECT subject_id FROM fd_certificates WHERE key_digest = ? AND subject_id != ?",
            (key_digest, subject_id),
        ).fetchone()
        if row is not None:
            raise FederationError(
                f"the TLS key of this request is already certified for node {row[0]!r}; every "
                "node has its own key"
            )
        row = connection.execute(
            "SELECT r.member_id FROM fd_revocations AS r JOIN fd_certificates AS c "
            "ON c.serial = r.certificate_serial WHERE c.key_digest = ? AND r.reason = ?",
            (key_digest, RevocationReason.KEY_COMPROMISE.value),
        ).fetchone()
        if row is not None:
            raise FederationError(
                f"the TLS key of this request belonged to a certificate of {row[0]!r} revoked for "
                "key compromise; make a new key and request"
            )

    # -----------------------------------------------------------------------------------------
    # Members.
    # -----------------------------------------------------------------------------------------

    def check_admissible(self, member: Member, key_digest: str | None = None) -> None:
        """Check, without changing anything, that `member` could be admitted now.

        `admit` makes the same checks again inside its transaction; this lets a caller refuse
        early, before it signs a certificate.

        Raises:
            FederationError: see `admit`.
        """
        with self._transaction(write=False) as connection:
            self._check_member(connection, member)
            if key_digest is not None:
                self._check_tls_key(connection, key_digest, member.id)

    def _check_member(self, connection: sqlite3.Connection, member: Member) -> None:
        if member.id == self.coordinator_id:
            raise FederationError(
                f"{member.id!r} is the coordinating node's own id; it cannot be a member"
            )
        row = connection.execute(
            "SELECT admitted_at FROM fd_members WHERE member_id = ?", (member.id,)
        ).fetchone()
        if row is not None:
            raise FederationError(
                f"{member.id!r} is a member already (admitted {row[0]}); revoke it first to "
                "admit it anew"
            )
        public_key = member.identity_key.public_key.hex()
        row = connection.execute(
            "SELECT member_id FROM fd_members WHERE identity_public_key = ?", (public_key,)
        ).fetchone()
        if row is not None:
            raise FederationError(
                f"the identity key of {member.id!r} is the identity key of member {row[0]!r}; "
                "every member has its own key"
            )
        row = connection.execute(
            "SELECT member_id FROM fd_revocations WHERE identity_public_key = ? AND reason = ?",
            (public_key, RevocationReason.KEY_COMPROMISE.value),
        ).fetchone()
        if row is not None:
            raise FederationError(
                f"the identity key of {member.id!r} was revoked with {row[0]!r} for key "
                "compromise and is never accepted again"
            )

    def admit(
        self, member: Member, certificate: IssuedCertificate, admitted_at: datetime
    ) -> AdmittedMember:
        """Record `member`, admitted with `certificate`, in one transaction.

        Raises:
            FederationError: the certificate is not the one the member's entry names or not for
                it; the member id is the coordinating node's or a current member's; the identity
                key is another member's or was revoked for key compromise; the TLS key is
                certified for another node or was revoked for key compromise.
        """
        if certificate.subject_id != member.id:
            raise FederationError(
                f"the certificate is for {certificate.subject_id!r}, the member is {member.id!r}"
            )
        if certificate.fingerprint != member.certificate_fingerprint:
            raise FederationError(
                f"member {member.id!r} names certificate {member.certificate_fingerprint}, "
                f"got {certificate.fingerprint}"
            )
        with self._transaction(write=True) as connection:
            self._check_member(connection, member)
            self._check_tls_key(connection, certificate.key_digest, member.id)
            self._insert_certificate(connection, certificate)
            connection.execute(
                "INSERT INTO fd_members (member_id, country, endpoint, certificate_serial, "
                "identity_key, identity_public_key, admitted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    member.id,
                    member.country,
                    str(member.endpoint),
                    certificate.serial,
                    member.identity_key.verifier_key(),
                    member.identity_key.public_key.hex(),
                    format_time(admitted_at),
                ),
            )
            connection.executemany(
                "INSERT INTO fd_datasets (member_id, name, suite, mode, public_key, daily_quota) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        member.id,
                        dataset.name,
                        dataset.suite.value.identifier,
                        dataset.mode.name,
                        dataset.public_key.hex(),
                        dataset.daily_quota,
                    )
                    for dataset in member.datasets
                ],
            )
        return AdmittedMember(member, admitted_at, certificate)

    def revoke(self, member_id: str, reason: RevocationReason, revoked_at: datetime) -> Revocation:
        """Remove member `member_id` and record why, in one transaction.

        Raises:
            FederationError: `member_id` is not a current member.
        """
        revocation = Revocation(member_id, revoked_at, reason)
        with self._transaction(write=True) as connection:
            row = connection.execute(
                "SELECT certificate_serial, identity_public_key FROM fd_members "
                "WHERE member_id = ?",
                (member_id,),
            ).fetchone()
            if row is None:
                raise FederationError(self._not_a_member(connection, member_id))
            serial, public_key = row
            connection.execute(
                "INSERT INTO fd_revocations (member_id, certificate_serial, identity_public_key, "
                "revoked_at, reason) VALUES (?, ?, ?, ?, ?)",
                (member_id, serial, public_key, format_time(revoked_at), reason.value),
            )
            connection.execute("DELETE FROM fd_members WHERE member_id = ?", (member_id,))
        return revocation

    @staticmethod
    def _not_a_member(connection: sqlite3.Connection, member_id: str) -> str:
        row = connection.execute(
            "SELECT revoked_at, reason FROM fd_revocations WHERE member_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (member_id,),
        ).fetchone()
        if row is not None:
            # Shown in the directory's spelling (whole seconds), as operators see it there.
            revoked = directory_time(parse_time(str(row[0])))
            return f"{member_id!r} is not a member: it was revoked at {revoked} ({row[1]})"
        return f"{member_id!r} is not a member of the federation"

    def members(self) -> tuple[Member, ...]:
        """The current members, sorted by id."""
        return tuple(admitted.member for admitted in self.admitted_members())

    def admitted_members(self) -> tuple[AdmittedMember, ...]:
        """The current members with their admission time and certificate, sorted by id."""
        with self._transaction(write=False) as connection:
            return self._admitted_members(connection)

    def _admitted_members(self, connection: sqlite3.Connection) -> tuple[AdmittedMember, ...]:
        datasets: dict[str, list[DirectoryDataset]] = {}
        members: list[AdmittedMember] = []
        try:
            for member_id, name, suite, mode, public_key, quota in connection.execute(
                "SELECT member_id, name, suite, mode, public_key, daily_quota FROM fd_datasets "
                "ORDER BY member_id, name"
            ):
                datasets.setdefault(str(member_id), []).append(
                    DirectoryDataset(
                        str(name),
                        Suite.from_identifier(str(suite)),
                        Mode[str(mode)],
                        bytes.fromhex(str(public_key)),
                        int(quota),
                    )
                )
            for row in connection.execute(
                f"SELECT {_MEMBER_COLUMNS}, {_CERTIFICATE_COLUMNS} FROM fd_members AS m "  # noqa: S608
                "JOIN fd_certificates AS c ON c.serial = m.certificate_serial "
                "ORDER BY m.member_id"
            ):
                member_id, country, endpoint, identity_key, admitted_at = (str(v) for v in row[:5])
                certificate = _certificate(row[5:])
                member = Member(
                    member_id,
                    country,
                    parse_host_port(endpoint, "endpoint"),
                    certificate.fingerprint,
                    Ed25519Verifier.from_verifier_key(identity_key),
                    tuple(datasets.get(member_id, ())),
                )
                members.append(AdmittedMember(member, parse_time(admitted_at), certificate))
        except _CORRUPT_ROW as exc:
            raise StorageError(f"{self.path}: a stored member is malformed: {exc}") from exc
        return tuple(members)

    def revocations(self) -> tuple[Revocation, ...]:
        """The revoked member ids not admitted again, each with its latest revocation."""
        with self._transaction(write=False) as connection:
            return self._revocations(connection)

    def _revocations(self, connection: sqlite3.Connection) -> tuple[Revocation, ...]:
        rows = connection.execute(
            "SELECT r.member_id, r.revoked_at, r.reason FROM fd_revocations AS r "
            "WHERE r.id = (SELECT max(id) FROM fd_revocations WHERE member_id = r.member_id) "
            "AND r.member_id NOT IN (SELECT member_id FROM fd_members) ORDER BY r.member_id"
        ).fetchall()
        try:
            return tuple(
                Revocation(
                    str(member_id), parse_time(str(revoked_at)), RevocationReason(str(reason))
                )
                for member_id, revoked_at, reason in rows
            )
        except _CORRUPT_ROW as exc:
            raise StorageError(f"{self.path}: a stored revocation is malformed: {exc}") from exc

    # -----------------------------------------------------------------------------------------
    # Directories.
    # -----------------------------------------------------------------------------------------

    def publish(
        self,
        compose: Callable[[int, tuple[Member, ...], tuple[Revocation, ...]], tuple[Directory, str]],
    ) -> PublishedDirectory:
        """Publish the next directory version, in one transaction.

        `compose(version, members, revoked)` is called inside the transaction with the next
        version and the current state, and returns the directory and its signed note, which are
        stored together.

        Raises:
            FederationError: `compose` returned another version than it was given.
        """
        with self._transaction(write=True) as connection:
            row = connection.execute("SELECT max(version) FROM fd_directories").fetchone()
            version = 1 if row[0] is None else int(row[0]) + 1
            members = tuple(admitted.member for admitted in self._admitted_members(connection))
            directory, note = compose(version, members, self._revocations(connection))
            if directory.version != version:
                raise FederationError(
                    f"expected directory version {version}, got {directory.version}"
                )
            connection.execute(
                "INSERT INTO fd_directories (version, issued_at, note) VALUES (?, ?, ?)",
                (version, format_time(directory.issued_at), note),
            )
        return PublishedDirectory(version, directory.issued_at, note)

    def latest_directory(self) -> PublishedDirectory | None:
        """The newest published directory, or None before the first."""
        with self._transaction(write=False) as connection:
            row = connection.execute(
                "SELECT version, issued_at, note FROM fd_directories ORDER BY version DESC LIMIT 1"
            ).fetchone()
        return None if row is None else _published(row)

    def directory(self, version: int) -> PublishedDirectory | None:
        """The published directory of `version`, or None."""
        with self._transaction(write=False) as connection:
            row = connection.execute(
                "SELECT version, issued_at, note FROM fd_directories WHERE version = ?",
                (version,),
            ).fetchone()
        return None if row is None else _published(row)

    def directories(self) -> tuple[PublishedDirectory, ...]:
        """Every published directory, oldest first."""
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                "SELECT version, issued_at, note FROM fd_directories ORDER BY version"
            ).fetchall()
        return tuple(_published(row) for row in rows)


def _published(row: Sequence[object]) -> PublishedDirectory:
    version, issued_at, note = row
    return PublishedDirectory(int(str(version)), parse_time(str(issued_at)), str(note))
