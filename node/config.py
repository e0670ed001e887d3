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
max_batch = 4096             # most elements (match keys, about 10 per person) in one request,
                             # whoever asks
max_message_bytes = 16777216 # gRPC send/receive limit
deadline_seconds = 10.0      # deadline of a check call
sync_deadline_seconds = 300.0  # deadline of a match-index sync

[[peers]]                    # zero or more
id = "de-bka"
endpoint = "bka.example.de:7443"
certificate_fingerprint = "sha256:<64 hex>"  # optional pin of the peer's mTLS certificate
identity_key = "de-bka+1a2b3c4d+AQ..."       # the peer's signed-note verifier key
datasets = ["persons"]       # optional: the datasets it offers (a check of every dataset uses them)
                             # Both sides declare each other here: the owner to know who may ask,
                             # the querier to know whom to ask.

[datasets.persons]           # zero or more, declared by the owner of the records; the table
                             # name is the dataset name
suite = "ristretto255-SHA512"  # or "P256-SHA256"
mode = "OPRF"                # or "VOPRF", "POPRF"
pad_to_bucket = false        # pad the published index to a size bucket
description = "Wanted persons"

[[policy]]                   # zero or more, declared by the owner for each querying peer;
peer = "de-bka"              # without a rule a peer may query nothing
datasets = ["persons"]
modes = ["index", "owner-match"]
max_batch = 1024             # optional, at most limits.max_batch (the default); elements are
                             # match keys, about 10 per person, so 1024 is about 100 people
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

[desk]                       # optional: the check desk's local HTTP/JSON API (node.desk.http)
listen = "127.0.0.1:7480"    # HOST:PORT of the desk, never the peer-facing port; 0 = any free
sync_interval = 5.0          # seconds between background syncs of every peer's index
max_index_age = 300.0        # an older index is synced on the check's own time
grpc_listen = "127.0.0.1:7481"  # optional: the desk's gRPC API (blindhit.v1.Checks) too
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
- The file is checked against a strict, closed pydantic schema (`node.tomlfile` says why that
  library and how its errors become these messages); the schema's classes are private, and what
  the rest of the node sees are the frozen dataclasses below.

`render_config` writes a new file of the same schema, with comments (`load_config` of it gives
the configuration again); `update_config` rewrites an existing file in place with tomlkit,
changing only the values that differ, so that the operator's comments and layout survive
`blindhit join` and the like.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Final, Self

import tomlkit
from pydantic import AfterValidator, Field, PlainValidator, model_validator

from crypto.errors import InputError, InvalidEncoding
from crypto.oprf import Mode, Suite
from crypto.signed_note import Ed25519Verifier
from node.datasets.sources import RECORD_FIELDS
from node.defaults import DEFAULT_LISTEN
from node.keys.identity import read_passphrase
from node.tomlfile import (
    Problem,
    Schema,
    choice,
    create_file,
    distinct,
    edit_document,
    from_text,
    int_range,
    parse_text,
    problem_of,
    read_document,
    read_text,
    to_item,
    type_name,
    validate,
)
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
    shown,
)

__all__ = [
    "ANY_PEER",
    "CONFIG_FILE_NAME",
    "DEFAULT_DATABASE",
    "DEFAULT_DEADLINE_SECONDS",
    "DEFAULT_DESK_LISTEN",
    "DEFAULT_LISTEN",
    "DEFAULT_MAX_BATCH",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_SYNC_DEADLINE_SECONDS",
    "Dataset",
    "DeskSettings",
    "FederationSettings",
    "FilePath",
    "KeySettings",
    "KeysTable",
    "Limits",
    "NodeConfig",
    "NodeSettings",
    "PolicyRule",
    "QueryMode",
    "load_config",
    "read_nonempty_passphrase",
    "render_config",
    "update_config",
    "write_config",
]

