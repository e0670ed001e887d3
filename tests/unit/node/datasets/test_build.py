"""Index building: parallel evaluation, incremental epochs, padding, deltas, rotation, logging.

The reference for every epoch is a tiny, obviously-correct rebuild that lives only here: unseal
the key, derive the keys of every stored record, evaluate them one by one with `OprfServer`, and
take the fingerprints. The incremental index must equal it after every change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InputError
from crypto.oprf import Mode, OprfServer, Suite
from dev.synthetic import synthetic_people
from node.audit.entries import EntryKind
from node.audit.store import AuditLog
from node.config import Dataset
from node.datasets.build import (
    EpochResult,
    ImportOptions,
    ImportRejected,
    _write_epoch,
    canonical_json,
    import_records,
    log_epochs,
    rotate_key,
)
from node.datasets.evaluator import Evaluator, evaluate_inputs, key_records
from node.datasets.sources import SourceError, SourceRecord
from node.datasets.store import Change, DatasetStore
from node.keys.sealed import ScryptCost, unseal_private_key
from protocol.match_index import (
    IndexParameters,
    apply_delta,
    choose_parameters,
    fingerprint,
    fingerprint_range,
    size_bucket,
)
from protocol.match_keys import derive_keys, oprf_input

NODE = "fr-ct"
PASSPHRASE = b"a test passphrase"
CHEAP = ScryptCost(log2_n=10)
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def people(count: int, seed: int = 7, prefix: str = "P") -> list[dict[str, Any]]:
    return list(synthetic_people(count, seed=seed, prefix=prefix))


def as_source(
    records: Iterable[dict[str, Any]], metadata: dict[str, str] | None = None
) -> Iterator[SourceRecord]:
    for line, record in enumerate(records, 1):
        fields = dict(record)
        record_id = fields.pop("id")
        yield SourceRecord(line, record_id, fields, metadata or {"person_status": "wanted"})


def run_import(
    store: DatasetStore,
    items: Iterable[SourceRecord | SourceError],
    dataset: Dataset | None = None,
    **options: Any,
) -> EpochResult:
    return import_records(
        store,
        dataset or Dataset("persons"),
        items,
        node_id=NODE,
        passphrase=PASSPHRASE,
        options=ImportOptions(**{"workers": 1, **options}),
        sealing_cost=CHEAP,
    )


def reference_real_index(store: DatasetStore, name: str = "persons") -> set[int]:
    """Every stored record's keys, evaluated one by one under the current key: fingerprints."""
    info = store.dataset(name)
    key = store.current_key(name)
    epoch = store.latest_epoch(name)
    assert info is not None
    assert key is not None
    assert epoch is not None
    private = unseal_private_key(
        key.sealed_private_key, PASSPHRASE, node_id=NODE, dataset=name, key_version=key.version
    )
    server = OprfServer(info.suite, info.mode, private)
    values = set()
    for _, content in store.iter_record_contents(name):
        for match_key in derive_keys(json.loads(content), info.profile).keys:
            tag = server.evaluate(oprf_input(info.profile, name, match_key))
            values.add(fingerprint(tag, epoch.params))
    return values


def published_real(store: DatasetStore, name: str = "persons") -> set[int]:
    return set(store.index(name)) - store.dummies(name)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DatasetStore]:
    opened = DatasetStore(tmp_path / "node.db")
    yield opened
    opened.close()


# ---------------------------------------------------------------------------------------------
# Evaluation.
# ---------------------------------------------------------------------------------------------


def test_evaluate_inputs_is_truncated_rfc9497_evaluate() -> None:
    server_key = bytes([7]) + bytes(31)
    inputs = [b"alpha", b"beta"]
    for suite, mode in [(Suite.RISTRETTO255_SHA512, Mode.OPRF), (Suite.P256_SHA256, Mode.VOPRF)]:
        expected = [out[:32] for out in OprfServer(suite, mode, server_key).evaluate_batch(inputs)]
        assert evaluate_inputs(suite, mode, server_key, inputs) == expected


def test_key_records_reports_errors_per_record() -> None:
    key = bytes([5]) + bytes(31)
    records = [
        ("ok", canonical_json({"name": "Ana Lopez", "date_of_birth": "1980-02-03"})),
        ("bad", canonical_json({"document_number": "X1", "document_issuing_country": "QQ"})),
        ("none", canonical_json({"sex": "F"})),
    ]
    keyed = key_records(Suite.RISTRETTO255_SHA512, Mode.OPRF, key, "v1", "persons", records)
    assert [k.record_id for k in keyed] == ["ok", "bad", "none"]
    assert keyed[0].error is None
    assert len(keyed[0].tags) == len(keyed[0].kinds) > 0
    assert all(len(tag) == 32 for tag in keyed[0].tags)
    assert keyed[1].error is not None
    assert keyed[1].error.startswith("document_issuing_country:")
    assert keyed[2].error is not None
    assert keyed[2].error.startswith("record: no identifying")
    validated = key_records(
        Suite.RISTRETTO255_SHA512, Mode.OPRF, key, "v1", "persons", records, evaluate=False
    )
    assert validated[0].tags == ()
    assert validated[0].kinds == keyed[0].kinds
    assert [k.error for k in validated] == [k.error for k in keyed]


