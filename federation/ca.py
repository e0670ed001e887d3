"""The federation's certificate authority: every member's mutual-TLS certificate comes from here.

The CA is a self-signed ECDSA P-256 certificate with BasicConstraints CA=true and path length 0
(it signs node certificates and nothing that signs further), kept in a directory holding
`ca-cert.pem` and `ca-key.pem`, the key encrypted at rest. The coordinating node runs one; a
local network for development or tests (`dev.localnet`, `blindhit dev-ca`) runs its own with the
same code, so what is tested is what the federation issues.

What a certificate issued here looks like (`sign_csr`): subject `CN=<node id>`, the subject
alternative names of the request (URI, DNS and IP names only), BasicConstraints CA=false
(critical), KeyUsage digitalSignature (critical), ExtendedKeyUsage serverAuth and clientAuth (a
node is server and client), subject and authority key identifiers, ECDSA with SHA-256. The
subject is not copied from the request: the issuer decides it from the checked URI.

What admission adds to `sign_csr` (`issue_member_certificate`):

- The node id in the request's URI name must be the member id being admitted: an operator who
  picks up the wrong request file is stopped before a certificate exists.
- The member's endpoint host must be one of the certificate's DNS or IP names, since peers dial
  that endpoint and check the server's host name against the certificate (gRPC does, without an
  override); a certificate that would fail every handshake is refused at admission instead.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crypto.errors import InputError, PeerError
from federation.defaults import CA_VALIDITY_DAYS, CERTIFICATE_VALIDITY_DAYS
from node.keys.tls import (
    ALLOWED_CURVES,
    CLOCK_SKEW,
    MAX_COMMON_NAME,
    NODE_URI_PREFIX,
    certificates_pem,
    common_name,
    load_certificates,
    load_tls_private_key,
    new_private_directory,
    node_id_from_certificate,
    node_id_from_names,
    utc_now,
    write_encrypted_private_key,
    write_public_file,
)

__all__ = [
    "CA_CERTIFICATE_FILE",
    "CA_KEY_FILE",
    "CA_VALIDITY_DAYS",
    "CERTIFICATE_VALIDITY_DAYS",
    "CertificateAuthority",
    "certificate_host_names",
    "certifier",
    "create_ca",
    "issue_member_certificate",
    "load_ca",
    "public_key_digest",
    "sign_csr",
]

CA_CERTIFICATE_FILE: Final = "ca-cert.pem"
CA_KEY_FILE: Final = "ca-key.pem"
_MAX_CA_VALIDITY_DAYS: Final = 7305
_MAX_CERTIFICATE_VALIDITY_DAYS: Final = 3650


@dataclass(frozen=True, repr=False)
class CertificateAuthority:
    """A certificate authority loaded into memory: its directory, certificate and private key."""

    directory: Path
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def name(self) -> str:
        """The CA's common name."""
        return common_name(self.certificate.subject) or ""

    def __repr__(self) -> str:
        # The private key is never shown.
        return f"CertificateAuthority({self.name!r}, {str(self.directory)!r})"


