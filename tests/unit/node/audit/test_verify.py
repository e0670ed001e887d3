"""Offline verification of exports, and the tampering it must catch with a precise message.

The scenario: a node logs 600 entries; an auditor kept the checkpoint of size 200 from an
earlier visit; the counterpart `de.bka` holds receipts for entries 100, 150, 400 and 590. Each
tamper test changes the export (or forges a whole new history signed with the node's own key)
and checks the first failure: which check, which entry, and what differs.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crypto import merkle
from crypto.cosignature import CosignatureSigner, CosignatureVerifier
from crypto.errors import InputError
from crypto.signed_note import Checkpoint, Ed25519Signer, Note, NoteSignature, parse_note
from node.audit.checkpoints import CheckpointIssuer
from node.audit.entries import AuditEntry, Decision, EntryKind, digest_request, encode_entry
from node.audit.export import entry_bundle_path, export_log, tile_path
from node.audit.receipts import Receipt, issue_receipt
from node.audit.store import AuditLog
from node.audit.verify import VerificationReport, verify_export

ORIGIN = "fr-dcpj"
SIZE = 600
EARLIER_SIZE = 200
RECEIPT_INDEXES = (100, 150, 400, 590)
T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)


def scenario_entry(number: int) -> AuditEntry:
    """Entry `number` of the scenario: mostly checks, some disclosures and admin changes."""
    time = T0 + timedelta(hours=number)  # 600 hours from 08:00: spread over 26 days.
    counterpart = ("de.bka", "es.cnp", "it.ps")[number % 3]
    if number % 50 == 49:
        return AuditEntry(
            kind=EntryKind.POLICY_CHANGED,
            time=time,
            node=ORIGIN,
            officer="fr-admin-1",
            policy_digest=digest_request(f"policy {number}".encode()),
        )
    kind = EntryKind.DISCLOSURE_REQUESTED if number % 10 == 7 else EntryKind.CHECK_RECEIVED
    return AuditEntry(
        kind=kind,
        time=time,
        node=ORIGIN,
        officer=f"{counterpart[:2]}-{number % 13}",
        counterpart=counterpart,
        dataset="persons",
        element_count=1 + number % 300,
        purpose="investigation",
        # Every 97th consultation names no legal basis: the report must list it.
        legal_basis=None if number % 97 == 0 else "EU-2016/680:Art.8",
        case_reference=f"{counterpart[:2].upper()}-2025-{number:05d}",
        request_digest=digest_request(f"request {number}".encode()),
        decision=None if kind is EntryKind.DISCLOSURE_REQUESTED else Decision.ANSWERED,
    )


@dataclass(frozen=True)
class Scenario:
    signer: Ed25519Signer
    export: Path
    earlier_checkpoint: str
    final_checkpoint: str
    receipts: tuple[Receipt, ...]

    def receipt_pairs(self) -> list[tuple[str, Receipt]]:
        return [(f"receipt for {r.index}", r) for r in self.receipts]


def build_log(
    path: Path,
    signer: Ed25519Signer,
    entries: list[AuditEntry],
    *,
    checkpoint_at: tuple[int, ...] = (),
    receipts_at: tuple[int, ...] = (),
) -> tuple[list[str], list[Receipt]]:
    """Append `entries`, signing a checkpoint at each size of `checkpoint_at` and at the end."""
    notes: list[str] = []
    receipts: list[Receipt] = []
    with AuditLog(path) as log:
        issuer = CheckpointIssuer(log, signer)
        start = 0
        for stop in (*checkpoint_at, len(entries)):
            log.append_many(entries[start:stop])
            notes.append(issuer.issue().note)
            receipts += [issue_receipt(log, issuer, i) for i in receipts_at if start <= i < stop]
            start = stop
    return notes, receipts


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    directory = tmp_path_factory.mktemp("scenario")
    signer = Ed25519Signer.from_seed(ORIGIN, b"\x42" * 32)
    entries = [scenario_entry(i) for i in range(SIZE)]
    database = directory / "node.db"
    notes, receipts = build_log(
        database, signer, entries, checkpoint_at=(EARLIER_SIZE,), receipts_at=RECEIPT_INDEXES
    )
    with AuditLog(database, read_only=True) as log:
        export_log(log, directory / "export", notes[-1], since_sizes=[EARLIER_SIZE])
    return Scenario(signer, directory / "export", notes[0], notes[-1], tuple(receipts))


@pytest.fixture
def export(scenario: Scenario, tmp_path: Path) -> Path:
    """A private copy of the scenario's export, to tamper with."""
    copy = tmp_path / "export"
    shutil.copytree(scenario.export, copy)
    return copy


