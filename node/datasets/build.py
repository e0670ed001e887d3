"""Building a dataset's match index: epochs from an import or a key rotation, padding, logging.

Every record's match keys (`protocol.match_keys.derive_keys`) are evaluated with the dataset's OPRF
key (RFC 9497 Evaluate, the suite and mode of the dataset); the first 32 bytes of each output are
the record's *tags* (`node.datasets.store.TAG_LENGTH`). An epoch's published index is the set of the
tags' fingerprints (`protocol.match_index`), optionally padded with dummies, and its BLAKE3 digest
goes into the audit log.

Evaluation runs in parallel worker processes (`node.datasets.evaluator`).

Incremental epochs. An import stages its records (`node.datasets.store.Staging`); only new records
and records whose content digest changed are evaluated. In the write transaction the old tags of
changed and deleted records are dropped and the new ones inserted; the new index is the previous
epoch's real fingerprints, less those of dropped tags that no remaining tag shares, plus those of
the new tags. Whether a remaining tag shares a fingerprint is one range query: fingerprints are
monotone in the tag (`fingerprint_range`). So the evaluation and the database work of an epoch are
in proportion to what changed; what remains in proportion to the whole dataset is one pass over the
fingerprints (decode, merge, pad, encode, delta). When every tag is new (the first epoch, a key
rotation) the index is built from the staging: its fingerprints are read and sorted before the write
transaction begins, so the database stays unlocked meanwhile, and it is padded and coded alongside
the transaction's inserts; a change of parameters rebuilds it from every stored tag.

Where the time goes is what `bench/index_build.py` reports, as ratios to the machine's raw
hash-to-group and scalar-multiplication rate: the phase that reads, derives and evaluates (on all
cores) apart from the write phase (sorting, fingerprinting and inserting the staged tags,
indexing them by record and committing), which runs on one core.

Parameters. An epoch keeps its predecessor's index parameters while the index fits them, since
a delta bridges only two epochs with the same parameters (`protocol.match_index.choose_parameters`).

Padding. With `pad_to_bucket`, `protocol.match_index.pad_index` adds dummies up to the size
bucket, reusing the previous epoch's dummies so that a delta only carries the dummies that
change. After a key rotation every real fingerprint changes, so dummies are drawn afresh: kept
dummies would be exactly the entries that survive the rotation, and would be recognised.

Progress. An import or a rotation takes minutes for millions of records; the caller's
`on_progress` is told how far it has come (`BuildProgress`: the phase, the records read so far,
their total when known) once per batch of records and at each change of phase. This module
never draws anything: showing progress is the caller's business (`cli.progress` on a terminal).

Logging. An epoch is committed unlogged, then `log_epochs` appends its `dataset_epoch_published`
entry (and before it a `key_rotated` entry when the key changed) and marks it logged; see
`node.datasets.store` for why it is this order and how a crash in between is repaired.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

import blake3

from crypto.errors import BlindhitError, InputError, StorageError
from crypto.oprf import KeyPair, generate_key_pair
from node.audit.entries import AuditEntry, EntryKind
from node.audit.store import AuditLog
from node.config import Dataset
from node.datasets.evaluator import (
    DEFAULT_CHUNK_RECORDS,
    Evaluator,
    KeyedRecord,
)
from node.datasets.sources import SourceError, SourceRecord
from node.datasets.store import (
    AppliedCounts,
    Change,
    DatasetInfo,
    DatasetStore,
    EpochInfo,
    EpochWriter,
    NewEpoch,
    RecordState,
    Staging,
)
from node.keys.sealed import DEFAULT_COST, ScryptCost, seal_private_key, unseal_private_key
from protocol.match_index import (
    DecodedIndex,
    IndexParameters,
    choose_parameters,
    encode_delta,
    fingerprint_range,
    pad_index,
    tag_fingerprints,
)
from protocol.match_keys import DEFAULT_PROFILE

__all__ = [
    "BuildPhase",
    "BuildProgress",
    "EpochResult",
    "ImportOptions",
    "ImportRejected",
    "ProgressCallback",
    "Rejection",
    "canonical_json",
    "import_records",
    "log_epochs",
    "rotate_key",
]

# Input records classified per database lookup.
_READ_BATCH: Final = 512


class BuildPhase(StrEnum):
    """The phases of an import or a rotation, in order; the values are for people to read."""

    EVALUATING = "evaluating"
    """Records are read, staged and their match keys evaluated (most of the time)."""
    WRITING = "writing"
    """The staged records and tags are written to the dataset's tables."""
    INDEXING = "building the index"
    """The new epoch's match index is built, padded, encoded and digested."""
    COMMITTING = "committing"
    """The epoch is stored and the transaction committed."""


