"""`node.keys.tls`: node keys and requests, the development CA, issued certificates, key files."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crypto.errors import InputError, PeerError
from federation.ca import (
    CA_CERTIFICATE_FILE,
    CA_KEY_FILE,
    CertificateAuthority,
    create_ca,
    load_ca,
    sign_csr,
)
from node.keys.tls import (
    certificate_fingerprint,
    certificates_pem,
    load_tls_private_key,
    make_tls_key_and_csr,
    new_private_directory,
    node_id_from_auth_context,
    node_id_from_certificate,
    tls_credentials_from_files,
    verify_certificate_chain,
    write_encrypted_private_key,
    write_public_file,
)

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return create_ca(tmp_path / "ca", "Test CA", PASSPHRASE)


def request_with(
    names: list[x509.GeneralName] | None,
    common_name: str | None = "fr-ct",
    key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey | None = None,
) -> x509.CertificateSigningRequest:
    signing_key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
    if names is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    algorithm = None if isinstance(signing_key, Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signing_key, algorithm)


def certificate_with(
    ca: CertificateAuthority, names: list[x509.GeneralName] | None
) -> x509.Certificate:
    """A certificate made directly by the CA key, bypassing `sign_csr`'s checks."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if names is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca.private_key, hashes.SHA256())


def test_request_names_the_node_and_its_hosts() -> None:
    key, request = make_tls_key_and_csr("fr-ct", ["localhost", "127.0.0.1", "::1", "Node.FR."])
    assert isinstance(key.curve, ec.SECP256R1)
    assert request.is_signature_valid
    assert request.subject.rfc4514_string() == "CN=fr-ct"
    names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == ["blindhit://node/fr-ct"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "node.fr"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]


@pytest.mark.parametrize(("node_id", "hosts"), [("FR", []), ("fr-ct", ["bad host"])])
def test_request_refuses_bad_names(node_id: str, hosts: list[str]) -> None:
    with pytest.raises(InputError):
        make_tls_key_and_csr(node_id, hosts)


def test_dev_ca_files_and_certificate(tmp_path: Path, ca: CertificateAuthority) -> None:
    assert ca.directory == tmp_path / "ca"
    assert (tmp_path / "ca").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "ca" / CA_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert (
        (tmp_path / "ca" / CA_KEY_FILE)
        .read_bytes()
        .startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    )
    assert (tmp_path / "ca" / CA_CERTIFICATE_FILE).stat().st_mode & 0o777 == 0o644
    certificate = ca.certificate
    assert certificate.subject == certificate.issuer
    assert ca.name == "Test CA"
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert not usage.digital_signature
    certificate.verify_directly_issued_by(certificate)
    assert "Test CA" in repr(ca)
    assert "PRIVATE" not in repr(ca)
    # Nothing but the CA directory was left next to it.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ca"]


def test_dev_ca_loads_with_its_passphrase_only(tmp_path: Path, ca: CertificateAuthority) -> None:
    loaded = load_ca(tmp_path / "ca", PASSPHRASE)
    assert loaded.certificate == ca.certificate
    with pytest.raises(InputError, match=r"cannot decrypt private key .*ca-key\.pem: wrong"):
        load_ca(tmp_path / "ca", b"wrong")


def test_dev_ca_refuses_existing_directory_and_bad_arguments(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="exists; refusing to overwrite"):
        create_ca(tmp_path / "taken", "CA", PASSPHRASE)
    with pytest.raises(InputError, match="CA name"):
        create_ca(tmp_path / "new", " ", PASSPHRASE)
    with pytest.raises(InputError, match="non-empty passphrase"):
        create_ca(tmp_path / "new", "CA", b"")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]


