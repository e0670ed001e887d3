"""The federation directory: who the members are, where they listen, and which keys they hold.

The coordinating node publishes the directory as a signed note (c2sp.org/signed-note) whose text
is the canonical encoding below, signed with its Ed25519 identity key. Members fetch it, open it
with `open_directory` and talk only to the members it lists (`peers_from_directory`).

Text (UTF-8, one record per line, fields separated by single spaces, every line ending in a
newline, nothing else):

```
blindhit directory v1
version 3
issued 2026-01-05T09:30:00Z
coordinator gs-lyon gs.example.org:7400 sha256:<64 hex>
ca sha256:<64 hex>
refresh 300
member de-bka DEU bka.example.de:7443 sha256:<64 hex> de-bka+1a2b3c4d+AQ...
dataset persons ristretto255-SHA512 OPRF - 100000
dataset vehicles P256-SHA256 VOPRF 02ab...<hex> 5000
member fr-ct FRA ct.example.fr:7443 sha256:<64 hex> fr-ct+5e6f7a8b+AQ...
revoked it-sco 2026-01-04T17:00:00Z key-compromise
```

- `version`: decimal without leading zeros, from 1, strictly increasing from one published
  directory to the next. A member never accepts a version older than one it has seen
  (`seen_version`), so a replayed old directory cannot resurrect a revoked member.
- `issued`: when the coordinating node signed it, UTC, whole seconds, RFC 3339 with `Z`.
- `coordinator`: the coordinating node's id (also the key name of the signature), the endpoint
  members reach it at, and the fingerprint of its own mutual-TLS certificate.
- `ca`: the fingerprint of the federation CA certificate, which members install as their trust
  anchor; a member can check that the CA it holds is the one the directory was made under.
- `refresh`: the interval in seconds at which members should fetch the directory again; a
  revoked member is refused by every member within about one interval.
- `member`: id, ISO 3166-1 alpha-3 country, endpoint `HOST:PORT` (`[IPv6]:PORT`), fingerprint
  `sha256:<hex>` of the mTLS certificate the federation CA issued it, and its identity verifier
  key `<member id>+<key ID>+<base64>`, the form of `node.toml`'s `identity_key`.
- `dataset` lines belong to the `member` line above them: name, RFC 9497 suite identifier, mode
  (`OPRF`, `VOPRF`, `POPRF`), the dataset's OPRF public key in lowercase hex (`-` in OPRF mode,
  where the client has nothing to verify; required in the verifiable modes), and the daily quota
  the member offers (elements per UTC day for each querying member).
- `revoked`: a member id that is no longer a member, when and why (`RevocationReason`).

Decisions:

- Line-oriented text rather than JSON: like a tlog checkpoint, it is readable in a terminal,
  diffable between versions, and has exactly one spelling, which the parser enforces (members
  sorted by id, datasets by name, revocations by id; no optional spaces, no leading zeros), so a
  `Directory` and its text convert both ways without loss and equal directories sign equal bytes.
- The first line names the format. It keeps a directory note from ever reading as another kind
  of note signed by the same key (a checkpoint's second line is a bare number).
- A directory from outside is data from a peer: any fault in its text raises `PeerError` naming
  the line; a signature that fails raises `InvalidSignature`; an older version than the one seen
  raises `DirectoryRollback`. Size limits (`DirectoryLimits`) are checked before parsing.
- Revoked members are listed, not just dropped, so that a member can tell an operator why a peer
  it used to know is refused, and so that the coordinating node's decision is itself signed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import pairwise
from typing import Final, TypeVar

from crypto.errors import FederationError, InputError, InvalidEncoding, InvalidSignature, PeerError
from crypto.oprf import Mode, Suite
from crypto.signed_note import Ed25519Signer, Ed25519Verifier, open_note
from protocol.validation import (
    HostPort,
    check_country,
    check_dataset_name,
    check_fingerprint,
    check_node_id,
    parse_host_port,
)

__all__ = [
    "DIRECTORY_HEADER",
    "MAX_REFRESH_SECONDS",
    "MIN_REFRESH_SECONDS",
    "Directory",
    "DirectoryDataset",
    "DirectoryLimits",
    "DirectoryRollback",
    "Member",
    "Peer",
    "Revocation",
    "RevocationReason",
    "decode_directory",
    "encode_directory",
    "format_time",
    "open_directory",
    "parse_time",
    "peers_from_directory",
    "sign_directory",
]

DIRECTORY_HEADER: Final = "blindhit directory v1"
# SQLite stores the version as a signed 64-bit integer.
_MAX_VERSION: Final = 2**63 - 1
_MAX_QUOTA: Final = 10**12
MIN_REFRESH_SECONDS: Final = 10
MAX_REFRESH_SECONDS: Final = 86400
_DECIMAL: Final = re.compile(r"[1-9][0-9]{0,18}")
_TIME: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
_HEX: Final = re.compile(r"(?:[0-9a-f]{2})+")
_NO_PUBLIC_KEY: Final = "-"

_T = TypeVar("_T")


class DirectoryRollback(FederationError):
    """A directory is older than one already seen: a replay or a coordinating node gone back."""


class RevocationReason(StrEnum):
    """Why a member was revoked (after RFC 5280 §5.3.1 CRLReason, in the federation's words)."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "key-compromise"
    """One of the member's keys is known or suspected to be compromised; it is never admitted
    again with the same TLS or identity key."""
    SUPERSEDED = "superseded"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    """The member left the federation."""


@dataclass(frozen=True, slots=True)
class DirectoryLimits:
    """Bounds on a directory a member accepts; generous for 195 members with a few datasets."""

    max_note_bytes: int = 4 * 1024 * 1024
    max_members: int = 1000
    max_datasets_per_member: int = 64
    max_revoked: int = 10000


def format_time(moment: datetime) -> str:
    """Return `moment` (aware, whole seconds) as `YYYY-MM-DDTHH:MM:SSZ` in UTC."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Parse `YYYY-MM-DDTHH:MM:SSZ` into an aware UTC datetime; ValueError if malformed."""
    if _TIME.fullmatch(text) is None:
        raise ValueError(f"expected a UTC time YYYY-MM-DDTHH:MM:SSZ, got {_shown(text)}")
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def _check_time(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"{what}: expected a time with a time zone, got {moment.isoformat()}")
    if moment.microsecond:
        raise InputError(f"{what}: expected whole seconds, got {moment.isoformat()}")


def _first_repeat(sorted_values: Iterable[str]) -> str | None:
    """Return the first value of a sorted sequence that equals its predecessor, or None."""
    return next((second for first, second in pairwise(sorted_values) if first == second), None)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True, slots=True)
