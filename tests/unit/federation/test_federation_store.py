"""`federation.store`: the coordinating node's database, on real SQLite files with real keys."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crypto.errors import FederationError, InputError, StorageError
from crypto.oprf import Mode, Suite
from crypto.signed_note import Ed25519Signer
from federation.ca import CertificateAuthority, create_ca, sign_csr
from federation.store import FederationStore, IssuedCertificate
from node.keys.tls import make_tls_key_and_csr
from protocol.directory import (
    Directory,
    DirectoryDataset,
    Member,
    Revocation,
    RevocationReason,
    open_directory,
    sign_directory,
)
from protocol.validation import HostPort

COORDINATOR_ID = "gs-lyon"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return create_ca(tmp_path_factory.mktemp("ca") / "ca", "Store test CA", b"secret")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FederationStore]:
    with FederationStore.create(tmp_path / "federation.db", COORDINATOR_ID) as opened:
        yield opened


class Node:
    """A member's keys: TLS key and request, identity key."""

    def __init__(self, node_id: str) -> None:
        self.id = node_id
        self.tls_key, self.request = make_tls_key_and_csr(node_id, ["localhost"])
        self.identity = Ed25519Signer.generate(node_id)

    def certificate(
        self, ca: CertificateAuthority, at: datetime = T0
    ) -> tuple[x509.Certificate, IssuedCertificate]:
        certificate = sign_csr(ca, self.request, now=at)
        return certificate, IssuedCertificate.of(certificate, self.id, at)

    def member(self, issued: IssuedCertificate, *datasets: DirectoryDataset) -> Member:
        return Member(
            self.id,
            "FRA",
            HostPort("localhost", 7443),
            issued.fingerprint,
            self.identity.verifier(),
            datasets,
        )

    def admit(
        self, store: FederationStore, ca: CertificateAuthority, *datasets: DirectoryDataset
    ) -> Member:
        _, issued = self.certificate(ca)
        member = self.member(issued, *datasets)
        store.admit(member, issued, T0)
        return member


def persons(quota: int = 1000) -> DirectoryDataset:
    return DirectoryDataset("persons", Suite.RISTRETTO255_SHA512, Mode.OPRF, b"", quota)


def vehicles() -> DirectoryDataset:
    group = Suite.P256_SHA256.value.group
    public_key = bytes(group.serialize_element(group.scalar_mult_base(11)))
    return DirectoryDataset("vehicles", Suite.P256_SHA256, Mode.VOPRF, public_key, 50)


def test_create_refuses_an_existing_file_and_open_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "federation.db"
    FederationStore.create(path, COORDINATOR_ID).close()
    with pytest.raises(InputError, match="exists; a federation database is never overwritten"):
        FederationStore.create(path, COORDINATOR_ID)
    with pytest.raises(InputError, match="does not exist"):
        FederationStore.open(tmp_path / "missing.db")


def test_database_file_is_private_wal_and_prefixed(tmp_path: Path) -> None:
    path = tmp_path / "federation.db"
    FederationStore.create(path, COORDINATOR_ID).close()
    assert path.stat().st_mode & 0o777 == 0o600
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert dict(connection.execute("SELECT name, value FROM fd_meta")) == {
            "schema_version": "1",
            "coordinator_id": COORDINATOR_ID,
        }
    finally:
        connection.close()
    assert tables
    # The file holds the store's tables, the witness's and the coordinating node's audit log
    # (federation.schema), each prefixed; SQLite keeps the witness's AUTOINCREMENT counter in
    # sqlite_sequence.
    assert {name for name in tables if name.startswith("fd_")} >= {"fd_meta", "fd_members"}
    prefixes = ("fd_", "wt_", "audit_")
    assert all(name.startswith(prefixes) for name in tables - {"sqlite_sequence"})


def test_open_refuses_a_database_that_is_not_the_federation_s(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).close()
    with pytest.raises(StorageError, match="is not a federation database"):
        FederationStore.open(path)


def test_admitted_members_survive_a_restart(
    tmp_path: Path, store: FederationStore, ca: CertificateAuthority
) -> None:
    fr = Node("fr-ct").admit(store, ca, vehicles(), persons())
    de = Node("de-bka").admit(store, ca)
    assert store.members() == (de, fr)
    assert fr.datasets == (persons(), vehicles())
    before = (store.admitted_members(), store.revocations(), store.certificates())
    store.close()
    with pytest.raises(StorageError, match="is closed"):
        store.members()

    with FederationStore.open(tmp_path / "federation.db") as reopened:
        assert reopened.coordinator_id == COORDINATOR_ID
        assert (
            reopened.admitted_members(),
            reopened.revocations(),
            reopened.certificates(),
        ) == before
        (admitted, _) = reopened.admitted_members()
        assert admitted.admitted_at == T0
        assert admitted.certificate.subject_id == "de-bka"


