"""The federation CA: the certificate authority of the coordinating node.

It issues every member's mutual-TLS certificate from the member's certificate request, and the
coordinating node's own. It is the same X.509 mechanism as `node.pki`'s development CA — a
self-signed P-256 CA with path length 0, its key encrypted at rest, certificates naming a node in
one `blindhit://node/<id>` URI — so this module reuses those functions under the federation's
names rather than repeating them; `node.pki` names them after their first use, local
development, which is why `CertificateAuthority` is an alias of `node.pki.DevelopmentCa`.

What admission adds to `node.pki.sign_csr` (`issue_member_certificate`):

- The node id in the request's URI name must be the member id being admitted: an operator who
  picks up the wrong request file is stopped before a certificate exists.
- The member's endpoint host must be one of the certificate's DNS or IP names, since peers dial
  that endpoint and check the server's host name against the certificate (gRPC does, without an
  override); a certificate that would fail every handshake is refused at admission instead.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import datetime
from pathlib import Path
from typing import Final, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from node.pki import (
    DEFAULT_CA_VALIDITY_DAYS,
    DEFAULT_CERTIFICATE_VALIDITY_DAYS,
    DevelopmentCa,
    create_dev_ca,
    load_dev_ca,
    node_id_from_certificate,
    sign_csr,
)
from protocol.errors import InputError, PeerError

__all__ = [
    "CA_VALIDITY_DAYS",
    "CERTIFICATE_VALIDITY_DAYS",
    "CertificateAuthority",
    "certificate_host_names",
    "create_federation_ca",
    "issue_member_certificate",
    "load_federation_ca",
    "public_key_digest",
]

CertificateAuthority: TypeAlias = DevelopmentCa
CA_VALIDITY_DAYS: Final = DEFAULT_CA_VALIDITY_DAYS
CERTIFICATE_VALIDITY_DAYS: Final = DEFAULT_CERTIFICATE_VALIDITY_DAYS


def create_federation_ca(
    directory: Path,
    name: str,
    passphrase: bytes,
    *,
    validity_days: int = CA_VALIDITY_DAYS,
    now: datetime | None = None,
) -> CertificateAuthority:
    """Create the federation CA in the new directory `directory` (`ca-cert.pem`, `ca-key.pem`).

    Raises:
        InputError: see `node.pki.create_dev_ca`.
    """
    return create_dev_ca(directory, name, passphrase, validity_days=validity_days, now=now)


def load_federation_ca(directory: Path, passphrase: bytes) -> CertificateAuthority:
    """Load the federation CA in `directory`, decrypting its key with `passphrase`.

    Raises:
        InputError: see `node.pki.load_dev_ca`.
    """
    return load_dev_ca(directory, passphrase)


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
        InputError: the request fails a check of `node.pki.sign_csr`, names another node than
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
