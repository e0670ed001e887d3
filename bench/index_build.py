"""Benchmark of building a dataset's match index, as ratios to the raw group-operation rate.

The ceiling is measured in the same run, in the same pool layout as the build (one `spawn`
process per worker, all started before timing): each worker loops over libsodium's
`crypto_core_ristretto255_from_hash` and `crypto_scalarmult_ristretto255`, the two C calls that
RFC 9497 Evaluate cannot avoid per key, on precomputed 64-byte strings. Everything else an index
build does (expand_message_xmd, the Finalize hash, deriving the match keys, framing the OPRF
input, storing tags, coding the index) is counted against that ceiling.

Printed:

- the raw hash-to-group + scalar-mult rate on all workers;
- the index build of N synthetic people through the real import (`node.datasets.build`): records
  in, match keys derived, evaluated on the pool, tags stored in SQLite, index coded, digested and
  logged; keys/s and the ratio to the ceiling, with the phases apart;
- OPRF evaluation alone on the same pool (`evaluate_inputs` on ready inputs, a sample), which is
  the part of the build the ceiling bounds, and its ratio;
- key derivation alone on one core (a sample), to show where the rest goes;
- the wire size per key of the published index;
- an incremental epoch that changes 1 % of the records: time, delta size;
- peak memory (maximum resident set) of this process and of the workers.

Usage: python bench/index_build.py [--records N] [--quick] [--workers N]
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a file, this script's folder comes first on sys.path, where its own name would hide
    # the `node.datasets.build` module's package siblings; the repository root takes that place.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import rbcl  # imported after the path is set

from crypto.oprf import Mode, Suite, generate_key_pair
from dev.synthetic import synthetic_people
from node.audit.store import AuditLog
from node.config import Dataset
from node.datasets.build import EpochResult, ImportOptions, import_records, log_epochs
from node.datasets.evaluator import available_cores, evaluate_inputs
from node.datasets.sources import SourceRecord
from node.datasets.store import DatasetStore
from node.keys.sealed import ScryptCost
from protocol.match_keys import DEFAULT_PROFILE, derive_keys, oprf_input

NODE = "bench-node"
PASSPHRASE = b"benchmark passphrase"
DATASET = "persons"
# Evaluation alone and derivation alone are measured on samples of this many records.
SAMPLE_RECORDS = 20_000


def raw_group_operations(count: int) -> float:
    """Run `count` hash-to-group + scalar-mult C calls; return the seconds they took."""
    sodium = rbcl._sodium
    from_hash = sodium.crypto_core_ristretto255_from_hash
    scalarmult = sodium.crypto_scalarmult_ristretto255
    uniform = [os.urandom(64) for _ in range(1024)]
    scalar = bytes([7]) + bytes(31)
    point = ctypes.create_string_buffer(32)
    product = ctypes.create_string_buffer(32)
    start = time.perf_counter()
    for position in range(count):
        from_hash(point, uniform[position & 1023])
        scalarmult(product, scalar, point)
    return time.perf_counter() - start


def evaluate_chunk(private_key: bytes, inputs: list[bytes]) -> int:
    """Evaluate ready OPRF inputs (ristretto255, OPRF mode); return how many."""
    return len(evaluate_inputs(Suite.RISTRETTO255_SHA512, Mode.OPRF, private_key, inputs))


def worker_peak_kib(_: int) -> int:
    """The peak resident set of the worker process that runs this, in KiB.

    Read inside the worker: the parent's RUSAGE_CHILDREN would also count the moment between
    fork and exec, when a child still shares the parent's whole image.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def pool(workers: int) -> ProcessPoolExecutor:
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    # Start every worker before anything is timed.
    list(executor.map(raw_group_operations, [10] * workers))
    return executor


def raw_rate(executor: ProcessPoolExecutor, workers: int, per_worker: int) -> float:
    start = time.perf_counter()
    list(executor.map(raw_group_operations, [per_worker] * workers))
    return workers * per_worker / (time.perf_counter() - start)


def as_source(people: Iterator[dict[str, Any]]) -> Iterator[SourceRecord]:
    for line, person in enumerate(people, 1):
        fields = dict(person)
        record_id = fields.pop("id")
        yield SourceRecord(line, record_id, fields, {"person_status": "wanted"})


def sample_inputs(records: int) -> list[bytes]:
    return [
        oprf_input(DEFAULT_PROFILE, DATASET, key)
        for person in synthetic_people(records, seed=11)
        for key in derive_keys(person).keys
    ]


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


@dataclass
class Figures:
    """What one run measured."""

    records: int
    workers: int
    raw_rates: tuple[float, float] = (0.0, 0.0)
    evaluate_rate: float = 0.0
    derive_per_key: float = 0.0
    build_seconds: float = 0.0
    build: EpochResult | None = None
    changed: int = 0
    update_seconds: float = 0.0
    update: EpochResult | None = None
    database_bytes: int = 0
    worker_kib: int = 0


