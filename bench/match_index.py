"""Benchmark of the match index's wire form: size, false hits, and encode/decode/lookup times.

Prints bytes per key of a full index and of deltas, the false-hit rate measured on random probes
that are not in the index beside the bound of the parameters, the time to encode, decode, apply a
delta and look probes up, and the memory of the decoded form beside a Python set of the same
fingerprints. Each time is the best of a few repeats, which is the least disturbed by other load
on a shared machine.

Usage: python bench/match_index.py [--keys N] [--probes N] [--repeats N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol.match_index import (
    DecodedIndex,
    IndexParameters,
    apply_delta,
    decode_index,
    encode_delta,
    pad_index,
)

T = TypeVar("T")


def best_of(repeats: int, run: Callable[[], T]) -> tuple[float, T]:
    """The least wall-clock seconds of `repeats` runs of `run`, and the last result."""
    best = float("inf")
    result: T | None = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def traced_bytes(build: Callable[[], object]) -> int:
    """Bytes still allocated by what `build` returns, as traced by tracemalloc."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return after - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    keys: int = args.keys
    rng = random.Random(2026)

    params = IndexParameters.for_capacity(keys)
    domain = params.domain
    print(
        f"{keys:,} keys; capacity {params.capacity:,}; domain 2^{domain.bit_length() - 1:.0f}+; "
        f"false-hit bound {params.false_hit_bound:.3e}"
    )
    fingerprints = [rng.randrange(domain) for _ in range(keys)]

    seconds, index = best_of(args.repeats, lambda: DecodedIndex(fingerprints, params))
    print(f"build from unsorted fingerprints   {seconds:8.3f} s")
    seconds, wire = best_of(args.repeats, index.encode)
    print(f"encode                             {seconds:8.3f} s")
    print(
        f"wire size                          {len(wire):,} bytes = {len(wire) / index.count:.4f} "
        "bytes/key"
    )
    seconds, decoded = best_of(args.repeats, lambda: decode_index(wire, max_count=keys))
    assert decoded == index
    print(f"decode                             {seconds:8.3f} s")

    seconds, (padded, _) = best_of(args.repeats, lambda: pad_index(index))
    print(f"pad to bucket                      {seconds:8.3f} s")
    padded_wire = padded.encode()
    print(
        f"padded to bucket                   {padded.count:,} entries, "
        f"{len(padded_wire) / index.count:.4f} bytes per real key, "
        f"false-hit rate {padded.false_hit_probability:.3e}"
    )

    probes = [rng.randrange(domain) for _ in range(args.probes)]
    seconds, hits = best_of(1, lambda: sum(map(decoded.contains, probes)))
    expected = decoded.count / domain * len(probes)
    print(
        f"lookup                             {seconds / len(probes) * 1e6:8.3f} µs/probe "
        f"(array + bisect)"
    )
    print(
        f"false hits on {len(probes):,} random non-member probes: {hits} "
        f"(expected {expected:.4f}; rate bound {params.false_hit_bound:.3e})"
    )
    as_set = set(decoded)
    seconds, _ = best_of(1, lambda: sum(map(as_set.__contains__, probes)))
    print(f"lookup in a Python set of ints     {seconds / len(probes) * 1e6:8.3f} µs/probe")
    print(
        f"memory: array('Q') {traced_bytes(lambda: decode_index(wire, max_count=keys)) / 2**20:.1f}"
        f" MiB, Python set {traced_bytes(lambda: set(decoded)) / 2**20:.1f} MiB"
    )

    tags = [rng.randbytes(64) for _ in range(min(keys, 100_000))]
    seconds, _ = best_of(args.repeats, lambda: DecodedIndex.from_tags(tags, params))
    print(f"fingerprints of tags               {seconds / len(tags) * 1e6:8.3f} µs/tag")

    # The false-hit rate of the real parameters (about 1e-9) is too small to observe; with a
    # deliberately small number of false-hit bits it can be compared with the prediction.
    members = 1 << 14
    for bits in (8, 12, 16):
        weak = IndexParameters(capacity=members, false_hit_bits=bits)
        weak_index = DecodedIndex.from_tags((rng.randbytes(64) for _ in range(members)), weak)
        probe_tags = [rng.randbytes(64) for _ in range(args.probes)]
        observed = sum(weak_index.contains_tags(probe_tags)) / len(probe_tags)
        print(
            f"false-hit bits {bits:2}: observed rate {observed:.3e} on {len(probe_tags):,} probes, "
            f"predicted {weak_index.false_hit_probability:.3e}"
        )

    for wanted in (1_000, 10_000, 100_000):
        changed = min(wanted, keys // 2)
        survivors = fingerprints[changed:]
        newcomers = [rng.randrange(domain) for _ in range(changed)]
        new_index = DecodedIndex(survivors + newcomers, params)
        seconds, delta = best_of(1, lambda: encode_delta(index, new_index))  # noqa: B023
        apply_seconds, applied = best_of(
            1,
            lambda: apply_delta(decoded, delta, max_count=keys),  # noqa: B023
        )
        assert applied == new_index
        print(
            f"delta of {changed:,} removed + {changed:,} added: {len(delta):,} bytes = "
            f"{len(delta) / (2 * changed):.3f} bytes/change; encode {seconds:.3f} s, "
            f"apply {apply_seconds:.3f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
