"""Oblivious pseudorandom functions, RFC 9497: modes OPRF, VOPRF and POPRF.

Suites: `ristretto255-SHA512` (RFC 9497 §4.1) and `P256-SHA256` (§4.3). A querier (client)
blinds its inputs, an owner (server) evaluates the blinded elements with its private key, and the
client unblinds and hashes the result; the server never sees the inputs and the client never sees
the key. In VOPRF and POPRF modes the server proves with one batched DLEQ proof (§2.2) that it
used the key whose public half the client holds; POPRF also binds public `info` (§3.3.3).

Ordering rules of the client (a pure state machine): `blind_batch` yields a `ClientBatch`; only
`finalize_batch` with that batch and the server's `BlindEvaluation` of exactly its blinded
elements produces outputs. Sizes that disagree raise `InvalidInput`; elements that do not decode
raise `InvalidEncoding`; a proof that does not verify raises `InvalidProof`.

Every hot path takes a batch: evaluating a list of blinded elements in OPRF mode is one libsodium
call per element for ristretto255 (see `crypto.groups.Group.multiply_encoded`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, Final, NewType

from crypto.errors import CryptoError, InvalidInput, InvalidProof
from crypto.groups import P256, Group, Ristretto255

__all__ = [
    "BlindEvaluation",
    "BlindedElement",
    "ClientBatch",
    "EvaluatedElement",
    "KeyPair",
    "Mode",
    "OprfClient",
    "OprfServer",
    "Suite",
    "SuiteParameters",
    "derive_key_pair",
    "generate_key_pair",
]

BlindedElement = NewType("BlindedElement", bytes)
EvaluatedElement = NewType("EvaluatedElement", bytes)

# RFC 9497 §3.1 and §2.2: domain-separation labels.
_CONTEXT_PREFIX: Final = b"OPRFV1-"
_HASH_TO_GROUP_PREFIX: Final = b"HashToGroup-"
_HASH_TO_SCALAR_PREFIX: Final = b"HashToScalar-"
_DERIVE_KEY_PAIR_PREFIX: Final = b"DeriveKeyPair"
_SEED_PREFIX: Final = b"Seed-"
_LABEL_COMPOSITE: Final = b"Composite"
_LABEL_CHALLENGE: Final = b"Challenge"
_LABEL_FINALIZE: Final = b"Finalize"
_LABEL_INFO: Final = b"Info"
# Inputs and info are framed with a two-byte length (I2OSP(len, 2)), which bounds them.
_MAX_FRAMED_LENGTH: Final = 0xFFFF


class Mode(IntEnum):
    """RFC 9497 §3.1 protocol modes."""

    OPRF = 0
    VOPRF = 1
    POPRF = 2


@dataclass(frozen=True)
class SuiteParameters:
    """The fixed parameters of one RFC 9497 ciphersuite."""

    identifier: str
    group: Group[Any]
    hash_name: str


class Suite(Enum):
    """The ciphersuites blindhit supports (RFC 9497 §4)."""

    RISTRETTO255_SHA512 = SuiteParameters("ristretto255-SHA512", Ristretto255, "sha512")
    P256_SHA256 = SuiteParameters("P256-SHA256", P256, "sha256")

    @classmethod
    def from_identifier(cls, identifier: str) -> Suite:
        """Look a suite up by its RFC 9497 identifier, e.g. `ristretto255-SHA512`."""
        for suite in cls:
            if suite.value.identifier == identifier:
                return suite
        known = ", ".join(s.value.identifier for s in cls)
        raise InvalidInput(f"unknown OPRF suite {identifier!r}; expected one of {known}")


@dataclass(frozen=True, repr=False)
class KeyPair:
    """A serialised server key pair. `repr` hides the private key so it cannot reach a log."""

    private_key: bytes
    public_key: bytes

    def __repr__(self) -> str:
        return f"KeyPair(public_key={self.public_key.hex()}, private_key=<hidden>)"


@dataclass(frozen=True, repr=False)
class ClientBatch:
    """The client's state between blinding and finalising one batch of inputs."""

    inputs: tuple[bytes, ...]
    blinds: tuple[int, ...]
    blinded_elements: tuple[BlindedElement, ...]
    info: bytes
    # POPRF only: the element tweakedKey = G * m + pkS of RFC 9497 §3.3.3 (None otherwise).
    tweaked_key: Any

    def __repr__(self) -> str:
        # Inputs are probe values: they must never be printed or logged.
        return f"ClientBatch(size={len(self.inputs)})"

    def part(self, start: int, stop: int) -> ClientBatch:
        """The inputs `start` to `stop` (exclusive) as a batch of their own.

        A server that takes at most so many elements per request evaluates each part apart,
        with a proof of its own (RFC 9497 §2.2.1 proves one batch at a time); each part is
        finalised against its own answer.

        Requires 0 <= start < stop <= size.
        """
        if not 0 <= start < stop <= len(self.inputs):
            raise InvalidInput(f"expected 0 <= {start} < {stop} <= {len(self.inputs)}")
        return ClientBatch(
            self.inputs[start:stop],
            self.blinds[start:stop],
            self.blinded_elements[start:stop],
            self.info,
            self.tweaked_key,
        )


