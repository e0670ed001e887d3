"""The desk's clients: tokens shown once and kept as SHA-256, roles, revocation, daily quotas."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto.errors import InputError, NotPermitted, QuotaExceeded, UnknownPeer
from node.desk.clients import TOKEN_PREFIX, ClientStore, Role

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> ClientStore:
    return ClientStore(tmp_path / "node.db")


def test_a_token_authenticates_its_client_and_is_stored_only_as_its_digest(
    store: ClientStore, tmp_path: Path
) -> None:
    client, token = store.add("border-cdg", Role.SYSTEM, purpose="border-check", now=NOW)
    assert token.startswith(TOKEN_PREFIX)
    assert len(token) > 40
    assert store.authenticate(token) == client
    store.close()
    with sqlite3.connect(tmp_path / "node.db") as db:
        stored = db.execute("SELECT token_sha256 FROM desk_clients").fetchone()[0]
    assert stored == hashlib.sha256(token.encode()).digest()
    assert token.encode() not in (tmp_path / "node.db").read_bytes()


def test_wrong_and_revoked_tokens_are_refused_alike(store: ClientStore) -> None:
    _, token = store.add("app-17", Role.OFFICER)
    with pytest.raises(UnknownPeer, match="not one of this desk's clients"):
        store.authenticate(token + "x")
    revoked = store.revoke("app-17")
    assert revoked.revoked_at is not None
    with pytest.raises(UnknownPeer, match="not one of this desk's clients"):
        store.authenticate(token)
    with pytest.raises(InputError, match="no client app-17 to revoke"):
        store.revoke("app-17")


def test_bad_clients_are_refused_with_what_is_wrong(store: ClientStore) -> None:
    with pytest.raises(InputError, match="client id: expected 1 to 64 characters"):
        store.add("Border CDG", Role.SYSTEM)
    with pytest.raises(InputError, match="purpose: expected a code without spaces"):
        store.add("border-cdg", Role.SYSTEM, purpose="border check")
    with pytest.raises(InputError, match="a partner's checks state no purpose of their own"):
        store.add("airline-lh", Role.PARTNER, purpose="carrier-screening")
    with pytest.raises(InputError, match="daily quota: expected at least 1, got 0"):
        store.add("border-cdg", Role.SYSTEM, daily_quota=0)
    store.add("border-cdg", Role.SYSTEM)
    with pytest.raises(InputError, match="client border-cdg exists already"):
        store.add("border-cdg", Role.OFFICER)
    assert [c.id for c in store.list()] == ["border-cdg"]


def test_quotas_are_daily_and_all_or_nothing(store: ClientStore) -> None:
    client, _ = store.add(
        "airline-lh", Role.PARTNER, purpose="carrier-screening", legal_basis="EU-2016/681",
        daily_quota=300,
    )  # fmt: skip
    store.charge(client, 200, now=NOW)
    with pytest.raises(QuotaExceeded, match=r"used 200 of its 300 probes today; 101 more"):
        store.charge(client, 101, now=NOW)
    store.charge(client, 100, now=NOW)  # the refused request counted nothing
    store.charge(client, 300, now=NOW + timedelta(days=1))
    auditor, _ = store.add("audit-1", Role.AUDITOR)
    with pytest.raises(NotPermitted, match=r"audit-1 \(auditor\) makes no checks"):
        store.charge(auditor, 1, now=NOW)
