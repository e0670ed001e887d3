"""`blindhit init` and `blindhit dev-ca` end to end: real files, real keys, real mutual TLS.

The CLI runs in-process through `main([...])`; the handshake tests start a gRPC server with the
standard health service on 127.0.0.1 port 0, using certificates the CLI made.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from cli.main import main
from crypto.errors import InputError, StorageError
from crypto.signed_note import Ed25519Verifier
from node import home as node_directory
from node.config import load_config
from node.home import (
    NodeLayout,
    install_certificate,
    load_identity_signer,
    load_tls_credentials,
)
from node.keys.identity import load_private_key
from node.keys.tls import (
    TlsCredentials,
    certificate_fingerprint,
    load_certificates,
    node_id_from_auth_context,
    node_id_from_certificate,
)

VARIABLE = "BLINDHIT_TEST_INIT_PASSPHRASE"
PASSPHRASE = "an init passphrase"


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, PASSPHRASE)


def run(*argv: str | Path) -> int:
    return main([str(argument) for argument in argv])


def make_ca(path: Path, name: str = "Local development CA") -> Path:
    assert run("dev-ca", "init", path, "--name", name, "--passphrase-env", VARIABLE) == 0
    return path


def init(target: Path, node_id: str, *extra: str | Path, ca: Path | None = None) -> int:
    dev_ca: tuple[str | Path, ...] = ("--dev-ca", ca) if ca is not None else ()
    return run(
        "init",
        target,
        "--node-id",
        node_id,
        "--country",
        "FRA",
        "--listen",
        "127.0.0.1:0",
        "--passphrase-env",
        VARIABLE,
        *dev_ca,
        *extra,
    )


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every path under `root` with its mode, modification time and content."""
    result: dict[str, tuple[int, int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        status = path.stat()
        content = path.read_bytes() if path.is_file() else b""
        result[str(path.relative_to(root))] = (status.st_mode, status.st_mtime_ns, content)
    return result


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    return make_ca(tmp_path / "dev-ca")


def test_init_creates_the_node_directory(
    tmp_path: Path, ca: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    target = tmp_path / "fr-ct"
    assert init(target, "fr-ct", ca=ca) == 0
    output = capsys.readouterr().out
    layout = NodeLayout(target)

    modes = {
        str(path.relative_to(target)): path.stat().st_mode & 0o777 for path in target.rglob("*")
    }
    assert modes == {
        "node.toml": 0o600,
        "node.db": 0o600,
        "keys": 0o700,
        "keys/identity.pem": 0o600,
        "keys/identity.vkey": 0o644,
        "keys/tls-key.pem": 0o600,
        "keys/tls.csr": 0o644,
        "keys/tls-cert.pem": 0o644,
        "keys/ca-cert.pem": 0o644,
    }
    assert target.stat().st_mode & 0o777 == 0o700
    # Only the node directory and the CA are left in the parent: no staging directory.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dev-ca", "fr-ct"]

    config = load_config(layout.config)
    assert (config.node.id, config.node.country, str(config.node.listen)) == (
        "fr-ct",
        "FRA",
        "127.0.0.1:0",
    )
    assert config.node.database == layout.default_database
    assert config.keys.passphrase_env == VARIABLE
    for path in target.rglob("*"):
        if path.is_file():
            assert PASSPHRASE.encode() not in path.read_bytes()

    with sqlite3.connect(layout.default_database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert dict(connection.execute("SELECT key, value FROM meta")) == {
            "schema_version": "1",
            "node_id": "fr-ct",
        }
    connection.close()

    # The summary names the identity verifier key of the key on disk, and the certificate.
    signer = load_identity_signer(target, PASSPHRASE.encode())
    assert f"identity key  {signer.verifier_key()}" in output
    assert Ed25519Verifier.from_verifier_key(signer.verifier_key()).name == "fr-ct"
    assert layout.identity_verifier_key.read_text() == signer.verifier_key() + "\n"
    (certificate,) = load_certificates(layout.tls_certificate)
    assert f"certificate   {certificate_fingerprint(certificate)}" in output


def test_certificate_chains_to_the_dev_ca_and_names_the_node(tmp_path: Path, ca: Path) -> None:
    target = tmp_path / "fr-ct"
    assert init(target, "fr-ct", "--san", "node.fr.example", "--san", "192.0.2.7", ca=ca) == 0
    layout = NodeLayout(target)
    (certificate,) = load_certificates(layout.tls_certificate)
    (anchor,) = load_certificates(ca / "ca-cert.pem")
    certificate.verify_directly_issued_by(anchor)
    assert layout.ca_certificate.read_bytes() == (ca / "ca-cert.pem").read_bytes()
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == ["blindhit://node/fr-ct"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "node.fr.example"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1",
        "192.0.2.7",
    ]
    assert node_id_from_certificate(certificate) == "fr-ct"

    credentials = load_tls_credentials(target, PASSPHRASE.encode())
    assert credentials.node_id == "fr-ct"
    assert credentials.fingerprint == certificate_fingerprint(certificate)


def test_keys_need_the_right_passphrase(
    tmp_path: Path, ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "fr-ct"
    assert init(target, "fr-ct", ca=ca) == 0
    layout = NodeLayout(target)
    assert layout.identity_key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert layout.tls_key.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

    with pytest.raises(InputError, match=r"identity\.pem is encrypted; give its passphrase"):
        load_private_key(layout.identity_key, None)
    with pytest.raises(InputError, match="or the passphrase is wrong"):
        load_identity_signer(target, b"wrong")
    with pytest.raises(InputError, match=r"cannot decrypt private key .*tls-key\.pem"):
        load_tls_credentials(target, b"wrong")
    config = load_config(layout.config)
    monkeypatch.delenv(VARIABLE)
    with pytest.raises(InputError, match=f"{VARIABLE} holding the passphrase is not set"):
        config.keys.read_passphrase()


def test_init_refuses_an_existing_directory(
    tmp_path: Path, ca: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "fr-ct"
    assert init(target, "fr-ct", ca=ca) == 0
    before = snapshot(tmp_path)
    capsys.readouterr()

    assert init(target, "de-bka", ca=ca) == 2
    assert capsys.readouterr().err == (
        f"blindhit: {target} exists; refusing to overwrite an existing node directory\n"
    )
    assert snapshot(tmp_path) == before

    # A plain file or an empty directory in the way is refused the same way.
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    assert init(tmp_path / "file", "de-bka") == 2
    assert init(tmp_path / "empty", "de-bka") == 2
    assert list((tmp_path / "empty").iterdir()) == []


@pytest.mark.parametrize("failure", [StorageError("disk full"), KeyboardInterrupt()])
def test_interrupted_init_leaves_nothing(
    tmp_path: Path,
    ca: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failure: BaseException,
) -> None:
    def fail(path: Path, node_id: str) -> None:
        # The keys are written by now; the failure comes late in the build.
        assert (path.parent / "keys" / "tls-cert.pem").exists()
        raise failure

    monkeypatch.setattr(node_directory, "_create_database", fail)
    before = snapshot(tmp_path)
    status = init(tmp_path / "fr-ct", "fr-ct", ca=ca)

    assert status == (2 if isinstance(failure, StorageError) else 130)
    assert snapshot(tmp_path) == before
    assert capsys.readouterr().err.count("\n") == 1


def test_init_into_a_missing_parent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(tmp_path / "missing" / "fr-ct", "fr-ct") == 2
    assert "is not a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--node-id", "FR_CT"], "--node-id: expected a node id"),
        (["--country", "France"], "--country: expected an ISO 3166-1 alpha-3"),
        (["--listen", "localhost"], "--listen: expected HOST:PORT"),
        (["--san", "bad host"], "--san: expected a host name or IP address"),
        (["--passphrase-env", "EMPTY_PASSPHRASE"], "passphrase in environment variable"),
        (["--passphrase-env", "UNSET_BLINDHIT_PASSPHRASE"], "is not set"),
        (["--dev-ca-passphrase-env", VARIABLE], "without --dev-ca"),
    ],
)
def test_init_refuses_bad_arguments(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("EMPTY_PASSPHRASE", "")
    monkeypatch.delenv("UNSET_BLINDHIT_PASSPHRASE", raising=False)
    defaults = {"--node-id": "fr-ct", "--country": "FRA", "--passphrase-env": VARIABLE}
    defaults.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    argv = [item for pair in defaults.items() for item in pair]
    capsys.readouterr()

    assert run("init", tmp_path / "fr-ct", *argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("blindhit: ")
    assert message in error
    assert error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_dev_ca_with_its_own_passphrase_is_named_in_the_error(
    tmp_path: Path, ca: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BLINDHIT_TEST_NODE_PASSPHRASE", "not the CA's passphrase")
    node_options = ("--node-id", "fr-ct", "--country", "FRA", "--listen", "127.0.0.1:0",
                    "--passphrase-env", "BLINDHIT_TEST_NODE_PASSPHRASE",
                    "--dev-ca", ca)  # fmt: skip
    capsys.readouterr()
    assert run("init", tmp_path / "fr-ct", *node_options) == 2
    error = capsys.readouterr().err
    assert "wrong passphrase" in error
    assert "--dev-ca-passphrase-env" in error
    assert error.count("\n") == 1
    assert not (tmp_path / "fr-ct").exists()
    # With the CA's own passphrase named, the same command works.
    assert run("init", tmp_path / "fr-ct", *node_options, "--dev-ca-passphrase-env", VARIABLE) == 0


def test_passphrase_is_required(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        run("init", tmp_path / "fr-ct", "--node-id", "fr-ct", "--country", "FRA")
    assert caught.value.code == 2
    assert list(tmp_path.iterdir()) == []


def test_passphrase_file_is_recorded_not_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("secret").write_text("file passphrase\n")
    argv = ["--node-id", "fr-ct", "--country", "FRA", "--passphrase-file", "secret", "--json"]
    assert run("init", "node", *argv) == 0
    assert '"node_id": "fr-ct"' in capsys.readouterr().out
    config = load_config(tmp_path / "node" / "node.toml")
    assert config.keys.passphrase_file == tmp_path / "secret"
    assert config.keys.passphrase_env is None
    assert load_identity_signer(tmp_path / "node", config.keys.read_passphrase()).name == "fr-ct"


def test_without_dev_ca_the_request_waits_to_be_signed(
    tmp_path: Path, ca: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "de-bka"
    assert init(target, "de-bka") == 0
    assert "none yet" in capsys.readouterr().out
    layout = NodeLayout(target)
    assert not layout.tls_certificate.exists()
    with pytest.raises(InputError, match="the node has no TLS certificate yet"):
        load_tls_credentials(target, PASSPHRASE.encode())

    issued = tmp_path / "de-bka.pem"
    sign: list[str | Path] = [
        "dev-ca",
        "sign",
        ca,
        layout.tls_csr,
        "--out",
        issued,
        "--passphrase-env",
        VARIABLE,
    ]
    assert run(*sign) == 0
    assert "Issued a certificate for node de-bka" in capsys.readouterr().out
    # An issued certificate is never overwritten.
    assert run(*sign) == 2
    assert "exists" in capsys.readouterr().err

    anchors = load_certificates(ca / "ca-cert.pem")
    fingerprint = install_certificate(target, load_certificates(issued), anchors)
    credentials = load_tls_credentials(target, PASSPHRASE.encode())
    assert credentials.fingerprint == fingerprint

    # Another node's certificate is not installed here.
    other = tmp_path / "other"
    assert init(other, "nl-kmar", ca=ca) == 0
    other_certificates = load_certificates(NodeLayout(other).tls_certificate)
    with pytest.raises(InputError, match="not for this node's TLS key"):
        install_certificate(target, other_certificates, anchors)


def test_dev_ca_cli_errors(tmp_path: Path, ca: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run("dev-ca", "init", ca, "--passphrase-env", VARIABLE) == 2
    assert "exists" in capsys.readouterr().err
    request = tmp_path / "not-a-request.csr"
    request.write_text("hello")
    out = tmp_path / "x.pem"
    assert run("dev-ca", "sign", ca, request, "--out", out, "--passphrase-env", VARIABLE) == 2
    assert "expected a PEM certificate request" in capsys.readouterr().err
    assert not out.exists()


# Mutual TLS on loopback.


@dataclass(frozen=True)
class HealthServer:
    port: int
    peers: list[str]


class RecordingHealth(health.HealthServicer):
    """The standard health service, recording the node id of each caller."""

    def __init__(self, peers: list[str]) -> None:
        super().__init__()
        self._peers = peers

    def Check(  # noqa: N802 (the gRPC method name)
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        self._peers.append(node_id_from_auth_context(context.auth_context()))
        return super().Check(request, context)


@pytest.fixture
def nodes(tmp_path: Path) -> dict[str, TlsCredentials]:
    ca = make_ca(tmp_path / "dev-ca")
    rogue_ca = make_ca(tmp_path / "rogue-ca", "Rogue CA")
    for node_id, authority in (("fr-ct", ca), ("de-bka", ca), ("xx-rogue", rogue_ca)):
        assert init(tmp_path / node_id, node_id, ca=authority) == 0
    return {
        node_id: load_tls_credentials(tmp_path / node_id, PASSPHRASE.encode())
        for node_id in ("fr-ct", "de-bka", "xx-rogue")
    }


@pytest.fixture
def health_server(nodes: dict[str, TlsCredentials]) -> Iterator[HealthServer]:
    peers: list[str] = []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    try:
        health_pb2_grpc.add_HealthServicer_to_server(RecordingHealth(peers), server)
        port = server.add_secure_port("127.0.0.1:0", nodes["fr-ct"].server_credentials())
        server.start()
        yield HealthServer(port, peers)
    finally:
        server.stop(grace=None)


def check(port: int, credentials: grpc.ChannelCredentials) -> int:
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        status: int = response.status
        return status


def test_mutual_tls_between_nodes_of_one_ca(
    nodes: dict[str, TlsCredentials], health_server: HealthServer
) -> None:
    status = check(health_server.port, nodes["de-bka"].channel_credentials())
    assert status == health_pb2.HealthCheckResponse.SERVING
    # The server sees who called: the URI name of the client certificate.
    assert health_server.peers == ["de-bka"]


def test_client_certificate_from_another_ca_is_refused(
    nodes: dict[str, TlsCredentials], health_server: HealthServer
) -> None:
    rogue = nodes["xx-rogue"]
    # The rogue client trusts the server's CA, so only its own certificate can be the problem.
    credentials = grpc.ssl_channel_credentials(
        root_certificates=nodes["de-bka"].root_certificates,
        private_key=rogue.private_key,
        certificate_chain=rogue.certificate_chain,
    )
    with pytest.raises(grpc.RpcError) as caught:
        check(health_server.port, credentials)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert health_server.peers == []


def test_client_without_certificate_is_refused(
    nodes: dict[str, TlsCredentials], health_server: HealthServer
) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=nodes["de-bka"].root_certificates)
    with pytest.raises(grpc.RpcError) as caught:
        check(health_server.port, credentials)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert health_server.peers == []


def test_public_key_of_summary_matches_identity_key(tmp_path: Path, ca: Path) -> None:
    target = tmp_path / "fr-ct"
    assert init(target, "fr-ct", ca=ca) == 0
    verifier = Ed25519Verifier.from_verifier_key(
        NodeLayout(target).identity_verifier_key.read_text().strip()
    )
    key = load_private_key(NodeLayout(target).identity_key, PASSPHRASE.encode())
    assert verifier.public_key == key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
