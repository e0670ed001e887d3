"""What every blindhit gRPC server and client shares: statuses for domain errors, stopping, options.

A servicer method wrapped in `rpc` turns the domain errors it raises into gRPC statuses with a
one-line message and no internals: unknown peer UNAUTHENTICATED, not allowed PERMISSION_DENIED,
quota RESOURCE_EXHAUSTED, malformed INVALID_ARGUMENT, stale epoch FAILED_PRECONDITION, storage
UNAVAILABLE. Anything unexpected is logged locally with its traceback and answered INTERNAL
"internal error", so that no request can kill a server or show its insides to a peer.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Final, TypeVar

import grpc

from crypto.errors import (
    BlindhitError,
    CryptoError,
    NotPermitted,
    PeerError,
    PolicyError,
    QuotaExceeded,
    StaleEpoch,
    StorageError,
    UnknownPeer,
)

__all__ = [
    "HANDSHAKE_TIMEOUT_SECONDS",
    "RECONNECT_OPTIONS",
    "RELAY_PEER",
    "SERVER_OPTIONS",
    "Refused",
    "rpc",
    "status_of",
    "stop_on_signals",
]

_log = logging.getLogger("blindhit.node")

HANDSHAKE_TIMEOUT_SECONDS: Final = 5
"""How long a server waits for a new connection to finish its TLS handshake before closing it.

gRPC's own default is 120 s, which lets anyone hold a server's sockets open by connecting and
sending nothing; a peer on the far side of the world completes a handshake in well under one."""

SERVER_OPTIONS: Final[tuple[tuple[str, int], ...]] = (
    ("grpc.server_handshake_timeout_ms", HANDSHAKE_TIMEOUT_SECONDS * 1000),
)
"""Options every blindhit gRPC server is built with, besides its message limits."""

# The transport peer of a connection from the coordinating node, which relays others' requests.
RELAY_PEER: Final = "\x00relay"

RECONNECT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


class Refused(Exception):
    """A refused request: recorded with `reason`, then answered with `error`'s status."""

    def __init__(self, error: BlindhitError, reason: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.reason = reason
        self.context_checked = False
        """Whether the request's purpose fields were valid (so the record may carry them)."""


# The first matching family decides; subclasses come before their parents.
_STATUSES: tuple[tuple[type[BlindhitError], grpc.StatusCode], ...] = (
    (UnknownPeer, grpc.StatusCode.UNAUTHENTICATED),
    (QuotaExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (StaleEpoch, grpc.StatusCode.FAILED_PRECONDITION),
    (NotPermitted, grpc.StatusCode.PERMISSION_DENIED),
    (PolicyError, grpc.StatusCode.PERMISSION_DENIED),
    (PeerError, grpc.StatusCode.INVALID_ARGUMENT),
    (CryptoError, grpc.StatusCode.INVALID_ARGUMENT),
    (StorageError, grpc.StatusCode.UNAVAILABLE),
)


def status_of(error: BlindhitError) -> grpc.StatusCode:
    for family, status in _STATUSES:
        if isinstance(error, family):
            return status
    return grpc.StatusCode.INVALID_ARGUMENT


_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


_Servicer = TypeVar("_Servicer")


def rpc(
    method: Callable[[_Servicer, _Request, grpc.ServicerContext], _Response],
) -> Callable[[_Servicer, _Request, grpc.ServicerContext], _Response]:
    """Map domain errors to statuses with a one-line message; never let a request kill us."""

    @functools.wraps(method)
    def wrapper(self: _Servicer, request: _Request, context: grpc.ServicerContext) -> _Response:
        try:
            return method(self, request, context)
        except Refused as refused:
            context.abort(status_of(refused.error), str(refused.error))
        except BlindhitError as error:
            context.abort(status_of(error), str(error))
        except Exception:
            # context.abort raises from the branches above and passes by this one.
            _log.exception("internal error in %s", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, "internal error")
        raise AssertionError("unreachable")  # pragma: no cover (abort always raises)

    return wrapper


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Yield an event that SIGTERM or SIGINT sets; the previous handlers come back at the end.

    A server runs until the event is set, then stops in order instead of dying mid-request.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
