"""`blindhit import` and `blindhit dataset` end to end: a real node directory, real files, SQLite.

The CLI runs in-process through `main([...])`, except where a process must die: the crash test
runs an import in a child process, stops it inside the write transaction and kills it with
SIGKILL, then checks that the previous epoch is intact and that the next import works; the
signal tests send SIGTERM or SIGKILL to an import whose worker processes run, and check that
every process it started ends within seconds and that the dataset is unchanged.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from cli.import_records import Progress
from cli.main import main
from crypto.errors import StorageError
from node.audit.entries import EntryKind
from node.audit.store import AuditLog
from node.config import Dataset, KeySettings
from node.datasets.build import BuildPhase, BuildProgress, ImportOptions, import_records
from node.datasets.sources import load_mapping, open_source, parse_mapping
from node.datasets.store import DatasetStore, EpochWriter
from node.home import init_node_directory
from protocol.match_index import size_bucket
from protocol.validation import HostPort

REPOSITORY = Path(__file__).resolve().parents[2]
VARIABLE = "BLINDHIT_TEST_IMPORT_PASSPHRASE"
PASSPHRASE = "an import passphrase"
T = TypeVar("T")

MAPPING = """
id = "REF"
delete = "ACTION"
[fields]
name = "FULL_NAME"
date_of_birth = "DOB"
document_number = "PASSPORT_NO"
document_issuing_country = "PASSPORT_COUNTRY"
[metadata]
person_status = "STATUS"
notice_type = "NOTICE"
owner_reference = "FILE_REF"
handling_code = "HCODE"
"""
HEADER = ["REF", "FULL_NAME", "DOB", "PASSPORT_NO", "PASSPORT_COUNTRY", "STATUS", "NOTICE",
          "FILE_REF", "HCODE", "ACTION"]  # fmt: skip
# Invented people. Every value here is searched for in the audit tables afterwards.
PEOPLE = [
    ["W-0001", "Jeanne Dupont-Moreau", "1979-04-17", "FR8XK27Q1", "FRA", "wanted", "red-notice",
     "DCPJ/2025/4471", "H3-restricted", ""],
    ["W-0002", "Kowalczyk, Anna Maria", "1988-11-02", "EK4471902", "POL", "missing",
     "yellow-notice", "KGP/2024/0912", "H1-open", ""],
    ["W-0003", "Дмитрий Соколов", "1979-06-21", "", "", "suspect", "", "MVD/77/3312",
     "H2-internal", ""],
    ["W-0004", "Usama Qadiri", "1966-01-30", "A77001234", "JOR", "wanted", "blue-notice",
     "PSD/1999/00017", "H3-restricted", ""],
]  # fmt: skip


def csv_text(rows: list[list[str]]) -> str:
    def cell(value: str) -> str:
        return f'"{value}"' if "," in value else value

    return "\n".join(",".join(cell(v) for v in row) for row in [HEADER, *rows]) + "\n"


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(VARIABLE, PASSPHRASE)
    directory = tmp_path / "fr-ct"
    init_node_directory(
        directory,
        node_id="fr-ct",
        country="FRA",
        listen=HostPort("127.0.0.1", 0),
        keys=KeySettings(passphrase_env=VARIABLE),
    )
    with (directory / "node.toml").open("a", encoding="utf-8") as config:
        config.write('\n[datasets.persons]\npad_to_bucket = true\ndescription = "Wanted"\n')
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    return directory


def run(*argv: str | Path) -> int:
    return main([str(argument) for argument in argv])


def import_file(node: Path, data: Path, *extra: str | Path) -> int:
    return run(
        "import", data, "--node", node, "--dataset", "persons",
        "--mapping", node.parent / "map.toml", "--workers", "1", *extra,
    )  # fmt: skip


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def show(node: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert run("dataset", "show", "persons", "--node", node, "--json") == 0
    shown: dict[str, Any] = json.loads(capsys.readouterr().out)
    return shown


def snapshot(database: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every dataset table."""
    connection = sqlite3.connect(database)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ds\\_%' "
                "ESCAPE '\\'"
            )
        ]
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in tables
        }
    finally:
        connection.close()


