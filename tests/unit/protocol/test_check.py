"""The querier's steps of a blinded check, against a real OPRF server and a real match index."""

from __future__ import annotations

import pytest

from crypto.errors import InputError, PeerError
from crypto.oprf import Mode, OprfServer, Suite, derive_key_pair
from protocol.check import (
    CheckLimits,
    DatasetDescriptor,
    QuerierCheck,
    RequestPurpose,
    validate_purpose,
)
from protocol.match_index import DecodedIndex, IndexParameters
from protocol.match_keys import DEFAULT_PROFILE, Strength, derive_keys, oprf_input

OWNER_RECORDS = [
    {"name": "أسامة بن لادن", "date_of_birth": "1957-03-10"},
    {
        "document_type": "passport",
        "document_number": "EK 4471902",
        "document_issuing_country": "POL",
    },
]
PROBES: list[dict[str, object]] = [
    {"name": "Usama bin Ladin", "date_of_birth": "1957-03-10"},
    {"document_type": "P", "document_number": "EK-4471902", "document_issuing_country": "POL"},
    {"name": "Nobody Known", "date_of_birth": "1990-01-02"},
]


def _owner(mode: Mode) -> tuple[OprfServer, DatasetDescriptor, DecodedIndex]:
    keys = derive_key_pair(Suite.RISTRETTO255_SHA512, mode, bytes(32), b"watchlist")
    server = OprfServer(Suite.RISTRETTO255_SHA512, mode, keys.private_key)
    inputs = [
        oprf_input(DEFAULT_PROFILE, "watchlist", key)
        for record in OWNER_RECORDS
        for key in derive_keys(record).keys
    ]
    tags = server.evaluate_batch(inputs)
    index = DecodedIndex.from_tags(tags, IndexParameters.for_capacity(len(tags)))
    descriptor = DatasetDescriptor(
        owner="pl-ct",
        dataset="watchlist",
        suite=Suite.RISTRETTO255_SHA512,
        mode=mode,
        public_key=None if mode is Mode.OPRF else keys.public_key,
        epoch=1,
        keying_profile=DEFAULT_PROFILE,
    )
    return server, descriptor, index


@pytest.mark.parametrize("mode", [Mode.OPRF, Mode.VOPRF])
def test_index_mode_finds_hits_and_misses(mode: Mode) -> None:
    server, descriptor, index = _owner(mode)
    check = QuerierCheck(descriptor, PROBES)
    evaluation = server.blind_evaluate_batch(check.blinded_elements())
    check.finalize(evaluation.evaluated_elements, evaluation.proof)
    outcomes = check.outcomes_from_index(index)
    assert [o.hit for o in outcomes] == [True, True, False]
    assert outcomes[1].strongest is Strength.STRONG
    assert outcomes[1].hits[0].kind == "doc"
    assert all(len(h.match_reference) == 32 for o in outcomes for h in o.hits)
    assert "Usama" not in repr(check) + repr(outcomes)


def test_owner_match_mode_uses_the_owners_answer() -> None:
    server, descriptor, index = _owner(Mode.OPRF)
    check = QuerierCheck(descriptor, PROBES)
    evaluation = server.blind_evaluate_batch(check.blinded_elements())
    check.finalize(evaluation.evaluated_elements, None)
    tags = check.tags(32)
    hits = index.contains_tags(tags)
    outcomes = check.outcomes_from_owner_match(
        hits, [t if h else b"" for t, h in zip(tags, hits, strict=True)]
    )
    assert [o.hit for o in outcomes] == [True, True, False]
    with pytest.raises(PeerError, match="the owner answered 18 hits and 0 references for 19 tags"):
        check.outcomes_from_owner_match(hits[:-1], [])


def test_steps_out_of_order_are_refused() -> None:
    server, descriptor, index = _owner(Mode.OPRF)
    check = QuerierCheck(descriptor, PROBES)
    with pytest.raises(RuntimeError, match="before blinding"):
        check.finalize([], None)
    with pytest.raises(RuntimeError, match="before finalize"):
        check.outcomes_from_index(index)
    elements = check.blinded_elements()
    assert check.blinded_elements() == elements
    evaluation = server.blind_evaluate_batch(elements)
    check.finalize(evaluation.evaluated_elements, None)
    with pytest.raises(RuntimeError, match="already finalized"):
        check.finalize(evaluation.evaluated_elements, None)


