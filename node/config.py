"""The node's configuration: one TOML file, `node.toml`, read into frozen, typed dataclasses.

Schema (every table is closed: a key not listed here is an error, so a typo never silently falls
back to a default):

```toml
[node]
id = "fr-ct"                 # node id: a-z, 0-9 and '-', 3..63 characters, starts with a letter
country = "FRA"              # ISO 3166-1 alpha-3 (three capital letters)
listen = "127.0.0.1:7443"    # HOST:PORT the gRPC server binds; "[::1]:7443" for IPv6; port 0 =
                             # any free port (tests)
database = "node.db"         # SQLite file, relative to the node directory

[keys]                       # exactly one of the two; the passphrase itself is never stored
passphrase_env = "BLINDHIT_PASSPHRASE"
# passphrase_file = "/run/secrets/blindhit"   (relative paths: to the node directory)

[limits]                     # optional, defaults shown
max_batch = 4096             # most elements in one request, whoever asks
max_message_bytes = 16777216 # gRPC send/receive limit
deadline_seconds = 10.0      # deadline of a check call
sync_deadline_seconds = 300.0  # deadline of a match-index sync

[[peers]]                    # zero or more
id = "de-bka"
endpoint = "bka.example.de:7443"
certificate_fingerprint = "sha256:<64 hex>"  # optional pin of the peer's mTLS certificate
identity_key = "de-bka+1a2b3c4d+AQ..."       # the peer's signed-note verifier key

[datasets.persons]           # zero or more; the table name is the dataset name
suite = "ristretto255-SHA512"  # or "P256-SHA256"
mode = "OPRF"                # or "VOPRF", "POPRF"
pad_to_bucket = false        # pad the published index to a size bucket
description = "Wanted persons"

[[policy]]                   # zero or more; without a rule a peer may query nothing
peer = "de-bka"
datasets = ["persons"]
modes = ["index", "owner-match"]
max_batch = 1024             # optional, at most limits.max_batch (the default)
daily_quota = 100000         # elements per UTC day, over all of this rule's datasets

[federation]                 # optional: membership of a federation
coordinator = "gs-lyon"      # the coordinating node's id; it may relay peers' signed requests
endpoint = "gs.example.org:7443"
identity_key = "gs-lyon+0a1b2c3d+AQ..."      # signs the directory
refresh_seconds = 60.0       # how often the directory is fetched; peers then come from it

[[disclosure_rules]]         # zero or more: standing approvals, every one logged as automatic
name = "bka-urgent-identity" # a-z, 0-9, '-'; the audit log names the rule as the decider
peer = "de-bka"
datasets = ["persons"]
fields = ["family_name", "given_names", "date_of_birth"]  # approves requests asking no more
urgency = ["urgent"]         # optional; default both
handling = ["H0", "H2"]      # "H3:<text>" for another condition
expiry_days = 30
contact = "DCPJ duty officer +33 1 00 00 00 00"
```

A dataset may restrict what a disclosure can ever release with `releasable_fields = [...]`
(default: every record field); a request asking for another field is refused.

Decisions:

- Relative paths are relative to the directory holding `node.toml`, so a node directory can be
  moved or restored from backup as a whole. They are resolved when the file is loaded.
- A peer's identity on a connection is the `blindhit://node/<id>` URI in its mTLS certificate
  (`node.keys.tls`); `certificate_fingerprint` additionally pins one certificate. It is optional
  because under the federation CA certificates are renewed, and the CA plus the URI then suffice.
- A peer's `identity_key` must be named after the peer (`<peer id>+<key ID>+<key>`): a key pasted
  under the wrong peer is caught when the file is loaded rather than when a signature fails.
- Each (peer, dataset) pair has at most one policy rule, so which quota and batch limit apply to
  a request is never ambiguous. A rule naming an unknown peer or dataset is an error.
- Every error is an `InputError` reading `<file>: <key path>: <problem>`, where the key path is
  written as in TOML with zero-based array positions, e.g. `peers[2].endpoint`.

`render_config` writes the same schema back (tomllib reads only); `load_config(render_config(c))`
gives `c` again.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

from crypto.errors import InputError, InvalidEncoding
from crypto.oprf import Mode, Suite
from crypto.signed_note import Ed25519Verifier
from node.datasets.sources import RECORD_FIELDS
from node.keys.identity import read_passphrase
from protocol.admission import QueryMode
from protocol.directory import Peer
from protocol.disclosure import Handling, StandingRule, Urgency
from protocol.validation import (
    HostPort,
    check_country,
    check_dataset_name,
    check_env_variable,
    check_fingerprint,
    check_node_id,
    is_valid_node_id,
    parse_host_port,
)

__all__ = [
    "ANY_PEER",
    "CONFIG_FILE_NAME",
    "DEFAULT_DATABASE",
    "DEFAULT_DEADLINE_SECONDS",
    "DEFAULT_LISTEN",
    "DEFAULT_MAX_BATCH",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_SYNC_DEADLINE_SECONDS",
    "Dataset",
    "FederationSettings",
    "KeySettings",
    "Limits",
    "NodeConfig",
    "NodeSettings",
    "PolicyRule",
    "QueryMode",
    "load_config",
    "read_config_document",
    "read_nonempty_passphrase",
    "render_config",
    "write_config",
    "write_new_config_file",
]

CONFIG_FILE_NAME: Final = "node.toml"
DEFAULT_LISTEN: Final = "127.0.0.1:7443"
DEFAULT_DATABASE: Final = "node.db"
# A batch of 4096 elements is 128 KiB of ristretto255 points: large enough for a 300-person
# manifest with all its match keys in one call, small enough to bound one call's work.
DEFAULT_MAX_BATCH: Final = 4096
DEFAULT_MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
DEFAULT_DEADLINE_SECONDS: Final = 10.0
DEFAULT_SYNC_DEADLINE_SECONDS: Final = 300.0

# A configuration file is a few kilobytes even with 195 peers; refuse to parse anything huge.
_MAX_CONFIG_SIZE: Final = 4 * 1024 * 1024
_RECORD_FIELDS: Final = frozenset(RECORD_FIELDS)
ANY_PEER: Final = "*"
"""A `[[policy]]` rule for `peer = "*"` applies to every peer without a rule of its own."""
_RULE_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,47}")
# gRPC refuses messages above 2 GiB - 1 whatever the setting.
_MAX_MESSAGE_BYTES_LIMIT: Final = 2**31 - 1
_MAX_DEADLINE_SECONDS: Final = 86400.0
_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """`[node]`: who this node is and where it listens."""

    id: str
    country: str
    listen: HostPort
    database: Path


@dataclass(frozen=True, slots=True)
class KeySettings:
    """`[keys]`: where the passphrase of the node's private keys comes from (exactly one)."""

    passphrase_env: str | None = None
    passphrase_file: Path | None = None

    def read_passphrase(self) -> bytes:
        """Return the passphrase from the configured source.

        Raises:
            InputError: the variable is unset, the file unreadable, or the passphrase empty.
        """
        return read_nonempty_passphrase(env=self.passphrase_env, file=self.passphrase_file)


