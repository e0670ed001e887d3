"""Bulk paths of an index build: staging a record's tags at once, fingerprints of many tags."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from node.datasets.store import Change, DatasetStore, Staging
from protocol.match_index import IndexParameters, fingerprint, tag_fingerprints
from protocol.match_keys import KeyKind


def _staged(store: DatasetStore) -> list[tuple[str, bytes, str]]:
    rows = store._connection.execute(
        "SELECT s.record_id, t.tag, t.kind FROM temp.stage_tags t "
        "JOIN temp.stage_records s ON s.seq = t.seq"
    )
    return sorted(rows.fetchall())


def _stage_records(staging: Staging, record_ids: list[str], change: Change = Change.NEW) -> None:
    rows = [(rid, line, change, "{}", "{}", bytes(32)) for line, rid in enumerate(record_ids, 1)]
    assert staging.add_records(rows) == {}


def test_record_tags_stage_the_rows_that_single_tags_do(tmp_path: Path) -> None:
    rng = random.Random(7)
    kinds = [kind.value for kind in KeyKind]
    records: list[tuple[str, list[bytes], list[str]]] = []
    for number in range(200):
        count = rng.choice((0, 1, 2, 12, 13, 40))
        tags = [rng.randbytes(32) for _ in range(count)]
        records.append((f"r{number}|'é\"", tags, [rng.choice(kinds) for _ in tags]))
    records.append(("every kind", [rng.randbytes(32) for _ in kinds], kinds))
    records.append(("most keys", [rng.randbytes(32) for _ in range(1024)], ["name"] * 1024))
    with (
        DatasetStore(tmp_path / "single.db") as single,
        DatasetStore(tmp_path / "bulk.db") as bulk,
        single.staging() as one_by_one,
        bulk.staging() as by_record,
    ):
        for staging in (one_by_one, by_record):
            _stage_records(staging, [record_id for record_id, _, _ in records])
        one_by_one.add_tags(
            (record_id, tag, kind)
            for record_id, tags, record_kinds in records
            for tag, kind in zip(tags, record_kinds, strict=True)
        )
        for start in range(0, len(records), 64):
            by_record.add_record_tags(
                (record_id, b"".join(tags), tuple(record_kinds))
                for record_id, tags, record_kinds in records[start : start + 64]
            )
        staged = _staged(bulk)
        assert staged == _staged(single)
        assert len(staged) == sum(len(tags) for _, tags, _ in records)
        assert by_record.distinct_tag_count() == one_by_one.distinct_tag_count()
        assert bulk._connection.execute("SELECT COUNT(*) FROM temp.stage_inbox").fetchone() == (0,)


def test_record_tags_need_one_kind_per_tag(tmp_path: Path) -> None:
    with DatasetStore(tmp_path / "node.db") as store, store.staging() as staging:
        _stage_records(staging, ["r1", "r2"])
        with pytest.raises(ValueError, match="2 kinds for 32 bytes"):
            staging.add_record_tags([("r1", bytes(32), ("name", "name_dob"))])
        staging.add_record_tags([("r2", b"", ())])
        assert _staged(store) == []


@pytest.mark.parametrize("change", [Change.UNCHANGED, Change.METADATA, Change.DELETE])
def test_only_records_to_evaluate_take_tags(tmp_path: Path, change: Change) -> None:
    with DatasetStore(tmp_path / "node.db") as store, store.staging() as staging:
        _stage_records(staging, ["new", "rejected"])
        staging.add_records([("other", 7, change, "{}", "{}", bytes(32))])
        staging.reject(["rejected"])
        for record_id in ("other", "rejected", "unknown"):
            with pytest.raises(ValueError, match="1 tag"):
                staging.add_tags([("new", bytes(32), "name"), (record_id, b"\x01" * 32, "name")])
        assert _staged(store) == []


def test_tag_fingerprints_are_the_protocol_fingerprints() -> None:
    rng = random.Random(11)
    tags = [rng.randbytes(32) for _ in range(2000)]
    tags += [bytes(32), b"\xff" * 32, b"\x80" + bytes(31)]
    for capacity in (16, 1000, 1_500_000, 2**33):
        params = IndexParameters.for_capacity(capacity)
        assert list(tag_fingerprints(tags, params)) == [fingerprint(t, params) for t in tags]
