"""The compact wire form of an owner's match index, and deltas between its epochs.

An owner evaluates every match key of its records with its OPRF key; each output (a *tag*) is a
uniformly random string. The owner publishes a set of short *fingerprints* of its tags, so that a
querier who has obtained the OPRF outputs of its own probes through blinded evaluation can test
membership locally, and the owner never learns the outcome (docs/promises.md, "The check"). This
module encodes that set compactly, decodes it defensively, and encodes and applies deltas between
epochs (docs/promises.md, "Numbers": at most 5 bytes per key at a false-hit probability of at most
1e-9 per probe key, and a delta in proportion to what changed).

Choice of structure. A Golomb-Rice coded set (GCS) of fingerprints; `bench/match_index.py`
measures its size, coding time and lookup time against the alternatives:

- GCS at a false-hit bound of 2^-30 (9.3e-10): 3.95 bytes per key at 10^6 keys. A delta is two
  more coded sets, so it costs in proportion to the change: about 3.4 bytes per changed key for
  1,000 removed and 1,000 added, 2.5 for 100,000.
- A binary fuse filter has the same false-hit rate only with 30-bit slots, and stores about 1.075
  (4-wise) to 1.125 (3-wise) slots per key, so 4.03 to 4.22 bytes per key. Every slot depends on
  many keys, so a change of epoch rewrites the whole filter: no delta in proportion to the
  change exists. Rejected on deltas, and it is not smaller.
- The floor for a set of n random values among m (n << m) is about log2(m / n) + 1.44 bits per
  key; Rice coding with the parameter below costs log2(m / n) + 1.47 to 1.58 bits, within 0.02
  bytes per key of the floor, so an arithmetic coder would not pay for its complexity.

Fingerprints. `IndexParameters(capacity, false_hit_bits)` fixes the fingerprint domain
`m = capacity * 2**false_hit_bits`. A tag maps to `(int(tag[:16]) * m) >> 128` (the high part of a
128-bit by m product: uniform on [0, m) up to a bias below m / 2**128). A probe tag that is not in
the owner's set hits with probability `count / m <= capacity / m = 2**-false_hit_bits`; the
default of 30 bits gives 9.3e-10 <= 1e-9 (measured with 8, 12 and 16 bits, where false hits are
frequent enough to count, the observed rates match count / m). The domain is a multiple of the
capacity rather than a power of two so that the bound is exact and no fraction of a bit per key
is spent on rounding up. An index costs log2(capacity / count) more bits per key than a full one:
at most 3.97 bytes per key when `IndexParameters.for_capacity(count)` sized it, about 4.07 when
it is half full, and under 5 bytes while it is at least 1/300 full. Padding dummies count toward
`count`, so the bound covers them as long as the padded count stays within the capacity, which
`pad_index` guarantees.

Rice parameter. A set of n distinct values below a universe u is coded with
`k = floor(log2(u / n))`; for gaps that are close to geometric with mean u / n, the best Rice
parameter is this one or its neighbour, which saves under 0.05 bits. It is derived from (u, n),
not transmitted, so every set has exactly one encoding.

Padding. `pad_index` adds random dummies up to the next size bucket, a number with at most four
significant bits (16, 18, 20, ..., 30, 32, 36, ...): eight buckets per doubling, at most 12.5 %
more entries. A delta still shows how many entries were added and removed in that epoch.

Querier side. A decoded index is a sorted `array('Q')` searched with `bisect`: 8 bytes per key
(7.8 MiB for 10^6 keys) against about 64 for a Python set of ints, at the cost of a slower
lookup (a binary search instead of a hash). A querier caches the indexes of up to 195 owners and
probes only a few thousand keys per check (a 300-person manifest is about 1,200 probes), so
memory decides.

Format (integers big-endian; version 1):

    index  = magic "BHMI" | version u8 = 1 | kind u8 = 0x01 | false_hit_bits u8 | capacity u64
             | coded_set(fingerprints, universe = m)
    delta  = magic "BHMI" | version u8 = 1 | kind u8 = 0x02 | false_hit_bits u8 | capacity u64
             | base_count u64 | base_digest [32] | target_digest [32]
             | coded_set(removed ranks in the base, universe = base_count)
             | coded_set(added fingerprints, universe = m)
    coded_set(v_0 < v_1 < ... < v_{n-1} < u) =
             n u64 | unary_length u64 | remainder planes | unary part [unary_length]

With `d_0 = v_0` and `d_i = v_i - v_{i-1} - 1` (so a repeated value cannot be expressed), each
`d_i` is Rice coded with parameter k: quotient `d_i >> k` in unary, remainder `d_i mod 2**k` in k
bits. The remainders are stored transposed so that pure Python can decode them with whole-buffer
operations: first, for bit t from k - 1 down to 8 * (k div 8), a bit plane of ceil(n / 8) bytes
whose i-th bit (most significant first) is bit t of remainder i; then, for byte j from
k div 8 - 1 down to 0, a byte plane of n bytes whose i-th byte is byte j of remainder i. The unary
part is, for each i in order, `d_i >> k` zero bits then a one bit, padded with zero bits to a byte
boundary. Padding bits are zero and the unary part has no whole byte of padding, so the encoding
of a set is unique: `decode(x).encode() == x` for every accepted x, and the digest of an index
(BLAKE3 of its encoding, 32 bytes) names its set.

A delta removes the fingerprints at the given ranks of the base's sorted order and adds the given
fingerprints, none of which may be in the base; it names the base and the result by digest, and
applying it checks both, so a querier's cached index always equals an index the owner published
(and whose digest the owner logged).

Invariants. Fingerprints lie in [0, m) with m <= 2**64, so each fits an unsigned 64-bit word. A
decoded index holds at most min(capacity, max_count) fingerprints, strictly increasing. Anything
from a peer that does not decode raises `PeerError`, and nothing else; bad local arguments raise
`InputError`. Decoding allocates memory in proportion to the input and to `max_count` only.

Owner workflow, per epoch:

    params = IndexParameters.for_capacity(expected_keys_with_room_to_grow)
    real = DecodedIndex.from_tags(tags, params)
    published, dummies = pad_index(real, previous_dummies=dummies_of_last_epoch)
    wire, digest = published.encode(), published.digest()   # the digest goes into the audit log
    delta = encode_delta(published_last_epoch, published)

When the number of keys outgrows the capacity, the owner publishes a full index with new
parameters; its fingerprints change, so no delta bridges the two.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import add, and_, eq, lshift, not_, or_, rshift, sub
from typing import Final, NewType

import blake3

from crypto.errors import InputError, PeerError

__all__ = [
    "FALSE_HIT_BITS",
    "FORMAT_VERSION",
    "MIN_BUCKET",
    "MIN_TAG_BYTES",
    "DecodedIndex",
    "IndexParameters",
    "MatchTag",
    "apply_delta",
    "choose_parameters",
    "decode_index",
    "encode_delta",
    "encode_index",
    "fingerprint",
    "fingerprint_range",
    "pad_index",
    "size_bucket",
    "tag_fingerprints",
]

MatchTag = NewType("MatchTag", bytes)
"""A finalised OPRF output of one match key (64 bytes for ristretto255-SHA512, 32 for P-256)."""

FALSE_HIT_BITS: Final = 30
"""Default bound 2**-30 = 9.3e-10 on the false-hit probability of one probe key."""

MIN_TAG_BYTES: Final = 16
"""A fingerprint is taken from the first 128 bits of a tag."""

MIN_BUCKET: Final = 16
"""Padding never publishes fewer entries than this, so tiny indexes all look alike."""

FORMAT_VERSION: Final = 1

_MAGIC: Final = b"BHMI"
_KIND_INDEX: Final = 0x01
_KIND_DELTA: Final = 0x02
_HEADER: Final = struct.Struct(">4sBBBQ")
_DELTA_HEADER: Final = struct.Struct(">Q32s32s")
_SET_HEADER: Final = struct.Struct(">QQ")
_MAX_DOMAIN: Final = 1 << 64

# The remainder planes are turned into text of "0" and "1" characters and back, because the
# conversions between such text and integers run in linear time in C. `_BIT_TO_CHAR[t]` maps a
# byte to the character of its bit t; `_CHAR_TO_BIT` maps the characters back to bytes 0 and 1.
_BIT_TO_CHAR: Final = tuple(
    bytes.maketrans(bytes(range(256)), bytes(0x30 | ((b >> t) & 1) for b in range(256)))
    for t in range(8)
)
_CHAR_TO_BIT: Final = bytes.maketrans(b"01", b"\x00\x01")
_LITTLE_ENDIAN: Final = sys.byteorder == "little"

# Long sequences are processed in slices of this many entries, so that temporary lists of Python
# ints (about 40 bytes each) stay small whatever the size of the index; the unary part is read in
# slices of this many bytes for the same reason.
_CHUNK: Final = 1 << 16
_UNARY_SLICE: Final = 1 << 13


def _parameter_problem(capacity: int, false_hit_bits: int) -> str | None:
    """Why (capacity, false_hit_bits) cannot form parameters, or None if they can."""
    if capacity < 1:
        return f"expected a capacity of at least 1, got {capacity}"
    if not 1 <= false_hit_bits <= 63:
        return f"expected false_hit_bits between 1 and 63, got {false_hit_bits}"
    if capacity << false_hit_bits > _MAX_DOMAIN:
        return (
            f"expected capacity * 2**false_hit_bits <= 2**64, got {capacity} * 2**{false_hit_bits}"
        )
    return None


@dataclass(frozen=True)
class IndexParameters:
    """What a querier needs to map its tags to fingerprints and to bound its false hits.

    `capacity` is the most entries (real and dummy) an index with these parameters may hold;
    deltas keep the parameters of their base. The Rice parameter is not a field: it follows from
    the count of each coded set (see the module docstring).
    """

    capacity: int
    false_hit_bits: int = FALSE_HIT_BITS

    def __post_init__(self) -> None:
        problem = _parameter_problem(self.capacity, self.false_hit_bits)
        if problem is not None:
            raise InputError(problem)

    @classmethod
    def for_capacity(cls, count: int, *, false_hit_bits: int = FALSE_HIT_BITS) -> IndexParameters:
        """Parameters for up to `count` keys, with the capacity rounded up to a padding bucket.

        The rounding lets `pad_index` always reach its bucket. An owner whose data grows passes
        the count it expects before the next full index, not the count it has today.
        """
        if count < 0:
            raise InputError(f"expected a count of at least 0, got {count}")
        return cls(capacity=size_bucket(count), false_hit_bits=false_hit_bits)

    @property
    def domain(self) -> int:
        """The number m of possible fingerprints: fingerprints lie in [0, m)."""
        return self.capacity << self.false_hit_bits

    @property
    def false_hit_bound(self) -> float:
        """Upper bound on the probability that a probe key not in the index hits it."""
        return self.capacity / self.domain


def size_bucket(count: int) -> int:
    """The padded size for `count` entries: the next value with at most 4 significant bits.

    Buckets are 16, 18, 20, ..., 30, 32, 36, ..., 60, 64, 72, ...: eight per doubling, so padding
    adds at most 12.5 % (6 % on average) and the published count reveals only its bucket.
    """
    if count < 0:
        raise InputError(f"expected a count of at least 0, got {count}")
    if count <= MIN_BUCKET:
        return MIN_BUCKET
    shift = count.bit_length() - 4
    return ((count + (1 << shift) - 1) >> shift) << shift


def fingerprint(tag: bytes, params: IndexParameters) -> int:
    """The fingerprint of a tag: the high part of its first 128 bits times the domain."""
    if len(tag) < MIN_TAG_BYTES:
        raise InputError(f"expected a tag of at least {MIN_TAG_BYTES} bytes, got {len(tag)}")
    return (int.from_bytes(tag[:MIN_TAG_BYTES], "big") * params.domain) >> 128


# An owner's choice of index parameters (`choose_parameters`): 25 % headroom when it picks a new
# capacity, and a new choice once the capacity exceeds four times the count (at least 4,096).
_HEADROOM_NUMERATOR: Final = 5
_HEADROOM_DENOMINATOR: Final = 4
_SHRINK_FACTOR: Final = 4
_SHRINK_FLOOR: Final = 4096
_FINGERPRINT_SPACE: Final = 1 << (8 * MIN_TAG_BYTES)


def choose_parameters(
    previous: IndexParameters | None, count: int, *, pad: bool
) -> IndexParameters:
    """The parameters of an owner's next index of `count` real entries.

    `previous` is kept while the index (padded to its bucket when `pad`) fits its capacity and
    the capacity is at most four times the count (or 4,096), because a delta can only bridge two
    epochs with the same parameters. A new capacity has 25 % headroom over the real count
    (rounded up to a size bucket), so that an index that grows keeps its parameters for a while.
    """
    needed = size_bucket(count) if pad else count
    if (
        previous is not None
        and needed <= previous.capacity
        and previous.capacity <= _SHRINK_FACTOR * max(count, _SHRINK_FLOOR)
    ):
        return previous
    roomy = (count * _HEADROOM_NUMERATOR + _HEADROOM_DENOMINATOR - 1) // _HEADROOM_DENOMINATOR
    return IndexParameters.for_capacity(roomy)


def tag_fingerprints(tags: Iterable[bytes], params: IndexParameters) -> Iterator[int]:
    """`fingerprint` of each of many tags, with the domain computed once.

    An index build computes one per tag (12 million for a million people), where the call and
    the domain property cost more than the arithmetic. Tags are at least `MIN_TAG_BYTES` long
    (they come from the dataset tables, `TAG_LENGTH` bytes each).
    """
    domain = params.domain
    shift = 8 * MIN_TAG_BYTES
    from_bytes = int.from_bytes
    return ((from_bytes(tag[:MIN_TAG_BYTES], "big") * domain) >> shift for tag in tags)


def fingerprint_range(value: int, params: IndexParameters) -> tuple[bytes, bytes | None]:
    """The tags whose fingerprint is `value`: those `t` with `low <= t < high` (bytewise).

    A fingerprint is `floor(x * m / 2**128)` for the first 16 bytes `x` of the tag, so it is `f`
    exactly when `ceil(f * 2**128 / m) <= x < ceil((f + 1) * 2**128 / m)`. Compared as byte
    strings, a 32-byte tag is at least its 16-byte prefix, which is what makes 16-byte bounds
    exact. `high` is None when the range reaches the top of the tag space.
    """
    domain = params.domain
    low = -(-value * _FINGERPRINT_SPACE // domain)
    high = -(-(value + 1) * _FINGERPRINT_SPACE // domain)
    upper = None if high >= _FINGERPRINT_SPACE else high.to_bytes(MIN_TAG_BYTES, "big")
    return low.to_bytes(MIN_TAG_BYTES, "big"), upper


def _rice_bits(universe: int, count: int) -> int:
    """floor(log2(universe / count)), which equals floor(log2(universe // count)) for count >= 1."""
    if count == 0:
        return 0
    return (universe // count).bit_length() - 1


def _encode_set(values: Sequence[int], universe: int) -> bytes:
    """The coded set of strictly increasing `values`, all below `universe`."""
    n = len(values)
    if n == 0:
        return _SET_HEADER.pack(0, 0)
    k = _rice_bits(universe, n)
    mask = (1 << k) - 1
    remainders = array("Q")
    unary_pieces: list[str] = []
    previous = 0
    for start in range(0, n, _CHUNK):
        # w_i = v_i - i is non-decreasing, and its differences are the d_i of the module
        # docstring (w_{-1} = 0 makes d_0 = v_0).
        shifted = list(map(sub, values[start : start + _CHUNK], itertools.count(start)))
        deltas = list(map(sub, shifted, itertools.chain((previous,), shifted)))
        previous = shifted[-1]
        remainders.extend(map(and_, deltas, itertools.repeat(mask)))
        # Joining runs of "0" with "1" writes the unary quotients; the final "1" ends the last.
        unary_pieces.append("1".join(map("0".__mul__, map(rshift, deltas, itertools.repeat(k)))))
        unary_pieces.append("1")
    if _LITTLE_ENDIAN:
        remainders.byteswap()
    words = remainders.tobytes()
    del remainders
    full_bytes, top_bits = divmod(k, 8)
    planes: list[bytes] = []
    if top_bits:
        top = words[7 - full_bytes :: 8]
        pad = -n % 8
        for bit in reversed(range(top_bits)):
            chars = top.translate(_BIT_TO_CHAR[bit])
            planes.append((int(chars, 2) << pad).to_bytes((n + 7) // 8, "big"))
    planes.extend(words[7 - byte :: 8] for byte in reversed(range(full_bytes)))
    del words

    unary_chars = "".join(unary_pieces)
    del unary_pieces
    unary_length = (len(unary_chars) + 7) // 8
    unary = (int(unary_chars, 2) << (8 * unary_length - len(unary_chars))).to_bytes(
        unary_length, "big"
    )
    return b"".join([_SET_HEADER.pack(n, unary_length), *planes, unary])


def _decode_remainders(data: bytes, offset: int, n: int, k: int, what: str) -> array[int]:
    """The n remainders of k bits stored as planes at `offset`, whose length was checked."""
    full_bytes, top_bits = divmod(k, 8)
    plane_bytes = (n + 7) // 8
    words = bytearray(8 * n)
    if top_bits:
        pad = -n % 8
        top = 0
        for bit in reversed(range(top_bits)):
            plane = int.from_bytes(data[offset : offset + plane_bytes], "big")
            offset += plane_bytes
            if plane & ((1 << pad) - 1):
                raise PeerError(f"expected zero padding bits in a plane of {what}")
            chars = format(plane >> pad, f"0{n}b").encode("ascii")
            top |= int.from_bytes(chars.translate(_CHAR_TO_BIT), "big") << bit
        words[7 - full_bytes :: 8] = top.to_bytes(n, "big")
    for byte in reversed(range(full_bytes)):
        words[7 - byte :: 8] = data[offset : offset + n]
        offset += n
    remainders = array("Q")
    remainders.frombytes(words)
    if _LITTLE_ENDIAN:
        remainders.byteswap()
    return remainders


def _decode_quotients(unary: bytes, n: int, what: str) -> array[int]:
    """The n unary-coded quotients in `unary`, which must end within its last byte.

    The bytes are read a slice at a time, so that the temporary strings stay small; a run of
    zeros that reaches the end of a slice continues into the next one.
    """
    quotients = array("Q")
    carry = 0
    for start in range(0, len(unary), _UNARY_SLICE):
        piece = unary[start : start + _UNARY_SLICE]
        runs = list(
            map(len, format(int.from_bytes(piece, "big"), f"0{8 * len(piece)}b").split("1"))
        )
        runs[0] += carry
        carry = runs.pop()
        quotients.extend(runs)
        if len(quotients) > n:
            break
    if len(quotients) != n or carry >= 8:
        raise PeerError(
            f"expected {n} unary codes and under a byte of padding in {what}, "
            f"got {len(quotients)} codes and {carry} padding bits"
        )
    return quotients


def _decode_set(
    data: bytes, offset: int, universe: int, max_count: int, what: str
) -> tuple[array[int], int]:
    """Decode the coded set at `offset`; return its values and the offset after it.

    Every length is checked against the input before anything is allocated, so the work and
    memory are bounded by the input's length and by `max_count`.
    """
    if len(data) - offset < _SET_HEADER.size:
        raise PeerError(f"truncated {what}: expected a set header at byte {offset}")
    n, unary_length = _SET_HEADER.unpack_from(data, offset)
    offset += _SET_HEADER.size
    if n > max_count:
        raise PeerError(f"expected at most {max_count} {what}, got {n}")
    if n > universe:
        raise PeerError(f"expected at most {universe} distinct {what} below {universe}, got {n}")
    if n == 0:
        if unary_length != 0:
            raise PeerError(f"expected no unary part for 0 {what}, got {unary_length} bytes")
        return array("Q"), offset

    k = _rice_bits(universe, n)
    full_bytes, top_bits = divmod(k, 8)
    plane_bytes = (n + 7) // 8
    planes_length = top_bits * plane_bytes + full_bytes * n
    # The n ones of the unary part take ceil(n / 8) bytes; the quotients add at most
    # (universe - n) >> k zeros, because the d_i sum to v_{n-1} - (n - 1) < universe - n + 1.
    least_unary = plane_bytes
    most_unary = (n + ((universe - n) >> k) + 7) // 8
    if not least_unary <= unary_length <= most_unary:
        raise PeerError(
            f"expected a unary part of {least_unary} to {most_unary} bytes for {n} {what}, "
            f"got {unary_length}"
        )
    end = offset + planes_length + unary_length
    if end > len(data):
        raise PeerError(f"truncated {what}: expected {end} bytes, got {len(data)}")

    remainders = _decode_remainders(data, offset, n, k, what)
    quotients = _decode_quotients(data[offset + planes_length : end], n, what)
    largest = (sum(quotients) << k) + sum(remainders) + n - 1
    if largest >= universe:
        raise PeerError(f"expected {what} below {universe}, got {largest}")
    deltas = map(or_, map(lshift, quotients, itertools.repeat(k)), remainders)
    values = array("Q", map(add, itertools.accumulate(deltas), itertools.count()))
    return values, end


def _remove_ranks(values: array[int], ranks: Sequence[int]) -> array[int]:
    """`values` without the entries at the strictly increasing `ranks`."""
    kept = array("Q")
    start = 0
    for rank in ranks:
        kept.extend(values[start:rank])
        start = rank + 1
    kept.extend(values[start:])
    return kept


def _insert_sorted(values: array[int], additions: Sequence[int]) -> array[int]:
    """The sorted union of sorted `values` and sorted `additions`, which are disjoint."""
    if not additions:
        return values
    out = array("Q")
    start = 0
    for value in additions:
        position = bisect_left(values, value, start)
        out.extend(values[start:position])
        out.append(value)
        start = position
    out.extend(values[start:])
    return out


class DecodedIndex:
    """A validated set of fingerprints with its parameters: what a querier caches and probes.

    Build one with `decode_index` or `apply_delta` from peer bytes, or with `from_fingerprints`
    or `from_tags` on the owner's side. The fingerprints are held as a sorted `array('Q')`
    (8 bytes each); membership is a binary search. Instances are not modified after creation.
    """

    __slots__ = ("_digest", "_fingerprints", "_params")

    _params: IndexParameters
    _fingerprints: array[int]
    _digest: bytes | None

    def __init__(self, fingerprints: Iterable[int], params: IndexParameters) -> None:
        """Sort and deduplicate `fingerprints`; refuse values outside the domain."""
        try:
            ordered = sorted(fingerprints)
            out_of_range = bool(ordered) and (ordered[0] < 0 or ordered[-1] >= params.domain)
        except TypeError as error:
            raise InputError("expected fingerprints to be integers") from error
        if out_of_range:
            raise InputError(
                f"expected fingerprints in [0, {params.domain}), got {ordered[0]}..{ordered[-1]}"
            )
        if ordered and any(map(eq, ordered, itertools.islice(ordered, 1, None))):
            ordered = list(dict.fromkeys(ordered))
        if len(ordered) > params.capacity:
            raise InputError(
                f"expected at most {params.capacity} fingerprints (the capacity), "
                f"got {len(ordered)}: build a full index with larger parameters"
            )
        try:
            self._fingerprints = array("Q", ordered)
        except TypeError as error:
            raise InputError("expected fingerprints to be integers") from error
        self._params = params
        self._digest = None

    @classmethod
    def from_fingerprints(
        cls, fingerprints: Iterable[int], params: IndexParameters
    ) -> DecodedIndex:
        """An index of the given fingerprints, in any order, duplicates dropped."""
        return cls(fingerprints, params)

    @classmethod
    def from_tags(cls, tags: Iterable[bytes], params: IndexParameters) -> DecodedIndex:
        """An index of the fingerprints of the given tags."""
        return cls((fingerprint(tag, params) for tag in tags), params)

    @classmethod
    def _trusted(
        cls, params: IndexParameters, fingerprints: array[int], digest: bytes | None
    ) -> DecodedIndex:
        """Wrap fingerprints already known to be sorted, distinct and in range."""
        index = cls.__new__(cls)
        index._params = params
        index._fingerprints = fingerprints
        index._digest = digest
        return index

    @property
    def params(self) -> IndexParameters:
        return self._params

    @property
    def count(self) -> int:
        """Entries in the index, dummies included."""
        return len(self._fingerprints)

    @property
    def false_hit_probability(self) -> float:
        """Probability that one probe key not in the index hits it: count / domain."""
        return self.count / self._params.domain

    def __len__(self) -> int:
        return len(self._fingerprints)

    def __iter__(self) -> Iterator[int]:
        """The fingerprints in increasing order."""
        return iter(self._fingerprints)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecodedIndex):
            return NotImplemented
        return self._params == other._params and self._fingerprints == other._fingerprints

    def __hash__(self) -> int:
        return hash((self._params, self.digest()))

    def __repr__(self) -> str:
        return f"DecodedIndex(count={self.count}, params={self._params!r})"

    def contains(self, fingerprint: int) -> bool:
        """Whether `fingerprint` is in the index."""
        fingerprints = self._fingerprints
        position = bisect_left(fingerprints, fingerprint)
        return position < len(fingerprints) and fingerprints[position] == fingerprint

    def contains_tag(self, tag: bytes) -> bool:
        """Whether the fingerprint of `tag` is in the index (a hit, or a false hit)."""
        return self.contains(fingerprint(tag, self._params))

    def contains_tags(self, tags: Iterable[bytes]) -> list[bool]:
        """`contains_tag` for each tag, in order."""
        return [self.contains(fingerprint(tag, self._params)) for tag in tags]

    def encode(self) -> bytes:
        """The canonical wire form of this index (see the module docstring)."""
        header = _HEADER.pack(
            _MAGIC,
            FORMAT_VERSION,
            _KIND_INDEX,
            self._params.false_hit_bits,
            self._params.capacity,
        )
        return header + _encode_set(self._fingerprints, self._params.domain)

    def digest(self) -> bytes:
        """BLAKE3 of the canonical encoding: the index digest of an epoch, 32 bytes."""
        if self._digest is None:
            self._digest = blake3.blake3(self.encode()).digest()
        return self._digest


def encode_index(
    fingerprints: Iterable[int] | DecodedIndex,
    params: IndexParameters,
    *,
    pad_to_bucket: bool = False,
) -> bytes:
    """The wire form of an index of `fingerprints` (any order, duplicates dropped).

    With `pad_to_bucket`, random dummy fingerprints raise the count to its size bucket. An owner
    who publishes deltas must keep its dummies from one epoch to the next, and so should call
    `pad_index` itself instead.
    """
    if isinstance(fingerprints, DecodedIndex):
        if fingerprints.params != params:
            raise InputError(f"expected an index with {params!r}, got {fingerprints.params!r}")
        index = fingerprints
    else:
        index = DecodedIndex(fingerprints, params)
    if pad_to_bucket:
        index, _ = pad_index(index)
    return index.encode()


def pad_index(
    real: DecodedIndex,
    *,
    previous_dummies: Iterable[int] = (),
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> tuple[DecodedIndex, frozenset[int]]:
    """Add dummy fingerprints up to the size bucket of `real`; return the index and the dummies.

    Real fingerprints are outputs of a pseudorandom function, so dummies drawn uniformly from the
    domain cannot be told apart from them. Dummies of the previous epoch are kept where they
    still fit (a random subset of them if fewer are needed), so that a delta only carries the
    dummies that really change. The bucket is capped at the capacity, which keeps the false-hit
    bound of the parameters. `randbelow` is injectable for deterministic tests.
    """
    params = real.params
    target = min(size_bucket(real.count), params.capacity)
    needed = target - real.count
    reusable: list[int] = []
    for dummy in dict.fromkeys(previous_dummies):
        if not 0 <= dummy < params.domain:
            raise InputError(f"expected previous dummies in [0, {params.domain}), got {dummy}")
        if not real.contains(dummy):
            reusable.append(dummy)
    # A partial Fisher-Yates shuffle picks which surplus dummies to drop, so that what a delta
    # removes says nothing about the order in which dummies were made.
    keep = min(needed, len(reusable))
    for i in range(keep):
        j = i + randbelow(len(reusable) - i)
        reusable[i], reusable[j] = reusable[j], reusable[i]
    dummies = set(reusable[:keep])
    while len(dummies) < needed:
        candidate = randbelow(params.domain)
        if not real.contains(candidate):
            dummies.add(candidate)
    padded = _insert_sorted(real._fingerprints, sorted(dummies))
    return DecodedIndex._trusted(params, padded, None), frozenset(dummies)


def _decode_header(data: bytes, kind: int) -> tuple[IndexParameters, int]:
    if len(data) < _HEADER.size:
        raise PeerError(f"truncated index: expected at least {_HEADER.size} bytes, got {len(data)}")
    magic, version, found_kind, false_hit_bits, capacity = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise PeerError(f"expected the match-index magic {_MAGIC!r}, got {magic!r}")
    if version != FORMAT_VERSION:
        raise PeerError(f"expected match-index format version {FORMAT_VERSION}, got {version}")
    if found_kind != kind:
        names = {_KIND_INDEX: "a full index", _KIND_DELTA: "a delta"}
        raise PeerError(f"expected {names[kind]}, got kind {found_kind}")
    problem = _parameter_problem(capacity, false_hit_bits)
    if problem is not None:
        raise PeerError(problem)
    return IndexParameters(capacity, false_hit_bits), _HEADER.size


def decode_index(
    data: bytes, *, max_count: int, min_false_hit_bits: int = FALSE_HIT_BITS
) -> DecodedIndex:
    """Decode and validate a full index from a peer.

    Refuses, with `PeerError`, anything but the canonical encoding of a set, more than
    `max_count` or more than the capacity's entries, and parameters whose false-hit bound is
    weaker than 2**-min_false_hit_bits.
    """
    if max_count < 0:
        raise InputError(f"expected max_count of at least 0, got {max_count}")
    params, offset = _decode_header(data, _KIND_INDEX)
    if params.false_hit_bits < min_false_hit_bits:
        raise PeerError(
            f"expected at least {min_false_hit_bits} false-hit bits, got {params.false_hit_bits}"
        )
    fingerprints, end = _decode_set(
        data, offset, params.domain, min(max_count, params.capacity), "fingerprints"
    )
    if end != len(data):
        raise PeerError(f"expected {end} bytes of index, got {len(data)}")
    return DecodedIndex._trusted(params, fingerprints, blake3.blake3(data).digest())


def _differences(old: array[int], new: array[int]) -> tuple[list[int], list[int]]:
    """The ranks in `old` of the values not in `new`, and the values of `new` not in `old`.

    Both are sorted. They are compared a slice of `old` at a time, against the values of `new` in
    the same range, so that the sets used for the comparison stay small.
    """
    removed_ranks: list[int] = []
    added: list[int] = []
    old_start = new_start = 0
    while old_start < len(old) or new_start < len(new):
        old_end = min(old_start + _CHUNK, len(old))
        new_end = bisect_left(new, old[old_end], new_start) if old_end < len(old) else len(new)
        old_slice, new_slice = old[old_start:old_end], new[new_start:new_end]
        in_new = set(new_slice).__contains__
        removed_ranks.extend(
            itertools.compress(itertools.count(old_start), map(not_, map(in_new, old_slice)))
        )
        added.extend(itertools.filterfalse(set(old_slice).__contains__, new_slice))
        old_start, new_start = old_end, new_end
    return removed_ranks, added


def encode_delta(old: DecodedIndex, new: DecodedIndex) -> bytes:
    """The delta that turns the published index `old` into the published index `new`.

    Both must have the same parameters (a change of parameters changes every fingerprint, so it
    needs a full index). The delta costs about log2(old.count / removed) + 1.6 bits per removed
    entry and log2(m / added) + 1.6 bits per added one, plus 119 bytes.
    """
    if old.params != new.params:
        raise InputError(
            f"expected both indexes to have the same parameters, got {old.params!r} and "
            f"{new.params!r}: publish a full index instead"
        )
    removed_ranks, added = _differences(old._fingerprints, new._fingerprints)
    params = old.params
    header = _HEADER.pack(
        _MAGIC, FORMAT_VERSION, _KIND_DELTA, params.false_hit_bits, params.capacity
    ) + _DELTA_HEADER.pack(old.count, old.digest(), new.digest())
    return b"".join(
        [header, _encode_set(removed_ranks, old.count), _encode_set(added, params.domain)]
    )


def apply_delta(index: DecodedIndex, delta: bytes, *, max_count: int) -> DecodedIndex:
    """The index that `delta`, from a peer, makes of `index`; `index` itself is unchanged.

    Refuses, with `PeerError`, a delta for another base (by count or digest), with other
    parameters, that removes a rank beyond the base or adds a fingerprint the base holds, that
    would exceed `max_count` or the capacity, or whose result does not have the digest the delta
    names.
    """
    if max_count < 0:
        raise InputError(f"expected max_count of at least 0, got {max_count}")
    params, offset = _decode_header(delta, _KIND_DELTA)
    if params != index.params:
        raise PeerError(f"expected a delta with {index.params!r}, got {params!r}")
    if len(delta) - offset < _DELTA_HEADER.size:
        raise PeerError(f"truncated delta: expected a header of {_DELTA_HEADER.size} more bytes")
    base_count, base_digest, target_digest = _DELTA_HEADER.unpack_from(delta, offset)
    offset += _DELTA_HEADER.size
    if base_count != index.count or not hmac.compare_digest(base_digest, index.digest()):
        raise PeerError(
            f"expected a delta from the index {index.digest().hex()} of {index.count} entries, "
            f"got one from {base_digest.hex()} of {base_count}"
        )
    removed_ranks, offset = _decode_set(delta, offset, base_count, base_count, "removed ranks")
    room = min(max_count, params.capacity) - base_count + len(removed_ranks)
    added, offset = _decode_set(delta, offset, params.domain, max(room, 0), "added fingerprints")
    if offset != len(delta):
        raise PeerError(f"expected {offset} bytes of delta, got {len(delta)}")
    for value in added:
        if index.contains(value):
            raise PeerError(f"expected added fingerprints not in the base, got {value}")
    updated = _insert_sorted(_remove_ranks(index._fingerprints, removed_ranks), added)
    result = DecodedIndex._trusted(params, updated, None)
    if not hmac.compare_digest(result.digest(), target_digest):
        raise PeerError(
            f"expected the delta to yield the index {target_digest.hex()}, "
            f"got {result.digest().hex()}"
        )
    return result