@dataclass(frozen=True, slots=True)
class Limits:
    """`[limits]`: bounds every request obeys, whoever sends it."""

    max_batch: int = DEFAULT_MAX_BATCH
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    sync_deadline_seconds: float = DEFAULT_SYNC_DEADLINE_SECONDS


@dataclass(frozen=True, slots=True)
class FederationSettings:
    """`[federation]`: the coordinating node this member belongs to.

    With it, the member's peers come from the coordinating node's signed directory, which the
    member fetches every `refresh_seconds` (`node.querier.membership`); a peer missing from the
    current directory, or revoked in it, is refused. The coordinating node may relay peers' signed
    requests (fan-out); its connection is then trusted as a relay, never as a requester.
    """

    coordinator: str
    endpoint: HostPort
    identity_key: Ed25519Verifier
    certificate_fingerprint: str | None = None
    refresh_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Dataset:
    """`[datasets.<name>]`: one dataset this node publishes, with its OPRF suite and mode."""

    name: str
    suite: Suite = Suite.RISTRETTO255_SHA512
    mode: Mode = Mode.OPRF
    pad_to_bucket: bool = False
    description: str = ""
    releasable_fields: tuple[str, ...] | None = None
    """Record fields a disclosure may ever release; None: every record field."""

    def releases(self, field_name: str) -> bool:
        """Whether a disclosure from this dataset may ever release `field_name`."""
        return self.releasable_fields is None or field_name in self.releasable_fields


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """`[[policy]]`: what one peer may ask of some datasets, and how much per day."""

    peer: str
    datasets: tuple[str, ...]
    modes: tuple[QueryMode, ...]
    max_batch: int
    daily_quota: int


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """A whole `node.toml`, with paths resolved against `directory`."""

    directory: Path
    node: NodeSettings
    keys: KeySettings
    limits: Limits = field(default_factory=Limits)
    peers: tuple[Peer, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    policy: tuple[PolicyRule, ...] = ()
    disclosure_rules: tuple[StandingRule, ...] = ()
    federation: FederationSettings | None = None

    def peer(self, peer_id: str) -> Peer | None:
        """Return the peer with id `peer_id`, or None."""
        return next((peer for peer in self.peers if peer.id == peer_id), None)

    def dataset(self, name: str) -> Dataset | None:
        """Return the dataset named `name`, or None."""
        return next((dataset for dataset in self.datasets if dataset.name == name), None)

    def rule_for(self, peer_id: str, dataset: str) -> PolicyRule | None:
        """Return the one rule letting `peer_id` query `dataset`, or None (nothing allowed)."""
        exact = (r for r in self.policy if r.peer == peer_id and dataset in r.datasets)
        anyone = (r for r in self.policy if r.peer == ANY_PEER and dataset in r.datasets)
        return next(exact, None) or next(anyone, None)


def read_nonempty_passphrase(*, env: str | None = None, file: Path | None = None) -> bytes:
    """Return the passphrase from environment variable `env` or `file` (exactly one).

    Raises:
        InputError: neither or both are given, the variable is unset, the file unreadable, or
            the passphrase is empty (an empty passphrase would leave the keys unencrypted).
    """
    if env is None and file is None:
        raise InputError("no passphrase source: give an environment variable or a file")
    passphrase = read_passphrase(env=env, file=file)
    if not passphrase:
        source = f"environment variable {env}" if env is not None else f"file {file}"
        raise InputError(f"the passphrase in {source} is empty; private keys need a passphrase")
    return passphrase


# Loading.


_T = TypeVar("_T")


class _Missing:
    """Marks a key that is absent from its table."""


_MISSING: Final = _Missing()


def _join(path: str, key: str) -> str:
    quoted = key if _BARE_KEY.fullmatch(key) else _toml_string(key)
    return f"{path}.{quoted}" if path else quoted


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _type_name(value: object) -> str:
    # The names of the TOML specification, which is what the reader of the file knows.
    names: tuple[tuple[type, str], ...] = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (str, "string"),
        (list, "array"),
        (dict, "table"),
    )
    for kind, name in names:
        if isinstance(value, kind):
            return name
    return "date-time"


