"""The node's folder on disk: its layout, and `init_node_directory`, which creates one.

Layout (directories 0700, private keys and the database 0600, public files 0644):

```
<node dir>/
  node.toml          configuration (`node.config`), paths in it relative to this directory
  node.db            SQLite database in WAL mode; init creates every table of the node
                     (`node.storage.schema`) and writes `meta(key, value)`: `node_id`, and
                     `schema_version` 1 as it always has (the version is `PRAGMA user_version`)
  keys/
    identity.pem     Ed25519 identity key, encrypted PKCS #8 (`node.keys.identity`): signs requests,
                     receipts and checkpoints
    identity.vkey    its signed-note verifier key `<node id>+<key ID>+<base64>`, for peers
    tls-key.pem      ECDSA P-256 key for mutual TLS, encrypted PKCS #8 (`node.keys.tls`)
    tls.csr          certificate request for that key, to be signed by the CA
    tls-cert.pem     the signed certificate (and any intermediates), once issued
    ca-cert.pem      the trust anchor that peers' certificates must chain to
```

Decisions:

- Key files live at these fixed places; only the database path is configurable, because it is
  what outgrows the directory first. To move keys, move the whole directory.
- `init_node_directory` never touches an existing path. It builds the directory under a hidden
  temporary name next to the target and renames it into place at the end
  (`node.keys.tls.new_private_directory`), so an interrupted or failed init leaves nothing, and a
  directory that exists is complete.
- Every private key is encrypted with one passphrase, read from the source the configuration
  names (`[keys]`), so that what init records is proven to work. The passphrase is never written.
- The TLS certificate names `localhost`, `127.0.0.1` and the listen host (unless that is a
  wildcard address such as `0.0.0.0`) besides any extra host names, so that loopback tests and
  local deployments verify without further options.
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from crypto.errors import InputError, PeerError, StorageError
from crypto.signed_note import Ed25519Signer
from node.config import (
    CONFIG_FILE_NAME,
    DEFAULT_DATABASE,
    KeySettings,
    NodeConfig,
    NodeSettings,
    load_config,
    write_config,
)
from node.keys.identity import load_private_key, write_private_key
from node.keys.tls import (
    TlsCredentials,
    certificate_fingerprint,
    certificates_pem,
    load_certificate_request,
    make_tls_key_and_csr,
    new_private_directory,
    node_id_from_certificate,
    tls_credentials_from_files,
    verify_certificate_chain,
    write_encrypted_private_key,
    write_public_file,
)
from node.storage.schema import NODE_SCHEMA
from node.storage.sqlite import open_database, transaction
from protocol.validation import HostPort, check_country, check_env_variable, check_node_id

__all__ = [
    "DATABASE_SCHEMA_VERSION",
    "InitResult",
    "KeysLayout",
    "NodeLayout",
    "certificate_hosts",
    "init_node_directory",
    "install_certificate",
    "load_identity_signer",
    "load_node_config",
    "load_tls_credentials",
    "write_identity_key",
]

DATABASE_SCHEMA_VERSION: Final = 1
"""What init writes as `meta.schema_version`, unchanged since the first layout; the schema's
version is `PRAGMA user_version` (`node.storage.schema`)."""

_LOOPBACK_HOSTS: Final = ("localhost", "127.0.0.1")


Certifier = Callable[[x509.CertificateSigningRequest], tuple[x509.Certificate, x509.Certificate]]
"""Signs a node's TLS certificate request: returns (certificate, CA certificate)."""


@dataclass(frozen=True, slots=True)
class KeysLayout:
    """Where the identity and TLS key files in `keys/` of the directory `root` live.

    A node directory and a coordinating node's directory keep these files at the same places.
    """

    root: Path

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def identity_key(self) -> Path:
        return self.keys / "identity.pem"

    @property
    def identity_verifier_key(self) -> Path:
        return self.keys / "identity.vkey"

    @property
    def tls_key(self) -> Path:
        return self.keys / "tls-key.pem"

    @property
    def tls_certificate(self) -> Path:
        return self.keys / "tls-cert.pem"


@dataclass(frozen=True, slots=True)
class NodeLayout(KeysLayout):
    """Where each file of the node directory `root` lives."""

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE_NAME

    @property
    def default_database(self) -> Path:
        """The database path init writes into the configuration (`[node] database` may differ)."""
        return self.root / DEFAULT_DATABASE

    @property
    def tls_csr(self) -> Path:
        return self.keys / "tls.csr"

    @property
    def ca_certificate(self) -> Path:
        return self.keys / "ca-cert.pem"


