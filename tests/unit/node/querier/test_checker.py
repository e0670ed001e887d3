"""The querier's check against an owner served in this process (tests/unit/conftest.py).

A manifest larger than the owner's batch limit for this querier is split to that limit — the
owner says it in its signed index header — instead of being refused whole: every request is
signed, logged on both sides and receipted, and the hits are those of an unsplit check.
"""

from __future__ import annotations

import dataclasses

from unit.conftest import HIT_PROBE, MISS_PROBE, PURPOSE, Pair

from node.audit import AuditEntry, Decision, EntryKind
from node.audit.receipts import Receipt
from node.querier.checker import Target
from protocol.admission import QueryMode
from protocol.match_keys import derive_keys


def _limit_owner(pair: Pair, max_batch: int) -> None:
    """Make the owner's rule for the querier take at most `max_batch` elements per request."""
    owner = pair.owner.runtime
    config = dataclasses.replace(
        owner.config,
        policy=tuple(
            dataclasses.replace(rule, max_batch=max_batch) for rule in owner.config.policy
        ),
    )
    owner.policy.reconfigure(config)


def _entries(pair: Pair, kind: EntryKind, runtime_owner: bool) -> list[AuditEntry]:
    audit = pair.owner.runtime.audit if runtime_owner else pair.querier.audit
    return [e for e in (audit.entry(i) for i in range(audit.size)) if e.kind is kind]


def test_a_manifest_over_the_owners_batch_limit_is_split_and_answered(memory_pair: Pair) -> None:
    probes = [MISS_PROBE, HIT_PROBE, MISS_PROBE, MISS_PROBE, HIT_PROBE]
    per_probe = max(len(derive_keys(p).keys) for p in probes)
    limit = per_probe + 2  # at most one probe fits in a request
    _limit_owner(memory_pair, limit)
    before_owner = len(_entries(memory_pair, EntryKind.CHECK_RECEIVED, True))
    (result,) = memory_pair.querier.querier().check(probes, [Target("pl-ct", "watchlist")], PURPOSE)
    assert result.status == "answered", result.message
    assert [o.hit for o in result.outcomes] == [False, True, False, False, True]
    # One request per probe, each receipted, each logged by the owner as answered.
    assert len(result.receipts) == len(probes)
    assert result.receipt == result.receipts[0]
    received = _entries(memory_pair, EntryKind.CHECK_RECEIVED, True)[before_owner:]
    assert len(received) == len(probes)
    assert all(e.decision is Decision.ANSWERED for e in received)
    assert all(0 < (e.element_count or 0) <= limit for e in received)
    assert sum(e.element_count or 0 for e in received) == sum(
        len(derive_keys(p).keys) for p in probes
    )
    # Each receipt proves one of those entries; the querier logged each request it sent.
    indexes = sorted(Receipt.from_text(r).index for r in result.receipts)
    assert len(set(indexes)) == len(probes)
    sent = _entries(memory_pair, EntryKind.CHECK_SENT, False)
    assert len(sent) == len(probes)
    assert sum(e.hit_count or 0 for e in sent) == sum(len(o.hits) for o in result.outcomes)


def test_owner_match_mode_is_split_the_same_way(memory_pair: Pair) -> None:
    probes = [HIT_PROBE, MISS_PROBE, HIT_PROBE]
    _limit_owner(memory_pair, max(len(derive_keys(p).keys) for p in probes))
    (result,) = memory_pair.querier.querier().check(
        probes, [Target("pl-ct", "watchlist")], PURPOSE, QueryMode.OWNER_MATCH
    )
    assert result.status == "answered", result.message
    assert [o.hit for o in result.outcomes] == [True, False, True]
    assert len(result.receipts) == len(probes)
    matched = _entries(memory_pair, EntryKind.OWNER_MATCH, True)
    assert len(matched) == len(probes)
    assert all(e.decision is Decision.ANSWERED for e in matched)
    # The owner counts the tags it matched; each hit kind of a probe is at least one of them.
    assert [(e.hit_count or 0) > 0 for e in matched] == [o.hit for o in result.outcomes]


def test_a_probe_larger_than_the_limit_is_reported_not_sent(memory_pair: Pair) -> None:
    _limit_owner(memory_pair, 2)
    before = memory_pair.owner.runtime.audit.size
    (result,) = memory_pair.querier.querier().check(
        [HIT_PROBE], [Target("pl-ct", "watchlist")], PURPOSE
    )
    assert result.status == "refused"
    assert "peer pl-ct refuses it: probe 1 gives" in result.message
    assert "the owner takes at most 2 in one request" in result.message
    # Only the index sync reached the owner; no evaluation was asked for.
    assert _entries(memory_pair, EntryKind.CHECK_RECEIVED, True) == []
    assert memory_pair.owner.runtime.audit.size >= before