class _Table:
    """One TOML table being read: typed getters that name the key path in their errors."""

    def __init__(self, file: Path, path: str, values: Mapping[str, object]) -> None:
        self.file = file
        self.path = path
        self._values = values
        self._taken: set[str] = set()

    def where(self, key: str) -> str:
        return _join(self.path, key)

    def error(self, key: str, problem: str) -> InputError:
        return InputError(f"{self.file}: {self.where(key)}: {problem}")

    def here_error(self, problem: str) -> InputError:
        return InputError(f"{self.file}: {self.path}: {problem}")

    def _take(self, key: str) -> object:
        self._taken.add(key)
        return self._values.get(key, _MISSING)

    def _typed(self, key: str, kind: type[_T], expected: str, default: _T | _Missing) -> _T:
        value = self._take(key)
        if isinstance(value, _Missing):
            if isinstance(default, _Missing):
                raise self.error(key, f"missing; expected {expected}")
            return default
        # bool is a subclass of int in Python but a separate type in TOML.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.error(key, f"expected {expected}, got {_type_name(value)} {_shown(value)}")
        return value

    def string(self, key: str, default: str | _Missing = _MISSING) -> str:
        return self._typed(key, str, "a string", default)

    def optional_string(self, key: str) -> str | None:
        if self._values.get(key, _MISSING) is _MISSING:
            self._taken.add(key)
            return None
        return self.string(key)

    def boolean(self, key: str, default: bool | _Missing = _MISSING) -> bool:
        return self._typed(key, bool, "true or false", default)

    def integer(
        self,
        key: str,
        default: int | _Missing = _MISSING,
        *,
        minimum: int,
        maximum: int | None = None,
    ) -> int:
        value = self._typed(key, int, "an integer", default)
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise self.error(key, f"expected an integer {bound}, got {value}")
        return value

    def seconds(self, key: str, default: float) -> float:
        value = self._take(key)
        if isinstance(value, _Missing):
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(
                key, f"expected a number of seconds, got {_type_name(value)} {_shown(value)}"
            )
        seconds = float(value)
        if not (math.isfinite(seconds) and 0 < seconds <= _MAX_DEADLINE_SECONDS):
            raise self.error(
                key, f"expected seconds above 0 and at most {_MAX_DEADLINE_SECONDS:g}, got {value}"
            )
        return seconds

    def string_list(self, key: str) -> list[tuple[str, str]]:
        """Return a non-empty array of strings, each with its key path, refusing repeats."""
        values = self._typed(key, list, "an array of strings", _MISSING)
        if not values:
            raise self.error(key, "expected a non-empty array of strings, got []")
        items: list[tuple[str, str]] = []
        seen: set[str] = set()
        for position, item in enumerate(values):
            item_path = f"{self.where(key)}[{position}]"
            if not isinstance(item, str):
                raise InputError(
                    f"{self.file}: {item_path}: expected a string, "
                    f"got {_type_name(item)} {_shown(item)}"
                )
            if item in seen:
                raise InputError(f"{self.file}: {item_path}: {item!r} is listed twice")
            seen.add(item)
            items.append((item_path, item))
        return items

    def table(self, key: str, *, required: bool) -> _Table | None:
        value = self._take(key)
        if isinstance(value, _Missing):
            if required:
                raise self.error(key, "missing table")
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {_type_name(value)} {_shown(value)}")
        return _Table(self.file, self.where(key), value)

    def tables(self, key: str) -> list[_Table]:
        value = self._take(key)
        if isinstance(value, _Missing):
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(
                key, f"expected an array of tables ([[{key}]]), got {_type_name(value)}"
            )
        return [
            _Table(self.file, f"{self.where(key)}[{position}]", item)
            for position, item in enumerate(value)
        ]

    def has(self, key: str) -> bool:
        """Whether `key` is present (without taking it)."""
        return key in self._values

    def key_names(self) -> list[str]:
        self._taken.update(self._values)
        return list(self._values)

    def close(self, known: Iterable[str] = ()) -> None:
        """Refuse keys that no getter asked for and that are not `known`.

        Unknown keys are typos or belong to another version of the schema.
        """
        self._taken.update(known)
        unknown = [key for key in self._values if key not in self._taken]
        if unknown:
            known = ", ".join(sorted(self._taken)) or "none"
            raise self.error(unknown[0], f"unknown key (known keys here: {known})")


