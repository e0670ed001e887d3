"""The querier's and the owner's steps of one blinded check (docs/promises.md, "The check"), pure.

A check is between one querier and one owner's dataset. The querier turns its probes into match
keys, blinds their OPRF inputs and sends only the blinded elements; the owner evaluates them;
the querier finalises the answer into tags and looks them up in the owner's match index
(index mode) or sends the tags back (owner-match mode).

Ordering rules of `QuerierCheck` (each step once, in this order):
1. construction derives the match keys of every probe (bad probes raise `InputError` naming the
   probe and the field);
2. `blinded_elements()` blinds them (a second call returns the same elements: nothing is blinded
   twice, so an owner cannot link two evaluations of the same batch by asking again);
3. `finalize(evaluated, proof)` unblinds and verifies (VOPRF/POPRF), giving tags;
4. `outcomes_from_index(index)` or `outcomes_from_owner_match(hits, references)` gives the report.
Calling a step before the one it needs raises `RuntimeError`.

What crosses the wire from the querier is only blinded elements (index mode) or tags
(owner-match mode); neither `QuerierCheck` nor `ProbeOutcome` is ever logged, and their reprs
name no probe value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from crypto.errors import CryptoError, InputError, PeerError
from crypto.oprf import BlindEvaluation, ClientBatch, EvaluatedElement, Mode, OprfClient, Suite
from protocol.match_index import DecodedIndex, MatchTag
from protocol.match_keys import MatchKey, Strength, derive_keys, oprf_input

__all__ = [
    "CheckLimits",
    "CheckPart",
    "DatasetDescriptor",
    "KeyHit",
    "ProbeOutcome",
    "QuerierCheck",
    "RequestPurpose",
    "SharedBlinding",
    "validate_purpose",
]

# The length of a match reference: the leading bytes of the OPRF output. 32 bytes cannot be
# guessed, so only a querier that obtained the owner's evaluation of the key can quote it.
REFERENCE_LENGTH = 32


@dataclass(frozen=True)
class CheckLimits:
    """Size limits of a check, in one place (both sides enforce them)."""

    max_probes: int = 5000
    max_elements: int = 65536
    max_text_field: int = 512


@dataclass(frozen=True)
class RequestPurpose:
    """Why a check is made: logged by the owner, required on every request."""

    officer_id: str
    purpose: str
    legal_basis: str
    case_reference: str


def validate_purpose(purpose: RequestPurpose, limits: CheckLimits) -> None:
    """Refuse a purpose with an empty or oversized field (`PeerError` names the field)."""
    for name in ("officer_id", "purpose", "legal_basis", "case_reference"):
        value = getattr(purpose, name)
        if not value.strip():
            raise PeerError(f"{name.replace('_', ' ')} is missing")
        if len(value) > limits.max_text_field:
            raise PeerError(
                f"{name.replace('_', ' ')} is {len(value)} characters; "
                f"at most {limits.max_text_field} allowed"
            )


@dataclass(frozen=True)
class DatasetDescriptor:
    """What a querier knows of an owner's dataset: from the directory and the index header."""

    owner: str
    dataset: str
    suite: Suite
    mode: Mode
    public_key: bytes | None
    epoch: int
    keying_profile: str


@dataclass(frozen=True)
class KeyHit:
    """One match key of a probe that hit: its kind, its strength and the match reference."""

    kind: str
    strength: Strength
    match_reference: bytes

    def __repr__(self) -> str:
        return f"KeyHit({self.kind}, {self.strength.value}, ref={self.match_reference.hex()[:16]}…)"


@dataclass(frozen=True)
class ProbeOutcome:
    """The result for one probe against one dataset: the keys that hit, strongest first."""

    probe: int
    hits: tuple[KeyHit, ...]

    @property
    def hit(self) -> bool:
        return bool(self.hits)

    @property
    def strongest(self) -> Strength | None:
        return self.hits[0].strength if self.hits else None


_STRENGTH_RANK = {Strength.STRONG: 0, Strength.MEDIUM: 1, Strength.WEAK: 2}


@dataclass(frozen=True)
class _ProbeKey:
    probe: int
    key: MatchKey


@dataclass(frozen=True)
class CheckPart:
    """Consecutive match keys of whole probes, sent to the owner in one request."""

    elements: range
    """Which of the check's blinded elements (and so of its tags) the part carries."""
    probes: range
    """Which probes those elements belong to, every key of each."""


