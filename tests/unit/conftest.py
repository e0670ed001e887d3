"""Member nodes served in this test's own process, for the unit tests of clients and desks.

Everything is real but the process boundary: node directories made by `dev.localnet` (a
development CA, keys, certificates, node.toml), SQLite databases under the test's `tmp_path`,
gRPC servers with mutual TLS bound to port 0 on 127.0.0.1, started and stopped by the fixture.

- `memory_pair`: an owner (pl-ct) whose Match service holds its dataset in memory
  (`dev.memory_dataset`), and a querier (fr-ct) that knows where it listens.
- `stored_pair`: the same two nodes, the owner's dataset imported into its database (OPRF key
  sealed at the lowest accepted scrypt cost) and served with the Disclosure service too, as
  `blindhit serve` serves it.
- `federation`: a coordinating node (`federation.server.CoordinatorServer`) with its CA and
  signed directory, two owners admitted with the ports they serve on, and a querier whose peers
  come from the directory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from crypto.oprf import Mode, Suite
from dev.localnet import LocalNode, allow, create_local_nodes, introduce
from dev.memory_dataset import MemoryDataset
from federation.ca import certifier
from federation.coordinator import Coordinator, init_federation
from federation.server import CoordinatorServer
from federation.server import create_server as create_coordinator_server
from node.config import ANY_PEER, Dataset, FederationSettings, KeySettings, PolicyRule
from node.datasets.build import import_records, log_epochs
from node.datasets.sources import SourceRecord
from node.datasets.store import DatasetStore
from node.home import InitResult, init_node_directory, install_certificate
from node.keys.identity import load_verifier
from node.keys.sealed import ScryptCost
from node.keys.tls import load_certificate_request
from node.owner.disclosure_service import DisclosureService
from node.owner.match_service import DatasetSource, MatchService
from node.owner.peer_server import create_server
from node.owner.published import StoredDatasets
from node.runtime import NodeRuntime
from protocol.admission import QueryMode
from protocol.check import RequestPurpose
from protocol.directory import DirectoryDataset
from protocol.validation import HostPort

PASSPHRASE_ENV = "BLINDHIT_UNIT_PASSPHRASE"
CHEAP_SEALING = ScryptCost(log2_n=10, r=8, p=1)
PURPOSE = RequestPurpose("officer-17", "border-check", "EU-2016/680:Art.8", "FR-2026-0117")
RELEASABLE = ("family_name", "given_names", "date_of_birth", "document_number")
OWNER_RECORDS: tuple[dict[str, str], ...] = (
    {"id": "PL-1", "given_names": "Anna Maria", "family_name": "Kowalczyk",
     "date_of_birth": "1988-11-02", "document_type": "passport",
     "document_number": "EK4471902", "document_issuing_country": "POL"},
    {"id": "PL-2", "name": "أسامة بن لادن", "date_of_birth": "1957-03-10"},
    {"id": "PL-3", "given_names": "Piotr", "family_name": "Nowak",
     "date_of_birth": "1975-01-30"},
)  # fmt: skip
HIT_PROBE: dict[str, object] = {
    "name": "KOWALCZYK, Anna",
    "date_of_birth": "1988-11-02",
    "document_number": "EK 4471902",
    "document_issuing_country": "POL",
}
MISS_PROBE: dict[str, object] = {"name": "Jean Dupont", "date_of_birth": "1970-05-05"}


@dataclass
class Served:
    """An owner's runtime and its gRPC server, bound to an ephemeral loopback port."""

    runtime: NodeRuntime
    match: MatchService
    server: grpc.Server
    port: int

    def stop(self) -> None:
        self.server.stop(grace=None).wait()


@dataclass
class Pair:
    owner_node: LocalNode
    querier_node: LocalNode
    owner: Served
    querier: NodeRuntime
    datasets: DatasetSource


def serve_owner(
    runtime: NodeRuntime, datasets: DatasetSource, *, disclosure: bool, port: int = 0
) -> Served:
    """Serve `runtime`'s Match service (and Disclosure service) as `blindhit serve` does."""
    config = runtime.config
    match = MatchService(
        config, datasets, runtime.policy, runtime.audit, runtime.checkpoints, runtime.identity
    )
    service = (
        DisclosureService(config, match, runtime.owner_desk(), runtime.policy)
        if disclosure
        else None
    )
    server, bound = create_server(config, runtime.tls, match, port=port, disclosure=service)
    server.start()
    return Served(runtime, match, server, bound)