class DirectoryDataset:
    """A dataset a member publishes: its OPRF suite and mode, public key and offered quota.

    `public_key` is the serialized group element (RFC 9497 §3.2) of the dataset's current key;
    empty in OPRF mode, required and valid in VOPRF and POPRF modes.
    """

    name: str
    suite: Suite
    mode: Mode
    public_key: bytes
    daily_quota: int

    def __post_init__(self) -> None:
        check_dataset_name(self.name, "dataset name")
        where = f"dataset {self.name}"
        if self.mode is Mode.OPRF:
            if self.public_key:
                raise InputError(
                    f"{where}: an OPRF-mode dataset publishes no public key (clients verify "
                    "nothing in OPRF mode), got one"
                )
        else:
            group = self.suite.value.group
            if len(self.public_key) != group.element_length:
                raise InputError(
                    f"{where}: a {self.mode.name} dataset needs its {group.element_length}-byte "
                    f"{self.suite.value.identifier} public key, got {len(self.public_key)} bytes"
                )
            try:
                group.deserialize_element(self.public_key)
            except InvalidEncoding as exc:
                raise InputError(
                    f"{where}: the public key is not a valid {group.name} element: {exc}"
                ) from exc
        if isinstance(self.daily_quota, bool) or not 1 <= self.daily_quota <= _MAX_QUOTA:
            raise InputError(
                f"{where}: expected a daily quota from 1 to {_MAX_QUOTA}, got {self.daily_quota!r}"
            )


