"""RFC 9162 §2.1 Merkle trees: a recursive reference, known answers, mutated proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InvalidInput, InvalidProof
from crypto.merkle import (
    EMPTY_ROOT_HASH,
    LeafHash,
    MemoryNodeStore,
    NodeId,
    consistency_proof,
    consistency_proof_node_ids,
    inclusion_proof,
    inclusion_proof_node_ids,
    leaf_hash,
    node_hash,
    nodes_on_append,
    nodes_on_append_node_ids,
    perfect_subtree_levels,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    root_hash,
    root_node_ids,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------------------------------------
# Reference: RFC 9162 §2.1 written as its recursive definitions, over the entries themselves.
# ---------------------------------------------------------------------------------------------


def _ref_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _ref_k(n: int) -> int:
    """The largest power of two smaller than n (RFC 9162 §2.1.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: tuple[bytes, ...]) -> bytes:
    """MTH(D[n]), RFC 9162 §2.1.1."""
    n = len(entries)
    if n == 0:
        return _ref_hash(b"")
    if n == 1:
        return _ref_hash(b"\x00" + entries[0])
    k = _ref_k(n)
    return _ref_hash(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:]))


def ref_path(m: int, entries: tuple[bytes, ...]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 §2.1.3.1."""
    n = len(entries)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_subproof(m: int, entries: tuple[bytes, ...], known: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1."""
    n = len(entries)
    if m == n:
        return [] if known else [ref_mth(entries)]
    k = _ref_k(n)
    if m <= k:
        return [*ref_subproof(m, entries[:k], known), ref_mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), ref_mth(entries[:k])]


def ref_proof(m: int, entries: tuple[bytes, ...]) -> list[bytes]:
    """PROOF(m, D[n]), RFC 9162 §2.1.4.1."""
    return ref_subproof(m, entries, True)


# ---------------------------------------------------------------------------------------------
# Shared data.
# ---------------------------------------------------------------------------------------------

SMALL = 70
LARGE = 3000
ENTRIES: tuple[bytes, ...] = tuple(f"audit entry {i}".encode() for i in range(LARGE))
LEAVES: tuple[LeafHash, ...] = tuple(leaf_hash(entry) for entry in ENTRIES)
STORE = MemoryNodeStore(LEAVES)


@cache
def ref_root(size: int) -> bytes:
    return ref_mth(ENTRIES[:size])


def counting_fetch(calls: list[int]) -> Callable[[Sequence[NodeId]], Sequence[bytes]]:
    def fetch(ids: Sequence[NodeId]) -> Sequence[bytes]:
        calls.append(len(ids))
        return STORE.fetch(ids)

    return fetch


# The Certificate Transparency test tree: leaf inputs and the roots of the trees of their first
# 0..8 entries, from transparency-dev/merkle, testonly/constants.go (LeafInputs, RootHashes,
# NodeHashes), the data set the RFC 6962 reference implementation has used since 2013.
CT_LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
# Known proofs over the same tree, from transparency-dev/merkle, proof/verify_test.go
# (inclusionProofs and consistencyProofs; the leaf numbers there are 1-based, here 0-based).
CT_INCLUSION_PROOFS: list[tuple[int, int, list[str]]] = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_CONSISTENCY_PROOFS: list[tuple[int, int, list[str]]] = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CT_LEAVES = [leaf_hash(data) for data in CT_LEAF_INPUTS]
CT_STORE = MemoryNodeStore(CT_LEAVES)


# ---------------------------------------------------------------------------------------------
# Hashing and known answers.
# ---------------------------------------------------------------------------------------------


def test_hashes_are_domain_separated_sha256() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = b"L" * 32, b"R" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT_HASH


def test_ct_roots_of_the_first_eight_leaves() -> None:
    for size, expected in enumerate(CT_ROOTS):
        root = bytes.fromhex(expected)
        assert ref_mth(tuple(CT_LEAF_INPUTS[:size])) == root
        assert root_from_leaf_hashes(CT_LEAVES[:size]) == root
        assert CT_STORE.root_hash(size) == root