def test_bad_answers_from_the_owner_are_peer_errors() -> None:
    server, descriptor, _ = _owner(Mode.VOPRF)
    check = QuerierCheck(descriptor, PROBES)
    evaluation = server.blind_evaluate_batch(check.blinded_elements())
    with pytest.raises(
        PeerError, match="the owner's evaluation is refused: expected 19 evaluated elements, got"
    ):
        check.finalize(evaluation.evaluated_elements[:-1], evaluation.proof)
    check = QuerierCheck(descriptor, PROBES)
    evaluation = server.blind_evaluate_batch(check.blinded_elements())
    with pytest.raises(
        PeerError, match="the owner's evaluation is refused: the DLEQ proof does not verify"
    ):
        check.finalize(list(reversed(evaluation.evaluated_elements)), evaluation.proof)


def test_bad_probes_and_limits_are_input_errors() -> None:
    _, descriptor, _ = _owner(Mode.OPRF)
    with pytest.raises(InputError, match="probe 2"):
        QuerierCheck(descriptor, [PROBES[0], {"colour": "blue"}])
    with pytest.raises(InputError, match="a check needs at least one probe"):
        QuerierCheck(descriptor, [])
    with pytest.raises(InputError, match="3 probes in one check; at most 2 allowed"):
        QuerierCheck(descriptor, PROBES, CheckLimits(max_probes=2))


def test_purpose_fields_are_required() -> None:
    limits = CheckLimits()
    validate_purpose(RequestPurpose("officer-17", "border check", "Art. 6 ...", "2026/17"), limits)
    with pytest.raises(PeerError, match="legal basis is missing"):
        validate_purpose(RequestPurpose("officer-17", "border check", " ", "2026/17"), limits)
    with pytest.raises(PeerError, match="case reference"):
        validate_purpose(RequestPurpose("o", "p", "l", "x" * 600), limits)


@pytest.mark.parametrize("mode", [Mode.OPRF, Mode.VOPRF, Mode.POPRF])
@pytest.mark.parametrize("limit", [1_000, 14, 9, 7])
def test_a_check_split_to_the_owners_batch_limit_finds_the_same_hits(
    mode: Mode, limit: int
) -> None:
    server, descriptor, index = _owner(mode)
    whole = QuerierCheck(descriptor, PROBES)
    counts = [len(derive_keys(probe).keys) for probe in PROBES]
    if max(counts) > limit:
        with pytest.raises(InputError, match=r"probe \d gives \d+ match keys; the owner takes at"):
            whole.parts(limit)
        return
    parts = whole.parts(limit)
    # Whole probes in each part, in order, none over the limit, every key in exactly one part.
    assert [p.elements.start for p in parts] == [0, *[p.elements.stop for p in parts[:-1]]]
    assert parts[-1].elements.stop == whole.key_count == sum(counts)
    assert [p.probes.start for p in parts] == [0, *[p.probes.stop for p in parts[:-1]]]
    assert all(0 < len(p.elements) <= limit for p in parts)
    for part in parts:
        assert len(part.elements) == sum(counts[i] for i in part.probes)
    assert (len(parts) == 1) == (limit >= sum(counts))
    elements = whole.blinded_elements()
    answers = []
    for part in parts:
        evaluation = server.blind_evaluate_batch(elements[part.elements.start : part.elements.stop])
        answers.append((list(evaluation.evaluated_elements), evaluation.proof))
    whole.finalize_parts(parts, answers)
    outcomes = whole.outcomes_from_index(index)
    assert [o.hit for o in outcomes] == [True, True, False]
    assert outcomes[1].hits[0].kind == "doc"


def test_parts_are_finalised_only_against_their_own_answers() -> None:
    server, descriptor, _ = _owner(Mode.VOPRF)
    check = QuerierCheck(descriptor, PROBES)
    parts = check.parts(max(len(derive_keys(p).keys) for p in PROBES))
    assert len(parts) > 1
    elements = check.blinded_elements()
    answers = [
        (list(e.evaluated_elements), e.proof)
        for e in (
            server.blind_evaluate_batch(elements[p.elements.start : p.elements.stop]) for p in parts
        )
    ]
    # The proof of one part does not verify the elements of another.
    swapped = [(answers[0][0], answers[1][1]), *answers[1:]]
    with pytest.raises(PeerError, match="evaluation of request 1 is refused"):
        check.finalize_parts(parts, swapped)
    with pytest.raises(RuntimeError, match="one answer per part"):
        check.finalize_parts(parts, answers[:-1])
    with pytest.raises(InputError, match="batch limit of at least 1"):
        check.parts(0)
