"""Export an audit log as a self-contained bundle for auditors, in the C2SP tlog-tiles layout.

The bundle is a directory that existing transparency-log tooling can read as a static tiled log
(c2sp.org/tlog-tiles), plus what an auditor needs to verify it offline:

```
checkpoint                  the signed checkpoint the export is taken at (tlog-tiles "Checkpoints")
tile/<L>/<N>[.p/<W>]        hash tiles (tlog-tiles "Merkle Tree")
tile/entries/<N>[.p/<W>]    entry bundles (tlog-tiles "Log entries")
checkpoints/<size>          every checkpoint the node signed up to the export's size
consistency/<old size>      consistency proofs from earlier sizes an auditor named
export.json                 a description for people: origin, size, root, formats
```

Witness cosignatures (c2sp.org/tlog-cosignature) are written where that specification puts
them: as further signature lines of the checkpoint notes themselves. `checkpoint` and each
`checkpoints/<size>` hold the node's signature line first, then every cosignature line that a
witness returned for that size (`AuditLog.cosigned_checkpoints`), witnesses in name order. A
cosigned checkpoint is still a plain checkpoint to any tool that does not know the witness keys
(signed-note, "Signatures": unknown keys are ignored), so the layout stays a valid tlog-tiles
log, and the witness's statement stays attached to exactly the text it signed. `export.json`
lists which witnesses cosigned which sizes, for people; the verifier trusts only the keys the
auditor brings (`node.audit.verify`).

Tiles (tlog-tiles, "Merkle Tree"): a tile at level `L` holds up to 256 hashes of perfect
subtrees of height `8 * L`; the hash `i` of tile `N` is `MTH(D[(N*256+i) * 256**L : ...])`,
which is exactly the stored node `NodeId(8 * L, N * 256 + i)`, so tiles are read straight from
the log's node table, never recomputed. The rightmost tiles of a level are partial, `.p/<W>` with
`W = floor(size / 256**L) mod 256`; partial tiles are written for the export's size and for every
exported checkpoint's size, as the spec requires a log to serve them for each checkpoint.
`<N>` is written as zero-padded 3-digit path elements, all but the last prefixed with `x`.

Entry bundles hold the canonical entries as big-endian uint16 length-prefixed records
(tlog-tiles, "Log entries"); every entry is far shorter than 65,536 bytes (`MAX_ENTRY_SIZE`).

Nothing in the bundle is trusted by the verifier except through the node's public key, which the
auditor brings: `export.json` is informative only. The bundle is written to a temporary
directory beside the target and renamed into place, so an interrupted export leaves no partial
bundle under the requested name.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Final

from crypto.errors import CryptoError, InputError, StorageError
from crypto.signed_note import Checkpoint, Note, parse_note
from node.audit.entries import ENTRY_FORMAT_VERSION, MAX_ENTRY_SIZE
from node.audit.receipts import ConsistencyProof
from node.audit.store import AuditLog

__all__ = [
    "EXPORT_FORMAT",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "ExportSummary",
    "entry_bundle_path",
    "export_log",
    "index_path",
    "tile_counts",
    "tile_path",
]

EXPORT_FORMAT: Final = "blindhit-audit-export@v1"
TILE_HEIGHT: Final = 8
"""tlog-tiles: every tile spans 8 levels of the tree."""
TILE_WIDTH: Final = 1 << TILE_HEIGHT
"""tlog-tiles: a full tile holds 256 hashes (8,192 bytes), a full bundle 256 entries."""

# The uint16 length prefix of entry bundles must hold every entry.
assert MAX_ENTRY_SIZE < 1 << 16


def index_path(index: int) -> str:
    """Return a tile index as tlog-tiles path elements: 1234067 -> `x001/x234/067`."""
    if index < 0:
        raise InputError(f"expected a tile index >= 0, got {index}")
    elements = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        elements.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(elements))


def _width_suffix(width: int) -> str:
    if width == TILE_WIDTH:
        return ""
    if not 0 < width < TILE_WIDTH:
        raise InputError(f"expected a tile width in [1, {TILE_WIDTH}], got {width}")
    return f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """Return the relative path of hash tile `index` at tile level `level` with `width` hashes."""
    return f"tile/{level}/{index_path(index)}{_width_suffix(width)}"


def entry_bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    """Return the relative path of entry bundle `index` holding `width` entries."""
    return f"tile/entries/{index_path(index)}{_width_suffix(width)}"


def tile_counts(size: int) -> Iterator[tuple[int, int]]:
    """Yield `(tile level, hashes at that level)` for a tree of `size` leaves, lowest first.

    Tile level `L` holds `floor(size / 256**L)` hashes; levels holding none have no tile.
    """
    level = 0
    count = size
    while count:
        yield level, count
        level += 1
        count = size >> (TILE_HEIGHT * level)


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote."""

    directory: Path
    checkpoint: Checkpoint
    checkpoint_sizes: tuple[int, ...]
    consistency_from: tuple[int, ...]
    files: int
    cosigned: tuple[tuple[int, str], ...] = ()
    """`(size, witness name)` of every cosignature written, by size then witness."""