def test_signed_certificate_profile(ca: CertificateAuthority) -> None:
    _, request = make_tls_key_and_csr("fr-ct", ["localhost", "127.0.0.1"])
    certificate = sign_csr(ca, request, 30)

    certificate.verify_directly_issued_by(ca.certificate)
    verify_certificate_chain([certificate], [ca.certificate])
    assert certificate.subject.rfc4514_string() == "CN=fr-ct"
    assert certificate.public_key() == request.public_key()
    extensions = certificate.extensions
    constraints = extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert not constraints.value.ca
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert list(extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    assert (
        extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        == request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    )
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert timedelta(days=30) <= lifetime <= timedelta(days=30, minutes=10)
    assert node_id_from_certificate(certificate) == "fr-ct"


def test_certificate_ends_with_its_ca(tmp_path: Path) -> None:
    short_ca = create_ca(tmp_path / "short", "Short CA", PASSPHRASE, validity_days=10)
    _, request = make_tls_key_and_csr("fr-ct", [])
    certificate = sign_csr(short_ca, request, 365)
    assert certificate.not_valid_after_utc == short_ca.certificate.not_valid_after_utc
    with pytest.raises(InputError, match="expired"):
        sign_csr(short_ca, request, now=datetime.now(UTC) + timedelta(days=11))


def tampered_signature(request: x509.CertificateSigningRequest) -> x509.CertificateSigningRequest:
    der = bytearray(request.public_bytes(Encoding.DER))
    der[-1] ^= 0x01
    return x509.load_der_x509_csr(bytes(der))


@pytest.mark.parametrize(
    ("make_request", "message"),
    [
        (
            lambda: tampered_signature(make_tls_key_and_csr("fr-ct", [])[1]),
            "signature does not verify",
        ),
        (lambda: request_with(None), "no subject alternative names"),
        (lambda: request_with([x509.DNSName("localhost")]), "got 0 URI names"),
        (
            lambda: request_with(
                [
                    x509.UniformResourceIdentifier("blindhit://node/fr-ct"),
                    x509.UniformResourceIdentifier("blindhit://node/de-bka"),
                ]
            ),
            "got 2 URI names",
        ),
        (
            lambda: request_with([x509.UniformResourceIdentifier("https://node/fr-ct")]),
            "expected a URI name blindhit://node/<node id>",
        ),
        (
            lambda: request_with([x509.UniformResourceIdentifier("blindhit://node/FR")]),
            "expected a URI name",
        ),
        (
            lambda: request_with(
                [
                    x509.UniformResourceIdentifier("blindhit://node/fr-ct"),
                    x509.RFC822Name("officer@example.org"),
                ]
            ),
            "only URI, DNS and IP names",
        ),
        (
            lambda: request_with(
                [x509.UniformResourceIdentifier("blindhit://node/fr-ct")], common_name="de-bka"
            ),
            "common name 'de-bka' differs",
        ),
        (
            lambda: request_with(
                [x509.UniformResourceIdentifier("blindhit://node/fr-ct")],
                key=Ed25519PrivateKey.generate(),
            ),
            "expected an ECDSA P-256 or P-384 key",
        ),
    ],
)
def test_sign_refuses_bad_requests(
    ca: CertificateAuthority,
    make_request: Callable[[], x509.CertificateSigningRequest],
    message: str,
) -> None:
    request = make_request()
    with pytest.raises(InputError, match=f"^certificate request: .*{message}"):
        sign_csr(ca, request)


def test_sign_without_common_name(ca: CertificateAuthority) -> None:
    request = request_with([x509.UniformResourceIdentifier("blindhit://node/fr-ct")], None)
    assert sign_csr(ca, request).subject.rfc4514_string() == "CN=fr-ct"


def test_fingerprint_is_sha256_of_der(ca: CertificateAuthority) -> None:
    digest = hashlib.sha256(ca.certificate.public_bytes(Encoding.DER)).hexdigest()
    assert certificate_fingerprint(ca.certificate) == f"sha256:{digest}"


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (None, "no subject alternative names"),
        ([x509.DNSName("localhost")], "got 0 URI names"),
        ([x509.UniformResourceIdentifier("blindhit://node/")], "expected a URI name"),
        ([x509.UniformResourceIdentifier("blindhit://node/fr-ct/x")], "expected a URI name"),
    ],
)
def test_node_id_needs_exactly_one_node_uri(
    ca: CertificateAuthority, names: list[x509.GeneralName] | None, message: str
) -> None:
    with pytest.raises(PeerError, match=message):
        node_id_from_certificate(certificate_with(ca, names))


def test_node_id_from_auth_context(ca: CertificateAuthority) -> None:
    certificate = certificate_with(ca, [x509.UniformResourceIdentifier("blindhit://node/de-bka")])
    pem = certificate.public_bytes(Encoding.PEM)
    assert node_id_from_auth_context({"x509_pem_cert": [pem]}) == "de-bka"
    with pytest.raises(PeerError, match="no client certificate"):
        node_id_from_auth_context({"transport_security_type": [b"ssl"]})
    with pytest.raises(PeerError, match="does not decode"):
        node_id_from_auth_context({"x509_pem_cert": [b"garbage"]})


