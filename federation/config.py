"""The coordinating node's configuration: one TOML file, `federation.toml`.

Schema (both tables are closed: a key not listed here is an error, so a typo never falls back
to a default silently):

```toml
[federation]
id = "gs-lyon"                    # the coordinating node's id (same form as a node id)
listen = "0.0.0.0:7400"           # HOST:PORT its gRPC server binds; port 0 = any free port
endpoint = "gs.example.org:7400"  # HOST:PORT members reach it at; published in the directory
database = "federation.db"        # SQLite file, relative to this file's directory
directory_refresh_seconds = 300   # how often members should fetch the directory (10..86400)

[keys]                            # exactly one of the two; the passphrase itself is never stored
passphrase_env = "GS_PASSPHRASE"
# passphrase_file = "/run/secrets/gs"   (relative paths: to this file's directory)
```

Decisions:

- `endpoint` is separate from `listen` because a server often binds a wildcard address or sits
  behind a load balancer; what members dial, and what the coordinating node's certificate must
  name, is the endpoint.
- The refresh interval is a suggestion the directory carries to members: a revoked member is
  refused by every member within about one interval after the next publication, so it is the
  federation's revocation latency.
- One passphrase protects the CA key, the identity key and the TLS key, as in a member node.
- Every error is an `InputError` reading `<file>: <key path>: <problem>`, like `node.toml`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from crypto.errors import InputError
from node.config import KeySettings, read_config_document, write_new_config_file
from protocol.directory import MAX_REFRESH_SECONDS, MIN_REFRESH_SECONDS
from protocol.validation import HostPort, check_env_variable, check_node_id, parse_host_port

__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_DATABASE",
    "DEFAULT_LISTEN",
    "DEFAULT_REFRESH_SECONDS",
    "FederationConfig",
    "load_federation_config",
    "render_federation_config",
    "write_federation_config",
]

CONFIG_FILE_NAME: Final = "federation.toml"
DEFAULT_DATABASE: Final = "federation.db"
DEFAULT_LISTEN: Final = "127.0.0.1:7400"
# Five minutes: a revocation reaches every member within minutes, at 195 small fetches per
# interval, which costs the coordinating node nothing.
DEFAULT_REFRESH_SECONDS: Final = 300
_MAX_CONFIG_SIZE: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class FederationConfig:
    """A whole `federation.toml`, with paths resolved against `directory`."""

    directory: Path
    id: str
    listen: HostPort
    endpoint: HostPort
    database: Path
    keys: KeySettings
    refresh_seconds: int = DEFAULT_REFRESH_SECONDS


class _Reader:
    """Typed getters over one TOML table that name `<file>: <table>.<key>` in their errors."""

    def __init__(self, file: Path, table: str, values: object) -> None:
        self.file = file
        self.table = table
        if not isinstance(values, dict):
            raise InputError(f"{file}: {table}: missing table, or not a table")
        self._values: dict[str, object] = values
        self._taken: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.file}: {self.table}.{key}"

    def string(self, key: str, default: str | None = None) -> str | None:
        self._taken.add(key)
        value = self._values.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise InputError(f"{self.where(key)}: expected a string, got {value!r}")
        return value

    def required_string(self, key: str) -> str:
        value = self.string(key)
        if value is None:
            raise InputError(f"{self.where(key)}: missing; expected a string")
        return value

    def integer(self, key: str, default: int, minimum: int, maximum: int) -> int:
        self._taken.add(key)
        value = self._values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{self.where(key)}: expected an integer, got {value!r}")
        if not minimum <= value <= maximum:
            raise InputError(
                f"{self.where(key)}: expected an integer from {minimum} to {maximum}, got {value}"
            )
        return value

    def close(self) -> None:
        unknown = sorted(set(self._values) - self._taken)
        if unknown:
            known = ", ".join(sorted(self._taken))
            raise InputError(f"{self.where(unknown[0])}: unknown key (known keys here: {known})")


def _path(text: str, where: str, directory: Path) -> Path:
    if not text or "\x00" in text:
        raise InputError(f"{where}: expected a file path, got {text!r}")
    return directory / text


def load_federation_config(path: Path) -> FederationConfig:
    """Read and check `federation.toml` at `path`; relative paths resolve against its directory.

    Raises:
        InputError: `<file>: <key path>: <problem>` for an unreadable file, invalid TOML, a
            missing or unknown key, or a value of the wrong type or out of range.
    """
    document = read_config_document(path, max_size=_MAX_CONFIG_SIZE, kind="configuration")
    unknown = sorted(set(document) - {"federation", "keys"})
    if unknown:
        raise InputError(f"{path}: {unknown[0]}: unknown table (known: federation, keys)")
    directory = path.absolute().parent
    table = _Reader(path, "federation", document.get("federation"))
    node_id = check_node_id(table.required_string("id"), table.where("id"))
    listen_text = table.string("listen", DEFAULT_LISTEN)
    endpoint_text = table.required_string("endpoint")
    database_text = table.string("database", DEFAULT_DATABASE)
    refresh = table.integer(
        "directory_refresh_seconds",
        DEFAULT_REFRESH_SECONDS,
        MIN_REFRESH_SECONDS,
        MAX_REFRESH_SECONDS,
    )
    table.close()
    assert listen_text is not None  # A default was given.
    assert database_text is not None
    listen = parse_host_port(listen_text, table.where("listen"), allow_port_zero=True)
    endpoint = parse_host_port(endpoint_text, table.where("endpoint"))
    database = _path(database_text, table.where("database"), directory)
    keys_table = _Reader(path, "keys", document.get("keys"))
    variable = keys_table.string("passphrase_env")
    file_text = keys_table.string("passphrase_file")
    keys_table.close()
    if (variable is None) == (file_text is None):
        raise InputError(
            f"{path}: keys: expected exactly one of passphrase_env (an environment variable "
            "name) and passphrase_file (a file path)"
        )
    if variable is not None:
        check_env_variable(variable, keys_table.where("passphrase_env"))
    file = (
        None
        if file_text is None
        else _path(file_text, keys_table.where("passphrase_file"), directory)
    )
    return FederationConfig(
        directory=directory,
        id=node_id,
        listen=listen,
        endpoint=endpoint,
        database=database,
        keys=KeySettings(passphrase_env=variable, passphrase_file=file),
        refresh_seconds=refresh,
    )


def _toml_string(value: str) -> str:
    """Return `value` as a TOML basic string, escaping quotes, backslashes and controls."""
    parts = ['"']
    for character in value:
        code = ord(character)
        if character in '"\\':
            parts.append("\\" + character)
        elif code < 0x20 or code == 0x7F:
            parts.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise InputError(f"cannot write {value!r} to TOML: it is not valid Unicode text")
        else:
            parts.append(character)
    parts.append('"')
    return "".join(parts)


def _relative(path: Path, directory: Path) -> str:
    # Paths inside the directory are written relative to it, so the directory can move whole.
    try:
        return _toml_string(path.relative_to(directory).as_posix())
    except ValueError:
        return _toml_string(str(path))


def render_federation_config(config: FederationConfig) -> str:
    """Return the TOML text of `config`; `load_federation_config` reads it back equal."""
    lines = [
        "# blindhit coordinating node. Paths are relative to this file's directory.",
        "",
        "[federation]",
        f"id = {_toml_string(config.id)}",
        f"listen = {_toml_string(str(config.listen))}",
        f"endpoint = {_toml_string(str(config.endpoint))}",
        f"database = {_relative(config.database, config.directory)}",
        "# Members fetch the signed directory this often; a revocation reaches them within it.",
        f"directory_refresh_seconds = {config.refresh_seconds}",
        "",
        "# Where the passphrase of the keys in ca/ and keys/ comes from; never the passphrase.",
        "[keys]",
    ]
    if config.keys.passphrase_env is not None:
        lines.append(f"passphrase_env = {_toml_string(config.keys.passphrase_env)}")
    if config.keys.passphrase_file is not None:
        lines.append(
            f"passphrase_file = {_relative(config.keys.passphrase_file, config.directory)}"
        )
    return "\n".join(lines) + "\n"


def write_federation_config(path: Path, config: FederationConfig) -> None:
    """Write `config` to the new file `path` (mode 0600); an existing file is never replaced.

    Raises:
        InputError: the file exists or cannot be written.
    """
    write_new_config_file(path, render_federation_config(config))