CONFIG_FILE_NAME: Final = "node.toml"
DEFAULT_DATABASE: Final = "node.db"
# A batch of 4096 elements is 128 KiB of ristretto255 points: large enough for a 300-person
# manifest with all its match keys in one call, small enough to bound one call's work.
DEFAULT_MAX_BATCH: Final = 4096
DEFAULT_MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
DEFAULT_DEADLINE_SECONDS: Final = 10.0
DEFAULT_SYNC_DEADLINE_SECONDS: Final = 300.0
DEFAULT_DESK_LISTEN: Final = "127.0.0.1:7480"
# The check desk's own defaults (node.desk.checks), repeated here so that reading node.toml does
# not import the querier; tests/unit/node/desk/test_desk_config.py holds the two equal.
DEFAULT_DESK_SYNC_INTERVAL: Final = 5.0
DEFAULT_DESK_MAX_INDEX_AGE: Final = 300.0

# A configuration file is a few kilobytes even with 195 peers; refuse to parse anything huge.
_MAX_CONFIG_SIZE: Final = 4 * 1024 * 1024
ANY_PEER: Final = "*"
"""A `[[policy]]` rule for `peer = "*"` applies to every peer without a rule of its own."""
_RULE_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,47}")
# gRPC refuses messages above 2 GiB - 1 whatever the setting.
_MAX_MESSAGE_BYTES_LIMIT: Final = 2**31 - 1
_MAX_DEADLINE_SECONDS: Final = 86400.0


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
class DeskSettings:
    """`[desk]`: the check desk's local HTTP/JSON API, for the country's own systems.

    It listens on a port of its own, never the peer-facing one: peers reach the node over mutual
    TLS with certificates, the desk's clients over TLS with bearer tokens (`node.desk.clients`).
    """

    listen: HostPort
    sync_interval: float = DEFAULT_DESK_SYNC_INTERVAL
    max_index_age: float = DEFAULT_DESK_MAX_INDEX_AGE
    grpc_listen: HostPort | None = None
    """Where the desk's gRPC API (`blindhit.v1.Checks`) listens too; None: HTTP only."""


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
    desk: DeskSettings | None = None

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


# The schema of the file: values checked one by one, then what one key says about another.


def _file_path(text: str) -> str:
    if not text or "\x00" in text:
        raise Problem(f"expected a file path, got {shown(text)}")
    return text


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Problem(f"expected a number of seconds, got {type_name(value)} {shown(value)}")
    seconds = float(value)
    if not (math.isfinite(seconds) and 0 < seconds <= _MAX_DEADLINE_SECONDS):
        raise Problem(
            f"expected seconds above 0 and at most {_MAX_DEADLINE_SECONDS:g}, got {value}"
        )
    return seconds


def _verifier(text: str) -> Ed25519Verifier:
    try:
        return Ed25519Verifier.from_verifier_key(text)
    except InvalidEncoding as exc:
        raise Problem(f"expected a verifier key <name>+<key ID>+<base64>: {exc}") from None


def _record_field(name: str) -> str:
    if name not in RECORD_FIELDS:
        raise Problem(f"unknown record field {shown(name)}")
    return name


def _rule_name(name: str) -> str:
    if not _RULE_NAME.fullmatch(name):
        raise Problem("expected a-z, 0-9 and '-', 1..48 characters")
    return name


def _handling(text: str) -> Handling:
    try:
        return Handling.parse(text)
    except InputError as error:
        raise Problem(str(error)) from None


NodeId = Annotated[str, AfterValidator(problem_of(check_node_id))]
Fingerprint = Annotated[str, AfterValidator(problem_of(check_fingerprint))]
DatasetName = Annotated[str, AfterValidator(problem_of(check_dataset_name))]
FilePath = Annotated[str, AfterValidator(_file_path)]
"""A file path, relative to the directory of the file that names it."""
Endpoint = Annotated[HostPort, from_text(problem_of(parse_host_port))]
Listen = Annotated[HostPort, from_text(problem_of(partial(parse_host_port, allow_port_zero=True)))]
Verifier = Annotated[Ed25519Verifier, from_text(_verifier)]
Seconds = Annotated[float, PlainValidator(_seconds)]
RecordField = Annotated[str, AfterValidator(_record_field)]
_SUITES: Final = {suite.value.identifier: suite for suite in Suite}
_MODES: Final = {mode.name: mode for mode in Mode}