def _chunks(values: Iterable[bytes], width: int) -> Iterator[list[bytes]]:
    iterator = iter(values)
    while chunk := list(islice(iterator, width)):
        yield chunk


class _BundleWriter:
    """Writes files under the temporary export root, creating directories as needed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0
        self._made: set[Path] = set()

    def write(self, relative: str, data: bytes) -> None:
        path = self.root / relative
        parent = path.parent
        if parent not in self._made:
            parent.mkdir(parents=True, exist_ok=True)
            self._made.add(parent)
        path.write_bytes(data)
        self.files += 1

    def exists(self, relative: str) -> bool:
        return (self.root / relative).exists()


def _bundle(entries: Sequence[bytes]) -> bytes:
    return b"".join(len(entry).to_bytes(2, "big") + entry for entry in entries)


def _parse_own_checkpoint(note: str) -> Checkpoint:
    """Parse a checkpoint from the node's own table (its signature is checked by the verifier)."""
    try:
        return Checkpoint.from_body(parse_note(note).text)
    except CryptoError as exc:
        raise StorageError(f"a stored audit checkpoint is malformed: {exc}") from exc


def _with_cosignatures(size: int, note: str, cosigned: Sequence[tuple[str, str]]) -> str:
    """Return the node's checkpoint `note` of `size` with the witnesses' cosignature lines added.

    `cosigned` holds `(witness name, cosigned note)` pairs; each note must be this checkpoint
    (the same text), and its lines by that witness are copied after the existing ones.
    """
    if not cosigned:
        return note
    try:
        merged = parse_note(note)
        signatures = list(merged.signatures)
        for witness, cosigned_note in cosigned:
            parsed = parse_note(cosigned_note)
            if parsed.text != merged.text:
                raise StorageError(
                    f"the stored cosignature of size {size} by {witness!r} is for another "
                    "checkpoint text"
                )
            signatures += [
                line
                for line in parsed.signatures
                if line.key_name == witness and line not in signatures
            ]
        return Note(merged.text, tuple(signatures)).to_str()
    except CryptoError as exc:
        raise StorageError(f"cannot attach the cosignatures of size {size}: {exc}") from exc


