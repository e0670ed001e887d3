"""`blindhit federation` end to end: real directories, keys, certificates and SQLite files.

Members are made with `blindhit init` (no development CA) and admitted from the certificate
requests init wrote; the CLI runs in-process through `main([...])`. A mutual-TLS handshake
between a member and the coordinating node checks that the certificates the federation CA
issued are the ones gRPC accepts.
"""

from __future__ import annotations

import json
from concurrent import futures
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from cli.main import main
from crypto.cosignature import CosignatureSigner
from crypto.errors import FederationError, InputError
from crypto.oprf import Suite
from crypto.signed_note import Ed25519Signer, Ed25519Verifier
from federation.coordinator import Coordinator, FederationLayout
from federation.store import FederationStore
from federation.witness import InconsistentLog, Witness
from node.audit import AuditEntry, AuditLog, CheckpointIssuer, EntryKind
from node.home import NodeLayout, install_certificate, load_tls_credentials
from node.keys.identity import load_private_key
from node.keys.tls import (
    load_certificates,
    node_id_from_auth_context,
    node_id_from_certificate,
    verify_certificate_chain,
)
from protocol.directory import DirectoryRollback, open_directory, peers_from_directory

VARIABLE = "BLINDHIT_TEST_FEDERATION_PASSPHRASE"
PASSPHRASE = "a federation passphrase"


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, PASSPHRASE)


def run(*argv: str | Path) -> int:
    return main([str(argument) for argument in argv])