@dataclass(frozen=True, slots=True)
class BuildProgress:
    """How far an import or a rotation has come, as told to its `on_progress` callback."""

    phase: BuildPhase
    done: int
    """Records read so far (handed to evaluation; a few chunks may still be in the workers)."""
    total: int | None = None
    """Records the build will read, when known beforehand (a rotation); None for an import."""


ProgressCallback = Callable[[BuildProgress], None]
"""Called from the building thread; it should return quickly (drawing is rate-limited there)."""


def _report(
    on_progress: ProgressCallback | None, phase: BuildPhase, done: int, total: int | None = None
) -> None:
    if on_progress is not None:
        on_progress(BuildProgress(phase, done, total))


def canonical_json(value: object) -> str:
    """The one JSON spelling of a record's fields or metadata (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# Results.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """An input record left out, or the reason nothing was imported: its line and why."""

    line: int
    reason: str


class ImportRejected(InputError):
    """All-or-nothing import: some records are invalid, so nothing was written."""

    def __init__(self, rejections: Sequence[Rejection]) -> None:
        super().__init__(
            f"{len(rejections)} invalid record(s); nothing was imported "
            "(use --skip-invalid --rejects FILE to import the valid ones)"
        )
        self.rejections = tuple(rejections)


@dataclass(frozen=True)
class ImportOptions:
    """How an import treats invalid records and how it spreads the work."""

    skip_invalid: bool = False
    workers: int | None = None
    chunk_records: int = DEFAULT_CHUNK_RECORDS
    max_warnings: int = 1000
    """Data-quality warnings kept for display (all are counted)."""


@dataclass(frozen=True)
class EpochResult:
    """What an import or a key rotation did."""

    dataset: str
    epoch: EpochInfo | None
    """The new epoch, or None when the import changed nothing (the dataset keeps its epoch)."""
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    keys_evaluated: int = 0
    records_evaluated: int = 0
    rejections: tuple[Rejection, ...] = ()
    warnings: tuple[Rejection, ...] = ()
    warning_count: int = 0
    created_dataset: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return len(self.rejections)


# ---------------------------------------------------------------------------------------------
# Staging and evaluating.
# ---------------------------------------------------------------------------------------------


_StagedRow = tuple[str, int, Change, str | None, str | None, bytes | None]


class _Pipeline:
    """Stages records and streams the ones to evaluate through the evaluator, keeping order loose.

    Records are keyed by id, so results may come back in any order; the lines of records in
    flight are kept to name them in messages.
    """

    def __init__(
        self, staging: Staging, evaluator: Evaluator, *, strict: bool, max_warnings: int
    ) -> None:
        self.staging = staging
        self.evaluator = evaluator
        self.strict = strict
        self.max_warnings = max_warnings
        self.rejections: dict[int, str] = {}
        self.warnings: list[Rejection] = []
        self.warning_count = 0
        self.keys_evaluated = 0
        self.records_evaluated = 0
        self._lines: dict[str, int] = {}
        self._buffer: list[tuple[str, str]] = []
        self._in_flight: deque[Future[list[KeyedRecord]]] = deque()

    def reject(self, line: int, reason: str) -> None:
        self.rejections.setdefault(line, reason)

    def stage(self, rows: Sequence[_StagedRow]) -> list[_StagedRow]:
        """Stage `rows`; reject repeated ids; return the rows that were staged."""
        duplicates = self.staging.add_records(rows)
        staged = []
        for row in rows:
            first = duplicates.get(row[1])
            if first is None:
                staged.append(row)
            else:
                self.reject(
                    row[1],
                    f"id: record id {row[0]!r} appears again (first on line {first}); "
                    "a record may appear once per import",
                )
        return staged

    def evaluate(self, record_id: str, line: int, content: str) -> None:
        self._lines[record_id] = line
        self._buffer.append((record_id, content))
        if len(self._buffer) >= self.evaluator.chunk_records:
            self._submit()

    def _submit(self) -> None:
        if not self._buffer:
            return
        # Once an all-or-nothing import has failed, the rest is only validated, so that every
        # error is still listed but no evaluation is spent on a result that will be discarded.
        evaluate = not (self.strict and self.rejections)
        self._in_flight.append(self.evaluator.submit(self._buffer, evaluate=evaluate))
        self._buffer = []
        while len(self._in_flight) >= self.evaluator.max_in_flight:
            self._collect_oldest()

    def finish(self) -> None:
        self._submit()
        while self._in_flight:
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        try:
            results = self._in_flight.popleft().result()
        except BrokenProcessPool as error:
            raise BlindhitError(
                "the key evaluation workers stopped unexpectedly (killed, or out of memory); "
                "nothing was written"
            ) from error
        self._collect(results)

    def _collect(self, results: list[KeyedRecord]) -> None:
        tagged: list[tuple[str, bytes, tuple[str, ...]]] = []
        failed: list[str] = []
        for keyed in results:
            line = self._lines.pop(keyed.record_id)
            if keyed.error is not None:
                self.reject(line, keyed.error)
                failed.append(keyed.record_id)
                continue
            self.records_evaluated += 1
            self.keys_evaluated += len(keyed.tags)
            if keyed.tags:
                tagged.append((keyed.record_id, b"".join(keyed.tags), keyed.kinds))
            for warning in keyed.warnings:
                self.warning_count += 1
                if len(self.warnings) < self.max_warnings:
                    self.warnings.append(Rejection(line, warning))
        if tagged:
            self.staging.add_record_tags(tagged)
        if failed:
            self.staging.reject(failed)

    def sorted_rejections(self) -> tuple[Rejection, ...]:
        return tuple(Rejection(line, self.rejections[line]) for line in sorted(self.rejections))


def _staged_row(record: SourceRecord, state: RecordState | None) -> _StagedRow:
    """What an input record does to the stored one: the row to stage for it."""
    if record.delete:
        return (record.record_id, record.line, Change.DELETE, None, None, None)
    content = canonical_json(dict(record.fields))
    metadata = canonical_json(dict(record.metadata))
    digest = blake3.blake3(content.encode("utf-8")).digest()
    if state is None:
        change = Change.NEW
    elif state.content_digest != digest:
        change = Change.CONTENT
    elif state.metadata != metadata:
        change = Change.METADATA
    else:
        change = Change.UNCHANGED
    return (record.record_id, record.line, change, content, metadata, digest)


def _classify(
    pipeline: _Pipeline,
    store: DatasetStore,
    name: str,
    batch: Sequence[SourceRecord | SourceError],
) -> int:
    """Stage one batch of input; queue new and changed records for evaluation.

    Returns how many records were unchanged.
    """
    records: list[SourceRecord] = []
    for item in batch:
        if isinstance(item, SourceError):
            pipeline.reject(item.line, item.reason)
        else:
            records.append(item)
    states = store.record_states(name, [record.record_id for record in records])
    rows: list[_StagedRow] = []
    contents: dict[int, str] = {}
    for record in records:
        state = states.get(record.record_id)
        if record.delete and state is None:
            pipeline.reject(
                record.line,
                f"id: cannot delete record {record.record_id!r}: dataset {name!r} holds "
                "no such record",
            )
            continue
        row = _staged_row(record, state)
        if row[3] is not None:
            contents[record.line] = row[3]
        rows.append(row)
    unchanged = 0
    for record_id, line, change, _, _, _ in pipeline.stage(rows):
        if change in (Change.NEW, Change.CONTENT):
            pipeline.evaluate(record_id, line, contents[line])
        elif change is Change.UNCHANGED:
            unchanged += 1
    return unchanged


# ---------------------------------------------------------------------------------------------
# Writing an epoch.
# ---------------------------------------------------------------------------------------------


def _incremental_index(writer: EpochWriter, previous: DecodedIndex) -> tuple[list[int], set[int]]:
    """The previous real fingerprints that remain, and the new ones (same parameters)."""
    params = previous.params
    dummies = writer.store.dummies(writer.name)
    gone: set[int] = set()
    for value in tag_fingerprints(writer.removed_tags(), params):
        if value not in gone and not writer.tag_in_range(*fingerprint_range(value, params)):
            gone.add(value)
    excluded = gone | dummies
    kept = [value for value in previous if value not in excluded]
    added: set[int] = set()
    for value in tag_fingerprints(writer.added_tags(), params):
        if value in excluded or not previous.contains(value):
            added.add(value)
    return kept, added


@dataclass(frozen=True)
class _EpochIndex:
    """The index of a new epoch: real and published forms, dummies, encoding, delta."""

    real: DecodedIndex
    published: DecodedIndex
    dummies: frozenset[int]
    encoded: bytes
    digest: bytes
    delta: bytes | None
    keyframe: bool


def _publish(
    real: DecodedIndex,
    *,
    pad: bool,
    previous: DecodedIndex | None,
    reusable_dummies: frozenset[int],
    delta_bytes_since_keyframe: int,
) -> _EpochIndex:
    """Pad, encode and digest `real`; `previous` is given only when a delta can bridge to it."""
    if pad:
        published, dummies = pad_index(real, previous_dummies=reusable_dummies)
    else:
        published, dummies = real, frozenset()
    encoded = published.encode()
    delta = None if previous is None else encode_delta(previous, published)
    keyframe = delta is None or delta_bytes_since_keyframe + len(delta) > len(encoded)
    return _EpochIndex(
        real, published, dummies, encoded, blake3.blake3(encoded).digest(), delta, keyframe
    )


def _full_index_from_staging(
    staging: Staging, previous: IndexParameters | None, helper: ThreadPoolExecutor, *, pad: bool
) -> Future[_EpochIndex]:
    """The index when every tag is new (first epoch, key rotation), built from the staging.

    It needs nothing from the dataset's tables, so its fingerprints are read and sorted before
    the write transaction, while the database stays unlocked. Padding, coding and digesting
    them (pure Python, a tenth of the write phase) then run on `helper` while the transaction
    writes records and tags, which SQLite does without holding the GIL. No delta bridges to
    this index and its dummies are new.
    """
    params = choose_parameters(previous, staging.distinct_tag_count(), pad=pad)
    real = DecodedIndex.from_fingerprints(tag_fingerprints(staging.tags(), params), params)
    return helper.submit(
        _publish,
        real,
        pad=pad,
        previous=None,
        reusable_dummies=frozenset(),
        delta_bytes_since_keyframe=0,
    )


def _next_index(writer: EpochWriter, *, key_version: int, pad: bool) -> _EpochIndex:
    """The index of the next epoch after an incremental change (inside the transaction)."""
    latest = writer.latest
    if latest is None:
        raise RuntimeError("an incremental epoch needs a previous epoch")
    previous = writer.store.index(writer.name)
    kept, added = _incremental_index(writer, previous)
    count = len(kept) + len(added)
    if choose_parameters(previous.params, count, pad=pad) == previous.params:
        real = DecodedIndex.from_fingerprints([*kept, *added], previous.params)
    else:
        params = choose_parameters(previous.params, writer.distinct_tag_count(), pad=pad)
        real = DecodedIndex.from_fingerprints(tag_fingerprints(writer.all_tags(), params), params)
    continuous = latest.key_version == key_version and previous.params == real.params
    return _publish(
        real,
        pad=pad,
        previous=previous if continuous else None,
        reusable_dummies=writer.store.dummies(writer.name) if continuous else frozenset(),
        delta_bytes_since_keyframe=writer.delta_bytes_since_keyframe(),
    )


def _write_epoch(
    store: DatasetStore,
    staging: Staging,
    name: str,
    *,
    expected_epoch: int | None,
    key_version: int,
    pad: bool,
    replace_all: bool,
    created: datetime,
    prepare: Callable[[EpochWriter], None],
    on_progress: ProgressCallback | None = None,
    records: int = 0,
) -> EpochInfo:
    """Apply the staging and store the new epoch in one transaction; return the epoch.

    With `replace_all` (the first epoch, a key rotation) every tag of the dataset is replaced by
    the staged ones, and the index is built from the staging, mostly before the transaction
    begins and the rest alongside it (`_full_index_from_staging`).
    """
    number = 1 if expected_epoch is None else expected_epoch + 1
    staging.index_tags()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-coding") as helper:
        full: Future[_EpochIndex] | None = None
        if replace_all:
            latest = store.latest_epoch(name)
            previous = None if latest is None else latest.params
            full = _full_index_from_staging(staging, previous, helper, pad=pad)
        with store.write(name, expected_epoch=expected_epoch) as writer:
            prepare(writer)
            applied = writer.apply(number, replace_all=replace_all)
            _report(on_progress, BuildPhase.INDEXING, records)
            if full is not None:
                index = full.result()
            else:
                index = _next_index(writer, key_version=key_version, pad=pad)
            _report(on_progress, BuildPhase.COMMITTING, records)
            _insert_epoch(writer, number, key_version, created, index, applied)
    epoch = store.epoch(name, number)
    assert epoch is not None
    return epoch


def _insert_epoch(
    writer: EpochWriter,
    number: int,
    key_version: int,
    created: datetime,
    index: _EpochIndex,
    applied: AppliedCounts,
) -> None:
    writer.insert_epoch(
        NewEpoch(
            epoch=number,
            key_version=key_version,
            created=created,
            record_count=writer.record_count(),
            published=index.published,
            real_count=index.real.count,
            encoded=index.encoded,
            digest=index.digest,
            delta=index.delta,
            keyframe=index.keyframe,
            dummies=index.dummies,
            added=applied.added,
            updated=applied.updated,
            deleted=applied.deleted,
            evaluated=applied.evaluated,
        )
    )


# ---------------------------------------------------------------------------------------------
# Import and rotation.
# ---------------------------------------------------------------------------------------------


def _read_and_evaluate(
    pipeline: _Pipeline,
    store: DatasetStore,
    name: str,
    records: Iterable[SourceRecord | SourceError],
    on_progress: ProgressCallback | None = None,
) -> tuple[int, int]:
    """Stage and evaluate every input record; return how many were read and how many unchanged.

    The worker pool is shut down before this returns, so that it holds no memory or cores
    while the epoch is written.
    """
    unchanged = read = 0
    with pipeline.evaluator:
        batch: list[SourceRecord | SourceError] = []
        for item in records:
            batch.append(item)
            if len(batch) >= _READ_BATCH:
                unchanged += _classify(pipeline, store, name, batch)
                read += len(batch)
                batch = []
                _report(on_progress, BuildPhase.EVALUATING, read)
        unchanged += _classify(pipeline, store, name, batch)
        read += len(batch)
        pipeline.finish()
        _report(on_progress, BuildPhase.EVALUATING, read)
    return read, unchanged


def _rekey_all(
    pipeline: _Pipeline,
    store: DatasetStore,
    name: str,
    total: int,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Stage every record of `name` for re-evaluation and evaluate it (a key rotation).

    `total` is the number of records expected, for progress only. Returns the number read.
    """
    read = 0
    _report(on_progress, BuildPhase.EVALUATING, 0, total)
    with pipeline.evaluator:
        batch: list[tuple[str, str]] = []
        for record in store.iter_record_contents(name):
            batch.append(record)
            if len(batch) >= _READ_BATCH:
                read = _rekey_batch(pipeline, batch, read)
                batch = []
                _report(on_progress, BuildPhase.EVALUATING, read, total)
        read = _rekey_batch(pipeline, batch, read)
        pipeline.finish()
    _report(on_progress, BuildPhase.EVALUATING, read, total)
    return read