@dataclass(frozen=True)
class BlindEvaluation:
    """The server's answer to a batch: evaluated elements, and a proof in VOPRF/POPRF modes."""

    evaluated_elements: tuple[EvaluatedElement, ...]
    proof: bytes | None


def _framed(data: bytes, what: str) -> bytes:
    if len(data) > _MAX_FRAMED_LENGTH:
        raise InvalidInput(f"{what} is {len(data)} bytes; at most {_MAX_FRAMED_LENGTH} allowed")
    return len(data).to_bytes(2, "big") + data


class _SuiteContext:
    """Constants and transcript helpers shared by the client and the server of one mode."""

    def __init__(self, suite: Suite, mode: Mode) -> None:
        params = suite.value
        self.suite = suite
        self.mode = mode
        self.group: Group[Any] = params.group
        self.hash: Callable[[bytes], Any] = getattr(hashlib, params.hash_name)
        context = _CONTEXT_PREFIX + bytes([mode]) + b"-" + params.identifier.encode()
        self.context_string = context
        self.hash_to_group_dst = _HASH_TO_GROUP_PREFIX + context
        self.hash_to_scalar_dst = _HASH_TO_SCALAR_PREFIX + context
        self.seed_dst = _SEED_PREFIX + context

    def hash_to_group(self, data: bytes) -> Any:  # noqa: ANN401 (an element of the suite's group)
        return self.group.hash_to_group(data, self.hash_to_group_dst)

    def hash_to_scalar(self, data: bytes) -> int:
        return self.group.hash_to_scalar(data, self.hash_to_scalar_dst)

    def info_scalar(self, info: bytes) -> int:
        # RFC 9497 §3.3.3: m = G.HashToScalar("Info" || I2OSP(len(info), 2) || info).
        return self.hash_to_scalar(_LABEL_INFO + _framed(info, "info"))

    def finalize_hash(self, data: bytes, info: bytes, unblinded: bytes) -> bytes:
        # RFC 9497 §3.3.1 (OPRF), §3.3.2 (VOPRF) and §3.3.3 (POPRF, which also frames info).
        transcript = [_framed(data, "input")]
        if self.mode is Mode.POPRF:
            transcript.append(_framed(info, "info"))
        transcript += [_framed(unblinded, "element"), _LABEL_FINALIZE]
        digest: bytes = self.hash(b"".join(transcript)).digest()
        return digest

    def composites(
        self,
        key: int | None,
        b_encoded: bytes,
        c_encoded: Sequence[bytes],
        d_encoded: Sequence[bytes],
    ) -> tuple[Any, Any]:
        """ComputeComposites (key None) or ComputeCompositesFast (RFC 9497 §2.2.1, §2.2.2).

        The prover (`key` given) has validated `c_encoded` already; the verifier's encodings
        come from a peer and are validated here.
        """
        group = self.group
        seed = self.hash(_framed(b_encoded, "element") + _framed(self.seed_dst, "DST")).digest()
        framed_seed = _framed(seed, "seed")
        decode = group.deserialize_element if key is None else group.decode_validated
        c_elements = [decode(c) for c in c_encoded]
        d_elements = [group.deserialize_element(d) for d in d_encoded] if key is None else []
        m = z = None
        for i, (c, d) in enumerate(zip(c_encoded, d_encoded, strict=True)):
            transcript = b"".join(
                (framed_seed, i.to_bytes(2, "big"), _framed(c, "C"), _framed(d, "D"))
            )
            di = self.hash_to_scalar(transcript + _LABEL_COMPOSITE)
            term = group.scalar_mult(di, c_elements[i])
            m = term if m is None else group.add(m, term)
            if key is None:
                term = group.scalar_mult(di, d_elements[i])
                z = term if z is None else group.add(z, term)
        if key is not None:
            z = group.scalar_mult(key, m)
        return m, z

    def challenge(self, b_encoded: bytes, m: Any, z: Any, t2: Any, t3: Any) -> int:  # noqa: ANN401
        # RFC 9497 §2.2.1: the challenge transcript of GenerateProof and VerifyProof.
        parts = [_framed(b_encoded, "element")]
        parts += [_framed(self.group.serialize_element(e), "element") for e in (m, z, t2, t3)]
        return self.hash_to_scalar(b"".join(parts) + _LABEL_CHALLENGE)

    def generate_proof(
        self,
        key: int,
        a: Any,  # noqa: ANN401 (an element of the suite's group)
        b: Any,  # noqa: ANN401
        c_encoded: Sequence[bytes],
        d_encoded: Sequence[bytes],
        r: int,
    ) -> bytes:
        """GenerateProof of RFC 9497 §2.2.1 with the proof randomness `r` given."""
        group = self.group
        b_encoded = group.serialize_element(b)
        m, z = self.composites(key, b_encoded, c_encoded, d_encoded)
        t2 = group.scalar_mult(r, a)
        t3 = group.scalar_mult(r, m)
        c = self.challenge(b_encoded, m, z, t2, t3)
        s = (r - c * key) % group.order
        return group.serialize_scalar(c) + group.serialize_scalar(s)

    def verify_proof(
        self,
        a: Any,  # noqa: ANN401 (an element of the suite's group)
        b: Any,  # noqa: ANN401
        c_encoded: Sequence[bytes],
        d_encoded: Sequence[bytes],
        proof: bytes,
    ) -> None:
        """VerifyProof of RFC 9497 §2.2.2; raises `InvalidProof` instead of returning false."""
        group = self.group
        ns = group.scalar_length
        if len(proof) != 2 * ns:
            raise InvalidProof(f"expected a {2 * ns}-byte proof, got {len(proof)} bytes")
        try:
            c = group.deserialize_scalar(proof[:ns])
            s = group.deserialize_scalar(proof[ns:])
            b_encoded = group.serialize_element(b)
            m, z = self.composites(None, b_encoded, c_encoded, d_encoded)
            t2 = group.add(group.scalar_mult(s, a), group.scalar_mult(c, b))
            t3 = group.add(group.scalar_mult(s, m), group.scalar_mult(c, z))
            expected = self.challenge(b_encoded, m, z, t2, t3)
        except CryptoError as error:
            raise InvalidProof("the DLEQ proof does not verify") from error
        if not hmac.compare_digest(group.serialize_scalar(expected), proof[:ns]):
            raise InvalidProof("the DLEQ proof does not verify")


