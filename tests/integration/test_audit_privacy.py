"""Nothing searched for reaches the audit log: the databases and exports are scanned byte by byte.

A querier checks two people against an owner with real RFC 9497 blinding; both sides log the
check, the owner logs its dataset epoch, and a disclosure is requested, decided and delivered.
Then every file either node's log left on disk (databases with their WAL files, exports, receipts)
is searched for every probe value, match key, blinded and evaluated element, OPRF output and
record field used in the test, in every spelling a careless encoder might have produced.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import blake3
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cli.main import main
from crypto.oprf import Mode, OprfClient, OprfServer, Suite, generate_key_pair
from node.audit.entries import AuditEntry, Decision, EntryKind, digest_request
from node.audit.store import AuditLog
from node.keys.identity import write_private_key, write_public_key

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)

# The owner's record and the querier's probes: invented people.
RECORD = {
    "name": "Jeanne Dupont-Moreau",
    "date_of_birth": "1979-04-17",
    "passport": "FR8XK27Q1",
    "address": "12 rue des Lilas, Lyon",
    "offence": "suspected smuggling ring 4471",
}
PROBES = [
    {"name": "Jeanne Dupont-Moreau", "date_of_birth": "1979-04-17", "passport": "FR8XK27Q1"},
    {"name": "Hans Mueller", "date_of_birth": "1985-11-02", "passport": "C01X00T47"},
]


def match_keys(person: dict[str, str]) -> list[str]:
    """Match keys in the shape of the keying profile: kind, then canonical value."""
    name = " ".join(sorted(person["name"].lower().replace("-", " ").split()))
    return [
        f"doc|FRA|{person['passport']}",
        f"name_dob|{name}|{person['date_of_birth']}",
        f"name_yob|{name}|{person['date_of_birth'][:4]}",
    ]


class Node:
    def __init__(self, directory: Path, origin: str) -> None:
        directory.mkdir()
        self.directory = directory
        self.origin = origin
        self.database = directory / "node.db"
        self.key = directory / "node.pem"
        self.public_key = directory / "node.pub"
        private = Ed25519PrivateKey.generate()
        write_private_key(self.key, private)
        write_public_key(self.public_key, private.public_key())
        self.log = AuditLog(self.database)

    def signing(self) -> list[str]:
        return ["--database", str(self.database), "--key", str(self.key), "--origin", self.origin]


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    owner = Node(tmp_path / "owner", "fr-dcpj")
    querier = Node(tmp_path / "querier", "de.bka")
    yield owner, querier
    owner.log.close()
    querier.log.close()


def _spellings(value: bytes) -> list[bytes]:
    return [value, value.hex().encode(), value.hex().upper().encode(), base64.b64encode(value)]


def _text_spellings(value: str) -> list[bytes]:
    variants = {value, value.lower(), value.upper(), value.casefold()}
    found: list[bytes] = []
    for variant in variants:
        found += [variant.encode("utf-8"), variant.encode("utf-16-le")]
    return found


def test_no_probe_value_key_element_or_record_field_is_logged(
    nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    owner, querier = nodes
    suite, mode = Suite.RISTRETTO255_SHA512, Mode.OPRF
    owner_key = generate_key_pair(suite)
    server = OprfServer(suite, mode, owner_key.private_key)
    client = OprfClient(suite, mode)

    # The owner publishes an epoch of its index: tags of its record's match keys.
    record_keys = match_keys(RECORD)
    tags = [output[:8] for output in server.evaluate_batch([k.encode() for k in record_keys])]
    index_digest = blake3.blake3(b"".join(sorted(tags))).digest()
    owner.log.append(
        AuditEntry(
            kind=EntryKind.DATASET_EPOCH_PUBLISHED,
            time=T0,
            node=owner.origin,
            officer="fr-admin-1",
            dataset="persons",
            epoch=1,
            element_count=len(tags),
            index_digest=index_digest,
        )
    )

    # The querier blinds its probes' match keys and signs one request.
    probe_keys = [key for person in PROBES for key in match_keys(person)]
    batch = client.blind_batch([key.encode() for key in probe_keys])
    request = b"blindhit.v1 check|persons|" + b"".join(batch.blinded_elements)
    request_digest = digest_request(request)
    check: dict[str, Any] = {
        "counterpart": owner.origin,
        "dataset": "persons",
        "element_count": len(batch.blinded_elements),
        "purpose": "investigation",
        "legal_basis": "EU-2016/680:Art.8",
        "case_reference": "DE-2025-004711",
        "request_digest": request_digest,
        "officer": "de-kom-17",
    }
    # The owner logs before it evaluates (docs/promises.md, "The check"), then answers.
    owner.log.append(
        AuditEntry(
            kind=EntryKind.CHECK_RECEIVED,
            time=T0 + timedelta(seconds=1),
            node=owner.origin,
            decision=Decision.ANSWERED,
            **(check | {"counterpart": querier.origin}),
        )
    )
    evaluation = server.blind_evaluate_batch(batch.blinded_elements)
    outputs = client.finalize_batch(batch, evaluation)
    hits = sum(1 for output in outputs if output[:8] in set(tags))
    assert hits == 3  # The first person's three keys match.
    querier.log.append(
        AuditEntry(
            kind=EntryKind.CHECK_SENT,
            time=T0 + timedelta(seconds=2),
            node=querier.origin,
            decision=Decision.ANSWERED,
            hit_count=hits,
            **check,
        )
    )
    disclosure_request = request_digest + b"|disclosure|name,date_of_birth"
    disclosure: dict[str, Any] = {
        "dataset": "persons",
        "element_count": 2,
        "purpose": "investigation",
        "legal_basis": "EU-2016/680:Art.9",
        "case_reference": "DE-2025-004711",
        "request_digest": digest_request(disclosure_request),
    }
    for node, counterpart, kind, decision in (
        (querier, owner.origin, EntryKind.DISCLOSURE_REQUESTED, None),
        (owner, querier.origin, EntryKind.DISCLOSURE_REQUESTED, None),
        (owner, querier.origin, EntryKind.DISCLOSURE_DECIDED, Decision.APPROVED_IN_PART),
        (owner, querier.origin, EntryKind.DISCLOSURE_DELIVERED, Decision.ANSWERED),
        (querier, owner.origin, EntryKind.DISCLOSURE_DELIVERED, Decision.ANSWERED),
    ):
        node.log.append(
            AuditEntry(
                kind=kind,
                time=T0 + timedelta(seconds=3),
                node=node.origin,
                officer="fr-4711" if node is owner else "de-kom-17",
                counterpart=counterpart,
                decision=decision,
                **disclosure,
            )
        )

    for node in (owner, querier):
        receipt = node.directory / "receipt.tlog-proof"
        assert main(["audit", "prove", *node.signing(), "--index", "0", "--out", str(receipt)]) == 0
        export = node.directory / "export"
        assert main(["audit", "export", *node.signing(), "--out", str(export)]) == 0
        assert (
            main(
                [
                    "audit",
                    "verify",
                    "--export",
                    str(export),
                    "--public-key",
                    str(node.public_key),
                    "--receipts",
                    str(receipt),
                ]
            )
            == 0
        )

    forbidden: list[tuple[str, bytes]] = []
    for person in (RECORD, *PROBES):
        for field, value in person.items():
            forbidden += [(f"{field} {value!r}", s) for s in _text_spellings(value)]
    for key in [*record_keys, *probe_keys]:
        forbidden += [(f"match key {key!r}", s) for s in _text_spellings(key)]
        forbidden += [(f"match key {key!r}", s) for s in _spellings(key.encode())]
    secrets: dict[str, Sequence[bytes]] = {
        "blinded element": batch.blinded_elements,
        "evaluated element": evaluation.evaluated_elements,
        "OPRF output": tuple(outputs),
        "tag": tuple(tags),
    }
    for what, values in secrets.items():
        for secret in values:
            forbidden += [(what, s) for s in _spellings(bytes(secret))]
    forbidden.append(("OPRF private key", owner_key.private_key))

    # Close the logs so that nothing is held only in memory, then read everything they left.
    owner.log.close()
    querier.log.close()
    files = [
        p for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith((".pem", ".pub"))
    ]
    assert any(p.name == "node.db" for p in files)
    assert any("tile" in p.parts for p in files)
    # A positive control: what is meant to be logged is found by the same scan, in every place.
    for where in (
        "owner/node.db",
        "querier/node.db",
        "owner/export/tile/entries/000.p/5",
        "querier/export/tile/entries/000.p/3",
    ):
        assert b"DE-2025-004711" in (tmp_path / where).read_bytes()
    scanned = 0
    for path in files:
        data = path.read_bytes()
        scanned += len(data)
        lowered = data.lower()
        for what, needle in forbidden:
            assert needle not in data, f"{what} found in {path.relative_to(tmp_path)}"
            assert needle.lower() not in lowered, f"{what} found in {path.relative_to(tmp_path)}"
    assert scanned > 10_000