def test_ct_node_hashes() -> None:
    levels = perfect_subtree_levels(CT_LEAVES)
    assert [[h.hex() for h in level] for level in levels] == CT_NODE_HASHES
    for level, hashes in enumerate(CT_NODE_HASHES):
        ids = [NodeId(level, index) for index in range(len(hashes))]
        assert [h.hex() for h in CT_STORE.fetch(ids)] == hashes


@pytest.mark.parametrize(("index", "size", "expected"), CT_INCLUSION_PROOFS)
def test_ct_inclusion_proofs(index: int, size: int, expected: list[str]) -> None:
    proof = inclusion_proof(index, size, CT_STORE.fetch)
    assert [h.hex() for h in proof] == expected
    verify_inclusion(CT_LEAVES[index], index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("size1", "size2", "expected"), CT_CONSISTENCY_PROOFS)
def test_ct_consistency_proofs(size1: int, size2: int, expected: list[str]) -> None:
    proof = consistency_proof(size1, size2, CT_STORE.fetch)
    assert [h.hex() for h in proof] == expected
    verify_consistency(
        size1, size2, bytes.fromhex(CT_ROOTS[size1]), bytes.fromhex(CT_ROOTS[size2]), proof
    )


# ---------------------------------------------------------------------------------------------
# Cross-checks against the reference, every size, index and pair up to SMALL.
# ---------------------------------------------------------------------------------------------


def test_roots_match_reference() -> None:
    for size in range(SMALL + 1):
        expected = ref_root(size)
        assert root_hash(size, STORE.fetch) == expected
        assert root_from_leaf_hashes(LEAVES[:size]) == expected


def test_inclusion_proofs_match_reference() -> None:
    for size in range(1, SMALL + 1):
        root = ref_root(size)
        for index in range(size):
            proof = inclusion_proof(index, size, STORE.fetch)
            assert proof == ref_path(index, ENTRIES[:size]), (index, size)
            verify_inclusion(LEAVES[index], index, size, proof, root)
            assert root_from_inclusion_proof(LEAVES[index], index, size, proof) == root


def test_consistency_proofs_match_reference() -> None:
    for size2 in range(1, SMALL + 1):
        for size1 in range(1, size2 + 1):
            proof = consistency_proof(size1, size2, STORE.fetch)
            assert proof == ref_proof(size1, ENTRIES[:size2]), (size1, size2)
            verify_consistency(size1, size2, ref_root(size1), ref_root(size2), proof)


def test_one_fetch_per_root_and_proof() -> None:
    calls: list[int] = []
    fetch = counting_fetch(calls)
    root_hash(1000, fetch)
    inclusion_proof(999, 1000, fetch)
    consistency_proof(300, 1000, fetch)
    assert len(calls) == 3
    # The empty tree and single-leaf trees need no storage beyond their one node, if any.
    calls.clear()
    assert root_hash(0, fetch) == EMPTY_ROOT_HASH
    assert inclusion_proof(0, 1, fetch) == []
    assert consistency_proof(5, 5, fetch) == []
    assert calls == []


def test_node_ids_are_stored_perfect_subtrees() -> None:
    # A tree of 7 leaves is the perfect subtrees of 4, 2 and 1 leaves.
    assert root_node_ids(7) == (NodeId(2, 0), NodeId(1, 2), NodeId(0, 6))
    assert root_node_ids(0) == ()
    # Leaf 0 of 7: its sibling, the pair (2, 3), then the ephemeral subtree of leaves 4..6.
    assert inclusion_proof_node_ids(0, 7) == [
        (NodeId(0, 1),),
        (NodeId(1, 1),),
        (NodeId(1, 2), NodeId(0, 6)),
    ]
    # From 3 to 7 leaves: leaf 2, leaf 3, the pair (0, 1), then the subtree of leaves 4..6.
    assert consistency_proof_node_ids(3, 7) == [
        (NodeId(0, 2),),
        (NodeId(0, 3),),
        (NodeId(1, 0),),
        (NodeId(1, 2), NodeId(0, 6)),
    ]
    for size in range(1, SMALL + 1):
        for index in range(size):
            for group in inclusion_proof_node_ids(index, size):
                for node in group:
                    assert (node.index + 1) << node.level <= size