def _rekey_batch(pipeline: _Pipeline, batch: Sequence[tuple[str, str]], read: int) -> int:
    """Stage a batch of stored records, then evaluate them; return the records read so far.

    Staging comes first, as for an import (`_classify`): results of an earlier chunk may be
    collected while this batch is submitted, and tags are only accepted for staged records.
    """
    rows: list[_StagedRow] = [
        (record_id, position, Change.REKEY, None, None, None)
        for position, (record_id, _) in enumerate(batch, read + 1)
    ]
    pipeline.stage(rows)
    for position, (record_id, content) in enumerate(batch, read + 1):
        pipeline.evaluate(record_id, position, content)
    return read + len(batch)


def _check_declared(info: DatasetInfo, dataset: Dataset) -> None:
    """Refuse a node.toml whose suite or mode no longer matches the stored dataset."""
    for what, stored, declared in (
        ("suite", info.suite.value.identifier, dataset.suite.value.identifier),
        ("mode", info.mode.name, dataset.mode.name),
    ):
        if stored != declared:
            raise InputError(
                f"node.toml: datasets.{dataset.name}.{what} is {declared!r}, but the dataset was "
                f"created with {stored!r}; the suite and mode of a dataset cannot change "
                "(declare a new dataset instead)"
            )


def _unseal_current(
    store: DatasetStore, name: str, node_id: str, passphrase: bytes
) -> tuple[int, bytes]:
    key = store.current_key(name)
    if key is None:
        raise StorageError(f"dataset {name!r} has no current OPRF key")
    private = unseal_private_key(
        key.sealed_private_key, passphrase, node_id=node_id, dataset=name, key_version=key.version
    )
    return key.version, private