def output(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    capsys.readouterr()
    assert run(*argv) == 0
    return capsys.readouterr().out


def refused(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    """Run a command that must fail; return its one-line message."""
    capsys.readouterr()
    assert run(*argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("blindhit: ")
    assert "Traceback" not in captured.err
    return lines[0]


def make_federation(root: Path) -> Path:
    gs = root / "gs-lyon"
    assert (
        run(
            "federation",
            "init",
            gs,
            "--id",
            "gs-lyon",
            "--listen",
            "127.0.0.1:7400",
            "--passphrase-env",
            VARIABLE,
        )
        == 0
    )
    return gs


def make_member(root: Path, node_id: str, country: str, port: int) -> Path:
    target = root / node_id
    assert (
        run(
            "init",
            target,
            "--node-id",
            node_id,
            "--country",
            country,
            "--listen",
            f"127.0.0.1:{port}",
            "--passphrase-env",
            VARIABLE,
        )
        == 0
    )
    return target


def admit(
    gs: Path, member: Path, node_id: str, country: str, port: int, *extra: str | Path
) -> list[str | Path]:
    layout = NodeLayout(member)
    return [
        "federation",
        "admit",
        "--federation",
        gs,
        "--csr",
        layout.tls_csr,
        "--member-id",
        node_id,
        "--country",
        country,
        "--endpoint",
        f"127.0.0.1:{port}",
        "--identity-key",
        layout.identity_verifier_key,
        "--out-cert",
        member.parent / f"{node_id}-cert.pem",
        *extra,
    ]


def snapshot(gs: Path) -> dict[str, object]:
    """What the coordinating node holds: every table's rows, and its files."""
    with Coordinator.open(gs) as coordinator:
        store = coordinator.store
        state: dict[str, object] = {
            "members": store.admitted_members(),
            "revoked": store.revocations(),
            "certificates": store.certificates(),
            "directories": store.directories(),
        }
    state["files"] = sorted(str(path.relative_to(gs)) for path in gs.rglob("*"))
    return state


def verifier(gs: Path) -> Ed25519Verifier:
    text = FederationLayout(gs).identity_verifier_key.read_text().strip()
    return Ed25519Verifier.from_verifier_key(text)


def test_init_creates_the_coordinating_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    gs = make_federation(tmp_path)
    summary = capsys.readouterr().out
    modes = {str(path.relative_to(gs)): path.stat().st_mode & 0o777 for path in gs.rglob("*")}
    modes = {name: mode for name, mode in modes.items() if not name.startswith("federation.db-")}
    assert modes == {
        "federation.toml": 0o600,
        "federation.db": 0o600,
        "ca": 0o700,
        "ca/ca-cert.pem": 0o644,
        "ca/ca-key.pem": 0o600,
        "keys": 0o700,
        "keys/identity.pem": 0o600,
        "keys/identity.vkey": 0o644,
        "keys/tls-key.pem": 0o600,
        "keys/tls-cert.pem": 0o644,
    }
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gs-lyon"]
    for path in gs.rglob("*"):
        if path.is_file():
            assert PASSPHRASE.encode() not in path.read_bytes()
    assert verifier(gs).verifier_key() in summary

    with Coordinator.open(gs) as coordinator:
        config = coordinator.config
        assert (config.id, str(config.listen), str(config.endpoint)) == (
            "gs-lyon",
            "127.0.0.1:7400",
            "127.0.0.1:7400",
        )
        assert config.keys.passphrase_env == VARIABLE
        assert config.refresh_seconds == 300
        # Its own certificate comes from its CA, names it, and is recorded as issued.
        credentials = coordinator.tls_credentials(PASSPHRASE.encode())
        assert credentials.node_id == "gs-lyon"
        (issued,) = coordinator.store.certificates()
        assert issued.subject_id == "gs-lyon"
        assert issued.fingerprint == credentials.fingerprint
        assert coordinator.latest() is None
        assert coordinator.pending_changes()

    message = refused(
        capsys,
        "federation",
        "init",
        gs,
        "--id",
        "gs-lyon",
        "--passphrase-env",
        VARIABLE,
    )
    assert "exists; refusing to overwrite" in message


def test_membership_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gs = make_federation(tmp_path)
    fr = make_member(tmp_path, "fr-ct", "FRA", 7443)
    de = make_member(tmp_path, "de-bka", "DEU", 7444)
    ca_file = tmp_path / "federation-ca.pem"

    # Admit fr-ct from the request its `blindhit init` wrote.
    summary = json.loads(
        output(
            capsys,
            *admit(
                gs,
                fr,
                "fr-ct",
                "FRA",
                7443,
                "--dataset",
                "persons:ristretto255-SHA512:OPRF",
                "--quota",
                "100000",
                "--out-ca",
                ca_file,
                "--json",
            ),
        )
    )
    certificate_file = tmp_path / "fr-ct-cert.pem"
    (certificate,) = load_certificates(certificate_file)
    anchors = load_certificates(ca_file)
    verify_certificate_chain([certificate], anchors)
    assert node_id_from_certificate(certificate) == "fr-ct"
    assert anchors == load_certificates(FederationLayout(gs).ca_certificate)
    assert summary["member_id"] == "fr-ct"
    assert summary["certificate_fingerprint"] == install_certificate(fr, [certificate], anchors)
    credentials = load_tls_credentials(fr, PASSPHRASE.encode())
    assert credentials.node_id == "fr-ct"

    assert output(capsys, "federation", "publish", "--federation", gs) == "1\n"

    # A second member, with a verifiable dataset and its public key.
    group = Suite.P256_SHA256.value.group
    public_key = bytes(group.serialize_element(group.scalar_mult_base(1234))).hex()
    output(
        capsys,
        *admit(
            gs,
            de,
            "de-bka",
            "DEU",
            7444,
            "--dataset",
            f"vehicles:P256-SHA256:VOPRF:{public_key}",
            "--dataset",
            "persons:ristretto255-SHA512:OPRF",
            "--quota",
            "500",
        ),
    )
    note_v2 = tmp_path / "directory-v2.note"
    assert output(capsys, "federation", "publish", "--federation", gs, "--out", note_v2) == "2\n"

    revoked = output(
        capsys, "federation", "revoke", "--federation", gs, "fr-ct", "--reason", "key-compromise"
    )
    assert revoked.startswith("Revoked fr-ct (key-compromise) at ")
    shown = json.loads(output(capsys, "federation", "show", "--federation", gs, "--json"))
    assert shown["unpublished_changes"] is True
    assert output(capsys, "federation", "publish", "--federation", gs) == "3\n"

    # Members verify with the coordinating node's key and never go back.
    key = verifier(gs)
    with Coordinator.open(gs) as coordinator:
        v2 = coordinator.store.directory(2)
        v3 = coordinator.latest()
        assert not coordinator.pending_changes()
    assert v2 is not None
    assert v3 is not None
    assert note_v2.read_text() == v2.note
    directory = open_directory(v3.note, key, seen_version=3)
    assert directory.version == 3
    assert [member.id for member in directory.members] == ["de-bka"]
    assert [(r.member_id, r.reason.value) for r in directory.revoked] == [
        ("fr-ct", "key-compromise")
    ]
    (de_entry,) = directory.members
    assert [
        (d.name, d.mode.name, d.public_key.hex(), d.daily_quota) for d in de_entry.datasets
    ] == [
        ("persons", "OPRF", "", 500),
        ("vehicles", "VOPRF", public_key, 500),
    ]
    assert de_entry.identity_key.verifier_key() == (
        NodeLayout(de).identity_verifier_key.read_text().strip()
    )
    with pytest.raises(DirectoryRollback, match="version 2 is older than version 3"):
        open_directory(v2.note, key, seen_version=3)
    previous = open_directory(v2.note, key, seen_version=2)
    assert [member.id for member in previous.members] == ["de-bka", "fr-ct"]

    # Within one refresh, de-bka no longer knows fr-ct, and fr-ct has no peers.
    assert [peer.id for peer in peers_from_directory(previous, "de-bka")] == ["fr-ct"]
    assert peers_from_directory(directory, "de-bka") == ()
    with pytest.raises(FederationError, match="it was revoked at"):
        peers_from_directory(directory, "fr-ct")

    # A restart (reopening the directory and its database) loses nothing.
    before = snapshot(gs)
    with FederationStore.open(gs / "federation.db") as store:
        assert [member.id for member in store.members()] == ["de-bka"]
        assert [published.version for published in store.directories()] == [1, 2, 3]
    assert snapshot(gs) == before

    # fr-ct's keys were reported compromised: the same request is never admitted again.
    (tmp_path / "fr-ct-cert.pem").unlink()
    message = refused(capsys, *admit(gs, fr, "fr-ct", "FRA", 7443))
    assert "key compromise" in message
    assert snapshot(gs) == before
    assert not (tmp_path / "fr-ct-cert.pem").exists()


def test_show_lists_members_and_revocations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gs = make_federation(tmp_path)
    fr = make_member(tmp_path, "fr-ct", "FRA", 7443)
    output(capsys, *admit(gs, fr, "fr-ct", "FRA", 7443))
    text = output(capsys, "federation", "show", "--federation", gs)
    assert "Coordinating node gs-lyon at 127.0.0.1:7400" in text
    assert "none published yet" in text
    assert "fr-ct" in text
    output(capsys, "federation", "revoke", "--federation", gs, "fr-ct", "--reason", "suspended")
    shown = json.loads(output(capsys, "federation", "show", "--federation", gs, "--json"))
    assert shown["members"] == []
    assert [r["member_id"] for r in shown["revoked"]] == ["fr-ct"]
    assert shown["directory_version"] is None

    # A suspension is lifted by admitting the member again (the old certificate file is kept).
    (tmp_path / "fr-ct-cert.pem").rename(tmp_path / "fr-ct-cert-1.pem")
    output(capsys, *admit(gs, fr, "fr-ct", "FRA", 7443))
    shown = json.loads(output(capsys, "federation", "show", "--federation", gs, "--json"))
    assert [m["member_id"] for m in shown["members"]] == ["fr-ct"]
    assert shown["revoked"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"--member-id": "de-bka"},
            "--identity-key: the key is named 'fr-ct', the member is 'de-bka'",
        ),
        ({"--country": "France"}, "--country: expected an ISO 3166-1 alpha-3 country code"),
        ({"--endpoint": "127.0.0.1"}, "--endpoint: expected HOST:PORT"),
        (
            {"--endpoint": "ct.example.fr:7443"},
            "certificate request: it does not name the endpoint host 'ct.example.fr'",
        ),
        ({"--identity-key": "fr-ct+00000000+AAAA"}, "--identity-key: expected a verifier key"),
        (
            {"--dataset": "persons:ristretto255-SHA512", "--quota": "10"},
            "--dataset 'persons:ristretto255-SHA512':",
        ),
        ({"--dataset": "persons:ristretto255-SHA384:OPRF", "--quota": "10"}, "unknown OPRF suite"),
        ({"--dataset": "persons:ristretto255-SHA512:VOPRF", "--quota": "10"}, "needs its 32-byte"),
        (
            {"--dataset": "persons:ristretto255-SHA512:OPRF:zz", "--quota": "10"},
            "the public key is not hex",
        ),
        ({"--quota": "10"}, "--quota: given without any --dataset"),
        ({"--csr": "missing.csr"}, "certificate request"),
        ({"--federation": "nowhere"}, "is not a coordinating node's directory"),
    ],
)
def test_a_failed_admission_changes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    message: str,
) -> None:
    gs = make_federation(tmp_path)
    fr = make_member(tmp_path, "fr-ct", "FRA", 7443)
    argv = admit(gs, fr, "fr-ct", "FRA", 7443)
    for option, value in change.items():
        if option in argv:
            argv[argv.index(option) + 1] = value
        else:
            argv += [option, value]
    before = snapshot(gs)
    error = refused(capsys, *argv)
    assert message in error, error
    assert snapshot(gs) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fr-ct", "gs-lyon"]