class _NodeTable(Schema):
    id: NodeId
    country: Annotated[str, AfterValidator(problem_of(check_country))]
    listen: Listen = parse_host_port(DEFAULT_LISTEN, "listen", allow_port_zero=True)
    database: FilePath = DEFAULT_DATABASE


class KeysTable(Schema):
    """`[keys]` of node.toml and of federation.toml: one source of the keys' passphrase."""

    passphrase_env: Annotated[str, AfterValidator(problem_of(check_env_variable))] | None = None
    passphrase_file: FilePath | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.passphrase_env is None) == (self.passphrase_file is None):
            raise Problem(
                "expected exactly one of passphrase_env (an environment variable name) and "
                "passphrase_file (a file path)"
            )
        return self

    def settings(self, directory: Path) -> KeySettings:
        """The source, a relative file path resolved against `directory`."""
        file = None if self.passphrase_file is None else directory / self.passphrase_file
        return KeySettings(passphrase_env=self.passphrase_env, passphrase_file=file)


class _LimitsTable(Schema):
    max_batch: Annotated[int, int_range(1, 1 << 24)] = DEFAULT_MAX_BATCH
    max_message_bytes: Annotated[int, int_range(64 * 1024, _MAX_MESSAGE_BYTES_LIMIT)] = (
        DEFAULT_MAX_MESSAGE_BYTES
    )
    deadline_seconds: Seconds = DEFAULT_DEADLINE_SECONDS
    sync_deadline_seconds: Seconds = DEFAULT_SYNC_DEADLINE_SECONDS


def _named_after(key: Ed25519Verifier, node_id: str, role: str, *at: str | int) -> None:
    # A key pasted under the wrong peer is caught here rather than when a signature fails.
    if key.name != node_id:
        raise Problem(
            f"the key is named {key.name!r} but {role} is {node_id!r}", *at, "identity_key"
        )


class _PeerTable(Schema):
    id: NodeId
    endpoint: Endpoint
    certificate_fingerprint: Fingerprint | None = None
    identity_key: Verifier
    datasets: list[DatasetName] = Field(default_factory=list)


class _FederationTable(Schema):
    coordinator: NodeId
    endpoint: Endpoint
    identity_key: Verifier
    certificate_fingerprint: Fingerprint | None = None
    refresh_seconds: Seconds = 60.0


class _DatasetTable(Schema):
    suite: Annotated[Suite, choice(_SUITES, f"one of {', '.join(_SUITES)}")] = (
        Suite.RISTRETTO255_SHA512
    )
    mode: Annotated[Mode, choice(_MODES, f"one of {', '.join(_MODES)}")] = Mode.OPRF
    pad_to_bucket: bool = False
    description: str = ""
    releasable_fields: Annotated[list[RecordField], distinct] | None = None


_QUERY_MODES: Final = {mode.value: mode for mode in QueryMode}
_URGENCIES: Final = {urgency.value: urgency for urgency in Urgency}


class _PolicyTable(Schema):
    peer: str
    datasets: Annotated[list[str], distinct]
    modes: Annotated[
        list[
            Annotated[
                QueryMode,
                choice(_QUERY_MODES, "one of " + ", ".join(repr(m) for m in _QUERY_MODES)),
            ]
        ],
        distinct,
    ]
    max_batch: Annotated[int, int_range(1)] | None = None
    daily_quota: Annotated[int, int_range(1)]


class _DisclosureRuleTable(Schema):
    name: Annotated[str, AfterValidator(_rule_name)]
    peer: str
    datasets: Annotated[list[str], distinct]
    fields: Annotated[list[RecordField], distinct]
    urgency: (
        Annotated[list[Annotated[Urgency, choice(_URGENCIES, "'urgent' or 'standard'")]], distinct]
        | None
    ) = None
    handling: Annotated[list[Annotated[Handling, from_text(_handling)]], distinct]
    expiry_days: Annotated[int, int_range(1)]
    contact: str