def make_nodes(root: Path, releasable: Sequence[str] = RELEASABLE) -> tuple[LocalNode, LocalNode]:
    owner, querier = create_local_nodes(root, [("pl-ct", "POL"), ("fr-ct", "FRA")], PASSPHRASE_ENV)
    allow(owner, [querier], [Dataset("watchlist", releasable_fields=tuple(releasable))])
    return owner, querier


def import_owner_records(owner: LocalNode, passphrase: bytes) -> None:
    """Import OWNER_RECORDS into the owner's database as epoch 1, logged in its audit log."""
    config = owner.config()
    records = [
        SourceRecord(line, person["id"], {k: v for k, v in person.items() if k != "id"},
                     {"person_status": "wanted", "notice_type": "red-notice"})
        for line, person in enumerate(OWNER_RECORDS, start=1)
    ]  # fmt: skip
    database = config.node.database
    with DatasetStore(database) as store:
        import_records(
            store, Dataset("watchlist", releasable_fields=RELEASABLE), records,
            node_id=owner.node_id, passphrase=passphrase, sealing_cost=CHEAP_SEALING,
        )  # fmt: skip
        with NodeRuntime.open(owner.root) as runtime:
            log_epochs(store, runtime.audit, owner.node_id)


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> bytes:
    value = "correct horse battery staple"
    monkeypatch.setenv(PASSPHRASE_ENV, value)
    return value.encode()


def _pair(tmp_path: Path, stored: bool, passphrase: bytes) -> Iterator[Pair]:
    owner_node, querier_node = make_nodes(tmp_path)
    if stored:
        import_owner_records(owner_node, passphrase)
    runtime = NodeRuntime.open(owner_node.root)
    datasets: DatasetSource
    if stored:
        stored_datasets = StoredDatasets(runtime.config, runtime.passphrase)
        datasets = stored_datasets
    else:
        records = [{k: v for k, v in p.items() if k != "id"} for p in OWNER_RECORDS]
        datasets = MemoryDataset("watchlist", records)
    owner = serve_owner(runtime, datasets, disclosure=stored)
    introduce(querier_node, owner_node, owner.port)
    querier = NodeRuntime.open(querier_node.root)
    try:
        yield Pair(owner_node, querier_node, owner, querier, datasets)
    finally:
        owner.stop()
        querier.close()
        if stored:
            stored_datasets.close()
        runtime.close()


@pytest.fixture
def memory_pair(tmp_path: Path, passphrase: bytes) -> Iterator[Pair]:
    yield from _pair(tmp_path, False, passphrase)


@pytest.fixture
def stored_pair(tmp_path: Path, passphrase: bytes) -> Iterator[Pair]:
    yield from _pair(tmp_path, True, passphrase)


def purpose(**changes: str) -> RequestPurpose:
    """PURPOSE with some fields changed."""
    return dataclasses.replace(PURPOSE, **changes)


# -- a federation in one process ------------------------------------------------------------------

COORDINATOR = "gs-lyon"
OWNERS: tuple[tuple[str, str], ...] = (("pl-ct", "POL"), ("jo-psd", "JOR"))
QUERIER = "de-bka"


@dataclass
class Federation:
    """A coordinating node, two owners and a querier, every server in this process.

    The owners are certified by the federation CA when their directories are made, so that they
    can serve (and their ports be known) before they are admitted with those ports; their
    admission certificates are the ones the directory pins, and the owners never call another
    member, so the pin is never put to them. The querier installs its admission certificate,
    which the owners pin.
    """

    root: Path
    coordinator: Coordinator
    services: CoordinatorServer
    server: grpc.Server
    port: int
    owners: dict[str, Served]
    querier: NodeRuntime
    querier_node: LocalNode
    passphrase: bytes

    def settings(self) -> FederationSettings:
        return _settings(self.coordinator, self.port)

    def publish(self) -> None:
        """Publish what changed and have every member adopt the new directory, as serve does."""
        self.services.publish_if_changed()
        for owner in self.owners.values():
            if owner.runtime.refresh_membership():
                owner.match.reconfigure(owner.runtime.config)
        self.querier.refresh_membership()