def import_records(
    store: DatasetStore,
    dataset: Dataset,
    records: Iterable[SourceRecord | SourceError],
    *,
    node_id: str,
    passphrase: bytes,
    options: ImportOptions | None = None,
    clock: Callable[[], datetime] = _now,
    on_progress: ProgressCallback | None = None,
    sealing_cost: ScryptCost = DEFAULT_COST,
) -> EpochResult:
    """Import `records` into `dataset` as one new epoch (see the module docstring).

    The first import creates the dataset and its key (sealed under `passphrase`). Records with
    an id already stored are updated (re-evaluated only if their content changed), deletions
    remove records, and an input that changes nothing makes no epoch. The epoch is committed
    unlogged: call `log_epochs` next.

    Raises:
        ImportRejected: some records are invalid and `options.skip_invalid` is off; nothing was
            written.
        InputError: the passphrase is wrong, or node.toml disagrees with the stored dataset.
        StorageError: the database failed, or the dataset changed meanwhile.
    """
    options = options or ImportOptions()
    started = time.perf_counter()
    name = dataset.name
    info = store.dataset(name)
    created = clock()
    if info is not None:
        _check_declared(info, dataset)
        key_version, private_key = _unseal_current(store, name, node_id, passphrase)
        profile = info.profile
        new_key: KeyPair | None = None
    else:
        new_key = generate_key_pair(dataset.suite)
        key_version, private_key, profile = 1, new_key.private_key, DEFAULT_PROFILE
    latest = store.latest_epoch(name)
    expected_epoch = None if latest is None else latest.epoch
    evaluator = Evaluator(
        dataset.suite,
        dataset.mode,
        private_key,
        profile,
        name,
        workers=options.workers,
        chunk_records=options.chunk_records,
    )
    with store.staging() as staging:
        pipeline = _Pipeline(
            staging, evaluator, strict=not options.skip_invalid, max_warnings=options.max_warnings
        )
        read, unchanged = _read_and_evaluate(pipeline, store, name, records, on_progress)
        rejections = pipeline.sorted_rejections()
        if rejections and not options.skip_invalid:
            raise ImportRejected(rejections)
        evaluated_at = time.perf_counter()
        _report(on_progress, BuildPhase.WRITING, read)

        # The key is sealed before the transaction: scrypt takes a quarter of a second, which
        # the database lock need not wait for.
        sealed = (
            None
            if new_key is None
            else seal_private_key(
                new_key.private_key,
                passphrase,
                node_id=node_id,
                dataset=name,
                key_version=1,
                cost=sealing_cost,
            )
        )

        def prepare(writer: EpochWriter) -> None:
            if new_key is not None and sealed is not None:
                writer.create_dataset(dataset.suite, dataset.mode, profile, created)
                writer.add_key(1, sealed, new_key.public_key, created)

        epoch = None
        if staging.change_count() > 0 or info is None:
            epoch = _write_epoch(
                store,
                staging,
                name,
                expected_epoch=expected_epoch,
                key_version=key_version,
                pad=dataset.pad_to_bucket,
                replace_all=latest is None,
                created=created,
                prepare=prepare,
                on_progress=on_progress,
                records=read,
            )
    finished = time.perf_counter()
    return EpochResult(
        dataset=name,
        epoch=epoch,
        added=0 if epoch is None else epoch.added,
        updated=0 if epoch is None else epoch.updated,
        deleted=0 if epoch is None else epoch.deleted,
        unchanged=unchanged,
        keys_evaluated=pipeline.keys_evaluated,
        records_evaluated=pipeline.records_evaluated,
        rejections=rejections,
        warnings=tuple(pipeline.warnings),
        warning_count=pipeline.warning_count,
        created_dataset=info is None,
        timings={
            "read_and_evaluate": evaluated_at - started,
            "write": finished - evaluated_at,
            "total": finished - started,
        },
    )