def audit_bytes(database: Path) -> bytes:
    """Every value of every audit table, concatenated."""
    connection = sqlite3.connect(database)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'audit%'"
            )
        ]
        parts: list[bytes] = []
        for table in tables:
            for row in connection.execute(f"SELECT * FROM {table}"):
                parts.extend(v if isinstance(v, bytes) else str(v).encode() for v in row)
        return b"\n".join(parts)
    finally:
        connection.close()


def test_import_update_rotate_show_and_export(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path / "wanted.csv", csv_text(PEOPLE))
    assert import_file(node, data, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epoch"] == 1
    assert (summary["added"], summary["rejected"], summary["created_dataset"]) == (4, 0, True)
    # Padded to a size bucket (pad_to_bucket = true in node.toml).
    assert size_bucket(summary["index_entries"]) == summary["index_entries"]
    assert summary["audit_index"] == 0

    # An update, a status change and a deletion.
    changes = [
        [*PEOPLE[0][:2], "1979-04-18", *PEOPLE[0][3:]],
        [*PEOPLE[1][:5], "arrested", *PEOPLE[1][6:]],
        ["W-0003", "", "", "", "", "", "", "", "", "delete"],
    ]
    assert import_file(node, write(tmp_path / "changes.csv", csv_text(changes))) == 0
    out = capsys.readouterr().out
    assert "epoch 2 published: added 0, updated 2, deleted 1, unchanged 0, rejected 0" in out

    assert run("dataset", "rotate-key", "persons", "--node", node, "--workers", "1") == 0
    assert "key 2 in use, key 1 retired; epoch 3 published" in capsys.readouterr().out

    shown = show(node, capsys)
    assert shown["records"] == 3
    assert [e["epoch"] for e in shown["epochs"]] == [1, 2, 3]
    assert [e["key_version"] for e in shown["epochs"]] == [1, 1, 2]
    assert shown["epochs"][1]["delta_bytes"] > 0
    assert [k["retired_at"] is None for k in shown["keys"]] == [False, True]

    with AuditLog(node / "node.db", read_only=True) as audit:
        entries = [audit.entry(i) for i in range(audit.size)]
    published = [e for e in entries if e.kind is EntryKind.DATASET_EPOCH_PUBLISHED]
    assert [e.epoch for e in published] == [1, 2, 3]
    assert [e.index_digest.hex() for e in published if e.index_digest] == [
        e["index_digest"] for e in shown["epochs"]
    ]
    assert [e.kind for e in entries].count(EntryKind.KEY_ROTATED) == 1

    target = tmp_path / "epoch2.bhmi"
    assert (
        run("dataset", "export-index", "persons", "--node", node, "--epoch", "2", "--out", target)
        == 0
    )
    assert shown["epochs"][1]["index_digest"] in capsys.readouterr().out
    assert target.stat().st_size == shown["epochs"][1]["index_bytes"]

    assert run("dataset", "list", "--node", node) == 0
    listing = capsys.readouterr().out
    assert "persons" in listing
    assert "ristretto255-SHA512" in listing


def test_json_lines_import(node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [dict(zip(HEADER, person, strict=True)) for person in PEOPLE[:2]]
    data = write(tmp_path / "wanted.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    assert import_file(node, data) == 0
    assert "added 2" in capsys.readouterr().out


def test_all_or_nothing_lists_every_error(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        PEOPLE[0],
        [*PEOPLE[1][:4], "QQ", *PEOPLE[1][5:]],
        ["W-0009", "", "", "", "", "", "", "", "", ""],
        PEOPLE[0],
    ]
    data = write(tmp_path / "bad.csv", csv_text(rows))
    assert import_file(node, data) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{data}:3: PASSPORT_COUNTRY (document_issuing_country): ")
    assert "'QQ'" in err[0]
    assert err[1:] == [
        f"{data}:4: record: no identifying field (expected a name, a document, an account, a "
        "vehicle, a phone, an e-mail or a DNA profile)",
        f"{data}:5: REF (id): record id 'W-0001' appears again (first on line 2); a record may "
        "appear once per import",
        "blindhit: 3 invalid record(s); nothing was imported (use --skip-invalid --rejects FILE "
        "to import the valid ones)",
    ]
    assert not any(
        rows for rows in snapshot(node / "node.db").values() if rows != [("schema_version", "1")]
    )


def test_skip_invalid_writes_rejects(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [PEOPLE[0], [*PEOPLE[1][:4], "QQ", *PEOPLE[1][5:]], PEOPLE[2]]
    data = write(tmp_path / "mixed.csv", csv_text(rows))
    rejects = tmp_path / "rejects.csv"
    assert import_file(node, data, "--skip-invalid", "--rejects", rejects) == 0
    assert "added 2, updated 0, deleted 0, unchanged 0, rejected 1" in capsys.readouterr().out
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join([*HEADER, "_line", "_reason"])
    assert lines[1].startswith("W-0002,")
    assert ",3,PASSPORT_COUNTRY (document_issuing_country): " in lines[1]
    assert oct(rejects.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--dataset": "vehicles"}, "no [datasets.vehicles] table"),
        ({"--skip-invalid": None}, "--skip-invalid needs --rejects FILE"),
        ({"--mapping": "broken.toml"}, "broken.toml: fields.nom: unknown record field"),
        ({"--node": "elsewhere"}, "cannot read configuration"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    node: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str | None],
    message: str,
) -> None:
    data = write(tmp_path / "wanted.csv", csv_text(PEOPLE))
    write(tmp_path / "broken.toml", 'id = "REF"\n[fields]\nnom = "FULL_NAME"\n')
    options: dict[str, str | Path | None] = {
        "--node": node,
        "--dataset": "persons",
        "--mapping": tmp_path / "map.toml",
    }
    for name, change in changes.items():
        options[name] = tmp_path / change if name in ("--node", "--mapping") and change else change
    command: list[str | Path] = ["import", data]
    for name, value in options.items():
        command += [name] if value is None else [name, value]
    assert run(*command) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("blindhit: ")
    assert message in err


def test_wrong_passphrase_is_refused(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write(tmp_path / "wanted.csv", csv_text(PEOPLE))
    assert import_file(node, data) == 0
    monkeypatch.setenv(VARIABLE, "not the passphrase")
    capsys.readouterr()
    assert import_file(node, data) == 2
    err = capsys.readouterr().err
    assert (
        "cannot unseal the OPRF key of dataset 'persons' (key version 1): wrong passphrase" in err
    )
    assert run("dataset", "rotate-key", "persons", "--node", node) == 2


def test_no_record_value_reaches_the_audit_log(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert import_file(node, write(tmp_path / "a.csv", csv_text(PEOPLE))) == 0
    changed = [[*PEOPLE[3][:5], "arrested", *PEOPLE[3][6:]]]
    assert import_file(node, write(tmp_path / "b.csv", csv_text(changed))) == 0
    assert run("dataset", "rotate-key", "persons", "--node", node, "--workers", "1") == 0
    logged = audit_bytes(node / "node.db")
    assert b"dataset_epoch_published" in logged
    values = {value for person in PEOPLE for value in person if len(value) >= 3}
    values |= {
        part for person in PEOPLE for part in person[1].replace(",", " ").split() if len(part) >= 4
    }
    for value in sorted(values):
        for spelling in {value, value.lower(), value.upper(), value.casefold()}:
            assert spelling.encode("utf-8") not in logged, value
            assert json.dumps(spelling).encode() not in logged, value


def test_an_exception_before_commit_changes_nothing(
    node: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert import_file(node, write(tmp_path / "a.csv", csv_text(PEOPLE[:2]))) == 0
    before = snapshot(node / "node.db")

    def fail(self: EpochWriter, new: object) -> None:
        raise StorageError("the disk is full (injected)")

    monkeypatch.setattr(EpochWriter, "insert_epoch", fail)
    assert import_file(node, write(tmp_path / "b.csv", csv_text(PEOPLE[2:]))) == 2
    assert "the disk is full (injected)" in capsys.readouterr().err
    assert snapshot(node / "node.db") == before


CHILD = """
import sys, time
from cli.main import main
from cli.import_records import Progress
from node.datasets.store import EpochWriter

original = EpochWriter.insert_epoch

def stall(self, new):
    original(self, new)
    print("inside the transaction", flush=True)
    time.sleep(600)

EpochWriter.insert_epoch = stall
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
"""


def test_sigkill_inside_the_transaction_leaves_the_previous_epoch(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = node / "node.db"
    assert import_file(node, write(tmp_path / "a.csv", csv_text(PEOPLE[:2]))) == 0
    before = snapshot(database)
    script = write(tmp_path / "child.py", CHILD)
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY), **{VARIABLE: PASSPHRASE})
    data = write(tmp_path / "b.csv", csv_text(PEOPLE[2:]))
    child = subprocess.Popen(
        [sys.executable, str(script), "import", str(data), "--node", str(node),
         "--dataset", "persons", "--mapping", str(tmp_path / "map.toml"), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 60
        line = b""
        while b"inside the transaction" not in line:
            assert time.monotonic() < deadline, "the child did not reach the transaction"
            line = child.stdout.readline()
            assert line or child.poll() is None, child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert snapshot(database) == before
    # The database is not left locked, and the next import publishes epoch 2.
    assert import_file(node, data) == 0
    assert "epoch 2 published: added 2" in capsys.readouterr().out


def test_an_epoch_left_unlogged_by_a_crash_is_logged_by_the_next_command(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Commit an epoch without logging it, as a crash between the commit and the audit append
    # would leave it.
    mapping = load_mapping(tmp_path / "map.toml")
    source = open_source(write(tmp_path / "a.csv", csv_text(PEOPLE[:2])), mapping)
    with DatasetStore(node / "node.db") as store:
        import_records(
            store,
            Dataset("persons", pad_to_bucket=True),
            source,
            node_id="fr-ct",
            passphrase=PASSPHRASE.encode(),
            options=ImportOptions(workers=1),
        )
        assert [e.epoch for e in store.unlogged_epochs()] == [1]
    assert import_file(node, write(tmp_path / "b.csv", csv_text(PEOPLE[2:]))) == 0
    with AuditLog(node / "node.db", read_only=True) as audit:
        epochs = [audit.entry(i).epoch for i in range(audit.size)]
    assert epochs == [1, 2]
    with DatasetStore(node / "node.db") as store:
        assert store.unlogged_epochs() == []


def test_listing_declared_datasets_and_warnings(
    node: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("dataset", "list", "--node", node, "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["name"], row["declared"], row["records"], row["epoch"]) == (
        "persons",
        True,
        0,
        None,
    )
    assert run("dataset", "show", "persons", "--node", node) == 2
    assert "has no data: import records into it first" in capsys.readouterr().err
    placeholder = [["W-0010", "Ana Lopez", "1900-01-01", "", "", "", "", "", "", ""]]
    assert import_file(node, write(tmp_path / "w.csv", csv_text(placeholder)), "--warnings") == 0
    captured = capsys.readouterr()
    assert "data-quality warnings" in captured.out
    assert f"{tmp_path / 'w.csv'}:2: DOB (date_of_birth): " in captured.err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only(tmp_path: Path) -> None:
    source = open_source(
        write(tmp_path / "a.csv", csv_text(PEOPLE)), parse_mapping(MAPPING, Path("m.toml"))
    )
    terminal = FakeTerminal()
    progress = Progress(
        terminal, "importing a.csv", source.size, position=lambda step: source.bytes_read
    )
    assert len(list(_reported(source, progress))) == len(PEOPLE)
    progress(BuildProgress(BuildPhase.WRITING, len(PEOPLE)))
    progress.close()
    shown = terminal.getvalue()
    assert "importing a.csv [" in shown
    assert "100% writing" in shown
    assert shown.endswith("\n")
    quiet = io.StringIO()
    silent = Progress(quiet, "importing", source.size)
    list(_reported(source, silent))
    silent.close()
    assert quiet.getvalue() == ""


def _reported(records: Iterable[T], progress: Progress) -> Iterator[T]:
    """Yield `records`, reporting each as an import does."""
    for count, record in enumerate(records, 1):
        progress(BuildProgress(BuildPhase.EVALUATING, count))
        yield record


def _descendants(pid: int) -> set[int]:
    """The live (not zombie) processes descended from `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # The process ended while /proc was read.
            continue
        # The command name is in parentheses and may hold blanks; the state and parent follow.
        state, parent = stat.rpartition(")")[2].split()[:2]
        if state != "Z":
            parents[int(entry.name)] = int(parent)
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def _alive(pids: Iterable[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _many_people(count: int) -> str:
    rows = [
        [f"B-{n:06d}", f"Person Number{n} Example", f"19{50 + n % 50:02d}-0{1 + n % 9}-1{n % 10}",
         f"X{n:08d}", "FRA", "wanted", "", "", "", ""]
        for n in range(count)
    ]  # fmt: skip
    return csv_text(rows)


def _stop_a_running_import(
    node: Path, tmp_path: Path, sig: signal.Signals
) -> tuple[subprocess.Popen[bytes], set[int]]:
    """Start a big import on two workers in a child process, signal it once both workers run."""
    data = write(tmp_path / "big.csv", _many_people(30_000))
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY), **{VARIABLE: PASSPHRASE})
    child = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "import", str(data), "--node", str(node),
         "--dataset", "persons", "--mapping", str(tmp_path / "map.toml"), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    workers: set[int] = set()
    while len(workers) < 2:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the import's workers did not start"
        time.sleep(0.1)
        workers = {
            pid
            for pid in _descendants(child.pid)
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        }
    # The helper processes too (multiprocessing's resource tracker), seen while the import runs.
    started = _descendants(child.pid)
    assert workers <= started
    child.send_signal(sig)
    return child, started


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


def test_sigterm_stops_an_import_cleanly_and_its_workers_with_it(
    node: Path, tmp_path: Path
) -> None:
    assert import_file(node, write(tmp_path / "a.csv", csv_text(PEOPLE[:2]))) == 0
    before = snapshot(node / "node.db")
    child, started = _stop_a_running_import(node, tmp_path, signal.SIGTERM)
    try:
        _, err = child.communicate(timeout=60)
        assert child.returncode == 128 + signal.SIGTERM
        assert err.decode().splitlines() == [
            "blindhit: SIGTERM: import stopped, nothing was imported"
        ]
        assert _wait_gone(started, 5) == set()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in _alive(started):  # Never leave an orphan behind, even when the test fails.
            os.kill(pid, signal.SIGKILL)
    assert snapshot(node / "node.db") == before


def test_sigkill_of_an_import_ends_its_workers(node: Path, tmp_path: Path) -> None:
    assert import_file(node, write(tmp_path / "a.csv", csv_text(PEOPLE[:2]))) == 0
    before = snapshot(node / "node.db")
    child, started = _stop_a_running_import(node, tmp_path, signal.SIGKILL)
    try:
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        assert _wait_gone(started, 5) == set()
    finally:
        for pid in _alive(started):  # Never leave an orphan behind, even when the test fails.
            os.kill(pid, signal.SIGKILL)
    assert snapshot(node / "node.db") == before


def test_the_help_shows_a_mapping_that_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["import", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    example = text[text.index("for example:\n") : text.index("\nRecord fields:")]
    toml = "\n".join(line.removeprefix("  ") for line in example.splitlines()[1:])
    mapping = parse_mapping(toml, Path("help.toml"))
    assert mapping.id_column == "REF"
    assert mapping.metadata["owner_reference"] == "FILE_REF"
    assert "owner_reference and handling_code never leave the node" in text
    assert "stored, never a match key" in text
