"""Policy at request time: rules, batch limits, freshness, replays and daily quotas."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto.signed_note import Ed25519Signer
from node.config import (
    Dataset,
    HostPort,
    KeySettings,
    Limits,
    NodeConfig,
    NodeSettings,
    Peer,
    PolicyRule,
    QueryMode,
)
from node.policy import PolicyEngine
from protocol.errors import NotPermitted, PeerError, QuotaExceeded, UnknownPeer

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _config(tmp_path: Path, quota: int = 100) -> NodeConfig:
    peer = Peer(
        id="es-ct",
        endpoint=HostPort("127.0.0.1", 7443),
        identity_key=Ed25519Signer.generate("es-ct").verifier(),
    )
    return NodeConfig(
        directory=tmp_path,
        node=NodeSettings("fr-ct", "FRA", HostPort("127.0.0.1", 0), tmp_path / "node.db"),
        keys=KeySettings(passphrase_env="BLINDHIT_PASSPHRASE"),
        limits=Limits(max_batch=64),
        peers=(peer,),
        datasets=(Dataset("watchlist"), Dataset("stolen-documents")),
        policy=(PolicyRule("es-ct", ("watchlist",), (QueryMode.INDEX,), 128, quota),),
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[PolicyEngine]:
    policy = PolicyEngine(_config(tmp_path), tmp_path / "node.db")
    yield policy
    policy.close()


def test_rules_decide_who_may_ask_what(engine: PolicyEngine) -> None:
    rule = engine.authorize("es-ct", "watchlist", QueryMode.INDEX, 10)
    assert rule.daily_quota == 100
    with pytest.raises(UnknownPeer):
        engine.authorize("xx-ct", "watchlist", QueryMode.INDEX, 10)
    with pytest.raises(NotPermitted):
        engine.authorize("es-ct", "stolen-documents", QueryMode.INDEX, 10)
    with pytest.raises(NotPermitted) as unknown:
        engine.authorize("es-ct", "no-such-dataset", QueryMode.INDEX, 10)
    assert "not available" in str(unknown.value)
    with pytest.raises(NotPermitted, match="owner-match"):
        engine.authorize("es-ct", "watchlist", QueryMode.OWNER_MATCH, 10)
    # The node's [limits] (64) is tighter than the rule's max_batch (128).
    with pytest.raises(PeerError, match="at most 64"):
        engine.authorize("es-ct", "watchlist", QueryMode.INDEX, 65)
    with pytest.raises(PeerError):
        engine.authorize("es-ct", "watchlist", QueryMode.INDEX, 0)


def test_replays_and_stale_requests_are_refused(engine: PolicyEngine) -> None:
    rule = engine.authorize("es-ct", "watchlist", QueryMode.INDEX, 10)
    request_id = os.urandom(16)
    engine.admit("es-ct", rule, request_id, NOW, 10, now=NOW)
    with pytest.raises(PeerError, match="replay"):
        engine.admit("es-ct", rule, request_id, NOW, 10, now=NOW + timedelta(seconds=1))
    with pytest.raises(PeerError, match="too long ago"):
        engine.admit("es-ct", rule, os.urandom(16), NOW - timedelta(minutes=6), 1, now=NOW)
    with pytest.raises(PeerError, match="16 bytes"):
        engine.admit("es-ct", rule, b"short", NOW, 1, now=NOW)
    assert engine.used_today("es-ct", rule, now=NOW) == 10


def test_quota_is_daily_and_never_overrun(tmp_path: Path) -> None:
    engine = PolicyEngine(_config(tmp_path, quota=50), tmp_path / "node.db")
    try:
        rule = engine.authorize("es-ct", "watchlist", QueryMode.INDEX, 1)

        def one() -> bool:
            try:
                engine.admit("es-ct", rule, os.urandom(16), NOW, 7, now=NOW)
            except QuotaExceeded:
                return False
            return True

        with ThreadPoolExecutor(8) as pool:
            admitted = sum(pool.map(lambda _: one(), range(20)))
        assert admitted == 7
        assert engine.used_today("es-ct", rule, now=NOW) == 49
        tomorrow = NOW + timedelta(days=1)
        engine.admit("es-ct", rule, os.urandom(16), tomorrow, 50, now=tomorrow)
    finally:
        engine.close()
    # The count survives a restart: it lives in the node's database.
    again = PolicyEngine(_config(tmp_path, quota=50), tmp_path / "node.db")
    try:
        rule = again.authorize("es-ct", "watchlist", QueryMode.INDEX, 1)
        assert again.used_today("es-ct", rule, now=NOW) == 49
    finally:
        again.close()
