"""Error families of blindhit, named by where a fault comes from.

The root `BlindhitError` is defined in `crypto.errors` (the innermost package) and re-exported
here. Each family maps to one way of reporting: `InputError` to a one-line CLI message and a
non-zero exit, `PeerError` to `INVALID_ARGUMENT`, `PolicyError` to `PERMISSION_DENIED` and its
relatives, and so on.
"""

from __future__ import annotations

from crypto.errors import BlindhitError

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


class InputError(BlindhitError):
    """A file, field or argument given by the local user is malformed."""


class PeerError(BlindhitError):
    """A peer node sent data that does not decode or does not verify."""


class StaleEpoch(PeerError):
    """A request names an epoch of a dataset that is no longer the current one."""


class PolicyError(BlindhitError):
    """A request is well formed but this node's policy does not allow it."""


class UnknownPeer(PolicyError):
    """The caller is not a peer this node knows (no such member, or its identity fails)."""


class NotPermitted(PolicyError):
    """A known peer asked for something its policy rule does not allow."""


class QuotaExceeded(PolicyError):
    """A known peer has used its quota for the period."""


class StorageError(BlindhitError):
    """The node's database or files cannot be read or written as expected."""


class FederationError(BlindhitError):
    """Membership, directory or coordinating-node state is inconsistent or refused."""