def test_nodes_on_append_build_the_same_store_as_bulk() -> None:
    levels = perfect_subtree_levels(LEAVES[:SMALL])
    store = MemoryNodeStore()
    for index, leaf in enumerate(LEAVES[:SMALL]):
        needed = nodes_on_append_node_ids(index)
        calls: list[int] = []

        def fetch(ids: Sequence[NodeId], calls: list[int] = calls) -> Sequence[bytes]:
            calls.append(len(ids))
            return store.fetch(ids)

        written = nodes_on_append(index, leaf, fetch)
        assert calls == ([len(needed)] if needed else [])
        assert len(written) == 1 + len(needed)
        assert written[0] == (NodeId(0, index), leaf)
        for node_id, value in written:
            assert levels[node_id.level][node_id.index] == value
        store.append(leaf)
    assert store.size == SMALL
    assert store.root_hash() == ref_root(SMALL)


def test_nodes_on_append_needs_only_left_siblings() -> None:
    assert nodes_on_append_node_ids(0) == ()
    assert nodes_on_append_node_ids(6) == ()
    assert nodes_on_append_node_ids(7) == (NodeId(0, 6), NodeId(1, 2), NodeId(2, 0))
    assert nodes_on_append_node_ids(5) == (NodeId(0, 4),)


# ---------------------------------------------------------------------------------------------
# Mutated proofs are refused.
# ---------------------------------------------------------------------------------------------

OTHER_HASH = hashlib.sha256(b"not in the tree").digest()


def _flip(value: bytes, bit: int = 3) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