def _path(table: _Table, key: str, directory: Path, default: str | None = None) -> Path | None:
    text = table.optional_string(key) if default is None else table.string(key, default)
    if text is None:
        return None
    if not text or "\x00" in text:
        raise table.error(key, f"expected a file path, got {_shown(text)}")
    return directory / text


def _read_node(root: _Table, directory: Path) -> NodeSettings:
    table = root.table("node", required=True)
    assert table is not None  # required=True either returns a table or raises.
    node_id = table.string("id")
    country = table.string("country")
    listen = table.string("listen", DEFAULT_LISTEN)
    database = _path(table, "database", directory, DEFAULT_DATABASE)
    assert database is not None  # A default was given.
    table.close()
    return NodeSettings(
        id=check_node_id(node_id, f"{table.file}: {table.where('id')}"),
        country=check_country(country, f"{table.file}: {table.where('country')}"),
        listen=parse_host_port(
            listen, f"{table.file}: {table.where('listen')}", allow_port_zero=True
        ),
        database=database,
    )


def _read_keys(root: _Table, directory: Path) -> KeySettings:
    table = root.table("keys", required=True)
    assert table is not None
    variable = table.optional_string("passphrase_env")
    file = _path(table, "passphrase_file", directory)
    table.close()
    if (variable is None) == (file is None):
        raise table.here_error(
            "expected exactly one of passphrase_env (an environment variable name) and "
            "passphrase_file (a file path)"
        )
    if variable is not None:
        check_env_variable(variable, f"{table.file}: {table.where('passphrase_env')}")
    return KeySettings(passphrase_env=variable, passphrase_file=file)


def _read_limits(root: _Table) -> Limits:
    table = root.table("limits", required=False)
    if table is None:
        return Limits()
    limits = Limits(
        max_batch=table.integer("max_batch", DEFAULT_MAX_BATCH, minimum=1, maximum=1 << 24),
        max_message_bytes=table.integer(
            "max_message_bytes",
            DEFAULT_MAX_MESSAGE_BYTES,
            minimum=64 * 1024,
            maximum=_MAX_MESSAGE_BYTES_LIMIT,
        ),
        deadline_seconds=table.seconds("deadline_seconds", DEFAULT_DEADLINE_SECONDS),
        sync_deadline_seconds=table.seconds("sync_deadline_seconds", DEFAULT_SYNC_DEADLINE_SECONDS),
    )
    table.close()
    return limits