def test_a_request_of_another_node_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gs = make_federation(tmp_path)
    fr = make_member(tmp_path, "fr-ct", "FRA", 7443)
    de = make_member(tmp_path, "de-bka", "DEU", 7444)
    argv = admit(gs, fr, "fr-ct", "FRA", 7443)
    argv[argv.index("--csr") + 1] = NodeLayout(de).tls_csr
    before = snapshot(gs)
    message = refused(capsys, *argv)
    assert "certificate request: it is for node 'de-bka', not for member 'fr-ct'" in message
    assert snapshot(gs) == before
    assert not (tmp_path / "fr-ct-cert.pem").exists()


def test_admission_needs_the_quota_and_new_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gs = make_federation(tmp_path)
    fr = make_member(tmp_path, "fr-ct", "FRA", 7443)
    argv = admit(gs, fr, "fr-ct", "FRA", 7443)
    message = refused(capsys, *argv, "--dataset", "persons:ristretto255-SHA512:OPRF")
    assert "--quota: give the daily quota" in message
    (tmp_path / "fr-ct-cert.pem").write_text("keep me")
    message = refused(capsys, *argv)
    assert "--out-cert" in message
    assert "exists; it is never overwritten" in message
    assert (tmp_path / "fr-ct-cert.pem").read_text() == "keep me"
    with Coordinator.open(gs) as coordinator:
        assert coordinator.store.members() == ()


