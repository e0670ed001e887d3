"""Evaluating records' match keys with a dataset's OPRF key, in parallel worker processes.

Every record's match keys (`protocol.match_keys.derive_keys`) are evaluated with the dataset's
OPRF key (RFC 9497 Evaluate, the suite and mode of the dataset); the first 32 bytes of each
output are the record's *tags* (`node.datasets.store.TAG_LENGTH`). `node.datasets.build` turns
them into epochs.

Parallel evaluation. Evaluating ready OPRF inputs runs in libsodium, which releases the GIL, so
threads would do for that part alone; deriving the match keys is pure Python and holds the GIL. So
the work goes to a process pool, and each task is a chunk of records (derive, frame, evaluate),
which also spreads the key derivation over all cores. Workers are started with `spawn`, never
`fork`: the importing process may run threads (the audit log's writer, a gRPC server), and a forked
child inherits their locks in whatever state they were. (As with any `spawn` pool, a script that
calls this module must guard its entry point with `if __name__ == "__main__":`.) The private key
reaches the workers once, as an argument of the pool's initializer (through the OS pipe to each
child, never a file). Small jobs (fewer records than one chunk) are evaluated in the calling
process, which saves the pool's start. The evaluation itself is the pure function `evaluate_inputs`
(key and inputs in, tags out); `key_records` adds key derivation and is what a worker runs.

Workers die with their parent, however it ends (an exception, SIGTERM, SIGKILL): a worker holds
the key and about as much memory as an interpreter, and an orphan would run until the machine
restarts. Each worker watches the sentinel of its parent (`multiprocessing.parent_process()`):
with `spawn` it is the read end of the pipe through which the parent sent the worker its
arguments, whose write end the parent holds open for the worker's lifetime, so the kernel closes
it when the parent process ends, by whatever cause, and the sentinel becomes readable. A daemon
thread in the worker waits on it and ends the worker at once. This was chosen over
`prctl(PR_SET_PDEATHSIG)`, which is Linux only and fires when the *thread* that started the worker
ends rather than the process, and over polling `os.getppid()`, which notices late; the sentinel
works wherever `spawn` does and needs no file descriptor of our own. Workers ignore SIGINT: Ctrl-C
reaches the whole process group, and it is the parent that stops the pool.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import wait
from types import TracebackType
from typing import Final

from crypto.errors import CryptoError, InputError
from crypto.oprf import Mode, OprfServer, Suite
from node.datasets.store import (
    TAG_LENGTH,
)
from protocol.match_keys import derive_keys, get_profile, oprf_input

__all__ = [
    "DEFAULT_CHUNK_RECORDS",
    "ORPHAN_EXIT_STATUS",
    "Evaluator",
    "KeyedRecord",
    "available_cores",
    "evaluate_inputs",
    "key_records",
]

DEFAULT_CHUNK_RECORDS: Final = 256
"""Records per evaluation task: about 2,500 keys, small enough to balance the workers' load."""

# Tasks queued per worker: enough that no worker waits for the reader, few enough that memory
# stays bounded whatever the size of the input.
_IN_FLIGHT_PER_WORKER: Final = 3

ORPHAN_EXIT_STATUS: Final = 70
"""The exit status of a worker that ends because its parent ended."""


def available_cores() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # Not every platform has scheduler affinity.
        return os.cpu_count() or 1


def evaluate_inputs(
    suite: Suite, mode: Mode, private_key: bytes, inputs: Sequence[bytes]
) -> list[bytes]:
    """The tags of OPRF inputs: RFC 9497 Evaluate with the key, truncated to `TAG_LENGTH`.

    POPRF mode evaluates with empty public info, as the querier's check does by default.
    """
    server = OprfServer(suite, mode, private_key)
    return [output[:TAG_LENGTH] for output in server.evaluate_batch(inputs)]