def _read_federation(root: _Table, own_id: str) -> FederationSettings | None:
    table = root.table("federation", required=False)
    if table is None:
        return None
    coordinator = check_node_id(
        table.string("coordinator"), f"{table.file}: {table.where('coordinator')}"
    )
    if coordinator == own_id:
        raise table.error("coordinator", "this node cannot be its own coordinating node")
    endpoint = parse_host_port(table.string("endpoint"), f"{table.file}: {table.where('endpoint')}")
    fingerprint = table.optional_string("certificate_fingerprint")
    if fingerprint is not None:
        check_fingerprint(fingerprint, f"{table.file}: {table.where('certificate_fingerprint')}")
    key_text = table.string("identity_key")
    refresh = table.seconds("refresh_seconds", 60.0)
    table.close()
    identity_key = _identity_key(table, key_text, coordinator, "the coordinator")
    return FederationSettings(coordinator, endpoint, identity_key, fingerprint, refresh)


def _identity_key(table: _Table, key_text: str, node_id: str, role: str) -> Ed25519Verifier:
    """Parse the `identity_key` of `table`, which must be named after `role`'s `node_id`."""
    try:
        identity_key = Ed25519Verifier.from_verifier_key(key_text)
    except InvalidEncoding as exc:
        raise table.error(
            "identity_key", f"expected a verifier key <name>+<key ID>+<base64>: {exc}"
        ) from exc
    if identity_key.name != node_id:
        raise table.error(
            "identity_key", f"the key is named {identity_key.name!r} but {role} is {node_id!r}"
        )
    return identity_key


def _read_peers(root: _Table, own_id: str) -> tuple[Peer, ...]:
    peers: list[Peer] = []
    first_seen: dict[str, str] = {}
    for table in root.tables("peers"):
        peer_id = check_node_id(table.string("id"), f"{table.file}: {table.where('id')}")
        if peer_id == own_id:
            raise table.error("id", f"{peer_id!r} is this node's own id; a node is not its peer")
        if peer_id in first_seen:
            raise table.error("id", f"duplicate peer id {peer_id!r} (also {first_seen[peer_id]})")
        first_seen[peer_id] = table.where("id")
        endpoint = parse_host_port(
            table.string("endpoint"), f"{table.file}: {table.where('endpoint')}"
        )
        fingerprint = table.optional_string("certificate_fingerprint")
        if fingerprint is not None:
            check_fingerprint(
                fingerprint, f"{table.file}: {table.where('certificate_fingerprint')}"
            )
        key_text = table.string("identity_key")
        table.close()
        identity_key = _identity_key(table, key_text, peer_id, "the peer")
        peers.append(Peer(peer_id, endpoint, identity_key, fingerprint))
    return tuple(peers)


def _read_datasets(root: _Table) -> tuple[Dataset, ...]:
    table = root.table("datasets", required=False)
    if table is None:
        return ()
    datasets: list[Dataset] = []
    for name in table.key_names():
        entry = table.table(name, required=True)
        assert entry is not None
        check_dataset_name(name, f"{table.file}: {entry.path}")
        suite_name = entry.string("suite", Suite.RISTRETTO255_SHA512.value.identifier)
        mode_name = entry.string("mode", Mode.OPRF.name)
        pad_to_bucket = entry.boolean("pad_to_bucket", default=False)
        description = entry.string("description", "")
        releasable: tuple[str, ...] | None = None
        if entry.has("releasable_fields"):
            listed = entry.string_list("releasable_fields")
            for item_path, field_name in listed:
                if field_name not in _RECORD_FIELDS:
                    raise InputError(
                        f"{table.file}: {item_path}: unknown record field {_shown(field_name)}"
                    )
            releasable = tuple(field_name for _, field_name in listed)
        entry.close()
        suites = {suite.value.identifier: suite for suite in Suite}
        if suite_name not in suites:
            raise entry.error(
                "suite", f"expected one of {', '.join(suites)}, got {_shown(suite_name)}"
            )
        modes = {mode.name: mode for mode in Mode}
        if mode_name not in modes:
            raise entry.error(
                "mode", f"expected one of {', '.join(modes)}, got {_shown(mode_name)}"
            )
        datasets.append(
            Dataset(
                name, suites[suite_name], modes[mode_name], pad_to_bucket, description, releasable
            )
        )
    return tuple(datasets)


