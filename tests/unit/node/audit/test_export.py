"""Export bundles in the C2SP tlog-tiles layout, checked against the spec's own definitions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crypto.cosignature import CosignatureSigner
from crypto.errors import InputError, StorageError
from crypto.signed_note import Checkpoint, Ed25519Signer, open_checkpoint, parse_note
from node.audit.checkpoints import CheckpointIssuer
from node.audit.entries import AuditEntry, EntryKind, encode_entry
from node.audit.export import (
    entry_bundle_path,
    export_log,
    index_path,
    tile_counts,
    tile_path,
)
from node.audit.receipts import ConsistencyProof
from node.audit.store import AuditLog

ORIGIN = "fr-dcpj"
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def epoch(number: int) -> AuditEntry:
    return AuditEntry(
        kind=EntryKind.DATASET_EPOCH_PUBLISHED,
        time=T0,
        node=ORIGIN,
        dataset="persons",
        epoch=number,
        element_count=number * 10,
        index_digest=hashlib.sha256(number.to_bytes(4, "big")).digest(),
    )


def reference_mth(entries: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 §2.1, written as its recursive definition."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    left, right = reference_mth(entries[:k]), reference_mth(entries[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_paths_follow_tlog_tiles(index: int, path: str) -> None:
    assert index_path(index) == path


def test_tile_and_bundle_paths() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(2, 3, 17) == "tile/2/003.p/17"
    assert entry_bundle_path(0, 1) == "tile/entries/000.p/1"
    with pytest.raises(InputError, match=r"expected a tile width in \[1, 256\], got 0"):
        tile_path(0, 0, 0)
    with pytest.raises(InputError, match=r"expected a tile width in \[1, 256\], got 257"):
        tile_path(0, 0, 257)


def test_tile_counts_of_the_spec_examples() -> None:
    # tlog-tiles, "Partial Tiles": a tree of 70,000 has 273 full level-0 tiles and one of width
    # 112, one full level-1 tile and one of width 17, and one level-2 tile of width 1.
    counts = dict(tile_counts(70_000))
    assert divmod(counts[0], 256) == (273, 112)
    assert divmod(counts[1], 256) == (1, 17)
    assert divmod(counts[2], 256) == (0, 1)
    assert 3 not in counts
    # A tree of 256 is one full level-0 tile and a level-1 tile of width 1.
    assert dict(tile_counts(256)) == {0: 256, 1: 1}
    assert dict(tile_counts(0)) == {}


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.from_seed(ORIGIN, b"\x07" * 32)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "node.db") as opened:
        yield opened


def _split_bundle(data: bytes) -> list[bytes]:
    entries = []
    while data:
        length = int.from_bytes(data[:2], "big")
        entries.append(data[2 : 2 + length])
        data = data[2 + length :]
    return entries


def test_export_matches_the_tlog_tiles_definitions(
    log: AuditLog, signer: Ed25519Signer, tmp_path: Path
) -> None:
    issuer = CheckpointIssuer(log, signer)
    log.append_many([epoch(i) for i in range(300)])
    early = issuer.issue()
    log.append_many([epoch(i) for i in range(300, 600)])
    final = issuer.issue()
    target = tmp_path / "export"
    summary = export_log(log, target, final.note, since_sizes=[300, 1])
    entries = [encode_entry(epoch(i)) for i in range(600)]

    assert summary.checkpoint.size == 600
    assert summary.checkpoint_sizes == (300, 600)
    assert summary.consistency_from == (1, 300)
    assert (target / "checkpoint").read_text() == final.note
    assert (target / "checkpoints" / "300").read_text() == early.note
    # Level 0: leaf hashes; the last tile is partial, width 600 mod 256 = 88.
    for number, width in ((0, 256), (1, 256), (2, 88)):
        start = number * 256
        tile = (target / tile_path(0, number, width)).read_bytes()
        assert tile == b"".join(reference_mth([e]) for e in entries[start : start + width])
        bundle = (target / entry_bundle_path(number, width)).read_bytes()
        assert _split_bundle(bundle) == entries[start : start + width]
    # Level 1: MTH of each full level-0 tile's 256 entries (tlog-tiles, "Merkle Tree").
    level1 = (target / tile_path(1, 0, 2)).read_bytes()
    assert level1 == reference_mth(entries[:256]) + reference_mth(entries[256:512])
    # The checkpoint of size 300 needs its own partial tiles: 300 = 256 + 44.
    assert (target / tile_path(0, 1, 44)).read_bytes() == b"".join(
        reference_mth([e]) for e in entries[256:300]
    )
    assert _split_bundle((target / entry_bundle_path(1, 44)).read_bytes()) == entries[256:300]
    assert (target / tile_path(1, 0, 1)).read_bytes() == reference_mth(entries[:256])
    # The signed root is the RFC 6962 root of all entries.
    assert open_checkpoint(final.note, signer.verifier()).root_hash == reference_mth(entries)
    proof = ConsistencyProof.from_text((target / "consistency" / "300").read_text())
    proof.verify(reference_mth(entries[:300]), signer.verifier())
    description = json.loads((target / "export.json").read_text())
    assert description["size"] == 600
    assert description["origin"] == ORIGIN
    # The bundle was renamed into place: no temporary directory is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "export",
        "node.db",
        *_wal_files(tmp_path),
    ]


def _wal_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("node.db-"))


def test_export_of_a_full_tile_has_no_partial_level_zero(
    log: AuditLog, signer: Ed25519Signer, tmp_path: Path
) -> None:
    log.append_many([epoch(i) for i in range(256)])
    note = CheckpointIssuer(log, signer).issue().note
    export_log(log, tmp_path / "export", note)
    files = sorted(
        p.relative_to(tmp_path / "export").as_posix()
        for p in (tmp_path / "export" / "tile").rglob("*")
        if p.is_file()
    )
    assert files == ["tile/0/000", "tile/1/000.p/1", "tile/entries/000"]


def test_export_of_an_empty_log(log: AuditLog, signer: Ed25519Signer, tmp_path: Path) -> None:
    note = CheckpointIssuer(log, signer).issue().note
    export_log(log, tmp_path / "export", note)
    assert not (tmp_path / "export" / "tile").exists()
    assert (tmp_path / "export" / "checkpoint").read_text() == note


def test_export_refuses_existing_directory_and_bad_sizes(
    log: AuditLog, signer: Ed25519Signer, tmp_path: Path
) -> None:
    log.append_many([epoch(i) for i in range(3)])
    note = CheckpointIssuer(log, signer).issue().note
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="exists"):
        export_log(log, tmp_path / "taken", note)
    with pytest.raises(InputError, match="earlier tree size"):
        export_log(log, tmp_path / "export", note, since_sizes=[4])
    assert not (tmp_path / "export").exists()


def test_export_refuses_a_checkpoint_of_another_tree(
    log: AuditLog, signer: Ed25519Signer, tmp_path: Path
) -> None:
    log.append_many([epoch(i) for i in range(3)])
    forged = signer.sign(Checkpoint(ORIGIN, 3, bytes(32)).to_body())
    with pytest.raises(StorageError, match="root"):
        export_log(log, tmp_path / "export", forged)
    too_large = signer.sign(Checkpoint(ORIGIN, 4, bytes(32)).to_body())
    with pytest.raises(StorageError, match="larger"):
        export_log(log, tmp_path / "export", too_large)


def test_export_attaches_witness_cosignatures_to_the_checkpoints(
    log: AuditLog, signer: Ed25519Signer, tmp_path: Path
) -> None:
    # Two witnesses; the second one's name sorts first, so lines follow witness names.
    gs = CosignatureSigner.from_seed("witness.interpol.int/gs", b"\x31" * 32)
    eu = CosignatureSigner.from_seed("witness.europol.europa.eu/w1", b"\x32" * 32)
    issuer = CheckpointIssuer(log, signer)
    log.append_many([epoch(i) for i in range(3)])
    early = issuer.issue()
    log.append_many([epoch(i) for i in range(3, 7)])
    middle = issuer.issue()
    log.append_many([epoch(i) for i in range(7, 9)])
    final = issuer.issue()
    issuer.store_cosigned(gs.cosign(early.note, 1_000), gs.verifier())
    issuer.store_cosigned(gs.cosign(final.note, 3_000), gs.verifier())
    issuer.store_cosigned(eu.cosign(final.note, 3_001), eu.verifier())
    summary = export_log(log, tmp_path / "export", final.note)

    assert summary.cosigned == (
        (3, gs.name),
        (9, eu.name),
        (9, gs.name),
    )
    latest = (tmp_path / "export" / "checkpoint").read_text()
    assert latest == (
        final.note
        + eu.signature(parse_note(final.note).text, 3_001).to_line()
        + gs.signature(parse_note(final.note).text, 3_000).to_line()
    )
    assert (tmp_path / "export" / "checkpoints" / "9").read_text() == latest
    assert gs.verifier().verify(latest) == 3_000
    assert open_checkpoint(latest, signer.verifier()) == final.checkpoint
    # A size no witness cosigned is exported as the node signed it.
    assert (tmp_path / "export" / "checkpoints" / "7").read_text() == middle.note
    assert gs.verifier().verify((tmp_path / "export" / "checkpoints" / "3").read_text()) == 1_000
    description = json.loads((tmp_path / "export" / "export.json").read_text())
    assert description["cosigned"] == {"3": [gs.name], "9": [eu.name, gs.name]}


def test_export_stops_at_its_checkpoint_for_cosignatures_too(
    log: AuditLog, signer: Ed25519Signer, tmp_path: Path
) -> None:
    witness = CosignatureSigner.from_seed("witness.interpol.int/gs", b"\x31" * 32)
    issuer = CheckpointIssuer(log, signer)
    log.append_many([epoch(i) for i in range(2)])
    early = issuer.issue()
    log.append_many([epoch(2)])
    later = issuer.issue()
    issuer.store_cosigned(witness.cosign(later.note, 5), witness.verifier())
    summary = export_log(log, tmp_path / "export", early.note)
    assert summary.cosigned == ()
    assert (tmp_path / "export" / "checkpoint").read_text() == early.note
