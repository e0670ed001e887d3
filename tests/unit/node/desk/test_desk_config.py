"""`[desk]` in node.toml: defaults, a port of its own, closed keys, and a round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto.errors import InputError
from node.config import (
    DEFAULT_DESK_MAX_INDEX_AGE,
    DEFAULT_DESK_SYNC_INTERVAL,
    DeskSettings,
    load_config,
    render_config,
)
from node.desk.checks import DEFAULT_MAX_INDEX_AGE, DEFAULT_SYNC_INTERVAL
from protocol.validation import HostPort

BASE = """
[node]
id = "fr-ct"
country = "FRA"
listen = "127.0.0.1:7443"

[keys]
passphrase_env = "BLINDHIT_PASSPHRASE"
"""


def _load(tmp_path: Path, desk: str) -> DeskSettings | None:
    path = tmp_path / "node.toml"
    path.write_text(BASE + desk, encoding="utf-8")
    return load_config(path).desk


def test_no_desk_table_means_no_desk(tmp_path: Path) -> None:
    assert _load(tmp_path, "") is None


def test_an_empty_desk_table_takes_the_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path, "[desk]\n") == DeskSettings(
        HostPort("127.0.0.1", 7480), DEFAULT_DESK_SYNC_INTERVAL, DEFAULT_DESK_MAX_INDEX_AGE
    )
    # The configuration repeats the desk's own defaults so as not to import it.
    assert (DEFAULT_DESK_SYNC_INTERVAL, DEFAULT_DESK_MAX_INDEX_AGE) == (
        DEFAULT_SYNC_INTERVAL,
        DEFAULT_MAX_INDEX_AGE,
    )


def test_every_key_is_read(tmp_path: Path) -> None:
    desk = '[desk]\nlisten = "[::1]:0"\nsync_interval = 2.5\nmax_index_age = 60\n'
    assert _load(tmp_path, desk) == DeskSettings(HostPort("::1", 0), 2.5, 60.0)


@pytest.mark.parametrize(
    ("desk", "message"),
    [
        ('[desk]\nlisten = "127.0.0.1:7443"\n', r"desk\.listen: port 7443 is the peer-facing"),
        ("[desk]\nport = 7480\n", r"desk\.port"),
        ("[desk]\nsync_interval = 0\n", r"desk\.sync_interval: expected seconds above 0"),
        ('[desk]\nmax_index_age = "5m"\n', r"desk\.max_index_age: expected a number of seconds"),
        ('[desk]\nlisten = "localhost"\n', r"desk\.listen"),
    ],
)
def test_a_bad_desk_table_names_its_key(tmp_path: Path, desk: str, message: str) -> None:
    with pytest.raises(InputError, match=r"node\.toml: " + message):
        _load(tmp_path, desk)


def test_render_then_load_keeps_the_desk(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(BASE + '[desk]\nlisten = "127.0.0.1:0"\nsync_interval = 3.0\n', "utf-8")
    config = load_config(path)
    again = tmp_path / "again" / "node.toml"
    again.parent.mkdir()
    again.write_text(render_config(config), encoding="utf-8")
    assert load_config(again).desk == config.desk == DeskSettings(HostPort("127.0.0.1", 0), 3.0)
