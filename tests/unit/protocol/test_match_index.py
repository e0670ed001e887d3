"""The match index's wire form: round trips, deltas, size, false hits, and refusal of bad bytes.

A tiny reference encoder written straight from the format in the module docstring (bit strings,
one value at a time) cross-checks the fast encoder byte for byte, and crafts deltas that the fast
encoder would never produce. Error contract under test: bytes from a peer that do not decode raise
`PeerError` and nothing else; bad local arguments raise `InputError`.
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Iterable, Sequence

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InputError, PeerError
from protocol.match_index import (
    FALSE_HIT_BITS,
    MIN_BUCKET,
    DecodedIndex,
    IndexParameters,
    MatchTag,
    apply_delta,
    decode_index,
    encode_delta,
    encode_index,
    fingerprint,
    pad_index,
    size_bucket,
)

# A deliberately weak parameter set, for tests only: a domain of 2**14 makes collisions and
# false hits frequent enough to observe.
SMALL = IndexParameters(capacity=64, false_hit_bits=8)
REAL = IndexParameters.for_capacity(1_000)
HEADER_BYTES = 15 + 16


# Reference encoder, one bit at a time.


def _bits_to_bytes(bits: str) -> bytes:
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def reference_set(values: Sequence[int], universe: int) -> bytes:
    n = len(values)
    if n == 0:
        return struct.pack(">QQ", 0, 0)
    k = max(j for j in range(universe.bit_length() + 1) if n * 2**j <= universe)
    gaps = [value - previous - 1 for previous, value in zip([-1, *values], values, strict=False)]
    remainders = [gap % 2**k for gap in gaps]
    planes = b""
    for bit in range(k - 1, 8 * (k // 8) - 1, -1):
        planes += _bits_to_bytes("".join(str((r >> bit) & 1) for r in remainders))
    for byte in range(k // 8 - 1, -1, -1):
        planes += bytes((r >> (8 * byte)) & 0xFF for r in remainders)
    unary = _bits_to_bytes("".join("0" * (gap >> k) + "1" for gap in gaps))
    return struct.pack(">QQ", n, len(unary)) + planes + unary


def reference_header(kind: int, params: IndexParameters) -> bytes:
    return b"BHMI" + bytes([1, kind, params.false_hit_bits]) + params.capacity.to_bytes(8, "big")


def reference_index(values: Iterable[int], params: IndexParameters) -> bytes:
    return reference_header(1, params) + reference_set(sorted(set(values)), params.domain)


def reference_delta(
    params: IndexParameters,
    base: DecodedIndex,
    target_digest: bytes,
    removed_ranks: Sequence[int],
    added: Sequence[int],
) -> bytes:
    return (
        reference_header(2, params)
        + struct.pack(">Q32s32s", base.count, base.digest(), target_digest)
        + reference_set(removed_ranks, base.count)
        + reference_set(added, params.domain)
    )


# Helpers.


def random_tags(count: int, seed: int, size: int = 64) -> list[MatchTag]:
    rng = random.Random(seed)
    return [MatchTag(rng.randbytes(size)) for _ in range(count)]


def random_fingerprints(count: int, params: IndexParameters, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(params.domain) for _ in range(count)]


def decode_or_peer_error(data: bytes, max_count: int = 10_000) -> DecodedIndex | None:
    """Decode with the weakest parameters allowed; None if the data was refused as it must be."""
    try:
        return decode_index(data, max_count=max_count, min_false_hit_bits=1)
    except PeerError:
        return None


def fingerprint_sets(params: IndexParameters, max_size: int) -> st.SearchStrategy[set[int]]:
    values = st.integers(min_value=0, max_value=params.domain - 1)
    edges = st.sampled_from([0, 1, params.domain - 2, params.domain - 1])
    return st.sets(st.one_of(values, edges), max_size=min(max_size, params.capacity))


# Round trips.


@pytest.mark.parametrize(
    "values",
    [[], [0], [SMALL.domain - 1], [0, SMALL.domain - 1], [5, 5, 5, 1, 1], list(range(64))],
    ids=["empty", "zero", "last", "both-ends", "duplicates", "dense"],
)
def test_round_trip_small(values: list[int]) -> None:
    data = encode_index(values, SMALL)
    index = decode_or_peer_error(data)
    assert index is not None
    assert list(index) == sorted(set(values))
    assert index.count == len(set(values))
    assert index.params == SMALL
    assert index.encode() == data == reference_index(values, SMALL)
    assert index.digest() == blake3.blake3(data).digest()
    assert index == DecodedIndex.from_fingerprints(values, SMALL)


def test_round_trip_many_tags_and_membership() -> None:
    tags = random_tags(20_000, seed=1)
    params = IndexParameters.for_capacity(len(tags))
    index = DecodedIndex.from_tags(tags, params)
    index = decode_index(index.encode(), max_count=len(tags))
    assert index.count == len(tags)
    assert all(index.contains_tags(tags[:500]))
    assert all(map(index.contains_tag, tags[-500:]))
    assert not any(index.contains_tags(random_tags(500, seed=2)))


@settings(max_examples=150, deadline=None)
@given(values=fingerprint_sets(SMALL, 64))
def test_decode_inverts_encode_small_domain(values: set[int]) -> None:
    data = encode_index(values, SMALL)
    assert data == reference_index(values, SMALL)
    index = decode_or_peer_error(data)
    assert index is not None
    assert list(index) == sorted(values)


@settings(max_examples=60, deadline=None)
@given(values=fingerprint_sets(REAL, 300))
def test_decode_inverts_encode_real_parameters(values: set[int]) -> None:
    data = encode_index(values, REAL)
    assert data == reference_index(values, REAL)
    index = decode_index(data, max_count=REAL.capacity)
    assert list(index) == sorted(values)


def test_long_index_crosses_internal_slices() -> None:
    # More entries than one internal slice of 65,536, and a unary part longer than 8,192 bytes.
    params = IndexParameters.for_capacity(150_000)
    values = random_fingerprints(150_000, params, seed=3)
    index = DecodedIndex(values, params)
    data = index.encode()
    assert decode_index(data, max_count=params.capacity) == index
    assert data == reference_index(values, params)


# Size and false hits.


def test_bytes_per_key_within_budget() -> None:
    tags = random_tags(100_000, seed=4, size=32)
    params = IndexParameters.for_capacity(len(tags))
    data = encode_index((fingerprint(tag, params) for tag in tags), params)
    assert len(data) / len(tags) <= 5.0
    # The measured figure is about 3.96; allow for the few duplicates and the header.
    assert len(data) / len(tags) < 4.0


@pytest.mark.parametrize("count", [1, 16, 17, 1_000, 10**6, 4 * 10**7, 10**9])
def test_false_hit_bound_of_default_parameters(count: int) -> None:
    params = IndexParameters.for_capacity(count)
    assert params.false_hit_bits == FALSE_HIT_BITS
    assert params.capacity >= count
    assert params.false_hit_bound == 2.0**-FALSE_HIT_BITS
    assert params.false_hit_bound <= 1e-9
    assert count / params.domain <= params.false_hit_bound


def test_padding_stays_within_the_bound() -> None:
    params = IndexParameters.for_capacity(1_000)
    padded, _ = pad_index(DecodedIndex(random_fingerprints(1_000, params, seed=5), params))
    assert padded.count == size_bucket(1_000) <= params.capacity
    assert padded.false_hit_probability <= params.false_hit_bound <= 1e-9


def test_observed_false_hit_rate_matches_prediction() -> None:
    # With 8 false-hit bits and a full index the predicted rate is 2**-8. Over 200,000 probes
    # the number of false hits is binomial with mean 781 and standard deviation 28: a window of
    # six standard deviations fails by chance with probability about 2e-9, and the seeds are
    # fixed, so the test is deterministic.
    params = IndexParameters(capacity=1_024, false_hit_bits=8)
    members = random_tags(1_024, seed=6)
    index = DecodedIndex.from_tags(members, params)
    probes = random_tags(200_000, seed=7)
    hits = sum(index.contains_tags(probes))
    predicted = index.false_hit_probability
    assert math.isclose(predicted, index.count / params.domain)
    mean = predicted * len(probes)
    deviation = math.sqrt(mean * (1 - predicted))
    assert abs(hits - mean) <= 6 * deviation
    assert all(index.contains_tags(members))


# Deltas.


@settings(max_examples=100, deadline=None)
@given(old=fingerprint_sets(SMALL, 64), new=fingerprint_sets(SMALL, 64))
def test_apply_delta_yields_the_new_index(old: set[int], new: set[int]) -> None:
    base = decode_or_peer_error(encode_index(old, SMALL))
    assert base is not None
    target = DecodedIndex(new, SMALL)
    delta = encode_delta(base, target)
    removed_ranks = [rank for rank, value in enumerate(sorted(old)) if value not in new]
    assert delta == reference_delta(SMALL, base, target.digest(), removed_ranks, sorted(new - old))
    result = apply_delta(base, delta, max_count=SMALL.capacity)
    assert result == target
    assert list(result) == sorted(new)
    assert result.digest() == target.digest() == blake3.blake3(result.encode()).digest()
    assert list(base) == sorted(old)


def test_delta_costs_in_proportion_to_the_change() -> None:
    params = IndexParameters.for_capacity(100_000)
    values = random_fingerprints(100_000, params, seed=8)
    base = DecodedIndex(values, params)
    for changed in (0, 10, 1_000):
        newcomers = random_fingerprints(changed, params, seed=9)
        target = DecodedIndex(values[changed:] + newcomers, params)
        delta = encode_delta(base, target)
        assert len(delta) <= 150 + 6 * 2 * changed
        assert apply_delta(base, delta, max_count=params.capacity) == target


def test_delta_removing_everything_and_adding_everything() -> None:
    base = DecodedIndex(range(0, 6_400, 100), SMALL)
    empty = DecodedIndex([], SMALL)
    emptied = apply_delta(base, encode_delta(base, empty), max_count=64)
    assert emptied == empty
    assert apply_delta(emptied, encode_delta(empty, base), max_count=64) == base


def test_chained_deltas_over_epochs_with_padding() -> None:
    params = IndexParameters.for_capacity(5_000)
    rng = random.Random(10)
    real = set(random_fingerprints(4_000, params, seed=11))
    published, dummies = pad_index(DecodedIndex(real, params))
    querier = decode_index(published.encode(), max_count=params.capacity)
    for _ in range(4):
        real -= set(rng.sample(sorted(real), 50))
        real |= set(random_fingerprints(80, params, seed=rng.randrange(2**32)))
        previous = published
        published, dummies = pad_index(DecodedIndex(real, params), previous_dummies=dummies)
        delta = encode_delta(previous, published)
        # Kept dummies mean only the real change and a few dummies travel.
        assert len(delta) < 150 + 8 * (50 + 80 + 2 * 130)
        querier = apply_delta(querier, delta, max_count=params.capacity)
        assert querier == published
        assert querier.digest() == published.digest()


def test_encode_delta_refuses_different_parameters() -> None:
    with pytest.raises(InputError, match="expected both indexes to have the same parameters, got"):
        encode_delta(DecodedIndex([1], SMALL), DecodedIndex([1], REAL))


# Padding.


def test_size_buckets() -> None:
    assert [size_bucket(n) for n in (0, 1, 16, 17, 19, 31, 33, 1_000)] == [
        16,
        16,
        16,
        18,
        20,
        32,
        36,
        1_024,
    ]
    previous = 0
    for count in range(5_000):
        bucket = size_bucket(count)
        assert count <= bucket <= max(MIN_BUCKET, count * 9 // 8 + 1)
        assert size_bucket(bucket) == bucket
        assert bucket >= previous
        previous = bucket
    with pytest.raises(InputError, match=r"expected a count of at least 0, got \-1"):
        size_bucket(-1)


def test_pad_index_adds_distinct_dummies_up_to_the_bucket() -> None:
    params = IndexParameters.for_capacity(100)
    real = DecodedIndex(random_fingerprints(70, params, seed=12), params)
    padded, dummies = pad_index(real, randbelow=random.Random(13).randrange)
    assert padded.count == size_bucket(70) == 72
    assert len(dummies) == 2
    assert dummies.isdisjoint(real)
    assert set(padded) == set(real) | dummies
    again, _ = pad_index(real, randbelow=random.Random(13).randrange)
    assert again == padded


def test_pad_index_reuses_and_drops_previous_dummies() -> None:
    params = IndexParameters.for_capacity(200)
    values = random_fingerprints(130, params, seed=14)
    _, dummies = pad_index(DecodedIndex(values[:100], params))
    assert len(dummies) == 4
    # Fewer dummies are needed now: a subset of the previous ones is kept.
    _, fewer = pad_index(DecodedIndex(values[:101], params), previous_dummies=dummies)
    assert len(fewer) == 3
    assert fewer <= dummies
    # More are needed: all previous ones are kept and fresh ones drawn.
    _, more = pad_index(DecodedIndex(values[:97], params), previous_dummies=dummies)
    assert len(more) == 7
    assert dummies <= more
    with pytest.raises(
        InputError, match=r"expected previous dummies in \[0, 223338299392\), got 223338299392"
    ):
        pad_index(DecodedIndex([], params), previous_dummies=[params.domain])


def test_pad_index_never_exceeds_the_capacity() -> None:
    params = IndexParameters(capacity=17, false_hit_bits=8)
    padded, dummies = pad_index(DecodedIndex(range(17), params))
    assert padded.count == 17
    assert not dummies


def test_encode_index_with_padding() -> None:
    params = IndexParameters.for_capacity(50)
    data = encode_index(range(40), params, pad_to_bucket=True)
    index = decode_index(data, max_count=params.capacity)
    assert index.count == size_bucket(40)
    assert set(range(40)) <= set(index)


# Local arguments.


@pytest.mark.parametrize(
    ("capacity", "false_hit_bits"), [(0, 30), (1, 0), (1, 64), (2**34 + 1, 30), (3, 63)]
)
def test_parameters_out_of_range(capacity: int, false_hit_bits: int) -> None:
    with pytest.raises(InputError):
        IndexParameters(capacity, false_hit_bits)


def test_largest_domain_round_trips() -> None:
    params = IndexParameters(capacity=2**34, false_hit_bits=30)
    assert params.domain == 2**64
    for values in ([0, 1, 2**63, 2**64 - 1], [2**64 - 1], [0]):
        data = encode_index(values, params)
        assert data == reference_index(values, params)
        assert list(decode_index(data, max_count=4)) == values


def test_fingerprint_needs_sixteen_bytes_and_stays_in_the_domain() -> None:
    with pytest.raises(InputError, match="expected a tag of at least 16 bytes, got 15"):
        fingerprint(b"\x00" * 15, REAL)
    assert fingerprint(b"\x00" * 16, REAL) == 0
    assert fingerprint(b"\xff" * 16, REAL) == REAL.domain - 1
    assert fingerprint(b"\xff" * 16 + b"\x00" * 48, REAL) == fingerprint(b"\xff" * 32, REAL)


@pytest.mark.parametrize(
    "values",
    [[-1], [SMALL.domain], [1.5], ["1"], list(range(65))],
    ids=["negative", "domain", "float", "text", "over-capacity"],
)
def test_bad_fingerprints_are_input_errors(values: list[object]) -> None:
    with pytest.raises(InputError):
        DecodedIndex(values, SMALL)  # type: ignore[arg-type]


def test_negative_limits_are_input_errors() -> None:
    data = encode_index([1], SMALL)
    with pytest.raises(InputError, match=r"expected max_count of at least 0, got \-1"):
        decode_index(data, max_count=-1)
    with pytest.raises(InputError, match=r"expected max_count of at least 0, got \-1"):
        apply_delta(DecodedIndex([1], SMALL), data, max_count=-1)


# Bytes from a peer.


def test_max_count_bound() -> None:
    data = encode_index(range(0, 6_400, 100), SMALL)
    assert decode_index(data, max_count=64, min_false_hit_bits=8).count == 64
    with pytest.raises(PeerError, match="expected at most 63 fingerprints, got 64"):
        decode_index(data, max_count=63, min_false_hit_bits=8)


def test_weak_parameters_are_refused_by_default() -> None:
    with pytest.raises(PeerError, match=r"expected at least 30 false\-hit bits, got 8"):
        decode_index(encode_index([1], SMALL), max_count=10)


def test_huge_claimed_count_is_refused_before_allocating() -> None:
    params = IndexParameters(capacity=2**34, false_hit_bits=30)
    forged = reference_header(1, params) + struct.pack(">QQ", 2**33, 2**40)
    with pytest.raises(
        PeerError, match="expected a unary part of 1073741824 to 2147483648 bytes for 8589934592"
    ):
        decode_index(forged, max_count=2**34)
    forged = reference_header(1, params) + struct.pack(">QQ", 2**33, 2**30) + b"\x00" * 64
    with pytest.raises(
        PeerError, match="truncated fingerprints: expected 34359738399 bytes, got 95"
    ):
        decode_index(forged, max_count=2**34)


def _variants(data: bytes) -> list[tuple[str, bytes]]:
    count_at = 15
    claimed = int.from_bytes(data[count_at : count_at + 8], "big")
    return [
        ("magic", b"X" + data[1:]),
        ("version", data[:4] + b"\x02" + data[5:]),
        ("kind", data[:5] + b"\x02" + data[6:]),
        ("no-bits", data[:6] + b"\x00" + data[7:]),
        ("count+1", data[:count_at] + (claimed + 1).to_bytes(8, "big") + data[count_at + 8 :]),
        ("count-1", data[:count_at] + (claimed - 1).to_bytes(8, "big") + data[count_at + 8 :]),
        ("unary-longer", data[:23] + (int.from_bytes(data[23:31], "big") + 1).to_bytes(8, "big")),
        ("trailing-zero", data + b"\x00"),
        ("trailing-byte", data + b"\x80"),
    ]


def test_mutations_are_peer_errors() -> None:
    data = encode_index(random_fingerprints(40, SMALL, seed=15), SMALL)
    for name, mutated in _variants(data):
        assert decode_or_peer_error(mutated) is None, name
    for length in range(len(data)):
        assert decode_or_peer_error(data[:length]) is None, length


def test_flipped_bits_are_refused_or_change_the_digest() -> None:
    # The format carries no checksum (its digest is checked against the owner's signed log), so
    # a flipped bit may still decode; it must then decode to another, canonical index.
    data = encode_index(random_fingerprints(40, SMALL, seed=16), SMALL)
    digest = blake3.blake3(data).digest()
    refused = 0
    for bit in range(8 * len(data)):
        mutated = bytearray(data)
        mutated[bit // 8] ^= 0x80 >> (bit % 8)
        index = decode_or_peer_error(bytes(mutated))
        if index is None:
            refused += 1
            continue
        assert index.digest() != digest
        assert index.encode() == bytes(mutated)
    # Every bit of the magic, version, kind, count and unary length is checked.
    for bit in list(range(48)) + list(range(120, 248)):
        mutated = bytearray(data)
        mutated[bit // 8] ^= 0x80 >> (bit % 8)
        assert decode_or_peer_error(bytes(mutated)) is None, bit
    assert refused > 0


def test_padding_bits_must_be_zero() -> None:
    # Seven entries leave one padding bit in each bit plane (k = 11 gives three of them); the
    # quotients are 0, 0, 0, 0, 0, 0, 2, so the unary part is 9 bits and ends in 7 padding bits.
    data = encode_index([10, 2_000, 4_000, 6_000, 8_000, 10_000, 16_000], SMALL)
    mutated = bytearray(data)
    mutated[HEADER_BYTES] |= 0x01
    assert decode_or_peer_error(bytes(mutated)) is None
    mutated = bytearray(data)
    mutated[-1] |= 0x01
    assert decode_or_peer_error(bytes(mutated)) is None


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_decode_or_raise_peer_error(data: bytes) -> None:
    decode_or_peer_error(data)
    decode_or_peer_error(reference_header(1, SMALL) + data)


@settings(max_examples=300, deadline=None)
@given(
    values=fingerprint_sets(SMALL, 64),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    cut=st.integers(min_value=0),
    tail=st.binary(max_size=4),
)
def test_mutated_encodings_decode_canonically_or_raise_peer_error(
    values: set[int], edits: list[tuple[int, int]], cut: int, tail: bytes
) -> None:
    mutated = bytearray(encode_index(values, SMALL))
    for position, byte in edits:
        mutated[position % len(mutated)] = byte
    data = bytes(mutated[: len(mutated) - cut % 4]) + tail
    index = decode_or_peer_error(data)
    if index is not None:
        assert index.encode() == data
        assert sorted(index) == list(index)


# Deltas from a peer.


def _base_and_target() -> tuple[DecodedIndex, DecodedIndex]:
    base = DecodedIndex(range(0, 4_000, 100), SMALL)
    target = DecodedIndex([*range(100, 4_000, 100), 55, 5_000], SMALL)
    return base, target


def test_delta_for_another_base_is_refused() -> None:
    base, target = _base_and_target()
    delta = encode_delta(base, target)
    other = DecodedIndex([*range(0, 4_000, 100), 1], SMALL)
    with pytest.raises(PeerError, match="expected a delta from the index"):
        apply_delta(other, delta, max_count=64)
    with pytest.raises(PeerError, match="expected a delta with"):
        apply_delta(DecodedIndex(base, IndexParameters(65, 8)), delta, max_count=65)


def test_reference_delta_is_accepted() -> None:
    base, target = _base_and_target()
    delta = reference_delta(SMALL, base, target.digest(), [0], [55, 5_000])
    assert delta == encode_delta(base, target)
    assert apply_delta(base, delta, max_count=64) == target


def _crafted(name: str) -> bytes:
    base, target = _base_and_target()
    digest = target.digest()
    good = reference_delta(SMALL, base, digest, [0], [55, 5_000])
    crafted = {
        "adds-present": reference_delta(SMALL, base, digest, [0], [55, 100, 5_000]),
        "re-adds-removed": reference_delta(SMALL, base, digest, [0], [0, 55, 5_000]),
        "rank-beyond-base": reference_delta(SMALL, base, digest, [40], [55, 5_000]),
        "wrong-target": reference_delta(SMALL, base, bytes(32), [0], [55, 5_000]),
        "over-capacity": reference_delta(SMALL, base, digest, [], list(range(1, 26))),
        "trailing": good + b"\x00",
        "truncated": good[:-1],
        "header-only": good[:15],
        "an-index": target.encode(),
    }
    return crafted[name]


@pytest.mark.parametrize(
    "name",
    [
        "adds-present",
        "re-adds-removed",
        "rank-beyond-base",
        "wrong-target",
        "over-capacity",
        "trailing",
        "truncated",
        "header-only",
        "an-index",
    ],
)
def test_crafted_deltas_are_refused(name: str) -> None:
    base, _ = _base_and_target()
    with pytest.raises(PeerError):
        apply_delta(base, _crafted(name), max_count=64)


def test_delta_beyond_max_count_is_refused() -> None:
    base, target = _base_and_target()
    delta = encode_delta(base, target)
    assert apply_delta(base, delta, max_count=41) == target
    with pytest.raises(PeerError, match="expected at most 1 added fingerprints, got 2"):
        apply_delta(base, delta, max_count=40)


@settings(max_examples=200, deadline=None)
@given(
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=3),
    tail=st.binary(max_size=3),
)
def test_mutated_deltas_apply_exactly_or_raise_peer_error(
    edits: list[tuple[int, int]], tail: bytes
) -> None:
    base, target = _base_and_target()
    mutated = bytearray(encode_delta(base, target))
    for position, byte in edits:
        mutated[position % len(mutated)] = byte
    try:
        result = apply_delta(base, bytes(mutated) + tail, max_count=64)
    except PeerError:
        return
    # The target digest is checked, so whatever is accepted yields the named target.
    assert result.digest() == bytes(mutated[55:87])


def test_decoded_index_equality_and_repr() -> None:
    index = DecodedIndex([3, 1, 2], SMALL)
    assert index == DecodedIndex([1, 2, 3], SMALL)
    assert index != DecodedIndex([1, 2], SMALL)
    assert index != DecodedIndex([1, 2, 3], IndexParameters(65, 8))
    assert index != [1, 2, 3]
    assert len({index, DecodedIndex([1, 2, 3], SMALL)}) == 1
    assert "count=3" in repr(index)
    assert len(index) == 3
    assert index.contains(2)
    assert not index.contains(4)