def measure_components(executor: ProcessPoolExecutor, figures: Figures) -> None:
    """OPRF evaluation alone on the pool, and key derivation alone on one core (samples)."""
    sample = min(figures.records, SAMPLE_RECORDS)
    inputs = sample_inputs(sample)
    key = generate_key_pair(Suite.RISTRETTO255_SHA512).private_key
    chunks = [inputs[i : i + 2048] for i in range(0, len(inputs), 2048)]
    start = time.perf_counter()
    evaluated = sum(executor.map(evaluate_chunk, [key] * len(chunks), chunks))
    figures.evaluate_rate = evaluated / (time.perf_counter() - start)
    start = time.perf_counter()
    derived = sum(len(derive_keys(p).keys) for p in synthetic_people(sample // 4, seed=13))
    figures.derive_per_key = (time.perf_counter() - start) / derived


def measure_build(figures: Figures) -> None:
    """The real import of the records, then an epoch that changes 1 % of them."""
    with tempfile.TemporaryDirectory(prefix="blindhit-bench-") as directory:
        database = Path(directory) / "node.db"
        dataset = Dataset(DATASET, pad_to_bucket=True)
        options = ImportOptions(workers=figures.workers)
        with DatasetStore(database) as store, AuditLog(database) as audit:
            start = time.perf_counter()
            figures.build = import_records(
                store,
                dataset,
                as_source(synthetic_people(figures.records)),
                node_id=NODE,
                passphrase=PASSPHRASE,
                options=options,
                sealing_cost=ScryptCost(log2_n=14),
            )
            log_epochs(store, audit, NODE)
            figures.build_seconds = time.perf_counter() - start
            figures.changed = max(1, figures.records // 100)
            changed = (
                dict(person, date_of_birth="1970-02-03")
                for person in synthetic_people(figures.changed)
            )
            start = time.perf_counter()
            figures.update = import_records(
                store,
                dataset,
                as_source(changed),
                node_id=NODE,
                passphrase=PASSPHRASE,
                options=options,
            )
            log_epochs(store, audit, NODE)
            figures.update_seconds = time.perf_counter() - start
        figures.database_bytes = sum(p.stat().st_size for p in Path(directory).glob("node.db*"))


def report(figures: Figures) -> None:
    build, update = figures.build, figures.update
    assert build is not None
    assert update is not None
    first, second = build.epoch, update.epoch
    assert first is not None
    assert second is not None
    before, after = figures.raw_rates
    # The machine is shared: the better of the two measurements is the ceiling, which makes
    # every ratio below conservative.
    raw = max(before, after)
    keys = build.keys_evaluated
    build_rate = keys / figures.build_seconds
    phase_seconds = build.timings["read_and_evaluate"]
    phase_rate = keys / phase_seconds
    per_call = 1e6 * figures.workers / raw
    print(
        f"raw hash-to-group + scalar-mult   {raw:>10,.0f} /s       "
        f"(before {before:,.0f}, after {after:,.0f}; {per_call:.1f} µs per call per worker)"
    )
    print(
        f"OPRF evaluation alone (sample)    {figures.evaluate_rate:>10,.0f} keys/s  "
        f"{figures.evaluate_rate / raw:6.1%} of raw"
    )
    print(
        f"key derivation alone, one core    {1 / figures.derive_per_key:>10,.0f} keys/s  "
        f"({figures.derive_per_key * 1e6:.1f} µs per key)"
    )
    print(
        f"index build of {figures.records:,} records: {keys:,} keys "
        f"({keys / figures.records:.1f} per record)"
    )
    print(
        f"  whole build                     {build_rate:>10,.0f} keys/s  "
        f"{build_rate / raw:6.1%} of raw  {figures.build_seconds:8.1f} s  "
        "(derive, evaluate, store, index, digest, log)"
    )
    print(
        f"  read + derive + evaluate phase  {phase_rate:>10,.0f} keys/s  "
        f"{phase_rate / raw:6.1%} of raw  {phase_seconds:8.1f} s"
    )
    print(
        f"  write phase, one transaction    {'':>10}                       "
        f"{build.timings['write']:8.1f} s"
    )
    print(
        f"wire size: {first.index_size:,} bytes for {first.key_count:,} distinct keys, "
        f"{first.index_size / first.key_count:.3f} bytes per key "
        f"({first.published_count:,} entries with padding, capacity {first.params.capacity:,})"
    )
    delta = second.delta_size or 0
    print(
        f"incremental epoch, {figures.changed:,} records changed (1 %): "
        f"{figures.update_seconds:.2f} s, {update.keys_evaluated:,} keys evaluated, "
        f"delta {delta:,} bytes ({delta / figures.changed:.1f} bytes per changed record)"
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"peak memory (max RSS): this process {mib(own)}, "
        f"an evaluating worker {mib(figures.worker_kib)}; "
        f"database {figures.database_bytes / 2**20:,.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="2,000 records, a quick check")
    parser.add_argument("--workers", type=int, default=available_cores())
    args = parser.parse_args(argv)
    figures = Figures(records=2_000 if args.quick else args.records, workers=args.workers)
    raw_calls = 2_000 if args.quick else 60_000
    print(
        f"index build benchmark: {figures.records:,} synthetic people, "
        f"{figures.workers} worker processes (spawn)"
    )
    with pool(figures.workers) as executor:
        before = raw_rate(executor, figures.workers, raw_calls)
        measure_components(executor, figures)
        measure_build(figures)
        after = raw_rate(executor, figures.workers, raw_calls)
        figures.worker_kib = max(executor.map(worker_peak_kib, range(figures.workers)))
    figures.raw_rates = (before, after)
    report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
