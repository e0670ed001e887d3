"""Reading import files: the mapping, CSV and JSON Lines rules, messages and rejects files."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest

from crypto.errors import InputError
from node.datasets.sources import (
    METADATA_FIELDS,
    RECORD_FIELDS,
    ImportMapping,
    RecordSource,
    SourceError,
    SourceRecord,
    load_mapping,
    open_source,
    parse_mapping,
)
from protocol.match_keys import parse_record

MAPPING = """
id = "REF"
delete = "ACTION"
[fields]
name = "FULL_NAME"
date_of_birth = "DOB"
document_number = "PASSPORT_NO"
document_issuing_country = "PASSPORT_COUNTRY"
[metadata]
person_status = "STATUS"
handling_code = "HCODE"
"""
HEADER = "REF,FULL_NAME,DOB,PASSPORT_NO,PASSPORT_COUNTRY,STATUS,HCODE,ACTION\n"


def mapping(text: str = MAPPING, name: str = "map.toml") -> ImportMapping:
    return parse_mapping(text, Path(name))


def read(path: Path, text: str | bytes, the_mapping: ImportMapping | None = None) -> RecordSource:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return open_source(path, the_mapping or mapping())


def items(source: RecordSource) -> list[SourceRecord | SourceError]:
    return list(source)


# ---------------------------------------------------------------------------------------------
# The mapping.
# ---------------------------------------------------------------------------------------------


def test_a_full_mapping_is_read() -> None:
    result = mapping()
    assert result.id_column == "REF"
    assert result.delete_column == "ACTION"
    assert result.fields["document_issuing_country"] == "PASSPORT_COUNTRY"
    assert result.metadata == {"person_status": "STATUS", "handling_code": "HCODE"}
    assert result.format is None
    assert result.delimiter == ","


def test_load_mapping_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(MAPPING, encoding="utf-8")
    assert load_mapping(path).fields["name"] == "FULL_NAME"
    with pytest.raises(InputError, match="cannot read mapping"):
        load_mapping(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('id = "A"\ncolumns = 1\n[fields]\nname = "N"', "map.toml: columns: unknown key"),
        ('[fields]\nname = "N"', "map.toml: id: missing"),
        ('id = ""\n[fields]\nname = "N"', "map.toml: id: expected a column name"),
        ('id = "A"\n[fields]\nnom = "N"', "map.toml: fields.nom: unknown record field"),
        ('id = "A"\n[fields]\nid = "N"', "fields.id: .*top-level key id"),
        ('id = "A"\n[fields]\nreference = "N"', "fields.reference: .*owner_reference"),
        ('id = "A"\n[fields]\nname = 3', "fields.name: expected a column name"),
        ('id = "A"\n[fields]', "map.toml: fields: map at least one"),
        ('id = "A"\n[fields]\nname = "N"\n[metadata]\nsecret = "S"', "metadata.secret: unknown"),
        ('id = "A"\nformat = "xml"\n[fields]\nname = "N"', "map.toml: format: expected"),
        ('id = "A"\ndelimiter = ";;"\n[fields]\nname = "N"', "delimiter: expected one"),
        (
            'id = "A"\nformat = "jsonl"\ndelimiter = ";"\n[fields]\nname = "N"',
            "only CSV input has a delimiter",
        ),
        ("id = [", "map.toml: not valid TOML"),
    ],
)
def test_mapping_errors_name_the_file_and_key(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        mapping(text)


def test_record_fields_are_exactly_what_parse_record_accepts() -> None:
    refusals = []
    for name in RECORD_FIELDS:
        try:
            parse_record({name: "x"})
        except InputError as error:
            refusals.append(str(error))
    assert not [message for message in refusals if "unknown field" in message]
    with pytest.raises(InputError, match="unknown field"):
        parse_record({"favourite_colour": "x"})
    assert not set(RECORD_FIELDS) & set(METADATA_FIELDS)


# ---------------------------------------------------------------------------------------------
# CSV.
# ---------------------------------------------------------------------------------------------


def test_csv_with_bom_quotes_empty_lines_and_a_multiline_field(tmp_path: Path) -> None:
    text = (
        "\ufeff"
        + HEADER
        + 'W1,"Dupont, Jeanne",1979-04-17,FR8XK27Q1,FRA,wanted,H2,\n'
        + "\n"
        + 'W2,"Jean\nMarie Leroy",1980,,,,,\n'
        + "W3,,,,,,,delete\n"
    )
    source = read(tmp_path / "in.csv", text)
    first, second, third = items(source)
    assert isinstance(first, SourceRecord)
    assert (first.line, first.record_id, first.delete) == (2, "W1", False)
    assert first.fields == {
        "name": "Dupont, Jeanne",
        "date_of_birth": "1979-04-17",
        "document_number": "FR8XK27Q1",
        "document_issuing_country": "FRA",
    }
    assert first.metadata == {"person_status": "wanted", "handling_code": "H2"}
    assert isinstance(second, SourceRecord)
    assert second.line == 4
    assert second.fields == {"name": "Jean\nMarie Leroy", "date_of_birth": "1980"}
    assert second.metadata == {}
    assert isinstance(third, SourceRecord)
    assert (third.line, third.record_id, third.delete) == (6, "W3", True)
    assert source.bytes_read == source.size


def test_csv_row_errors_name_their_line(tmp_path: Path) -> None:
    text = (
        HEADER
        + "W1,A B,1980,,,,\n"
        + 'W2,"A"B,1980,,,,,\n'
        + ",A,1980,,,,,\n"
        + "W4,A,,,,,,maybe\n"
    )
    found = items(read(tmp_path / "in.csv", text))
    assert found == [
        SourceError(2, "expected 8 fields as in the header, got 7"),
        SourceError(3, "not valid CSV: ',' expected after '\"'"),
        SourceError(4, "REF (id): the record id is empty"),
        SourceError(5, "ACTION (delete): expected \"delete\" or nothing, got 'maybe'"),
    ]


def test_invalid_utf8_names_the_line_and_the_rest_is_read(tmp_path: Path) -> None:
    data = (
        HEADER.encode() + b"W1,Ana,1980,,,,,\n" + b"W2,Jos\xe9,1980,,,,,\n" + b"W3,Eva,1990,,,,,\n"
    )
    found = items(read(tmp_path / "in.csv", data))
    assert isinstance(found[0], SourceRecord)
    assert isinstance(found[1], SourceError)
    assert found[1].line == 3
    assert "not valid UTF-8" in found[1].reason
    assert isinstance(found[2], SourceRecord)
    assert found[2].record_id == "W3"


def test_semicolon_delimiter(tmp_path: Path) -> None:
    the_mapping = mapping('delimiter = ";"\nid = "REF"\n[fields]\nname = "N"')
    (record,) = items(read(tmp_path / "in.csv", "REF;N\nW1;Ana Lopez\n", the_mapping))
    assert isinstance(record, SourceRecord)
    assert record.fields == {"name": "Ana Lopez"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("REF,FULL_NAME,ACTION\nW1,A,\n", "map.toml: fields.date_of_birth: column 'DOB' is not"),
        ("", "the file is empty"),
        (HEADER.replace("DOB", "REF"), "column 'REF' appears twice"),
    ],
)
def test_header_problems_stop_before_reading(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read(tmp_path / "in.csv", text)


def test_the_format_comes_from_the_extension_or_the_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot tell the format"):
        read(tmp_path / "in.txt", HEADER)
    forced = mapping('format = "csv"\n' + MAPPING)
    assert read(tmp_path / "in.txt", HEADER, forced).format == "csv"
    assert read(tmp_path / "in.ndjson", "").format == "jsonl"


# ---------------------------------------------------------------------------------------------
# JSON Lines.
# ---------------------------------------------------------------------------------------------


def test_json_lines(tmp_path: Path) -> None:
    lines = [
        {"REF": 7, "FULL_NAME": "Ana Lopez", "DOB": 1980, "STATUS": "wanted", "HCODE": 3},
        {"REF": "W8", "FULL_NAME": None, "PASSPORT_NO": "X1", "PASSPORT_COUNTRY": "ESP"},
        {"REF": "W9", "ACTION": "DELETE"},
    ]
    text = "\n".join(json.dumps(line) for line in lines[:2]) + "\n   \n" + json.dumps(lines[2])
    first, second, third = items(read(tmp_path / "in.jsonl", text))
    assert isinstance(first, SourceRecord)
    assert first.record_id == "7"
    assert first.fields == {"name": "Ana Lopez", "date_of_birth": 1980}
    assert first.metadata == {"person_status": "wanted", "handling_code": "3"}
    assert isinstance(second, SourceRecord)
    assert second.fields == {"document_number": "X1", "document_issuing_country": "ESP"}
    assert isinstance(third, SourceRecord)
    assert (third.line, third.delete) == (4, True)


def test_json_lines_errors(tmp_path: Path) -> None:
    text = (
        "[1, 2]\n"
        '{"REF": "A", "REF": "B"}\n'
        "{not json\n"
        '{"REF": true, "FULL_NAME": "X"}\n'
        '{"REF": "W1", "FULL_NAME": "X", "STATUS": ["a"]}\n'
    )
    found = items(read(tmp_path / "in.jsonl", text))
    assert all(isinstance(item, SourceError) for item in found)
    reasons = [item.reason for item in found if isinstance(item, SourceError)]
    assert reasons[0] == "expected a JSON object, got list"
    assert "appears twice" in reasons[1]
    assert reasons[2].startswith("not valid JSON")
    assert reasons[3] == "REF (id): expected a string, got bool"
    assert reasons[4] == "STATUS (person_status): expected text, got list"


# ---------------------------------------------------------------------------------------------
# Messages and rejects.
# ---------------------------------------------------------------------------------------------


def test_explain_names_the_input_column(tmp_path: Path) -> None:
    source = read(tmp_path / "in.csv", HEADER)
    assert source.where(12) == f"{tmp_path / 'in.csv'}:12"
    assert (
        source.explain("document_issuing_country: unknown code 'QQ'")
        == "PASSPORT_COUNTRY (document_issuing_country): unknown code 'QQ'"
    )
    assert source.explain("date_of_birth[1]: bad") == "DOB (date_of_birth[1]): bad"
    assert (
        source.explain("id: record id 'X' appears again") == "REF (id): record id 'X' appears again"
    )
    assert source.explain("REF (id): empty") == "REF (id): empty"
    assert source.explain("record: no identifying field") == "record: no identifying field"
    assert source.explain("no colon at all") == "no colon at all"


def test_csv_rejects_file(tmp_path: Path) -> None:
    text = HEADER + "W1,Ana,1980,,,,,\n" + 'W2,"Bob\nBy",1981,,,,,\n' + "W3,Eve,1982,,,,,\n"
    source = read(tmp_path / "in.csv", text)
    target = tmp_path / "rejects.csv"
    assert source.write_rejects(target, {3: "DOB (date_of_birth): bad", 99: "x"}) == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = list(csv.reader(target.open(encoding="utf-8", newline="")))
    assert rows[0] == [*HEADER.strip().split(","), "_line", "_reason"]
    assert rows[1] == ["W2", "Bob\nBy", "1981", "", "", "", "", "", "3", "DOB (date_of_birth): bad"]
    with pytest.raises(InputError, match="exists"):
        source.write_rejects(target, {})


def test_jsonl_rejects_file(tmp_path: Path) -> None:
    text = '{"REF": "W1", "FULL_NAME": "Ana"}\n{broken\n'
    source = read(tmp_path / "in.jsonl", text)
    target = tmp_path / "rejects.jsonl"
    assert source.write_rejects(target, {1: "bad name", 2: "not valid JSON"}) == 2
    first, second = (json.loads(line) for line in target.read_text(encoding="utf-8").splitlines())
    assert first == {"REF": "W1", "FULL_NAME": "Ana", "_line": 1, "_reason": "bad name"}
    assert second == {"_line": 2, "_reason": "not valid JSON", "_text": "{broken"}


def test_source_record_repr_hides_fields() -> None:
    record = SourceRecord(3, "W1", {"name": "Secret Person"}, {"person_status": "wanted"})
    assert "Secret" not in repr(record)
    assert "wanted" not in repr(record)


def test_rejects_keep_the_bytes_that_were_not_utf8(tmp_path: Path) -> None:
    # Latin-1 bytes in a UTF-8 file: the record is rejected, and the rejects file holds exactly
    # the bytes it had, not U+FFFD, so the operator can see and fix what the source system wrote.
    csv_data = HEADER.encode() + b"W1,Ana,1980,,,,,\n" + b"W2,Jos\xe9 M\xfcller,1980,,,,,\n"
    source = read(tmp_path / "in.csv", csv_data)
    (bad,) = [item for item in items(source) if isinstance(item, SourceError)]
    assert source.write_rejects(tmp_path / "rejects.csv", {bad.line: bad.reason}) == 1
    written = (tmp_path / "rejects.csv").read_bytes()
    assert b"W2,Jos\xe9 M\xfcller,1980,,,,,,3,not valid UTF-8" in written
    assert "\ufffd".encode() not in written

    jsonl_data = b'{"REF": "W1", "FULL_NAME": "Ana"}\n{"REF": "W2", "FULL_NAME": "Jos\xe9"}\n'
    source = read(tmp_path / "in.jsonl", jsonl_data)
    (bad,) = [item for item in items(source) if isinstance(item, SourceError)]
    assert source.write_rejects(tmp_path / "rejects.jsonl", {bad.line: bad.reason}) == 1
    written = (tmp_path / "rejects.jsonl").read_bytes()
    assert b'"FULL_NAME": "Jos\xe9"' in written
    assert "\ufffd".encode() not in written
