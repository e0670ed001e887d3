"""Benchmark of the cryptographic core, as ratios to the raw group-operation rate of this run.

The machine is shared and noisy, so absolute times vary; every OPRF figure is therefore also given
as a ratio to the ceiling measured in the same run: the rate of the raw group operations that the
step cannot avoid (one scalar multiplication per element for BlindEvaluateBatch in OPRF mode,
hash-to-group plus one scalar multiplication for Blind, and so on). Each figure is the best of
several repeats, which is the least disturbed by other load.

Usage: python bench/crypto.py [--quick] [--leaves N]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

if __package__ in (None, ""):
    # Run as a file, this script's folder comes first on sys.path and its own name would hide
    # the `crypto` package; the repository root takes that place instead.
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])

import rbcl  # imported after the path is set

from crypto import merkle
from crypto.groups import P256
from crypto.hash_to_curve import hash_to_curve_p256
from crypto.oprf import Mode, OprfClient, OprfServer, Suite, derive_key_pair

BATCH = 256


@dataclass(frozen=True)
class Row:
    suite: str
    operation: str
    seconds_per_op: float
    ceiling_per_op: float | None = None
    ceiling_name: str = ""

    def render(self) -> str:
        rate = 1.0 / self.seconds_per_op
        ratio = ""
        if self.ceiling_per_op is not None:
            share = self.ceiling_per_op / self.seconds_per_op * 100
            ratio = f"{share:6.1f} % of {self.ceiling_name}"
        if self.seconds_per_op >= 0.1:
            duration = f"{self.seconds_per_op:>10.2f} s "
        else:
            duration = f"{self.seconds_per_op * 1e6:>10.2f} µs"
        return f"{self.suite:<14} {self.operation:<38} {rate:>12,.0f}/s {duration}  {ratio}"


def best_time(run: Callable[[], object], count: int, repeats: int) -> float:
    """Seconds per operation: the best of `repeats` runs of `run`, which does `count` ops."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / count


def ristretto_rows(repeats: int, batch: int) -> list[Row]:
    sodium = rbcl._sodium
    suite = Suite.RISTRETTO255_SHA512
    scalar = rbcl.crypto_core_ristretto255_scalar_random()
    point = rbcl.crypto_core_ristretto255_random()
    uniform = os.urandom(64)
    out = ctypes.create_string_buffer(32)
    n = batch * 4

    def raw_mult() -> None:
        mult = sodium.crypto_scalarmult_ristretto255
        for _ in range(n):
            mult(out, scalar, point)

    def raw_map() -> None:
        from_hash = sodium.crypto_core_ristretto255_from_hash
        for _ in range(n):
            from_hash(out, uniform)

    mult = best_time(raw_mult, n, repeats)
    mapping = best_time(raw_map, n, repeats)
    rows = [
        Row("ristretto255", "raw scalar mult (libsodium)", mult),
        Row("ristretto255", "raw hash-to-group map (libsodium)", mapping),
    ]
    rows += oprf_rows(suite, "ristretto255", mult, mapping, repeats, batch)
    return rows