def test_wrong_passphrase_admits_and_publishes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gs = make_federation(tmp_path)
    fr = make_member(tmp_path, "fr-ct", "FRA", 7443)
    before = snapshot(gs)
    monkeypatch.setenv(VARIABLE, "not the passphrase")
    assert "cannot decrypt private key" in refused(capsys, *admit(gs, fr, "fr-ct", "FRA", 7443))
    assert "cannot load private key" in refused(capsys, "federation", "publish", "--federation", gs)
    monkeypatch.delenv(VARIABLE)
    assert f"environment variable {VARIABLE}" in refused(
        capsys, "federation", "publish", "--federation", gs
    )
    assert snapshot(gs) == before
    assert not (tmp_path / "fr-ct-cert.pem").exists()


def test_revoke_and_init_refuse_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gs = make_federation(tmp_path)
    assert "'fr-ct' is not a member of the federation" in refused(
        capsys, "federation", "revoke", "--federation", gs, "fr-ct", "--reason", "withdrawn"
    )
    assert "--reason: expected one of unspecified, key-compromise" in refused(
        capsys, "federation", "revoke", "--federation", gs, "fr-ct", "--reason", "bad"
    )
    assert "MEMBER: expected a node id" in refused(
        capsys, "federation", "revoke", "--federation", gs, "FR", "--reason", "withdrawn"
    )
    base: list[str | Path] = [
        "federation",
        "init",
        tmp_path / "other",
        "--passphrase-env",
        VARIABLE,
    ]
    assert "--id: expected a node id" in refused(capsys, *base, "--id", "GS")
    assert "--endpoint: required when --listen is a wildcard" in refused(
        capsys, *base, "--id", "gs-paris", "--listen", "0.0.0.0:7400"
    )
    assert "--refresh: expected 10 to 86400 seconds" in refused(
        capsys, *base, "--id", "gs-paris", "--refresh", "5"
    )
    assert not (tmp_path / "other").exists()


def test_init_with_a_separate_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gs = tmp_path / "gs"
    summary = json.loads(
        output(
            capsys,
            "federation",
            "init",
            gs,
            "--id",
            "gs-lyon",
            "--listen",
            "0.0.0.0:7400",
            "--endpoint",
            "gs.example.org:7400",
            "--refresh",
            "60",
            "--passphrase-env",
            VARIABLE,
            "--json",
        )
    )
    assert summary["endpoint"] == "gs.example.org:7400"
    with Coordinator.open(gs) as coordinator:
        assert coordinator.config.refresh_seconds == 60
        names = coordinator.certificate().extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
        assert "gs.example.org" in names.value.get_values_for_type(x509.DNSName)
        published = coordinator.publish(PASSPHRASE.encode())
    directory = open_directory(published.note, verifier(gs), seen_version=None)
    assert str(directory.coordinator_endpoint) == "gs.example.org:7400"
    assert directory.refresh_seconds == 60


