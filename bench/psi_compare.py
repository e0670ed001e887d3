"""Side by side with OpenMined PSI: the same server set and probes, timed in one run.

What is measured. N server items (default 1,000,000) and a probe set (default 300 people with
4 match keys each, about 1,200 items) are byte strings: the RFC 9497 inputs
(`protocol.match_keys.oprf_input`) of synthetic people's match keys, derived once, untimed, and
given unchanged to both systems. One probe person in five is also in the server set, so part of
the probes hit; both systems must find exactly the probe items that a plain set lookup finds,
and the script stops if either does not.

- blindhit setup: RFC 9497 Evaluate (ristretto255-SHA512, OPRF mode) of every item on a pool of
  `spawn` worker processes, as an import does (`node.datasets.build.evaluate_inputs`), then the
  compact index of the tags (`IndexParameters.for_capacity`, `DecodedIndex.from_tags`, `encode`).
- blindhit query: Blind (batch) on the client, BlindEvaluateBatch on the server, then Finalize
  (batch) and a lookup of every tag in the decoded index on the client. Decoding the synced
  index is shown apart: a querier does that once per epoch, not once per query.
- OpenMined PSI setup: `server.CreateSetupMessage(fpr=1e-9, num_client_inputs, items, GCS)`.
- OpenMined PSI query: `client.CreateRequest`, `server.ProcessRequest`, then
  `client.GetIntersection`, with `reveal_intersection=True` on both sides so that the client
  learns which of its items hit, as a blindhit querier does.

Ratios. The machine is shared and noisy, so blindhit's steps are also given as ratios to the raw
libsodium rates measured in the same run, as in the other benchmarks: scalar multiplication and
hash-to-group map on one core, and both together on every worker for the setup. OpenMined PSI
does its group operations in the OpenSSL inside its wheel, which this script cannot time alone,
so it is compared with blindhit directly. OpenMined PSI is single-threaded while blindhit's setup
uses every worker, so the setup is also given in CPU time per item, summed over every process
that took part, which compares like with like; queries run on one core for both.

What differs between the two protocols:

- Group and hashing. OpenMined PSI is ECDH-PSI over P-256 in C++ (the commutative cipher of
  private-join-and-compute, on OpenSSL) and hashes items to the curve with its own
  try-and-increment on SHA-256; its points travel compressed, 33 bytes, in protobuf messages.
  blindhit is the RFC 9497 OPRF over ristretto255 with RFC 9380 hash-to-group, libsodium for the
  group operations and the protocol in Python; its elements are 32 bytes.
- Setup message. OpenMined PSI sizes its Golomb-coded set for one query: its false-positive rate
  is per query, fpr / num_client_inputs per probe item, and the setup message goes to the client
  with every query, which decodes it each time. blindhit's index is synced once per epoch and
  then kept current with deltas in proportion to the change (`bench/match_index.py`); its bound
  is 2^-30 per probe key whatever the query size. The index's size at OpenMined PSI's per-item
  bound is printed as well.
- Online step. OpenMined PSI's ProcessRequest is a bare function call. blindhit's BlindEvaluate
  is a signed request over mutual TLS that the owner checks against its policy and daily quota,
  logs in its audit log and answers with a receipt; `bench/node.py` measures that served path.
  Here both are the bare cryptography, and byte counts are payloads: blindhit's signed envelope
  and OpenMined PSI's transport are not counted.

Usage: python bench/psi_compare.py [--items N] [--people N] [--workers N] [--quick]

`make bench` runs it in `.venv-psi`, which has openmined-psi (bench/requirements-psi.txt);
elsewhere the blindhit half runs and one line says why OpenMined PSI did not.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import itertools
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

if __package__ in (None, ""):
    # Run as a file, this script's folder comes first on sys.path and `bench/crypto.py` would
    # hide the `crypto` package; the repository root takes that place instead.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import rbcl  # imported after the path is set

from bench.index_build import pool, raw_rate
from crypto.errors import InputError
from crypto.oprf import Mode, OprfClient, OprfServer, Suite, generate_key_pair
from dev.synthetic import synthetic_people
from node.datasets.evaluator import available_cores, evaluate_inputs
from protocol.match_index import FALSE_HIT_BITS, DecodedIndex, IndexParameters, decode_index
from protocol.match_keys import DEFAULT_PROFILE, derive_keys, oprf_input

SUITE = Suite.RISTRETTO255_SHA512
DATASET = "persons"
PSI_FPR = 1e-9
# Four keys per probe person: two strong kinds (doc, name_dob) and two medium ones.
PROBE_KINDS = ("doc", "doc_fuzzy", "name_dob", "phonetic_dob")
PROBE_SEED = 7
SERVER_SEED = 1000
# One probe person in this many is also in the server set.
PLANT_EVERY = 5
EVALUATE_CHUNK = 2048

T = TypeVar("T")


class PsiMessage(Protocol):
    """A protobuf message of OpenMined PSI (ServerSetup, Request or Response)."""

    def SerializeToString(self) -> bytes: ...  # noqa: N802 (the library's names)


class PsiServer(Protocol):
    """What this benchmark uses of OpenMined PSI's `server`."""

    def CreateSetupMessage(  # noqa: N802
        self, fpr: float, num_client_inputs: int, inputs: Sequence[bytes], ds: object
    ) -> PsiMessage: ...

    def ProcessRequest(self, client_request: PsiMessage) -> PsiMessage: ...  # noqa: N802


