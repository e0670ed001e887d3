"""Reading records to import: CSV or JSON Lines, turned into record fields by a mapping file.

A mapping is a small TOML file that says which input column holds what:

```toml
format = "csv"            # or "jsonl"; by default from the file extension
delimiter = ";"           # CSV only, default ","
id = "REF"                # the column holding the record id (required)
delete = "ACTION"         # optional: a column whose value "delete" removes the record
[fields]                  # record field -> input column (`protocol.match_keys.records`)
name = "FULL_NAME"
date_of_birth = "DOB"
document_number = "PASSPORT_NO"
document_issuing_country = "PASSPORT_COUNTRY"
[metadata]                # stored with the record; only an approved disclosure releases
person_status = "STATUS"  # person_status, notice_type and warning_markers
notice_type = "NOTICE"
warning_markers = "WARNINGS"
owner_reference = "FILE_REF"
handling_code = "HCODE"
```

The mapping itself is checked first: an unknown key, an unknown record field or metadata name,
or a column that the CSV header lacks is an `InputError` naming the mapping file and the key.

Then `RecordSource` yields, per input record, a `SourceRecord` (its line, record id, record fields,
metadata, and whether it is a deletion) or a `SourceError` (its line and why it cannot be read).
Keys are derived and validated later (`node.datasets.build`); `RecordSource.explain` turns the field
names in those messages back into the input's column names, so an operator reads
`data.csv:12: PASSPORT_COUNTRY (document_issuing_country): unknown ... country code 'QQ'`.

Input rules:

- UTF-8 only. A byte-order mark at the start is skipped. A line that is not valid UTF-8 is an
  error naming that line (decoding goes line by line, so one bad line does not hide the others,
  and CSV quoting still finds the right record boundaries). Such a line is decoded with Python's
  `surrogateescape` handler, which keeps each undecodable byte as a lone surrogate, and the rejects
  file is encoded the same way, so a rejected record keeps its original bytes there.
- CSV: the first non-empty row is the header (names stripped of surrounding blanks, no
  duplicates); quoting follows RFC 4180 as Python's `csv` reads it (strict mode: a stray quote
  is an error, not a guess), so a quoted field may span lines, and a record's line is the line
  it starts on. Empty lines are skipped. A row with more or fewer fields than the header is an
  error.
- JSON Lines: one JSON object per line; keys are the columns. Blank lines are skipped. Values
  keep their JSON types (a list of aliases stays a list); `null` counts as absent.
- Empty values are absent, as in `protocol.match_keys.records`. A record id is a non-empty string
  (or an integer in JSON) of at most 256 characters without control characters; metadata values
  are text (numbers are turned into text), at most 1024 characters.

With `--skip-invalid`, rejected input is written back by `write_rejects`, in the input's format,
with two more columns (keys) `_line` and `_reason`; the mapping ignores unmapped columns, so the
file can be corrected and imported again (bytes that were not UTF-8 are written back as they
were, for the operator to find). It holds record data, so it is created with mode 0600
and never replaces an existing file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Final, Literal, Self

from pydantic import AfterValidator, Field, PlainValidator, model_validator

from crypto.errors import InputError
from node.tomlfile import Problem, Schema, choice, parse_text, read_document, validate
from protocol.validation import shown

__all__ = [
    "METADATA_FIELDS",
    "RECORD_FIELDS",
    "ImportMapping",
    "RecordSource",
    "SourceError",
    "SourceRecord",
    "create_private_file",
    "load_mapping",
    "open_source",
    "parse_mapping",
]

RECORD_FIELDS: Final = (
    "name", "family_name", "given_names", "aliases", "date_of_birth", "sex", "nationalities",
    "nationality", "place_of_birth", "documents", "document_type", "document_number",
    "document_issuing_country", "accounts", "iban", "account_number", "bank_id", "vehicles",
    "vin", "plate", "plate_country", "phones", "phone", "emails", "email", "dna",
)  # fmt: skip
"""The record fields a mapping may fill: the keyable fields of `protocol.match_keys.records`.

`id` is the mapping's own `id` key; `reference` is not offered, because a reference belongs in
the metadata (`owner_reference`), which never reaches key derivation.
"""

METADATA_FIELDS: Final = (
    "person_status", "notice_type", "warning_markers", "owner_reference", "handling_code",
)  # fmt: skip
"""Record-level metadata an import stores with each record. Only an approved disclosure releases
any of it (person status, notice type, warning markers; `protocol.disclosure.RELEASED_METADATA`);
the owner's reference and handling code never leave the node."""

Format = Literal["csv", "jsonl"]