def _inclusion_mutations(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: LeafHash
) -> list[tuple[str, LeafHash, int, int, list[bytes], bytes]]:
    cases = [
        ("index - 1", leaf, index - 1, size, proof, root),
        ("index + 1", leaf, index + 1, size, proof, root),
        ("index ^ 1", leaf, index ^ 1, size, proof, root),
        ("index ^ 2", leaf, index ^ 2, size, proof, root),
        ("size * 2", leaf, index, size * 2, proof, root),
        ("size // 2", leaf, index, size // 2, proof, root),
        ("wrong leaf", LeafHash(OTHER_HASH), index, size, proof, root),
        ("leaf data instead of leaf hash", LeafHash(ENTRIES[index]), index, size, proof, root),
        ("empty-tree root", leaf, index, size, proof, EMPTY_ROOT_HASH),
        ("wrong root", leaf, index, size, proof, _flip(root)),
        ("appended hash", leaf, index, size, [*proof, OTHER_HASH], root),
        ("appended root", leaf, index, size, [*proof, root], root),
        ("prepended hash", leaf, index, size, [OTHER_HASH, *proof], root),
        ("empty element appended", leaf, index, size, [*proof, b""], root),
    ]
    for i in range(len(proof)):
        for bit in (0, 3, 7):
            flipped = list(proof)
            flipped[i] = _flip(flipped[i], bit)
            cases.append((f"bit {bit} of proof[{i}]", leaf, index, size, flipped, root))
        cases.append(("element removed", leaf, index, size, proof[:i] + proof[i + 1 :], root))
        cases.append(
            (
                "element truncated",
                leaf,
                index,
                size,
                [*proof[:i], proof[i][:31], *proof[i + 1 :]],
                root,
            )
        )
    for i in range(len(proof) - 1):
        swapped = list(proof)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        cases.append((f"proof[{i}] and proof[{i + 1}] swapped", leaf, index, size, swapped, root))
    return cases


def test_mutated_inclusion_proofs_are_refused() -> None:
    accepted = []
    for size in range(1, SMALL + 1):
        root = ref_root(size)
        for index in range(size):
            proof = inclusion_proof(index, size, STORE.fetch)
            for case in _inclusion_mutations(index, size, proof, root, LEAVES[index]):
                desc, leaf, m_index, m_size, m_proof, m_root = case
                try:
                    verify_inclusion(leaf, m_index, m_size, m_proof, m_root)
                except InvalidProof:
                    continue
                accepted.append((index, size, desc))
    assert accepted == []


def _consistency_mutations(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    cases = [
        ("size1 - 1", size1 - 1, size2, root1, root2, proof),
        ("size1 + 1", size1 + 1, size2, root1, root2, proof),
        ("size1 ^ 2", size1 ^ 2, size2, root1, root2, proof),
        ("size2 * 2", size1, size2 * 2, root1, root2, proof),
        ("size2 // 2", size1, size2 // 2, root1, root2, proof),
        ("wrong root1", size1, size2, _flip(root1), root2, proof),
        ("wrong root2", size1, size2, root1, _flip(root2), proof),
        ("swapped roots", size1, size2, root2, root1, proof),
        ("empty proof", size1, size2, root1, root2, []),
        ("appended hash", size1, size2, root1, root2, [*proof, OTHER_HASH]),
        ("appended root1", size1, size2, root1, root2, [*proof, root1]),
        ("appended root2", size1, size2, root1, root2, [*proof, root2]),
        ("prepended root1", size1, size2, root1, root2, [root1, *proof]),
        ("prepended proof[0]", size1, size2, root1, root2, [proof[0], *proof]),
        ("empty element prepended", size1, size2, root1, root2, [b"", *proof]),
    ]
    for i in range(len(proof)):
        for bit in (0, 4, 7):
            flipped = list(proof)
            flipped[i] = _flip(flipped[i], bit)
            cases.append((f"bit {bit} of proof[{i}]", size1, size2, root1, root2, flipped))
        cases.append(("element removed", size1, size2, root1, root2, proof[:i] + proof[i + 1 :]))
    for i in range(len(proof) - 1):
        swapped = list(proof)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        cases.append(
            (f"proof[{i}] and proof[{i + 1}] swapped", size1, size2, root1, root2, swapped)
        )
    return cases


def test_mutated_consistency_proofs_are_refused() -> None:
    accepted = []
    for size2 in range(2, SMALL + 1):
        for size1 in range(1, size2):
            proof = consistency_proof(size1, size2, STORE.fetch)
            root1, root2 = ref_root(size1), ref_root(size2)
            for case in _consistency_mutations(size1, size2, root1, root2, proof):
                desc, m_size1, m_size2, m_root1, m_root2, m_proof = case
                try:
                    verify_consistency(m_size1, m_size2, m_root1, m_root2, m_proof)
                except InvalidProof:
                    continue
                accepted.append((size1, size2, desc))
    assert accepted == []


# ---------------------------------------------------------------------------------------------
# Preconditions.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (5, 3), (-1, 4)])
def test_inclusion_proof_of_missing_leaf_is_refused(index: int, size: int) -> None:
    with pytest.raises(InvalidInput, match="leaf index"):
        inclusion_proof(index, size, STORE.fetch)
    with pytest.raises(InvalidProof, match="leaf index"):
        verify_inclusion(LEAVES[0], index, size, [], ref_root(1))


@pytest.mark.parametrize(("size1", "size2"), [(0, 0), (0, 5), (6, 5), (-1, 3)])
def test_consistency_proof_of_invalid_sizes_is_refused(size1: int, size2: int) -> None:
    with pytest.raises(InvalidInput, match="0 < size1 <= size2"):
        consistency_proof(size1, size2, STORE.fetch)
    with pytest.raises(InvalidProof, match="0 < size1 <= size2"):
        verify_consistency(size1, size2, EMPTY_ROOT_HASH, EMPTY_ROOT_HASH, [])


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="tree size"):
        root_hash(-1, STORE.fetch)
    with pytest.raises(InvalidInput, match="leaf index"):
        nodes_on_append(-1, LEAVES[0], STORE.fetch)


def test_hashes_of_wrong_length_are_refused() -> None:
    proof = inclusion_proof(3, 10, STORE.fetch)
    root = ref_root(10)
    leaf = LEAVES[3]
    with pytest.raises(InvalidProof, match="32-byte leaf hash, got 31"):
        verify_inclusion(LeafHash(leaf[:31]), 3, 10, proof, root)
    with pytest.raises(InvalidProof, match="32-byte root hash, got 33"):
        verify_inclusion(leaf, 3, 10, proof, root + b"\x00")
    with pytest.raises(InvalidProof, match="got 64 bytes at position 1"):
        verify_inclusion(leaf, 3, 10, [proof[0], proof[1] * 2, *proof[2:]], root)
    with pytest.raises(InvalidProof, match=r"expected 4 hashes .* got 3"):
        verify_inclusion(leaf, 3, 10, proof[:3], root)
    c_proof = consistency_proof(3, 10, STORE.fetch)
    with pytest.raises(InvalidProof, match="32-byte old root hash"):
        verify_consistency(3, 10, ref_root(3)[:16], root, c_proof)
    with pytest.raises(InvalidProof, match="32-byte new root hash"):
        verify_consistency(3, 10, ref_root(3), b"", c_proof)
    with pytest.raises(InvalidInput, match="32-byte leaf hash"):
        nodes_on_append(0, LeafHash(b"short"), STORE.fetch)


def test_equal_sizes_need_an_empty_proof_and_equal_roots() -> None:
    verify_consistency(7, 7, ref_root(7), ref_root(7), [])
    with pytest.raises(InvalidProof, match="expected an empty consistency proof"):
        verify_consistency(7, 7, ref_root(7), ref_root(7), [ref_root(7)])
    with pytest.raises(InvalidProof, match="different roots"):
        verify_consistency(7, 7, ref_root(7), ref_root(6), [])


def test_storage_answering_wrong_hashes_is_refused() -> None:
    with pytest.raises(InvalidInput, match="expected 3 node hashes from storage, got 2"):
        root_hash(7, lambda ids: STORE.fetch(ids)[:2])
    with pytest.raises(InvalidInput, match="32-byte hash for node"):
        inclusion_proof(0, 8, lambda ids: [b"x" for _ in ids])


def test_failures_say_what_was_expected() -> None:
    proof = inclusion_proof(3, 10, STORE.fetch)
    with pytest.raises(InvalidProof, match=f"expected {ref_root(10).hex()}"):
        verify_inclusion(LEAVES[4], 3, 10, proof, ref_root(10))


# ---------------------------------------------------------------------------------------------
# Properties over larger trees.
# ---------------------------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=LARGE)


@settings(max_examples=100, deadline=None)
@given(size=sizes, data=st.data())
def test_inclusion_property(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    root = root_from_leaf_hashes(LEAVES[:size])
    assert root == root_hash(size, STORE.fetch)
    proof = inclusion_proof(index, size, STORE.fetch)
    verify_inclusion(LEAVES[index], index, size, proof, root)
    assert proof == ref_path(index, ENTRIES[:size])
    other = data.draw(st.integers(min_value=0, max_value=size - 1), label="other")
    if other != index:
        with pytest.raises(InvalidProof, match="inclusion proof of leaf"):
            verify_inclusion(LEAVES[other], index, size, proof, root)
        with pytest.raises(InvalidProof):
            verify_inclusion(LEAVES[index], other, size, proof, root)


@settings(max_examples=100, deadline=None)
@given(size2=sizes, data=st.data())
def test_consistency_property(size2: int, data: st.DataObject) -> None:
    size1 = data.draw(st.integers(min_value=1, max_value=size2), label="size1")
    root1 = root_from_leaf_hashes(LEAVES[:size1])
    root2 = root_from_leaf_hashes(LEAVES[:size2])
    proof = consistency_proof(size1, size2, STORE.fetch)
    verify_consistency(size1, size2, root1, root2, proof)
    assert proof == ref_proof(size1, ENTRIES[:size2])
    if proof:
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="pos")
        corrupted = list(proof)
        corrupted[position] = _flip(corrupted[position], data.draw(st.integers(0, 7)))
        with pytest.raises(InvalidProof, match="consistency proof from size"):
            verify_consistency(size1, size2, root1, root2, corrupted)


@settings(max_examples=40, deadline=None)
@given(leaves=st.lists(st.binary(min_size=32, max_size=32), max_size=200))
def test_store_and_bulk_roots_agree(leaves: list[bytes]) -> None:
    store = MemoryNodeStore(LeafHash(leaf) for leaf in leaves)
    assert store.root_hash() == root_from_leaf_hashes(leaves)
    levels = perfect_subtree_levels(leaves)
    for level, hashes in enumerate(levels):
        assert store.fetch([NodeId(level, i) for i in range(len(hashes))]) == hashes
