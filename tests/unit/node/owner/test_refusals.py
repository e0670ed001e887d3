"""Every refused request leaves a trace in the owner's log, and a flood of them does not.

Against an owner served in this process (tests/unit/conftest.py): each kind of refusal — an
unknown peer, no policy rule, a batch over the limit, an exhausted quota, a bad signature, a
stale epoch — is answered with its status and recorded with its reason before the answer; the
querier reports the peer as refused, never as "no hit"; repeated refusals of one peer for one
reason within a window cost one entry, and the count of the rest is logged when it closes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from unit.conftest import HIT_PROBE, PURPOSE, Pair

from cli.metrics import collect
from crypto.oprf import Mode, OprfClient, Suite
from node.audit import AuditEntry, AuditLog, Decision, EntryKind
from node.owner.refusals import RefusalLog
from node.querier.checker import Target
from node.querier.peer_client import PeerClient, PeerRefused
from protocol.match_keys import DEFAULT_PROFILE, derive_keys, oprf_input


def _client(pair: Pair, identity: Ed25519PrivateKey | None = None) -> PeerClient:
    runtime = pair.querier
    peer = runtime.config.peer("pl-ct")
    assert peer is not None
    return PeerClient(runtime.config.node.id, identity or runtime.identity, runtime.tls, peer,
                      runtime.config.limits)  # fmt: skip


def _blinded(count: int) -> list[bytes]:
    keys = derive_keys(HIT_PROBE).keys
    inputs = [oprf_input(DEFAULT_PROFILE, "watchlist", keys[i % len(keys)]) for i in range(count)]
    return list(
        OprfClient(Suite.RISTRETTO255_SHA512, Mode.OPRF).blind_batch(inputs).blinded_elements
    )


def _rules(pair: Pair, **changes: object) -> None:
    owner = pair.owner.runtime
    config = dataclasses.replace(
        owner.config,
        policy=tuple(dataclasses.replace(rule, **changes) for rule in owner.config.policy),  # type: ignore[arg-type]
    )
    owner.policy.reconfigure(config)


def _refusals(audit: AuditLog, start: int) -> list[AuditEntry]:
    return [
        entry
        for entry in (audit.entry(i) for i in range(start, audit.size))
        if entry.decision is Decision.REFUSED
    ]


def _refused_once(
    pair: Pair, send: Callable[[PeerClient], object], status: grpc.StatusCode, reason: str
) -> AuditEntry:
    audit = pair.owner.runtime.audit
    start = audit.size
    with _client(pair) as client, pytest.raises(PeerRefused) as refused:
        send(client)
    assert refused.value.status is status
    (entry,) = _refusals(audit, start)
    assert entry.reason == reason
    assert entry.counterpart == "fr-ct"
    return entry


def test_no_rule_is_refused_and_recorded_with_the_purpose(memory_pair: Pair) -> None:
    header = _client(memory_pair).sync_index("watchlist", 0, PURPOSE)[0]
    _rules(memory_pair, datasets=("other",))
    entry = _refused_once(
        memory_pair,
        lambda c: c.blind_evaluate("watchlist", header.epoch, _blinded(3), PURPOSE),
        grpc.StatusCode.PERMISSION_DENIED,
        "not_permitted",
    )
    assert entry.kind is EntryKind.CHECK_RECEIVED
    assert (entry.dataset, entry.element_count) == ("watchlist", 3)
    assert (entry.purpose, entry.legal_basis, entry.case_reference) == (
        PURPOSE.purpose, PURPOSE.legal_basis, PURPOSE.case_reference,
    )  # fmt: skip


def test_a_batch_over_the_limit_is_refused_as_such(memory_pair: Pair) -> None:
    header = _client(memory_pair).sync_index("watchlist", 0, PURPOSE)[0]
    _rules(memory_pair, max_batch=4)
    entry = _refused_once(
        memory_pair,
        lambda c: c.blind_evaluate("watchlist", header.epoch, _blinded(5), PURPOSE),
        grpc.StatusCode.INVALID_ARGUMENT,
        "batch_too_large",
    )
    assert entry.element_count == 5


def test_an_exhausted_quota_is_refused_as_such(memory_pair: Pair) -> None:
    header = _client(memory_pair).sync_index("watchlist", 0, PURPOSE)[0]
    _rules(memory_pair, daily_quota=4)
    entry = _refused_once(
        memory_pair,
        lambda c: c.blind_evaluate("watchlist", header.epoch, _blinded(5), PURPOSE),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "quota_exceeded",
    )
    assert entry.kind is EntryKind.CHECK_RECEIVED


def test_a_stale_epoch_is_refused_as_such(memory_pair: Pair) -> None:
    _refused_once(
        memory_pair,
        lambda c: c.blind_evaluate("watchlist", 99, _blinded(2), PURPOSE),
        grpc.StatusCode.FAILED_PRECONDITION,
        "stale_epoch",
    )


def test_a_bad_signature_is_refused_and_recorded(memory_pair: Pair) -> None:
    audit = memory_pair.owner.runtime.audit
    start = audit.size
    with (
        _client(memory_pair, Ed25519PrivateKey.generate()) as client,
        pytest.raises(PeerRefused) as refused,
    ):
        client.blind_evaluate("watchlist", 1, _blinded(2), PURPOSE)
    assert refused.value.status is grpc.StatusCode.INVALID_ARGUMENT
    (entry,) = _refusals(audit, start)
    assert (entry.kind, entry.reason, entry.counterpart) == (
        EntryKind.REQUEST_REFUSED, "bad_signature", "fr-ct",
    )  # fmt: skip
    assert entry.element_count == 1
    assert entry.purpose is None  # nothing of an unverified request is believed


def test_an_unknown_peer_is_refused_and_recorded_by_its_certificate(memory_pair: Pair) -> None:
    owner = memory_pair.owner
    owner.match.reconfigure(dataclasses.replace(owner.runtime.config, peers=()))
    audit = owner.runtime.audit
    start = audit.size
    (result,) = memory_pair.querier.querier().check(
        [HIT_PROBE], [Target("pl-ct", "watchlist")], PURPOSE
    )
    # The querier never reports a refusal as "no hit".
    assert result.status == "refused"
    assert result.outcomes == ()
    refusals = _refusals(audit, start)
    assert [(e.kind, e.reason, e.counterpart) for e in refusals] == [
        (EntryKind.REQUEST_REFUSED, "unknown_peer", "fr-ct")
    ]


def test_the_querier_reports_quota_and_rule_refusals_as_refused(memory_pair: Pair) -> None:
    querier = memory_pair.querier.querier()
    target = [Target("pl-ct", "watchlist")]
    (synced,) = querier.check([HIT_PROBE], target, PURPOSE)
    assert synced.status == "answered"
    _rules(memory_pair, daily_quota=1)
    (quota,) = querier.check([HIT_PROBE], target, PURPOSE)
    assert (quota.status, quota.outcomes) == ("refused", ())
    assert "quota" in quota.message
    _rules(memory_pair, datasets=("other",))
    (rule,) = querier.check([HIT_PROBE], target, PURPOSE)
    assert (rule.status, rule.outcomes) == ("refused", ())
    assert "not available" in rule.message


def test_a_flood_of_refusals_costs_one_entry_and_a_count(memory_pair: Pair) -> None:
    header = _client(memory_pair).sync_index("watchlist", 0, PURPOSE)[0]
    _rules(memory_pair, daily_quota=1)
    audit = memory_pair.owner.runtime.audit
    start = audit.size
    with _client(memory_pair) as client:
        for _ in range(25):
            with pytest.raises(PeerRefused):
                client.blind_evaluate("watchlist", header.epoch, _blinded(2), PURPOSE)
    assert len(_refusals(audit, start)) == 1
    memory_pair.owner.match.close()  # the server stops: open windows are counted out
    first, summary = _refusals(audit, start)
    assert first.kind is EntryKind.CHECK_RECEIVED
    assert (summary.kind, summary.reason, summary.element_count) == (
        EntryKind.REQUEST_REFUSED, "quota_exceeded", 24,
    )  # fmt: skip
    with memory_pair.owner.runtime.policy._store.read() as db:  # the metrics' source
        (count,) = db.execute(
            "SELECT SUM(count) FROM policy_refusals WHERE peer = 'fr-ct' "
            "AND reason = 'quota_exceeded'"
        ).fetchone()
    assert count == 25
    # And `blindhit metrics` reports them, read-only.
    runtime = memory_pair.owner.runtime
    text = collect(runtime.config.node.database, runtime.config.datasets, datetime.now(UTC))
    assert 'blindhit_requests_refused_today{reason="quota_exceeded"} 25' in text.splitlines()


def test_windows_close_by_time_and_pairs_apart(tmp_path_factory: pytest.TempPathFactory) -> None:
    now = [0.0]
    counted: list[tuple[str, str, int]] = []
    with AuditLog(tmp_path_factory.mktemp("log") / "node.db") as audit:
        log = RefusalLog(
            audit, "pl-ct", count=lambda p, r, n: counted.append((p, r, n)), window=10.0,
            clock=lambda: now[0],
        )  # fmt: skip

        def entry(reason: str) -> Callable[[], AuditEntry]:
            return lambda: AuditEntry(
                kind=EntryKind.REQUEST_REFUSED, time=datetime.now(UTC), node="pl-ct",
                counterpart="fr-ct", element_count=1, decision=Decision.REFUSED, reason=reason,
            )  # fmt: skip

        assert log.refused("fr-ct", "quota_exceeded", entry("quota_exceeded")) == 0
        assert log.refused("fr-ct", "quota_exceeded", entry("quota_exceeded")) is None
        assert log.refused("fr-ct", "not_permitted", entry("not_permitted")) == 1
        now[0] = 5.0
        assert log.flush() == 0  # no window has passed
        now[0] = 10.0
        assert log.flush() == 1  # the quota window: one more refusal counted out
        assert audit.entry(2).element_count == 1
        assert log.refused("fr-ct", "quota_exceeded", entry("quota_exceeded")) == 3
        assert log.close() == 0  # nothing suppressed in the open windows
    assert counted == [
        ("fr-ct", "quota_exceeded", 1),
        ("fr-ct", "not_permitted", 1),
        ("fr-ct", "quota_exceeded", 1),
        ("fr-ct", "quota_exceeded", 1),
    ]


def test_the_first_refusal_of_a_window_is_one_warning_line(
    tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with AuditLog(tmp_path_factory.mktemp("log") / "node.db") as audit:
        log = RefusalLog(audit, "pl-ct", window=10.0, clock=lambda: 0.0)

        def entry() -> AuditEntry:
            return AuditEntry(
                kind=EntryKind.CHECK_RECEIVED, time=datetime.now(UTC), node="pl-ct",
                counterpart="fr-ct", dataset="watchlist", element_count=40,
                request_digest=bytes(32), decision=Decision.REFUSED, reason="quota_exceeded",
            )  # fmt: skip

        with caplog.at_level("WARNING", logger="blindhit.node"):
            for _ in range(50):
                log.refused("fr-ct", "quota_exceeded", entry)
        log.close()
    assert [record.getMessage() for record in caplog.records] == [
        "refused a request from fr-ct: quota_exceeded, dataset watchlist "
        "(further ones within 10 s are only counted)"
    ]