class _DeskTable(Schema):
    listen: Listen = parse_host_port(DEFAULT_DESK_LISTEN, "listen", allow_port_zero=True)
    sync_interval: Seconds = DEFAULT_DESK_SYNC_INTERVAL
    max_index_age: Seconds = DEFAULT_DESK_MAX_INDEX_AGE
    grpc_listen: Listen | None = None


class _NodeFile(Schema):
    node: _NodeTable
    keys: KeysTable
    limits: _LimitsTable = _LimitsTable()
    peers: list[_PeerTable] = Field(default_factory=list)
    datasets: dict[DatasetName, _DatasetTable] = Field(default_factory=dict)
    policy: list[_PolicyTable] = Field(default_factory=list)
    disclosure_rules: list[_DisclosureRuleTable] = Field(default_factory=list)
    federation: _FederationTable | None = None
    desk: _DeskTable | None = None

    @model_validator(mode="after")
    def _references(self) -> Self:
        self._check_peers()
        self._check_desk()
        federation = self.federation
        if federation is not None:
            if federation.coordinator == self.node.id:
                raise Problem(
                    "this node cannot be its own coordinating node", "federation", "coordinator"
                )
            _named_after(
                federation.identity_key, federation.coordinator, "the coordinator", "federation"
            )
        self._check_policy()
        self._check_disclosure_rules()
        return self

    def _check_desk(self) -> None:
        desk = self.desk
        # Port 0 picks a free port for each listener, so two zeros never collide.
        if desk is None:
            return
        for key, address in (("listen", desk.listen), ("grpc_listen", desk.grpc_listen)):
            if address is not None and address.port != 0 and address.port == self.node.listen.port:
                raise Problem(
                    f"port {address.port} is the peer-facing port of [node] listen; the desk "
                    "needs a port of its own",
                    "desk",
                    key,
                )
        grpc = desk.grpc_listen
        if grpc is not None and grpc.port != 0 and grpc.port == desk.listen.port:
            raise Problem(
                f"port {grpc.port} is the desk's HTTP port; its gRPC API needs another",
                "desk",
                "grpc_listen",
            )

    def _check_peers(self) -> None:
        first_seen: dict[str, int] = {}
        for position, peer in enumerate(self.peers):
            if peer.id == self.node.id:
                raise Problem(
                    f"{peer.id!r} is this node's own id; a node is not its peer",
                    "peers", position, "id",
                )  # fmt: skip
            if peer.id in first_seen:
                raise Problem(
                    f"duplicate peer id {peer.id!r} (also peers[{first_seen[peer.id]}].id)",
                    "peers", position, "id",
                )  # fmt: skip
            first_seen[peer.id] = position
            _named_after(peer.identity_key, peer.id, "the peer", "peers", position)

    def _known_peer(self, peer: str, *at: str | int) -> None:
        # Under a federation the peers come from its directory, so any node id may be named.
        # Only a policy rule may name every peer at once.
        known = peer in {p.id for p in self.peers} or (peer == ANY_PEER and at[0] == "policy")
        if not (known or (self.federation is not None and is_valid_node_id(peer))):
            raise Problem(f"unknown peer {peer!r} (no [[peers]] entry has this id)", *at, "peer")

    def _known_datasets(self, datasets: Sequence[str], *at: str | int) -> None:
        for position, name in enumerate(datasets):
            if name not in self.datasets:
                raise Problem(
                    f"unknown dataset {name!r} (no [datasets.<name>] table has this name)",
                    *at, "datasets", position,
                )  # fmt: skip

    def _check_policy(self) -> None:
        # (peer, dataset) -> the rule that granted it first.
        granted: dict[tuple[str, str], int] = {}
        limit = self.limits.max_batch
        for index, rule in enumerate(self.policy):
            self._known_peer(rule.peer, "policy", index)
            self._known_datasets(rule.datasets, "policy", index)
            for position, name in enumerate(rule.datasets):
                if (rule.peer, name) in granted:
                    raise Problem(
                        f"peer {rule.peer!r} already has a rule for dataset {name!r} "
                        f"(policy[{granted[rule.peer, name]}])",
                        "policy", index, "datasets", position,
                    )  # fmt: skip
                granted[rule.peer, name] = index
            if rule.max_batch is not None and rule.max_batch > limit:
                raise Problem(
                    f"{rule.max_batch} is above limits.max_batch = {limit}",
                    "policy", index, "max_batch",
                )  # fmt: skip

    def _check_disclosure_rules(self) -> None:
        names: set[str] = set()
        for index, rule in enumerate(self.disclosure_rules):
            if rule.name in names:
                raise Problem(
                    f"another rule is named {rule.name!r}", "disclosure_rules", index, "name"
                )
            names.add(rule.name)
            self._known_peer(rule.peer, "disclosure_rules", index)
            self._known_datasets(rule.datasets, "disclosure_rules", index)
            for position, field_name in enumerate(rule.fields):
                for dataset in rule.datasets:
                    releasable = self.datasets[dataset].releasable_fields
                    if releasable is not None and field_name not in releasable:
                        raise Problem(
                            f"dataset {dataset} never releases {field_name}",
                            "disclosure_rules", index, "fields", position,
                        )  # fmt: skip

    def config(self, directory: Path) -> NodeConfig:
        """The configuration this file describes, paths resolved against `directory`."""
        # The tables whose keys are named as the fields of their dataclass are passed whole.
        node, limits = self.node, self.limits
        return NodeConfig(
            directory=directory,
            node=NodeSettings(node.id, node.country, node.listen, directory / node.database),
            keys=self.keys.settings(directory),
            limits=Limits(**dict(limits)),
            peers=tuple(
                Peer(**{**dict(peer), "datasets": tuple(peer.datasets)}) for peer in self.peers
            ),
            datasets=tuple(
                Dataset(
                    name,
                    table.suite,
                    table.mode,
                    table.pad_to_bucket,
                    table.description,
                    None if table.releasable_fields is None else tuple(table.releasable_fields),
                )
                for name, table in self.datasets.items()
            ),
            policy=tuple(
                PolicyRule(
                    rule.peer,
                    tuple(rule.datasets),
                    tuple(rule.modes),
                    limits.max_batch if rule.max_batch is None else rule.max_batch,
                    rule.daily_quota,
                )
                for rule in self.policy
            ),
            disclosure_rules=tuple(
                StandingRule(
                    name=rule.name,
                    peer=rule.peer,
                    datasets=tuple(rule.datasets),
                    fields=tuple(rule.fields),
                    urgencies=tuple(rule.urgency or (Urgency.URGENT, Urgency.STANDARD)),
                    handling=tuple(rule.handling),
                    expiry=timedelta(days=rule.expiry_days),
                    contact=rule.contact,
                )
                for rule in self.disclosure_rules
            ),
            federation=None
            if self.federation is None
            else FederationSettings(**dict(self.federation)),
            desk=None if self.desk is None else DeskSettings(**dict(self.desk)),
        )


