"""The check desk against a federation served in this process (tests/unit/conftest.py).

One check reaches every dataset of every member the directory lists, one answer per member as
each completes; indexes are synced ahead by the background sync, so a check uses them as they
are and says how old they were; a missing one is synced on the check's time and the answer
says so; a member that is down is reported alone and never as "no hit".
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from unit.conftest import HIT_PROBE, MISS_PROBE, OWNERS, PURPOSE, Federation, Pair

from crypto.errors import InputError
from node.desk.checks import CheckDesk, MemberAnswer
from node.querier.checker import Target

OWNER_IDS = sorted(owner for owner, _ in OWNERS)


def _desk(
    federation: Federation, *, sync_interval: float = 5.0, max_index_age: float = 300.0
) -> CheckDesk:
    runtime = federation.querier
    return CheckDesk(
        runtime.querier(),
        runtime.config.peers,
        runtime.config.node.id,
        sync_interval=sync_interval,
        max_index_age=max_index_age,
    )


def _by_member(answers: list[MemberAnswer]) -> dict[str, MemberAnswer]:
    return {answer.member: answer for answer in answers}


def test_one_check_reaches_every_dataset_of_every_member(federation: Federation) -> None:
    desk = _desk(federation)
    try:
        assert sorted(desk.targets(), key=lambda t: t.peer) == [
            Target(owner, "watchlist") for owner in OWNER_IDS
        ]
        answers = _by_member(list(desk.check([HIT_PROBE, MISS_PROBE], PURPOSE)))
    finally:
        desk.close()
    assert sorted(answers) == OWNER_IDS
    for member, answer in answers.items():
        assert answer.status == "answered", (member, answer)
        (dataset,) = answer.datasets
        assert dataset.dataset == "watchlist"
        assert [o.hit for o in dataset.outcomes] == [True, False]
        assert dataset.receipts
        assert dataset.receipts[0].startswith("c2sp.org/tlog-proof")
        # No index was cached: the check synced it on its own time, and says so.
        assert dataset.synced
        assert dataset.index_age_seconds is None


def test_indexes_synced_ahead_are_used_as_they_are(federation: Federation) -> None:
    desk = _desk(federation, max_index_age=3600.0)
    try:
        assert desk.sync_all() == {Target(owner, "watchlist"): None for owner in OWNER_IDS}
        answers = list(desk.check([HIT_PROBE], PURPOSE))
    finally:
        desk.close()
    for answer in answers:
        (dataset,) = answer.datasets
        assert not dataset.synced
        assert dataset.index_age_seconds is not None
        assert dataset.index_age_seconds < 60


def test_the_background_sync_keeps_indexes_current(federation: Federation) -> None:
    desk = _desk(federation, sync_interval=0.2)
    desk.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            desk.start()
        target = Target(OWNER_IDS[0], "watchlist")
        deadline = time.monotonic() + 10
        while desk.index_age(target) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        age = desk.index_age(target)
        assert age is not None
        assert age < 5
    finally:
        desk.close()


def test_a_member_that_is_down_is_reported_alone(federation: Federation) -> None:
    down = OWNER_IDS[0]
    federation.owners[down].stop()
    desk = _desk(federation)
    try:
        answers = _by_member(list(desk.check([HIT_PROBE], PURPOSE)))
    finally:
        desk.close()
    assert answers[down].status == "unreachable"
    assert answers[down].datasets[0].outcomes == ()
    (up,) = [member for member in OWNER_IDS if member != down]
    assert answers[up].status == "answered"
    assert answers[up].datasets[0].outcomes[0].hit


def test_members_can_be_named_and_unknown_ones_are_refused(federation: Federation) -> None:
    desk = _desk(federation)
    try:
        (only,) = list(desk.check([HIT_PROBE], PURPOSE, members=[OWNER_IDS[1]]))
        assert only.member == OWNER_IDS[1]
        with pytest.raises(InputError, match="not a peer offering datasets here: xx-ct"):
            list(desk.check([HIT_PROBE], PURPOSE, members=["xx-ct"]))
        with pytest.raises(InputError, match="probe 1"):
            list(desk.check([{"shoe_size": "44"}], PURPOSE))
    finally:
        desk.close()


def test_peers_configured_by_hand_are_checked_on_the_datasets_they_list(memory_pair: Pair) -> None:
    runtime = memory_pair.querier
    peers = runtime.config.peers
    assert all(not peer.datasets for peer in peers)
    with pytest.raises(InputError, match="no peer offers a dataset to check"):
        list(
            CheckDesk(runtime.querier(), peers, runtime.config.node.id).check([HIT_PROBE], PURPOSE)
        )
    listed = [dataclasses.replace(peer, datasets=("watchlist",)) for peer in peers]
    desk = CheckDesk(runtime.querier(), listed, runtime.config.node.id)
    try:
        (answer,) = list(desk.check([HIT_PROBE], PURPOSE))
    finally:
        desk.close()
    assert (answer.member, answer.status) == ("pl-ct", "answered")