class SharedBlinding:
    """Blinded elements shared by the checks of one fan-out, computed once.

    A fan-out asks many owners about the same probes. Each owner's answer is unblinded with the
    querier's own blinds, so the same blinded elements can go to every owner of the same dataset
    name, suite, mode and keying profile: each owner sees r·H(x) for a random r it never learns,
    which says nothing of x; owners comparing what they received learn only that they were asked
    the same thing at the same moment, which the fan-out's timing shows them anyway. Blinding
    once instead of once per owner halves the querier's work. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[_ProbeKey, ...]] = {}
        self._batches: dict[tuple[object, ...], ClientBatch] = {}

    def keys(
        self, profile: str, derive: Callable[[], tuple[_ProbeKey, ...]]
    ) -> tuple[_ProbeKey, ...]:
        with self._lock:
            if profile not in self._keys:
                self._keys[profile] = derive()
            return self._keys[profile]

    def batch(self, key: tuple[object, ...], blind: Callable[[], ClientBatch]) -> ClientBatch:
        with self._lock:
            if key not in self._batches:
                self._batches[key] = blind()
            return self._batches[key]


class QuerierCheck:
    """One check of a list of probes against one owner's dataset, from the querier's side."""

    def __init__(
        self,
        descriptor: DatasetDescriptor,
        probes: Sequence[Mapping[str, object]],
        limits: CheckLimits | None = None,
        shared: SharedBlinding | None = None,
    ) -> None:
        self._limits = limits or CheckLimits()
        if not probes:
            raise InputError("a check needs at least one probe")
        if len(probes) > self._limits.max_probes:
            raise InputError(
                f"{len(probes)} probes in one check; at most {self._limits.max_probes} allowed"
            )
        self.descriptor = descriptor
        self._shared = shared

        def derive() -> tuple[_ProbeKey, ...]:
            derived_keys: list[_ProbeKey] = []
            for number, probe in enumerate(probes):
                try:
                    derived = derive_keys(probe, descriptor.keying_profile).keys
                except InputError as error:
                    raise InputError(f"probe {number + 1}: {error}") from error
                derived_keys += [_ProbeKey(number, key) for key in derived]
            return tuple(derived_keys)

        keys = shared.keys(descriptor.keying_profile, derive) if shared else derive()
        if len(keys) > self._limits.max_elements:
            raise InputError(
                f"the probes give {len(keys)} match keys; at most "
                f"{self._limits.max_elements} fit in one check"
            )
        self._probe_count = len(probes)
        self._keys = keys
        self._client = OprfClient(descriptor.suite, descriptor.mode, descriptor.public_key)
        self._batch: ClientBatch | None = None
        self._tags: list[bytes] | None = None

    def __repr__(self) -> str:
        return (
            f"QuerierCheck({self.descriptor.owner}/{self.descriptor.dataset}, "
            f"{self._probe_count} probes, {len(self._keys)} keys)"
        )

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def blinded_elements(self, info: bytes = b"") -> list[bytes]:
        """Blind the OPRF input of every match key (once); return the elements to send."""
        if self._batch is None:
            descriptor = self.descriptor

            def blind() -> ClientBatch:
                inputs = [
                    oprf_input(descriptor.keying_profile, descriptor.dataset, entry.key)
                    for entry in self._keys
                ]
                return self._client.blind_batch(inputs, info)

            if self._shared is None:
                self._batch = blind()
            else:
                key = (descriptor.suite, descriptor.mode, descriptor.keying_profile,
                       descriptor.dataset, info)  # fmt: skip
                self._batch = self._shared.batch(key, blind)
        return list(self._batch.blinded_elements)

    def parts(self, limit: int) -> list[CheckPart]:
        """Split the check into requests of at most `limit` elements, each holding whole probes.

        An owner takes at most so many elements in one request (its policy's batch limit); a
        manifest larger than that goes as several requests, each evaluated, logged and proven
        apart. A probe's keys are never split, so that each probe's outcome rests on one answer
        and one audit entry of the owner.

        Raises:
            InputError: one probe alone has more match keys than `limit`.
        """
        if limit < 1:
            raise InputError(f"expected a batch limit of at least 1, got {limit}")
        counts = [0] * self._probe_count
        for entry in self._keys:
            counts[entry.probe] += 1
        parts: list[CheckPart] = []
        first_probe = first_element = element = 0
        for probe, count in enumerate(counts):
            if count > limit:
                raise InputError(
                    f"probe {probe + 1} gives {count} match keys; the owner takes at most "
                    f"{limit} in one request"
                )
            if element + count - first_element > limit:
                parts.append(CheckPart(range(first_element, element), range(first_probe, probe)))
                first_probe, first_element = probe, element
            element += count
        parts.append(
            CheckPart(range(first_element, element), range(first_probe, self._probe_count))
        )
        return parts

    def finalize_parts(
        self,
        parts: Sequence[CheckPart],
        answers: Sequence[tuple[Sequence[bytes], bytes | None]],
    ) -> None:
        """Unblind the owner's answer to each part (verifying each part's proof) into tags.

        `parts` must be what `parts` returned, and `answers[i]` the (evaluated elements, proof)
        of part `i`. Raises `PeerError` as `finalize` does, naming the part.
        """
        if self._batch is None:
            raise RuntimeError("cannot finalize before blinding")
        if self._tags is not None:
            raise RuntimeError("this check is already finalized")
        if len(answers) != len(parts):
            raise RuntimeError("expected one answer per part")
        tags: list[bytes] = []
        for number, (part, (evaluated, proof)) in enumerate(zip(parts, answers, strict=True)):
            if not part.elements:
                continue
            evaluation = BlindEvaluation(
                tuple(EvaluatedElement(bytes(e)) for e in evaluated), proof or None
            )
            batch = self._batch.part(part.elements.start, part.elements.stop)
            try:
                tags += self._client.finalize_batch(batch, evaluation)
            except CryptoError as error:
                raise PeerError(
                    f"the owner's evaluation of request {number + 1} is refused: {error}"
                ) from error
        if len(tags) != len(self._keys):
            raise RuntimeError("the parts do not cover the check")
        self._tags = tags

    def finalize(self, evaluated: Sequence[bytes], proof: bytes | None) -> None:
        """Unblind the owner's answer (verifying its proof in VOPRF/POPRF mode) into tags.

        Raises `PeerError` if the answer does not decode, has the wrong size or its proof fails.
        """
        if self._batch is None:
            raise RuntimeError("cannot finalize before blinding")
        if self._tags is not None:
            raise RuntimeError("this check is already finalized")
        evaluation = BlindEvaluation(
            tuple(EvaluatedElement(bytes(e)) for e in evaluated), proof or None
        )
        try:
            self._tags = self._client.finalize_batch(self._batch, evaluation)
        except CryptoError as error:
            raise PeerError(f"the owner's evaluation is refused: {error}") from error

    def tags(self, length: int) -> list[MatchTag]:
        """The finalised tags, truncated to `length` bytes (for owner-match mode)."""
        if self._tags is None:
            raise RuntimeError("cannot read tags before finalize")
        return [MatchTag(tag[:length]) for tag in self._tags]

    def outcomes_from_index(self, index: DecodedIndex) -> list[ProbeOutcome]:
        """Look every tag up in the owner's match index: the owner learns nothing of this."""
        if self._tags is None:
            raise RuntimeError("cannot look up before finalize")
        found = index.contains_tags(self._tags)
        return self._outcomes(found, [tag[:REFERENCE_LENGTH] for tag in self._tags])

    def outcomes_from_owner_match(
        self, hits: Sequence[bool], references: Sequence[bytes]
    ) -> list[ProbeOutcome]:
        """Turn the owner's per-tag answer (owner-match mode) into outcomes."""
        if self._tags is None:
            raise RuntimeError("cannot read an owner match before finalize")
        if len(hits) != len(self._tags) or len(references) != len(self._tags):
            raise PeerError(
                f"the owner answered {len(hits)} hits and {len(references)} references "
                f"for {len(self._tags)} tags"
            )
        return self._outcomes(list(hits), [bytes(r) for r in references])

    def _outcomes(self, found: Sequence[bool], references: Sequence[bytes]) -> list[ProbeOutcome]:
        per_probe: list[dict[str, KeyHit]] = [{} for _ in range(self._probe_count)]
        for entry, hit, reference in zip(self._keys, found, references, strict=True):
            if hit:
                kind = entry.key.kind.value
                per_probe[entry.probe].setdefault(kind, KeyHit(kind, entry.key.strength, reference))
        return [
            ProbeOutcome(
                number, tuple(sorted(hits.values(), key=lambda h: _STRENGTH_RANK[h.strength]))
            )
            for number, hits in enumerate(per_probe)
        ]