def _parse(document: dict[str, Any], path: Path) -> NodeConfig:
    return validate(_NodeFile, document, path).config(path.absolute().parent)


def load_config(path: Path) -> NodeConfig:
    """Read and check `node.toml` at `path`; relative paths in it resolve against its directory.

    Raises:
        InputError: `<file>: <key path>: <problem>` for an unreadable file, invalid TOML, a
            missing or unknown key, a value of the wrong type or out of range, a duplicate peer
            id, or a policy rule naming an unknown peer or dataset.
    """
    document = read_document(
        path, max_size=_MAX_CONFIG_SIZE, kind="node configuration", name="configuration"
    )
    return _parse(document, path)


# Writing.


def _relative(path: Path, directory: Path) -> str:
    # Paths inside the node directory are written relative to it, so the directory can move.
    try:
        return path.relative_to(directory).as_posix()
    except ValueError:
        return str(path)


def _handling_text(handling: Handling) -> str:
    return f"{handling.code.value}:{handling.text}" if handling.text else handling.code.value


def _document(config: NodeConfig) -> dict[str, Any]:
    """The plain TOML values of `config`, every key written out."""
    node, keys, limits = config.node, config.keys, config.limits
    document: dict[str, Any] = {
        "node": {
            "id": node.id,
            "country": node.country,
            "listen": str(node.listen),
            "database": _relative(node.database, config.directory),
        },
        "keys": {},
        "limits": {
            "max_batch": limits.max_batch,
            "max_message_bytes": limits.max_message_bytes,
            "deadline_seconds": float(limits.deadline_seconds),
            "sync_deadline_seconds": float(limits.sync_deadline_seconds),
        },
    }
    if keys.passphrase_env is not None:
        document["keys"]["passphrase_env"] = keys.passphrase_env
    if keys.passphrase_file is not None:
        document["keys"]["passphrase_file"] = _relative(keys.passphrase_file, config.directory)
    if config.federation is not None:
        federation = config.federation
        document["federation"] = {
            "coordinator": federation.coordinator,
            "endpoint": str(federation.endpoint),
            "identity_key": federation.identity_key.verifier_key(),
            "refresh_seconds": float(federation.refresh_seconds),
        }
        if federation.certificate_fingerprint is not None:
            document["federation"]["certificate_fingerprint"] = federation.certificate_fingerprint
    if config.desk is not None:
        document["desk"] = {
            "listen": str(config.desk.listen),
            "sync_interval": float(config.desk.sync_interval),
            "max_index_age": float(config.desk.max_index_age),
            **(
                {}
                if config.desk.grpc_listen is None
                else {"grpc_listen": str(config.desk.grpc_listen)}
            ),
        }
    if config.peers:
        document["peers"] = [
            {
                "id": peer.id,
                "endpoint": str(peer.endpoint),
                **(
                    {}
                    if peer.certificate_fingerprint is None
                    else {"certificate_fingerprint": peer.certificate_fingerprint}
                ),
                "identity_key": peer.identity_key.verifier_key(),
                **({"datasets": list(peer.datasets)} if peer.datasets else {}),
            }
            for peer in config.peers
        ]
    if config.datasets:
        document["datasets"] = {
            dataset.name: {
                "suite": dataset.suite.value.identifier,
                "mode": dataset.mode.name,
                "pad_to_bucket": dataset.pad_to_bucket,
                "description": dataset.description,
                **(
                    {}
                    if dataset.releasable_fields is None
                    else {"releasable_fields": list(dataset.releasable_fields)}
                ),
            }
            for dataset in config.datasets
        }
    if config.policy:
        document["policy"] = [
            {
                "peer": rule.peer,
                "datasets": list(rule.datasets),
                "modes": [mode.value for mode in rule.modes],
                "max_batch": rule.max_batch,
                "daily_quota": rule.daily_quota,
            }
            for rule in config.policy
        ]
    if config.disclosure_rules:
        document["disclosure_rules"] = [
            {
                "name": rule.name,
                "peer": rule.peer,
                "datasets": list(rule.datasets),
                "fields": list(rule.fields),
                "urgency": [urgency.value for urgency in rule.urgencies],
                "handling": [_handling_text(handling) for handling in rule.handling],
                "expiry_days": rule.expiry.days,
                "contact": rule.contact,
            }
            for rule in config.disclosure_rules
        ]
    return document


