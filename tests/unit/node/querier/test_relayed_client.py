"""Checks relayed by the coordinating node, every server in this process (tests/unit/conftest.py).

The querier's peers come from the signed directory; one fan-out through the coordinating node
reaches every owner offering the dataset; each answer is the owner's own signed answer, with
its receipt; the coordinating node logs each relay with the digest the owner logs; an owner that
is down or refuses is reported alone.
"""

from __future__ import annotations

from unit.conftest import HIT_PROBE, MISS_PROBE, OWNERS, PURPOSE, Federation

from node.audit import AuditLog, EntryKind
from node.querier.checker import PeerResult, Target


def _check_all(federation: Federation, dataset: str = "watchlist") -> dict[str, PeerResult]:
    runtime = federation.querier
    assert runtime.membership is not None
    members = runtime.membership.members_offering("watchlist")
    targets = [Target(member, dataset) for member in members]
    results = runtime.querier().check([HIT_PROBE, MISS_PROBE], targets, PURPOSE, relayed=True)
    return {result.peer: result for result in results}


def _relayed(log: AuditLog, start: int = 0) -> list[tuple[str | None, str | None, bytes | None]]:
    entries = [log.entry(i) for i in range(start, log.size)]
    return [
        (e.relayed_to, e.reason, e.request_digest)
        for e in entries
        if e.kind is EntryKind.CHECK_RELAYED
    ]


def test_one_fan_out_reaches_every_owner_and_the_answers_are_theirs(
    federation: Federation,
) -> None:
    results = _check_all(federation)
    assert sorted(results) == sorted(owner for owner, _ in OWNERS)
    for owner, result in results.items():
        assert result.status == "answered", (owner, result.message)
        assert [outcome.hit for outcome in result.outcomes] == [True, False]
        assert result.receipt is not None
        assert result.receipt.startswith("c2sp.org/tlog-proof")
    relayed = _relayed(federation.services.audit)
    assert sorted(to or "" for to, _, _ in relayed) == sorted(owner for owner, _ in OWNERS)
    assert all(reason is None for _, reason, _ in relayed)
    # Each owner logged the very request the coordinating node relayed to it.
    for owner, _ in OWNERS:
        audit = federation.owners[owner].runtime.audit
        received = [audit.entry(i) for i in range(audit.size)]
        digests = {e.request_digest for e in received if e.kind is EntryKind.CHECK_RECEIVED}
        assert {d for to, _, d in relayed if to == owner} <= digests
        assert all(
            e.counterpart == "de-bka" for e in received if e.kind is EntryKind.CHECK_RECEIVED
        )


def test_an_owner_that_is_down_is_reported_alone(federation: Federation) -> None:
    _check_all(federation)  # every index synced while both owners are up
    federation.owners["jo-psd"].stop()
    start = federation.services.audit.size
    results = _check_all(federation)
    assert results["pl-ct"].status == "answered"
    assert results["jo-psd"].status == "unreachable"
    assert "through gs-lyon" in results["jo-psd"].message
    assert ("jo-psd", "unreachable") in {(to, reason) for to, reason, _ in
                                         _relayed(federation.services.audit, start)}  # fmt: skip


def test_a_refusal_keeps_the_owners_reason_through_the_relay(federation: Federation) -> None:
    results = _check_all(federation, dataset="vehicles")
    assert sorted(results) == sorted(owner for owner, _ in OWNERS)
    for owner, result in results.items():
        assert result.status == "refused"
        # The relayed index sync is the first call, and the coordinating node says the member
        # refused it (not itself).
        assert result.message == (
            f"peer {owner} refused: the member: dataset vehicles is not available to de-bka"
        )
        assert "\n" not in result.message