def verify(
    scenario: Scenario,
    export: Path,
    *,
    earlier: bool = True,
    receipts: bool = True,
    require_legal_basis: bool = False,
) -> VerificationReport:
    return verify_export(
        export,
        scenario.signer.verifier(),
        earlier_checkpoints=[("kept checkpoint", scenario.earlier_checkpoint)] if earlier else [],
        receipts=scenario.receipt_pairs() if receipts else [],
        require_legal_basis=require_legal_basis,
    )


# -------------------------------------------------------------------------------------------
# An honest export.
# -------------------------------------------------------------------------------------------


def test_honest_export_verifies_with_a_full_report(scenario: Scenario, export: Path) -> None:
    report = verify(scenario, export)
    assert report.ok, report.render()
    assert report.size == SIZE
    assert report.entries_verified == SIZE
    assert report.checkpoints_verified == 2
    assert report.earlier_checkpoints_verified == 1
    assert report.receipts_verified == len(RECEIPT_INDEXES)
    assert sum(report.entries_per_kind.values()) == SIZE
    assert report.entries_per_kind["policy_changed"] == 12
    assert report.entries_per_kind["disclosure_requested"] == 60
    assert report.entries_per_counterpart["de.bka"] == sum(
        1 for i in range(SIZE) if scenario_entry(i).counterpart == "de.bka"
    )
    assert len(report.entries_per_day) == 26
    assert report.entries_per_day["2025-03-01"] == 16
    without = [i for i in range(SIZE) if i % 97 == 0 and i % 50 != 49]
    assert report.without_legal_basis == without
    assert report.without_legal_basis_count == len(without)
    text = report.render()
    assert "result: OK" in text
    assert "entries without a legal basis: 7 (indexes 0, 97, 194" in text
    json_report = report.to_json()
    assert json_report["ok"] is True
    assert json_report["first_failure"] is None


def test_missing_legal_basis_fails_only_when_required(scenario: Scenario, export: Path) -> None:
    report = verify(scenario, export, require_legal_basis=True)
    assert not report.ok
    first = report.first_failure
    assert first is not None
    assert first.index == 0
    assert first.check == "legal basis"


# -------------------------------------------------------------------------------------------
# Tampering with the export.
# -------------------------------------------------------------------------------------------


def _read_bundle(export: Path, number: int, width: int = 256) -> list[bytes]:
    data = (export / entry_bundle_path(number, width)).read_bytes()
    entries = []
    while data:
        length = int.from_bytes(data[:2], "big")
        entries.append(data[2 : 2 + length])
        data = data[2 + length :]
    return entries


def _write_bundle(export: Path, number: int, entries: list[bytes], width: int = 256) -> None:
    data = b"".join(len(e).to_bytes(2, "big") + e for e in entries)
    (export / entry_bundle_path(number, width)).write_bytes(data)