_KEYS_COMMENT: Final = (
    "Where the passphrase of the private keys in keys/ comes from; never the passphrase."
)
_LIMITS_COMMENT: Final = (
    "max_batch: the most elements in one request, whoever asks. Elements are match keys,",
    "about 10 per person checked, so 4096 is a check of about 400 people in one request.",
)
# Written into a fresh configuration so that an operator sees the shape of what comes next.
_EXAMPLE_SECTIONS: Final = (
    "Peers, datasets and policy, for example. Both sides declare each other in [[peers]]; the",
    "owner of records declares its datasets and a [[policy]] rule for each peer that may query",
    "them; a querier may list what a peer offers with datasets = [...] in its [[peers]] entry.",
    "",
    "[[peers]]",
    'id = "de-bka"',
    'endpoint = "bka.example.de:7443"',
    'certificate_fingerprint = "sha256:..."   # optional pin of its mTLS certificate',
    'identity_key = "de-bka+1a2b3c4d+AQ..."   # as printed by its `blindhit init`',
    'datasets = ["persons"]                   # what it offers, for checks of every dataset',
    "",
    "[datasets.persons]",
    'suite = "ristretto255-SHA512"            # or "P256-SHA256"',
    'mode = "OPRF"                            # or "VOPRF", "POPRF"',
    "pad_to_bucket = false",
    'description = "Wanted persons"',
    "",
    "[[policy]]                               # without a rule a peer may query nothing",
    'peer = "de-bka"',
    'datasets = ["persons"]',
    'modes = ["index", "owner-match"]',
    "max_batch = 1024                         # elements a request: match keys, ~10 per person",
    "daily_quota = 100000                     # elements per UTC day",
)


