"""Offline verification of an audit-log export, with a report for auditors.

Inputs: an export directory (`node.audit.export`), the node's public key (brought by the auditor,
never taken from the export), optionally checkpoints the auditor kept from earlier, and receipts
that counterparts hold (`node.audit.receipts`). Nothing else is trusted.

Order of the checks, each recording failures and going on where it can:

1. `checkpoint` is a note signed by the node's key for its origin (c2sp.org/tlog-checkpoint).
   Without it nothing else can be judged, so verification stops here if it fails.
2. Entry bundles and level-0 tiles, in index order: every entry is present, is the canonical
   encoding of a valid entry (`check_entry`) written by the log's own node, and its leaf hash
   `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1) equals the hash in the level-0 tile. Counts for
   the report are taken here.
3. The whole tree is rebuilt from the leaf hashes; every hash of every tile file at every level
   is compared with it (tlog-tiles: hash `i` of tile `N` at level `L` is the perfect subtree
   `NodeId(8L, 256N + i)`), and the root of `size` leaves must be the signed root.
4. Every checkpoint under `checkpoints/` verifies and commits to the rebuilt tree at its size: a
   larger size means entries were removed, another root means history was rewritten.
5. Receipts: each verifies on its own (signature, inclusion proof, RFC 9162 §2.1.3.2), then its
   entry must be at its index in the export and its checkpoint must match the rebuilt tree. This
   is what pinpoints a deleted, reordered or rewritten entry even when the node re-signed its
   forged history with its own key.
6. Earlier checkpoints the auditor kept: each verifies and the export extends it (its root equals
   the rebuilt root at its size, RFC 9162 §2.1.4); a consistency proof shipped in the export for
   that size is verified as well.

Witness cosignatures (c2sp.org/tlog-cosignature) are checked with stages 1 and 4, on every
checkpoint note the log's key verified: each line by a witness key the auditor brought must
verify (a bad one is a failure, as signed-note says of any known key), lines by other keys are
ignored. A cosignature says a witness saw this checkpoint as the latest of one linear history,
so the node could not have shown a different one to that witness: this is the evidence against
a node that re-signs a forged history with its own key and gives no kept checkpoint or receipt
a chance to catch it. With `require_witness`, the export's own `checkpoint` must be cosigned by
at least one of the witnesses given. The report lists the sizes each witness cosigned and the
time of its latest cosignature.

The report gives entries per kind, per counterpart and per day, the consultation and disclosure
entries without a legal basis (Directive (EU) 2016/680 Art. 25), and the failures in the order
found; the first one names the entry index where there is one and says what differs.
"""

from __future__ import annotations

import hmac
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from crypto import merkle
from crypto.cosignature import CosignatureVerifier, verify_cosignatures
from crypto.errors import BlindhitError, CryptoError, InputError
from crypto.merkle import NodeId
from crypto.signed_note import Checkpoint, Ed25519Verifier, open_checkpoint
from node.audit.entries import LEGAL_BASIS_KINDS, check_entry
from node.audit.export import TILE_HEIGHT, TILE_WIDTH, entry_bundle_path, tile_counts, tile_path
from node.audit.receipts import ConsistencyProof, Receipt, verify_receipt

__all__ = ["Failure", "VerificationReport", "verify_export"]

# The report lists at most this many indexes of entries without a legal basis, and stops
# recording failures after this many (the first is what matters; the rest show the extent).
_MAX_LISTED: Final = 100
_MAX_FAILURES: Final = 100
# One entry removed from a bundle shifts every later one; listing each would bury the rest.
_MAX_MISMATCHES_PER_BUNDLE: Final = 8
_HASH_SIZE: Final = merkle.HASH_SIZE
# Placeholder for a leaf that cannot be read, so that the tree can still be rebuilt and every
# further difference reported; it can never equal a real SHA-256 output by accident in practice.
_MISSING_LEAF: Final = bytes(_HASH_SIZE)
_TILE_FILE: Final = re.compile(r"tile/(?:(\d{1,2})|entries)/((?:x\d{3}/)*\d{3})(?:\.p/(\d{1,3}))?")