def _read_policy(
    root: _Table,
    peers: Sequence[Peer],
    datasets: Sequence[Dataset],
    limits: Limits,
    *,
    federated: bool = False,
) -> tuple[PolicyRule, ...]:
    peer_ids = {peer.id for peer in peers} | {ANY_PEER}
    dataset_names = {dataset.name for dataset in datasets}
    rules: list[PolicyRule] = []
    # (peer, dataset) -> the key path that granted it first.
    granted: dict[tuple[str, str], str] = {}
    for table in root.tables("policy"):
        peer = table.string("peer")
        if peer not in peer_ids and not (federated and is_valid_node_id(peer)):
            raise table.error("peer", f"unknown peer {peer!r} (no [[peers]] entry has this id)")
        names = table.string_list("datasets")
        for item_path, name in names:
            if name not in dataset_names:
                raise InputError(
                    f"{table.file}: {item_path}: unknown dataset {name!r} "
                    "(no [datasets.<name>] table has this name)"
                )
            if (peer, name) in granted:
                raise InputError(
                    f"{table.file}: {item_path}: peer {peer!r} already has a rule for dataset "
                    f"{name!r} ({granted[peer, name]})"
                )
            granted[peer, name] = table.path
        modes: list[QueryMode] = []
        for item_path, mode in table.string_list("modes"):
            try:
                modes.append(QueryMode(mode))
            except ValueError as exc:
                known = ", ".join(repr(m.value) for m in QueryMode)
                raise InputError(
                    f"{table.file}: {item_path}: expected one of {known}, got {_shown(mode)}"
                ) from exc
        max_batch = table.integer("max_batch", limits.max_batch, minimum=1)
        if max_batch > limits.max_batch:
            raise table.error(
                "max_batch", f"{max_batch} is above limits.max_batch = {limits.max_batch}"
            )
        daily_quota = table.integer("daily_quota", minimum=1)
        table.close()
        rules.append(
            PolicyRule(peer, tuple(name for _, name in names), tuple(modes), max_batch, daily_quota)
        )
    return tuple(rules)


def _read_disclosure_rules(
    root: _Table, peers: Sequence[Peer], datasets: Sequence[Dataset], *, federated: bool = False
) -> tuple[StandingRule, ...]:
    peer_ids = {peer.id for peer in peers}
    by_name = {dataset.name: dataset for dataset in datasets}
    rules: list[StandingRule] = []
    names: set[str] = set()
    for table in root.tables("disclosure_rules"):
        name = table.string("name")
        if not _RULE_NAME.fullmatch(name):
            raise table.error("name", "expected a-z, 0-9 and '-', 1..48 characters")
        if name in names:
            raise table.error("name", f"another rule is named {name!r}")
        names.add(name)
        peer = table.string("peer")
        if peer not in peer_ids and not (federated and is_valid_node_id(peer)):
            raise table.error("peer", f"unknown peer {peer!r} (no [[peers]] entry has this id)")
        listed = table.string_list("datasets")
        for item_path, dataset in listed:
            if dataset not in by_name:
                raise InputError(
                    f"{table.file}: {item_path}: unknown dataset {dataset!r} "
                    "(no [datasets.<name>] table has this name)"
                )
        fields = _rule_fields(table, [by_name[d] for _, d in listed])
        urgencies, handling = _rule_conditions(table)
        expiry_days = table.integer("expiry_days", minimum=1)
        contact = table.string("contact")
        table.close()
        rules.append(
            StandingRule(
                name=name,
                peer=peer,
                datasets=tuple(d for _, d in listed),
                fields=fields,
                urgencies=tuple(urgencies) or (Urgency.URGENT, Urgency.STANDARD),
                handling=tuple(handling),
                expiry=timedelta(days=expiry_days),
                contact=contact,
            )
        )
    return tuple(rules)


def _rule_fields(table: _Table, datasets: Sequence[Dataset]) -> tuple[str, ...]:
    fields = table.string_list("fields")
    if not fields:
        raise table.error("fields", "name at least one field the rule releases")
    for item_path, field_name in fields:
        if field_name not in _RECORD_FIELDS:
            problem = f"unknown record field {_shown(field_name)}"
            raise InputError(f"{table.file}: {item_path}: {problem}")
        for dataset in datasets:
            if not dataset.releases(field_name):
                raise InputError(
                    f"{table.file}: {item_path}: dataset {dataset.name} never releases {field_name}"
                )
    return tuple(field_name for _, field_name in fields)


