"""Merkle hash trees of RFC 9162 §2.1 (Certificate Transparency v2) over SHA-256.

The audit log of every node is an append-only list of entries whose Merkle tree head is signed in
checkpoints. This module computes that tree head and the two proofs a log serves, and verifies
them, byte for byte as RFC 9162 §2.1 defines them, so any Certificate-Transparency-style verifier
can check a blindhit log:

- leaf hash `SHA-256(0x00 || entry)` and interior node hash `SHA-256(0x01 || left || right)`
  (§2.1.1); the hash of the empty tree is `SHA-256("")`;
- inclusion proofs, `PATH(m, D[n])` (§2.1.3.1), verified by the algorithm of §2.1.3.2;
- consistency proofs, `PROOF(m, D[n])` built from `SUBPROOF` (§2.1.4.1), verified by the
  algorithm of §2.1.4.2.

Storage model. Storage lives outside `crypto/`; this module only says which hashes it needs. A
stored node is a *perfect* subtree named by `NodeId(level, index)`: it covers the leaves
`[index * 2**level, (index + 1) * 2**level)`, and level 0 holds the leaf hashes. Every perfect
subtree is final as soon as its last leaf is appended, so a log stores each one once
(`nodes_on_append`, O(log n) per entry) and never rebuilds. A subtree on the right edge of a tree
whose size is not a power of two is *ephemeral*: it is never stored, and is folded from the stored
perfect subtrees that decompose it, right to left with the node hash.

Which node ids a root or a proof needs is a pure function of the tree sizes and the index
(`root_node_ids`, `inclusion_proof_node_ids`, `consistency_proof_node_ids`). The functions that
produce hashes take a `fetch` callback and call it exactly once with every id they need, so a
database backend answers a whole proof with one query.

Invariants. Every hash is 32 bytes. Verification checks its preconditions first (index below
size, sizes in order, hash lengths, the exact proof length the sizes imply), then runs the RFC
algorithm, and raises `InvalidProof` on any failure; it never returns False. Producing a proof
for arguments that describe no proof raises `InvalidInput`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Final, NamedTuple, NewType

from crypto.errors import InvalidInput, InvalidProof

__all__ = [
    "EMPTY_ROOT_HASH",
    "HASH_SIZE",
    "LeafHash",
    "MemoryNodeStore",
    "NodeFetcher",
    "NodeHash",
    "NodeId",
    "RootHash",
    "consistency_proof",
    "consistency_proof_node_ids",
    "inclusion_proof",
    "inclusion_proof_node_ids",
    "leaf_hash",
    "node_hash",
    "nodes_on_append",
    "nodes_on_append_node_ids",
    "perfect_subtree_levels",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "root_hash",
    "root_node_ids",
    "verify_consistency",
    "verify_inclusion",
]

LeafHash = NewType("LeafHash", bytes)
"""`SHA-256(0x00 || entry)`: the hash of one log entry (RFC 9162 §2.1.1)."""

NodeHash = NewType("NodeHash", bytes)
"""`SHA-256(0x01 || left || right)`: the hash of an interior node (RFC 9162 §2.1.1)."""

RootHash = NewType("RootHash", bytes)
"""`MTH(D[n])`: the Merkle Tree Hash of a whole tree of n leaves (RFC 9162 §2.1.1)."""

HASH_SIZE: Final = 32
_sha256: Final = hashlib.sha256
# RFC 9162 §2.1.1 separates leaf hashes from node hashes by a one-byte prefix, so that no leaf can
# be passed off as an interior node (a second-preimage attack on the tree).
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
EMPTY_ROOT_HASH: Final = RootHash(_sha256(b"").digest())
"""The hash of the empty tree, `SHA-256("")` (RFC 9162 §2.1.1)."""


class NodeId(NamedTuple):
    """A perfect subtree: leaves `[index * 2**level, (index + 1) * 2**level)`; level 0 is a leaf."""

    level: int
    # The field shadows tuple.index(), which no caller of a node id needs; the name is the one
    # the storage model uses throughout.
    index: int  # type: ignore[assignment]


NodeFetcher = Callable[[Sequence[NodeId]], Sequence[bytes]]
"""Storage callback: the stored hashes of the given perfect subtrees, in the same order."""


def leaf_hash(entry: bytes) -> LeafHash:
    """Return the leaf hash of one log entry, `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1)."""
    return LeafHash(_sha256(_LEAF_PREFIX + entry).digest())


def node_hash(left: bytes, right: bytes) -> NodeHash:
    """Return the interior node hash `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1)."""
    return NodeHash(_sha256(_NODE_PREFIX + left + right).digest())


# ---------------------------------------------------------------------------------------------
# Which nodes: pure functions of sizes and indexes.
# ---------------------------------------------------------------------------------------------


def _split(n: int) -> int:
    """Return k, the largest power of two smaller than n (n >= 2), as RFC 9162 §2.1.1 splits."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_node_ids(begin: int, end: int) -> tuple[NodeId, ...]:
    """Return the perfect subtrees, left to right, that decompose the leaves `[begin, end)`.

    Callers pass only ranges that start on a multiple of the largest power of two not above
    `end - begin`, which every subtree of an RFC 9162 tree does; the decomposition then follows
    the binary digits of the range's size, largest first.
    """
    ids: list[NodeId] = []
    cursor = begin
    remaining = end - begin
    level = remaining.bit_length() - 1
    while remaining:
        width = 1 << level
        if remaining & width:
            ids.append(NodeId(level, cursor >> level))
            cursor += width
            remaining -= width
        level -= 1
    return tuple(ids)


