"""Two member nodes made and run from the command line, shared by the integration tests.

`federation` (one per test module) is what two operators would set up by hand: a development CA,
`blindhit init` of an owner (fr-ct) and a querier (de-bka), `[datasets]`, `[[peers]]` and
`[[policy]]` appended to their node.toml, a CSV of 400 invented wanted persons imported by the
owner, the owner running `blindhit serve` in its own process on an ephemeral loopback port, and
a 300-passenger manifest for the querier in which five of the wanted persons travel. Every
process started here is ended when the module's tests are done.

`fault_seed` is the seed of tests that choose faults at random (kill points, delays, orders):
taken from the environment variable `BLINDHIT_FAULT_SEED` to replay a failure, drawn fresh
otherwise, and named in the failure report of a test that used it with the command that
replays it.
"""

from __future__ import annotations

import csv
import json
import os
import random
import secrets
import select
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dev.synthetic import synthetic_people
from protocol.match_keys import derive_keys

REPOSITORY = Path(__file__).resolve().parents[2]
SEED_VARIABLE = "BLINDHIT_FAULT_SEED"
VARIABLE = "BLINDHIT_TEST_SERVE_PASSPHRASE"
PASSPHRASE = "a serve passphrase"

MAPPING = """
id = "REF"
[fields]
given_names = "GIVEN"
family_name = "FAMILY"
date_of_birth = "DOB"
nationality = "NATIONALITY"
document_type = "DOC_TYPE"
document_number = "DOC_NO"
document_issuing_country = "DOC_COUNTRY"
[metadata]
person_status = "STATUS"
notice_type = "NOTICE"
owner_reference = "FILE_REF"
"""
HEADER = ["REF", "GIVEN", "FAMILY", "DOB", "NATIONALITY", "DOC_TYPE", "DOC_NO", "DOC_COUNTRY",
          "STATUS", "NOTICE", "FILE_REF"]  # fmt: skip
OWNER_RECORDS = 400
# What the owner's policy lets a disclosure release at all: no place of birth, for example.
RELEASABLE = ["name", "family_name", "given_names", "date_of_birth", "nationality",
              "document_type", "document_number", "document_issuing_country"]  # fmt: skip
PLANTED = (3, 57, 120, 233, 391)  # owner records that board the plane
MANIFEST_SIZE = 300
PURPOSE = ["--officer", "of-17", "--purpose", "border-check",
           "--legal-basis", "EU-2016/680:Art.8", "--case", "DE-2026-0042"]  # fmt: skip


def blindhit(
    *argv: object, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the command line in its own process, as an operator would."""
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *map(str, argv)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, VARIABLE: PASSPHRASE},
    )
    if check and result.returncode not in (0, 1):
        raise AssertionError(f"blindhit {argv[0]} failed: {result.stderr}")
    return result


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    log: Path

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # in case a test left it stopped
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text(encoding="utf-8")


def start_server(node: Path, log: Path, port: int = 0) -> Server:
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--node", str(node), "--port", str(port)],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=log.open("a", encoding="utf-8"),
        text=True,
        env={**os.environ, VARIABLE: PASSPHRASE},
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    line = process.stdout.readline() if ready else ""
    if " listening on " not in line:
        process.kill()
        process.wait()
        raise AssertionError(f"serve did not start: {line!r} {log.read_text(encoding='utf-8')}")
    return Server(process, int(line.rsplit(":", 1)[1]), log)


def record_row(person: dict[str, Any], number: int) -> list[str]:
    return [
        person["id"], person["given_names"], person["family_name"], person["date_of_birth"],
        person["nationality"], person["document_type"], person["document_number"],
        person["document_issuing_country"], "wanted", "red-notice", f"DCPJ/2026/{number:05d}",
    ]  # fmt: skip


def invented_passenger(rng: random.Random, number: int) -> dict[str, str]:
    """A passenger whose name no list of the owner's generator can produce."""

    def word(length: int) -> str:
        return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(length))

    return {
        "id": f"PAX-{number:03d}",
        "name": f"{word(3).title()} {word(4).title()}",
        "date_of_birth": f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-"
        f"{rng.randint(1, 28):02d}",
        "document_number": f"Q{rng.randint(10**7, 10**8 - 1)}",
        "document_issuing_country": "NLD",
    }