def _batch_inverse(values: Sequence[int], modulus: int) -> list[int]:
    """Invert many non-zero values modulo a prime with one inversion (Montgomery's trick).

    One modular inversion costs about as much as thirty modular multiplications in Python, so a
    batch pays 3(n - 1) multiplications and a single inversion instead of n inversions.
    """
    prefix = [1] * (len(values) + 1)
    for i, value in enumerate(values):
        prefix[i + 1] = prefix[i] * value % modulus
    inverse = pow(prefix[-1], -1, modulus)
    inverses = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        inverses[i] = inverse * prefix[i] % modulus
        inverse = inverse * values[i] % modulus
    return inverses


def derive_key_pair(suite: Suite, mode: Mode, seed: bytes, info: bytes) -> KeyPair:
    """DeriveKeyPair of RFC 9497 §3.2.1: a key pair from a 32-byte seed and public info."""
    context = _SuiteContext(suite, mode)
    group = context.group
    if len(seed) != group.scalar_length:
        raise InvalidInput(f"expected a {group.scalar_length}-byte seed, got {len(seed)} bytes")
    derive_input = seed + _framed(info, "info")
    dst = _DERIVE_KEY_PAIR_PREFIX + context.context_string
    for counter in range(256):
        private = group.hash_to_scalar(derive_input + bytes([counter]), dst)
        if private != 0:
            public = group.serialize_element(group.scalar_mult_base(private))
            return KeyPair(group.serialize_scalar(private), public)
    raise InvalidInput("DeriveKeyPair found no non-zero scalar in 256 attempts")