def rotate_key(
    store: DatasetStore,
    dataset: Dataset,
    *,
    node_id: str,
    passphrase: bytes,
    workers: int | None = None,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    clock: Callable[[], datetime] = _now,
    on_progress: ProgressCallback | None = None,
    sealing_cost: ScryptCost = DEFAULT_COST,
) -> EpochResult:
    """Replace the dataset's OPRF key: re-evaluate every record into a new epoch.

    The current key is unsealed first, which proves the passphrase: the new key is sealed under
    the same one. In one transaction the new key is stored, the old one retired, every tag
    replaced and the new epoch (a keyframe, with fresh dummies) committed, unlogged: call
    `log_epochs` next, which logs `key_rotated` before the epoch.

    Raises:
        InputError: no data yet, a wrong passphrase, or node.toml disagrees with the dataset.
        StorageError: a stored record no longer gives keys, or the database failed.
    """
    started = time.perf_counter()
    name = dataset.name
    info = store.dataset(name)
    latest = store.latest_epoch(name)
    if info is None or latest is None:
        raise InputError(f"dataset {name!r} has no data yet: there is no key to rotate")
    _check_declared(info, dataset)
    old_version, _ = _unseal_current(store, name, node_id, passphrase)
    new_key = generate_key_pair(info.suite)
    new_version = old_version + 1
    created = clock()
    sealed = seal_private_key(
        new_key.private_key,
        passphrase,
        node_id=node_id,
        dataset=name,
        key_version=new_version,
        cost=sealing_cost,
    )
    evaluator = Evaluator(
        info.suite,
        info.mode,
        new_key.private_key,
        info.profile,
        name,
        workers=workers,
        chunk_records=chunk_records,
    )
    with store.staging() as staging:
        pipeline = _Pipeline(staging, evaluator, strict=True, max_warnings=0)
        read = _rekey_all(pipeline, store, name, latest.record_count, on_progress)
        if pipeline.rejections:
            first = pipeline.sorted_rejections()[0]
            raise StorageError(
                f"dataset {name!r}: {len(pipeline.rejections)} stored record(s) no longer give "
                f"match keys under profile {info.profile} (record {first.line} in storage "
                f"order: {first.reason}); the key was not rotated"
            )
        evaluated_at = time.perf_counter()
        _report(on_progress, BuildPhase.WRITING, read, latest.record_count)

        def prepare(writer: EpochWriter) -> None:
            writer.add_key(new_version, sealed, new_key.public_key, created)
            writer.retire_key(old_version, created)

        epoch = _write_epoch(
            store,
            staging,
            name,
            expected_epoch=latest.epoch,
            key_version=new_version,
            pad=dataset.pad_to_bucket,
            replace_all=True,
            created=created,
            prepare=prepare,
            on_progress=on_progress,
            records=read,
        )
    finished = time.perf_counter()
    return EpochResult(
        dataset=name,
        epoch=epoch,
        keys_evaluated=pipeline.keys_evaluated,
        records_evaluated=pipeline.records_evaluated,
        unchanged=epoch.record_count,
        timings={
            "read_and_evaluate": evaluated_at - started,
            "write": finished - evaluated_at,
            "total": finished - started,
        },
    )


