"""The node's TLS key, certificate request and certificates for mutual TLS between nodes.

Every node talks to its peers over gRPC with mutual TLS (docs/architecture.md). Its TLS key is ECDSA
P-256, which every TLS stack gRPC ships with accepts; the node's long-term *identity* key (Ed25519,
for signed requests, receipts and checkpoints) is a different key, kept by `node.keys.identity`.

Identity on a connection. A node's certificate carries exactly one URI subject alternative name
`blindhit://node/<node id>`; that URI, not the subject common name and not a host name, is the
peer's identity once the TLS handshake has verified the chain (`node_id_from_certificate`,
`node_id_from_auth_context`). The common name repeats the node id for people reading the
certificate. DNS and IP names (`localhost`, `127.0.0.1` and the listen host) are there only so
that a client can check the server's host name as TLS requires.

What a certificate issued by the federation CA looks like (`federation.ca.sign_csr`): subject
`CN=<node id>`, the subject
alternative names of the request (URI, DNS and IP names only), BasicConstraints CA=false
(critical), KeyUsage digitalSignature (critical), ExtendedKeyUsage serverAuth and clientAuth (a
node is server and client), subject and authority key identifiers, ECDSA with SHA-256. The
subject is not copied from the request: the issuer decides it from the checked URI.

Private keys on disk are PKCS #8 PEM, always encrypted (PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC,
as `cryptography`'s `BestAvailableEncryption` writes them), created with mode 0600 and never
overwritten. Decrypted keys exist only in memory (`TlsCredentials`).

Errors: bad local files and arguments raise `InputError` naming the file; a certificate that
came from a peer and does not name a node raises `PeerError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from crypto.errors import InputError, PeerError
from protocol.validation import FINGERPRINT_PREFIX, check_node_id, is_valid_host, is_valid_node_id

__all__ = [
    "ALLOWED_CURVES",
    "CLOCK_SKEW",
    "MAX_COMMON_NAME",
    "NODE_URI_PREFIX",
    "TlsCredentials",
    "certificate_fingerprint",
    "certificates_pem",
    "common_name",
    "load_certificate_request",
    "load_certificates",
    "load_tls_private_key",
    "make_tls_key_and_csr",
    "new_private_directory",
    "node_id_from_auth_context",
    "node_id_from_certificate",
    "node_id_from_names",
    "tls_credentials_from_files",
    "utc_now",
    "verify_certificate_chain",
    "write_encrypted_private_key",
    "write_public_file",
]

NODE_URI_PREFIX: Final = "blindhit://node/"
# Certificates start a few minutes in the past so that a peer whose clock is slightly behind
# does not reject a certificate issued a moment ago.
CLOCK_SKEW: Final = timedelta(minutes=5)
# The X.520 upper bound of a common name (RFC 5280 Appendix A, ub-common-name).
MAX_COMMON_NAME: Final = 64
# PEM keys and certificate chains are a few kilobytes; refuse to read anything far larger.
_MAX_PEM_FILE_SIZE: Final = 256 * 1024
ALLOWED_CURVES: Final = frozenset({"secp256r1", "secp384r1"})


@dataclass(frozen=True)
class TlsCredentials:
    """PEM material for gRPC mutual TLS, with the key decrypted in memory only.

    `private_key` is an unencrypted PKCS #8 PEM, `certificate_chain` the node's certificate
    followed by any intermediates, `root_certificates` the trust anchors that peers'
    certificates must chain to.
    """

    private_key: bytes = field(repr=False)
    certificate_chain: bytes
    root_certificates: bytes
    node_id: str
    fingerprint: str

    def server_credentials(self) -> grpc.ServerCredentials:
        """Server credentials that demand and verify a client certificate."""
        return grpc.ssl_server_credentials(
            [(self.private_key, self.certificate_chain)],
            root_certificates=self.root_certificates,
            require_client_auth=True,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Channel credentials that present this node's certificate and trust only its CA."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_certificates,
            private_key=self.private_key,
            certificate_chain=self.certificate_chain,
        )


def utc_now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def common_name(name: x509.Name) -> str | None:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attributes:
        return None
    value = attributes[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _node_uri(node_id: str) -> str:
    return NODE_URI_PREFIX + node_id


def _subject_alternative_names(node_id: str, hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(_node_uri(node_id))]
    for host in dict.fromkeys(hosts):
        if not is_valid_host(host):
            raise InputError(
                f"expected a host name or IP address for the certificate, got {host!r}"
            )
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host.removesuffix(".").lower()))
    return names


def make_tls_key_and_csr(
    node_id: str, hosts: Sequence[str]
) -> tuple[ec.EllipticCurvePrivateKey, x509.CertificateSigningRequest]:
    """Generate a P-256 TLS key and a certificate request for node `node_id`.

    The request's subject is `CN=<node id>`; its subject alternative names are the URI
    `blindhit://node/<node id>` and each of `hosts` as a DNS name or IP address.

    Raises:
        InputError: the node id or a host is malformed.
    """
    check_node_id(node_id, "node id")
    names = _subject_alternative_names(node_id, hosts)
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)]))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, request


def node_id_from_names(names: x509.SubjectAlternativeName) -> str:
    """Return the node id of the one `blindhit://node/<id>` URI; ValueError saying what is wrong."""
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1:
        raise ValueError(
            f"expected exactly one URI name {NODE_URI_PREFIX}<node id>, got {len(uris)} URI names"
        )
    (uri,) = uris
    if not uri.startswith(NODE_URI_PREFIX) or not is_valid_node_id(uri[len(NODE_URI_PREFIX) :]):
        raise ValueError(f"expected a URI name {NODE_URI_PREFIX}<node id>, got {uri[:100]!r}")
    return uri[len(NODE_URI_PREFIX) :]


def node_id_from_certificate(certificate: x509.Certificate) -> str:
    """Return the node id that `certificate` names in its `blindhit://node/<id>` URI.

    Call this only on a certificate whose chain has been verified (by the TLS handshake or by
    `verify_certificate_chain`); it checks the form of the name, not who issued it.

    Raises:
        PeerError: no subject alternative names, not exactly one URI, or a URI that is not a
            `blindhit://node/` URI with a valid node id.
    """
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise PeerError(
            f"certificate names no node: it has no subject alternative names "
            f"(expected {NODE_URI_PREFIX}<node id>)"
        ) from exc
    except ValueError as exc:
        raise PeerError(f"certificate has malformed extensions: {exc}") from exc
    try:
        return node_id_from_names(names)
    except ValueError as exc:
        raise PeerError(f"certificate names no node: {exc}") from exc


def node_id_from_auth_context(auth_context: Mapping[str, object]) -> str:
    """Return the peer's node id from a gRPC server's `context.auth_context()`.

    gRPC puts the verified client certificate under `x509_pem_cert`, as a one-element list of
    PEM bytes (its type stubs say bytes; both are accepted).

    Raises:
        PeerError: the connection carries no client certificate or it names no node.
    """
    value = auth_context.get("x509_pem_cert")
    pems = [value] if isinstance(value, bytes) else value
    if not isinstance(pems, list | tuple) or len(pems) != 1 or not isinstance(pems[0], bytes):
        raise PeerError("the connection carries no client certificate")
    try:
        certificate = x509.load_pem_x509_certificate(pems[0])
    except ValueError as exc:
        raise PeerError("the client certificate does not decode") from exc
    return node_id_from_certificate(certificate)


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """Return `sha256:<hex>`, the SHA-256 digest of the certificate's DER encoding."""
    digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
    return FINGERPRINT_PREFIX + digest