@dataclass(frozen=True, slots=True)
class Member:
    """One member of the federation as the directory lists it. Datasets are kept sorted."""

    id: str
    country: str
    endpoint: HostPort
    certificate_fingerprint: str
    identity_key: Ed25519Verifier
    datasets: tuple[DirectoryDataset, ...] = ()

    def __post_init__(self) -> None:
        check_node_id(self.id, "member id")
        where = f"member {self.id}"
        check_country(self.country, f"{where}: country")
        if not 1 <= self.endpoint.port <= 65535:
            raise InputError(f"{where}: endpoint: expected a port from 1 to 65535")
        check_fingerprint(self.certificate_fingerprint, f"{where}: certificate fingerprint")
        if self.identity_key.name != self.id:
            raise InputError(
                f"{where}: identity key is named {self.identity_key.name!r}; a member's key "
                "must be named after the member"
            )
        datasets = tuple(sorted(self.datasets, key=lambda dataset: dataset.name))
        repeated = _first_repeat(dataset.name for dataset in datasets)
        if repeated is not None:
            raise InputError(f"{where}: dataset {repeated!r} is listed twice")
        object.__setattr__(self, "datasets", datasets)

    def dataset(self, name: str) -> DirectoryDataset | None:
        """Return the dataset named `name`, or None."""
        return next((dataset for dataset in self.datasets if dataset.name == name), None)


@dataclass(frozen=True, slots=True)
class Revocation:
    """A member id that was revoked: when (aware, whole seconds) and why."""

    member_id: str
    revoked_at: datetime
    reason: RevocationReason

    def __post_init__(self) -> None:
        check_node_id(self.member_id, "revoked member id")
        _check_time(self.revoked_at, f"revocation of {self.member_id}")
        try:
            object.__setattr__(self, "reason", RevocationReason(self.reason))
        except ValueError as exc:
            known = ", ".join(reason.value for reason in RevocationReason)
            raise InputError(
                f"revocation of {self.member_id}: expected a reason among {known}, "
                f"got {_shown(self.reason)}"
            ) from exc


