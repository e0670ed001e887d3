"""`federation.config`: federation.toml, its schema's messages, and the writer of a new file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from crypto.errors import InputError
from federation.config import (
    FederationConfig,
    load_federation_config,
    render_federation_config,
    write_federation_config,
)
from node.config import KeySettings
from protocol.validation import HostPort

GOOD = """
[federation]
id = "gs-lyon"
listen = "0.0.0.0:7400"
endpoint = "gs.example.org:7400"
database = "data/federation.db"
directory_refresh_seconds = 120

[keys]
passphrase_env = "GS_PASSPHRASE"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "federation.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path: Path) -> None:
    assert load_federation_config(write(tmp_path, GOOD)) == FederationConfig(
        directory=tmp_path,
        id="gs-lyon",
        listen=HostPort("0.0.0.0", 7400),
        endpoint=HostPort("gs.example.org", 7400),
        database=tmp_path / "data" / "federation.db",
        keys=KeySettings(passphrase_env="GS_PASSPHRASE"),
        refresh_seconds=120,
    )


def test_defaults(tmp_path: Path) -> None:
    text = '[federation]\nid = "gs-lyon"\nendpoint = "gs:7400"\n[keys]\npassphrase_file = "p"\n'
    config = load_federation_config(write(tmp_path, text))
    assert (str(config.listen), config.database, config.refresh_seconds) == (
        "127.0.0.1:7400",
        tmp_path / "federation.db",
        300,
    )
    assert config.keys == KeySettings(passphrase_file=tmp_path / "p")


def test_render_then_load_and_never_replace(tmp_path: Path) -> None:
    config = load_federation_config(write(tmp_path, GOOD))
    text = render_federation_config(config)
    assert "# Members fetch the signed directory this often" in text
    assert tomllib.loads(text)["federation"]["database"] == "data/federation.db"
    target = tmp_path / "new.toml"
    write_federation_config(target, config)
    assert load_federation_config(target) == load_federation_config(write(tmp_path, text))
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(InputError, match="exists"):
        write_federation_config(target, config)


BAD_CASES = [
    ("unknown-table", "[keys]", "[key]", "key: unknown key (known keys here: federation, keys)"),
    (
        "unknown-key",
        "directory_refresh_seconds = 120",
        "refresh = 120",
        "federation.refresh: unknown key (known keys here: database, directory_refresh_seconds, "
        "endpoint, id, listen)",
    ),
    ("missing-table", '[keys]\npassphrase_env = "GS_PASSPHRASE"', "", "keys: missing table"),
    ("missing-id", 'id = "gs-lyon"', "", "federation.id: missing; expected a string"),
    ("bad-id", 'id = "gs-lyon"', 'id = "GS"', "federation.id: expected a node id"),
    ("bad-endpoint", '"gs.example.org:7400"', '"gs.example.org"', "federation.endpoint: expected"),
    (
        "endpoint-port-zero",
        '"gs.example.org:7400"',
        '"gs.example.org:0"',
        "federation.endpoint: expected a port from 1 to 65535",
    ),
    (
        "refresh-range",
        "directory_refresh_seconds = 120",
        "directory_refresh_seconds = 5",
        "federation.directory_refresh_seconds: expected an integer from 10 to 86400, got 5",
    ),
    (
        "refresh-type",
        "directory_refresh_seconds = 120",
        'directory_refresh_seconds = "120"',
        "federation.directory_refresh_seconds: expected an integer, got string '120'",
    ),
    (
        "two-sources",
        'passphrase_env = "GS_PASSPHRASE"',
        'passphrase_env = "GS_PASSPHRASE"\npassphrase_file = "p"',
        "keys: expected exactly one of passphrase_env",
    ),
    ("empty-path", 'database = "data/federation.db"', 'database = ""', "expected a file path"),
]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [pytest.param(old, new, message, id=case) for case, old, new, message in BAD_CASES],
)
def test_bad_input_names_file_and_key_path(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_federation_config(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text
