"""The SQLite audit log: group commit, stored perfect subtrees, proofs, append-only tables."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto import merkle
from crypto.errors import InputError, StorageError
from crypto.merkle import NodeId
from node.audit import store
from node.audit.entries import AuditEntry, Decision, EntryKind, digest_request, encode_entry
from node.audit.store import AuditLog, _node_query

REPOSITORY = Path(__file__).resolve().parents[4]
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def check_entry_number(number: int) -> AuditEntry:
    return AuditEntry(
        kind=EntryKind.CHECK_RECEIVED,
        time=T0 + timedelta(seconds=number),
        node="fr-dcpj",
        officer=f"de-officer-{number % 7}",
        counterpart="de.bka",
        dataset="persons",
        element_count=number % 500,
        purpose="investigation",
        legal_basis="EU-2016/680:Art.8",
        case_reference=f"DE-2025-{number:06d}",
        request_digest=digest_request(number.to_bytes(8, "big")),
        decision=Decision.ANSWERED,
    )


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "node.db") as opened:
        yield opened


def leaf_hashes(count: int) -> list[bytes]:
    return [merkle.leaf_hash(encode_entry(check_entry_number(i))) for i in range(count)]


def test_empty_log(log: AuditLog) -> None:
    assert log.size == 0
    assert log.root_hash() == merkle.EMPTY_ROOT_HASH


def test_appends_return_consecutive_durable_indexes(log: AuditLog) -> None:
    indexes = [log.append(check_entry_number(i)) for i in range(10)]
    assert indexes == list(range(10))
    assert log.size == 10
    assert log.entry(3) == check_entry_number(3)
    assert log.entry_bytes(3) == encode_entry(check_entry_number(3))


def test_append_many_is_contiguous(log: AuditLog) -> None:
    log.append(check_entry_number(0))
    assert log.append_many([check_entry_number(i) for i in range(1, 6)]) == [1, 2, 3, 4, 5]
    with pytest.raises(InputError):
        log.append_many([])


def test_stored_nodes_are_the_perfect_subtrees(log: AuditLog) -> None:
    count = 77
    log.append_many([check_entry_number(i) for i in range(count)])
    levels = merkle.perfect_subtree_levels(leaf_hashes(count))
    for level, hashes in enumerate(levels):
        assert list(log.iter_level(level, 0, len(hashes))) == hashes
    with sqlite3.connect(log.path) as connection:
        stored = connection.execute("SELECT COUNT(*) FROM audit_nodes").fetchone()[0]
    assert stored == sum(len(hashes) for hashes in levels)


def test_roots_and_proofs_for_every_size(log: AuditLog) -> None:
    count = 40
    leaves = leaf_hashes(count)
    for i in range(count):
        log.append(check_entry_number(i))
    roots = [merkle.root_from_leaf_hashes(leaves[:size]) for size in range(count + 1)]
    for size in range(1, count + 1):
        assert log.root_hash(size) == roots[size]
        for index in range(size):
            proof = log.inclusion_proof(index, size)
            merkle.verify_inclusion(merkle.LeafHash(leaves[index]), index, size, proof, roots[size])
        for old in range(1, size + 1):
            proof = log.consistency_proof(old, size)
            merkle.verify_consistency(old, size, roots[old], roots[size], proof)


def test_proofs_read_logarithmically_many_nodes(log: AuditLog) -> None:
    log.append_many([check_entry_number(i) for i in range(1000)])
    requested: list[int] = []
    fetch = log.fetch_nodes

    def counting_fetch(ids: Sequence[NodeId]) -> list[bytes]:
        requested.append(len(ids))
        return fetch(ids)

    merkle.inclusion_proof(500, 1000, counting_fetch)
    merkle.consistency_proof(333, 1000, counting_fetch)
    merkle.root_hash(1000, counting_fetch)
    assert len(requested) == 3
    assert max(requested) <= 2 * 10


def test_node_lookups_search_the_primary_key(log: AuditLog) -> None:
    query = _node_query(3)
    plan = log._reader().execute("EXPLAIN QUERY PLAN " + query, (0, 0, 1, 0, 0, 1)).fetchall()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "USING PRIMARY KEY" in details
    assert "SCAN n" not in details


def test_bad_sizes_and_indexes_are_refused(log: AuditLog) -> None:
    log.append_many([check_entry_number(i) for i in range(4)])
    with pytest.raises(InputError):
        log.root_hash(5)
    with pytest.raises(InputError):
        log.inclusion_proof(4, 4)
    with pytest.raises(InputError):
        log.consistency_proof(0, 4)
    with pytest.raises(InputError):
        log.entry(4)


def test_reopening_continues_the_same_tree(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    for start, stop in ((0, 13), (13, 14), (14, 64), (64, 100)):
        with AuditLog(path) as log:
            assert log.size == start
            log.append_many([check_entry_number(i) for i in range(start, stop)])
    with AuditLog(path, read_only=True) as log:
        assert log.size == 100
        assert log.root_hash() == merkle.root_from_leaf_hashes(leaf_hashes(100))


def test_several_processes_append_to_one_tree(tmp_path: Path) -> None:
    # A serving node and a `check` or `import` run beside it each hold a writer on one log.
    path = tmp_path / "node.db"
    script = (
        "import sys\n"
        "from node.audit.store import AuditLog\n"
        "from node.audit.entries import AuditEntry, EntryKind\n"
        "from datetime import UTC, datetime\n"
        "with AuditLog(sys.argv[1]) as log:\n"
        "    for n in range(120):\n"
        "        log.append(AuditEntry(kind=EntryKind.KEY_ROTATED, time=datetime.now(UTC),\n"
        "                              node='fr-dcpj', dataset=f'd{sys.argv[2]}-{n}',\n"
        "                              key_fingerprint=bytes(32)))\n\n"
    )
    with AuditLog(path) as log:
        log.append(check_entry_number(0))
        children = [
            subprocess.Popen([sys.executable, "-c", script, str(path), str(number)], cwd=REPOSITORY)
            for number in range(2)
        ]
        mine = [log.append(check_entry_number(i)) for i in range(1, 121)]
        assert all(child.wait(timeout=120) == 0 for child in children)
        assert mine == sorted(mine)
        later = log.append(check_entry_number(121))
        assert later == 361
        bodies = [log.entry_bytes(i) for i in range(362)]
        assert log.root_hash(362) == merkle.root_from_leaf_hashes(
            [merkle.leaf_hash(body) for body in bodies]
        )
    with AuditLog(path, read_only=True) as reopened:
        assert reopened.size == 362
        for size in (1, 100, 257, 362):
            proof = reopened.inclusion_proof(size - 1, size)
            merkle.verify_inclusion(
                merkle.leaf_hash(bodies[size - 1]), size - 1, size, proof, reopened.root_hash(size)
            )


def test_concurrent_appenders_share_commits(log: AuditLog) -> None:
    threads = 16
    per_thread = 40
    results: dict[int, list[int]] = {}

    def appender(number: int) -> None:
        results[number] = [
            log.append(check_entry_number(number * per_thread + i)) for i in range(per_thread)
        ]

    workers = [threading.Thread(target=appender, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    every = sorted(index for indexes in results.values() for index in indexes)
    assert every == list(range(threads * per_thread))
    for number, indexes in results.items():
        assert indexes == sorted(indexes)
        for offset, index in enumerate(indexes):
            assert log.entry(index) == check_entry_number(number * per_thread + offset)
    stored = [log.entry_bytes(i) for i in range(log.size)]
    assert log.root_hash() == merkle.root_from_leaf_hashes([merkle.leaf_hash(e) for e in stored])


def test_a_log_that_never_appends_reads_the_committed_size(tmp_path: Path) -> None:
    # A tool beside a running node opens the same database: it must see the node's appends.
    path = tmp_path / "node.db"
    with AuditLog(path) as node, AuditLog(path) as tool:
        node.append_many([check_entry_number(i) for i in range(3)])
        assert tool.size == 3
        node.append(check_entry_number(3))
        assert tool.size == 4
        assert tool.root_hash() == node.root_hash()


def test_tables_are_append_only(log: AuditLog) -> None:
    log.append_many([check_entry_number(i) for i in range(3)])
    log.store_checkpoint(3, "note\n")
    with sqlite3.connect(log.path) as connection:
        for statement in (
            "UPDATE audit_entries SET body = x'00' WHERE idx = 1",
            "DELETE FROM audit_entries WHERE idx = 2",
            "UPDATE audit_nodes SET hash = x'00' WHERE level = 0",
            "DELETE FROM audit_nodes",
            "DELETE FROM audit_checkpoints",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                connection.execute(statement)


def test_failed_commit_fails_its_appenders_and_the_log_recovers(log: AuditLog) -> None:
    log.append(check_entry_number(0))
    # Another writer takes the next index behind the log's back: the batch must fail as a whole,
    # and no appender may wait for ever.
    with sqlite3.connect(log.path) as connection:
        connection.execute("INSERT INTO audit_entries (idx, body) VALUES (1, x'01')")
    with pytest.raises(StorageError):
        log.append(check_entry_number(1))


def test_a_writer_that_cannot_start_fails_its_appenders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AuditLog(tmp_path / "node.db") as log:

        def refuse(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
            raise StorageError(f"cannot open audit database {path}: disk on fire")

        monkeypatch.setattr(store, "_connect", refuse)
        with pytest.raises(StorageError, match="disk on fire"):
            log.append(check_entry_number(0))
        with pytest.raises(StorageError, match="writer stopped"):
            log.append(check_entry_number(0))


def test_missing_entries_are_detected_on_open(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    with AuditLog(path) as log:
        log.append_many([check_entry_number(i) for i in range(5)])
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TRIGGER audit_entries_append_only_delete")
        connection.execute("DELETE FROM audit_entries WHERE idx = 2")
    with pytest.raises(StorageError, match="missing"):
        AuditLog(path, read_only=True)


def test_closed_and_read_only_logs_refuse_appends(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    log = AuditLog(path)
    log.close()
    log.close()
    with pytest.raises(StorageError, match="closed"):
        log.append(check_entry_number(0))
    with AuditLog(path, read_only=True) as reader, pytest.raises(StorageError, match="read-only"):
        reader.append(check_entry_number(0))
    with pytest.raises(InputError, match="does not exist"):
        AuditLog(tmp_path / "absent.db", read_only=True)


def test_origin_is_bound_once(log: AuditLog) -> None:
    before = log.origin
    assert before is None
    log.bind_origin("fr-dcpj")
    log.bind_origin("fr-dcpj")
    assert log.origin == "fr-dcpj"
    with pytest.raises(InputError, match="fr-dcpj"):
        log.bind_origin("de.bka")


def test_checkpoints_are_kept_once_per_size(log: AuditLog) -> None:
    log.store_checkpoint(0, "first\n")
    log.store_checkpoint(0, "second\n")
    log.store_checkpoint(5, "five\n")
    assert log.checkpoint_note(0) == "first\n"
    assert log.latest_checkpoint() == (5, "five\n")
    assert log.checkpoints() == [(0, "first\n"), (5, "five\n")]
    assert log.checkpoint_note(3) is None


def test_database_uses_wal_and_full_sync(log: AuditLog) -> None:
    with sqlite3.connect(log.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reader = log._reader()
    # 2 is FULL (SQLite, "PRAGMA synchronous").
    assert reader.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_cosigned_checkpoints_are_kept_once_per_size_and_witness(log: AuditLog) -> None:
    node_note = "fr-dcpj\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— fr-dcpj AAAAAAAA\n"
    first = node_note + "— witness.example/w1 AAAAAAAB\n"
    second = node_note + "— witness.example/w1 AAAAAAAC\n"
    with pytest.raises(InputError, match="no checkpoint of size 5"):
        log.store_cosigned(5, "witness.example/w1", first)
    log.store_checkpoint(5, node_note)
    log.store_cosigned(5, "witness.example/w1", first)
    log.store_cosigned(5, "witness.example/w1", second)
    assert log.cosigned_checkpoints() == [(5, "witness.example/w1", first)]
    assert log.cosigned_checkpoints(4) == []
    with pytest.raises(InputError, match=r"no line by 'witness\.example/w2'"):
        log.store_cosigned(5, "witness.example/w2", first)
    other_text = first.replace("\n5\n", "\n6\n", 1)
    with pytest.raises(InputError, match="is not this node's checkpoint of size 5"):
        log.store_cosigned(5, "witness.example/w1", other_text)
    with sqlite3.connect(log.path) as connection:
        for statement in (
            "UPDATE audit_cosignatures SET note = 'x'",
            "DELETE FROM audit_cosignatures",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                connection.execute(statement)


def test_a_database_older_than_cosignatures_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with AuditLog(path) as log:
        log.append(check_entry_number(0))
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE audit_cosignatures")
        # The releases before the table never set a schema version.
        connection.execute("PRAGMA user_version = 0")
    with AuditLog(path, read_only=True) as old:
        assert old.cosigned_checkpoints() == []
    # Opened for writing, the table is added.
    with AuditLog(path) as upgraded:
        assert upgraded.cosigned_checkpoints() == []