def test_the_worker_pool_gives_what_inline_evaluation_gives() -> None:
    key = bytes([9]) + bytes(31)
    records = [(f"R{i}", canonical_json(p)) for i, p in enumerate(people(24))]
    args = (Suite.RISTRETTO255_SHA512, Mode.OPRF, key, "v1", "persons")
    with Evaluator(*args, workers=2, chunk_records=8) as pooled:
        futures = [pooled.submit(records[i : i + 8]) for i in range(0, 24, 8)]
        results = [keyed for future in futures for keyed in future.result()]
        assert "started" in repr(pooled)
    with Evaluator(*args, workers=1, chunk_records=8) as inline:
        expected = [
            keyed for i in range(0, 24, 8) for keyed in inline.submit(records[i : i + 8]).result()
        ]
        assert "none" in repr(inline)
    assert [(k.record_id, k.tags, k.kinds) for k in results] == [
        (k.record_id, k.tags, k.kinds) for k in expected
    ]


# ---------------------------------------------------------------------------------------------
# Parameters and fingerprints.
# ---------------------------------------------------------------------------------------------


def test_choose_parameters() -> None:
    fresh = choose_parameters(None, 1000, pad=False)
    assert fresh.capacity == size_bucket(1250)
    assert choose_parameters(fresh, 1200, pad=False) == fresh
    assert choose_parameters(fresh, fresh.capacity + 1, pad=False).capacity > fresh.capacity
    # Padding needs room for the count's whole bucket.
    assert choose_parameters(fresh, 1200, pad=True).capacity >= size_bucket(1200)
    big = choose_parameters(None, 100_000, pad=False)
    assert choose_parameters(big, 35_000, pad=False) == big
    assert choose_parameters(big, 20_000, pad=False).capacity < big.capacity
    assert choose_parameters(None, 0, pad=True).capacity == 16


@settings(max_examples=300, deadline=None)
@given(
    value=st.integers(min_value=0, max_value=(1 << 128) - 1),
    capacity=st.integers(min_value=1, max_value=1 << 30),
    bits=st.integers(min_value=1, max_value=34),
)
def test_fingerprint_range_holds_exactly_the_tags_of_a_fingerprint(
    value: int, capacity: int, bits: int
) -> None:
    params = IndexParameters(capacity, bits)
    tag = value.to_bytes(16, "big") + b"\x5a" * 16
    found = fingerprint(tag, params)
    low, high = fingerprint_range(found, params)
    assert low <= tag
    assert high is None or tag < high
    assert fingerprint(low, params) == found
    if found > 0:
        assert fingerprint((int.from_bytes(low, "big") - 1).to_bytes(16, "big"), params) < found
    if high is not None:
        assert fingerprint(high, params) == found + 1


# ---------------------------------------------------------------------------------------------
# Imports.
# ---------------------------------------------------------------------------------------------


def test_first_import_creates_the_dataset_and_a_sealed_key(store: DatasetStore) -> None:
    result = run_import(store, as_source(people(40)))
    assert result.created_dataset
    assert (result.added, result.updated, result.deleted, result.unchanged) == (40, 0, 0, 0)
    assert result.records_evaluated == 40
    epoch = result.epoch
    assert epoch is not None
    assert (epoch.epoch, epoch.key_version, epoch.record_count, epoch.logged) == (1, 1, 40, False)
    assert epoch.keyframe
    info = store.dataset("persons")
    assert info is not None
    assert (info.suite, info.mode, info.profile) == (Suite.RISTRETTO255_SHA512, Mode.OPRF, "v1")
    key = store.current_key("persons")
    assert key is not None
    assert "hidden" in repr(key)
    private = unseal_private_key(
        key.sealed_private_key, PASSPHRASE, node_id=NODE, dataset="persons", key_version=1
    )
    assert OprfServer(info.suite, info.mode, private).public_key == key.public_key
    assert published_real(store) == reference_real_index(store)
    assert store.tag_count("persons") == result.keys_evaluated
    assert store.index("persons").digest() == epoch.index_digest


