"""The whole story on one machine: a federation of real processes on loopback (`make demo`).

1. The General Secretariat creates its coordinating node: a CA and a directory key.
2. Four member nodes are created and admitted from their certificate requests: France, Jordan
   and Ukraine hold wanted-person datasets (invented people in Latin, Arabic and Cyrillic script,
   imported through the real import), Germany checks. Each joins and runs `blindhit serve`; the
   coordinating node runs `blindhit federation serve`. Every node is its own process with its
   own SQLite database, talking gRPC with mutual TLS over loopback.
3. Germany checks a 300-passenger manifest against every member in one fan-out through the
   coordinating node, which relays blinded elements it cannot read and signed answers it cannot
   forge.
4. Germany files a disclosure request for one hit; the owner's officer approves part of it with
   handling code H2; Germany fetches the release, sealed with HPKE to its key, and decrypts it.
5. Every audit log is exported and verified offline, the members' checkpoints with the
   coordinating node's cosignature as witness.

`run_demo` does it all under a root directory and stops every process it started, whatever
happens; `blindhit demo` runs it in a temporary directory. The same function backs the
federation's end-to-end tests, so what the demo shows is what is tested.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from cryptography import x509

from crypto.cosignature import CosignatureVerifier
from crypto.errors import InputError
from crypto.oprf import Mode, Suite
from crypto.signed_note import Ed25519Verifier
from dev.synthetic import synthetic_people
from federation.coordinator import Coordinator, init_federation
from node.audit import AuditLog, EntryKind
from node.audit.export import export_log
from node.audit.verify import verify_export
from node.config import (
    ANY_PEER,
    Dataset,
    FederationSettings,
    KeySettings,
    PolicyRule,
    load_config,
    update_config,
)
from node.datasets.build import ImportOptions, import_records, log_epochs
from node.datasets.sources import SourceRecord
from node.datasets.store import DatasetStore
from node.home import NodeLayout, init_node_directory, install_certificate
from node.keys.identity import load_verifier
from node.keys.tls import load_certificate_request
from protocol.admission import QueryMode
from protocol.directory import DirectoryDataset
from protocol.validation import HostPort

__all__ = ["DemoFederation", "DemoReport", "Member", "run_demo", "running_federation"]

PASSPHRASE_ENV: Final = "BLINDHIT_DEMO_PASSPHRASE"  # noqa: S105 (a variable name)
DATASET: Final = "watchlist"
COORDINATOR: Final = "gs-lyon"
REPOSITORY: Final = Path(__file__).resolve().parents[1]
_CASE: Final = ["--officer", "de-of-17", "--purpose", "border-check",
                "--legal-basis", "EU-2016/680:Art.8", "--case", "DE-2026-0042"]  # fmt: skip


@dataclass(frozen=True)
class Member:
    """A member node of the demo, and the wanted persons it plants in its dataset."""

    node_id: str
    country: str
    records: int
    planted: tuple[dict[str, Any], ...] = ()


MEMBERS: Final = (
    Member("fr-ct", "FRA", 2000, (
        {"id": "FR-W-0001", "family_name": "Kowalczyk", "given_names": "Anna Maria",
         "date_of_birth": "1988-11-02", "document_type": "passport",
         "document_number": "EK4471902", "document_issuing_country": "POL",
         "person_status": "wanted", "notice_type": "red-notice"},
    )),
    Member("jo-psd", "JOR", 2000, (
        {"id": "JO-W-0001", "name": "أسامة بن لادن", "date_of_birth": "1957-03-10",
         "person_status": "wanted", "notice_type": "red-notice",
         "warning_markers": "armed"},
    )),
    Member("ua-sbu", "UKR", 2000, (
        {"id": "UA-W-0001", "name": "Дмитрий Соколов", "date_of_birth": "1979-06-21",
         "person_status": "suspect", "notice_type": "blue-notice"},
    )),
    Member("de-bka", "DEU", 300),
)  # fmt: skip
QUERIER: Final = "de-bka"
_PLANTED_PASSENGERS: Final = (
    # How the same people appear on a passenger list: other script, order, spacing.
    {"id": "PAX-017", "name": "KOWALCZYK, Anna", "date_of_birth": "1988-11-02",
     "document_number": "EK 4471902", "document_issuing_country": "POL"},
    {"id": "PAX-108", "name": "Usama bin Ladin", "date_of_birth": "1957-03-10"},
    {"id": "PAX-233", "name": "SOKOLOV Dmitriy", "date_of_birth": "1979-06-21"},
)  # fmt: skip


@dataclass
class DemoReport:
    """What the demo did, for the tests and the closing lines."""

    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)
    fan_out_calls: int = 0
    request_id: str = ""
    release: dict[str, Any] = field(default_factory=dict)
    verified_logs: dict[str, int] = field(default_factory=dict)
    cosigned: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class _Processes:
    """Every server process the demo starts, ended on exit."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self.running: dict[str, subprocess.Popen[str]] = {}

    def start(self, name: str, argv: Sequence[str]) -> subprocess.Popen[str]:
        log = (self._logs / f"{name}.log").open("a", encoding="utf-8")
        process = subprocess.Popen(  # noqa: S603 (our own command line, no shell)
            [sys.executable, "-m", "cli.main", *argv],
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        self.running[name] = process
        return process

    def wait_listening(self, name: str, timeout: float = 60.0) -> None:
        process = self.running[name]
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        if " listening on " not in line:
            log = (self._logs / f"{name}.log").read_text(encoding="utf-8").strip()
            raise InputError(f"{name} did not start: {log.splitlines()[-1] if log else line!r}")

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _certificates(pem: bytes) -> list[x509.Certificate]:
    return list(x509.load_pem_x509_certificates(pem))


def _free_ports(count: int) -> list[int]:
    """Ports free on loopback now (each node must know the others' before they start)."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            handle.bind(("127.0.0.1", 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def _records(member: Member, seed: int) -> Iterator[SourceRecord]:
    people: list[dict[str, Any]] = [
        *synthetic_people(member.records, seed=seed, prefix=f"{member.country}-"),
        *member.planted,
    ]
    for line, person in enumerate(people, start=1):
        fields = dict(person)
        record_id = str(fields.pop("id"))
        metadata: dict[str, str] = {
            key: str(fields.pop(key))
            for key in ("person_status", "notice_type", "warning_markers")
            if key in fields
        }
        yield SourceRecord(line, record_id, fields, metadata or {"person_status": "wanted"})


def _manifest(path: Path, count: int) -> Path:
    rng = random.Random(7)  # noqa: S311 (invented passengers)
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sa",
        "te",
        "vo",
        "zi",
        "pe",
        "da",
        "fu",
        "go",
        "hi",
        "ja",
    ]

    def word(parts: int) -> str:
        return "".join(rng.choice(syllables) for _ in range(parts)).title()

    rows = [
        {"id": f"PAX-{n:03d}", "name": f"{word(2)} {word(3)}",
         "date_of_birth": f"{rng.randint(1945, 2006)}-{rng.randint(1, 12):02d}-"
                          f"{rng.randint(1, 28):02d}",
         "document_number": f"X{rng.randint(10**7, 10**8 - 1)}",
         "document_issuing_country": "NLD"}
        for n in range(count)
    ]  # fmt: skip
    for planted in _PLANTED_PASSENGERS:
        rows[int(str(planted["id"])[4:]) % count] = dict(planted)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _blindhit(argv: Sequence[str]) -> tuple[int, str]:
    """Run `blindhit ARGV` as an operator would, in its own process; (status, standard output).

    What it writes to standard error reaches the demo's own, so a failure says why.
    """
    done = subprocess.run(  # noqa: S603 (our own command line, no shell)
        [sys.executable, "-m", "cli.main", *argv],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout


class DemoFederation:
    """One run of the demo: its root, ports, printed steps and report."""

    def __init__(
        self, root: Path, out: TextIO, members: Sequence[Member], refresh_seconds: float = 1.0
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.root = root
        self.out = out
        self.members = members
        self.started = time.perf_counter()
        os.environ.setdefault(PASSPHRASE_ENV, "demo passphrase: keys are encrypted at rest")
        self.keys = KeySettings(passphrase_env=PASSPHRASE_ENV)
        self.passphrase = os.environ[PASSPHRASE_ENV].encode()
        root.mkdir(parents=True, exist_ok=True)
        (root / "logs").mkdir(exist_ok=True)
        self.report = DemoReport(root)
        ports = _free_ports(len(members) + 1)
        self.report.ports = {COORDINATOR: ports[0]} | {
            m.node_id: port for m, port in zip(members, ports[1:], strict=True)
        }
        self.gs_dir = root / COORDINATOR
        self.gs_endpoint = HostPort("127.0.0.1", ports[0])
        self.processes = _Processes(root / "logs")

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def step(self, title: str) -> None:
        self.say(f"\n== {title} ({time.perf_counter() - self.started:.1f} s)")

    def node_dir(self, node_id: str) -> Path:
        return self.root / node_id

    # -- 1 and 2 -------------------------------------------------------------------------------

    def create_coordinator(self) -> Ed25519Verifier:
        self.step("1. The General Secretariat creates the coordinating node")
        init_federation(
            self.gs_dir, node_id=COORDINATOR, listen=self.gs_endpoint,
            endpoint=self.gs_endpoint, keys=self.keys, refresh_seconds=10,
        )  # fmt: skip
        key = load_verifier(self.gs_dir / "keys" / "identity.vkey", COORDINATOR)
        self.say(f"   {COORDINATOR}: federation CA, directory key {key.verifier_key()[:40]}…")
        return key

    def create_member(self, member: Member, number: int, gs_key: Ed25519Verifier) -> None:
        endpoint = HostPort("127.0.0.1", self.report.ports[member.node_id])
        node_dir = self.node_dir(member.node_id)
        layout = NodeLayout(node_dir)
        init_node_directory(
            node_dir, node_id=member.node_id, country=member.country, listen=endpoint,
            keys=self.keys,
        )  # fmt: skip
        offered = DirectoryDataset(DATASET, Suite.RISTRETTO255_SHA512, Mode.OPRF, b"", 10**6)
        with Coordinator.open(self.gs_dir) as coordinator:
            admission = coordinator.admit(
                load_certificate_request(layout.tls_csr),
                member_id=member.node_id,
                country=member.country,
                endpoint=endpoint,
                identity_key=load_verifier(layout.identity_verifier_key),
                datasets=[offered],
                passphrase=self.passphrase,
            )
            ca = [coordinator.ca_certificate()]
        install_certificate(node_dir, _certificates(admission.certificate_pem), ca)
        config = load_config(layout.config)
        # Every member may check this dataset (`peer = "*"`); its peers come from the directory.
        rule = PolicyRule(ANY_PEER, (DATASET,), (QueryMode.INDEX, QueryMode.OWNER_MATCH),
                          4096, 10**6)  # fmt: skip
        joined = dataclasses.replace(
            config,
            datasets=(Dataset(DATASET, description="Wanted persons"),),
            policy=(rule,),
            federation=FederationSettings(
                COORDINATOR, self.gs_endpoint, gs_key, None, self.refresh_seconds
            ),
        )
        update_config(layout.config, joined)
        database = config.node.database
        with DatasetStore(database) as store, AuditLog(database) as log:
            result = import_records(
                store, Dataset(DATASET), _records(member, seed=100 + number),
                node_id=member.node_id, passphrase=self.passphrase,
                options=ImportOptions(),
            )  # fmt: skip
            log_epochs(store, log, member.node_id)
        epoch = result.epoch
        assert epoch is not None
        self.say(
            f"   {member.node_id} ({member.country}): {epoch.record_count:,} records in Latin, "
            f"Arabic and Cyrillic script, {epoch.published_count:,} index entries, "
            f"{epoch.index_size / 1024:.0f} KiB on the wire; admitted"
        )

    # -- 3 -------------------------------------------------------------------------------------

    def start_nodes(self) -> None:
        self.step("3. Every node starts: blindhit federation serve, blindhit serve")
        gs_command = ["federation", "serve", "--federation", str(self.gs_dir)]
        self.processes.start(COORDINATOR, gs_command)
        self.processes.wait_listening(COORDINATOR)
        for member in self.members:
            self.processes.start(
                member.node_id, ["serve", "--node", str(self.node_dir(member.node_id))]
            )
        for name in self.processes.running:
            if name != COORDINATOR:
                self.processes.wait_listening(name)
            self.say(f"   {name} listening on 127.0.0.1:{self.report.ports[name]}")

    # -- 4 -------------------------------------------------------------------------------------

    def check(self, passengers: int) -> list[dict[str, Any]]:
        self.step(f"4. {QUERIER} checks a {passengers}-passenger manifest against every member")
        manifest = _manifest(self.root / "manifest.jsonl", passengers)
        started = time.perf_counter()
        status, printed = _blindhit([
            "check", "--node", str(self.node_dir(QUERIER)), "--dataset", DATASET,
            "--manifest", str(manifest), "--all", *_CASE, "--json",
        ])  # fmt: skip
        if status not in (0, 1):
            raise InputError(f"the check failed with status {status}")
        self.report.check = json.loads(printed)
        seconds = time.perf_counter() - started
        for peer in self.report.check["peers"]:
            self.say(
                f"   {peer['peer']:<8} {peer['status']:<9} {peer['message']:<24} "
                f"{peer['seconds'] * 1000:6.0f} ms, with the owner's signed receipt"
            )
        hits = [
            probe
            for probe in self.report.check["probes"]
            if any(result["status"] == "hit" for result in probe["results"])
        ]
        self.say(
            f"   {len(hits)} of {passengers} passengers hit, in {seconds:.2f} s (index sync, "
            "blinding, one fan-out through the coordinating node, unblinding):"
        )
        for probe in hits:
            for result in probe["results"]:
                if result["status"] == "hit":
                    kinds = ", ".join(f"{k['kind']} ({k['strength']})" for k in result["keys"])
                    self.say(f"     {probe['probe']:<9} HIT at {result['peer']}: {kinds}")
        return hits

    # -- 5 -------------------------------------------------------------------------------------

    def disclose(self, hits: Sequence[dict[str, Any]]) -> None:
        self.step("5. Disclosure: request, partial approval with H2, sealed release")
        probe, result = next(
            (p, r) for p in hits for r in p["results"]
            if r["status"] == "hit" and r["peer"] == "fr-ct"
        )  # fmt: skip
        reference = next(k for k in result["keys"] if k["strength"] == "strong")
        querier = str(self.node_dir(QUERIER))
        _, printed = _blindhit([
            "requests", "file", "--node", querier, "--reference", reference["match_reference"],
            "--fields", "family_name,given_names,date_of_birth,document_number",
            "--urgency", "urgent", "--justification",
            f"{probe['probe']} boards LH 1234 with a passport the check matched.",
            *_CASE, "--json",
        ])  # fmt: skip
        request = json.loads(printed)
        request_id = request["request_id"]
        self.report.request_id = request_id
        self.say(
            f"   {QUERIER} files request {request_id[:12]} with fr-ct (urgent: due "
            f"{request['due_at'][:16]}Z); fr-ct resolves the reference to its record only now"
        )
        _blindhit([
            "requests", "approve", request_id[:12], "--node", str(self.node_dir("fr-ct")),
            "--fields", "family_name,given_names,date_of_birth", "--handling", "H2",
            "--expires", "30d", "--contact", "DCPJ duty desk +33 1 00 00 00 00",
            "--officer", "fr-of-9",
        ])  # fmt: skip
        self.say("   fr-ct's officer approves 3 of 4 fields, H2 (no onward sharing), 30 days")
        _, printed = _blindhit([
            "requests", "fetch", request_id[:12], "--node", querier, "--officer", "de-of-17",
            "--legal-basis", "EU-2016/680:Art.8", "--json",
        ])  # fmt: skip
        fetched = json.loads(printed)
        self.report.release = fetched["release"] or {}
        self.say(f"   {QUERIER} fetches, verifies fr-ct's signature, decrypts: {fetched['state']}")
        for record in self.report.release.get("records", []):
            for name, value in {**record["fields"], **record["metadata"]}.items():
                self.say(f"     {name:<16} {value}")
        for handling in self.report.release.get("handling", []):
            self.say(f"     handling         {handling['code']} {handling['text']}".rstrip())

    # -- 6 -------------------------------------------------------------------------------------

    def verify_logs(self) -> None:
        self.step("6. Every audit log verifies offline; the witness cosigned each member's log")
        deadline = time.monotonic() + 20
        for member in self.members:
            self._verify_member(member, deadline)
        with AuditLog(self.gs_dir / "federation.db", read_only=True) as log:
            relayed = sum(
                1 for i in range(log.size) if log.entry(i).kind is EntryKind.CHECK_RELAYED
            )
        self.say(
            f"   {COORDINATOR} logged {relayed} relays: who asked, how many elements, who "
            "answered; never a probe, never an outcome"
        )

    def _verify_member(self, member: Member, deadline: float) -> None:
        node_dir = self.node_dir(member.node_id)
        config = load_config(NodeLayout(node_dir).config)
        assert config.federation is not None
        key = config.federation.identity_key
        witness = CosignatureVerifier(key.name, key.public_key)
        # The member's `serve` has its newest checkpoint cosigned every second; wait for the
        # cosignature of the whole log as it stands now.
        with AuditLog(config.node.database, read_only=True) as log:
            size = log.size
        cosigned_size = 0
        while cosigned_size < size and time.monotonic() < deadline:
            time.sleep(0.2)
            with AuditLog(config.node.database, read_only=True) as log:
                cosigned_size = max((c[0] for c in log.cosigned_checkpoints()), default=0)
        if cosigned_size < size:
            raise InputError(f"the witness did not cosign {member.node_id}'s log in time")
        export = self.root / "exports" / f"{member.node_id}-{cosigned_size}"
        with AuditLog(config.node.database, read_only=True) as log:
            note = log.checkpoint_note(cosigned_size)
            assert note is not None
            if not export.exists():
                export_log(log, export, note)
        verified = verify_export(
            export, load_verifier(NodeLayout(node_dir).identity_verifier_key),
            witnesses=[witness], require_witness=True,
        )  # fmt: skip
        if not verified.ok:
            raise InputError(f"the audit log of {member.node_id} does not verify")
        self.report.verified_logs[member.node_id] = cosigned_size
        self.report.cosigned[member.node_id] = cosigned_size
        self.say(
            f"   {member.node_id:<8} {cosigned_size:>3} entries verified, checkpoint cosigned "
            f"by {COORDINATOR} (witness)"
        )


@contextlib.contextmanager
def running_federation(
    root: Path,
    out: TextIO = sys.stdout,
    *,
    members: Sequence[Member] = MEMBERS,
    refresh_seconds: float = 1.0,
) -> Iterator[DemoFederation]:
    """Steps 1 to 3: a coordinating node and members, created, admitted and serving.

    Members refresh the directory and have their log witnessed every `refresh_seconds` (1 s in
    the demo and the tests, so that a revocation shows at once; a real federation uses a
    minute). Every process is ended when the block is left, whatever happened in it.
    """
    demo = DemoFederation(root, out, members, refresh_seconds)
    try:
        gs_key = demo.create_coordinator()
        demo.step("2. Member nodes are created, admitted and import their datasets")
        for number, member in enumerate(members):
            demo.create_member(member, number, gs_key)
        with Coordinator.open(demo.gs_dir) as coordinator:
            published = coordinator.publish(demo.passphrase)
        demo.say(f"   directory version {published.version} signed with {len(members)} members")
        demo.start_nodes()
        yield demo
    finally:
        demo.processes.stop_all()


def run_demo(
    root: Path,
    out: TextIO = sys.stdout,
    *,
    passengers: int = 300,
    members: Sequence[Member] = MEMBERS,
) -> DemoReport:
    """Run the whole demo under `root` (created); every process is ended on return."""
    with running_federation(root, out, members=members) as demo:
        hits = demo.check(passengers)
        demo.disclose(hits)
        demo.verify_logs()
    demo.report.seconds = time.perf_counter() - demo.started
    demo.say(f"\nDone in {demo.report.seconds:.1f} s; every process stopped. Files: {root}")
    return demo.report