def export_log(
    log: AuditLog,
    directory: Path,
    checkpoint_note: str,
    *,
    since_sizes: Sequence[int] = (),
) -> ExportSummary:
    """Write the log up to the checkpoint `checkpoint_note` as a bundle in `directory`.

    `since_sizes` are earlier tree sizes an auditor holds checkpoints for; a consistency proof
    from each to the export's size is added under `consistency/`.

    Raises:
        InputError: `directory` exists, or a requested size is not in `(0, size]`.
        StorageError: the checkpoint does not match the stored tree, or the log cannot be read.
    """
    if directory.exists():
        raise InputError(f"{directory} exists; give a new directory for the export")
    checkpoint = _parse_own_checkpoint(checkpoint_note)
    size = checkpoint.size
    if size > log.size:
        raise StorageError(f"checkpoint of size {size} is larger than the log ({log.size})")
    root = log.root_hash(size)
    if root != checkpoint.root_hash:
        raise StorageError(
            f"the stored tree of size {size} has root {root.hex()}, but its checkpoint says "
            f"{checkpoint.root_hash.hex()}"
        )
    for old_size in since_sizes:
        if not 0 < old_size <= size:
            raise InputError(f"expected an earlier tree size in (0, {size}], got {old_size}")
    history = [(s, note) for s, note in log.checkpoints() if s <= size]
    cosignatures: dict[int, list[tuple[str, str]]] = {}
    for cosigned_size, witness, cosigned_note in log.cosigned_checkpoints(size):
        cosignatures.setdefault(cosigned_size, []).append((witness, cosigned_note))
    written = tuple(
        (cosigned_size, witness)
        for cosigned_size, pairs in sorted(cosignatures.items())
        if cosigned_size in {size, *(s for s, _ in history)}
        for witness, _ in pairs
    )
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as exc:
        raise InputError(f"cannot create the export beside {directory}: {exc}") from exc
    try:
        writer = _BundleWriter(temporary)
        _write_tiles(log, writer, size)
        for historical_size, _ in history:
            _write_partial_tiles(log, writer, historical_size)
        latest = _with_cosignatures(size, checkpoint_note, cosignatures.get(size, []))
        writer.write("checkpoint", latest.encode("utf-8"))
        for historical_size, note in history:
            merged = _with_cosignatures(
                historical_size, note, cosignatures.get(historical_size, [])
            )
            writer.write(f"checkpoints/{historical_size}", merged.encode("utf-8"))
        for old_size in sorted(set(since_sizes)):
            proof = ConsistencyProof(
                old_size, size, tuple(log.consistency_proof(old_size, size)), checkpoint_note
            )
            writer.write(f"consistency/{old_size}", proof.to_text().encode("utf-8"))
        description = {
            "format": EXPORT_FORMAT,
            "origin": checkpoint.origin,
            "size": size,
            "root_hash": base64.b64encode(checkpoint.root_hash).decode("ascii"),
            "entry_format_version": ENTRY_FORMAT_VERSION,
            "entry_encoding": "version byte 0x01, then canonical JSON (sorted keys, no spaces)",
            "tiles": "c2sp.org/tlog-tiles",
            "checkpoints": [s for s, _ in history],
            "consistency_from": sorted(set(since_sizes)),
            "cosignatures": "c2sp.org/tlog-cosignature lines on checkpoint and checkpoints/<size>",
            "cosigned": {
                str(cosigned_size): [w for s, w in written if s == cosigned_size]
                for cosigned_size in sorted({s for s, _ in written})
            },
        }
        writer.write("export.json", (json.dumps(description, indent=2) + "\n").encode("utf-8"))
        os.rename(temporary, directory)
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise InputError(f"cannot write the export to {directory}: {exc}") from exc
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return ExportSummary(
        directory,
        checkpoint,
        tuple(s for s, _ in history),
        tuple(sorted(set(since_sizes))),
        writer.files,
        written,
    )


def _write_tiles(log: AuditLog, writer: _BundleWriter, size: int) -> None:
    """Write every full tile and bundle of a tree of `size` leaves, and its partial ones."""
    for level, count in tile_counts(size):
        hashes = log.iter_level(TILE_HEIGHT * level, 0, count)
        for number, chunk in enumerate(_chunks(hashes, TILE_WIDTH)):
            writer.write(tile_path(level, number, len(chunk)), b"".join(chunk))
    entries = log.iter_entry_bytes(0, size)
    for number, chunk in enumerate(_chunks(entries, TILE_WIDTH)):
        writer.write(entry_bundle_path(number, len(chunk)), _bundle(chunk))


def _write_partial_tiles(log: AuditLog, writer: _BundleWriter, size: int) -> None:
    """Write the partial tiles and bundle that a checkpoint of `size` needs, if not written yet."""
    for level, count in tile_counts(size):
        number, width = divmod(count, TILE_WIDTH)
        if not width:
            continue
        relative = tile_path(level, number, width)
        if not writer.exists(relative):
            start = number * TILE_WIDTH
            hashes = log.iter_level(TILE_HEIGHT * level, start, start + width)
            writer.write(relative, b"".join(hashes))
    number, width = divmod(size, TILE_WIDTH)
    if width and not writer.exists(entry_bundle_path(number, width)):
        start = number * TILE_WIDTH
        entries = list(log.iter_entry_bytes(start, start + width))
        writer.write(entry_bundle_path(number, width), _bundle(entries))