def test_incremental_epochs_equal_a_full_rebuild(store: DatasetStore) -> None:
    crowd = people(60)
    run_import(store, as_source(crowd), workers=2, chunk_records=16)
    # Change 5 dates of birth, give 3 records a new status only, delete 4, add 6.
    changed = [dict(p, date_of_birth="1971-07-0" + str(i + 1)) for i, p in enumerate(crowd[:5])]
    status = list(as_source(crowd[5:8], {"person_status": "arrested"}))
    deletions = [SourceRecord(100 + i, p["id"], delete=True) for i, p in enumerate(crowd[8:12])]
    added = people(6, seed=99, prefix="N")
    items = [*as_source(changed), *status, *deletions, *as_source(added)]
    # Lines must be unique per import for messages; renumber.
    items = [
        SourceRecord(n, i.record_id, i.fields, i.metadata, i.delete) for n, i in enumerate(items, 1)
    ]
    result = run_import(store, items)
    assert (result.added, result.updated, result.deleted) == (6, 8, 4)
    assert result.records_evaluated == 11
    epoch = result.epoch
    assert epoch is not None
    assert (epoch.epoch, epoch.record_count, epoch.evaluated) == (2, 62, 11)
    assert not epoch.keyframe
    assert epoch.delta_size is not None
    assert epoch.delta_size < epoch.index_size / 3
    assert published_real(store) == reference_real_index(store)
    assert store.record_metadata("persons", crowd[5]["id"]) == {"person_status": "arrested"}
    assert store.record_metadata("persons", crowd[8]["id"]) is None
    # The stored delta turns epoch 1's index into epoch 2's.
    delta = store.delta("persons", 1, 2)
    assert delta is not None
    rebuilt = apply_delta(store.index("persons", 1), delta, max_count=epoch.params.capacity)
    assert rebuilt.digest() == epoch.index_digest


def test_an_import_that_changes_nothing_makes_no_epoch(store: DatasetStore) -> None:
    crowd = people(10)
    run_import(store, as_source(crowd))
    result = run_import(store, as_source(crowd))
    assert result.epoch is None
    assert result.unchanged == 10
    assert result.records_evaluated == 0
    latest = store.latest_epoch("persons")
    assert latest is not None
    assert latest.epoch == 1


def test_invalid_records_all_or_nothing(store: DatasetStore) -> None:
    run_import(store, as_source(people(5)))
    before = store.latest_epoch("persons")
    items: list[SourceRecord | SourceError] = [
        *as_source(people(3, seed=3, prefix="Q")),
        SourceRecord(4, "Q9", {"document_number": "X", "document_issuing_country": "QQ"}),
        SourceRecord(5, "Q0000001", {"name": "Someone Else"}),
        SourceRecord(6, "P0000099", delete=True),
        SourceError(7, "not valid JSON"),
    ]
    with pytest.raises(ImportRejected) as raised:
        run_import(store, items)
    lines = [(r.line, r.reason.split(":")[0]) for r in raised.value.rejections]
    assert lines == [(4, "document_issuing_country"), (5, "id"), (6, "id"), (7, "not valid JSON")]
    assert "appears again (first on line 2)" in raised.value.rejections[1].reason
    assert "no such record" in raised.value.rejections[2].reason
    assert store.latest_epoch("persons") == before
    assert store.record_count("persons") == 5


def test_skip_invalid_imports_the_rest(store: DatasetStore) -> None:
    items: list[SourceRecord | SourceError] = [
        *as_source(people(4)),
        SourceRecord(9, "BAD", {"date_of_birth": "1980-01-01"}),
    ]
    result = run_import(store, items, skip_invalid=True)
    assert result.rejected == 1
    assert result.rejections[0].line == 9
    assert result.added == 4
    assert store.record_states("persons", ["BAD"]) == {}
    assert published_real(store) == reference_real_index(store)


def test_wrong_passphrase_and_changed_suite_are_refused(store: DatasetStore) -> None:
    run_import(store, as_source(people(3)))
    with pytest.raises(InputError, match="wrong passphrase"):
        import_records(
            store, Dataset("persons"), [], node_id=NODE, passphrase=b"nope", sealing_cost=CHEAP
        )
    with pytest.raises(InputError, match=r"datasets\.persons\.suite is 'P256-SHA256'"):
        run_import(store, [], Dataset("persons", suite=Suite.P256_SHA256))


def test_padding_reuses_dummies_and_keeps_deltas_small(store: DatasetStore) -> None:
    padded = Dataset("persons", pad_to_bucket=True)
    crowd = people(50)
    first = run_import(store, as_source(crowd), padded).epoch
    assert first is not None
    assert first.published_count == size_bucket(first.key_count)
    dummies = store.dummies("persons")
    assert len(dummies) == first.published_count - first.key_count
    changed = [dict(crowd[0], date_of_birth="1999-12-31")]
    second = run_import(store, as_source(changed), padded).epoch
    assert second is not None
    assert second.published_count == size_bucket(second.key_count)
    assert (
        len(dummies & store.dummies("persons"))
        >= min(len(dummies), len(store.dummies("persons"))) - 20
    )
    assert second.delta_size is not None
    assert second.delta_size < 200
    assert published_real(store) == reference_real_index(store)