@dataclass(frozen=True, slots=True)
class Directory:
    """One version of the federation directory (see the module docstring for each field).

    Members are kept sorted by id and revocations by member id, so that two directories with
    the same content compare equal and encode to the same text.
    """

    version: int
    issued_at: datetime
    coordinator_id: str
    coordinator_endpoint: HostPort
    coordinator_fingerprint: str
    ca_fingerprint: str
    refresh_seconds: int
    members: tuple[Member, ...] = ()
    revoked: tuple[Revocation, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not 1 <= self.version <= _MAX_VERSION:
            raise InputError(f"version: expected 1 to {_MAX_VERSION}, got {self.version}")
        _check_time(self.issued_at, "issue time")
        check_node_id(self.coordinator_id, "coordinator id")
        if not 1 <= self.coordinator_endpoint.port <= 65535:
            raise InputError("coordinator endpoint: expected a port from 1 to 65535")
        check_fingerprint(self.coordinator_fingerprint, "coordinator certificate fingerprint")
        check_fingerprint(self.ca_fingerprint, "CA certificate fingerprint")
        if isinstance(self.refresh_seconds, bool) or not (
            MIN_REFRESH_SECONDS <= self.refresh_seconds <= MAX_REFRESH_SECONDS
        ):
            raise InputError(
                f"refresh interval: expected {MIN_REFRESH_SECONDS} to "
                f"{MAX_REFRESH_SECONDS} seconds, got {self.refresh_seconds!r}"
            )
        members = tuple(sorted(self.members, key=lambda member: member.id))
        revoked = tuple(sorted(self.revoked, key=lambda revocation: revocation.member_id))
        member_ids = [member.id for member in members]
        repeated = _first_repeat(member_ids)
        if repeated is not None:
            raise InputError(f"member {repeated!r} is listed twice")
        revoked_ids = [revocation.member_id for revocation in revoked]
        repeated = _first_repeat(revoked_ids)
        if repeated is not None:
            raise InputError(f"revoked member {repeated!r} is listed twice")
        both = sorted(set(member_ids) & set(revoked_ids))
        if both:
            raise InputError(f"member {both[0]!r} is listed both as a member and as revoked")
        if self.coordinator_id in member_ids or self.coordinator_id in revoked_ids:
            raise InputError(f"the coordinator {self.coordinator_id!r} is not one of the members")
        object.__setattr__(self, "members", members)
        object.__setattr__(self, "revoked", revoked)

    def member(self, member_id: str) -> Member | None:
        """Return the member with id `member_id`, or None (not a member, or revoked)."""
        return next((member for member in self.members if member.id == member_id), None)

    def revocation(self, member_id: str) -> Revocation | None:
        """Return the revocation of `member_id`, or None."""
        return next((item for item in self.revoked if item.member_id == member_id), None)


# Encoding.


def encode_directory(directory: Directory) -> str:
    """Return the canonical text of `directory` (the note text that is signed)."""
    lines = [
        DIRECTORY_HEADER,
        f"version {directory.version}",
        f"issued {format_time(directory.issued_at)}",
        f"coordinator {directory.coordinator_id} {directory.coordinator_endpoint} "
        f"{directory.coordinator_fingerprint}",
        f"ca {directory.ca_fingerprint}",
        f"refresh {directory.refresh_seconds}",
    ]
    for member in directory.members:
        lines.append(
            f"member {member.id} {member.country} {member.endpoint} "
            f"{member.certificate_fingerprint} {member.identity_key.verifier_key()}"
        )
        lines.extend(
            f"dataset {dataset.name} {dataset.suite.value.identifier} {dataset.mode.name} "
            f"{dataset.public_key.hex() or _NO_PUBLIC_KEY} {dataset.daily_quota}"
            for dataset in member.datasets
        )
    lines.extend(
        f"revoked {revocation.member_id} {format_time(revocation.revoked_at)} {revocation.reason}"
        for revocation in directory.revoked
    )
    return "".join(line + "\n" for line in lines)


def _check_limits(directory: Directory, limits: DirectoryLimits) -> None:
    if len(directory.members) > limits.max_members:
        raise InputError(
            f"the directory lists {len(directory.members)} members; members accept at most "
            f"{limits.max_members}"
        )
    if len(directory.revoked) > limits.max_revoked:
        raise InputError(
            f"the directory lists {len(directory.revoked)} revoked members; members accept at "
            f"most {limits.max_revoked}"
        )
    for member in directory.members:
        if len(member.datasets) > limits.max_datasets_per_member:
            raise InputError(
                f"member {member.id} has {len(member.datasets)} datasets; members accept at most "
                f"{limits.max_datasets_per_member}"
            )


def sign_directory(
    directory: Directory, signer: Ed25519Signer, *, limits: DirectoryLimits | None = None
) -> str:
    """Return `directory` as a signed note by the coordinating node's identity key `signer`.

    Refuses what members would refuse: a signer not named after the coordinator, or a directory
    beyond `limits`.

    Raises:
        InputError: the key is not the coordinator's or the directory exceeds the limits.
    """
    limits = limits or DirectoryLimits()
    if signer.name != directory.coordinator_id:
        raise InputError(
            f"the directory of coordinator {directory.coordinator_id!r} must be signed with its "
            f"key, got a key named {signer.name!r}"
        )
    _check_limits(directory, limits)
    note = signer.sign(encode_directory(directory))
    if len(note.encode("utf-8")) > limits.max_note_bytes:
        raise InputError(
            f"the signed directory is larger than the {limits.max_note_bytes} bytes members accept"
        )
    return note


# Decoding.


class _Lines:
    """The lines of a directory text being parsed, with their 1-based numbers for messages."""

    def __init__(self, text: str) -> None:
        if not text.endswith("\n"):
            raise PeerError("directory: expected a text ending in a newline")
        self._lines = text[:-1].split("\n")
        self._next = 0

    @property
    def number(self) -> int:
        """The number of the line last taken."""
        return self._next

    def error(self, problem: str) -> PeerError:
        return PeerError(f"directory line {self._next}: {problem}")

    def next_error(self, problem: str) -> PeerError:
        """An error about the line not yet taken."""
        return PeerError(f"directory line {self._next + 1}: {problem}")

    def peek_keyword(self) -> str | None:
        if self._next >= len(self._lines):
            return None
        return self._lines[self._next].split(" ", 1)[0]

    def take(self, keyword: str, count: int) -> list[str]:
        """Take the next line, which must be `<keyword>` and `count` single-space fields."""
        if self._next >= len(self._lines):
            raise PeerError(
                f"directory: expected a line starting '{keyword}' after line {self._next}"
            )
        line = self._lines[self._next]
        self._next += 1
        fields = line.split(" ")
        if fields[0] != keyword:
            raise self.error(f"expected a line starting '{keyword}', got {_shown(line)}")
        if len(fields) != count + 1 or any(not field for field in fields):
            raise self.error(
                f"expected '{keyword}' and {count} fields separated by single spaces, "
                f"got {_shown(line)}"
            )
        return fields[1:]

    def expect(self, expected: str) -> None:
        """Take the next line, which must be exactly `expected`."""
        line = self._lines[self._next]
        self._next += 1
        if line != expected:
            raise self.error(f"expected {expected!r}, got {_shown(line)}")

    def at_end(self) -> bool:
        return self._next >= len(self._lines)


def _checked(lines: _Lines, check: Callable[[str, str], _T], value: str, what: str) -> _T:
    """Run a validator of `node.config` (raises InputError) and report its fault as a PeerError."""
    try:
        return check(value, what)
    except InputError as exc:
        raise lines.error(str(exc)) from exc


def _decimal(lines: _Lines, text: str, what: str) -> int:
    if _DECIMAL.fullmatch(text) is None:
        raise lines.error(
            f"{what}: expected a positive decimal without leading zeros, got {_shown(text)}"
        )
    return int(text)


def _time(lines: _Lines, text: str, what: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise lines.error(f"{what}: {exc}") from exc


def _dataset(lines: _Lines) -> DirectoryDataset:
    name, suite_text, mode_text, key_text, quota_text = lines.take("dataset", 5)
    suites = {suite.value.identifier: suite for suite in Suite}
    if suite_text not in suites:
        raise lines.error(f"suite: expected one of {', '.join(suites)}, got {_shown(suite_text)}")
    modes = {mode.name: mode for mode in Mode}
    if mode_text not in modes:
        raise lines.error(f"mode: expected one of {', '.join(modes)}, got {_shown(mode_text)}")
    if key_text == _NO_PUBLIC_KEY:
        public_key = b""
    elif _HEX.fullmatch(key_text) is not None:
        public_key = bytes.fromhex(key_text)
    else:
        raise lines.error(
            f"public key: expected lowercase hex or '{_NO_PUBLIC_KEY}', got {_shown(key_text)}"
        )
    quota = _decimal(lines, quota_text, "daily quota")
    try:
        return DirectoryDataset(name, suites[suite_text], modes[mode_text], public_key, quota)
    except InputError as exc:
        raise lines.error(str(exc)) from exc


def _member(lines: _Lines, limits: DirectoryLimits) -> Member:
    member_id, country, endpoint_text, fingerprint, key_text = lines.take("member", 5)
    _checked(lines, check_node_id, member_id, "member id")
    _checked(lines, check_country, country, "country")
    endpoint = _checked(lines, parse_host_port, endpoint_text, "endpoint")
    _checked(lines, check_fingerprint, fingerprint, "certificate fingerprint")
    try:
        identity_key = Ed25519Verifier.from_verifier_key(key_text)
    except InvalidEncoding as exc:
        raise lines.error(f"identity key: expected <name>+<key ID>+<base64>: {exc}") from exc
    line = lines.number
    datasets: list[DirectoryDataset] = []
    while lines.peek_keyword() == "dataset":
        if len(datasets) == limits.max_datasets_per_member:
            raise lines.next_error(
                f"more than {limits.max_datasets_per_member} datasets for a member"
            )
        dataset = _dataset(lines)
        if datasets and dataset.name <= datasets[-1].name:
            raise lines.error(
                f"dataset {dataset.name!r} is out of order or repeated (datasets are sorted by "
                "name)"
            )
        datasets.append(dataset)
    try:
        return Member(member_id, country, endpoint, fingerprint, identity_key, tuple(datasets))
    except InputError as exc:
        raise PeerError(f"directory line {line}: {exc}") from exc


def _revocation(lines: _Lines) -> Revocation:
    member_id, time_text, reason_text = lines.take("revoked", 3)
    _checked(lines, check_node_id, member_id, "revoked member id")
    revoked_at = _time(lines, time_text, "revocation time")
    try:
        reason = RevocationReason(reason_text)
    except ValueError as exc:
        known = ", ".join(reason.value for reason in RevocationReason)
        raise lines.error(f"reason: expected one of {known}, got {_shown(reason_text)}") from exc
    return Revocation(member_id, revoked_at, reason)


def decode_directory(text: str, *, limits: DirectoryLimits | None = None) -> Directory:
    """Parse the canonical text of a directory, refusing anything but the one canonical spelling.

    Only text whose signature has been verified should be given here (`open_directory` does
    both).

    Raises:
        PeerError: `directory line <n>: <problem>` for the first fault.
    """
    limits = limits or DirectoryLimits()
    lines = _Lines(text)
    lines.expect(DIRECTORY_HEADER)
    (version_text,) = lines.take("version", 1)
    version = _decimal(lines, version_text, "version")
    (issued_text,) = lines.take("issued", 1)
    issued_at = _time(lines, issued_text, "issue time")
    coordinator_id, endpoint_text, coordinator_fingerprint = lines.take("coordinator", 3)
    _checked(lines, check_node_id, coordinator_id, "coordinator id")
    coordinator_endpoint = _checked(lines, parse_host_port, endpoint_text, "coordinator endpoint")
    _checked(lines, check_fingerprint, coordinator_fingerprint, "coordinator fingerprint")
    (ca_fingerprint,) = lines.take("ca", 1)
    _checked(lines, check_fingerprint, ca_fingerprint, "CA certificate fingerprint")
    (refresh_text,) = lines.take("refresh", 1)
    refresh_seconds = _decimal(lines, refresh_text, "refresh interval")
    members: list[Member] = []
    while lines.peek_keyword() == "member":
        if len(members) == limits.max_members:
            raise lines.next_error(f"more than {limits.max_members} members")
        line = lines.number + 1
        member = _member(lines, limits)
        if members and member.id <= members[-1].id:
            raise PeerError(
                f"directory line {line}: member {member.id!r} is out of order or repeated "
                "(members are sorted by id)"
            )
        members.append(member)
    revoked: list[Revocation] = []
    while lines.peek_keyword() == "revoked":
        if len(revoked) == limits.max_revoked:
            raise lines.next_error(f"more than {limits.max_revoked} revoked members")
        revocation = _revocation(lines)
        if revoked and revocation.member_id <= revoked[-1].member_id:
            raise lines.error(
                f"revoked member {revocation.member_id!r} is out of order or repeated "
                "(revocations are sorted by member id)"
            )
        revoked.append(revocation)
    if not lines.at_end():
        raise lines.next_error(
            f"unexpected line starting {_shown(lines.peek_keyword())}: after the header lines "
            "come only 'member' lines (each followed by its 'dataset' lines), then 'revoked' lines"
        )
    try:
        directory = Directory(
            version,
            issued_at,
            coordinator_id,
            coordinator_endpoint,
            coordinator_fingerprint,
            ca_fingerprint,
            refresh_seconds,
            tuple(members),
            tuple(revoked),
        )
    except InputError as exc:
        raise PeerError(f"directory: {exc}") from exc
    # Every field was checked for its one spelling above, so this holds by construction; it is
    # checked anyway because it is the property signers and verifiers rely on (equal directories,
    # equal bytes), and a field added later without a strict check must not weaken it silently.
    if encode_directory(directory) != text:
        raise PeerError("directory: the text is not in canonical form")
    return directory


def open_directory(
    note: str | bytes,
    verifier: Ed25519Verifier,
    *,
    seen_version: int | None,
    limits: DirectoryLimits | None = None,
) -> Directory:
    """Verify a signed directory by the coordinating node's key and return it.

    `seen_version` is the newest version this member accepted before (None for none). The same
    version is accepted again (a refresh with nothing new); an older one is refused.

    Raises:
        PeerError: the note or its text is malformed or exceeds `limits`, or it names another
            coordinator than the key that signed it.
        InvalidSignature: the coordinating node's key did not sign it.
        DirectoryRollback: its version is older than `seen_version`.
    """
    limits = limits or DirectoryLimits()
    size = len(note) if isinstance(note, bytes) else len(note.encode("utf-8", "replace"))
    if size > limits.max_note_bytes:
        raise PeerError(
            f"directory: {size} bytes, larger than the {limits.max_note_bytes} bytes accepted"
        )
    try:
        opened = open_note(note, verifier)
    except InvalidEncoding as exc:
        raise PeerError(f"directory: not a signed note: {exc}") from exc
    except InvalidSignature as exc:
        raise InvalidSignature(f"directory: {exc}") from exc
    directory = decode_directory(opened.text, limits=limits)
    if directory.coordinator_id != verifier.name:
        raise PeerError(
            f"directory: names coordinator {directory.coordinator_id!r} but is signed by "
            f"{verifier.name!r}"
        )
    if seen_version is not None and directory.version < seen_version:
        raise DirectoryRollback(
            f"directory version {directory.version} is older than version {seen_version} already "
            "seen; refusing a rollback"
        )
    return directory


# Use by members.


@dataclass(frozen=True, slots=True)
class Peer:
    """Another member node, as a node talks to it: from `[[peers]]` or from the directory."""

    id: str
    endpoint: HostPort
    identity_key: Ed25519Verifier
    certificate_fingerprint: str | None = None
    datasets: tuple[str, ...] = ()
    """The datasets it offers, by name (from the directory, or `[[peers]] datasets`)."""


def peers_from_directory(directory: Directory, own_id: str) -> tuple[Peer, ...]:
    """Return the peers node `own_id` may talk to: every member of `directory` but itself.

    Each peer carries the certificate fingerprint the directory lists, so a member pins its
    peers' certificates and a replaced or revoked certificate is refused even though it chains to
    the federation CA. Revoked members are not members, so they are never among the peers. The
    coordinating node (`own_id` equal to its id) gets every member.

    Raises:
        FederationError: `own_id` is neither a member nor the coordinator (for instance it was
            revoked): it has no peers.
    """
    if own_id != directory.coordinator_id and directory.member(own_id) is None:
        revocation = directory.revocation(own_id)
        why = (
            f"it was revoked at {format_time(revocation.revoked_at)} ({revocation.reason})"
            if revocation is not None
            else "it is not listed"
        )
        raise FederationError(
            f"node {own_id!r} is not a member in directory version {directory.version}: {why}"
        )
    return tuple(
        Peer(
            member.id,
            member.endpoint,
            member.identity_key,
            member.certificate_fingerprint,
            tuple(dataset.name for dataset in member.datasets),
        )
        for member in directory.members
        if member.id != own_id
    )
