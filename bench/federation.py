"""Benchmark of a fan-out check: a 300-person manifest against 10 and 50 member nodes.

Every member is a real `blindhit serve` process with its own SQLite database, the coordinating
node a real `blindhit federation serve`, all on this machine's loopback, built by the demo's own
code (`dev.demo.running_federation`) with small datasets. The querier checks through the
coordinating node (`check --all`: index syncs relayed, then one fan-out call) from this process,
after a first check has synced every index, as a querier normally does.

All nodes share this machine's cores, so the wall time mostly measures how much work there is;
the figure that matters is the ratio of the raw group operations the check needs to the wall
time: each probe element's hash-to-group and blinding scalar multiplication (once: the blinds
serve every owner), then per member the owner's evaluation and the querier's unblinding, timed
through libsodium on all cores in the same run, before the nodes start. Printed per federation
size: members, elements, wall time of the
check, the raw work it needed on all cores, and the ratio (target >= 50 %).

Usage: python bench/federation.py [--members 10 50] [--records N] [--quick]
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file, this script's folder comes first on sys.path, where `bench/crypto.py` would
    # hide the `crypto` package; the repository root takes that place.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import rbcl

from dev.demo import QUERIER, DemoFederation, Member, running_federation
from dev.synthetic import synthetic_people
from federation.fanout import MAX_DEADLINE_MS
from node.config import load_config, update_config
from node.home import NodeLayout
from node.querier.checker import Target
from node.runtime import NodeRuntime
from protocol.admission import QueryMode
from protocol.check import RequestPurpose
from protocol.match_keys import derive_keys

PURPOSE = RequestPurpose("de-of-17", "border-check", "EU-2016/680:Art.8", "BENCH-FED")
# ISO 3166-1 alpha-3 codes for the invented members.
COUNTRIES = (
    "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "GRC", "HUN", "IRL",
    "ITA", "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE",
    "NOR", "ISL", "CHE", "GBR", "UKR", "MDA", "GEO", "ARM", "TUR", "JOR", "EGY", "MAR", "TUN",
    "DZA", "LBN", "ISR", "SRB", "ALB", "MKD", "MNE", "BIH", "AND", "MCO", "SMR", "NZL",
)  # fmt: skip


def raw_operation_rate(seconds: float = 2.0) -> tuple[float, float]:
    """(hash-to-group + scalar mult per second, scalar mult per second), on all cores."""
    sodium = rbcl._sodium  # the library's own ctypes handle: the raw rate, no wrapper
    scalar = rbcl.crypto_core_ristretto255_scalar_random()
    point = rbcl.crypto_core_ristretto255_random()
    uniform = os.urandom(64)
    counts: dict[str, list[int]] = {"map": [], "mult": []}

    def spin(kind: str, stop: float) -> None:
        out = ctypes.create_string_buffer(32)
        done = 0
        while time.perf_counter() < stop:
            for _ in range(100):
                if kind == "map":
                    sodium.crypto_core_ristretto255_from_hash(out, uniform)
                else:
                    sodium.crypto_scalarmult_ristretto255(out, scalar, point)
            done += 100
        counts[kind].append(done)

    rates = {}
    for kind in ("map", "mult"):
        stop = time.perf_counter() + seconds / 2
        threads = [
            threading.Thread(target=spin, args=(kind, stop)) for _ in range(os.cpu_count() or 1)
        ]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rates[kind] = sum(counts[kind]) / (time.perf_counter() - start)
    return rates["map"], rates["mult"]


def manifest(count: int) -> list[dict[str, object]]:
    people = list(synthetic_people(count, seed=4242, prefix="PAX"))
    return [{k: v for k, v in person.items() if k != "id"} for person in people]


def run(size: int, records: int, probes: list[dict[str, object]], out: io.StringIO) -> None:
    members = [
        Member(f"m{n:02d}-{COUNTRIES[n % len(COUNTRIES)].lower()}", COUNTRIES[n % len(COUNTRIES)],
               records)
        for n in range(size)
    ]  # fmt: skip
    members.append(Member(QUERIER, "DEU", 50))
    # The ceiling is measured before the nodes start: once they run, their timers (directory
    # refresh, witness) share the cores, and a ceiling measured among them would flatter us.
    rates = raw_operation_rate()
    with tempfile.TemporaryDirectory(prefix="blindhit-bench-fed-") as root:
        setup = time.perf_counter()
        # Members refresh every 30 s, as a real federation would (the demo's 1 s, times fifty
        # members on two cores, would be load of its own).
        with running_federation(
            Path(root), out, members=members, refresh_seconds=30.0
        ) as federation:
            setup = time.perf_counter() - setup
            measure(federation, size, probes, setup, rates)


def measure(
    federation: DemoFederation,
    size: int,
    probes: list[dict[str, object]],
    setup: float,
    rates: tuple[float, float],
) -> None:
    elements = sum(len(derive_keys(p).keys) for p in probes)
    # Fifty owners share two cores here, where each would have its own machine: the querier
    # allows each answer the coordinating node's longest deadline instead of the default 10 s.
    layout = NodeLayout(federation.node_dir(QUERIER))
    config = load_config(layout.config)
    patient = dataclasses.replace(
        config, limits=dataclasses.replace(config.limits, deadline_seconds=MAX_DEADLINE_MS / 1000)
    )
    update_config(layout.config, patient)
    with NodeRuntime.open(federation.node_dir(QUERIER)) as runtime:
        runtime.refresh_membership()
        assert runtime.membership is not None
        targets = [Target(m, "watchlist") for m in runtime.membership.members_offering("watchlist")]
        querier = runtime.querier()
        first = querier.check(probes, targets, PURPOSE, QueryMode.INDEX, relayed=True)
        assert all(r.status == "answered" for r in first), [r.message for r in first]
        walls = []
        for _ in range(3):
            start = time.perf_counter()
            results = querier.check(probes, targets, PURPOSE, QueryMode.INDEX, relayed=True)
            walls.append(time.perf_counter() - start)
            assert all(r.status == "answered" for r in results)
        calls = querier.last_batch.calls if querier.last_batch else 0
    wall = sorted(walls)[1]
    map_rate, mult_rate = rates
    total = elements * size
    # The work a check needs: each element mapped and blinded once (the blinds serve every
    # owner), then per owner its evaluation and the querier's unblinding.
    raw_seconds = elements / map_rate + elements / mult_rate + 2 * total / mult_rate
    print(
        f"{size:>3} members   {total:>8,} elements   setup {setup:6.1f} s   "
        f"check {wall:6.2f} s (median of 3, {calls} fan-out call)   "
        f"raw work {raw_seconds:5.2f} s   {raw_seconds / wall:6.1%} of raw   target >= 50 %",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--records", type=int, default=300, help="people per member (300)")
    parser.add_argument("--quick", action="store_true", help="3 members, 30 probes: a smoke run")
    args = parser.parse_args(argv)
    sizes = [3] if args.quick else args.members
    probes = manifest(30 if args.quick else 300)
    records = 50 if args.quick else args.records
    print(f"blindhit federation benchmark: {os.cpu_count()} CPUs, every node its own process")
    print(f"{len(probes)}-person manifest, {records} people per member, checked with --all\n")
    out = io.StringIO()
    for size in sizes:
        run(size, records, probes, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