def p256_rows(repeats: int, batch: int) -> list[Row]:
    suite = Suite.P256_SHA256
    # A random point, not the generator: pycryptodomex has precomputed tables for the generator
    # only, and the OPRF multiplies peers' points.
    point = P256.scalar_mult_base(P256.random_scalar())
    scalar = P256.random_scalar()
    n = max(batch // 4, 8)
    messages = [os.urandom(16) for _ in range(n)]

    def raw_mult() -> None:
        for _ in range(n):
            point * scalar

    def raw_hash() -> None:
        for message in messages:
            hash_to_curve_p256(message, b"bench")

    mult = best_time(raw_mult, n, repeats)
    hashing = best_time(raw_hash, n, repeats)
    rows = [
        Row("P-256", "raw scalar mult (pycryptodomex)", mult),
        Row("P-256", "hash-to-curve (RFC 9380 SSWU)", hashing),
    ]
    rows += oprf_rows(suite, "P-256", mult, hashing, repeats, max(batch // 4, 8))
    return rows


def oprf_rows(
    suite: Suite, name: str, mult: float, hashing: float, repeats: int, batch: int
) -> list[Row]:
    inputs = [os.urandom(24) for _ in range(batch)]
    rows = []
    for mode in (Mode.OPRF, Mode.VOPRF):
        rows += _mode_rows(suite, mode, name, inputs, mult, hashing, repeats)
    return rows


def _mode_rows(
    suite: Suite,
    mode: Mode,
    name: str,
    inputs: list[bytes],
    mult: float,
    hashing: float,
    repeats: int,
) -> list[Row]:
    keys = derive_key_pair(suite, mode, bytes(32), b"bench")
    client = OprfClient(suite, mode, keys.public_key if mode is Mode.VOPRF else None)
    server = OprfServer(suite, mode, keys.private_key)
    blinded = client.blind_batch(inputs)
    evaluation = server.blind_evaluate_batch(blinded.blinded_elements)
    n = len(inputs)
    label = mode.name
    rows = []
    if mode is Mode.OPRF:
        blind = best_time(lambda: client.blind_batch(inputs), n, repeats)
        rows.append(Row(name, f"Blind ({label}, batch {n})", blind, hashing + mult, "h2g+mult"))
        direct = best_time(lambda: server.evaluate_batch(inputs), n, repeats)
        rows.append(
            Row(name, f"Evaluate ({label}, index build)", direct, hashing + mult, "h2g+mult")
        )
    evaluated = best_time(lambda: server.blind_evaluate_batch(blinded.blinded_elements), n, repeats)
    rows.append(Row(name, f"BlindEvaluateBatch ({label}, {n})", evaluated, mult, "mult"))
    final = best_time(lambda: client.finalize_batch(blinded, evaluation), n, repeats)
    rows.append(Row(name, f"Finalize ({label}, batch {n})", final, mult, "mult"))
    return rows


def merkle_rows(leaves: int, repeats: int) -> list[Row]:
    leaf_hashes = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(leaves)]
    root_time = best_time(lambda: merkle.root_from_leaf_hashes(leaf_hashes), 1, repeats)
    # Appending through nodes_on_append stores every perfect subtree, as the audit log does.
    store = merkle.MemoryNodeStore()
    append_time = best_time(lambda: store.extend(leaf_hashes), leaves, 1)
    stored_root = best_time(lambda: store.root_hash(leaves), 1, repeats)
    samples = range(1, leaves, max(leaves // 2000, 1))
    inclusion = best_time(
        lambda: [merkle.inclusion_proof(i, leaves, store.fetch) for i in samples],
        len(samples),
        repeats,
    )
    consistency = best_time(
        lambda: [merkle.consistency_proof(i, leaves, store.fetch) for i in samples],
        len(samples),
        repeats,
    )
    return [
        Row("SHA-256", f"Merkle root of {leaves:,} leaves (in memory)", root_time),
        Row("SHA-256", "Merkle append, storing subtree hashes", append_time),
        Row("SHA-256", f"Merkle root at {leaves:,} from stored nodes", stored_root),
        Row("SHA-256", f"inclusion proof at size {leaves:,}", inclusion),
        Row("SHA-256", f"consistency proof to size {leaves:,}", consistency),
    ]


def _print_rows(rows: list[Row]) -> None:
    for row in rows:
        print(row.render(), flush=True)
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--leaves", type=int, default=1_000_000, help="Merkle tree size")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 5
    batch = 8 if args.quick else BATCH
    leaves = min(args.leaves, 1000) if args.quick else args.leaves
    print(f"blindhit crypto benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print("Ratios compare each step with the raw group operations it needs, in this run.\n")
    _print_rows(ristretto_rows(repeats, batch))
    _print_rows(p256_rows(repeats, batch))
    _print_rows(merkle_rows(leaves, 1 if args.quick else 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