@dataclass(frozen=True, repr=False)
class KeyedRecord:
    """The outcome of keying one record: its tags with their kinds, or why it has none."""

    record_id: str
    kinds: tuple[str, ...] = ()
    tags: tuple[bytes, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None

    def __repr__(self) -> str:
        return f"KeyedRecord({self.record_id!r}, {len(self.tags)} tags, error={self.error!r})"


class _Keying:
    """What keying needs besides the records: the evaluator, the profile and the dataset name."""

    def __init__(
        self, suite_id: str, mode: int, private_key: bytes, profile: str, dataset: str
    ) -> None:
        self.server = OprfServer(Suite.from_identifier(suite_id), Mode(mode), private_key)
        self.profile = get_profile(profile)
        self.dataset = dataset

    def key(self, records: Sequence[tuple[str, str]], evaluate: bool) -> list[KeyedRecord]:
        """Derive and (if `evaluate`) evaluate the keys of `(record_id, content JSON)` pairs."""
        results: list[KeyedRecord] = []
        inputs: list[bytes] = []
        spans: list[tuple[int, int, tuple[str, ...]]] = []
        for record_id, content in records:
            try:
                keying = derive_keys(json.loads(content), self.profile)
                framed = [oprf_input(self.profile.version, self.dataset, k) for k in keying.keys]
            except InputError as error:
                results.append(KeyedRecord(record_id, error=str(error)))
                continue
            warnings = tuple(f"{w.field}: {w.message}" for w in keying.warnings)
            kinds = tuple(key.kind.value for key in keying.keys)
            results.append(KeyedRecord(record_id, kinds, (), warnings))
            if evaluate:
                spans.append((len(results) - 1, len(inputs), kinds))
                inputs.extend(framed)
        if not inputs:
            return results
        outputs = self._evaluate(inputs, spans, results)
        for position, start, kinds in spans:
            if results[position].error is None:
                keyed = results[position]
                tags = tuple(outputs[start : start + len(kinds)])
                results[position] = KeyedRecord(keyed.record_id, kinds, tags, keyed.warnings)
        return results

    def _evaluate(
        self,
        inputs: list[bytes],
        spans: list[tuple[int, int, tuple[str, ...]]],
        results: list[KeyedRecord],
    ) -> list[bytes]:
        try:
            return [output[:TAG_LENGTH] for output in self.server.evaluate_batch(inputs)]
        except CryptoError:
            # An input that hashes to the identity (RFC 9497 InvalidInputError) has probability
            # about 2**-252; should it happen, evaluate record by record to name the record.
            outputs: list[bytes] = []
            for position, start, kinds in spans:
                try:
                    part = self.server.evaluate_batch(inputs[start : start + len(kinds)])
                except CryptoError as error:
                    results[position] = KeyedRecord(results[position].record_id, error=str(error))
                    part = [bytes(TAG_LENGTH)] * len(kinds)
                outputs.extend(output[:TAG_LENGTH] for output in part)
            return outputs


def key_records(
    suite: Suite,
    mode: Mode,
    private_key: bytes,
    profile: str,
    dataset: str,
    records: Sequence[tuple[str, str]],
    *,
    evaluate: bool = True,
) -> list[KeyedRecord]:
    """Derive, frame and evaluate the match keys of `(record_id, content JSON)` pairs.

    A pure function of its arguments: a record whose keys cannot be derived gets `error` (the
    `InputError` message, naming the field) and no tags. With `evaluate=False` the keys are only
    derived, which validates the records.
    """
    keying = _Keying(suite.value.identifier, int(mode), private_key, profile, dataset)
    return keying.key(records, evaluate)


_worker: _Keying | None = None


def _watch_parent() -> None:
    """End this worker process as soon as its parent process has ended (see the module doc)."""
    parent = multiprocessing.parent_process()
    if parent is None:  # Not a child of multiprocessing: nothing to watch.
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        # Exit at once, without running cleanups: the parent is gone and nobody reads results.
        os._exit(ORPHAN_EXIT_STATUS)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _start_worker(suite_id: str, mode: int, private_key: bytes, profile: str, dataset: str) -> None:
    global _worker  # noqa: PLW0603 (one keying context per worker process, set once)
    # Ctrl-C reaches the whole process group; the parent alone decides what it means and shuts
    # the pool down, so a worker ignores it rather than dying mid-task with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent()
    _worker = _Keying(suite_id, mode, private_key, profile, dataset)


def _worker_task(records: list[tuple[str, str]], evaluate: bool) -> list[KeyedRecord]:
    assert _worker is not None, "the worker was not initialised"
    return _worker.key(records, evaluate)


class Evaluator:
    """Keys chunks of records on a pool of worker processes, or inline for small jobs.

    The pool starts with the first full chunk (`chunk_records` records); a job that never fills
    one is keyed in this process. `workers=1` never starts a pool.
    """

    def __init__(
        self,
        suite: Suite,
        mode: Mode,
        private_key: bytes,
        profile: str,
        dataset: str,
        *,
        workers: int | None = None,
        chunk_records: int = DEFAULT_CHUNK_RECORDS,
    ) -> None:
        self.workers = max(1, workers if workers is not None else available_cores())
        self.chunk_records = max(1, chunk_records)
        self._arguments = (suite.value.identifier, int(mode), private_key, profile, dataset)
        self._inline: _Keying | None = None
        self._pool: ProcessPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"Evaluator(workers={self.workers}, pool={'started' if self._pool else 'none'})"

    @property
    def max_in_flight(self) -> int:
        """How many chunks may be queued before the caller should wait for results."""
        return self.workers * _IN_FLIGHT_PER_WORKER if self._pool is not None else 1

    def submit(
        self, records: list[tuple[str, str]], *, evaluate: bool = True
    ) -> Future[list[KeyedRecord]]:
        """Key `records` (`(record_id, content JSON)` pairs); the future holds the outcomes."""
        if self._pool is None and self.workers > 1 and len(records) >= self.chunk_records:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=self._arguments,
            )
        if self._pool is not None:
            return self._pool.submit(_worker_task, records, evaluate)
        if self._inline is None:
            self._inline = _Keying(*self._arguments)
        future: Future[list[KeyedRecord]] = Future()
        try:
            future.set_result(self._inline.key(records, evaluate))
        except Exception as error:  # The caller sees it through the future, as with the pool.
            future.set_exception(error)
        return future

    def close(self) -> None:
        """Stop the workers; queued chunks are cancelled."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