def test_a_member_is_admitted_once(store: FederationStore, ca: CertificateAuthority) -> None:
    node = Node("fr-ct")
    node.admit(store, ca)
    again = Node("fr-ct")
    with pytest.raises(FederationError, match="'fr-ct' is a member already"):
        again.admit(store, ca)
    with pytest.raises(FederationError, match="'fr-ct' is a member already"):
        store.check_admissible(again.member(again.certificate(ca)[1]))


def test_the_coordinator_is_not_a_member(store: FederationStore, ca: CertificateAuthority) -> None:
    with pytest.raises(FederationError, match="the coordinating node's own id"):
        Node(COORDINATOR_ID).admit(store, ca)


def test_keys_are_never_shared_between_nodes(
    store: FederationStore, ca: CertificateAuthority
) -> None:
    fr = Node("fr-ct")
    fr.admit(store, ca)

    # The same Ed25519 key under another name.
    de = Node("de-bka")
    de.identity = Ed25519Signer.from_seed("de-bka", b"\x01" * 32)
    fr_copy = Node("es-cgpj")
    fr_copy.identity = Ed25519Signer.from_seed("es-cgpj", b"\x01" * 32)
    de.admit(store, ca)
    with pytest.raises(FederationError, match="is the identity key of member 'de-bka'"):
        fr_copy.admit(store, ca)

    # The same TLS key in another node's request.
    it = Node("it-sco")
    it.request = make_tls_key_and_csr_with(fr.tls_key, "it-sco")
    _, issued = it.certificate(ca)
    with pytest.raises(FederationError, match="already certified for node 'fr-ct'"):
        store.check_admissible(it.member(issued), issued.key_digest)
    with pytest.raises(FederationError, match="already certified for node 'fr-ct'"):
        store.admit(it.member(issued), issued, T0)
    assert [member.id for member in store.members()] == ["de-bka", "fr-ct"]