def _edit_entry(export: Path, index: int, edit: Callable[[bytes], bytes]) -> None:
    entries = _read_bundle(export, index // 256)
    entries[index % 256] = edit(entries[index % 256])
    _write_bundle(export, index // 256, entries)


def _first(report: VerificationReport) -> tuple[str, int | None, str]:
    assert not report.ok
    first = report.first_failure
    assert first is not None
    return first.check, first.index, first.message


def test_one_changed_byte_is_found_at_its_index(scenario: Scenario, export: Path) -> None:
    # 300 elements become 900: the entry still decodes, but no longer hashes to its leaf.
    _edit_entry(export, 300, lambda e: e.replace(b'"element_count":1,', b'"element_count":9,'))
    report = verify(scenario, export)
    assert report.entries_verified == SIZE - 1
    check, index, message = _first(report)
    assert (check, index) == ("entries", 300)
    assert "leaf hash" in message
    assert "tile/entries/001" in message


def test_one_changed_byte_that_breaks_the_entry(scenario: Scenario, export: Path) -> None:
    _edit_entry(export, 301, lambda e: e[:10] + b"\x00" + e[11:])
    check, index, message = _first(verify(scenario, export))
    assert (check, index) == ("entries", 301)
    assert "does not decode" in message


def test_a_deleted_entry_is_found_at_its_index(scenario: Scenario, export: Path) -> None:
    entries = _read_bundle(export, 1)
    del entries[44]
    _write_bundle(export, 1, entries)
    check, index, message = _first(verify(scenario, export))
    assert (check, index) == ("entries", 256 + 44)
    assert "leaf hash" in message
    messages = [failure.message for failure in verify(scenario, export).failures]
    assert any("holds 255 entries, expected 256: entries from 511 on" in m for m in messages)
    assert any("more entries of tile/entries/001 differ" in m for m in messages)


def test_two_reordered_entries_are_found(scenario: Scenario, export: Path) -> None:
    entries = _read_bundle(export, 1)
    entries[10], entries[20] = entries[20], entries[10]
    _write_bundle(export, 1, entries)
    report = verify(scenario, export)
    check, index, _ = _first(report)
    assert (check, index) == ("entries", 266)
    assert {f.index for f in report.failures if f.check == "entries"} == {266, 276}


def test_a_truncated_tail_is_found(scenario: Scenario, export: Path) -> None:
    # The last bundle (entries 512..599) and its tile are gone from the export.
    (export / entry_bundle_path(2, 88)).unlink()
    (export / tile_path(0, 2, 88)).unlink()
    check, index, message = _first(verify(scenario, export))
    assert (check, index) == ("entries", 512)
    assert "missing" in message


def test_an_altered_tile_is_found(scenario: Scenario, export: Path) -> None:
    tile = export / tile_path(1, 0, 2)
    data = bytearray(tile.read_bytes())
    data[40] ^= 1
    tile.write_bytes(bytes(data))
    check, index, message = _first(verify(scenario, export))
    assert (check, index) == ("tiles", 256)
    assert "tile/1/000.p/2 hash 1 (entries 256..511)" in message


def test_an_altered_level_zero_tile_is_found(scenario: Scenario, export: Path) -> None:
    tile = export / tile_path(0, 0)
    data = bytearray(tile.read_bytes())
    data[32 * 7] ^= 0x80
    tile.write_bytes(bytes(data))
    check, index, _ = _first(verify(scenario, export))
    assert (check, index) == ("entries", 7)


def test_altered_consistency_proof_is_found(scenario: Scenario, export: Path) -> None:
    proof = export / "consistency" / str(EARLIER_SIZE)
    lines = proof.read_text().split("\n")
    lines[3] = lines[4]  # The first proof hash replaced by the second.
    proof.write_text("\n".join(lines))
    check, index, message = _first(verify(scenario, export, receipts=False))
    assert (check, index) == ("consistency proof", None)
    assert f"consistency/{EARLIER_SIZE} does not verify" in message


def test_checkpoint_under_another_key_is_refused(scenario: Scenario, export: Path) -> None:
    other = Ed25519Signer.generate(ORIGIN)
    report = verify_export(export, other.verifier())
    check, index, message = _first(report)
    assert (check, index) == ("checkpoint", None)
    assert "does not verify" in message


def test_altered_checkpoint_is_refused(scenario: Scenario, export: Path) -> None:
    note = (export / "checkpoint").read_text()
    (export / "checkpoint").write_text(note.replace(f"\n{SIZE}\n", f"\n{SIZE - 1}\n"))
    check, _, message = _first(verify(scenario, export))
    assert check == "checkpoint"
    assert "does not verify" in message


def test_unsigned_root_change_is_found(scenario: Scenario, export: Path) -> None:
    # Entries and every tile altered consistently: only the signed root can tell.
    for number, width in ((0, 256), (1, 256), (2, 88)):
        shutil.copy(export / entry_bundle_path(number, width), export / "saved")
    entries = _read_bundle(export, 2, 88)
    entries[0], entries[1] = entries[1], entries[0]
    _write_bundle(export, 2, entries, 88)
    (export / tile_path(0, 2, 88)).write_bytes(b"".join(merkle.leaf_hash(e) for e in entries))
    report = verify(scenario, export, earlier=False, receipts=False)
    check, index, message = _first(report)
    assert (check, index) == ("root", None)
    assert "signed checkpoint says" in message


# -------------------------------------------------------------------------------------------
# A history forged and re-signed with the node's own key.
# -------------------------------------------------------------------------------------------


def _forged_export(scenario: Scenario, tmp_path: Path, entries: list[AuditEntry]) -> Path:
    database = tmp_path / "forged.db"
    notes, _ = build_log(database, scenario.signer, entries)
    with AuditLog(database, read_only=True) as log:
        export_log(log, tmp_path / "forged", notes[-1])
    return tmp_path / "forged"


def test_re_signed_fork_is_caught_by_the_receipt_of_the_rewritten_entry(
    scenario: Scenario, tmp_path: Path
) -> None:
    entries = [scenario_entry(i) for i in range(SIZE)]
    original = entries[100]
    entries[100] = replace(original, legal_basis="EU-2016/680:Art.10")
    forged = _forged_export(scenario, tmp_path, entries)
    # On its own the forged export is self-consistent: that is what outside evidence is for.
    assert verify(scenario, forged, earlier=False, receipts=False).ok
    report = verify(scenario, forged, earlier=False)
    check, index, message = _first(report)
    assert (check, index) == ("receipts", 100)
    assert "the export's entry has leaf hash" in message
    assert "nowhere in the export" in message


def test_re_signed_fork_is_caught_by_the_kept_checkpoint(
    scenario: Scenario, tmp_path: Path
) -> None:
    entries = [scenario_entry(i) for i in range(SIZE)]
    entries[120] = replace(entries[120], decision=Decision.REFUSED)
    forged = _forged_export(scenario, tmp_path, entries)
    check, index, message = _first(verify(scenario, forged, receipts=False))
    assert check == "earlier checkpoint"
    assert index is None
    assert f"at size {EARLIER_SIZE}" in message
    assert "history was rewritten" in message


def test_re_signed_reorder_is_located_by_a_receipt(scenario: Scenario, tmp_path: Path) -> None:
    entries = [scenario_entry(i) for i in range(SIZE)]
    entries[400], entries[401] = entries[401], entries[400]
    forged = _forged_export(scenario, tmp_path, entries)
    check, index, message = _first(verify(scenario, forged, earlier=False))
    assert (check, index) == ("receipts", 400)
    assert "is at index 401 in the export" in message


def test_re_signed_truncation_is_caught(scenario: Scenario, tmp_path: Path) -> None:
    entries = [scenario_entry(i) for i in range(450)]
    forged = _forged_export(scenario, tmp_path, entries)
    report = verify(scenario, forged)
    check, index, message = _first(report)
    # The receipt for entry 400 holds a checkpoint of size 600: the first entry removed is 450.
    assert (check, index) == ("receipts", 450)
    assert "entries 450..599 were removed" in message
    assert any(f.index == 590 and "holds only 450 entries" in f.message for f in report.failures)
    kept_final = verify_export(
        forged,
        scenario.signer.verifier(),
        earlier_checkpoints=[("kept final", scenario.final_checkpoint)],
    )
    check, index, message = _first(kept_final)
    assert (check, index) == ("earlier checkpoint", 450)
    assert "entries 450..599 were removed" in message


def test_truncated_export_keeping_a_larger_checkpoint_is_caught(
    scenario: Scenario, tmp_path: Path
) -> None:
    forged = _forged_export(scenario, tmp_path, [scenario_entry(i) for i in range(450)])
    (forged / "checkpoints" / str(SIZE)).write_text(scenario.final_checkpoint)
    check, index, message = _first(verify(scenario, forged, earlier=False, receipts=False))
    assert (check, index) == ("checkpoints", 450)
    assert "were removed" in message


def test_entry_of_another_node_is_reported(scenario: Scenario, tmp_path: Path) -> None:
    entries = [scenario_entry(i) for i in range(10)]
    entries[4] = replace(entries[4], node="de.bka")
    forged = _forged_export(scenario, tmp_path, entries)
    check, index, message = _first(verify(scenario, forged, earlier=False, receipts=False))
    assert (check, index) == ("entries", 4)
    assert "names node 'de.bka'" in message


def test_changed_entry_in_the_database_shows_in_its_export(
    scenario: Scenario, tmp_path: Path
) -> None:
    database = tmp_path / "node.db"
    notes, _ = build_log(database, scenario.signer, [scenario_entry(i) for i in range(SIZE)])
    tampered = encode_entry(replace(scenario_entry(33), element_count=1))
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER audit_entries_append_only_update")
        connection.execute("UPDATE audit_entries SET body = ? WHERE idx = 33", (tampered,))
    with AuditLog(database, read_only=True) as log:
        export_log(log, tmp_path / "export", notes[-1])
    check, index, _ = _first(verify(scenario, tmp_path / "export"))
    assert (check, index) == ("entries", 33)


# -------------------------------------------------------------------------------------------
# Inputs the verifier refuses outright.
# -------------------------------------------------------------------------------------------


def test_missing_directory_is_an_input_error(scenario: Scenario, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="absent is not an export directory"):
        verify_export(tmp_path / "absent", scenario.signer.verifier())


def test_missing_checkpoint_is_reported(scenario: Scenario, export: Path) -> None:
    (export / "checkpoint").unlink()
    check, _, message = _first(verify(scenario, export))
    assert check == "checkpoint"
    assert "missing" in message


def test_stray_file_in_tiles_is_reported(scenario: Scenario, export: Path) -> None:
    (export / "tile" / "0" / "notes.txt").write_text("hello")
    check, _, message = _first(verify(scenario, export))
    assert check == "tiles"
    assert "not a tile" in message


def test_earlier_checkpoint_of_another_log_is_reported(scenario: Scenario, export: Path) -> None:
    foreign = Ed25519Signer.generate(ORIGIN).sign(Checkpoint(ORIGIN, 1, bytes(32)).to_body())
    report = verify_export(
        export, scenario.signer.verifier(), earlier_checkpoints=[("foreign", foreign)]
    )
    check, _, message = _first(report)
    assert check == "earlier checkpoint"
    assert "foreign does not verify" in message


# -------------------------------------------------------------------------------------------
# Witness cosignatures.
# -------------------------------------------------------------------------------------------

WITNESS = CosignatureSigner.from_seed("witness.interpol.int/gs", b"\x24" * 32)
WITNESSED_SIZE = 300
WITNESSED_EARLY = 100
T_EARLY = int(datetime(2025, 3, 5, tzinfo=UTC).timestamp())
T_FINAL = int(datetime(2025, 3, 13, 12, tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def witnessed(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of 300 entries whose checkpoints of size 100 and 300 a witness cosigned."""
    directory = tmp_path_factory.mktemp("witnessed")
    entries = [scenario_entry(i) for i in range(WITNESSED_SIZE)]
    with AuditLog(directory / "node.db") as log:
        issuer = CheckpointIssuer(log, scenario.signer)
        log.append_many(entries[:WITNESSED_EARLY])
        early = issuer.issue()
        issuer.store_cosigned(WITNESS.cosign(early.note, T_EARLY), WITNESS.verifier())
        log.append_many(entries[WITNESSED_EARLY:])
        final = issuer.issue()
        issuer.store_cosigned(WITNESS.cosign(final.note, T_FINAL), WITNESS.verifier())
        export_log(log, directory / "export", final.note)
    return directory / "export"


@pytest.fixture
def witnessed_export(witnessed: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "witnessed"
    shutil.copytree(witnessed, copy)
    return copy


def verify_witnessed(
    scenario: Scenario,
    export: Path,
    witnesses: tuple[CosignatureVerifier, ...] = (WITNESS.verifier(),),
    *,
    require_witness: bool = True,
) -> VerificationReport:
    return verify_export(
        export,
        scenario.signer.verifier(),
        witnesses=witnesses,
        require_witness=require_witness,
    )


def _strip_witness(note: str) -> str:
    parsed = parse_note(note)
    kept = tuple(s for s in parsed.signatures if s.key_name != WITNESS.name)
    return Note(parsed.text, kept).to_str()


def test_cosignatures_are_verified_and_reported(scenario: Scenario, witnessed: Path) -> None:
    report = verify_witnessed(scenario, witnessed)
    assert report.ok, report.render()
    key = WITNESS.verifier().key
    assert report.cosigned == {key: {WITNESSED_EARLY: T_EARLY, WITNESSED_SIZE: T_FINAL}}
    # checkpoint, checkpoints/100 and checkpoints/300.
    assert report.cosignatures_verified == 3
    text = report.render()
    assert f"{key}: cosigned sizes 100, 300 (latest cosignature 2025-03-13T12:00:00+00:00)" in text
    witnesses = report.to_json()["witnesses"]
    assert witnesses == {key: {"cosigned_sizes": [100, 300], "latest_time": T_FINAL}}
    # Without witness keys the cosignatures are ignored, as any unknown signature is.
    plain = verify_export(witnessed, scenario.signer.verifier())
    assert plain.ok
    assert plain.cosigned == {}
    assert "witnesses:" not in plain.render()


def test_a_bad_cosignature_fails_the_verification(
    scenario: Scenario, witnessed_export: Path
) -> None:
    path = witnessed_export / "checkpoints" / str(WITNESSED_EARLY)
    parsed = parse_note(path.read_text())
    lines = []
    for signature in parsed.signatures:
        if signature.key_name == WITNESS.name:
            flipped = bytearray(signature.signature)
            flipped[20] ^= 0x01
            lines.append(NoteSignature(signature.key_name, signature.key_id, bytes(flipped)))
        else:
            lines.append(signature)
    path.write_text(Note(parsed.text, tuple(lines)).to_str())
    check, index, message = _first(verify_witnessed(scenario, witnessed_export))
    assert (check, index) == ("witness", None)
    assert f"checkpoints/{WITNESSED_EARLY} carries a bad cosignature" in message
    assert "invalid cosignature" in message


def test_the_exports_checkpoint_must_be_cosigned_when_required(
    scenario: Scenario, witnessed_export: Path
) -> None:
    path = witnessed_export / "checkpoint"
    path.write_text(_strip_witness(path.read_text()))
    assert verify_witnessed(scenario, witnessed_export, require_witness=False).ok
    check, _, message = _first(verify_witnessed(scenario, witnessed_export))
    assert check == "witness"
    assert f"checkpoint of size {WITNESSED_SIZE} carries no cosignature by a known witness" in (
        message
    )


def test_an_unknown_witness_does_not_count(scenario: Scenario, witnessed: Path) -> None:
    stranger = CosignatureSigner.from_seed("witness.example/other", b"\x25" * 32).verifier()
    report = verify_witnessed(scenario, witnessed, (stranger,))
    check, _, _ = _first(report)
    assert check == "witness"
    assert f"{stranger.key}: no cosignature in this export" in report.render()


def test_requiring_a_witness_needs_a_witness_key(scenario: Scenario, witnessed: Path) -> None:
    with pytest.raises(InputError, match="no witness key"):
        verify_witnessed(scenario, witnessed, ())


def test_a_re_signed_fork_cannot_borrow_the_witness_cosignature(
    scenario: Scenario, witnessed: Path, tmp_path: Path
) -> None:
    # The node rewrites entry 42 and re-signs the whole history with its own key: no kept
    # checkpoint or receipt is at hand, but the auditor knows the witness.
    entries = [scenario_entry(i) for i in range(WITNESSED_SIZE)]
    entries[42] = replace(entries[42], legal_basis="EU-2016/680:Art.10")
    forged = _forged_export(scenario, tmp_path, entries)
    assert verify_witnessed(scenario, forged, require_witness=False).ok
    check, _, _ = _first(verify_witnessed(scenario, forged))
    assert check == "witness"
    # Copying the witness's line from the honest checkpoint does not help: it signed another root.
    honest = parse_note((witnessed / "checkpoint").read_text())
    [line] = [s for s in honest.signatures if s.key_name == WITNESS.name]
    note = parse_note((forged / "checkpoint").read_text())
    (forged / "checkpoint").write_text(Note(note.text, (*note.signatures, line)).to_str())
    check, _, message = _first(verify_witnessed(scenario, forged))
    assert check == "witness"
    assert "invalid cosignature" in message
