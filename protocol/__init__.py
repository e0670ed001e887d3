"""Match keys and the querier/owner/disclosure state machines: pure functions, no I/O."""

from protocol.errors import (
    BlindhitError,
    FederationError,
    InputError,
    NotPermitted,
    PeerError,
    PolicyError,
    QuotaExceeded,
    StaleEpoch,
    StorageError,
    UnknownPeer,
)

__all__ = [
    "BlindhitError",
    "FederationError",
    "InputError",
    "NotPermitted",
    "PeerError",
    "PolicyError",
    "QuotaExceeded",
    "StaleEpoch",
    "StorageError",
    "UnknownPeer",
]
