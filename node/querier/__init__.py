"""The querier's side of a check: what a node does to ask its peers.

The checker (one check against many peers), the client of one peer and of the coordinating
node's relay, the cache of peers' match indexes, the querier's disclosure desk, and the member's
view of its federation (membership).
"""

__all__: list[str] = []