def test_broken_configuration_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gs = make_federation(tmp_path)
    config = FederationLayout(gs).config
    config.write_text(config.read_text().replace("directory_refresh_seconds", "refresh_secs"))
    message = refused(capsys, "federation", "show", "--federation", gs)
    assert "federation.refresh_secs: unknown key" in message


# Mutual TLS between a member and the coordinating node, with the federation's certificates.


class RecordingHealth(health.HealthServicer):
    """The standard health service; records which node called."""

    def __init__(self) -> None:
        super().__init__()
        self.callers: list[str] = []

    def Check(  # noqa: N802 (the gRPC method name)
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        self.callers.append(node_id_from_auth_context(context.auth_context()))
        return super().Check(request, context)


@pytest.fixture
def admitted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    gs = make_federation(tmp_path)
    fr = make_member(tmp_path, "fr-ct", "FRA", 7443)
    ca_file = tmp_path / "ca.pem"
    output(capsys, *admit(gs, fr, "fr-ct", "FRA", 7443, "--out-ca", ca_file))
    install_certificate(
        fr, load_certificates(tmp_path / "fr-ct-cert.pem"), load_certificates(ca_file)
    )
    return gs, fr


def test_member_and_coordinator_speak_mutual_tls(admitted: tuple[Path, Path]) -> None:
    gs, fr = admitted
    member = load_tls_credentials(fr, PASSPHRASE.encode())
    with Coordinator.open(gs) as coordinator:
        own = coordinator.tls_credentials(PASSPHRASE.encode())
    servicer = RecordingHealth()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_secure_port("127.0.0.1:0", member.server_credentials())
    server.start()
    try:
        with grpc.secure_channel(f"127.0.0.1:{port}", own.channel_credentials()) as channel:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
    finally:
        server.stop(None)
    assert response.status == health_pb2.HealthCheckResponse.SERVING
    assert servicer.callers == ["gs-lyon"]


def test_coordinator_keys_need_the_passphrase(
    admitted: tuple[Path, Path],
) -> None:
    gs, _ = admitted
    with Coordinator.open(gs) as coordinator:
        with pytest.raises(InputError, match="cannot decrypt"):
            coordinator.tls_credentials(b"wrong")
        assert coordinator.identity_verifier() == verifier(gs)


def test_show_reports_a_member_caught_with_two_histories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gs = make_federation(tmp_path)
    member_key = Ed25519Signer.generate("fr-ct")
    histories = [AuditLog(tmp_path / f"{name}.db") for name in ("shown", "hidden")]
    issuers = [CheckpointIssuer(log, member_key) for log in histories]
    for branch, log in zip(("shown", "hidden"), histories, strict=True):
        log.append_many(
            [
                AuditEntry(kind=EntryKind.KEY_ROTATED, time=datetime.now(UTC), node="fr-ct",
                           dataset=f"{branch}-{n}", key_fingerprint=bytes(32))
                for n in range(5)
            ]
        )  # fmt: skip
    with Coordinator.open(gs) as coordinator:
        identity = load_private_key(coordinator.layout.identity_key, PASSPHRASE.encode())
        witness = Witness(coordinator.config.database, CosignatureSigner("gs-lyon", identity))
        witness.add_log("fr-ct", member_key.verifier())
        witness.cosign("fr-ct", issuers[0].issue().note)
        with pytest.raises(
            InconsistentLog, match="fr-ct shows a history inconsistent with the one this witness"
        ):
            witness.cosign("fr-ct", issuers[1].issue().note)
        witness.close()
    for log in histories:
        log.close()
    shown = output(capsys, "federation", "show", "--federation", gs)
    assert "MEMBERS CAUGHT SHOWING INCONSISTENT LOGS (1)" in shown
    as_json = json.loads(output(capsys, "federation", "show", "--federation", gs, "--json"))
    assert [(e["origin"], e["kind"]) for e in as_json["witness_evidence"]] == [
        ("fr-ct", "fork_same_size")
    ]