class PsiClient(Protocol):
    """What this benchmark uses of OpenMined PSI's `client`."""

    def CreateRequest(self, data: Sequence[bytes]) -> PsiMessage: ...  # noqa: N802

    def GetIntersection(  # noqa: N802
        self, server_setup: PsiMessage, server_response: PsiMessage
    ) -> list[int]: ...


@dataclass(frozen=True)
class PsiLibrary:
    """The parts of `private_set_intersection.python` this benchmark calls."""

    version: str
    new_server: Callable[[bool], PsiServer]
    new_client: Callable[[bool], PsiClient]
    gcs: object


def load_psi() -> PsiLibrary | str:
    """OpenMined PSI's Python API, or one line saying why it cannot be used here."""
    try:
        psi = importlib.import_module("private_set_intersection.python")
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.startswith("private_set_intersection"):
            return (
                "openmined-psi is not installed: blindhit measured alone "
                "(`make bench` installs it in .venv-psi)"
            )
        return f"openmined-psi cannot be loaded ({error}): blindhit measured alone"
    except ImportError as error:
        return f"openmined-psi cannot be loaded ({error}): blindhit measured alone"
    return PsiLibrary(
        version=psi.__version__,
        new_server=psi.server.CreateWithNewKey,
        new_client=psi.client.CreateWithNewKey,
        gcs=psi.DataStructure.GCS,
    )


def timed(run: Callable[[], T], repeats: int = 1) -> tuple[float, T]:
    """The best wall time of `repeats` runs of `run` (at least one), and the last result."""
    start = time.perf_counter()
    result = run()
    best = time.perf_counter() - start
    for _ in range(repeats - 1):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


# ---------------------------------------------------------------------------------------------
# The items.
# ---------------------------------------------------------------------------------------------


def all_inputs(person: Mapping[str, object]) -> list[bytes]:
    """The OPRF inputs of every match key of one person, as the owner's import derives them."""
    return [oprf_input(DEFAULT_PROFILE, DATASET, key) for key in derive_keys(person).keys]


def probe_inputs(person: Mapping[str, object]) -> list[bytes]:
    """The OPRF inputs of one key of each of `PROBE_KINDS` that the person has."""
    chosen: dict[str, bytes] = {}
    for key in derive_keys(person).keys:
        if key.kind.value in PROBE_KINDS and key.kind.value not in chosen:
            chosen[key.kind.value] = oprf_input(DEFAULT_PROFILE, DATASET, key)
    return list(chosen.values())


def derive_chunk(seed: int, people: int) -> list[bytes]:
    """The OPRF inputs of every key of `people` synthetic people of `seed` (in a worker)."""
    return [item for person in synthetic_people(people, seed=seed) for item in all_inputs(person)]