@dataclass(frozen=True, slots=True)
class Failure:
    """One check that did not hold: which check, the entry index if there is one, what differs."""

    check: str
    message: str
    index: int | None = None

    def render(self) -> str:
        """Return the failure as one line."""
        where = f"entry {self.index}: " if self.index is not None else ""
        return f"{self.check}: {where}{self.message}"


@dataclass(slots=True)
class VerificationReport:
    """What `verify_export` found; `ok` only when every check held."""

    key: str
    origin: str | None = None
    size: int | None = None
    root_hash: bytes | None = None
    entries_verified: int = 0
    tiles_verified: int = 0
    checkpoints_verified: int = 0
    earlier_checkpoints_verified: int = 0
    receipts_verified: int = 0
    entries_per_kind: Counter[str] = field(default_factory=Counter)
    entries_per_counterpart: Counter[str] = field(default_factory=Counter)
    entries_per_day: Counter[str] = field(default_factory=Counter)
    without_legal_basis_count: int = 0
    without_legal_basis: list[int] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    failure_count: int = 0
    witness_keys: list[str] = field(default_factory=list)
    """The witnesses whose cosignatures were checked, as `<name>+<key ID>`."""
    cosigned: dict[str, dict[int, int]] = field(default_factory=dict)
    """Per witness key: each checkpoint size it cosigned, with the cosignature's time."""
    cosignatures_verified: int = 0

    @property
    def ok(self) -> bool:
        """Whether every check held."""
        return self.failure_count == 0

    @property
    def first_failure(self) -> Failure | None:
        """The first failure found, if any."""
        return self.failures[0] if self.failures else None

    def fail(self, check: str, message: str, index: int | None = None) -> None:
        """Record a failure (only the first `_MAX_FAILURES` are kept, all are counted)."""
        self.failure_count += 1
        if len(self.failures) < _MAX_FAILURES:
            self.failures.append(Failure(check, message, index))

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready object."""
        first = self.first_failure
        return {
            "ok": self.ok,
            "key": self.key,
            "origin": self.origin,
            "size": self.size,
            "root_hash": None if self.root_hash is None else self.root_hash.hex(),
            "entries_verified": self.entries_verified,
            "tiles_verified": self.tiles_verified,
            "checkpoints_verified": self.checkpoints_verified,
            "earlier_checkpoints_verified": self.earlier_checkpoints_verified,
            "receipts_verified": self.receipts_verified,
            "cosignatures_verified": self.cosignatures_verified,
            "witnesses": {
                key: {
                    "cosigned_sizes": sorted(self.cosigned.get(key, {})),
                    "latest_time": max(self.cosigned.get(key, {}).values(), default=None),
                }
                for key in self.witness_keys
            },
            "entries_per_kind": dict(sorted(self.entries_per_kind.items())),
            "entries_per_counterpart": dict(sorted(self.entries_per_counterpart.items())),
            "entries_per_day": dict(sorted(self.entries_per_day.items())),
            "entries_without_legal_basis": {
                "count": self.without_legal_basis_count,
                "first_indexes": self.without_legal_basis,
            },
            "first_failure": None if first is None else _failure_json(first),
            "failure_count": self.failure_count,
            "failures": [_failure_json(failure) for failure in self.failures],
        }

    def render(self) -> str:
        """Return the report as text for people."""
        lines = [
            f"log:          {self.origin or '?'} (key {self.key})",
            f"size:         {self.size if self.size is not None else '?'} entries",
            f"root hash:    {self.root_hash.hex() if self.root_hash else '?'}",
            f"verified:     {self.entries_verified} entries, {self.tiles_verified} tiles, "
            f"{self.checkpoints_verified} checkpoints, {self.earlier_checkpoints_verified} "
            f"earlier checkpoints, {self.receipts_verified} receipts",
        ]
        lines += self._render_witnesses()
        lines += _render_counts("entries per kind", self.entries_per_kind)
        lines += _render_counts("entries per counterpart", self.entries_per_counterpart)
        lines += _render_counts("entries per day", self.entries_per_day)
        listed = ", ".join(str(index) for index in self.without_legal_basis)
        more = "" if self.without_legal_basis_count <= len(self.without_legal_basis) else ", ..."
        lines.append(
            f"entries without a legal basis: {self.without_legal_basis_count}"
            + (f" (indexes {listed}{more})" if listed else "")
        )
        first = self.first_failure
        if first is None:
            lines.append("result: OK")
        else:
            lines.append(f"result: FAILED ({self.failure_count} failures)")
            lines.append(f"first failure: {first.render()}")
            lines += [f"  {failure.render()}" for failure in self.failures[1:]]
        return "\n".join(lines) + "\n"

    def _render_witnesses(self) -> list[str]:
        if not self.witness_keys:
            return []
        lines = [f"witnesses:    {self.cosignatures_verified} cosignatures verified"]
        for key in self.witness_keys:
            sizes = self.cosigned.get(key, {})
            if not sizes:
                lines.append(f"  {key}: no cosignature in this export")
                continue
            latest = datetime.fromtimestamp(max(sizes.values()), UTC).isoformat()
            listed = ", ".join(str(size) for size in sorted(sizes))
            lines.append(f"  {key}: cosigned sizes {listed} (latest cosignature {latest})")
        return lines


def _failure_json(failure: Failure) -> dict[str, Any]:
    return {"check": failure.check, "index": failure.index, "message": failure.message}


def _render_counts(title: str, counts: Counter[str]) -> list[str]:
    if not counts:
        return [f"{title}: none"]
    return [f"{title}:"] + [f"  {name:<32} {count:>10}" for name, count in sorted(counts.items())]


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _split_bundle(data: bytes) -> Iterator[bytes]:
    """Yield the entries of a bundle of uint16 length-prefixed records (tlog-tiles)."""
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise ValueError(f"a length prefix is cut at byte {offset}")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise ValueError(f"an entry of {length} bytes is cut at byte {offset}")
        yield data[offset : offset + length]
        offset += length


def _short(value: bytes) -> str:
    return value.hex()[:16] + "…"


class _Verifier:
    """One verification run over one export directory."""

    def __init__(
        self,
        directory: Path,
        verifier: Ed25519Verifier,
        report: VerificationReport,
        witnesses: Sequence[CosignatureVerifier] = (),
    ) -> None:
        self.directory = directory
        self.verifier = verifier
        self.report = report
        self.witnesses = tuple(witnesses)
        self.levels: list[list[bytes]] = []
        self.size = 0
        self.latest_cosignatures = 0
        self._leaf_positions: dict[bytes, int] | None = None

    # Stage 1.
    def open_checkpoint(self, relative: str, check: str) -> Checkpoint | None:
        data = _read(self.directory / relative)
        if data is None:
            self.report.fail(check, f"{relative} is missing from the export")
            return None
        try:
            checkpoint = open_checkpoint(data, self.verifier)
        except CryptoError as exc:
            self.report.fail(check, f"{relative} does not verify with the node's key: {exc}")
            return None
        self.cosignatures(relative, data, checkpoint)
        return checkpoint

    def cosignatures(self, relative: str, data: bytes, checkpoint: Checkpoint) -> int:
        """Verify the known witnesses' cosignatures of a checkpoint note; return how many held."""
        if not self.witnesses:
            return 0
        try:
            found = verify_cosignatures(data, self.witnesses)
        except CryptoError as exc:
            self.report.fail("witness", f"{relative} carries a bad cosignature: {exc}")
            return 0
        for cosignature in found:
            sizes = self.report.cosigned.setdefault(cosignature.key, {})
            sizes[checkpoint.size] = max(cosignature.timestamp, sizes.get(checkpoint.size, 0))
            self.report.cosignatures_verified += 1
        if relative == "checkpoint":
            self.latest_cosignatures = len(found)
        return len(found)

    # Stage 2.
    def entries(self, size: int, require_legal_basis: bool) -> list[bytes]:
        report = self.report
        leaves: list[bytes] = []
        bundles = (size + TILE_WIDTH - 1) // TILE_WIDTH
        for number in range(bundles):
            start = number * TILE_WIDTH
            width = min(TILE_WIDTH, size - start)
            bundle_name = entry_bundle_path(number, width)
            tile_name = tile_path(0, number, width)
            entries, tile_hashes, bundle_present = self._bundle_and_tile(
                bundle_name, tile_name, start, width
            )
            mismatches = 0
            for position in range(width):
                index = start + position
                if position >= len(entries):
                    if bundle_present and position == len(entries):
                        report.fail(
                            "entries",
                            f"{bundle_name} holds {len(entries)} entries, expected {width}: "
                            f"entries from {index} on are missing",
                            index,
                        )
                    leaves.append(_MISSING_LEAF)
                    continue
                body = entries[position]
                leaf = merkle.leaf_hash(body)
                leaves.append(leaf)
                decoded = self._count(index, body, require_legal_basis)
                if tile_hashes and hmac.compare_digest(leaf, tile_hashes[position]):
                    report.entries_verified += decoded
                elif tile_hashes:
                    mismatches += 1
                    if mismatches <= _MAX_MISMATCHES_PER_BUNDLE:
                        report.fail(
                            "entries",
                            f"the leaf hash of the entry in {bundle_name} is {_short(leaf)}, but "
                            f"{tile_name} holds {_short(tile_hashes[position])} (the entry or "
                            "the tile was altered, or entries were removed or moved)",
                            index,
                        )
            if mismatches > _MAX_MISMATCHES_PER_BUNDLE:
                report.fail(
                    "entries",
                    f"{mismatches - _MAX_MISMATCHES_PER_BUNDLE} more entries of {bundle_name} "
                    f"differ from {tile_name}",
                )
            if len(entries) > width:
                report.fail(
                    "entries",
                    f"{bundle_name} holds {len(entries)} entries, expected {width}",
                    start + width,
                )
        return leaves

    def _bundle_and_tile(
        self, bundle_name: str, tile_name: str, start: int, width: int
    ) -> tuple[list[bytes], list[bytes], bool]:
        """Read an entry bundle and its level-0 tile, recording what is missing or malformed.

        Returns the entries, the tile's hashes (empty if unusable) and whether the bundle exists.
        """
        report = self.report
        bundle = _read(self.directory / bundle_name)
        tile = _read(self.directory / tile_name)
        entries: list[bytes] = []
        if bundle is None:
            report.fail(
                "entries", f"{bundle_name} (entries {start}..{start + width - 1}) is missing", start
            )
        else:
            try:
                entries = list(_split_bundle(bundle))
            except ValueError as exc:
                report.fail("entries", f"{bundle_name} is malformed: {exc}", start)
        tile_hashes: list[bytes] = []
        if tile is None:
            report.fail("tiles", f"{tile_name} is missing", start)
        elif len(tile) != width * _HASH_SIZE:
            report.fail(
                "tiles",
                f"{tile_name} holds {len(tile)} bytes, expected {width * _HASH_SIZE}",
                start,
            )
        else:
            tile_hashes = [tile[i : i + _HASH_SIZE] for i in range(0, len(tile), _HASH_SIZE)]
            report.tiles_verified += 1
        return entries, tile_hashes, bundle is not None

    def _count(self, index: int, body: bytes, require_legal_basis: bool) -> bool:
        """Check one entry's encoding and count it for the report; return whether it decoded."""
        report = self.report
        try:
            fields = check_entry(body)
        except InputError as exc:
            report.fail("entries", f"the entry does not decode: {exc}", index)
            return False
        if fields["node"] != report.origin:
            # Every entry is written by the node whose log it is; another name is a splice.
            report.fail(
                "entries",
                f"the entry names node {fields['node']!r}, but the log is {report.origin!r}",
                index,
            )
        kind = fields["kind"]
        report.entries_per_kind[kind] += 1
        counterpart = fields.get("counterpart")
        if counterpart is not None:
            report.entries_per_counterpart[counterpart] += 1
        report.entries_per_day[fields["time"][:10]] += 1
        if kind in LEGAL_BASIS_KINDS and "legal_basis" not in fields:
            report.without_legal_basis_count += 1
            if len(report.without_legal_basis) < _MAX_LISTED:
                report.without_legal_basis.append(index)
            if require_legal_basis:
                report.fail("legal basis", f"a {kind} entry names no legal basis", index)
        return True

    # Stage 3.
    def tiles(self, size: int) -> None:
        """Compare every hash tile above level 0 with the rebuilt tree; check extra files too."""
        report = self.report
        checked: set[str] = set()
        for level, count in tile_counts(size):
            if level == 0:
                continue
            for number in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
                width = min(TILE_WIDTH, count - number * TILE_WIDTH)
                relative = tile_path(level, number, width)
                checked.add(relative)
                self._compare_tile(relative, level, number, width, required=True)
        bundles = (size + TILE_WIDTH - 1) // TILE_WIDTH
        for number in range(bundles):
            width = min(TILE_WIDTH, size - number * TILE_WIDTH)
            checked.add(tile_path(0, number, width))
            checked.add(entry_bundle_path(number, width))
        # Partial tiles and bundles of earlier checkpoints must agree with the tree too, since
        # tools reading those checkpoints will use them.
        tile_root = self.directory / "tile"
        if not tile_root.is_dir():
            return
        for path in sorted(tile_root.rglob("*")):
            if path.is_dir():
                continue
            relative = path.relative_to(self.directory).as_posix()
            if relative in checked:
                continue
            match = _TILE_FILE.fullmatch(relative)
            if match is None:
                report.fail("tiles", f"{relative} is not a tile or entry bundle")
                continue
            number = int(match.group(2).replace("x", "").replace("/", ""))
            width = int(match.group(3)) if match.group(3) else TILE_WIDTH
            if match.group(3) and not 0 < width < TILE_WIDTH:
                report.fail("tiles", f"{relative} has an invalid width")
            elif match.group(1) is None:
                self._compare_bundle(relative, number, width)
            else:
                self._compare_tile(relative, int(match.group(1)), number, width, required=False)

    def _compare_tile(
        self, relative: str, level: int, number: int, width: int, *, required: bool
    ) -> None:
        report = self.report
        tree_level = TILE_HEIGHT * level
        span = 1 << tree_level
        first = number * TILE_WIDTH
        data = _read(self.directory / relative)
        if data is None:
            if required:
                report.fail("tiles", f"{relative} is missing", first * span)
            return
        if len(data) != width * _HASH_SIZE:
            report.fail(
                "tiles", f"{relative} holds {len(data)} bytes, expected {width * _HASH_SIZE}"
            )
            return
        available = self.levels[tree_level] if tree_level < len(self.levels) else []
        if first + width > len(available):
            report.fail("tiles", f"{relative} lies beyond the exported tree of {self.size}")
            return
        for position in range(width):
            expected = available[first + position]
            held = data[position * _HASH_SIZE : (position + 1) * _HASH_SIZE]
            if not hmac.compare_digest(held, expected):
                begin = (first + position) * span
                report.fail(
                    "tiles",
                    f"{relative} hash {position} (entries {begin}..{begin + span - 1}) is "
                    f"{_short(held)}, the rebuilt tree has {_short(expected)}",
                    begin,
                )
                return
        report.tiles_verified += 1

    def _compare_bundle(self, relative: str, number: int, width: int) -> None:
        report = self.report
        data = _read(self.directory / relative)
        first = number * TILE_WIDTH
        if data is None:
            return
        try:
            entries = list(_split_bundle(data))
        except ValueError as exc:
            report.fail("entries", f"{relative} is malformed: {exc}", first)
            return
        leaves = self.levels[0] if self.levels else []
        if len(entries) != width or first + width > len(leaves):
            report.fail("entries", f"{relative} does not fit the exported tree", first)
            return
        for position, body in enumerate(entries):
            if not hmac.compare_digest(merkle.leaf_hash(body), leaves[first + position]):
                report.fail(
                    "entries",
                    f"the entry in {relative} differs from the exported entry at this index",
                    first + position,
                )
                return

    def root_at(self, size: int) -> bytes:
        """Return the rebuilt tree's root of the first `size` leaves."""
        levels = self.levels

        def fetch(ids: Sequence[NodeId]) -> list[bytes]:
            return [levels[level][index] for level, index in ids]

        return merkle.root_hash(size, fetch)

    # Stage 4 and 6.
    def extends(self, checkpoint: Checkpoint, check: str, what: str) -> bool:
        """Check that the export extends `checkpoint`; record a failure and return False if not."""
        if checkpoint.size > self.size:
            self.report.fail(
                check,
                f"{what} has size {checkpoint.size}, but the export holds only {self.size} "
                f"entries: entries {self.size}..{checkpoint.size - 1} were removed",
                self.size,
            )
            return False
        root = self.root_at(checkpoint.size)
        if not hmac.compare_digest(root, checkpoint.root_hash):
            self.report.fail(
                check,
                f"{what} has root {_short(checkpoint.root_hash)} at size {checkpoint.size}, but "
                f"the export's first {checkpoint.size} entries hash to {_short(root)}: they are "
                "not the entries that were signed (history was rewritten)",
            )
            return False
        return True

    def history(self) -> None:
        directory = self.directory / "checkpoints"
        if not directory.is_dir():
            return
        for path in sorted(directory.iterdir(), key=lambda p: p.name):
            relative = f"checkpoints/{path.name}"
            checkpoint = self.open_checkpoint(relative, "checkpoints")
            if checkpoint is None:
                continue
            if path.name != str(checkpoint.size):
                self.report.fail(
                    "checkpoints", f"{relative} holds a checkpoint of size {checkpoint.size}"
                )
                continue
            if self.extends(checkpoint, "checkpoints", f"the signed {relative}"):
                self.report.checkpoints_verified += 1

    # Stage 5.
    def receipt(self, label: str, receipt: Receipt) -> None:
        report = self.report
        index = receipt.index
        try:
            verified = verify_receipt(receipt, self.verifier)
        except BlindhitError as exc:
            report.fail("receipts", f"{label} does not verify: {exc}", index)
            return
        if index >= self.size:
            report.fail(
                "receipts",
                f"{label} proves this entry under a checkpoint of size "
                f"{verified.checkpoint.size}, but the export holds only {self.size} entries: "
                "the entry was removed",
                index,
            )
            return
        held = self.levels[0][index]
        if not hmac.compare_digest(held, verified.leaf_hash):
            moved = self._position_of(verified.leaf_hash)
            where = (
                f"; the receipt's entry is at index {moved} in the export"
                if moved is not None
                else "; the receipt's entry is nowhere in the export"
            )
            report.fail(
                "receipts",
                f"the export's entry has leaf hash {_short(held)}, but {label} proves "
                f"{_short(verified.leaf_hash)}{where}",
                index,
            )
            return
        if self.extends(verified.checkpoint, "receipts", f"the checkpoint of {label}"):
            report.receipts_verified += 1

    def _position_of(self, leaf: bytes) -> int | None:
        if self._leaf_positions is None:
            self._leaf_positions = {}
            for index, value in enumerate(self.levels[0]):
                self._leaf_positions.setdefault(value, index)
        return self._leaf_positions.get(leaf)

    # Stage 6.
    def earlier(self, label: str, note: str, root_hash: bytes) -> None:
        report = self.report
        try:
            checkpoint = open_checkpoint(note, self.verifier)
        except CryptoError as exc:
            report.fail("earlier checkpoint", f"{label} does not verify: {exc}")
            return
        if not self.extends(checkpoint, "earlier checkpoint", label):
            return
        if checkpoint.size == 0:
            report.earlier_checkpoints_verified += 1
            return
        proof_file = self.directory / "consistency" / str(checkpoint.size)
        data = _read(proof_file)
        if data is not None:
            try:
                proof = ConsistencyProof.from_text(data.decode("utf-8"))
                if proof.old_size != checkpoint.size or proof.new_size != self.size:
                    raise InputError(
                        f"it proves sizes {proof.old_size} to {proof.new_size}, expected "
                        f"{checkpoint.size} to {self.size}"
                    )
                new = proof.verify(checkpoint.root_hash, self.verifier)
                if not hmac.compare_digest(new.root_hash, root_hash):
                    raise InputError("its checkpoint is not the export's checkpoint")
            except (BlindhitError, UnicodeDecodeError) as exc:
                report.fail(
                    "consistency proof", f"consistency/{checkpoint.size} does not verify: {exc}"
                )
                return
        report.earlier_checkpoints_verified += 1


