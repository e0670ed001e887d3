"""Benchmark of the audit log: durable appends, verification of a large export, proof sizes.

Figures, each against its target in the design (docs/promises.md, "Numbers"):

- durable appends per second with 16 concurrent appender threads, each waiting until its entry
  is committed with `synchronous=FULL` (group commit), with p50 and p99 latency (target: at
  least 5,000 per second);
- the time to build, export and verify (offline, every hash) a log of 1,000,000 entries (target
  for verification: at most 30 s);
- the sizes of an inclusion receipt and a consistency proof at that size.

The large log is built through the same writer and commit path as single appends, with large
batches so that building it does not dominate the run. The machine is shared and noisy, so
durable-append figures are the best of a few repeats.

Usage: python bench/audit.py [--quick] [--entries N] [--appenders N] [--appends N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The repository root is put on the path first, so the benchmark runs from a fresh clone.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crypto.signed_note import Ed25519Signer
from node.audit.checkpoints import CheckpointIssuer
from node.audit.entries import (
    AuditEntry,
    Decision,
    EntryKind,
    digest_request,
    encode_entry,
)
from node.audit.export import export_log
from node.audit.receipts import ConsistencyProof, issue_receipt
from node.audit.store import AuditLog
from node.audit.verify import verify_export

ORIGIN = "bench.node"
BULK_BATCH = 50_000
# Distinct entries cycled through when building the large log; encoding still runs per append.
ENTRY_POOL = 4096


@dataclass(frozen=True)
class Row:
    metric: str
    value: str
    target: str = ""

    def render(self) -> str:
        return f"{self.metric:<48} {self.value:>22}  {self.target}"


def entry_pool(count: int) -> list[AuditEntry]:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    counterparts = ("de.bka", "es.cnp", "it.ps", "nl.politie", "pl.kgp")
    return [
        AuditEntry(
            kind=EntryKind.CHECK_RECEIVED,
            time=start + timedelta(seconds=7 * number),
            node=ORIGIN,
            officer=f"officer-{number % 97}",
            counterpart=counterparts[number % len(counterparts)],
            dataset="persons",
            element_count=1 + number % 300,
            purpose="investigation",
            legal_basis="EU-2016/680:Art.8",
            case_reference=f"CASE-2025-{number:06d}",
            request_digest=digest_request(number.to_bytes(8, "big")),
            decision=Decision.ANSWERED,
        )
        for number in range(count)
    ]


def _timed_appends(
    latencies: list[float],
    log: AuditLog,
    entries: Sequence[AuditEntry],
    start_line: threading.Barrier,
) -> None:
    """Append `entries` one at a time, each waiting until durable; record each latency."""
    start_line.wait()
    for entry in entries:
        began = time.perf_counter()
        log.append(entry)
        latencies.append(time.perf_counter() - began)


def durable_appends(directory: Path, appenders: int, appends: int, repeats: int) -> list[Row]:
    pool = entry_pool(ENTRY_POOL)
    best_rate = 0.0
    best_latencies: list[float] = []
    for repeat in range(repeats):
        start_line = threading.Barrier(appenders + 1)
        results: list[list[float]] = [[] for _ in range(appenders)]
        with AuditLog(directory / f"appends-{repeat}.db") as log:
            threads = [
                threading.Thread(
                    target=_timed_appends,
                    args=(
                        results[n],
                        log,
                        [pool[(n * appends + i) % ENTRY_POOL] for i in range(appends)],
                        start_line,
                    ),
                )
                for n in range(appenders)
            ]
            for thread in threads:
                thread.start()
            start_line.wait()
            began = time.perf_counter()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            assert log.size == appenders * appends
        rate = appenders * appends / elapsed
        if rate > best_rate:
            best_rate = rate
            best_latencies = [latency for latencies in results for latency in latencies]
    best_latencies.sort()
    p50 = statistics.median(best_latencies)
    p99 = best_latencies[int(0.99 * (len(best_latencies) - 1))]
    return [
        Row(
            f"durable appends, {appenders} appender threads",
            f"{best_rate:,.0f} /s",
            "target >= 5,000 /s",
        ),
        Row("  append latency p50", f"{p50 * 1e3:.2f} ms"),
        Row("  append latency p99", f"{p99 * 1e3:.2f} ms"),
    ]


def large_log(directory: Path, entries: int) -> list[Row]:
    rows: list[Row] = []
    pool = entry_pool(ENTRY_POOL)
    signer = Ed25519Signer.generate(ORIGIN)
    database = directory / "large.db"
    began = time.perf_counter()
    with AuditLog(database, max_batch=BULK_BATCH) as log:
        appended = 0
        while appended < entries:
            count = min(BULK_BATCH, entries - appended)
            log.append_many([pool[(appended + i) % ENTRY_POOL] for i in range(count)])
            appended += count
        build = time.perf_counter() - began
        rows.append(Row(f"build a log of {entries:,} entries", f"{build:.1f} s"))
        issuer = CheckpointIssuer(log, signer)
        began = time.perf_counter()
        note = issuer.issue().note
        rows.append(Row("  sign a checkpoint", f"{(time.perf_counter() - began) * 1e3:.1f} ms"))
        began = time.perf_counter()
        summary = export_log(log, directory / "export", note, since_sizes=[entries // 2])
        rows.append(
            Row(
                f"  export ({summary.files:,} files)",
                f"{time.perf_counter() - began:.1f} s",
            )
        )
        rows += proof_rows(log, issuer, entries, note)
    began = time.perf_counter()
    report = verify_export(directory / "export", signer.verifier())
    elapsed = time.perf_counter() - began
    if not report.ok:
        raise SystemExit(f"verification failed: {report.render()}")
    rows.append(
        Row(f"verify the export of {entries:,} entries", f"{elapsed:.1f} s", "target <= 30 s")
    )
    return rows


def proof_rows(log: AuditLog, issuer: CheckpointIssuer, size: int, note: str) -> list[Row]:
    index = size // 2 + 1
    began = time.perf_counter()
    receipt = issue_receipt(log, issuer, index)
    receipt_time = time.perf_counter() - began
    old = size // 2
    consistency = ConsistencyProof(old, size, tuple(log.consistency_proof(old, size)), note)
    return [
        Row(
            f"  inclusion proof of entry {index:,} of {size:,}",
            f"{len(receipt.proof)} hashes, {32 * len(receipt.proof)} B",
        ),
        Row(
            "  receipt (tlog-proof: entry, proof, checkpoint)",
            f"{len(receipt.to_text().encode()):,} B",
            f"issued in {receipt_time * 1e3:.1f} ms",
        ),
        Row(
            f"  consistency proof {old:,} -> {size:,}",
            f"{len(consistency.proof)} hashes, {32 * len(consistency.proof)} B",
            f"text {len(consistency.to_text().encode()):,} B",
        ),
        Row("  entry size (canonical encoding)", f"{len(log.entry_bytes(index))} B"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--entries", type=int, help="entries in the large log (1,000,000)")
    parser.add_argument("--appenders", type=int, default=16, help="concurrent appenders (16)")
    parser.add_argument("--appends", type=int, help="appends per appender (1,000)")
    args = parser.parse_args(argv)
    entries = args.entries or (20_000 if args.quick else 1_000_000)
    appends = args.appends or (100 if args.quick else 1_000)
    repeats = 1 if args.quick else 3
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="blindhit-bench-audit-") as temporary:
        directory = Path(temporary)
        rows += durable_appends(directory, args.appenders, appends, repeats)
        rows += large_log(directory, entries)
    entry_size = len(encode_entry(entry_pool(1)[0]))
    print(f"audit log (SQLite WAL, synchronous=FULL; entries of about {entry_size} B)")
    for row in rows:
        print(row.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
