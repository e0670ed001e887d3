"""`blindhit keys`, run in-process through `cli.main.main`."""

from __future__ import annotations

import io
import json

import pytest

from cli.main import EXIT_ERROR, main
from protocol.match_keys import KeyKind, MatchKey, Strength, oprf_input


def test_keys_from_argument(capsys: pytest.CaptureFixture[str]) -> None:
    record = {"name": "أسامة بن لادن", "date_of_birth": "1957-03-10"}
    assert main(["keys", json.dumps(record, ensure_ascii=False)]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["profile"] == "v1"
    assert output["warnings"] == []
    kinds = {entry["kind"] for entry in output["keys"]}
    assert {"name_dob", "name_yob", "skeleton_dob", "skeleton_yob"} <= kinds
    keys = output["keys"]
    assert {"kind": "skeleton_dob", "strength": "weak", "value": "ltn sm|1957-03-10"} in keys
    assert {"kind": "phonetic_dob", "strength": "medium", "value": "ltn usme|1957-03-10"} in keys


def test_keys_from_stdin_with_profile_and_dataset(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"email": "Ana@Example.org"}'))
    assert main(["keys", "--profile", "v1", "--dataset", "fiu"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["keys"]
    key = MatchKey(KeyKind.EMAIL, Strength.STRONG, "ana@example.org")
    assert entry["oprf_input"] == oprf_input("v1", "fiu", key).hex()


def test_warnings_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", '{"name": "Samir Haddad", "date_of_birth": "1979-01-01"}']) == 0
    (warning,) = json.loads(capsys.readouterr().out)["warnings"]
    assert warning == {
        "field": "date_of_birth",
        "code": "placeholder_date",
        "message": "1979-01-01 is a common placeholder: keyed as the year only",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["keys", "{bad"], "blindhit: record: not valid JSON (Expecting property name"),
        (["keys", "[1, 2]"], "blindhit: record: expected a JSON object, got list"),
        (["keys", '{"name": "A B", "shoe_size": 44}'], "blindhit: shoe_size: unknown field"),
        (
            ["keys", '{"name": "A B", "date_of_birth": "1957-02-30"}'],
            "blindhit: date_of_birth: 1957-02 has no day 30",
        ),
        (["keys", "--profile", "v0", "{}"], "blindhit: profile: unknown keying profile 'v0'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)
    assert captured.err.count("\n") == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_record_on_a_terminal_is_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal())
    assert main(["keys"]) == EXIT_ERROR
    assert capsys.readouterr().err == (
        "blindhit: record: give a JSON object as the argument or on standard input\n"
    )


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["keys", "--help"])
    assert exited.value.code == 0
    assert "Example:" in capsys.readouterr().out