def _rule_conditions(table: _Table) -> tuple[list[Urgency], list[Handling]]:
    urgencies: list[Urgency] = []
    listed = table.string_list("urgency") if table.has("urgency") else []
    for item_path, text in listed:
        try:
            urgencies.append(Urgency(text))
        except ValueError:
            raise InputError(
                f"{table.file}: {item_path}: expected 'urgent' or 'standard', got {_shown(text)}"
            ) from None
    handling: list[Handling] = []
    for item_path, text in table.string_list("handling"):
        try:
            handling.append(Handling.parse(text))
        except InputError as error:
            raise InputError(f"{table.file}: {item_path}: {error}") from None
    return urgencies, handling


def read_config_document(path: Path, *, max_size: int, kind: str) -> dict[str, Any]:
    """Read the TOML file `path`, a `kind` ("node configuration") of at most `max_size` bytes.

    Raises:
        InputError: the file cannot be read, is larger, is not UTF-8 or is not valid TOML.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(max_size + 1)
    except OSError as exc:
        raise InputError(f"cannot read configuration {path}: {exc.strerror or exc}") from exc
    if len(data) > max_size:
        raise InputError(f"{path}: larger than {max_size} bytes; not a {kind}")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc


def load_config(path: Path) -> NodeConfig:
    """Read and check `node.toml` at `path`; relative paths in it resolve against its directory.

    Raises:
        InputError: `<file>: <key path>: <problem>` for an unreadable file, invalid TOML, a
            missing or unknown key, a value of the wrong type or out of range, a duplicate peer
            id, or a policy rule naming an unknown peer or dataset.
    """
    document = read_config_document(path, max_size=_MAX_CONFIG_SIZE, kind="node configuration")
    directory = path.absolute().parent
    root = _Table(path, "", document)
    # Unknown top-level tables are reported first: a misspelt [[peers]] would otherwise show up
    # as a policy rule naming an unknown peer.
    root.close(
        known=(
            "node", "keys", "limits", "peers", "datasets", "policy", "disclosure_rules",
            "federation",
        )
    )  # fmt: skip
    node = _read_node(root, directory)
    keys = _read_keys(root, directory)
    limits = _read_limits(root)
    peers = _read_peers(root, node.id)
    datasets = _read_datasets(root)
    federation = _read_federation(root, node.id)
    policy = _read_policy(root, peers, datasets, limits, federated=federation is not None)
    rules = _read_disclosure_rules(root, peers, datasets, federated=federation is not None)
    return NodeConfig(directory, node, keys, limits, peers, datasets, policy, rules, federation)


# Writing.

_SHORT_ESCAPES: Final = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def _toml_string(value: str) -> str:
    """Return `value` as a TOML basic string (TOML 1.0 "Basic strings")."""
    parts = ['"']
    for character in value:
        code = ord(character)
        if character in _SHORT_ESCAPES:
            parts.append(_SHORT_ESCAPES[character])
        elif code < 0x20 or code == 0x7F:
            parts.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            # A lone surrogate (a file name that was not UTF-8) has no TOML encoding.
            raise InputError(f"cannot write {value!r} to TOML: it is not valid Unicode text")
        else:
            parts.append(character)
    parts.append('"')
    return "".join(parts)


def _toml_strings(values: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_string(value) for value in values) + "]"


def _toml_path(path: Path, directory: Path) -> str:
    # Paths inside the node directory are written relative to it, so the directory can move.
    try:
        return _toml_string(path.relative_to(directory).as_posix())
    except ValueError:
        return _toml_string(str(path))


def render_config(config: NodeConfig) -> str:
    """Return the TOML text of `config`; relative paths are relative to `config.directory`."""
    node, keys, limits = config.node, config.keys, config.limits
    lines = [
        "# blindhit node configuration. Paths are relative to this file's directory.",
        "",
        "[node]",
        f"id = {_toml_string(node.id)}",
        f"country = {_toml_string(node.country)}",
        f"listen = {_toml_string(str(node.listen))}",
        f"database = {_toml_path(node.database, config.directory)}",
        "",
        "# Where the passphrase of the private keys in keys/ comes from; never the passphrase.",
        "[keys]",
    ]
    if keys.passphrase_env is not None:
        lines.append(f"passphrase_env = {_toml_string(keys.passphrase_env)}")
    if keys.passphrase_file is not None:
        lines.append(f"passphrase_file = {_toml_path(keys.passphrase_file, config.directory)}")
    lines += [
        "",
        "[limits]",
        f"max_batch = {limits.max_batch}",
        f"max_message_bytes = {limits.max_message_bytes}",
        f"deadline_seconds = {limits.deadline_seconds!r}",
        f"sync_deadline_seconds = {limits.sync_deadline_seconds!r}",
    ]
    if config.federation is not None:
        federation = config.federation
        lines += [
            "",
            "[federation]",
            f"coordinator = {_toml_string(federation.coordinator)}",
            f"endpoint = {_toml_string(str(federation.endpoint))}",
            f"identity_key = {_toml_string(federation.identity_key.verifier_key())}",
            f"refresh_seconds = {federation.refresh_seconds!r}",
        ]
        if federation.certificate_fingerprint is not None:
            lines.append(
                f"certificate_fingerprint = {_toml_string(federation.certificate_fingerprint)}"
            )
    for peer in config.peers:
        lines += [
            "",
            "[[peers]]",
            f"id = {_toml_string(peer.id)}",
            f"endpoint = {_toml_string(str(peer.endpoint))}",
        ]
        if peer.certificate_fingerprint is not None:
            lines.append(f"certificate_fingerprint = {_toml_string(peer.certificate_fingerprint)}")
        lines.append(f"identity_key = {_toml_string(peer.identity_key.verifier_key())}")
    for dataset in config.datasets:
        lines += [
            "",
            f"[{_join('datasets', dataset.name)}]",
            f"suite = {_toml_string(dataset.suite.value.identifier)}",
            f"mode = {_toml_string(dataset.mode.name)}",
            f"pad_to_bucket = {'true' if dataset.pad_to_bucket else 'false'}",
            f"description = {_toml_string(dataset.description)}",
        ]
        if dataset.releasable_fields is not None:
            lines.append(f"releasable_fields = {_toml_strings(dataset.releasable_fields)}")
    for rule in config.policy:
        lines += [
            "",
            "[[policy]]",
            f"peer = {_toml_string(rule.peer)}",
            f"datasets = {_toml_strings(rule.datasets)}",
            f"modes = {_toml_strings(mode.value for mode in rule.modes)}",
            f"max_batch = {rule.max_batch}",
            f"daily_quota = {rule.daily_quota}",
        ]
    for standing in config.disclosure_rules:
        lines += [
            "",
            "[[disclosure_rules]]",
            f"name = {_toml_string(standing.name)}",
            f"peer = {_toml_string(standing.peer)}",
            f"datasets = {_toml_strings(standing.datasets)}",
            f"fields = {_toml_strings(standing.fields)}",
            f"urgency = {_toml_strings(u.value for u in standing.urgencies)}",
            f"handling = {_toml_strings(_handling_text(h) for h in standing.handling)}",
            f"expiry_days = {standing.expiry.days}",
            f"contact = {_toml_string(standing.contact)}",
        ]
    if not (config.peers or config.datasets or config.policy):
        lines += ["", *_EXAMPLE_SECTIONS]
    return "\n".join(lines) + "\n"


def _handling_text(handling: Handling) -> str:
    return f"{handling.code.value}:{handling.text}" if handling.text else handling.code.value


# Written into a fresh configuration so that an operator sees the shape of what comes next.
_EXAMPLE_SECTIONS: Final = (
    "# Peers, datasets and policy, for example:",
    "#",
    "# [[peers]]",
    '# id = "de-bka"',
    '# endpoint = "bka.example.de:7443"',
    '# certificate_fingerprint = "sha256:..."   # optional pin of its mTLS certificate',
    '# identity_key = "de-bka+1a2b3c4d+AQ..."   # as printed by its `blindhit init`',
    "#",
    "# [datasets.persons]",
    '# suite = "ristretto255-SHA512"            # or "P256-SHA256"',
    '# mode = "OPRF"                            # or "VOPRF", "POPRF"',
    "# pad_to_bucket = false",
    '# description = "Wanted persons"',
    "#",
    "# [[policy]]                               # without a rule a peer may query nothing",
    '# peer = "de-bka"',
    '# datasets = ["persons"]',
    '# modes = ["index", "owner-match"]',
    "# max_batch = 1024",
    "# daily_quota = 100000                     # elements per UTC day",
)


def write_config(path: Path, config: NodeConfig) -> None:
    """Write `config` to a new file `path` (mode 0600); an existing file is never replaced.

    Raises:
        InputError: the file exists or cannot be written, or a value has no TOML encoding.
    """
    write_new_config_file(path, render_config(config))


def write_new_config_file(path: Path, text: str) -> None:
    """Write `text` to a new file `path` (mode 0600) and sync it; an existing file is kept.

    Raises:
        InputError: the file exists or cannot be created.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(f"{path} exists; a configuration is never overwritten") from exc
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror or exc}") from exc
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