def root_node_ids(size: int) -> tuple[NodeId, ...]:
    """Return the stored subtrees, left to right, whose right-to-left fold is `MTH(D[size])`.

    The empty tree needs no node: its hash is `EMPTY_ROOT_HASH`.
    """
    _check_size(size)
    return _range_node_ids(0, size)


def inclusion_proof_node_ids(index: int, size: int) -> list[tuple[NodeId, ...]]:
    """Return, for each hash of `PATH(index, D[size])`, the stored subtrees that make it.

    The list is in proof order (the leaf's sibling first, RFC 9162 §2.1.3.1). Each entry holds
    one id for a perfect subtree, or several for an ephemeral subtree on the right edge, which is
    the right-to-left fold of their hashes.

    Raises:
        InvalidInput: `index` is not below `size`.
    """
    _check_index(index, size)
    # RFC 9162 §2.1.3.1 recurses into the half of the tree that holds the leaf and records the
    # other half's hash after the inner path; walking down from the top therefore meets the
    # proof's hashes in reverse order.
    siblings: list[tuple[NodeId, ...]] = []
    begin, end = 0, size
    while end - begin > 1:
        k = _split(end - begin)
        middle = begin + k
        if index < middle:
            siblings.append(_range_node_ids(middle, end))
            end = middle
        else:
            siblings.append(_range_node_ids(begin, middle))
            begin = middle
    siblings.reverse()
    return siblings


def consistency_proof_node_ids(size1: int, size2: int) -> list[tuple[NodeId, ...]]:
    """Return, for each hash of `PROOF(size1, D[size2])`, the stored subtrees that make it.

    The proof is empty when the sizes are equal (RFC 9162 §2.1.4.1: `SUBPROOF(m, D[m], true)`).
    Entries are as in `inclusion_proof_node_ids`.

    Raises:
        InvalidInput: `size1` is 0 (RFC 9162 §2.1.4 defines proofs only for `0 < m`) or above
            `size2`.
    """
    _check_size(size2)
    if not 0 < size1 <= size2:
        raise InvalidInput(
            f"expected 0 < size1 <= size2 for a consistency proof (RFC 9162 §2.1.4.1), "
            f"got size1={size1}, size2={size2}"
        )
    # SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, unrolled: each step appends the hash of the
    # half it does not descend into after the inner subproof, so those hashes are collected in
    # reverse; the recursion ends on a subtree equal to the old tree, whose own hash is part of
    # the proof only if the walk ever went right (b = false).
    outer: list[tuple[NodeId, ...]] = []
    begin, end = 0, size2
    known_subtree = True
    while size1 != end:
        k = _split(end - begin)
        middle = begin + k
        if size1 <= middle:
            outer.append(_range_node_ids(middle, end))
            end = middle
        else:
            outer.append(_range_node_ids(begin, middle))
            begin = middle
            known_subtree = False
    outer.reverse()
    if known_subtree:
        return outer
    return [_range_node_ids(begin, end), *outer]


def nodes_on_append_node_ids(index: int) -> tuple[NodeId, ...]:
    """Return the stored left siblings needed to complete the subtrees closed by leaf `index`.

    Appending leaf `index` completes one perfect subtree per trailing one bit of `index`: at each
    of those levels the new node is a right child, and its parent needs the left sibling.
    """
    if index < 0:
        raise InvalidInput(f"expected a leaf index >= 0, got {index}")
    ids: list[NodeId] = []
    level = 0
    node = index
    while node & 1:
        ids.append(NodeId(level, node - 1))
        node >>= 1
        level += 1
    return tuple(ids)


