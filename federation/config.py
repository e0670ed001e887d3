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
- Every error is an `InputError` reading `<file>: <key path>: <problem>`, like `node.toml`'s:
  the file is checked against a strict, closed schema of `node.tomlfile` (which says why
  pydantic), and `[keys]` is the same table as in node.toml (`node.config.KeysTable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Final

import tomlkit
from pydantic import AfterValidator

from federation.defaults import DEFAULT_LISTEN, DEFAULT_REFRESH_SECONDS
from node.config import FilePath, KeySettings, KeysTable
from node.tomlfile import (
    Schema,
    create_file,
    from_text,
    int_range,
    problem_of,
    read_document,
    to_item,
    validate,
)
from protocol.directory import MAX_REFRESH_SECONDS, MIN_REFRESH_SECONDS
from protocol.validation import HostPort, check_node_id, parse_host_port

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


class _FederationTable(Schema):
    id: Annotated[str, AfterValidator(problem_of(check_node_id))]
    listen: Annotated[
        HostPort, from_text(problem_of(partial(parse_host_port, allow_port_zero=True)))
    ] = parse_host_port(DEFAULT_LISTEN, "listen")
    endpoint: Annotated[HostPort, from_text(problem_of(parse_host_port))]
    database: FilePath = DEFAULT_DATABASE
    directory_refresh_seconds: Annotated[
        int, int_range(MIN_REFRESH_SECONDS, MAX_REFRESH_SECONDS)
    ] = DEFAULT_REFRESH_SECONDS


class _FederationFile(Schema):
    federation: _FederationTable
    keys: KeysTable


def load_federation_config(path: Path) -> FederationConfig:
    """Read and check `federation.toml` at `path`; relative paths resolve against its directory.

    Raises:
        InputError: `<file>: <key path>: <problem>` for an unreadable file, invalid TOML, a
            missing or unknown key, or a value of the wrong type or out of range.
    """
    document = read_document(
        path, max_size=_MAX_CONFIG_SIZE, kind="configuration", name="configuration"
    )
    file = validate(_FederationFile, document, path)
    directory = path.absolute().parent
    table = file.federation
    return FederationConfig(
        directory=directory,
        id=table.id,
        listen=table.listen,
        endpoint=table.endpoint,
        database=directory / table.database,
        keys=file.keys.settings(directory),
        refresh_seconds=table.directory_refresh_seconds,
    )


def _relative(path: Path, directory: Path) -> str:
    # Paths inside the directory are written relative to it, so the directory can move whole.
    try:
        return path.relative_to(directory).as_posix()
    except ValueError:
        return str(path)


def render_federation_config(config: FederationConfig) -> str:
    """Return the TOML text of `config`, with comments; `load_federation_config` reads it back.

    Raises:
        InputError: a value has no TOML encoding.
    """
    federation = tomlkit.table()
    federation.add("id", to_item(config.id))
    federation.add("listen", to_item(str(config.listen)))
    federation.add("endpoint", to_item(str(config.endpoint)))
    federation.add("database", to_item(_relative(config.database, config.directory)))
    federation.add(
        tomlkit.comment(
            "Members fetch the signed directory this often; a revocation reaches them within it."
        )
    )
    federation.add("directory_refresh_seconds", config.refresh_seconds)
    keys = tomlkit.table()
    keys.add(
        tomlkit.comment(
            "Where the passphrase of the keys in ca/ and keys/ comes from; never the passphrase."
        )
    )
    sources: dict[str, Any] = {
        "passphrase_env": config.keys.passphrase_env,
        "passphrase_file": None
        if config.keys.passphrase_file is None
        else _relative(config.keys.passphrase_file, config.directory),
    }
    for name, value in sources.items():
        if value is not None:
            keys.add(name, to_item(value))
    document = tomlkit.document()
    document.add(
        tomlkit.comment("blindhit coordinating node. Paths are relative to this file's directory.")
    )
    document.add(tomlkit.nl())
    document.add("federation", federation)
    document.add("keys", keys)
    return tomlkit.dumps(document)


def write_federation_config(path: Path, config: FederationConfig) -> None:
    """Write `config` to the new file `path` (mode 0600); an existing file is never replaced.

    Raises:
        InputError: the file exists or cannot be written.
    """
    create_file(path, render_federation_config(config))