def generate_key_pair(suite: Suite) -> KeyPair:
    """A fresh random key pair (RFC 9497 §3.2, GenerateKeyPair)."""
    group = suite.value.group
    private = group.random_scalar()
    return KeyPair(
        group.serialize_scalar(private), group.serialize_element(group.scalar_mult_base(private))
    )


class OprfClient:
    """The querier's side: Blind and Finalize, single and batched (RFC 9497 §3.3)."""

    def __init__(self, suite: Suite, mode: Mode, server_public_key: bytes | None = None) -> None:
        self._context = _SuiteContext(suite, mode)
        self._public_key: Any = None
        if mode is not Mode.OPRF:
            if server_public_key is None:
                raise InvalidInput(f"{mode.name} mode needs the server's public key")
            self._public_key = self._context.group.deserialize_element(server_public_key)

    @property
    def mode(self) -> Mode:
        return self._context.mode

    def blind(self, data: bytes, info: bytes = b"") -> ClientBatch:
        """Blind one input (a batch of one)."""
        return self.blind_batch([data], info)

    def blind_batch(self, inputs: Sequence[bytes], info: bytes = b"") -> ClientBatch:
        """Blind every input with a fresh random scalar."""
        group = self._context.group
        return self._blind_batch_with(inputs, [group.random_scalar() for _ in inputs], info)

    def _blind_batch_with(
        self, inputs: Sequence[bytes], blinds: Sequence[int], info: bytes = b""
    ) -> ClientBatch:
        # Blinds are injectable so that the RFC 9497 Appendix A vectors are reproducible.
        context = self._context
        group = context.group
        if len(inputs) != len(blinds):
            raise InvalidInput(f"{len(inputs)} inputs but {len(blinds)} blinds")
        tweaked_key = None
        if context.mode is Mode.POPRF:
            # RFC 9497 §3.3.3: tweakedKey = G.ScalarMultGen(m) + pkS; the identity is refused.
            tweaked_key = group.add(
                group.scalar_mult_base(context.info_scalar(info)), self._public_key
            )
        elif info:
            raise InvalidInput(f"info is only used in POPRF mode, not {context.mode.name}")
        blinded = []
        for data in inputs:
            _framed(data, "input")
        for data, blind in zip(inputs, blinds, strict=True):
            if not 0 < blind < group.order:
                raise InvalidInput("a blind must be a non-zero scalar below the group order")
            try:
                element = context.hash_to_group(data)
                blinded.append(
                    BlindedElement(group.serialize_element(group.scalar_mult(blind, element)))
                )
            except InvalidInput as error:
                # RFC 9497 §3.3.1: an input that maps to the identity raises InvalidInputError.
                raise InvalidInput("an input hashes to the identity element") from error
        return ClientBatch(tuple(inputs), tuple(blinds), tuple(blinded), info, tweaked_key)

    def finalize(self, batch: ClientBatch, evaluation: BlindEvaluation) -> list[bytes]:
        """Finalize a batch (of any size, including one): verify, unblind and hash."""
        return self.finalize_batch(batch, evaluation)

    def finalize_batch(self, batch: ClientBatch, evaluation: BlindEvaluation) -> list[bytes]:
        """Verify the proof (VOPRF/POPRF), unblind each element and hash it into an output."""
        context = self._context
        group = context.group
        evaluated = evaluation.evaluated_elements
        if len(evaluated) != len(batch.blinded_elements):
            raise InvalidInput(
                f"expected {len(batch.blinded_elements)} evaluated elements, got {len(evaluated)}"
            )
        mode = context.mode
        if mode is not Mode.OPRF:
            if evaluation.proof is None:
                raise InvalidProof(f"{mode.name} mode needs a proof and none came")
            if mode is Mode.VOPRF:
                # RFC 9497 §3.3.2: VerifyProof(G, pkS, blindedElements, evaluatedElements, proof).
                context.verify_proof(
                    group.generator(),
                    self._public_key,
                    batch.blinded_elements,
                    evaluated,
                    evaluation.proof,
                )
            else:
                # RFC 9497 §3.3.3: VerifyProof(G, tweakedKey, evaluated, blinded, proof).
                context.verify_proof(
                    group.generator(),
                    batch.tweaked_key,
                    evaluated,
                    batch.blinded_elements,
                    evaluation.proof,
                )
        # multiply_each_encoded validates every evaluated element (InvalidEncoding names it).
        inverses = _batch_inverse(batch.blinds, group.order)
        unblinded = group.multiply_each_encoded(inverses, evaluated)
        return [
            context.finalize_hash(data, batch.info, element)
            for data, element in zip(batch.inputs, unblinded, strict=True)
        ]