def _settings(coordinator: Coordinator, port: int) -> FederationSettings:
    """`[federation]` of a member of `coordinator`, serving on `port`."""
    return FederationSettings(
        COORDINATOR, HostPort("127.0.0.1", port), coordinator.identity_verifier(), None, 60.0
    )


def _member_config(node: LocalNode, settings: FederationSettings) -> None:
    rule = PolicyRule(ANY_PEER, ("watchlist",), (QueryMode.INDEX, QueryMode.OWNER_MATCH),
                      4096, 10**6)  # fmt: skip
    node.rewrite(
        datasets=(Dataset("watchlist", releasable_fields=RELEASABLE),),
        policy=(rule,),
        federation=settings,
    )


def _local(result: InitResult, node_id: str) -> LocalNode:
    return LocalNode(node_id, result.layout.root, result.identity_verifier_key)


@pytest.fixture
def federation(tmp_path: Path, passphrase: bytes) -> Iterator[Federation]:
    keys = KeySettings(passphrase_env=PASSPHRASE_ENV)
    gs_dir = tmp_path / COORDINATOR
    init_federation(
        gs_dir, node_id=COORDINATOR, listen=HostPort("127.0.0.1", 1),
        endpoint=HostPort("127.0.0.1", 1), keys=keys,
    )  # fmt: skip
    coordinator = Coordinator.open(gs_dir)
    services = CoordinatorServer(coordinator, passphrase)
    server, port = create_coordinator_server(services, port=0)
    server.start()
    ca = coordinator.load_ca(passphrase)
    offered = [DirectoryDataset("watchlist", Suite.RISTRETTO255_SHA512, Mode.OPRF, b"", 10**6)]
    settings = _settings(coordinator, port)
    owners: dict[str, Served] = {}
    records = [{k: v for k, v in p.items() if k != "id"} for p in OWNER_RECORDS]
    opened: list[NodeRuntime] = []
    try:
        for node_id, country in OWNERS:
            result = init_node_directory(
                tmp_path / node_id, node_id=node_id, country=country,
                listen=HostPort("127.0.0.1", 0), keys=keys, certify=certifier(ca),
            )  # fmt: skip
            node = _local(result, node_id)
            _member_config(node, settings)
            runtime = NodeRuntime.open(node.root)
            opened.append(runtime)
            owner = serve_owner(runtime, MemoryDataset("watchlist", records), disclosure=False)
            owners[node_id] = owner
            coordinator.admit(
                load_certificate_request(result.layout.tls_csr), member_id=node_id,
                country=country, endpoint=HostPort("127.0.0.1", owner.port),
                identity_key=load_verifier(result.layout.identity_verifier_key),
                datasets=offered, passphrase=passphrase,
            )  # fmt: skip
        result = init_node_directory(
            tmp_path / QUERIER, node_id=QUERIER, country="DEU",
            listen=HostPort("127.0.0.1", 0), keys=keys,
        )  # fmt: skip
        querier_node = _local(result, QUERIER)
        admission = coordinator.admit(
            load_certificate_request(result.layout.tls_csr), member_id=QUERIER, country="DEU",
            # The querier serves nothing here; the directory needs an endpoint all the same.
            endpoint=HostPort("127.0.0.1", 1),
            identity_key=load_verifier(result.layout.identity_verifier_key),
            passphrase=passphrase,
        )  # fmt: skip
        install_certificate(
            result.layout.root,
            list(x509.load_pem_x509_certificates(admission.certificate_pem)),
            [coordinator.ca_certificate()],
        )
        _member_config(querier_node, settings)
        querier = NodeRuntime.open(querier_node.root)
        opened.append(querier)
        made = Federation(
            tmp_path, coordinator, services, server, port, owners, querier, querier_node,
            passphrase,
        )  # fmt: skip
        made.publish()
        yield made
    finally:
        for owner in owners.values():
            owner.stop()
        server.stop(grace=None).wait()
        for runtime in opened:
            runtime.close()
        services.close()
        coordinator.close()