def verify_export(
    directory: Path,
    verifier: Ed25519Verifier,
    *,
    earlier_checkpoints: Sequence[tuple[str, str]] = (),
    receipts: Sequence[tuple[str, Receipt]] = (),
    require_legal_basis: bool = False,
    witnesses: Sequence[CosignatureVerifier] = (),
    require_witness: bool = False,
) -> VerificationReport:
    """Verify an export offline and return the report (see the module docstring).

    `earlier_checkpoints` and `receipts` are `(label, value)` pairs; the label names the item in
    failure messages (for example the file it came from). With `require_legal_basis`, a
    consultation or disclosure entry without a legal basis is a failure, not only a count.
    `witnesses` are the witness keys whose cosignatures are checked; with `require_witness` the
    export's checkpoint must carry a valid cosignature by one of them.

    Raises:
        InputError: `directory` is not a directory, a file cannot be read, or a witness is
            required but no witness key given.
    """
    if not directory.is_dir():
        raise InputError(f"{directory} is not an export directory")
    if require_witness and not witnesses:
        raise InputError("a witness cosignature is required, but no witness key was given")
    report = VerificationReport(key=f"{verifier.name}+{verifier.key_id:08x}")
    report.witness_keys = list(dict.fromkeys(witness.key for witness in witnesses))
    run = _Verifier(directory, verifier, report, witnesses)
    checkpoint = run.open_checkpoint("checkpoint", "checkpoint")
    if checkpoint is None:
        return report
    if require_witness and not run.latest_cosignatures:
        report.fail(
            "witness",
            f"the export's checkpoint of size {checkpoint.size} carries no cosignature by a "
            f"known witness ({', '.join(report.witness_keys)})",
        )
    report.origin = checkpoint.origin
    report.size = checkpoint.size
    report.root_hash = checkpoint.root_hash
    run.size = checkpoint.size
    leaves = run.entries(checkpoint.size, require_legal_basis)
    run.levels = merkle.perfect_subtree_levels(leaves)
    run.tiles(checkpoint.size)
    root = run.root_at(checkpoint.size)
    if not hmac.compare_digest(root, checkpoint.root_hash):
        report.fail(
            "root",
            f"the {checkpoint.size} exported entries hash to {_short(root)}, but the signed "
            f"checkpoint says {_short(checkpoint.root_hash)}",
        )
    run.history()
    for label, receipt in receipts:
        run.receipt(label, receipt)
    for label, note in earlier_checkpoints:
        run.earlier(label, note, checkpoint.root_hash)
    return report