def test_chain_from_another_ca_or_out_of_time_is_refused(
    tmp_path: Path, ca: CertificateAuthority
) -> None:
    other = create_ca(tmp_path / "other", "Other CA", PASSPHRASE)
    _, request = make_tls_key_and_csr("fr-ct", ["localhost"])
    certificate = sign_csr(other, request)
    with pytest.raises(InputError, match="does not verify against the CA"):
        verify_certificate_chain([certificate], [ca.certificate])
    verify_certificate_chain([certificate], [ca.certificate, other.certificate])
    with pytest.raises(InputError, match="does not verify against the CA"):
        verify_certificate_chain(
            [certificate], [other.certificate], now=datetime.now(UTC) + timedelta(days=400)
        )


def test_private_key_files(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "key.pem"
    write_encrypted_private_key(path, key, PASSPHRASE)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_tls_private_key(path, PASSPHRASE).private_numbers() == key.private_numbers()
    with pytest.raises(InputError, match="wrong passphrase"):
        load_tls_private_key(path, b"wrong")
    with pytest.raises(InputError, match="give the passphrase"):
        load_tls_private_key(path, b"")
    with pytest.raises(InputError, match="never overwritten"):
        write_encrypted_private_key(path, key, PASSPHRASE)
    with pytest.raises(InputError, match="without a passphrase"):
        write_encrypted_private_key(tmp_path / "plain.pem", key, b"")
    plain = tmp_path / "plain.pem"
    plain.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(InputError, match="is not encrypted"):
        load_tls_private_key(plain, PASSPHRASE)
    with pytest.raises(InputError, match="does not exist"):
        load_tls_private_key(tmp_path / "missing.pem", PASSPHRASE)


def test_tls_credentials_from_files(tmp_path: Path, ca: CertificateAuthority) -> None:
    key, request = make_tls_key_and_csr("fr-ct", ["localhost"])
    write_encrypted_private_key(tmp_path / "key.pem", key, PASSPHRASE)
    write_public_file(tmp_path / "cert.pem", certificates_pem([sign_csr(ca, request)]))
    credentials = tls_credentials_from_files(
        tmp_path / "key.pem", tmp_path / "cert.pem", ca.directory / CA_CERTIFICATE_FILE, PASSPHRASE
    )
    assert credentials.node_id == "fr-ct"
    assert credentials.private_key.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert credentials.root_certificates == certificates_pem([ca.certificate])
    assert "PRIVATE KEY" not in repr(credentials)

    _, other_request = make_tls_key_and_csr("fr-ct", ["localhost"])
    write_public_file(tmp_path / "other.pem", certificates_pem([sign_csr(ca, other_request)]))
    with pytest.raises(InputError, match=r"other\.pem is not a certificate for the key"):
        tls_credentials_from_files(
            tmp_path / "key.pem",
            tmp_path / "other.pem",
            ca.directory / CA_CERTIFICATE_FILE,
            PASSPHRASE,
        )
    with pytest.raises(InputError, match="wrong passphrase"):
        tls_credentials_from_files(
            tmp_path / "key.pem",
            tmp_path / "cert.pem",
            ca.directory / CA_CERTIFICATE_FILE,
            b"wrong",
        )


def fill_then_fail(target: Path, failure: BaseException) -> None:
    with new_private_directory(target) as staging:
        (staging / "file").write_text("content")
        raise failure


def test_new_private_directory_is_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "made"
    with new_private_directory(target) as staging:
        assert staging.parent == tmp_path
        assert not target.exists()
        (staging / "file").write_text("content")
    assert (target / "file").read_text() == "content"
    assert target.stat().st_mode & 0o777 == 0o700

    for failure in (RuntimeError("step failed"), KeyboardInterrupt()):
        with pytest.raises(type(failure)):
            fill_then_fail(tmp_path / "failed", failure)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["made"]

    with (
        pytest.raises(InputError, match="is not a directory"),
        new_private_directory(tmp_path / "missing" / "child"),
    ):
        pass
