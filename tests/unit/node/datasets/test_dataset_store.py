"""The dataset storage: schema, staging, one-transaction writes, tag lookups, epochs and indexes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.errors import InputError, StorageError
from crypto.oprf import Mode, Suite
from node.datasets.store import (
    SCHEMA_VERSION,
    Change,
    DatasetStore,
    EpochWriter,
    NewEpoch,
    TagOwner,
)
from protocol.match_index import DecodedIndex, IndexParameters

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PARAMS = IndexParameters.for_capacity(64)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DatasetStore]:
    opened = DatasetStore(tmp_path / "node.db")
    yield opened
    opened.close()


def tag(first: int, second: int = 0) -> bytes:
    """A 32-byte tag: `first` in its top bits (which set the fingerprint), then `second`."""
    return (first << 96).to_bytes(16, "big") + second.to_bytes(16, "big")


def stage_and_write(
    store: DatasetStore,
    records: dict[str, list[tuple[bytes, str]]],
    *,
    expected: int | None,
    deletions: tuple[str, ...] = (),
    create: bool = False,
) -> None:
    """Write one epoch of hand-made records and tags (no OPRF involved)."""
    with store.staging() as staging:
        rows: list[tuple[str, int, Change, str | None, str | None, bytes | None]] = []
        for line, (record_id, _) in enumerate(records.items(), 1):
            state = store.record_states("people", [record_id]).get(record_id)
            change = Change.NEW if state is None else Change.CONTENT
            rows.append((record_id, line, change, f'{{"n":"{record_id}"}}', "{}", bytes(32)))
        rows += [
            (record_id, 100 + i, Change.DELETE, None, None, None)
            for i, record_id in enumerate(deletions)
        ]
        assert staging.add_records(rows) == {}
        staging.add_tags(
            (record_id, value, kind) for record_id, tags in records.items() for value, kind in tags
        )
        with store.write("people", expected_epoch=expected) as writer:
            if create:
                writer.create_dataset(Suite.RISTRETTO255_SHA512, Mode.OPRF, "v1", T0)
                writer.add_key(1, b"sealed", b"public", T0)
            number = 1 if expected is None else expected + 1
            writer.apply(number)
            insert(writer, number)


def insert(writer: EpochWriter, number: int) -> None:
    index = DecodedIndex.from_tags(writer.all_tags(), PARAMS)
    writer.insert_epoch(
        NewEpoch(
            epoch=number,
            key_version=1,
            created=T0,
            record_count=writer.record_count(),
            published=index,
            real_count=index.count,
            encoded=index.encode(),
            digest=index.digest(),
            delta=None,
            keyframe=True,
            dummies=frozenset(),
            added=0,
            updated=0,
            deleted=0,
            evaluated=0,
        )
    )


def test_schema_tables_are_prefixed_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    DatasetStore(path).close()
    connection = sqlite3.connect(path)
    # The node database holds every part's tables (node.storage.schema), each under its prefix.
    names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
    dataset_names = [name for name in names if "ds_" in name]
    assert {"ds_datasets", "ds_keys", "ds_records", "ds_tags", "ds_epochs"} <= set(dataset_names)
    assert all(name.startswith(("ds_", "sqlite_autoindex_ds_")) for name in dataset_names)
    prefixes = ("ds_", "audit_", "policy_", "dr_", "mb_", "desk_", "peer_indexes", "meta")
    assert all(name.removeprefix("sqlite_autoindex_").startswith(prefixes) for name in names)
    version = connection.execute("PRAGMA user_version")
    assert version.fetchone() == (SCHEMA_VERSION,)
    connection.execute("PRAGMA user_version = 99")
    connection.commit()
    connection.close()
    with pytest.raises(
        StorageError, match=f"node schema version 99, newer than version {SCHEMA_VERSION}"
    ):
        DatasetStore(path)


def test_a_missing_database_is_refused_unless_created(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        DatasetStore(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_staging_reports_repeated_ids(store: DatasetStore) -> None:
    with store.staging() as staging:
        first = [("A", 1, Change.NEW, "{}", "{}", b""), ("B", 2, Change.NEW, "{}", "{}", b"")]
        assert staging.add_records(first) == {}
        again = [("C", 3, Change.NEW, "{}", "{}", b""), ("A", 4, Change.NEW, "{}", "{}", b"")]
        assert staging.add_records([*again, ("C", 5, Change.DELETE, None, None, None)]) == {
            4: 1,
            5: 3,
        }
        assert staging.change_count() == 3
        staging.reject(["B"])
        assert staging.change_count() == 2


def test_one_staging_at_a_time(store: DatasetStore) -> None:
    with (
        store.staging(),
        pytest.raises(RuntimeError, match="a staging is already open"),
        store.staging(),
    ):
        pass


def test_a_failed_write_leaves_nothing(store: DatasetStore) -> None:
    def fail() -> None:
        with store.write("people", expected_epoch=None) as writer:
            writer.create_dataset(Suite.RISTRETTO255_SHA512, Mode.OPRF, "v1", T0)
            writer.add_key(1, b"sealed", b"public", T0)
            raise StorageError("injected")

    with pytest.raises(StorageError, match="injected"):
        fail()
    assert store.dataset("people") is None
    assert store.keys("people") == []


def test_a_write_against_a_stale_epoch_is_refused(store: DatasetStore) -> None:
    stage_and_write(store, {"A": [(tag(1), "name")]}, expected=None, create=True)
    with (
        pytest.raises(StorageError, match="changed during this operation"),
        store.write("people", expected_epoch=None),
    ):
        pass
    latest = store.latest_epoch("people")
    assert latest is not None
    assert latest.epoch == 1


def test_records_tags_and_lookups(store: DatasetStore) -> None:
    shared = tag(7, 1)
    stage_and_write(
        store,
        {
            "A": [(shared, "name"), (tag(8), "doc")],
            "B": [(shared, "name"), (tag(7, 2), "name_yob")],
        },
        expected=None,
        create=True,
    )
    info = store.dataset("people")
    assert info is not None
    assert (info.record_count, info.latest_epoch, info.key_version) == (2, 1, 1)
    assert store.tag_count("people") == 4
    by_prefix = store.lookup_tags("people", [shared[:16], shared, tag(8), tag(9)])
    assert by_prefix[0] == (
        TagOwner("A", "name"),
        TagOwner("B", "name"),
        TagOwner("B", "name_yob"),
    )
    assert by_prefix[1] == (TagOwner("A", "name"), TagOwner("B", "name"))
    assert by_prefix[2] == (TagOwner("A", "doc"),)
    assert by_prefix[3] == ()
    top = b"\xff" * 32
    assert store.lookup_tags("people", [top[:16]]) == [()]
    with pytest.raises(InputError, match="16 to 32 bytes"):
        store.lookup_tags("people", [b"short"])

    # An update replaces B's tags; a deletion removes A and its tags.
    stage_and_write(store, {"B": [(tag(9), "doc")]}, expected=1, deletions=("A",))
    assert store.record_count("people") == 1
    assert store.lookup_tags("people", [shared]) == [()]
    assert store.lookup_tags("people", [tag(9)]) == [(TagOwner("B", "doc"),)]
    assert store.record_states("people", ["A", "B", "C"]).keys() == {"B"}
    assert store.record_metadata("people", "B") == {}
    assert store.record_metadata("people", "A") is None


def test_iterating_record_contents_in_pages(store: DatasetStore) -> None:
    records = {f"R{i}": [(tag(i + 1), "name")] for i in range(5)}
    stage_and_write(store, records, expected=None, create=True)
    contents = list(store.iter_record_contents("people", batch=2))
    assert [record_id for record_id, _ in contents] == [f"R{i}" for i in range(5)]
    assert contents[0][1] == '{"n":"R0"}'


def test_logging_state_of_epochs(store: DatasetStore) -> None:
    stage_and_write(store, {"A": [(tag(1), "name")]}, expected=None, create=True)
    stage_and_write(store, {"A": [(tag(2), "name")]}, expected=1)
    assert [e.epoch for e in store.unlogged_epochs()] == [1, 2]
    assert store.published_epoch("people") is None
    store.mark_logged("people", 1, 10)
    published = store.published_epoch("people")
    assert published is not None
    assert (published.epoch, published.audit_index, published.logged) == (1, 10, True)
    with pytest.raises(StorageError, match="no unlogged epoch 1"):
        store.mark_logged("people", 1, 11)
    assert [e.epoch for e in store.unlogged_epochs()] == [2]


def test_index_of_an_epoch_and_its_integrity(store: DatasetStore, tmp_path: Path) -> None:
    stage_and_write(store, {"A": [(tag(1), "name")]}, expected=None, create=True)
    stage_and_write(store, {"B": [(tag(2), "name")]}, expected=1)
    first, second = store.index("people", 1), store.index("people", 2)
    assert first.count == 1
    assert second.count == 2
    assert store.index("people") == second
    epoch = store.epoch("people", 2)
    assert epoch is not None
    assert second.digest() == epoch.index_digest
    with pytest.raises(InputError, match="no epoch 7"):
        store.index("people", 7)
    connection = sqlite3.connect(tmp_path / "node.db")
    connection.execute("UPDATE ds_epochs SET index_blob = x'00' WHERE epoch = 2")
    connection.commit()
    with pytest.raises(StorageError, match="damaged"):
        store.index("people", 2)
    connection.execute("UPDATE ds_epochs SET index_blob = ? WHERE epoch = 2", (first.encode(),))
    connection.commit()
    connection.close()
    with pytest.raises(StorageError, match="was published"):
        store.index("people", 2)


def test_deleted_records_are_overwritten_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    store = DatasetStore(path)
    secret = "Zyxwvutsrq Onmlkjihg"
    with store.staging() as staging:
        staging.add_records([("S1", 1, Change.NEW, f'{{"name":"{secret}"}}', "{}", bytes(32))])
        with store.write("people", expected_epoch=None) as writer:
            writer.create_dataset(Suite.RISTRETTO255_SHA512, Mode.OPRF, "v1", T0)
            writer.apply(1)
            insert(writer, 1)
    with store.staging() as staging:
        staging.add_records([("S1", 1, Change.DELETE, None, None, None)])
        with store.write("people", expected_epoch=1) as writer:
            writer.apply(2)
            insert(writer, 2)
    store.close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert secret.encode() not in path.read_bytes()


def test_a_bulk_load_rebuilds_the_index_of_tags_by_record(
    store: DatasetStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("node.datasets.store._BULK_TAGS", 2)
    records = {f"R{i}": [(tag(i + 1), "name"), (tag(i + 100), "doc")] for i in range(4)}
    stage_and_write(store, records, expected=None, create=True)
    stage_and_write(store, {"R0": [(tag(500), "name")]}, expected=1, deletions=("R1",))
    assert store.lookup_tags("people", [tag(500), tag(1), tag(2)]) == [
        (TagOwner("R0", "name"),),
        (),
        (),
    ]
    connection = sqlite3.connect(tmp_path / "node.db")
    indexes = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
    connection.close()
    assert "ds_tags_by_record" in indexes