_EXTENSIONS: Final[Mapping[str, Format]] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_MAX_MAPPING_SIZE: Final = 1024 * 1024
_MAX_ID_LENGTH: Final = 256
_MAX_METADATA_LENGTH: Final = 1024
_BOM: Final = b"\xef\xbb\xbf"
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_FIELD_ROOT: Final = re.compile(r"[.\[]")
_DELETE_WORD: Final = "delete"
_UPSERT_WORDS: Final = frozenset({"", "upsert"})
_REJECT_LINE: Final = "_line"
_REJECT_REASON: Final = "_reason"
_REJECT_TEXT: Final = "_text"


@dataclass(frozen=True)
class ImportMapping:
    """A checked mapping file: which column holds the id, each record field and metadata."""

    path: Path
    format: Format | None
    delimiter: str
    id_column: str
    delete_column: str | None
    fields: Mapping[str, str]
    """Record field -> input column."""
    metadata: Mapping[str, str]
    """Metadata name -> input column."""

    def columns(self) -> list[tuple[str, str]]:
        """Every `(mapping key, column)` pair, for checking them against a header."""
        pairs = [("id", self.id_column)]
        if self.delete_column is not None:
            pairs.append(("delete", self.delete_column))
        pairs += [(f"fields.{name}", column) for name, column in self.fields.items()]
        pairs += [(f"metadata.{name}", column) for name, column in self.metadata.items()]
        return pairs


@dataclass(frozen=True, repr=False)
class SourceRecord:
    """One input record: where it starts, its id, record fields and metadata (or a deletion)."""

    line: int
    record_id: str
    fields: Mapping[str, object] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    delete: bool = False

    def __repr__(self) -> str:
        # Record fields and metadata are sensitive; a repr names only the line and the id.
        return f"SourceRecord(line={self.line}, record_id={self.record_id!r})"


@dataclass(frozen=True)
class SourceError:
    """An input record that cannot be read, and why (without the file name)."""

    line: int
    reason: str


