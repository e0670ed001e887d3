"""Match keys and the querier/owner/disclosure state machines: pure functions, no I/O."""

from protocol.errors import (
    BlindhitError,
    FederationError,
    InputError,
    PeerError,
    PolicyError,
    StorageError,
)

__all__ = [
    "BlindhitError",
    "FederationError",
    "InputError",
    "PeerError",
    "PolicyError",
    "StorageError",
]
