"""Benchmark of the member node over gRPC with mutual TLS on loopback, as ratios in one run.

Measures, on this machine: the raw ristretto255 scalar-multiplication rate on all cores (one
thread per core calling libsodium, which releases the interpreter lock); the rate of blind
evaluation served over gRPC + mTLS with batches of 256 from concurrent clients, as a ratio to
that raw rate (clients and server share the same cores, so the client's own work counts against
the ratio); the latency of a one-person check; and a 300-person manifest against a node whose
index holds the tags of N records (default 1,000,000), after the index is synced.

The owner's dataset is held in memory (`dev.memory_dataset`): the served path is the same as
with the SQLite store, whose import and index build `bench/index_build.py` measures. For the
large index, the tags of the N records are drawn at random (uniform, as OPRF outputs are), with
the planted records' real tags among them; building them through the OPRF would measure the
index build, not the check.

Usage: python bench/node.py [--quick] [--records N]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file, the repository root takes the place of this folder on sys.path so that the
    # project's packages are found first.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import rbcl  # imported after the path is set

from dev.localnet import LocalNode, allow, create_local_nodes, introduce
from dev.memory_dataset import MemoryDataset
from dev.synthetic import synthetic_people
from node.config import Dataset
from node.owner.match_service import MatchService
from node.owner.peer_server import create_server
from node.querier.checker import Target
from node.querier.peer_client import PeerClient
from node.runtime import NodeRuntime
from protocol.check import RequestPurpose

PASSPHRASE_ENV = "BLINDHIT_BENCH_PASSPHRASE"  # noqa: S105 (the name of a variable)
PURPOSE = RequestPurpose("bench-officer", "benchmark", "bench:none", "BENCH-1")
BATCH = 256
# Synthetic person records give about ten match keys each (names, dates, document).
KEYS_PER_RECORD = 10


def raw_rate_all_cores(seconds: float) -> float:
    """Scalar multiplications per second with one thread per core."""
    sodium = rbcl._sodium
    scalar = rbcl.crypto_core_ristretto255_scalar_random()
    point = rbcl.crypto_core_ristretto255_random()
    counts: list[int] = []
    stop = time.perf_counter() + seconds

    def spin() -> None:
        out = ctypes.create_string_buffer(32)
        mult = sodium.crypto_scalarmult_ristretto255
        done = 0
        while time.perf_counter() < stop:
            for _ in range(200):
                mult(out, scalar, point)
            done += 200
        counts.append(done)

    threads = [threading.Thread(target=spin) for _ in range(os.cpu_count() or 1)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - start)


@contextmanager
def owner_and_querier(
    root: Path, dataset: MemoryDataset
) -> Iterator[tuple[NodeRuntime, LocalNode]]:
    owner, querier = create_local_nodes(
        root, [("owner-node", "FRA"), ("querier-node", "ESP")], PASSPHRASE_ENV
    )
    allow(owner, [querier], [Dataset(dataset.name)], daily_quota=10**12)
    runtime = NodeRuntime.open(owner.root)
    service = MatchService(
        runtime.config,
        dataset,
        runtime.policy,
        runtime.audit,
        runtime.checkpoints,
        runtime.identity,
    )
    server, port = create_server(runtime.config, runtime.tls, service, port=0, workers=32)
    server.start()
    introduce(querier, owner, port)
    try:
        yield runtime, querier
    finally:
        server.stop(grace=None).wait()
        runtime.close()


def served_rate(
    querier: NodeRuntime, dataset: MemoryDataset, clients: int, seconds: float
) -> float:
    peer = querier.config.peers[0]
    elements = [rbcl.crypto_core_ristretto255_random() for _ in range(BATCH)]
    done: list[int] = []
    stop = time.perf_counter() + seconds

    def client() -> None:
        count = 0
        with PeerClient(
            querier.config.node.id, querier.identity, querier.tls, peer, querier.config.limits
        ) as channel:
            while time.perf_counter() < stop:
                channel.blind_evaluate(dataset.name, 1, elements, PURPOSE)
                count += BATCH
        done.append(count)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - start)


def latencies(
    querier: NodeRuntime, dataset: str, probes: Sequence[dict[str, object]], runs: int
) -> list[float]:
    checker = querier.querier()
    target = [Target("owner-node", dataset)]
    checker.check(probes, target, PURPOSE)  # sync the index and open the channel first
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        [result] = checker.check(probes, target, PURPOSE)
        times.append(time.perf_counter() - start)
        if result.status != "answered":
            raise SystemExit(f"check failed: {result.message}")
    return times


def _line(label: str, figure: str) -> None:
    print(f"{label:<54} {figure}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--records", type=int, default=1_000_000, help="records of the large node")
    args = parser.parse_args(argv)
    os.environ.setdefault(PASSPHRASE_ENV, "benchmark passphrase")
    seconds = 1.0 if args.quick else 6.0
    records = 2000 if args.quick else args.records
    print(f"blindhit node benchmark: {os.cpu_count()} CPUs, gRPC + mutual TLS on loopback\n")
    raw = raw_rate_all_cores(seconds)
    _line("raw scalar mult, all cores", f"{raw:>12,.0f}/s")
    people = list(synthetic_people(300, seed=7))
    with tempfile.TemporaryDirectory() as scratch:
        small = MemoryDataset("watchlist", people[:50])
        with (
            owner_and_querier(Path(scratch) / "small", small) as (_, querier_node),
            NodeRuntime.open(querier_node.root) as querier,
        ):
            for clients in (1, 4, 16):
                rate = served_rate(querier, small, clients, seconds)
                label = f"served BlindEvaluate, batch {BATCH}, {clients} clients"
                _line(label, f"{rate:>12,.0f}/s {rate / raw * 100:6.1f} % of raw")
            times = sorted(latencies(querier, "watchlist", people[:1], 10 if args.quick else 200))
            p50, p90 = statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000
            _line(
                "one-person check, p50 / p90", f"{p50:9.2f} ms / {p90:.2f} ms  target p50 <= 5 ms"
            )
        # The large node: random tags for N records' keys, the manifest's people among them.
        extra = [os.urandom(32) for _ in range(records * KEYS_PER_RECORD)]
        large = MemoryDataset("watchlist", people[::3], extra_tags=extra)
        del extra
        with (
            owner_and_querier(Path(scratch) / "large", large) as (_, querier_node),
            NodeRuntime.open(querier_node.root) as querier,
        ):
            start = time.perf_counter()
            querier.querier().check(people[:1], [Target("owner-node", "watchlist")], PURPOSE)
            sync = time.perf_counter() - start
            per_tag = len(large.index.encode()) / large.index.count
            label = f"index sync, {records:,} records ({large.index.count:,} tags)"
            _line(label, f"{sync:9.2f} s    {per_tag:.2f} bytes per tag")
            times = latencies(querier, "watchlist", people, 3)
            label = "300-person manifest after sync, median of 3"
            _line(label, f"{statistics.median(times):9.3f} s    target <= 0.5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