def _column(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Problem(f"expected a column name (a non-empty string), got {shown(value)}")
    return value.strip()


def _known_name(known: tuple[str, ...], what: str, hints: Mapping[str, str]) -> AfterValidator:
    def check(name: str) -> str:
        if name not in known:
            hint = hints.get(name, "")
            raise Problem(f"unknown {what}{hint} (expected one of {', '.join(known)})")
        return name

    return AfterValidator(check)


def _delimiter(value: object) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in '"\r\n':
        raise Problem(f"expected one character other than a quote or newline, got {shown(value)}")
    return value


_Column = Annotated[str, PlainValidator(_column)]
_FIELD_HINTS: Final = {
    "id": "; the record id column is the top-level key id",
    "reference": "; put a reference in [metadata] as owner_reference",
}


class _MappingFile(Schema):
    format: (
        Annotated[Format, choice({"csv": "csv", "jsonl": "jsonl"}, '"csv" or "jsonl"')] | None
    ) = None
    delimiter: Annotated[str, PlainValidator(_delimiter)] = ","
    id: _Column = Field(description="the name of the column that holds the record id")
    delete: _Column | None = None
    fields: dict[
        Annotated[str, _known_name(RECORD_FIELDS, "record field", _FIELD_HINTS)], _Column
    ] = Field(default_factory=dict)
    metadata: dict[Annotated[str, _known_name(METADATA_FIELDS, "metadata name", {})], _Column] = (
        Field(default_factory=dict)
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if "delimiter" in self.model_fields_set and self.format == "jsonl":
            raise Problem("only CSV input has a delimiter", "delimiter")
        if not self.fields:
            raise Problem("map at least one record field to a column", "fields")
        return self


def _checked_mapping(document: dict[str, Any], path: Path) -> ImportMapping:
    mapping = validate(_MappingFile, document, path)
    return ImportMapping(
        path,
        mapping.format,
        mapping.delimiter,
        mapping.id,
        mapping.delete,
        mapping.fields,
        mapping.metadata,
    )


def parse_mapping(text: str, path: Path) -> ImportMapping:
    """Check the TOML text of a mapping file; `path` names it in errors."""
    return _checked_mapping(parse_text(text, path), path)


def load_mapping(path: Path) -> ImportMapping:
    """Read and check a mapping file (see the module docstring)."""
    document = read_document(path, max_size=_MAX_MAPPING_SIZE, kind="mapping file", name="mapping")
    return _checked_mapping(document, path)


class _BadValue(Exception):
    """A column value that cannot be used; the message names the column."""


def _record_id(value: object, column: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _BadValue(f"{column} (id): expected a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise _BadValue(f"{column} (id): the record id is empty")
    if len(text) > _MAX_ID_LENGTH or _CONTROL.search(text):
        raise _BadValue(
            f"{column} (id): expected at most {_MAX_ID_LENGTH} characters without control "
            "characters"
        )
    return text


def _metadata_value(value: object, column: str, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _BadValue(f"{column} ({name}): expected text, got {type(value).__name__}")
    text = value.strip()
    if len(text) > _MAX_METADATA_LENGTH:
        raise _BadValue(f"{column} ({name}): longer than {_MAX_METADATA_LENGTH} characters")
    return text or None


def _is_deletion(action: object, column: str) -> bool:
    word = "" if action is None else str(action).strip().casefold()
    if word == _DELETE_WORD:
        return True
    if word not in _UPSERT_WORDS:
        raise _BadValue(f'{column} (delete): expected "delete" or nothing, got {action!r}')
    return False


def _is_absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class RecordSource:
    """The records of one input file, read with one mapping (see the module docstring).

    Iterate to read (each iteration reads the file again); `bytes_read` and `size` tell the
    progress of the current iteration.
    """

    def __init__(self, path: Path, mapping: ImportMapping, file_format: Format) -> None:
        self.path = path
        self.mapping = mapping
        self.format: Format = file_format
        self.bytes_read = 0
        try:
            self.size = path.stat().st_size
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
        self._header: list[str] | None = None
        if file_format == "csv":
            self._header = self._read_header()

    def where(self, line: int) -> str:
        """`FILE:LINE`, the prefix of every message about one record."""
        return f"{self.path}:{line}"

    def explain(self, reason: str) -> str:
        """Name the input column of the record field a message starts with, if it is mapped."""
        head, separator, rest = reason.partition(": ")
        if not separator:
            return reason
        root = _FIELD_ROOT.split(head, maxsplit=1)[0]
        column = self.mapping.fields.get(root)
        if root == "id":
            column = self.mapping.id_column
        if column is None or head.startswith(f"{column} ("):
            return reason
        return f"{column} ({head}): {rest}"

    # -----------------------------------------------------------------------------------------
    # Physical lines.
    # -----------------------------------------------------------------------------------------

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def _lines(self, handle: BinaryIO, bad: dict[int, str]) -> Iterator[str]:
        """Decoded physical lines; undecodable ones are noted in `bad` and decoded byte-exactly."""
        self.bytes_read = 0
        for number, raw in enumerate(handle, start=1):
            self.bytes_read += len(raw)
            data = raw[len(_BOM) :] if number == 1 and raw.startswith(_BOM) else raw
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad[number] = (
                    f"not valid UTF-8 (byte {exc.start + 1} of the line); save the file as UTF-8"
                )
                # Kept reversible (see the module doc): the line is rejected, and written back
                # to the rejects file with the bytes it had.
                yield data.decode("utf-8", "surrogateescape")

    # -----------------------------------------------------------------------------------------
    # CSV.
    # -----------------------------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[tuple[int, list[str] | None, str | None]]:
        """`(start line, fields, problem)` of each non-empty CSV row, the header included."""
        bad: dict[int, str] = {}
        with self._open() as handle:
            reader = csv.reader(
                self._lines(handle, bad), delimiter=self.mapping.delimiter, strict=True
            )
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield start, None, f"not valid CSV: {exc}"
                    continue
                problems = [bad.pop(n) for n in range(start, reader.line_num + 1) if n in bad]
                if not row or (len(row) == 1 and not row[0].strip() and not problems):
                    continue
                yield start, row, problems[0] if problems else None

    def _read_header(self) -> list[str]:
        for line, row, problem in self._csv_rows():
            if problem is not None or row is None:
                raise InputError(f"{self.where(line)}: cannot read the header: {problem}")
            header = [name.strip() for name in row]
            seen: dict[str, int] = {}
            for position, name in enumerate(header):
                if name in seen:
                    raise InputError(
                        f"{self.where(line)}: column {name!r} appears twice in the header "
                        f"(columns {seen[name] + 1} and {position + 1})"
                    )
                seen[name] = position
            for key, column in self.mapping.columns():
                if column not in seen:
                    raise InputError(
                        f"{self.mapping.path}: {key}: column {column!r} is not in the header "
                        f"of {self.path} (columns: {', '.join(header)})"
                    )
            return header
        raise InputError(f"{self.path}: the file is empty; a CSV file needs a header row")

    def _iter_csv(self) -> Iterator[SourceRecord | SourceError]:
        header = self._header
        assert header is not None
        positions = {name: index for index, name in enumerate(header)}
        rows = self._csv_rows()
        next(rows)  # The header, checked when the source was opened.
        for line, row, problem in rows:
            if problem is not None or row is None:
                yield SourceError(line, problem or "not valid CSV")
                continue
            if len(row) != len(header):
                yield SourceError(
                    line, f"expected {len(header)} fields as in the header, got {len(row)}"
                )
                continue
            yield self._record(line, {name: row[index] for name, index in positions.items()})

    # -----------------------------------------------------------------------------------------
    # JSON Lines.
    # -----------------------------------------------------------------------------------------

    def _json_lines(self) -> Iterator[tuple[int, str, str | None]]:
        """`(line, text, problem)` of each non-blank line."""
        bad: dict[int, str] = {}
        with self._open() as handle:
            for number, text in enumerate(self._lines(handle, bad), start=1):
                if text.strip():
                    yield number, text, bad.pop(number, None)

    def _iter_jsonl(self) -> Iterator[SourceRecord | SourceError]:
        for line, text, problem in self._json_lines():
            if problem is not None:
                yield SourceError(line, problem)
                continue
            try:
                value = json.loads(text, object_pairs_hook=_unique_keys)
            except ValueError as exc:
                yield SourceError(line, f"not valid JSON: {exc}")
                continue
            if not isinstance(value, dict):
                yield SourceError(line, f"expected a JSON object, got {type(value).__name__}")
                continue
            yield self._record(line, value)

    # -----------------------------------------------------------------------------------------
    # Records.
    # -----------------------------------------------------------------------------------------

    def _record(self, line: int, columns: Mapping[str, Any]) -> SourceRecord | SourceError:
        mapping = self.mapping
        try:
            record_id = _record_id(columns.get(mapping.id_column), mapping.id_column)
            if mapping.delete_column is not None and _is_deletion(
                columns.get(mapping.delete_column), mapping.delete_column
            ):
                return SourceRecord(line, record_id, delete=True)
            metadata: dict[str, str] = {}
            for name, column in mapping.metadata.items():
                value = _metadata_value(columns.get(column), column, name)
                if value is not None:
                    metadata[name] = value
        except _BadValue as exc:
            return SourceError(line, str(exc))
        fields = {
            name: columns[column]
            for name, column in mapping.fields.items()
            if not _is_absent(columns.get(column))
        }
        return SourceRecord(line, record_id, fields, metadata)

    def __iter__(self) -> Iterator[SourceRecord | SourceError]:
        if self.format == "csv":
            return self._iter_csv()
        return self._iter_jsonl()

    # -----------------------------------------------------------------------------------------
    # Rejects.
    # -----------------------------------------------------------------------------------------

    def write_rejects(self, target: Path, rejections: Mapping[int, str]) -> int:
        """Write the input records that start on the lines of `rejections`, with the reasons.

        Returns how many were written. The file is created with mode 0600 and must not exist.
        """
        handle = create_private_file(target)
        written = 0
        with handle:
            if self.format == "csv":
                assert self._header is not None
                writer = csv.writer(handle, delimiter=self.mapping.delimiter, lineterminator="\n")
                writer.writerow([*self._header, _REJECT_LINE, _REJECT_REASON])
                rows = self._csv_rows()
                next(rows)
                for line, row, _ in rows:
                    if line in rejections:
                        fields = row if row is not None else [""] * len(self._header)
                        writer.writerow([*fields, line, rejections[line]])
                        written += 1
            else:
                for line, text, _ in self._json_lines():
                    if line not in rejections:
                        continue
                    try:
                        value = json.loads(text)
                    except ValueError:
                        value = None
                    if isinstance(value, dict):
                        value.update({_REJECT_LINE: line, _REJECT_REASON: rejections[line]})
                    else:
                        value = {
                            _REJECT_LINE: line,
                            _REJECT_REASON: rejections[line],
                            _REJECT_TEXT: text.rstrip("\r\n"),
                        }
                    handle.write(json.dumps(value, ensure_ascii=False) + "\n")
                    written += 1
        return written


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def create_private_file(path: Path) -> io.TextIOWrapper:
    """Create `path` for writing UTF-8 text with mode 0600; an existing file is an error.

    Lone surrogates from `surrogateescape` decoding are written back as the bytes they stand for.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(f"{path} exists; choose a new file name (it is never replaced)") from exc
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror or exc}") from exc
    return io.TextIOWrapper(
        os.fdopen(descriptor, "wb"), encoding="utf-8", errors="surrogateescape", newline=""
    )


def open_source(path: Path, mapping: ImportMapping) -> RecordSource:
    """Open an input file with `mapping`; for CSV, its header is read and checked at once.

    Raises:
        InputError: the format cannot be told, the file cannot be read, or its header lacks a
            mapped column.
    """
    chosen = mapping.format or _EXTENSIONS.get(path.suffix.lower())
    if chosen is None:
        raise InputError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; set "
            f'format = "csv" or "jsonl" in {mapping.path}'
        )
    if chosen == "jsonl" and mapping.delimiter != ",":
        raise InputError(f"{mapping.path}: delimiter: only CSV input has a delimiter")
    return RecordSource(path, mapping, chosen)