def certificates_pem(certificates: Iterable[x509.Certificate]) -> bytes:
    """Return the certificates as concatenated PEM blocks."""
    return b"".join(certificate.public_bytes(Encoding.PEM) for certificate in certificates)


def verify_certificate_chain(
    chain: Sequence[x509.Certificate],
    trust_anchors: Sequence[x509.Certificate],
    *,
    now: datetime | None = None,
) -> None:
    """Check that `chain` (leaf first) chains to one of `trust_anchors` and is valid `now`.

    The check is the one a peer's TLS stack makes of a client certificate (RFC 5280 path
    validation with the clientAuth usage), done ahead so that a wrong or expired certificate is
    reported when it is installed rather than as a failed handshake.

    Raises:
        InputError: the chain is empty or does not verify, with the reason.
    """
    if not chain:
        raise InputError("expected at least one certificate, got none")
    if not trust_anchors:
        raise InputError("expected at least one CA certificate, got none")
    verifier = (
        PolicyBuilder().store(Store(list(trust_anchors))).time(utc_now(now)).build_client_verifier()
    )
    try:
        verifier.verify(chain[0], list(chain[1:]))
    except VerificationError as exc:
        raise InputError(f"the certificate does not verify against the CA: {exc}") from exc


def tls_credentials_from_files(
    key_path: Path,
    certificate_path: Path,
    ca_path: Path,
    passphrase: bytes,
    *,
    now: datetime | None = None,
) -> TlsCredentials:
    """Load and cross-check the TLS key, certificate chain and CA certificates of a node.

    Checks: the key decrypts, the certificate is the key's, it names a node, and it chains to
    the CA now. The returned key is decrypted in memory only.

    Raises:
        InputError: naming the file at fault.
    """
    key = load_tls_private_key(key_path, passphrase)
    chain = load_certificates(certificate_path)
    anchors = load_certificates(ca_path)
    leaf_key = chain[0].public_key()
    if not isinstance(leaf_key, ec.EllipticCurvePublicKey) or _spki(leaf_key) != _spki(
        key.public_key()
    ):
        raise InputError(f"{certificate_path} is not a certificate for the key {key_path}")
    try:
        node_id = node_id_from_certificate(chain[0])
    except PeerError as exc:
        raise InputError(f"{certificate_path}: {exc}") from exc
    try:
        verify_certificate_chain(chain, anchors, now=now)
    except InputError as exc:
        raise InputError(f"{certificate_path}: {exc} ({ca_path})") from exc
    return TlsCredentials(
        private_key=key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
        certificate_chain=certificates_pem(chain),
        root_certificates=certificates_pem(anchors),
        node_id=node_id,
        fingerprint=certificate_fingerprint(chain[0]),
    )