def make_tls_key_and_csr_with(
    key: ec.EllipticCurvePrivateKey, node_id: str
) -> x509.CertificateSigningRequest:
    """A request for `node_id` made with an existing key (as a careless operator would)."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)]))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"blindhit://node/{node_id}")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )


def test_admit_refuses_a_certificate_that_is_not_the_member_s(
    store: FederationStore, ca: CertificateAuthority
) -> None:
    fr, de = Node("fr-ct"), Node("de-bka")
    _, fr_certificate = fr.certificate(ca)
    _, de_certificate = de.certificate(ca)
    with pytest.raises(FederationError, match="the certificate is for 'de-bka', the member is"):
        store.admit(fr.member(fr_certificate), de_certificate, T0)
    with pytest.raises(FederationError, match="names certificate"):
        store.admit(
            fr.member(de_certificate), IssuedCertificate.of(fr.certificate(ca)[0], "fr-ct", T0), T0
        )
    assert store.members() == ()
    assert store.certificates() == ()


def test_revoke_removes_the_member_and_keeps_the_history(
    store: FederationStore, ca: CertificateAuthority
) -> None:
    Node("fr-ct").admit(store, ca, persons())
    de = Node("de-bka").admit(store, ca)
    revocation = store.revoke("fr-ct", RevocationReason.SUSPENDED, T0 + timedelta(hours=1))
    assert revocation == Revocation("fr-ct", T0 + timedelta(hours=1), RevocationReason.SUSPENDED)
    assert store.members() == (de,)
    assert store.revocations() == (revocation,)
    # The certificate stays on record.
    assert sorted(c.subject_id for c in store.certificates()) == ["de-bka", "fr-ct"]

    with pytest.raises(
        FederationError,
        match=r"'fr-ct' is not a member: it was revoked at 2026-03-01T09:00:00Z \(suspended\)",
    ):
        store.revoke("fr-ct", RevocationReason.WITHDRAWN, T0)
    with pytest.raises(FederationError, match="'es-cgpj' is not a member of the federation"):
        store.revoke("es-cgpj", RevocationReason.WITHDRAWN, T0)


def test_a_suspended_member_can_be_admitted_again(
    store: FederationStore, ca: CertificateAuthority
) -> None:
    node = Node("fr-ct")
    node.admit(store, ca)
    store.revoke("fr-ct", RevocationReason.SUSPENDED, T0)
    # Same keys, new certificate: the suspension is lifted.
    readmitted = node.admit(store, ca, persons())
    assert store.members() == (readmitted,)
    assert store.revocations() == ()
    assert len(store.certificates()) == 2


def test_keys_revoked_for_compromise_are_never_accepted_again(
    store: FederationStore, ca: CertificateAuthority
) -> None:
    node = Node("fr-ct")
    node.admit(store, ca)
    store.revoke("fr-ct", RevocationReason.KEY_COMPROMISE, T0)

    with pytest.raises(FederationError, match="revoked with 'fr-ct' for key compromise"):
        node.admit(store, ca)
    new_identity = Node("fr-ct")
    new_identity.tls_key, new_identity.request = node.tls_key, node.request
    with pytest.raises(FederationError, match="revoked for key compromise; make a new key"):
        new_identity.admit(store, ca)
    assert store.members() == ()

    fresh = Node("fr-ct").admit(store, ca)
    assert store.members() == (fresh,)


Compose = Callable[[int, tuple[Member, ...], tuple[Revocation, ...]], tuple[Directory, str]]
Call = tuple[int, tuple[Member, ...], tuple[Revocation, ...]]


def directory_composer(signer: Ed25519Signer, at: datetime) -> tuple[list[Call], Compose]:
    calls: list[Call] = []

    def compose(
        version: int, members: tuple[Member, ...], revoked: tuple[Revocation, ...]
    ) -> tuple[Directory, str]:
        calls.append((version, members, revoked))
        directory = Directory(
            version,
            at,
            COORDINATOR_ID,
            HostPort("localhost", 7400),
            "sha256:" + "a" * 64,
            "sha256:" + "b" * 64,
            300,
            members,
            revoked,
        )
        return directory, sign_directory(directory, signer)

    return calls, compose


def test_publish_numbers_versions_without_gaps_and_keeps_every_note(
    tmp_path: Path, store: FederationStore, ca: CertificateAuthority
) -> None:
    signer = Ed25519Signer.generate(COORDINATOR_ID)
    calls, compose = directory_composer(signer, T0)
    assert store.latest_directory() is None

    first = store.publish(compose)
    fr = Node("fr-ct").admit(store, ca)
    second = store.publish(compose)
    store.revoke("fr-ct", RevocationReason.WITHDRAWN, T0)
    third = store.publish(compose)

    assert [call[0] for call in calls] == [1, 2, 3]
    assert calls[1][1] == (fr,)
    assert calls[2][1:] == ((), (Revocation("fr-ct", T0, RevocationReason.WITHDRAWN),))
    assert [published.version for published in store.directories()] == [1, 2, 3]
    assert store.latest_directory() == third
    assert store.directory(2) == second
    assert store.directory(4) is None
    assert first.version == 1
    opened = open_directory(third.note, signer.verifier(), seen_version=2)
    assert opened.revoked == (Revocation("fr-ct", T0, RevocationReason.WITHDRAWN),)

    store.close()
    with FederationStore.open(tmp_path / "federation.db") as reopened:
        assert reopened.directories() == (first, second, third)


def test_a_failed_publication_stores_nothing(store: FederationStore) -> None:
    signer = Ed25519Signer.generate(COORDINATOR_ID)
    _, compose = directory_composer(signer, T0)

    def failing(
        version: int, members: tuple[Member, ...], revoked: tuple[Revocation, ...]
    ) -> tuple[Directory, str]:
        raise InputError("the identity key cannot be used")

    with pytest.raises(InputError, match="cannot be used"):
        store.publish(failing)
    assert store.directories() == ()

    def wrong_version(
        version: int, members: tuple[Member, ...], revoked: tuple[Revocation, ...]
    ) -> tuple[Directory, str]:
        return compose(version + 1, members, revoked)

    with pytest.raises(FederationError, match="expected directory version 1, got 2"):
        store.publish(wrong_version)
    assert store.directories() == ()
    assert store.publish(compose).version == 1


def test_record_certificate_is_for_the_coordinator_only(
    store: FederationStore, ca: CertificateAuthority
) -> None:
    own = Node(COORDINATOR_ID)
    _, issued = own.certificate(ca)
    store.record_certificate(issued)
    assert store.certificates() == (issued,)
    _, member_certificate = Node("fr-ct").certificate(ca)
    with pytest.raises(FederationError, match="members are admitted"):
        store.record_certificate(member_certificate)
    # The coordinator's TLS key is its own: no member may present it.
    thief = Node("fr-ct")
    thief.request = make_tls_key_and_csr_with(own.tls_key, "fr-ct")
    with pytest.raises(FederationError, match=f"already certified for node '{COORDINATOR_ID}'"):
        thief.admit(store, ca)


def test_a_corrupted_row_is_a_storage_error(
    tmp_path: Path, store: FederationStore, ca: CertificateAuthority
) -> None:
    Node("fr-ct").admit(store, ca)
    store.close()
    connection = sqlite3.connect(tmp_path / "federation.db")
    with connection:
        connection.execute("UPDATE fd_members SET country = 'france'")
    connection.close()
    with (
        FederationStore.open(tmp_path / "federation.db") as reopened,
        pytest.raises(StorageError, match="a stored member is malformed: member fr-ct: country"),
    ):
        reopened.members()
