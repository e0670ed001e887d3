"""The coordinating node's directory and its operations: init, admit, revoke, publish.

Layout (directories 0700, private keys and the database 0600, public files 0644):

```
<federation dir>/
  federation.toml      configuration (`federation.config`)
  federation.db        members, revocations, certificates, directories (`federation.store`)
  ca/
    ca-cert.pem        the federation CA certificate: members install it as keys/ca-cert.pem
    ca-key.pem         its P-256 key, encrypted
  keys/
    identity.pem       Ed25519 identity key, encrypted: signs every directory
    identity.vkey      its verifier key `<id>+<key ID>+<base64>`: members verify directories
                       with it
    tls-key.pem        ECDSA P-256 key for mutual TLS with members, encrypted
    tls-cert.pem       the coordinating node's own certificate, issued by the federation CA
```

Operations:

- `init_federation` creates the directory all at once or not at all (built aside and renamed
  into place by `node.keys.tls.new_private_directory`), with the CA, the identity key, the TLS key
  and certificate (recorded as issued in the database) and the configuration.
- `Coordinator.admit` checks and signs a member's certificate request and records the member;
  it is two steps, `prepare_admission` (every check, then the signature; nothing is stored) and
  `complete_admission` (one transaction, the checks made again inside it), so that a caller can
  stage the files it hands out between the two and a failed admission changes nothing.
- `Coordinator.revoke` removes a member; `Coordinator.publish` signs the next directory version
  from the current members and revocations. Neither admission nor revocation publishes by
  itself: an operator may admit several members and publish once, and `pending_changes` tells
  whether the newest directory is behind the database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final

from cryptography import x509

from crypto.errors import FederationError, InputError
from crypto.signed_note import Ed25519Signer, Ed25519Verifier, parse_note
from federation.ca import (
    CA_CERTIFICATE_FILE,
    CA_KEY_FILE,
    CA_VALIDITY_DAYS,
    CERTIFICATE_VALIDITY_DAYS,
    CertificateAuthority,
    create_ca,
    issue_member_certificate,
    load_ca,
    public_key_digest,
    sign_csr,
)
from federation.config import (
    CONFIG_FILE_NAME,
    DEFAULT_DATABASE,
    DEFAULT_REFRESH_SECONDS,
    FederationConfig,
    load_federation_config,
    write_federation_config,
)
from federation.store import FederationStore, IssuedCertificate, PublishedDirectory
from node.config import KeySettings
from node.home import KeysLayout, certificate_hosts, write_identity_key
from node.keys.identity import load_private_key, load_verifier
from node.keys.tls import (
    TlsCredentials,
    certificate_fingerprint,
    certificates_pem,
    load_certificates,
    make_tls_key_and_csr,
    new_private_directory,
    tls_credentials_from_files,
    write_encrypted_private_key,
    write_public_file,
)
from protocol.directory import (
    Directory,
    DirectoryDataset,
    Member,
    Revocation,
    RevocationReason,
    decode_directory,
    sign_directory,
)
from protocol.validation import HostPort, check_env_variable, check_node_id

__all__ = [
    "Admission",
    "Coordinator",
    "FederationInitResult",
    "FederationLayout",
    "init_federation",
]

# Any valid fingerprint: a member's entry is checked before its certificate exists, and the
# real fingerprint replaces this one once the certificate is signed.
_UNSIGNED_FINGERPRINT: Final = "sha256:" + "0" * 64


@dataclass(frozen=True, slots=True)
class FederationLayout(KeysLayout):
    """Where each file of the coordinating node's directory `root` lives."""

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE_NAME

    @property
    def default_database(self) -> Path:
        return self.root / DEFAULT_DATABASE

    @property
    def ca(self) -> Path:
        return self.root / "ca"

    @property
    def ca_certificate(self) -> Path:
        return self.ca / CA_CERTIFICATE_FILE

    @property
    def ca_key(self) -> Path:
        return self.ca / CA_KEY_FILE


