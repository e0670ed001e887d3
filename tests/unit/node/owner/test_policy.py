"""Policy at request time: rules, batch limits, freshness, replays and daily quotas."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto.errors import NotPermitted, PeerError, QuotaExceeded, UnknownPeer
from crypto.signed_note import Ed25519Signer
from node.config import Dataset, KeySettings, Limits, NodeConfig, NodeSettings, PolicyRule
from node.owner.policy import PolicyEngine
from protocol.admission import Admission, PurposeFields, QueryMode, check_fresh
from protocol.directory import Peer
from protocol.validation import HostPort

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


def _admission(
    engine: PolicyEngine, dataset: str = "watchlist", elements: int = 10, **kwargs: object
) -> Admission:
    """An admission of an es-ct request taken through the steps before the quota."""
    mode = kwargs.get("mode", QueryMode.INDEX)
    assert isinstance(mode, QueryMode)
    admission = Admission("es-ct", dataset, mode, elements)
    admission.check_context(
        PurposeFields("es-ct", os.urandom(16), "of-1", "border-check", "EU-2016/680:Art.8", "c-1")
    )
    admission.authorize(engine.rule("es-ct", dataset), node_max_batch=engine.max_batch)
    admission.check_epoch(1, 1)
    admission.check_fresh(NOW, NOW)
    return admission


def test_rules_decide_who_may_ask_what(engine: PolicyEngine) -> None:
    rule = engine.rule("es-ct", "watchlist")
    assert rule is not None
    assert rule.daily_quota == 100
    assert _admission(engine).rule is rule
    with pytest.raises(UnknownPeer, match=r"node xx\-ct is not a known peer"):
        engine.rule("xx-ct", "watchlist")
    with pytest.raises(NotPermitted, match=r"dataset stolen\-documents is not available to es\-ct"):
        _admission(engine, "stolen-documents")
    with pytest.raises(NotPermitted) as unknown:
        _admission(engine, "no-such-dataset")
    assert "not available" in str(unknown.value)
    with pytest.raises(NotPermitted, match="owner-match"):
        _admission(engine, mode=QueryMode.OWNER_MATCH)
    # The node's [limits] (64) is tighter than the rule's max_batch (128).
    with pytest.raises(PeerError, match="at most 64"):
        _admission(engine, elements=65)
    with pytest.raises(PeerError, match="no elements"):
        _admission(engine, elements=0)


def test_replays_and_stale_requests_are_refused(engine: PolicyEngine) -> None:
    request_id = os.urandom(16)
    engine.charge(_admission(engine), request_id, NOW)
    with pytest.raises(PeerError, match="replay"):
        engine.charge(_admission(engine), request_id, NOW + timedelta(seconds=1))
    with pytest.raises(PeerError, match="too long ago"):
        check_fresh(NOW - timedelta(minutes=6), NOW)
    with pytest.raises(PeerError, match="16 bytes"):
        engine.charge(_admission(engine, elements=1), b"short", NOW)
    with pytest.raises(PeerError, match="replay"):
        engine.remember("es-ct", request_id, NOW + timedelta(seconds=2))
    rule = engine.rule("es-ct", "watchlist")
    assert rule is not None
    assert engine.used_today("es-ct", rule, now=NOW) == 10


def test_quota_is_daily_and_never_overrun(tmp_path: Path) -> None:
    engine = PolicyEngine(_config(tmp_path, quota=50), tmp_path / "node.db")
    try:
        rule = engine.rule("es-ct", "watchlist")
        assert rule is not None

        def one() -> bool:
            try:
                engine.charge(_admission(engine, elements=7), os.urandom(16), NOW)
            except QuotaExceeded:
                return False
            return True

        with ThreadPoolExecutor(8) as pool:
            admitted = sum(pool.map(lambda _: one(), range(20)))
        assert admitted == 7
        assert engine.used_today("es-ct", rule, now=NOW) == 49
        tomorrow = NOW + timedelta(days=1)
        engine.charge(_admission(engine, elements=50), os.urandom(16), tomorrow)
    finally:
        engine.close()
    # The count survives a restart: it lives in the node's database.
    again = PolicyEngine(_config(tmp_path, quota=50), tmp_path / "node.db")
    try:
        rule = again.rule("es-ct", "watchlist")
        assert rule is not None
        assert again.used_today("es-ct", rule, now=NOW) == 49
    finally:
        again.close()
