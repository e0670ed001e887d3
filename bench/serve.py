"""Benchmark of a node served from its own database by `blindhit serve`, in its own process.

The owner imports N synthetic people through the real import (match keys derived, evaluated on
all cores, tags stored in SQLite, epoch logged), then runs `blindhit serve` as a child process on
loopback with mutual TLS. A querier node, from this process, checks against it through the real
client: one index sync (the full index), a 300-person manifest, one person at a time, the same
manifest in owner-match mode. The budget checked here is memory: a node serving 10,000,000 index
tags must stay within 2 GiB. Printed:

- the tags the owner serves and the size of its published index;
- the serving process's resident memory when idle after start, after serving the full index,
  and its peak (`VmHWM`, the kernel's high-water mark, which no sampling can miss);
- the time of the sync and of the checks (as an operator sees them, through `NodeRuntime`).

The default N (850,000 people) gives about 10.3 million tags. `--quick` runs 2,000 people.

Usage: python bench/serve.py [--records N] [--quick] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a file, this script's folder comes first on sys.path, where `bench/crypto.py` would
    # hide the `crypto` package; the repository root takes that place.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from dev.localnet import LocalNode, allow, create_local_nodes, introduce
from dev.synthetic import synthetic_people
from node.audit.store import AuditLog
from node.config import Dataset
from node.datasets.build import ImportOptions, import_records, log_epochs
from node.datasets.evaluator import available_cores
from node.datasets.sources import SourceRecord
from node.datasets.store import DatasetStore
from node.querier.checker import Target
from node.runtime import NodeRuntime
from protocol.admission import QueryMode
from protocol.check import RequestPurpose

REPOSITORY = Path(__file__).resolve().parents[1]
PASSPHRASE_ENV = "BLINDHIT_BENCH_SERVE_PASSPHRASE"  # noqa: S105 (a variable name)
DATASET = "watchlist"
MEMORY_BUDGET = 2 << 30
PURPOSE = RequestPurpose("of-17", "border-check", "EU-2016/680:Art.8", "BENCH-1")


def as_source(people: Iterator[dict[str, Any]]) -> Iterator[SourceRecord]:
    for line, person in enumerate(people, 1):
        fields = dict(person)
        record_id = fields.pop("id")
        yield SourceRecord(line, record_id, fields, {"person_status": "wanted"})


def import_people(owner: LocalNode, records: int, workers: int) -> tuple[int, int, float]:
    """Import `records` people into the owner's dataset; return (tags, index bytes, seconds)."""
    config = owner.config()
    start = time.perf_counter()
    with DatasetStore(config.node.database) as store, AuditLog(config.node.database) as audit:
        result = import_records(
            store,
            Dataset(DATASET),
            as_source(synthetic_people(records, seed=5)),
            node_id=config.node.id,
            passphrase=config.keys.read_passphrase(),
            options=ImportOptions(workers=workers),
        )
        log_epochs(store, audit, config.node.id)
    epoch = result.epoch
    assert epoch is not None
    return epoch.published_count, epoch.index_size, time.perf_counter() - start


def memory(pid: int) -> tuple[int, int]:
    """(resident, peak resident) bytes of process `pid`, from /proc."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def start_serving(owner: LocalNode) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(  # noqa: S603 (our own command line, no shell)
        [sys.executable, "-m", "cli.main", "serve", "--node", str(owner.root), "--port", "0"],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 300)
    line = process.stdout.readline() if ready else ""
    if " listening on " not in line:
        process.kill()
        raise SystemExit(f"bench: blindhit serve did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def run_checks(querier: LocalNode, owner: LocalNode, pid: int) -> None:
    """Check from the querier as an operator would, through `NodeRuntime`."""
    manifest = list(synthetic_people(300, seed=5))[:150] + list(
        synthetic_people(150, seed=99, prefix="Q")
    )
    target = [Target(owner.node_id, DATASET)]
    with NodeRuntime.open(querier.root) as runtime:
        check = runtime.querier()
        start = time.perf_counter()
        result = check.check(manifest, target, PURPOSE)[0]
        first = time.perf_counter() - start
        assert result.status == "answered", result.message
        hits = sum(outcome.hit for outcome in result.outcomes)
        _line("first 300-person manifest (full index sync)", f"{first:.2f} s",
              f"{hits} probes hit")  # fmt: skip
        synced, _ = memory(pid)
        _line("serving process, resident after the full sync", f"{synced / 2**20:,.0f} MiB")
        start = time.perf_counter()
        check.check(manifest, target, PURPOSE)
        _line("300-person manifest after sync", f"{time.perf_counter() - start:.3f} s",
              "target <= 0.5 s")  # fmt: skip
        times = []
        for person in manifest[:50]:
            start = time.perf_counter()
            check.check([person], target, PURPOSE)
            times.append(time.perf_counter() - start)
        times.sort()
        _line("one-person check, p50", f"{times[len(times) // 2] * 1000:.2f} ms",
              "target <= 5 ms")  # fmt: skip
        start = time.perf_counter()
        owner_match = check.check(manifest, target, PURPOSE, QueryMode.OWNER_MATCH)[0]
        assert owner_match.status == "answered", owner_match.message
        _line("300-person manifest, owner-match mode", f"{time.perf_counter() - start:.3f} s")


def _line(label: str, figure: str, note: str = "") -> None:
    print(f"{label:<52} {figure:>18}  {note}".rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=850_000)
    parser.add_argument("--quick", action="store_true", help="2,000 people: a smoke run")
    parser.add_argument("--workers", type=int, default=available_cores())
    args = parser.parse_args(argv)
    records = 2_000 if args.quick else args.records
    os.environ.setdefault(PASSPHRASE_ENV, "bench serve passphrase")
    print(f"blindhit serve benchmark: {os.cpu_count()} CPUs, `blindhit serve` in its own process")
    print()
    with tempfile.TemporaryDirectory(prefix="blindhit-bench-serve-") as tmp:
        owner, querier = create_local_nodes(
            Path(tmp), [("fr-ct", "FRA"), ("de-bka", "DEU")], PASSPHRASE_ENV
        )
        allow(owner, [querier], [Dataset(DATASET)], daily_quota=10**12)
        tags, index_bytes, seconds = import_people(owner, records, args.workers)
        _line(f"import of {records:,} people, {args.workers} workers", f"{seconds:.1f} s")
        _line("tags served", f"{tags:,}", f"index {index_bytes / tags:.2f} bytes per tag")
        process, port = start_serving(owner)
        try:
            introduce(querier, owner, port)
            time.sleep(0.5)
            idle, _ = memory(process.pid)
            _line("serving process, resident when idle", f"{idle / 2**20:,.0f} MiB")
            run_checks(querier, owner, process.pid)
            resident, peak = memory(process.pid)
            verdict = "met" if peak <= MEMORY_BUDGET else "MISSED"
            _line("serving process, resident at the end", f"{resident / 2**20:,.0f} MiB")
            _line("serving process, peak resident (VmHWM)", f"{peak / 2**20:,.0f} MiB",
                  f"target <= 2,048 MiB at 10^7 tags: {verdict}")  # fmt: skip
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