def render_config(config: NodeConfig) -> str:
    """Return the TOML text of a new file holding `config`, with comments for its reader.

    Relative paths are relative to `config.directory`.

    Raises:
        InputError: a value has no TOML encoding.
    """
    document = tomlkit.document()
    document.add(
        tomlkit.comment("blindhit node configuration. Paths are relative to this file's directory.")
    )
    document.add(tomlkit.nl())
    for key, value in _document(config).items():
        if key == "keys":
            # The comment opens the table's body, so that it sits right below [keys].
            keys = tomlkit.table()
            keys.add(tomlkit.comment(_KEYS_COMMENT))
            for name, entry in value.items():
                keys.add(name, to_item(entry))
            document.add(key, keys)
        elif key == "limits":
            limits = tomlkit.table()
            for line in _LIMITS_COMMENT:
                limits.add(tomlkit.comment(line))
            for name, entry in value.items():
                limits.add(name, to_item(entry))
            document.add(key, limits)
        else:
            document.add(key, to_item(value))
    if not (config.peers or config.datasets or config.policy):
        document.add(tomlkit.nl())
        for line in _EXAMPLE_SECTIONS:
            document.add(tomlkit.comment(line))
    return tomlkit.dumps(document)


def write_config(path: Path, config: NodeConfig) -> None:
    """Write `config` to a new file `path` (mode 0600); an existing file is never replaced.

    Raises:
        InputError: the file exists or cannot be written, or a value has no TOML encoding.
    """
    create_file(path, render_config(config))


def update_config(path: Path, config: NodeConfig) -> None:
    """Rewrite the existing node.toml at `path` so that it holds `config`, keeping its comments.

    Only the values that differ from what the file holds now are changed (`node.tomlfile`);
    the new text is checked to load as `config`, written beside the file, synced and renamed
    over it, so a failure leaves the old file in place.

    Raises:
        InputError: the file cannot be read or is not a valid configuration, a value has no
            TOML encoding, or the new file cannot be written.
    """
    text = read_text(
        path, max_size=_MAX_CONFIG_SIZE, kind="node configuration", name="configuration"
    )
    current = _parse(parse_text(text, path), path)
    edited = tomlkit.parse(text)
    edit_document(edited, _document(current), _document(config))
    new_text = tomlkit.dumps(edited)
    if _parse(parse_text(new_text, path), path) != config:
        raise InputError(f"{path}: cannot be edited in place to hold the new configuration")
    staging = path.with_name(f".{path.name}.partial")
    staging.unlink(missing_ok=True)
    create_file(staging, new_text)
    staging.replace(path)