# ---------------------------------------------------------------------------------------------
# Hashes from storage: one fetch per root, proof or append.
# ---------------------------------------------------------------------------------------------


def _fetch_all(fetch: NodeFetcher, ids: Sequence[NodeId]) -> Sequence[bytes]:
    """Call `fetch` once and check that it answered one 32-byte hash per id."""
    hashes = fetch(ids)
    if len(hashes) != len(ids):
        raise InvalidInput(f"expected {len(ids)} node hashes from storage, got {len(hashes)}")
    for node_id, value in zip(ids, hashes, strict=True):
        if len(value) != HASH_SIZE:
            raise InvalidInput(
                f"expected a {HASH_SIZE}-byte hash for node {tuple(node_id)}, "
                f"got {len(value)} bytes"
            )
    return hashes


def _fold(hashes: Sequence[bytes], start: int, stop: int) -> bytes:
    """Fold `hashes[start:stop]` right to left with the node hash (an ephemeral subtree).

    The perfect subtrees that decompose a range shrink from left to right, so RFC 9162 §2.1.1's
    split puts the first one on the left and everything after it on the right, recursively.
    """
    sha = _sha256
    prefix = _NODE_PREFIX
    value = hashes[stop - 1]
    for position in range(stop - 2, start - 1, -1):
        value = sha(prefix + hashes[position] + value).digest()
    return value


def _hashes_for_groups(groups: Sequence[tuple[NodeId, ...]], fetch: NodeFetcher) -> list[bytes]:
    """Fetch every id of `groups` in one call and fold each group into one hash."""
    flat = [node_id for group in groups for node_id in group]
    if not flat:
        return []
    hashes = _fetch_all(fetch, flat)
    result: list[bytes] = []
    start = 0
    for group in groups:
        stop = start + len(group)
        result.append(hashes[start] if stop - start == 1 else _fold(hashes, start, stop))
        start = stop
    return result


def root_hash(size: int, fetch: NodeFetcher) -> RootHash:
    """Return `MTH(D[size])` (RFC 9162 §2.1.1) from the stored perfect subtrees.

    `fetch` is not called for the empty tree.
    """
    ids = root_node_ids(size)
    if not ids:
        return EMPTY_ROOT_HASH
    hashes = _fetch_all(fetch, ids)
    return RootHash(bytes(_fold(hashes, 0, len(hashes))))


def inclusion_proof(index: int, size: int, fetch: NodeFetcher) -> list[bytes]:
    """Return the inclusion proof `PATH(index, D[size])` (RFC 9162 §2.1.3.1).

    Raises:
        InvalidInput: `index` is not below `size`, or storage answered the wrong hashes.
    """
    return _hashes_for_groups(inclusion_proof_node_ids(index, size), fetch)


def consistency_proof(size1: int, size2: int, fetch: NodeFetcher) -> list[bytes]:
    """Return the consistency proof `PROOF(size1, D[size2])` (RFC 9162 §2.1.4.1).

    The proof is empty when the sizes are equal.

    Raises:
        InvalidInput: not `0 < size1 <= size2`, or storage answered the wrong hashes.
    """
    return _hashes_for_groups(consistency_proof_node_ids(size1, size2), fetch)


def nodes_on_append(index: int, leaf: LeafHash, fetch: NodeFetcher) -> list[tuple[NodeId, bytes]]:
    """Return the nodes to store when the leaf hash `leaf` is appended at position `index`.

    The first pair is the leaf itself, `NodeId(0, index)`; each further pair is a perfect
    subtree that the leaf completes, bottom up. Only left siblings are fetched, in one call (none
    when `index` is even).
    """
    if len(leaf) != HASH_SIZE:
        raise InvalidInput(f"expected a {HASH_SIZE}-byte leaf hash, got {len(leaf)} bytes")
    sibling_ids = nodes_on_append_node_ids(index)
    result: list[tuple[NodeId, bytes]] = [(NodeId(0, index), bytes(leaf))]
    if not sibling_ids:
        return result
    siblings = _fetch_all(fetch, sibling_ids)
    sha = _sha256
    prefix = _NODE_PREFIX
    value: bytes = leaf
    node = index
    for level, left in enumerate(siblings, start=1):
        value = sha(prefix + left + value).digest()
        node >>= 1
        result.append((NodeId(level, node), value))
    return result