PLANTED_IDS = frozenset({"PAX-010", "PAX-080", "PAX-150", "PAX-220", "PAX-299"})


@dataclass
class Federation:
    root: Path
    owner: Path
    querier: Path
    people: list[dict[str, Any]]
    manifest: Path
    passengers: list[dict[str, str]]
    server: Server
    purpose: tuple[str, ...] = tuple(PURPOSE)
    planted_ids: frozenset[str] = PLANTED_IDS
    owner_records: int = OWNER_RECORDS
    header: tuple[str, ...] = tuple(HEADER)

    @staticmethod
    def hits(report: dict[str, Any]) -> set[str]:
        return hit_probes(report)

    @staticmethod
    def every_byte(directory: Path) -> bytes:
        return every_byte(directory)

    @staticmethod
    def values_and_keys(records: Sequence[dict[str, Any]]) -> set[bytes]:
        return values_and_keys(records)

    @staticmethod
    def integrity(database: Path) -> str:
        return integrity(database)

    @staticmethod
    def record_row(person: dict[str, Any], number: int) -> list[str]:
        return record_row(person, number)

    @staticmethod
    def run(*argv: object, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`blindhit ARGV...` in its own process."""
        return blindhit(*argv, check=check)

    @staticmethod
    def popen(*argv: object) -> subprocess.Popen[str]:
        """`blindhit ARGV...` started in its own process, output piped."""
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", *map(str, argv)],
            cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, VARIABLE: PASSPHRASE},
        )  # fmt: skip

    def restart_owner(self) -> None:
        """Start the owner's `serve` again on the port it had (after a stop or a kill)."""
        self.server.stop()
        self.server = start_server(self.owner, self.root / "fr-ct.log", self.server.port)

    def check_manifest(self, *extra: str) -> tuple[int, dict[str, Any]]:
        result = blindhit(
            "check", "--node", self.querier, "--dataset", "watchlist",
            "--manifest", self.manifest, *self.purpose, "--json", *extra, check=False,
        )  # fmt: skip
        assert result.returncode in (0, 1, 3), result.stderr
        report: dict[str, Any] = json.loads(result.stdout)
        return result.returncode, report

    def import_people(self, rows: Sequence[Sequence[str]], name: str) -> None:
        """Import more records into the owner's dataset, as one new epoch."""
        data = write_csv(self.root / name, HEADER, rows)
        imported = blindhit(
            "import", data, "--node", self.owner, "--dataset", "watchlist",
            "--mapping", self.root / "wanted.toml", "--workers", "1",
        )  # fmt: skip
        assert imported.returncode == 0, imported.stderr

    def verify_audit_log(self, node: Path, name: str) -> dict[str, Any]:
        """Export `node`'s audit log (signing a checkpoint) and verify it offline; the report."""
        export = self.root / name
        exported = blindhit(
            "audit", "export", "--database", node / "node.db", "--out", export,
            "--key", node / "keys" / "identity.pem", "--passphrase-env", VARIABLE,
        )  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        verified = blindhit(
            "audit", "verify", "--export", export,
            "--public-key", node / "keys" / "identity.vkey", "--json", check=False,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
        report: dict[str, Any] = json.loads(verified.stdout)
        return report


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def init_node(root: Path, node_id: str, country: str) -> dict[str, Any]:
    result = blindhit(
        "init", root / node_id, "--node-id", node_id, "--country", country,
        "--listen", "127.0.0.1:0", "--passphrase-env", VARIABLE, "--dev-ca", root / "ca",
        "--dev-ca-passphrase-env", VARIABLE, "--json",
    )  # fmt: skip
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def append(config: Path, text: str) -> None:
    with config.open("a", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("serve")
    blindhit("dev-ca", "init", root / "ca", "--name", "Test CA", "--passphrase-env", VARIABLE)
    owner_info = init_node(root, "fr-ct", "FRA")
    querier_info = init_node(root, "de-bka", "DEU")
    owner, querier = root / "fr-ct", root / "de-bka"

    people = list(synthetic_people(OWNER_RECORDS, seed=77, prefix="W"))
    write_csv(root / "wanted.csv", HEADER, [record_row(p, i) for i, p in enumerate(people)])
    (root / "wanted.toml").write_text(MAPPING, encoding="utf-8")
    append(
        owner / "node.toml",
        f'\n[datasets.watchlist]\ndescription = "Wanted persons"\n'
        f"releasable_fields = {json.dumps(RELEASABLE)}\n\n"
        f'[[peers]]\nid = "de-bka"\nendpoint = "127.0.0.1:1"\n'
        f'identity_key = "{querier_info["identity_key"]}"\n'
        f'certificate_fingerprint = "{querier_info["certificate_fingerprint"]}"\n\n'
        f'[[policy]]\npeer = "de-bka"\ndatasets = ["watchlist"]\n'
        f'modes = ["index", "owner-match"]\ndaily_quota = 100000\n',
    )
    imported = blindhit(
        "import", root / "wanted.csv", "--node", owner, "--dataset", "watchlist",
        "--mapping", root / "wanted.toml", "--workers", "1",
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr

    server = start_server(owner, root / "fr-ct.log")
    append(
        querier / "node.toml",
        f'\n[[peers]]\nid = "fr-ct"\nendpoint = "127.0.0.1:{server.port}"\n'
        f'identity_key = "{owner_info["identity_key"]}"\n'
        f'certificate_fingerprint = "{owner_info["certificate_fingerprint"]}"\n',
    )

    rng = random.Random(2026)
    passengers = [invented_passenger(rng, n) for n in range(MANIFEST_SIZE)]
    for slot, planted in zip((10, 80, 150, 220, 299), PLANTED, strict=True):
        person = people[planted]
        # The border sees "FAMILY, Given" in capitals and the passport, as a real manifest would.
        passengers[slot] = {
            "id": f"PAX-{slot:03d}",
            "name": f"{person['family_name'].upper()}, {person['given_names']}",
            "date_of_birth": person["date_of_birth"],
            "document_number": person["document_number"],
            "document_issuing_country": person["document_issuing_country"],
        }
    fields = ["id", "name", "date_of_birth", "document_number", "document_issuing_country"]
    manifest = write_csv(
        root / "manifest.csv", fields, [[p[f] for f in fields] for p in passengers]
    )
    made = Federation(root, owner, querier, people, manifest, passengers, server)
    try:
        yield made
    finally:
        made.server.stop()  # the one running now: the kill test starts a second


def every_byte(directory: Path) -> bytes:
    """Every file under `directory`, concatenated (databases with their WAL files)."""
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def values_and_keys(records: Sequence[dict[str, Any]]) -> set[bytes]:
    """Every field value of `records` and every match-key value derived from them."""
    found: set[bytes] = set()
    for person in records:
        record = {k: v for k, v in person.items() if k != "id"}
        found.update(str(v).encode() for v in record.values())
        found.update(k.value.encode() for k in derive_keys(record).keys)
    return {value for value in found if len(value) >= 6}


def integrity(database: Path) -> str:
    connection = sqlite3.connect(database)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def hit_probes(report: dict[str, Any]) -> set[str]:
    return {
        probe["probe"]
        for probe in report["probes"]
        if any(r["status"] == "hit" for r in probe["results"])
    }


def _fault_seed() -> int:
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return secrets.randbits(32)
    try:
        return int(text, 0)
    except ValueError:
        raise pytest.UsageError(f"{SEED_VARIABLE}: expected an integer, got {text!r}") from None


@pytest.fixture
def fault_seed(request: pytest.FixtureRequest) -> int:
    """The seed of this test's random fault choices, kept with its report."""
    seed = _fault_seed()
    request.node.user_properties.append(("fault_seed", seed))
    return seed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Name the fault seed in the report of a failed test that used one."""
    del call
    report = yield
    if report.failed:
        for name, value in item.user_properties:
            if name == "fault_seed":
                report.sections.append(
                    (
                        "fault seed",
                        f"faults chosen with seed {value}; replay with "
                        f"{SEED_VARIABLE}={value} pytest '{item.nodeid}'",
                    )
                )
    return report