# ---------------------------------------------------------------------------------------------
# Audit.
# ---------------------------------------------------------------------------------------------


def log_epochs(
    store: DatasetStore, audit: AuditLog, node_id: str, *, clock: Callable[[], datetime] = _now
) -> list[EpochInfo]:
    """Log every committed but unlogged epoch, oldest first, and mark each one published.

    An epoch whose key differs from its predecessor's is preceded by a `key_rotated` entry
    holding SHA-256 of the new public key; both are appended in one durable batch. The entries
    hold the dataset name, epoch, record count and digests only, never a record value.
    """
    logged: list[EpochInfo] = []
    for epoch in store.unlogged_epochs():
        now = clock()
        entries: list[AuditEntry] = []
        previous = store.epoch(epoch.dataset, epoch.epoch - 1)
        if previous is not None and previous.key_version != epoch.key_version:
            key = next(k for k in store.keys(epoch.dataset) if k.version == epoch.key_version)
            entries.append(
                AuditEntry(
                    kind=EntryKind.KEY_ROTATED,
                    time=now,
                    node=node_id,
                    dataset=epoch.dataset,
                    key_fingerprint=hashlib.sha256(key.public_key).digest(),
                )
            )
        entries.append(
            AuditEntry(
                kind=EntryKind.DATASET_EPOCH_PUBLISHED,
                time=now,
                node=node_id,
                dataset=epoch.dataset,
                epoch=epoch.epoch,
                element_count=epoch.record_count,
                index_digest=epoch.index_digest,
            )
        )
        indexes = audit.append_many(entries)
        store.mark_logged(epoch.dataset, epoch.epoch, indexes[-1])
        updated = store.epoch(epoch.dataset, epoch.epoch)
        assert updated is not None
        logged.append(updated)
    return logged
