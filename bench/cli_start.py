"""Benchmark of the command line's start: whole `blindhit` processes, from start to exit.

Figures, each against the target of at most 150 ms:

- `blindhit --help` (every verb's parser is built),
- `blindhit keys '<record>'` (a verb that runs: it derives the match keys of one record),
- `blindhit check --help` and `blindhit serve --help` (one verb's parser and its help).

Each command is started as a new process several times after one start that is not counted; the
median and the largest wall time are printed. Two rounds are measured: with bytecode cached (as
an installed package runs; the cache is a temporary directory, never the source tree) and with
bytecode not written (PYTHONDONTWRITEBYTECODE=1, as some checkouts run: then every project module
is compiled from source at each start, unless the tree holds a `__pycache__` of its own). The
machine is shared and noisy: quote the median.

Usage: python bench/cli_start.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.150
RECORD = '{"name": "Anna Kowalczyk", "date_of_birth": "1988-11-02"}'
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("keys", RECORD),
    ("check", "--help"),
    ("serve", "--help"),
)


def blindhit() -> list[str]:
    """The `blindhit` command: the installed script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("blindhit")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "cli.main"]


def start_seconds(command: Sequence[str], environment: Mapping[str, str]) -> float:
    """Wall time of one process running `command` to its end; it must exit with status 0."""
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603 (our own command line, no shell)
        command,
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        shown = " ".join(command)
        raise SystemExit(f"{shown}: exit status {result.returncode}: {result.stderr.decode()}")
    return seconds


def measure(environment: Mapping[str, str], runs: int) -> list[str]:
    lines = []
    for arguments in COMMANDS:
        command = [*blindhit(), *arguments]
        start_seconds(command, environment)  # not counted: it fills the caches
        times = [start_seconds(command, environment) for _ in range(runs)]
        median = statistics.median(times)
        verdict = "ok" if median <= TARGET_SECONDS else "OVER the target"
        shown = "blindhit " + " ".join("'<record>'" if a == RECORD else a for a in arguments)
        lines.append(
            f"  {shown:<28} median {median * 1e3:6.1f} ms  max {max(times) * 1e3:6.1f} ms  "
            f"(target {TARGET_SECONDS * 1e3:.0f} ms: {verdict})"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two runs each, for a smoke run")
    parser.add_argument("--runs", type=int, default=15, help="counted runs of each command (15)")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else args.runs
    print(f"blindhit start, whole processes ({runs} runs each, after one not counted)")
    with tempfile.TemporaryDirectory(prefix="blindhit-bench-pyc-") as cache:
        cached = {
            name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
        }
        cached["PYTHONPYCACHEPREFIX"] = cache
        print("bytecode cached:")
        for line in measure(cached, runs):
            print(line)
    uncached = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    uncached.pop("PYTHONPYCACHEPREFIX", None)
    print("bytecode not written (PYTHONDONTWRITEBYTECODE=1):")
    for line in measure(uncached, runs):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
