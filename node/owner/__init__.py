"""The owner's side of a check: what a node does when a peer asks it.

The Match and Disclosure servicers (thin adapters over `protocol/`), the peer-facing gRPC server,
the policy that admits requests, the owner's disclosure desk, and `blindhit serve`.
"""

__all__: list[str] = []