# Files.


def _read_pem_file(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_PEM_FILE_SIZE + 1)
    except FileNotFoundError as exc:
        raise InputError(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > _MAX_PEM_FILE_SIZE:
        raise InputError(f"{what} {path} is larger than {_MAX_PEM_FILE_SIZE} bytes")
    return data


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Load one or more PEM certificates from `path`, in file order.

    Raises:
        InputError: the file is unreadable or holds no PEM certificate.
    """
    data = _read_pem_file(path, "certificate file")
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise InputError(
            f"{path}: expected PEM certificates (-----BEGIN CERTIFICATE-----)"
        ) from exc
    return certificates


def load_certificate_request(path: Path) -> x509.CertificateSigningRequest:
    """Load a PEM certificate signing request from `path`.

    Raises:
        InputError: the file is unreadable or holds no PEM certificate request.
    """
    data = _read_pem_file(path, "certificate request")
    try:
        return x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise InputError(
            f"{path}: expected a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)"
        ) from exc


def load_tls_private_key(path: Path, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
    """Load an encrypted PKCS #8 PEM ECDSA key from `path`, decrypting it with `passphrase`.

    Raises:
        InputError: the file is unreadable, not encrypted, not an ECDSA key, or the passphrase
            is wrong.
    """
    data = _read_pem_file(path, "private key")
    if not passphrase:
        raise InputError(f"give the passphrase of private key {path}; it is empty")
    try:
        key = load_pem_private_key(data, password=passphrase)
    except TypeError as exc:
        # cryptography raises TypeError when a passphrase is given for an unencrypted key.
        raise InputError(
            f"private key {path} is not encrypted; private keys are kept encrypted at rest"
        ) from exc
    except ValueError as exc:
        raise InputError(
            f"cannot decrypt private key {path}: wrong passphrase or not a PKCS #8 PEM key"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"expected an ECDSA private key in {path}, got {type(key).__name__}")
    return key


def _create_file(path: Path, data: bytes, mode: int, what: str) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise InputError(f"{path} exists; a {what} is never overwritten") from exc
    except OSError as exc:
        raise InputError(f"cannot create {what} {path}: {exc.strerror or exc}") from exc
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    # The umask may have narrowed the mode; set it exactly.
    path.chmod(mode)


def write_encrypted_private_key(
    path: Path, key: ec.EllipticCurvePrivateKey, passphrase: bytes
) -> None:
    """Write `key` as encrypted PKCS #8 PEM to the new file `path` with mode 0600.

    Raises:
        InputError: the passphrase is empty, or the file exists or cannot be written.
    """
    if not passphrase:
        raise InputError(f"refusing to write private key {path} without a passphrase")
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase))
    _create_file(path, pem, 0o600, "private key")


def write_public_file(path: Path, data: bytes) -> None:
    """Write public material (a certificate or request) to the new file `path` with mode 0644.

    Raises:
        InputError: the file exists or cannot be written.
    """
    _create_file(path, data, 0o644, "file")


def _sync_tree(root: Path) -> None:
    """Flush every file and directory under `root` to stable storage."""
    for directory, _, files in os.walk(root):
        for name in [*files, "."]:
            descriptor = os.open(Path(directory) / name, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _move_into_place(staging: Path, target: Path, what: str) -> None:
    staging.chmod(0o700)
    _sync_tree(staging)
    if target.exists() or target.is_symlink():
        raise InputError(f"{target} exists; refusing to overwrite an existing {what}")
    try:
        staging.rename(target)
    except OSError as exc:
        raise InputError(f"cannot create {what} {target}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def new_private_directory(target: Path, what: str = "directory") -> Iterator[Path]:
    """Create the directory `target` (mode 0700) all at once, or not at all.

    Yields a staging directory next to `target` to fill; when the block ends normally the
    staging directory is flushed to disk and renamed to `target`; when it raises (or is
    interrupted) the staging directory is removed. So a reader never sees a half-made `target`,
    and a failure leaves nothing behind.

    An existing `target` is refused, before and again just before the rename. (POSIX rename
    replaces an *empty* directory that appears in between; nothing is lost then.)

    Raises:
        InputError: `target` exists, its parent is missing, or it cannot be created there.
    """
    target = target.absolute()
    if target.exists() or target.is_symlink():
        raise InputError(f"{target} exists; refusing to overwrite an existing {what}")
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"cannot create {what} {target}: {parent} is not a directory")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise InputError(f"cannot create {what} in {parent}: {exc.strerror or exc}") from exc
    try:
        yield staging
        _move_into_place(staging, target, what)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # Make the rename itself durable; a file system that cannot sync a directory still renamed.
    with contextlib.suppress(OSError):
        descriptor = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
