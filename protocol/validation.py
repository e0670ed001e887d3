"""Validators of the identifiers that the member node and the coordinating node share.

Node ids, country codes, dataset names, certificate fingerprints, environment variable names and
`HOST:PORT` endpoints appear in node.toml, in federation.toml, on the command line and in the
signed directory; both sides check them with the same functions. Each `check_*` returns its
value or raises `InputError` naming `where` (the field or option) and what was expected.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from crypto.errors import InputError

__all__ = [
    "FINGERPRINT_PREFIX",
    "HostPort",
    "check_country",
    "check_dataset_name",
    "check_env_variable",
    "check_fingerprint",
    "check_node_id",
    "is_valid_host",
    "is_valid_node_id",
    "parse_host_port",
    "shown",
]

FINGERPRINT_PREFIX: Final = "sha256:"
# Node ids double as DNS labels and as signed-note key names, so they keep to the letters both
# accept and are never empty or ambiguous: a letter first, no trailing or doubled dash.
_NODE_ID: Final = re.compile(r"[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]")
_NODE_ID_LENGTH: Final = range(3, 64)
_COUNTRY: Final = re.compile(r"[A-Z]{3}")
_DATASET_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_FINGERPRINT: Final = re.compile(r"sha256:[0-9a-f]{64}")
_ENV_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DNS_LABEL: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True, slots=True)
class HostPort:
    """A host (DNS name or IP address, IPv6 without brackets) and a TCP port."""

    host: str
    port: int

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def shown(value: object) -> str:
    """`repr(value)`, cut to 80 characters, for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_valid_node_id(value: str) -> bool:
    """Whether `value` is a node id: a-z, 0-9 and single dashes, 3..63 characters."""
    return len(value) in _NODE_ID_LENGTH and _NODE_ID.fullmatch(value) is not None


def check_node_id(value: str, where: str) -> str:
    """Return `value` if it is a valid node id; raise InputError naming `where` otherwise."""
    if not is_valid_node_id(value):
        raise InputError(
            f"{where}: expected a node id of 3 to 63 characters a-z, 0-9 and '-', starting with "
            f"a letter, e.g. 'fr-ct'; got {shown(value)}"
        )
    return value


def check_country(value: str, where: str) -> str:
    """Return `value` if it has the shape of an ISO 3166-1 alpha-3 code (`FRA`)."""
    if _COUNTRY.fullmatch(value) is None:
        raise InputError(
            f"{where}: expected an ISO 3166-1 alpha-3 country code of three capital letters, "
            f"e.g. 'FRA'; got {shown(value)}"
        )
    return value


def check_dataset_name(value: str, where: str) -> str:
    """Return `value` if it is a dataset name: a-z first, then a-z, 0-9, '_' or '-', <= 63."""
    if _DATASET_NAME.fullmatch(value) is None:
        raise InputError(
            f"{where}: expected a dataset name of a-z, 0-9, '_' and '-' starting with a letter "
            f"(at most 63 characters); got {shown(value)}"
        )
    return value


def check_fingerprint(value: str, where: str) -> str:
    """Return `value` if it is a certificate fingerprint `sha256:<64 lowercase hex digits>`."""
    if _FINGERPRINT.fullmatch(value) is None:
        raise InputError(
            f"{where}: expected a certificate fingerprint 'sha256:' followed by 64 lowercase hex "
            f"digits; got {shown(value)}"
        )
    return value


def check_env_variable(value: str, where: str) -> str:
    """Return `value` if it is an environment variable name (A-Z, a-z, 0-9, '_', no digit first)."""
    if _ENV_VARIABLE.fullmatch(value) is None:
        raise InputError(
            f"{where}: expected an environment variable name (A-Z, a-z, 0-9 and '_', not "
            f"starting with a digit), got {shown(value)}"
        )
    return value


def parse_host_port(text: str, where: str, *, allow_port_zero: bool = False) -> HostPort:
    """Parse `HOST:PORT` (`[IPv6]:PORT` for IPv6). Port 0 only with `allow_port_zero`.

    Raises:
        InputError: naming `where`, for anything that is not a host name or IP address and a
            port number.
    """
    expected = f'{where}: expected HOST:PORT such as "127.0.0.1:7443" or "[::1]:7443"'
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise InputError(f"{expected}; got {shown(text)}")
        port_text = rest[1:]
        if not isinstance(_ip_address(host), ipaddress.IPv6Address):
            raise InputError(f"{where}: expected an IPv6 address in brackets, got {host!r}")
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon or not host or ":" in host:
            raise InputError(f"{expected}; got {shown(text)}")
        if not is_valid_host(host):
            raise InputError(f"{where}: expected a host name or IP address, got {host!r}")
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        raise InputError(f"{where}: expected a port number after ':', got {port_text!r}")
    port = int(port_text)
    lowest = 0 if allow_port_zero else 1
    if not lowest <= port <= 65535:
        raise InputError(f"{where}: expected a port from {lowest} to 65535, got {port}")
    return HostPort(host, port)


def _ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_valid_host(host: str) -> bool:
    """Whether `host` is an IP address literal or a DNS name (letters, digits, '-', dots)."""
    if _ip_address(host) is not None:
        return True
    name = host.removesuffix(".")
    return (
        0 < len(name) <= 253
        and all(_DNS_LABEL.fullmatch(label) is not None for label in name.split("."))
        # A dotted all-digit name would be read as an IPv4 address by some resolvers.
        and not name.replace(".", "").isdigit()
    )