def server_items(
    executor: ProcessPoolExecutor,
    count: int,
    planted: Sequence[Mapping[str, object]],
    workers: int,
) -> list[bytes]:
    """`count` distinct items: the planted people's keys first, then synthetic people's."""
    items = dict.fromkeys(item for person in planted for item in all_inputs(person))
    # Synthetic people give about twelve keys each, ten of them distinct in a large set: one
    # round of chunks gives about `count` items, or 40,000 when larger.
    people = max(16, min(2_000, count // (20 * workers) + 1))
    seed = SERVER_SEED
    while len(items) < count:
        seeds = range(seed, seed + 2 * workers)
        seed += len(seeds)
        for chunk in executor.map(derive_chunk, seeds, [people] * len(seeds)):
            items.update(dict.fromkeys(chunk))
    return list(itertools.islice(items, count))


def evaluate_chunk(private_key: bytes, inputs: list[bytes]) -> tuple[list[bytes], float]:
    """The tags of ready OPRF inputs, as an import computes them, and the CPU seconds spent."""
    start = time.process_time()
    tags = evaluate_inputs(SUITE, Mode.OPRF, private_key, inputs)
    return tags, time.process_time() - start


# ---------------------------------------------------------------------------------------------
# Measurements.
# ---------------------------------------------------------------------------------------------


@dataclass
class Raw:
    """Raw libsodium figures of this run: seconds per call on one core, calls/s on the pool."""

    mult: float = 0.0
    mapping: float = 0.0
    pool_before: float = 0.0
    pool_after: float = 0.0

    @property
    def pool(self) -> float:
        # The better of two measurements is the ceiling: every ratio against it is conservative.
        return max(self.pool_before, self.pool_after)


@dataclass
class Outcome:
    """What one system measured."""

    name: str
    setup_seconds: float = 0.0
    setup_cpu: float = 0.0
    setup_bytes: int = 0
    request_seconds: float = 0.0
    process_seconds: float = 0.0
    finish_seconds: float = 0.0
    request_bytes: int = 0
    response_bytes: int = 0
    hits: list[int] = field(default_factory=list)

    @property
    def query_seconds(self) -> float:
        return self.request_seconds + self.process_seconds + self.finish_seconds


@dataclass
class Blindhit(Outcome):
    """blindhit's figures, with its setup phases apart."""

    evaluate_seconds: float = 0.0
    evaluate_cpu: float = 0.0
    index_seconds: float = 0.0
    index_cpu: float = 0.0
    decode_seconds: float = 0.0
    matched_bits: int | None = None
    matched_bytes: int = 0


def raw_one_core(count: int, repeats: int) -> tuple[float, float]:
    """Seconds per libsodium scalar multiplication and per hash-to-group map, on one core."""
    sodium = rbcl._sodium
    mult = sodium.crypto_scalarmult_ristretto255
    from_hash = sodium.crypto_core_ristretto255_from_hash
    scalar = rbcl.crypto_core_ristretto255_scalar_random()
    point = rbcl.crypto_core_ristretto255_random()
    uniform = os.urandom(64)
    out = ctypes.create_string_buffer(32)

    def mults() -> None:
        for _ in range(count):
            mult(out, scalar, point)

    def maps() -> None:
        for _ in range(count):
            from_hash(out, uniform)

    return timed(mults, repeats)[0] / count, timed(maps, repeats)[0] / count


def psi_false_hit(probes: int) -> float:
    """OpenMined PSI's bound for one probe item: its fpr is for a whole query of `probes`."""
    return PSI_FPR / probes


def matched_parameters(items: int, bound: float) -> IndexParameters | None:
    """The index parameters of `items` keys whose false-hit rate is at most `bound` per probe."""
    for bits in range(FALSE_HIT_BITS, 64):
        try:
            params = IndexParameters.for_capacity(items, false_hit_bits=bits)
        except InputError:
            return None
        if items / params.domain <= bound:
            return params
    return None


def blindhit_setup(
    executor: ProcessPoolExecutor,
    items: list[bytes],
    probes: int,
    outcome: Blindhit,
) -> tuple[bytes, bytes, IndexParameters]:
    """Evaluate every item on the pool and code the index; return the key, wire and parameters.

    CPU time is counted in every process: the workers' evaluation and this process's share
    (handing out chunks, collecting tags, coding the index).
    """
    private_key = generate_key_pair(SUITE).private_key
    start, start_cpu = time.perf_counter(), time.process_time()
    chunks = [items[i : i + EVALUATE_CHUNK] for i in range(0, len(items), EVALUATE_CHUNK)]
    tags: list[bytes] = []
    worker_cpu = 0.0
    for part, cpu in executor.map(evaluate_chunk, [private_key] * len(chunks), chunks):
        tags += part
        worker_cpu += cpu
    outcome.evaluate_seconds = time.perf_counter() - start
    outcome.evaluate_cpu = worker_cpu + time.process_time() - start_cpu
    start, start_cpu = time.perf_counter(), time.process_time()
    params = IndexParameters.for_capacity(len(tags))
    wire = DecodedIndex.from_tags(tags, params).encode()
    outcome.index_seconds = time.perf_counter() - start
    outcome.index_cpu = time.process_time() - start_cpu
    outcome.setup_seconds = outcome.evaluate_seconds + outcome.index_seconds
    outcome.setup_cpu = outcome.evaluate_cpu + outcome.index_cpu
    outcome.setup_bytes = len(wire)
    matched = matched_parameters(len(tags), psi_false_hit(probes))
    if matched is not None:
        outcome.matched_bits = matched.false_hit_bits
        outcome.matched_bytes = len(DecodedIndex.from_tags(tags, matched).encode())
    return private_key, wire, params


def blindhit_query(
    private_key: bytes,
    wire: bytes,
    params: IndexParameters,
    probes: list[bytes],
    repeats: int,
    outcome: Blindhit,
) -> None:
    """Sync the index once, then Blind, BlindEvaluateBatch, Finalize and look up, best of all."""
    outcome.decode_seconds, index = timed(lambda: decode_index(wire, max_count=params.capacity))
    client = OprfClient(SUITE, Mode.OPRF)
    server = OprfServer(SUITE, Mode.OPRF, private_key)
    outcome.request_seconds, batch = timed(lambda: client.blind_batch(probes), repeats)
    outcome.process_seconds, evaluation = timed(
        lambda: server.blind_evaluate_batch(batch.blinded_elements), repeats
    )

    def finish() -> list[int]:
        tags = client.finalize_batch(batch, evaluation)
        return [i for i, hit in enumerate(index.contains_tags(tags)) if hit]

    outcome.finish_seconds, outcome.hits = timed(finish, repeats)
    outcome.request_bytes = sum(map(len, batch.blinded_elements))
    outcome.response_bytes = sum(map(len, evaluation.evaluated_elements))


def psi_run(library: PsiLibrary, items: list[bytes], probes: list[bytes], repeats: int) -> Outcome:
    """OpenMined PSI on the same items: setup once, then the query, best of `repeats`."""
    outcome = Outcome("OpenMined PSI")
    server = library.new_server(True)
    client = library.new_client(True)
    start_cpu = time.process_time()
    outcome.setup_seconds, setup = timed(
        lambda: server.CreateSetupMessage(PSI_FPR, len(probes), items, library.gcs)
    )
    outcome.setup_cpu = time.process_time() - start_cpu
    outcome.setup_bytes = len(setup.SerializeToString())
    outcome.request_seconds, request = timed(lambda: client.CreateRequest(probes), repeats)
    outcome.process_seconds, response = timed(lambda: server.ProcessRequest(request), repeats)
    outcome.finish_seconds, hits = timed(lambda: client.GetIntersection(setup, response), repeats)
    outcome.hits = sorted(hits)
    outcome.request_bytes = len(request.SerializeToString())
    outcome.response_bytes = len(response.SerializeToString())
    return outcome


# ---------------------------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.2f} ms"


def micros(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


def share(ceiling: float, actual: float, name: str) -> str:
    """`actual` seconds per item against a `ceiling` of seconds per item, as crypto.py does."""
    return f"{ceiling / actual * 100:5.1f} % of {name}"


def line(system: str, step: str, *columns: str) -> None:
    """One row: system, step, three right-aligned figures, then notes."""
    cells = "".join(f"{cell:>12}" for cell in columns[:3])
    rest = "  ".join(columns[3:])
    print(f"{system:<14} {step:<36}{cells}  {rest}".rstrip(), flush=True)


def report_raw(raw: Raw, workers: int) -> None:
    line("raw (libsodium)", "", "rate", "per call")
    line("ristretto255", "scalar mult, one core", f"{1 / raw.mult:,.0f}/s", micros(raw.mult))
    line("ristretto255", "hash-to-group map, one core", f"{1 / raw.mapping:,.0f}/s")
    line(
        "ristretto255",
        f"map + scalar mult, {workers} workers",
        f"{raw.pool:,.0f}/s",
        micros(workers / raw.pool),
        "",
        f"per call per worker; before {raw.pool_before:,.0f}/s, after {raw.pool_after:,.0f}/s",
    )
    print()


def report_setup(
    raw: Raw, workers: int, items: int, blindhit: Blindhit, psi: Outcome | None
) -> None:
    line("server setup", f"{items:,} items", "wall", "per item", "CPU/item", "bytes/item")
    rate = items / blindhit.evaluate_seconds
    line(
        "blindhit",
        f"OPRF Evaluate, {workers} workers",
        duration(blindhit.evaluate_seconds),
        micros(blindhit.evaluate_seconds / items),
        micros(blindhit.evaluate_cpu / items),
        f"{rate / raw.pool * 100:5.1f} % of raw map+mult on {workers} workers",
    )
    line(
        "blindhit",
        "index: fingerprints, sort, code",
        duration(blindhit.index_seconds),
        micros(blindhit.index_seconds / items),
        micros(blindhit.index_cpu / items),
    )
    total_rate = items / blindhit.setup_seconds
    line(
        "blindhit",
        "setup total",
        duration(blindhit.setup_seconds),
        micros(blindhit.setup_seconds / items),
        micros(blindhit.setup_cpu / items),
        f"{blindhit.setup_bytes / items:.3f}",
        f"{total_rate / raw.pool * 100:5.1f} % of raw map+mult on {workers} workers",
    )
    if psi is not None:
        line(
            psi.name,
            "CreateSetupMessage, GCS, one core",
            duration(psi.setup_seconds),
            micros(psi.setup_seconds / items),
            micros(psi.setup_cpu / items),
            f"{psi.setup_bytes / items:.3f}",
        )
    print()


def report_bounds(items: int, probes: int, blindhit: Blindhit, psi: Outcome | None) -> None:
    bound = 2.0**-FALSE_HIT_BITS
    psi_bound = psi_false_hit(probes)
    print(
        f"false hits per probe item not in the set: blindhit <= 2^-{FALSE_HIT_BITS} = "
        f"{bound:.1e} (any query size); OpenMined PSI fpr {PSI_FPR:g} per query of "
        f"{probes:,} = {psi_bound:.1e} (2^{math.log2(psi_bound):.1f})"
    )
    if blindhit.matched_bits is not None:
        ratio = ""
        if psi is not None:
            ratio = f", {blindhit.matched_bytes / psi.setup_bytes:.2f} times OpenMined PSI's"
        print(
            f"blindhit index at 2^-{blindhit.matched_bits} per probe key, no weaker than "
            f"OpenMined PSI's: {blindhit.matched_bytes:,} bytes, "
            f"{blindhit.matched_bytes / items:.3f} bytes per item{ratio}"
        )
    print()


def report_query(
    raw: Raw, probes: int, repeats: int, blindhit: Blindhit, psi: Outcome | None
) -> None:
    line("query", f"{probes:,} probe items, best of {repeats}", "wall", "per probe")
    steps = (
        ("Blind (client)", blindhit.request_seconds, raw.mapping + raw.mult, "map+mult"),
        ("BlindEvaluateBatch (server)", blindhit.process_seconds, raw.mult, "mult"),
        ("Finalize + index lookup (client)", blindhit.finish_seconds, raw.mult, "mult"),
        ("total", blindhit.query_seconds, raw.mapping + 3 * raw.mult, "map+3 mult"),
    )
    for step, seconds, ceiling, name in steps:
        line(
            "blindhit",
            step,
            duration(seconds),
            micros(seconds / probes),
            "",
            share(ceiling, seconds / probes, name),
        )
    if psi is not None:
        psi_steps = (
            ("CreateRequest (client)", psi.request_seconds),
            ("ProcessRequest (server)", psi.process_seconds),
            ("GetIntersection (client)", psi.finish_seconds),
            ("total", psi.query_seconds),
        )
        for step, seconds in psi_steps:
            line(psi.name, step, duration(seconds), micros(seconds / probes))
    line(
        "blindhit",
        "index decode on sync, once per epoch",
        duration(blindhit.decode_seconds),
        "",
        "",
        "OpenMined PSI decodes its set in every GetIntersection",
    )
    print()


def report_bytes(probes: int, blindhit: Blindhit, psi: Outcome | None) -> None:
    line("bytes per query", "", "to server", "to client")
    line(
        "blindhit",
        "elements (first query: + index)",
        f"{blindhit.request_bytes:,}",
        f"{blindhit.response_bytes:,}",
        "",
        f"{blindhit.request_bytes / probes:.1f} / {blindhit.response_bytes / probes:.1f} per "
        f"probe; the index ({blindhit.setup_bytes:,}) once per epoch, then deltas",
    )
    if psi is not None:
        line(
            psi.name,
            "request; response + setup message",
            f"{psi.request_bytes:,}",
            f"{psi.response_bytes + psi.setup_bytes:,}",
            "",
            f"{psi.request_bytes / probes:.1f} / {psi.response_bytes / probes:.1f} per probe "
            f"+ setup message ({psi.setup_bytes:,}) with every query",
        )
    print()


def report_summary(blindhit: Blindhit, psi: Outcome, probes: int) -> None:
    print(
        f"intersection: both found the same {len(blindhit.hits):,} of {probes:,} probe items, "
        "as a direct set lookup does"
    )
    print(
        "blindhit / OpenMined PSI (below 1, blindhit is faster or smaller): "
        f"setup CPU time {blindhit.setup_cpu / psi.setup_cpu:.2f}, "
        f"setup wall time {blindhit.setup_seconds / psi.setup_seconds:.2f}, "
        f"query time {blindhit.query_seconds / psi.query_seconds:.2f}, "
        f"setup bytes {blindhit.setup_bytes / psi.setup_bytes:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="server items")
    parser.add_argument("--people", type=int, default=300, help="probe people, 4 keys each")
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--quick", action="store_true", help="2,000 items, 12 people")
    args = parser.parse_args(argv)
    count = 2_000 if args.quick else args.items
    people = 12 if args.quick else args.people
    workers = max(1, args.workers)
    repeats = 1 if args.quick else 3
    library = load_psi()
    psi_name = "OpenMined PSI" if isinstance(library, str) else f"OpenMined PSI {library.version}"
    print(
        f"blindhit vs {psi_name}: "
        f"{count:,} server items, {available_cores()} cores, Python {sys.version.split()[0]}"
    )
    print(
        f"setup: blindhit on {workers} worker processes (spawn), as an import does; "
        "OpenMined PSI on one core (it is single-threaded). Queries: one core each.\n"
    )
    if isinstance(library, str):
        print(library + "\n")

    probe_people = list(synthetic_people(people, seed=PROBE_SEED, prefix="Q"))
    probes = [item for person in probe_people for item in probe_inputs(person)]
    raw = Raw()
    blindhit = Blindhit("blindhit")
    with pool(workers) as executor:
        items = server_items(executor, count, probe_people[::PLANT_EVERY], workers)
        raw_calls = 2_000 if args.quick else 60_000
        raw.pool_before = raw_rate(executor, workers, raw_calls)
        private_key, wire, params = blindhit_setup(executor, items, len(probes), blindhit)
        raw.pool_after = raw_rate(executor, workers, raw_calls)
    raw.mult, raw.mapping = raw_one_core(256 if args.quick else 4096, repeats + 2)
    in_set = set(items)
    expected = [i for i, probe in enumerate(probes) if probe in in_set]
    del in_set
    blindhit_query(private_key, wire, params, probes, repeats, blindhit)
    psi = None if isinstance(library, str) else psi_run(library, items, probes, repeats)

    print(
        f"probes: {people:,} people, {len(probes):,} items ({len(probes) / people:.1f} per "
        f"person), one person in {PLANT_EVERY} also in the server set\n"
    )
    report_raw(raw, workers)
    report_setup(raw, workers, count, blindhit, psi)
    report_bounds(count, len(probes), blindhit, psi)
    report_query(raw, len(probes), repeats, blindhit, psi)
    report_bytes(len(probes), blindhit, psi)
    for outcome in (blindhit, psi):
        if outcome is not None and outcome.hits != expected:
            raise SystemExit(
                f"{outcome.name} found {len(outcome.hits)} probe items, "
                f"a direct set lookup {len(expected)}"
            )
    if psi is None:
        print(f"intersection: blindhit found {len(blindhit.hits):,} of {len(probes):,} probe items")
    else:
        report_summary(blindhit, psi, len(probes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