# ---------------------------------------------------------------------------------------------
# In-memory trees: benchmarks, small trees and tests.
# ---------------------------------------------------------------------------------------------


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> RootHash:
    """Return `MTH(D[n])` of the given leaf hashes, level by level, without storage.

    Pairing each level from the left and lifting an unpaired last node unchanged builds exactly
    the tree of RFC 9162 §2.1.1, whose left subtrees are the largest perfect ones.
    """
    if not leaf_hashes:
        return EMPTY_ROOT_HASH
    sha = _sha256
    prefix = _NODE_PREFIX
    level: Sequence[bytes] = leaf_hashes
    while len(level) > 1:
        paired = [
            sha(prefix + left + right).digest()
            for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if len(level) & 1:
            paired.append(level[-1])
        level = paired
    return RootHash(bytes(level[0]))


def perfect_subtree_levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Return every perfect subtree hash of a tree; `levels[l][i]` is the hash of `NodeId(l, i)`.

    This is what a log stores, built in bulk; level 0 is a copy of the leaf hashes.
    """
    sha = _sha256
    prefix = _NODE_PREFIX
    levels: list[list[bytes]] = [list(leaf_hashes)]
    current = levels[0]
    while len(current) > 1:
        current = [
            sha(prefix + left + right).digest()
            for left, right in zip(current[0::2], current[1::2], strict=False)
        ]
        levels.append(current)
    return levels


class MemoryNodeStore:
    """A log's node storage held in memory, for tests, benchmarks and small trees.

    Nodes are appended through `nodes_on_append`, as a database-backed log would store them.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[LeafHash] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return len(self._levels[0])

    def append(self, leaf: LeafHash) -> None:
        """Append one leaf hash and store the perfect subtrees it completes."""
        levels = self._levels
        for node_id, value in nodes_on_append(self.size, leaf, self.fetch):
            if node_id.level == len(levels):
                levels.append([])
            levels[node_id.level].append(value)

    def extend(self, leaf_hashes: Iterable[LeafHash]) -> None:
        """Append several leaf hashes in order."""
        for leaf in leaf_hashes:
            self.append(leaf)

    def fetch(self, ids: Sequence[NodeId]) -> list[bytes]:
        """Return the stored hashes of `ids`; a `NodeFetcher`."""
        levels = self._levels
        return [levels[level][index] for level, index in ids]

    def root_hash(self, size: int | None = None) -> RootHash:
        """Return the root of the tree of the first `size` leaves (default: all of them)."""
        return root_hash(self.size if size is None else size, self.fetch)


# ---------------------------------------------------------------------------------------------
# Verification: RFC 9162 §2.1.3.2 and §2.1.4.2.
# ---------------------------------------------------------------------------------------------


def _check_size(size: int) -> None:
    if size < 0:
        raise InvalidInput(f"expected a tree size >= 0, got {size}")


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise InvalidInput(f"expected a leaf index in [0, {size}), got {index}")


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"expected a {HASH_SIZE}-byte {what}, got {len(value)} bytes")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, value in enumerate(proof):
        if len(value) != HASH_SIZE:
            raise InvalidProof(
                f"expected {HASH_SIZE}-byte proof hashes, got {len(value)} bytes at position "
                f"{position}"
            )


