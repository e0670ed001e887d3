"""Who may use the check desk: integrating systems, officers, partners and auditors, by token.

Each client of the desk's local APIs is a row of the node's database: an id (what goes into the
officer field of every check it makes, so that every audit entry names it), a role, the SHA-256
of its bearer token, the purpose and legal basis its checks state when it does not (partners
state none), a daily quota of probes, and when it was created and revoked.

Decision: bearer tokens rather than a client certificate per integrating system. A border
system's back end, a mobile app and an airline's screening service all speak HTTP with a bearer
token, where a certificate per device from the node's CA would have to be issued, installed and
renewed on each; the desk's listener is TLS all the same, with the node's certificate. A token is
256 random bits, shown once when it is issued (`blindhit desk client add`) and stored only as its
SHA-256: a copy of the database gives no token that works, and a plain hash is enough because a
random 256-bit token cannot be guessed from its hash (a slow password hash protects guessable
secrets). Revocation is immediate: the next request with the token is refused.

Roles:

- `system`: a national system (border control, a FIND-style integration): checks, full answers.
- `officer`: an officer's client (the console, a mobile app): the same, and the referrals.
- `partner`: a private partner (an airline, a hotel chain): submits travellers and learns only
  `no_action` or `refer` with a referral id, never which member, dataset, kind or strength.
- `auditor`: reads audit state; makes no checks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Final

from crypto.errors import InputError, NotPermitted, QuotaExceeded, StorageError, UnknownPeer
from node.storage.schema import NODE_SCHEMA
from node.storage.sqlite import Store
from node.storage.times import format_time, parse_time

__all__ = [
    "TOKEN_PREFIX",
    "ClientStore",
    "DeskClient",
    "Role",
    "check_client_id",
    "check_code",
]

TOKEN_PREFIX: Final = "bhd_"  # noqa: S105 (a prefix that marks tokens, not a secret)
"""Tokens start with this, so that a leaked one is recognised by secret scanners and people."""

_CLIENT_ID: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# The codes an audit entry may hold (node.audit.entries), for the stated purpose fields.
_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/()#-]{0,63}")


class Role(StrEnum):
    """What a client of the desk may do (see the module docstring)."""

    SYSTEM = "system"
    OFFICER = "officer"
    PARTNER = "partner"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class DeskClient:
    """A client of the desk, as its token authenticates it."""

    id: str
    role: Role
    purpose: str | None
    legal_basis: str | None
    daily_quota: int
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def checks(self) -> bool:
        """Whether the role may submit checks at all."""
        return self.role is not Role.AUDITOR


def check_client_id(value: str) -> str:
    """Return `value` if it is a client id (a-z, 0-9, '.', '_', '-', at most 64, no space)."""
    if _CLIENT_ID.fullmatch(value) is None:
        raise InputError(
            f"client id: expected 1 to 64 characters a-z, 0-9, '.', '_' or '-', starting with a "
            f"letter or digit; got {value!r:.80}"
        )
    return value


def check_code(value: str | None, what: str) -> str | None:
    if value is not None and _CODE.fullmatch(value) is None:
        raise InputError(
            f"{what}: expected a code without spaces (e.g. border-check), got {value!r:.80}"
        )
    return value


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class ClientStore(Store):
    """The desk's clients in the node's database (`desk_clients`, `desk_usage`)."""

    def __init__(self, database: Path, *, read_only: bool = False) -> None:
        super().__init__(database, NODE_SCHEMA, read_only=read_only)

    def add(
        self,
        client_id: str,
        role: Role,
        *,
        purpose: str | None = None,
        legal_basis: str | None = None,
        daily_quota: int = 100_000,
        now: datetime | None = None,
    ) -> tuple[DeskClient, str]:
        """Create a client; return it and its token, which is shown now and never again.

        Raises:
            InputError: the id is malformed or taken, a code is malformed, a partner has no
                purpose or legal basis (its checks state none), or the quota is not positive.
        """
        check_client_id(client_id)
        check_code(purpose, "purpose")
        check_code(legal_basis, "legal basis")
        if role is Role.PARTNER and (purpose is None or legal_basis is None):
            raise InputError(
                "a partner's checks state no purpose of their own: give the client a purpose "
                "and a legal basis (e.g. --purpose carrier-screening --legal-basis EU-2016/681)"
            )
        if daily_quota < 1:
            raise InputError(f"daily quota: expected at least 1, got {daily_quota}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = now or datetime.now(UTC)
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO desk_clients (id, role, token_sha256, purpose, legal_basis, "
                    "daily_quota, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (client_id, role.value, _digest(token), purpose, legal_basis, daily_quota,
                     format_time(created)),
                )  # fmt: skip
        except sqlite3.IntegrityError:
            raise InputError(f"client {client_id} exists already") from None
        except sqlite3.Error as error:
            raise StorageError(f"cannot add the client: {error}") from error
        return DeskClient(client_id, role, purpose, legal_basis, daily_quota, created), token

    def authenticate(self, token: str) -> DeskClient:
        """The client whose token this is.

        Raises:
            UnknownPeer: no such token, or its client was revoked (one message for both, so a
                caller cannot tell a revoked token from a wrong one).
        """
        digest = _digest(token)
        with self.read() as db:
            row = db.execute(
                "SELECT id, role, token_sha256, purpose, legal_basis, daily_quota, created_at, "
                "revoked_at FROM desk_clients WHERE token_sha256 = ?",
                (digest,),
            ).fetchone()
        if row is None or not hmac.compare_digest(bytes(row[2]), digest) or row[7] is not None:
            raise UnknownPeer("the token is not one of this desk's clients")
        return _client(row)

    def revoke(self, client_id: str, now: datetime | None = None) -> DeskClient:
        """Revoke a client: its token is refused from the next request on."""
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE desk_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (format_time(now or datetime.now(UTC)), client_id),
            ).rowcount
        if not changed:
            raise InputError(f"no client {client_id} to revoke (unknown, or revoked already)")
        return self.get(client_id)

    def get(self, client_id: str) -> DeskClient:
        with self.read() as db:
            row = db.execute(
                "SELECT id, role, token_sha256, purpose, legal_basis, daily_quota, created_at, "
                "revoked_at FROM desk_clients WHERE id = ?",
                (client_id,),
            ).fetchone()
        if row is None:
            raise InputError(f"no client {client_id}")
        return _client(row)

    def list(self) -> list[DeskClient]:
        with self.read() as db:
            rows = db.execute(
                "SELECT id, role, token_sha256, purpose, legal_basis, daily_quota, created_at, "
                "revoked_at FROM desk_clients ORDER BY id"
            ).fetchall()
        return [_client(row) for row in rows]

    def charge(self, client: DeskClient, probes: int, now: datetime | None = None) -> None:
        """Count `probes` against the client's quota for today (UTC), or refuse them all.

        Raises:
            NotPermitted: the client's role makes no checks.
            QuotaExceeded: today's quota would be exceeded; nothing is counted.
        """
        if not client.checks:
            raise NotPermitted(f"client {client.id} ({client.role.value}) makes no checks")
        day = (now or datetime.now(UTC)).date().isoformat()
        try:
            with self.transaction() as db:
                row = db.execute(
                    "SELECT probes FROM desk_usage WHERE client = ? AND day = ?", (client.id, day)
                ).fetchone()
                used = int(row[0]) if row else 0
                if used + probes > client.daily_quota:
                    raise QuotaExceeded(
                        f"client {client.id} has used {used} of its {client.daily_quota} probes "
                        f"today; {probes} more do not fit"
                    )
                db.execute(
                    "INSERT INTO desk_usage VALUES (?, ?, ?) ON CONFLICT (client, day) "
                    "DO UPDATE SET probes = probes + excluded.probes",
                    (client.id, day, probes),
                )
        except sqlite3.Error as error:
            raise StorageError(f"cannot count the client's checks: {error}") from error


def _client(row: tuple[object, ...]) -> DeskClient:
    client_id, role, _, purpose, legal_basis, quota, created, revoked = row
    return DeskClient(
        str(client_id),
        Role(str(role)),
        None if purpose is None else str(purpose),
        None if legal_basis is None else str(legal_basis),
        int(str(quota)),
        parse_time(str(created)),
        None if revoked is None else parse_time(str(revoked)),
    )