@dataclass(frozen=True, slots=True)
class FederationInitResult:
    """What `init_federation` made, for the summary shown to the operator."""

    layout: FederationLayout
    config: FederationConfig
    identity_verifier_key: str
    ca_fingerprint: str
    certificate_fingerprint: str


@dataclass(frozen=True, slots=True)
class Admission:
    """An admission: the member's directory entry and what it installs.

    `certificate_pem` goes to the member's `keys/tls-cert.pem`, `ca_pem` to its
    `keys/ca-cert.pem`.
    """

    member: Member
    certificate: IssuedCertificate
    admitted_at: datetime
    ca_pem: bytes

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.pem


def _now(now: datetime | None) -> datetime:
    # Times in the database and the directory have whole seconds.
    return (datetime.now(UTC) if now is None else now.astimezone(UTC)).replace(microsecond=0)


def init_federation(
    target: Path,
    *,
    node_id: str,
    listen: HostPort,
    endpoint: HostPort,
    keys: KeySettings,
    refresh_seconds: int = DEFAULT_REFRESH_SECONDS,
    extra_hosts: Sequence[str] = (),
    ca_name: str | None = None,
    ca_validity_days: int = CA_VALIDITY_DAYS,
    validity_days: int = CERTIFICATE_VALIDITY_DAYS,
    now: datetime | None = None,
) -> FederationInitResult:
    """Create the coordinating node's directory at `target`, which must not exist.

    The TLS certificate names `localhost`, `127.0.0.1`, the listen host (unless a wildcard), the
    endpoint host and `extra_hosts`.

    Raises:
        InputError: `target` exists or cannot be created, an argument is malformed, or the
            passphrase cannot be read or is empty.
        StorageError: the database cannot be created.
    """
    check_node_id(node_id, "coordinator id")
    if not 1 <= endpoint.port <= 65535:
        raise InputError(f"endpoint: expected a port from 1 to 65535, got {endpoint.port}")
    if keys.passphrase_env is not None:
        check_env_variable(keys.passphrase_env, "passphrase environment variable")
    if keys.passphrase_file is not None:
        keys = KeySettings(keys.passphrase_env, keys.passphrase_file.absolute())
    passphrase = keys.read_passphrase()
    start = _now(now)
    final = FederationLayout(target.absolute())
    config = FederationConfig(
        directory=final.root,
        id=node_id,
        listen=listen,
        endpoint=endpoint,
        database=final.default_database,
        keys=keys,
        refresh_seconds=refresh_seconds,
    )
    # The directory's constructor checks the refresh interval and the endpoint as members will.
    Directory(
        1, start, node_id, endpoint, _UNSIGNED_FINGERPRINT, _UNSIGNED_FINGERPRINT, refresh_seconds
    )
    with new_private_directory(final.root, "federation directory") as staging:
        layout = FederationLayout(staging)
        layout.keys.mkdir(mode=0o700)
        layout.keys.chmod(0o700)
        verifier_key = write_identity_key(layout, node_id, passphrase)
        ca = create_ca(
            layout.ca,
            ca_name or f"{node_id} federation CA",
            passphrase,
            validity_days=ca_validity_days,
            now=start,
        )
        hosts = certificate_hosts(listen, [endpoint.host, *extra_hosts])
        tls_key, request = make_tls_key_and_csr(node_id, hosts)
        certificate = sign_csr(ca, request, validity_days, now=start)
        write_encrypted_private_key(layout.tls_key, tls_key, passphrase)
        write_public_file(layout.tls_certificate, certificates_pem([certificate]))
        with FederationStore.create(layout.default_database, node_id) as store:
            store.record_certificate(IssuedCertificate.of(certificate, node_id, start))
        write_federation_config(layout.config, config)
    return FederationInitResult(
        final,
        config,
        verifier_key,
        certificate_fingerprint(ca.certificate),
        certificate_fingerprint(certificate),
    )


