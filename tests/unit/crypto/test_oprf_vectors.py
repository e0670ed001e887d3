"""RFC 9497 Appendix A vectors for ristretto255-SHA512 and P256-SHA256, all three modes.

Each vector is checked byte for byte at every step: DeriveKeyPair (skSm, pkSm), Blind
(BlindedElement, with the vector's blinds), BlindEvaluate (EvaluatedElement and, with the
vector's proof randomness r, Proof), Finalize (Output) and the server's direct Evaluate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto.oprf import Mode, OprfClient, OprfServer, Suite, derive_key_pair

VECTORS = Path(__file__).parents[2] / "vectors" / "rfc9497" / "allVectors.json"
SUITES = {suite.value.identifier: suite for suite in Suite}


def _cases() -> list[Any]:
    cases = []
    for entry in json.loads(VECTORS.read_text()):
        if entry["identifier"] not in SUITES:
            continue
        for number, vector in enumerate(entry["vectors"]):
            case_id = f"{entry['identifier']}-{Mode(entry['mode']).name}-{number}"
            cases.append(pytest.param(entry, vector, id=case_id))
    return cases


CASES = _cases()


def _split(field: str) -> list[bytes]:
    return [bytes.fromhex(item) for item in field.split(",")]


def test_every_wanted_suite_and_mode_has_vectors() -> None:
    seen = {(c.values[0]["identifier"], c.values[0]["mode"]) for c in CASES}
    assert seen == {(suite, mode) for suite in SUITES for mode in (0, 1, 2)}
    assert any(c.values[1]["Batch"] > 1 for c in CASES)


@pytest.mark.parametrize(("entry", "vector"), CASES)
def test_vector(entry: dict[str, Any], vector: dict[str, Any]) -> None:
    suite = SUITES[entry["identifier"]]
    mode = Mode(entry["mode"])
    group = suite.value.group

    key_pair = derive_key_pair(
        suite, mode, bytes.fromhex(entry["seed"]), bytes.fromhex(entry["keyInfo"])
    )
    assert key_pair.private_key.hex() == entry["skSm"]
    if mode is not Mode.OPRF:
        assert key_pair.public_key.hex() == entry["pkSm"]

    inputs = _split(vector["Input"])
    assert len(inputs) == vector["Batch"]
    blinds = [group.deserialize_scalar(b) for b in _split(vector["Blind"])]
    info = bytes.fromhex(vector.get("Info", ""))

    client = OprfClient(suite, mode, None if mode is Mode.OPRF else key_pair.public_key)
    batch = client._blind_batch_with(inputs, blinds, info)
    assert list(batch.blinded_elements) == _split(vector["BlindedElement"])

    server = OprfServer(suite, mode, key_pair.private_key)
    proof = vector.get("Proof")
    randomness = None if proof is None else group.deserialize_scalar(bytes.fromhex(proof["r"]))
    evaluation = server._blind_evaluate_batch_with(list(batch.blinded_elements), info, randomness)
    # RFC 9497 erratum EID 8720: the vectors' "EvaluationElement" is the EvaluatedElement.
    assert list(evaluation.evaluated_elements) == _split(vector["EvaluationElement"])
    if proof is None:
        assert evaluation.proof is None
    else:
        assert evaluation.proof == bytes.fromhex(proof["proof"])

    outputs = client.finalize_batch(batch, evaluation)
    assert outputs == _split(vector["Output"])
    assert server.evaluate_batch(inputs, info) == outputs
    assert [server.evaluate(data, info) for data in inputs] == outputs
