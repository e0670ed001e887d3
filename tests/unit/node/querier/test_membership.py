"""A member's view of its federation, against a coordinating node in this process.

`Membership.refresh` fetches the signed directory over mutual TLS, verifies it with the key in
node.toml, keeps it (a restart starts from it, offline), refuses a directory older than one it
has seen (a coordinating node restored from an old copy, or a replay) and one signed by another
key; the witness cosigns the member's log.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from unit.conftest import COORDINATOR, OWNERS, QUERIER, Federation

from crypto.errors import FederationError, InvalidSignature
from crypto.signed_note import Ed25519Signer
from federation.coordinator import Coordinator
from federation.server import CoordinatorServer, create_server
from node.config import NodeConfig
from node.querier.membership import Membership, effective_config
from protocol.directory import DirectoryRollback, RevocationReason


def _membership(federation: Federation, **settings: object) -> Membership:
    config = federation.querier.config
    assert config.federation is not None
    changed: NodeConfig = dataclasses.replace(
        config,
        federation=dataclasses.replace(config.federation, **settings),  # type: ignore[arg-type]
    )
    return Membership(changed, federation.querier.tls)


def test_the_directory_is_fetched_verified_and_kept(federation: Federation) -> None:
    membership = federation.querier.membership
    assert membership is not None
    directory = membership.directory
    assert directory is not None
    assert directory.coordinator_id == COORDINATOR
    assert sorted(m.id for m in directory.members) == sorted([QUERIER, *(o for o, _ in OWNERS)])
    assert sorted(membership.members_offering("watchlist")) == sorted(o for o, _ in OWNERS)
    peers = effective_config(federation.querier.config, directory).peers
    assert sorted(p.id for p in peers) == sorted(o for o, _ in OWNERS)
    # Asked again with nothing new, the same version; a new Membership over the same database
    # starts from the stored directory before it fetches anything.
    assert membership.refresh().version == directory.version
    again = _membership(federation)
    try:
        assert again.directory is not None
        assert again.directory.version == directory.version
    finally:
        again.close()


def test_a_revocation_reaches_the_member_at_its_next_refresh(federation: Federation) -> None:
    before = federation.querier.membership
    assert before is not None
    assert before.directory is not None
    version = before.directory.version
    federation.coordinator.revoke("jo-psd", RevocationReason.SUSPENDED)
    federation.services.publish_if_changed()
    assert federation.querier.refresh_membership()
    membership = federation.querier.membership
    assert membership is not None
    assert membership.directory is not None
    assert membership.directory.version == version + 1
    assert membership.members_offering("watchlist") == ["pl-ct"]
    assert [p.id for p in federation.querier.config.peers] == ["pl-ct"]
    # The revoked member itself learns it from the same directory.
    with pytest.raises(FederationError, match=r"node 'jo-psd' is not a member .*\(suspended\)"):
        federation.owners["jo-psd"].runtime.refresh_membership()


def test_an_older_directory_is_refused_as_a_rollback(federation: Federation) -> None:
    # A copy of the coordinating node as it is now, then one more directory version published.
    old = federation.root / "gs-lyon-old"
    shutil.copytree(federation.root / COORDINATOR, old)
    federation.coordinator.revoke("jo-psd", RevocationReason.SUSPENDED)
    federation.services.publish_if_changed()
    assert federation.querier.refresh_membership()
    membership = federation.querier.membership
    assert membership is not None
    assert membership.directory is not None
    newest = membership.directory.version
    with Coordinator.open(old) as restored:
        services = CoordinatorServer(restored, federation.passphrase)
        server, port = create_server(services, port=0)
        server.start()
        try:
            stale = _membership(
                federation, endpoint=dataclasses.replace(federation.settings().endpoint, port=port)
            )
            try:
                with pytest.raises(
                    DirectoryRollback,
                    match=f"directory version {newest - 1} is older than version {newest}",
                ):
                    stale.refresh()
                # What the member keeps is still the newest it verified.
                assert stale.directory is not None
                assert stale.directory.version == newest
            finally:
                stale.close()
        finally:
            server.stop(grace=None).wait()
            services.close()


def test_a_directory_signed_by_another_key_is_refused(federation: Federation) -> None:
    other = Ed25519Signer.generate(COORDINATOR).verifier()
    # A member that never verified a directory (a database of its own), told to trust another
    # key.
    config = federation.querier.config
    assert config.federation is not None
    fresh_db = federation.root / "fresh.db"
    changed = dataclasses.replace(
        config,
        node=dataclasses.replace(config.node, database=fresh_db),
        federation=dataclasses.replace(config.federation, identity_key=other),
    )
    membership = Membership(changed, federation.querier.tls)
    try:
        with pytest.raises(InvalidSignature, match=r"^directory: "):
            membership.refresh()
        assert membership.directory is None
    finally:
        membership.close()


def test_an_unreachable_coordinating_node_is_a_federation_error(federation: Federation) -> None:
    federation.server.stop(grace=None).wait()
    membership = federation.querier.membership
    assert membership is not None
    with pytest.raises(FederationError, match=f"the coordinating node {COORDINATOR} did not"):
        membership.refresh()


def test_the_witness_cosigns_the_members_log(federation: Federation) -> None:
    runtime = federation.querier
    membership = runtime.membership
    assert membership is not None
    size = membership.witness(runtime.audit, runtime.checkpoints)
    assert size == runtime.audit.size
    cosigned = runtime.audit.cosigned_checkpoints()
    assert [c[0] for c in cosigned] == [size]