def _inclusion_proof_length(index: int, size: int) -> int:
    """Return `len(PATH(index, D[size]))` for `0 <= index < size`.

    Below the level where the paths from the root to the leaf and to the last leaf part, every
    level contributes one sibling (perfect, or ephemeral on the right edge). From that level up,
    the leaf's ancestors lie on the right edge and have a sibling, a perfect one to their left,
    only where they are right children, that is where `index` has a one bit.
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def root_from_inclusion_proof(
    leaf: LeafHash, index: int, size: int, proof: Sequence[bytes]
) -> RootHash:
    """Return the root that `proof` proves leaf `index` of a tree of `size` leaves to be under.

    This is RFC 9162 §2.1.3.2 without its final comparison, for a caller that looks the root up
    (for instance in a set of signed checkpoints).

    Raises:
        InvalidProof: the index is not below the size, a hash is not 32 bytes, or the proof does
            not have the length the index and size imply.
    """
    if not 0 <= index < size:
        raise InvalidProof(f"expected a leaf index in [0, {size}), got {index}")
    _check_hash("leaf hash", leaf)
    expected = _inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise InvalidProof(
            f"expected {expected} hashes in the inclusion proof of leaf {index} in a tree of "
            f"{size}, got {len(proof)}"
        )
    _check_proof_hashes(proof)
    sha = _sha256
    prefix = _NODE_PREFIX
    # RFC 9162 §2.1.3.2, steps 2 to 5: fn walks up from the leaf, sn from the last leaf; a proof
    # hash is a left sibling when fn is a right child, or when fn is the last node of its level
    # (a lone right-edge node that was lifted without a sibling).
    fn = index
    sn = size - 1
    r: bytes = leaf
    for p in proof:
        if sn == 0:
            raise InvalidProof(f"inclusion proof of leaf {index} in a tree of {size} is too long")
        if fn & 1 or fn == sn:
            r = sha(prefix + p + r).digest()
            # A lone node on the right edge was lifted without a sibling: climb to the level
            # where it is a right child again (or to the top).
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = sha(prefix + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof(f"inclusion proof of leaf {index} in a tree of {size} is too short")
    return RootHash(r)


def verify_inclusion(
    leaf: LeafHash, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `proof` proves leaf hash `leaf` at `index` in the tree of `size` with `root`.

    Implements RFC 9162 §2.1.3.2 after checking its preconditions. The proof binds the leaf and
    its position to `root`; what binds `root` to `size` is the signed checkpoint carrying both.

    Raises:
        InvalidProof: a precondition fails or the computed root is not `root`.
    """
    _check_hash("root hash", root)
    computed = root_from_inclusion_proof(leaf, index, size, proof)
    if not hmac.compare_digest(computed, root):
        raise InvalidProof(
            f"inclusion proof of leaf {index} in a tree of {size} leads to root "
            f"{computed.hex()}, expected {root.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that `proof` proves the tree (`size2`, `root2`) extends the tree (`size1`, `root1`).

    Implements RFC 9162 §2.1.4.2 after checking its preconditions. Equal sizes need an empty
    proof and equal roots. An old size of 0 is refused: §2.1.4 defines proofs only for `0 < m`,
    and an empty tree is a prefix of every tree, so a caller holding one has nothing to verify.

    Raises:
        InvalidProof: a precondition fails or the proof does not lead to both roots.
    """
    if not 0 < size1 <= size2:
        raise InvalidProof(
            f"expected 0 < size1 <= size2 for a consistency proof (RFC 9162 §2.1.4.2), "
            f"got size1={size1}, size2={size2}"
        )
    _check_hash("old root hash", root1)
    _check_hash("new root hash", root2)
    if size1 == size2:
        if proof:
            raise InvalidProof(
                f"expected an empty consistency proof between equal sizes {size1}, "
                f"got {len(proof)} hashes"
            )
        if not hmac.compare_digest(root1, root2):
            raise InvalidProof(
                f"trees of equal size {size1} have different roots {root1.hex()} and {root2.hex()}"
            )
        return
    expected = len(consistency_proof_node_ids(size1, size2))
    if len(proof) != expected:
        raise InvalidProof(
            f"expected {expected} hashes in the consistency proof from size {size1} to "
            f"{size2}, got {len(proof)}"
        )
    _check_proof_hashes(proof)
    fr, sr = _roots_from_consistency_path(size1, size2, root1, proof)
    # RFC 9162 §2.1.4.2, step 7.
    if not hmac.compare_digest(fr, root1):
        raise InvalidProof(
            f"consistency proof from size {size1} to {size2} leads to old root {fr.hex()}, "
            f"expected {root1.hex()}"
        )
    if not hmac.compare_digest(sr, root2):
        raise InvalidProof(
            f"consistency proof from size {size1} to {size2} leads to new root {sr.hex()}, "
            f"expected {root2.hex()}"
        )


def _roots_from_consistency_path(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """Run RFC 9162 §2.1.4.2, steps 2 to 7 but the root comparisons, for `0 < size1 < size2`.

    Returns the old and the new root that the proof leads to.
    """
    sha = _sha256
    prefix = _NODE_PREFIX
    # Step 2: when the old tree is a perfect subtree of the new one, the proof omits its hash,
    # which the verifier already holds.
    path: list[bytes] = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    # Steps 3 and 4: start at the old tree's last leaf and skip the levels where it is a right
    # child, since the proof starts at the largest perfect subtree ending there.
    fn = size1 - 1
    sn = size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Steps 5 and 6: fr rebuilds the old root and sr the new one from the same path.
    fr: bytes = path[0]
    sr: bytes = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof(f"consistency proof from size {size1} to {size2} is too long")
        if fn & 1 or fn == sn:
            fr = sha(prefix + c + fr).digest()
            sr = sha(prefix + c + sr).digest()
            # A lone node on the right edge was lifted without a sibling: climb to the level
            # where it is a right child again (or to the top).
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = sha(prefix + sr + c).digest()
        fn >>= 1
        sn >>= 1
    # Step 7 also requires the walk to have reached the new tree's root level.
    if sn != 0:
        raise InvalidProof(f"consistency proof from size {size1} to {size2} is too short")
    return fr, sr