class Coordinator:
    """An opened coordinating-node directory: its configuration and database.

    Open with `Coordinator.open(directory)`; close with `close()` or a `with` block.
    """

    def __init__(self, config: FederationConfig, store: FederationStore) -> None:
        self.config = config
        self.store = store
        self.layout = FederationLayout(config.directory)

    @classmethod
    def open(cls, directory: Path) -> Coordinator:
        """Load `federation.toml` in `directory` and open its database.

        Raises:
            InputError: the configuration is missing or malformed.
            StorageError: the database cannot be opened or belongs to another node.
        """
        layout = FederationLayout(directory.absolute())
        if not layout.config.is_file():
            raise InputError(
                f"{directory} is not a coordinating node's directory: it has no {CONFIG_FILE_NAME}"
            )
        config = load_federation_config(layout.config)
        store = FederationStore.open(config.database)
        if store.coordinator_id != config.id:
            store.close()
            raise FederationError(
                f"{config.database} belongs to coordinating node {store.coordinator_id!r}, but "
                f"{layout.config} says {config.id!r}"
            )
        return cls(config, store)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Keys and certificates.

    def ca_certificate(self) -> x509.Certificate:
        """The federation CA certificate (public; no passphrase needed)."""
        return load_certificates(self.layout.ca_certificate)[0]

    def ca_pem(self) -> bytes:
        """The federation CA certificate as PEM, for members to install."""
        return certificates_pem([self.ca_certificate()])

    def load_ca(self, passphrase: bytes) -> CertificateAuthority:
        """The federation CA with its key decrypted, to issue certificates."""
        return load_ca(self.layout.ca, passphrase)

    def identity_verifier(self) -> Ed25519Verifier:
        """The key members verify directories with (`keys/identity.vkey`)."""
        return load_verifier(self.layout.identity_verifier_key, self.config.id)

    def identity_signer(self, passphrase: bytes) -> Ed25519Signer:
        """The coordinating node's identity key, which signs directories.

        Raises:
            InputError: the key cannot be loaded or is not the one of `keys/identity.vkey`.
        """
        key = load_private_key(self.layout.identity_key, passphrase)
        signer = Ed25519Signer(self.config.id, key)
        if signer.verifier() != self.identity_verifier():
            raise InputError(
                f"{self.layout.identity_key} is not the key of {self.layout.identity_verifier_key}"
            )
        return signer

    def certificate(self) -> x509.Certificate:
        """The coordinating node's own mutual-TLS certificate."""
        return load_certificates(self.layout.tls_certificate)[0]

    def tls_credentials(self, passphrase: bytes, *, now: datetime | None = None) -> TlsCredentials:
        """The coordinating node's TLS key (decrypted in memory), certificate and the CA.

        Raises:
            InputError: a file is missing, the passphrase is wrong, or the certificate is not
                the key's, not the coordinating node's, or does not chain to the CA.
        """
        credentials = tls_credentials_from_files(
            self.layout.tls_key,
            self.layout.tls_certificate,
            self.layout.ca_certificate,
            passphrase,
            now=now,
        )
        if credentials.node_id != self.config.id:
            raise InputError(
                f"{self.layout.tls_certificate} is for node {credentials.node_id!r}, not for the "
                f"coordinating node {self.config.id!r}"
            )
        return credentials

    # Membership.

    def prepare_admission(
        self,
        request: x509.CertificateSigningRequest,
        *,
        member_id: str,
        country: str,
        endpoint: HostPort,
        identity_key: Ed25519Verifier,
        datasets: Sequence[DirectoryDataset] = (),
        passphrase: bytes,
        validity_days: int = CERTIFICATE_VALIDITY_DAYS,
        now: datetime | None = None,
    ) -> Admission:
        """Check a member's entry and request, and issue its certificate; nothing is stored.

        Raises:
            InputError: a field is malformed, the request fails a check
                (`federation.ca.issue_member_certificate`), or the CA cannot be loaded.
            FederationError: the member could not be admitted now (see `FederationStore.admit`).
        """
        admitted_at = _now(now)
        entry = Member(
            member_id, country, endpoint, _UNSIGNED_FINGERPRINT, identity_key, tuple(datasets)
        )
        self.store.check_admissible(entry, public_key_digest(request.public_key()))
        ca = self.load_ca(passphrase)
        certificate = issue_member_certificate(
            ca,
            request,
            member_id=member_id,
            endpoint_host=endpoint.host,
            validity_days=validity_days,
            now=admitted_at,
        )
        issued = IssuedCertificate.of(certificate, member_id, admitted_at)
        member = dataclasses.replace(entry, certificate_fingerprint=issued.fingerprint)
        return Admission(member, issued, admitted_at, certificates_pem([ca.certificate]))

    def complete_admission(self, admission: Admission) -> None:
        """Record a prepared admission in one transaction.

        Raises:
            FederationError: what `prepare_admission` checked no longer holds.
        """
        self.store.admit(admission.member, admission.certificate, admission.admitted_at)

    def admit(
        self,
        request: x509.CertificateSigningRequest,
        *,
        member_id: str,
        country: str,
        endpoint: HostPort,
        identity_key: Ed25519Verifier,
        datasets: Sequence[DirectoryDataset] = (),
        passphrase: bytes,
        validity_days: int = CERTIFICATE_VALIDITY_DAYS,
        now: datetime | None = None,
    ) -> Admission:
        """Admit a member: `prepare_admission`, then `complete_admission`."""
        admission = self.prepare_admission(
            request,
            member_id=member_id,
            country=country,
            endpoint=endpoint,
            identity_key=identity_key,
            datasets=datasets,
            passphrase=passphrase,
            validity_days=validity_days,
            now=now,
        )
        self.complete_admission(admission)
        return admission

    def revoke(
        self, member_id: str, reason: RevocationReason, *, now: datetime | None = None
    ) -> Revocation:
        """Remove member `member_id`; the next published directory lists it as revoked.

        Raises:
            InputError: `member_id` is not a node id.
            FederationError: it is not a current member.
        """
        check_node_id(member_id, "member id")
        return self.store.revoke(member_id, reason, _now(now))

    # Directories.

    def _directory(
        self,
        version: int,
        issued_at: datetime,
        members: tuple[Member, ...],
        revoked: tuple[Revocation, ...],
    ) -> Directory:
        return Directory(
            version=version,
            issued_at=issued_at,
            coordinator_id=self.config.id,
            coordinator_endpoint=self.config.endpoint,
            coordinator_fingerprint=certificate_fingerprint(self.certificate()),
            ca_fingerprint=certificate_fingerprint(self.ca_certificate()),
            refresh_seconds=self.config.refresh_seconds,
            members=members,
            revoked=revoked,
        )

    def publish(self, passphrase: bytes, *, now: datetime | None = None) -> PublishedDirectory:
        """Sign and store the next directory version from the current members and revocations.

        Raises:
            InputError: the identity key cannot be loaded, or the directory exceeds what members
                accept.
        """
        signer = self.identity_signer(passphrase)
        issued_at = _now(now)

        def compose(
            version: int, members: tuple[Member, ...], revoked: tuple[Revocation, ...]
        ) -> tuple[Directory, str]:
            directory = self._directory(version, issued_at, members, revoked)
            return directory, sign_directory(directory, signer)

        return self.store.publish(compose)

    def latest(self) -> PublishedDirectory | None:
        """The newest published directory, or None before the first."""
        return self.store.latest_directory()

    def pending_changes(self) -> bool:
        """Whether the database or configuration changed since the newest directory was signed."""
        latest = self.latest()
        if latest is None:
            return True
        published = decode_directory(parse_note(latest.note).text)
        current = self._directory(
            published.version,
            published.issued_at,
            self.store.members(),
            self.store.revocations(),
        )
        return current != published