def test_deltas_keyframes_and_every_epoch_rebuilds(store: DatasetStore) -> None:
    crowd = people(30)
    run_import(store, as_source(crowd))
    for round_number in range(4):
        changed = [dict(p, date_of_birth=f"19{60 + round_number}-01-15") for p in crowd[:8]]
        run_import(store, as_source(changed))
    epochs = store.epochs("persons")
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5]
    assert epochs[0].keyframe
    for epoch in epochs:
        assert store.index("persons", epoch.epoch).digest() == epoch.index_digest
    for a, b in [(1, 5), (2, 4), (4, 5)]:
        delta = store.delta("persons", a, b)
        assert delta is not None
        target = apply_delta(store.index("persons", a), delta, max_count=1 << 20)
        assert target == store.index("persons", b)


def test_a_fingerprint_shared_by_two_tags_survives_the_removal_of_one(store: DatasetStore) -> None:
    run_import(store, as_source(people(2)))
    latest = store.latest_epoch("persons")
    assert latest is not None
    shared = bytes([0x42]) * 16
    for number, tags in [
        (2, {"X": shared + b"\x01" * 16, "Y": shared + b"\x02" * 16}),
        (3, {"X": b"\x07" * 32}),
    ]:
        with store.staging() as staging:
            staging.add_records(
                [
                    (
                        rid,
                        i,
                        Change.CONTENT if number == 3 else Change.NEW,
                        '{"name":"x"}',
                        "{}",
                        bytes([number]) * 32,
                    )
                    for i, rid in enumerate(tags, 1)
                ]
            )
            staging.add_tags((rid, tag, "name") for rid, tag in tags.items())
            _write_epoch(
                store,
                staging,
                "persons",
                expected_epoch=number - 1,
                key_version=1,
                pad=False,
                replace_all=False,
                created=T0,
                prepare=lambda writer: None,
            )
    params = store.latest_epoch("persons").params  # type: ignore[union-attr]
    index = store.index("persons")
    assert index.contains(fingerprint(shared, params)), "Y still holds a tag with this fingerprint"
    assert index.contains(fingerprint(b"\x07" * 32, params))


# ---------------------------------------------------------------------------------------------
# Rotation and logging.
# ---------------------------------------------------------------------------------------------


def test_rotation_replaces_every_tag_and_logs_it(store: DatasetStore, tmp_path: Path) -> None:
    padded = Dataset("persons", pad_to_bucket=True)
    run_import(store, as_source(people(40)), padded)
    old_tags = {tag for owners in [store.index("persons")] for tag in owners}
    old_dummies = store.dummies("persons")
    result = rotate_key(
        store, padded, node_id=NODE, passphrase=PASSPHRASE, workers=1, sealing_cost=CHEAP
    )
    epoch = result.epoch
    assert epoch is not None
    assert (epoch.epoch, epoch.key_version, epoch.keyframe) == (2, 2, True)
    keys = store.keys("persons")
    assert [(k.version, k.retired_at is not None) for k in keys] == [(1, True), (2, False)]
    assert keys[0].sealed_private_key == b"", "a retired private key is erased"
    assert not old_tags & set(store.index("persons"))
    assert not old_dummies & store.dummies("persons"), "dummies are drawn afresh"
    assert published_real(store) == reference_real_index(store)
    assert result.keys_evaluated == store.tag_count("persons")
    with pytest.raises(InputError, match="wrong passphrase"):
        rotate_key(store, padded, node_id=NODE, passphrase=b"wrong", sealing_cost=CHEAP)

    with AuditLog(tmp_path / "node.db") as audit:
        logged = log_epochs(store, audit, NODE, clock=lambda: T0)
        assert [(e.epoch, e.audit_index) for e in logged] == [(1, 0), (2, 2)]
        assert log_epochs(store, audit, NODE) == []
        entries = [audit.entry(i) for i in range(audit.size)]
    kinds = [e.kind for e in entries]
    assert kinds == [
        EntryKind.DATASET_EPOCH_PUBLISHED,
        EntryKind.KEY_ROTATED,
        EntryKind.DATASET_EPOCH_PUBLISHED,
    ]
    assert entries[1].key_fingerprint == hashlib.sha256(keys[1].public_key).digest()
    assert entries[2].index_digest == epoch.index_digest
    assert (entries[2].epoch, entries[2].element_count, entries[2].dataset) == (2, 40, "persons")
    assert store.published_epoch("persons") == store.latest_epoch("persons")


def test_rotation_needs_data(store: DatasetStore) -> None:
    with pytest.raises(InputError, match="no data yet"):
        rotate_key(store, Dataset("persons"), node_id=NODE, passphrase=PASSPHRASE)