@dataclass(frozen=True, slots=True)
class InitResult:
    """What `init_node_directory` made, for the summary shown to the operator."""

    layout: NodeLayout
    config: NodeConfig
    identity_verifier_key: str
    certificate_fingerprint: str | None
    """None when no CA signed the request yet (`keys/tls.csr` waits to be signed)."""


def certificate_hosts(listen: HostPort, extra_hosts: Sequence[str] = ()) -> list[str]:
    """Return the host names the TLS certificate carries, without repeats.

    Loopback names always, the listen host unless it is a wildcard address, then `extra_hosts`.
    """
    hosts = list(_LOOPBACK_HOSTS)
    try:
        wildcard = ipaddress.ip_address(listen.host).is_unspecified
    except ValueError:
        wildcard = False
    if not wildcard:
        hosts.append(listen.host)
    hosts.extend(extra_hosts)
    return list(dict.fromkeys(hosts))


def _create_database(path: Path, node_id: str) -> None:
    """Create the SQLite database in WAL mode with its `meta` table."""
    # Creating the file first gives it mode 0600 from the start; SQLite treats an empty file as
    # an empty database and keeps the mode for its -wal and -shm files.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise StorageError(f"cannot create database {path}: {exc.strerror or exc}") from exc
    # Every table of the node (`node.storage.schema`) is created here, in one transaction; the
    # node id is written in a second one, so a file without it was never finished.
    connection = open_database(path, NODE_SCHEMA)
    try:
        with transaction(connection, begin_error=lambda exc: StorageError(f"{path}: {exc}")):
            connection.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("schema_version", str(DATABASE_SCHEMA_VERSION)), ("node_id", node_id)],
            )
    except sqlite3.Error as exc:
        raise StorageError(f"cannot create database {path}: {exc}") from exc
    finally:
        connection.close()


def write_identity_key(layout: KeysLayout, node_id: str, passphrase: bytes) -> str:
    """Write a new Ed25519 identity key, encrypted, and its verifier key; return the latter."""
    key = Ed25519PrivateKey.generate()
    write_private_key(layout.identity_key, key, passphrase)
    verifier_key = Ed25519Signer(node_id, key).verifier_key()
    write_public_file(layout.identity_verifier_key, (verifier_key + "\n").encode("ascii"))
    return verifier_key


def _check_certificate(
    layout: NodeLayout,
    node_id: str,
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    now: datetime | None,
) -> None:
    """Check that `chain` is this node's: its key, its node id, and it verifies under `anchors`."""
    if not chain:
        raise InputError("expected a certificate, got none")
    request = load_certificate_request(layout.tls_csr)
    public_key = request.public_key()
    if chain[0].public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    ) != public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo):
        raise InputError(f"the certificate is not for this node's TLS key {layout.tls_key}")
    try:
        certified = node_id_from_certificate(chain[0])
    except PeerError as exc:
        raise InputError(str(exc)) from exc
    if certified != node_id:
        raise InputError(f"the certificate is for node {certified!r}, this node is {node_id!r}")
    verify_certificate_chain(chain, anchors, now=now)