def _check_days(days: int, maximum: int, what: str) -> None:
    if not 1 <= days <= maximum:
        raise InputError(f"{what} validity: expected 1 to {maximum} days, got {days}")


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def create_ca(
    directory: Path,
    name: str,
    passphrase: bytes,
    *,
    validity_days: int = CA_VALIDITY_DAYS,
    now: datetime | None = None,
) -> CertificateAuthority:
    """Create a CA in the new directory `directory` and return it.

    The directory (mode 0700) receives `ca-cert.pem`, the self-signed certificate with common
    name `name`, and `ca-key.pem`, its P-256 key encrypted with `passphrase` (mode 0600). It is
    built next to its final place and renamed into it, so a failure leaves nothing behind.

    Raises:
        InputError: `directory` exists, `name` is empty or too long, the passphrase is empty,
            or the files cannot be written.
    """
    if not name.strip() or len(name) > MAX_COMMON_NAME or not name.isprintable():
        raise InputError(
            f"CA name: expected 1 to {MAX_COMMON_NAME} printable characters, got {name!r}"
        )
    _check_days(validity_days, _MAX_CA_VALIDITY_DAYS, "CA certificate")
    if not passphrase:
        raise InputError("the CA key needs a non-empty passphrase")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = utc_now(now)
    key_identifier = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - CLOCK_SKEW)
        .not_valid_after(start + timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(key_identifier, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(key_identifier),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    with new_private_directory(directory, "CA directory") as staging:
        write_encrypted_private_key(staging / CA_KEY_FILE, key, passphrase)
        write_public_file(staging / CA_CERTIFICATE_FILE, certificates_pem([certificate]))
    return CertificateAuthority(directory.absolute(), certificate, key)


def load_ca(directory: Path, passphrase: bytes) -> CertificateAuthority:
    """Load the CA in `directory`, decrypting its key with `passphrase`.

    Raises:
        InputError: a file is missing or unreadable, the passphrase is wrong, the certificate is
            not a CA certificate, or the key does not belong to it.
    """
    certificate_path = directory / CA_CERTIFICATE_FILE
    certificates = load_certificates(certificate_path)
    if len(certificates) != 1:
        raise InputError(
            f"{certificate_path}: expected one CA certificate, got {len(certificates)}"
        )
    (certificate,) = certificates
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (x509.ExtensionNotFound, ValueError) as exc:
        raise InputError(f"{certificate_path}: not a CA certificate (no BasicConstraints)") from exc
    if not constraints.ca:
        raise InputError(f"{certificate_path}: not a CA certificate (BasicConstraints CA=false)")
    key = load_tls_private_key(directory / CA_KEY_FILE, passphrase)
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or _spki(public_key) != _spki(
        key.public_key()
    ):
        raise InputError(f"{directory / CA_KEY_FILE} is not the key of {certificate_path}")
    return CertificateAuthority(directory.absolute(), certificate, key)


def sign_csr(
    ca: CertificateAuthority,
    csr: x509.CertificateSigningRequest,
    validity_days: int = CERTIFICATE_VALIDITY_DAYS,
    *,
    now: datetime | None = None,
) -> x509.Certificate:
    """Issue a node certificate for `csr`, signed by `ca`, valid for `validity_days`.

    The request must be self-signed correctly, hold a P-256 or P-384 key, and carry subject
    alternative names of which exactly one is a `blindhit://node/<id>` URI and the others DNS
    names or IP addresses; a common name, if any, must equal the node id. The certificate ends no
    later than the CA certificate.

    Raises:
        InputError: the request fails one of these checks, or the CA has expired.
    """
    _check_days(validity_days, _MAX_CERTIFICATE_VALIDITY_DAYS, "certificate")
    if not csr.is_signature_valid:
        raise InputError("certificate request: its signature does not verify")
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or (
        public_key.curve.name not in ALLOWED_CURVES
    ):
        raise InputError(
            "certificate request: expected an ECDSA P-256 or P-384 key, "
            f"got {type(public_key).__name__}"
        )
    try:
        names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise InputError(
            "certificate request: no subject alternative names; expected "
            f"{NODE_URI_PREFIX}<node id>"
        ) from exc
    except ValueError as exc:
        raise InputError(f"certificate request: malformed extensions: {exc}") from exc
    try:
        node_id = node_id_from_names(names)
    except ValueError as exc:
        raise InputError(f"certificate request: {exc}") from exc
    for name in names:
        if not isinstance(name, x509.UniformResourceIdentifier | x509.DNSName | x509.IPAddress):
            raise InputError(
                "certificate request: expected only URI, DNS and IP names, "
                f"got a {type(name).__name__}"
            )
    requested_name = common_name(csr.subject)
    if requested_name is not None and requested_name != node_id:
        raise InputError(
            f"certificate request: common name {requested_name!r} differs from the node id "
            f"{node_id!r} of its URI name"
        )
    start = utc_now(now)
    ca_end = ca.certificate.not_valid_after_utc
    end = min(start + timedelta(days=validity_days), ca_end)
    if end <= start:
        raise InputError(f"the CA {ca.name!r} expired on {ca_end:%Y-%m-%d}")
    ca_key_identifier = x509.SubjectKeyIdentifier.from_public_key(ca.private_key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)]))
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - CLOCK_SKEW)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_identifier),
            critical=False,
        )
        .sign(ca.private_key, hashes.SHA256())
    )


def certifier(
    ca: CertificateAuthority, validity_days: int = CERTIFICATE_VALIDITY_DAYS
) -> Callable[[x509.CertificateSigningRequest], tuple[x509.Certificate, x509.Certificate]]:
    """A function that signs a node's request with `ca` (`node.home.init_node_directory`)."""

    def certify(
        csr: x509.CertificateSigningRequest,
    ) -> tuple[x509.Certificate, x509.Certificate]:
        return sign_csr(ca, csr, validity_days), ca.certificate

    return certify


def public_key_digest(public_key: CertificatePublicKeyTypes) -> str:
    """Return the SHA-256 (hex) of a public key's SubjectPublicKeyInfo encoding."""
    spki = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def certificate_host_names(certificate: x509.Certificate) -> list[str]:
    """Return the DNS names and IP addresses `certificate` is valid for, in its order."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    hosts: list[str] = list(names.get_values_for_type(x509.DNSName))
    hosts.extend(str(address) for address in names.get_values_for_type(x509.IPAddress))
    return hosts


def _names_host(certificate: x509.Certificate, host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        wanted = host.removesuffix(".").lower()
        return any(name.lower() == wanted for name in certificate_host_names(certificate))
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return address in names.get_values_for_type(x509.IPAddress)


def issue_member_certificate(
    ca: CertificateAuthority,
    csr: x509.CertificateSigningRequest,
    *,
    member_id: str,
    endpoint_host: str,
    validity_days: int = CERTIFICATE_VALIDITY_DAYS,
    now: datetime | None = None,
) -> x509.Certificate:
    """Issue member `member_id`'s mutual-TLS certificate for `csr` (see the module docstring).

    Raises:
        InputError: the request fails a check of `sign_csr`, names another node than
            `member_id`, or does not name `endpoint_host`.
    """
    certificate = sign_csr(ca, csr, validity_days, now=now)
    # sign_csr has checked the request's names, so the certificate names exactly one node; the
    # certificate is dropped unless that node is the member.
    try:
        certified = node_id_from_certificate(certificate)
    except PeerError as exc:
        raise InputError(f"certificate request: {exc}") from exc
    if certified != member_id:
        raise InputError(
            f"certificate request: it is for node {certified!r}, not for member {member_id!r}"
        )
    if not _names_host(certificate, endpoint_host):
        hosts = ", ".join(certificate_host_names(certificate)) or "none"
        raise InputError(
            f"certificate request: it does not name the endpoint host {endpoint_host!r} "
            f"(it names {hosts}); peers dialling the endpoint would refuse the certificate"
        )
    return certificate
