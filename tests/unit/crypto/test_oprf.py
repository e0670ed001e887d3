"""Behaviour of crypto.oprf: round trips, and refusal of bad input by mutation (RFC 9497 §2.1).

Error contract under test: undecodable elements or scalars raise `InvalidEncoding`, a proof that
does not verify raises `InvalidProof`, arguments that cannot be used together raise
`InvalidInput`. All three are `CryptoError`s.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError, InvalidEncoding, InvalidInput, InvalidProof
from crypto.groups import P256, Ristretto255
from crypto.oprf import (
    BlindEvaluation,
    ClientBatch,
    EvaluatedElement,
    Mode,
    OprfClient,
    OprfServer,
    Suite,
    derive_key_pair,
    generate_key_pair,
)

SEED = bytes(range(32))
ALL = list(itertools.product(Suite, Mode))
ALL_IDS = [f"{s.value.identifier}-{m.name}" for s, m in ALL]
VERIFIABLE = [(s, m) for s, m in ALL if m is not Mode.OPRF]
VERIFIABLE_IDS = [f"{s.value.identifier}-{m.name}" for s, m in VERIFIABLE]


def _pair(suite: Suite, mode: Mode) -> tuple[OprfClient, OprfServer]:
    keys = derive_key_pair(suite, mode, SEED, b"test key")
    client = OprfClient(suite, mode, None if mode is Mode.OPRF else keys.public_key)
    return client, OprfServer(suite, mode, keys.private_key)


def _info(mode: Mode) -> bytes:
    return b"case 2026/17" if mode is Mode.POPRF else b""


def _flip(data: bytes, bit: int) -> bytes:
    mutated = bytearray(data)
    mutated[bit // 8] ^= 1 << (bit % 8)
    return bytes(mutated)


@pytest.mark.parametrize(("suite", "mode"), ALL, ids=ALL_IDS)
def test_round_trip_matches_direct_evaluation(suite: Suite, mode: Mode) -> None:
    client, server = _pair(suite, mode)
    inputs = [b"", b"passport|FRA|12AB34567", "أسامة".encode()]
    info = _info(mode)
    batch = client.blind_batch(inputs, info)
    outputs = client.finalize_batch(
        batch, server.blind_evaluate_batch(batch.blinded_elements, info)
    )
    assert outputs == server.evaluate_batch(inputs, info)
    assert len(set(outputs)) == len(inputs)
    # Fresh blinds each time: the same inputs are never blinded to the same elements.
    again = client.blind_batch(inputs, info)
    assert set(again.blinded_elements).isdisjoint(batch.blinded_elements)


@pytest.mark.parametrize(("suite", "mode"), ALL, ids=ALL_IDS)
def test_single_forms_agree_with_batch_forms(suite: Suite, mode: Mode) -> None:
    client, server = _pair(suite, mode)
    info = _info(mode)
    batch = client.blind(b"probe", info)
    evaluation = server.blind_evaluate(batch.blinded_elements[0], info)
    assert client.finalize(batch, evaluation) == [server.evaluate(b"probe", info)]


@settings(max_examples=25, deadline=None)
@given(inputs=st.lists(st.binary(max_size=64), min_size=1, max_size=6))
def test_ristretto_voprf_property(inputs: list[bytes]) -> None:
    client, server = _pair(Suite.RISTRETTO255_SHA512, Mode.VOPRF)
    batch = client.blind_batch(inputs)
    outputs = client.finalize_batch(batch, server.blind_evaluate_batch(batch.blinded_elements))
    assert outputs == server.evaluate_batch(inputs)


def test_poprf_info_changes_the_function() -> None:
    client, server = _pair(Suite.RISTRETTO255_SHA512, Mode.POPRF)
    assert server.evaluate(b"x", b"one") != server.evaluate(b"x", b"two")
    batch = client.blind(b"x", b"one")
    # The server evaluates with other info than the client blinded with: the proof fails.
    with pytest.raises(InvalidProof, match="the DLEQ proof does not verify"):
        client.finalize(batch, server.blind_evaluate(batch.blinded_elements[0], b"two"))


def test_different_keys_give_different_outputs() -> None:
    one = derive_key_pair(Suite.RISTRETTO255_SHA512, Mode.OPRF, SEED, b"dataset A")
    two = derive_key_pair(Suite.RISTRETTO255_SHA512, Mode.OPRF, SEED, b"dataset B")
    assert one.private_key != two.private_key
    a = OprfServer(Suite.RISTRETTO255_SHA512, Mode.OPRF, one.private_key)
    b = OprfServer(Suite.RISTRETTO255_SHA512, Mode.OPRF, two.private_key)
    assert a.evaluate(b"x") != b.evaluate(b"x")


@pytest.mark.parametrize("suite", list(Suite), ids=lambda s: s.value.identifier)
def test_generated_keys_work(suite: Suite) -> None:
    keys = generate_key_pair(suite)
    server = OprfServer(suite, Mode.VOPRF, keys.private_key)
    assert server.public_key == keys.public_key
    client = OprfClient(suite, Mode.VOPRF, keys.public_key)
    batch = client.blind(b"x")
    assert client.finalize(batch, server.blind_evaluate(batch.blinded_elements[0])) == [
        server.evaluate(b"x")
    ]


def test_secrets_stay_out_of_repr() -> None:
    keys = derive_key_pair(Suite.RISTRETTO255_SHA512, Mode.OPRF, SEED, b"")
    assert keys.private_key.hex() not in repr(keys)
    client, server = _pair(Suite.RISTRETTO255_SHA512, Mode.OPRF)
    batch = client.blind(b"SECRET-PROBE-VALUE")
    assert "SECRET" not in repr(batch)
    assert keys.private_key.hex() not in repr(server)


# --- Elements refused by the server (ristretto255) ------------------------------------------


def _valid_blinded(suite: Suite) -> bytes:
    # A fixed blind keeps test collection identical across parallel workers.
    client, _ = _pair(suite, Mode.OPRF)
    return client._blind_batch_with([b"probe"], [12345]).blinded_elements[0]


def _ristretto_bad_elements() -> list[tuple[str, bytes]]:
    good = _valid_blinded(Suite.RISTRETTO255_SHA512)
    p = 2**255 - 19
    return [
        ("identity", bytes(32)),
        ("truncated", good[:-1]),
        ("appended", good + b"\x00"),
        ("empty", b""),
        # RFC 9496 §4.3.1: a valid encoding is an even (non-negative) field element below p.
        ("odd (negative)", _flip(good, 0)),
        ("top bit set", _flip(good, 255)),
        ("p itself (non-canonical zero)", p.to_bytes(32, "little")),
        ("p + 2 (non-canonical)", (p + 2).to_bytes(32, "little")),
        ("all ones", b"\xff" * 32),
    ]


@pytest.mark.parametrize(
    ("case", "element"), [pytest.param(*case, id=case[0]) for case in _ristretto_bad_elements()]
)
@pytest.mark.parametrize("mode", list(Mode), ids=lambda m: m.name)
def test_server_refuses_bad_ristretto_elements(case: str, element: bytes, mode: Mode) -> None:
    _, server = _pair(Suite.RISTRETTO255_SHA512, mode)
    good = _valid_blinded(Suite.RISTRETTO255_SHA512)
    with pytest.raises(InvalidEncoding, match="element 1"):
        server.blind_evaluate_batch([good, element], _info(mode))
    with pytest.raises(InvalidEncoding):
        Ristretto255.deserialize_element(element)


def _p256_not_on_curve_x() -> bytes:
    # Find an x for which x^3 - 3x + b is not a square mod p: no point has that x-coordinate.
    for x in itertools.count(1):
        try:
            P256.deserialize_element(b"\x02" + x.to_bytes(32, "big"))
        except InvalidEncoding:
            return b"\x02" + x.to_bytes(32, "big")
    raise AssertionError("unreachable")


def _p256_bad_elements() -> list[tuple[str, bytes]]:
    good = _valid_blinded(Suite.P256_SHA256)
    p = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
    return [
        ("identity (SEC1 infinity)", b"\x00"),
        ("uncompressed prefix", b"\x04" + good[1:]),
        ("zero prefix", b"\x00" + good[1:]),
        ("truncated", good[:-1]),
        ("appended", good + b"\x00"),
        ("x not reduced", b"\x02" + p.to_bytes(32, "big")),
        ("not on the curve", _p256_not_on_curve_x()),
    ]


@pytest.mark.parametrize(
    ("case", "element"), [pytest.param(*case, id=case[0]) for case in _p256_bad_elements()]
)
def test_server_refuses_bad_p256_elements(case: str, element: bytes) -> None:
    _, server = _pair(Suite.P256_SHA256, Mode.OPRF)
    with pytest.raises(InvalidEncoding, match="element 0:"):
        server.blind_evaluate_batch([element])
    with pytest.raises(InvalidEncoding):
        P256.deserialize_element(element)


# --- Scalars and keys ----------------------------------------------------------------------


@pytest.mark.parametrize("suite", list(Suite), ids=lambda s: s.value.identifier)
def test_bad_scalars_are_refused(suite: Suite) -> None:
    group = suite.value.group
    order = group.order
    width = group.scalar_length
    bad = [
        group.serialize_scalar(0),
        order.to_bytes(width, "little" if group is Ristretto255 else "big"),
        (order + 1).to_bytes(width, "little" if group is Ristretto255 else "big"),
        b"\xff" * width,
        group.serialize_scalar(1)[:-1],
        group.serialize_scalar(1) + b"\x00",
    ]
    for data in bad:
        with pytest.raises(InvalidEncoding):
            group.deserialize_scalar(data)
        with pytest.raises(InvalidEncoding):
            OprfServer(suite, Mode.OPRF, data)


@pytest.mark.parametrize("suite", list(Suite), ids=lambda s: s.value.identifier)
def test_bad_public_keys_are_refused(suite: Suite) -> None:
    keys = derive_key_pair(suite, Mode.VOPRF, SEED, b"")
    for bad in (keys.public_key[:-1], keys.public_key + b"\x00", b"\x00" * len(keys.public_key)):
        with pytest.raises(InvalidEncoding):
            OprfClient(suite, Mode.VOPRF, bad)
    with pytest.raises(InvalidInput, match="VOPRF mode needs the server's public key"):
        OprfClient(suite, Mode.VOPRF, None)


def test_derive_key_pair_needs_a_full_seed() -> None:
    with pytest.raises(InvalidInput, match=r"expected a 32\-byte seed, got 31 bytes"):
        derive_key_pair(Suite.RISTRETTO255_SHA512, Mode.OPRF, SEED[:-1], b"")


# --- Proofs and batches refused by the client -----------------------------------------------


def _verified_exchange(
    suite: Suite, mode: Mode, size: int = 3
) -> tuple[OprfClient, ClientBatch, BlindEvaluation]:
    client, server = _pair(suite, mode)
    batch = client.blind_batch([b"a", b"b", b"c", b"d"][:size], _info(mode))
    return client, batch, server.blind_evaluate_batch(batch.blinded_elements, _info(mode))


@pytest.mark.parametrize(("suite", "mode"), VERIFIABLE, ids=VERIFIABLE_IDS)
def test_mutated_proofs_are_refused(suite: Suite, mode: Mode) -> None:
    client, batch, evaluation = _verified_exchange(suite, mode)
    proof = evaluation.proof
    assert proof is not None
    width = suite.value.group.scalar_length
    mutations = [
        _flip(proof, 3),
        _flip(proof, 8 * width + 3),
        proof[:-1],
        proof + b"\x00",
        proof[width:] + proof[:width],
        b"",
        suite.value.group.serialize_scalar(0) * 2,
    ]
    for mutated in mutations:
        with pytest.raises(InvalidProof):
            client.finalize_batch(batch, BlindEvaluation(evaluation.evaluated_elements, mutated))
    with pytest.raises(InvalidProof):
        client.finalize_batch(batch, BlindEvaluation(evaluation.evaluated_elements, None))


@pytest.mark.parametrize(("suite", "mode"), VERIFIABLE, ids=VERIFIABLE_IDS)
def test_mutated_evaluated_elements_are_refused(suite: Suite, mode: Mode) -> None:
    client, batch, evaluation = _verified_exchange(suite, mode)
    elements = list(evaluation.evaluated_elements)
    swapped = [elements[1], elements[0], *elements[2:]]
    flipped = [EvaluatedElement(_flip(elements[0], 9)), *elements[1:]]
    for mutated in (swapped, flipped):
        with pytest.raises((InvalidProof, InvalidEncoding), match="the DLEQ proof does not verify"):
            client.finalize_batch(batch, BlindEvaluation(tuple(mutated), evaluation.proof))


@pytest.mark.parametrize(("suite", "mode"), ALL, ids=ALL_IDS)
def test_batch_sizes_must_agree(suite: Suite, mode: Mode) -> None:
    client, batch, evaluation = _verified_exchange(suite, mode)
    shorter = BlindEvaluation(evaluation.evaluated_elements[:-1], evaluation.proof)
    longer = BlindEvaluation(
        (*evaluation.evaluated_elements, evaluation.evaluated_elements[0]), evaluation.proof
    )
    for wrong in (shorter, longer):
        with pytest.raises(InvalidInput, match="expected 3 evaluated elements, got"):
            client.finalize_batch(batch, wrong)
    with pytest.raises(InvalidInput, match="2 inputs but 1 blinds"):
        client._blind_batch_with([b"a", b"b"], [1], _info(mode))


def test_oprf_mode_refuses_garbage_evaluated_elements() -> None:
    client, batch, evaluation = _verified_exchange(Suite.RISTRETTO255_SHA512, Mode.OPRF)
    garbage = (EvaluatedElement(bytes(32)), *evaluation.evaluated_elements[1:])
    with pytest.raises(InvalidEncoding, match="element 0"):
        client.finalize_batch(batch, BlindEvaluation(garbage, None))


def test_empty_batch_and_stray_info_are_refused() -> None:
    client, server = _pair(Suite.RISTRETTO255_SHA512, Mode.OPRF)
    with pytest.raises(InvalidInput, match="a batch must hold at least one blinded element"):
        server.blind_evaluate_batch([])
    with pytest.raises(InvalidInput, match="info is only used in POPRF mode, not OPRF"):
        server.blind_evaluate_batch([_valid_blinded(Suite.RISTRETTO255_SHA512)], b"info")
    with pytest.raises(InvalidInput, match="info is only used in POPRF mode, not OPRF"):
        client.blind(b"x", b"info")
    with pytest.raises(InvalidInput, match="input is 70000 bytes; at most 65535 allowed"):
        client.blind(b"x" * 70000)


def test_every_refusal_is_a_crypto_error() -> None:
    for error in (InvalidEncoding, InvalidInput, InvalidProof):
        assert issubclass(error, CryptoError)
    # What that buys: a server that catches CryptoError for a peer's request catches each of
    # them as raised by the real code, with a message saying what was wrong.
    client, server = _pair(Suite.RISTRETTO255_SHA512, Mode.VOPRF)
    with pytest.raises(CryptoError, match="element 0 is not a valid non-identity ristretto255"):
        server.blind_evaluate_batch([bytes(31) + b"\xff"])
    with pytest.raises(CryptoError, match="a batch must hold at least one blinded element"):
        server.blind_evaluate_batch([])
    batch = client.blind(b"x")
    evaluation = server.blind_evaluate(batch.blinded_elements[0])
    suite = Suite.RISTRETTO255_SHA512
    other = OprfServer(suite, Mode.VOPRF, generate_key_pair(suite).private_key)
    with pytest.raises(CryptoError, match="proof"):
        client.finalize(batch, other.blind_evaluate(batch.blinded_elements[0]))
    assert client.finalize(batch, evaluation)