def init_node_directory(
    target: Path,
    *,
    node_id: str,
    country: str,
    listen: HostPort,
    keys: KeySettings,
    extra_hosts: Sequence[str] = (),
    certify: Certifier | None = None,
) -> InitResult:
    """Create a node directory at `target`, which must not exist (see the module docstring).

    With `certify` (a CA at hand, as in local development: it takes the TLS certificate request
    and returns the certificate and the CA certificate), the certificate and the CA certificate
    are installed at once; otherwise `keys/tls.csr` waits for the federation's CA.

    Raises:
        InputError: `target` exists or cannot be created, an argument is malformed, or the
            passphrase cannot be read or is empty.
        StorageError: the database cannot be created.
    """
    check_node_id(node_id, "node id")
    check_country(country, "country")
    if keys.passphrase_env is not None:
        check_env_variable(keys.passphrase_env, "passphrase environment variable")
    if keys.passphrase_file is not None:
        # The file exists before the node directory does, so a relative path is taken from the
        # current directory; the configuration records where it really is.
        keys = KeySettings(keys.passphrase_env, keys.passphrase_file.absolute())
    passphrase = keys.read_passphrase()
    final = NodeLayout(target.absolute())
    config = NodeConfig(
        directory=final.root,
        node=NodeSettings(node_id, country, listen, final.default_database),
        keys=keys,
    )
    fingerprint: str | None = None
    with new_private_directory(final.root, "node directory") as staging:
        layout = NodeLayout(staging)
        layout.keys.mkdir(mode=0o700)
        layout.keys.chmod(0o700)
        verifier_key = write_identity_key(layout, node_id, passphrase)
        tls_key, request = make_tls_key_and_csr(node_id, certificate_hosts(listen, extra_hosts))
        write_encrypted_private_key(layout.tls_key, tls_key, passphrase)
        write_public_file(layout.tls_csr, request.public_bytes(Encoding.PEM))
        if certify is not None:
            certificate, ca_certificate = certify(request)
            _check_certificate(layout, node_id, [certificate], [ca_certificate], None)
            write_public_file(layout.tls_certificate, certificates_pem([certificate]))
            write_public_file(layout.ca_certificate, certificates_pem([ca_certificate]))
            fingerprint = certificate_fingerprint(certificate)
        _create_database(layout.default_database, node_id)
        write_config(layout.config, config)
    return InitResult(final, config, verifier_key, fingerprint)


def load_node_config(node_dir: Path) -> NodeConfig:
    """Load `node.toml` of the node directory `node_dir` (see `node.config.load_config`)."""
    return load_config(NodeLayout(node_dir).config)


def load_identity_signer(node_dir: Path, passphrase: bytes) -> Ed25519Signer:
    """Load the node's Ed25519 identity key as a signed-note signer named after the node id.

    Raises:
        InputError: the configuration or key cannot be loaded, or the passphrase is wrong.
    """
    config = load_node_config(node_dir)
    key = load_private_key(NodeLayout(config.directory).identity_key, passphrase)
    return Ed25519Signer(config.node.id, key)


def load_tls_credentials(
    node_dir: Path, passphrase: bytes, *, now: datetime | None = None
) -> TlsCredentials:
    """Load the node's TLS key (decrypted in memory), certificate chain and CA certificates.

    The result is ready for `grpc.ssl_server_credentials(..., require_client_auth=True)` and
    `grpc.ssl_channel_credentials` (`TlsCredentials.server_credentials()`,
    `.channel_credentials()`).

    Raises:
        InputError: the node has no certificate yet, the passphrase is wrong, the certificate is
            not for this node's key or node id, or it does not chain to the CA certificate.
    """
    config = load_node_config(node_dir)
    layout = NodeLayout(config.directory)
    if not layout.tls_certificate.exists():
        raise InputError(
            f"{layout.tls_certificate} does not exist: the node has no TLS certificate yet; "
            f"have {layout.tls_csr} signed (e.g. `blindhit dev-ca sign`) and install it there"
        )
    credentials = tls_credentials_from_files(
        layout.tls_key, layout.tls_certificate, layout.ca_certificate, passphrase, now=now
    )
    if credentials.node_id != config.node.id:
        raise InputError(
            f"{layout.tls_certificate} is for node {credentials.node_id!r}, but "
            f"{layout.config} says this node is {config.node.id!r}"
        )
    return credentials


def install_certificate(
    node_dir: Path,
    chain: Sequence[x509.Certificate],
    ca_certificates: Sequence[x509.Certificate],
    *,
    now: datetime | None = None,
) -> str:
    """Install a certificate issued for the node's request, with its CA; return its fingerprint.

    The certificate must hold the key of `keys/tls.csr`, name this node, and chain to
    `ca_certificates` now; then `keys/tls-cert.pem` and `keys/ca-cert.pem` are replaced, each
    atomically. No passphrase is needed: the key is compared through the request.

    Raises:
        InputError: the certificate is not this node's or does not verify, or a file cannot be
            written.
    """
    config = load_node_config(node_dir)
    layout = NodeLayout(config.directory)
    _check_certificate(layout, config.node.id, chain, ca_certificates, now)
    _replace_public_file(layout.ca_certificate, certificates_pem(ca_certificates))
    _replace_public_file(layout.tls_certificate, certificates_pem(chain))
    return certificate_fingerprint(chain[0])


def _replace_public_file(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.partial")
    staging.unlink(missing_ok=True)
    write_public_file(staging, data)
    try:
        staging.replace(path)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        raise InputError(f"cannot install {path}: {exc.strerror or exc}") from exc