class OprfServer:
    """The owner's side: BlindEvaluate (single and batched) and Evaluate (RFC 9497 §3.3)."""

    def __init__(self, suite: Suite, mode: Mode, private_key: bytes) -> None:
        self._context = _SuiteContext(suite, mode)
        group = self._context.group
        self._key = group.deserialize_scalar(private_key)
        self.public_key: bytes = group.serialize_element(group.scalar_mult_base(self._key))

    def __repr__(self) -> str:
        mode = self._context.mode.name
        return f"OprfServer({self._context.suite.name}, {mode}, public_key={self.public_key.hex()})"

    @property
    def mode(self) -> Mode:
        return self._context.mode

    def _tweaked_scalar(self, info: bytes) -> int:
        # RFC 9497 §3.3.3: t = skS + m; a zero t has no inverse (InverseError).
        context = self._context
        if context.mode is not Mode.POPRF:
            if info:
                raise InvalidInput(f"info is only used in POPRF mode, not {context.mode.name}")
            return self._key
        t = (self._key + context.info_scalar(info)) % context.group.order
        if t == 0:
            raise InvalidInput("the key tweaked by this info is zero and has no inverse")
        return t

    def blind_evaluate(self, blinded_element: bytes, info: bytes = b"") -> BlindEvaluation:
        """Evaluate one blinded element (a batch of one)."""
        return self.blind_evaluate_batch([blinded_element], info)

    def blind_evaluate_batch(
        self, blinded_elements: Sequence[bytes], info: bytes = b""
    ) -> BlindEvaluation:
        """Evaluate a batch; in VOPRF/POPRF mode with one batched DLEQ proof (RFC 9497 §2.2)."""
        proof_randomness = None
        if self._context.mode is not Mode.OPRF:
            proof_randomness = self._context.group.random_scalar()
        return self._blind_evaluate_batch_with(blinded_elements, info, proof_randomness)

    def _blind_evaluate_batch_with(
        self, blinded_elements: Sequence[bytes], info: bytes, proof_randomness: int | None
    ) -> BlindEvaluation:
        # The proof randomness is injectable so that the RFC 9497 vectors are reproducible.
        context = self._context
        group = context.group
        if not blinded_elements:
            raise InvalidInput("a batch must hold at least one blinded element")
        t = self._tweaked_scalar(info)
        if context.mode is Mode.OPRF:
            evaluated = group.multiply_encoded(t, blinded_elements)
            return BlindEvaluation(tuple(EvaluatedElement(e) for e in evaluated), None)
        if proof_randomness is None:
            raise InvalidInput(f"{context.mode.name} mode needs proof randomness")
        if context.mode is Mode.VOPRF:
            evaluated = group.multiply_encoded(t, blinded_elements)
            proof = context.generate_proof(
                t,
                group.generator(),
                group.deserialize_element(self.public_key),
                blinded_elements,
                evaluated,
                proof_randomness,
            )
        else:
            inverse = pow(t, -1, group.order)
            evaluated = group.multiply_encoded(inverse, blinded_elements)
            proof = context.generate_proof(
                t,
                group.generator(),
                group.scalar_mult_base(t),
                evaluated,
                blinded_elements,
                proof_randomness,
            )
        return BlindEvaluation(tuple(EvaluatedElement(e) for e in evaluated), proof)

    def evaluate(self, data: bytes, info: bytes = b"") -> bytes:
        """Evaluate the PRF directly on an input (RFC 9497 §3.3.1-§3.3.3, Evaluate)."""
        return self.evaluate_batch([data], info)[0]

    def evaluate_batch(self, inputs: Sequence[bytes], info: bytes = b"") -> list[bytes]:
        """Evaluate the PRF on many inputs: the owner's index-building path."""
        context = self._context
        group = context.group
        t = self._tweaked_scalar(info)
        scalar = pow(t, -1, group.order) if context.mode is Mode.POPRF else t
        outputs = []
        for data in inputs:
            _framed(data, "input")
            try:
                element = group.scalar_mult(scalar, context.hash_to_group(data))
            except InvalidInput as error:
                raise InvalidInput("an input hashes to the identity element") from error
            outputs.append(context.finalize_hash(data, info, group.serialize_element(element)))
        return outputs
