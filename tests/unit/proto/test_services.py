"""Method paths and registrations come from the descriptors and are checked against them."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest

from proto.blindhit.v1 import audit_pb2, disclosure_pb2, federation_pb2, match_pb2
from proto.services import AUDIT, DIRECTORY, DISCLOSURE, FAN_OUT, MATCH, WITNESS

ROOT = Path(__file__).parents[3]


def _identity(raw: bytes) -> bytes:
    return raw


def test_paths_are_those_of_the_proto_files() -> None:
    files = (match_pb2, disclosure_pb2, audit_pb2, federation_pb2)
    declared = {
        (module.DESCRIPTOR.package, service, method)
        for module in files
        for service, descriptor in module.DESCRIPTOR.services_by_name.items()
        for method in descriptor.methods_by_name
    }
    services = (MATCH, DISCLOSURE, AUDIT, DIRECTORY, FAN_OUT, WITNESS)
    derived = {
        (package, service, method): known.path(method)
        for known in services
        for package, service, method in declared
        if known.name == f"{package}.{service}"
    }
    assert set(derived) == declared
    for (package, service, method), path in derived.items():
        assert path == f"/{package}.{service}/{method}"


def test_an_undeclared_method_is_refused() -> None:
    with pytest.raises(LookupError, match=r"blindhit\.v1\.Match declares no method 'Evaluate'"):
        MATCH.path("Evaluate")


def test_a_client_of_the_wrong_shape_is_refused() -> None:
    channel = grpc.insecure_channel("127.0.0.1:1")
    try:
        with pytest.raises(LookupError, match="SyncIndex is declared server-streaming, not unary"):
            MATCH.unary_unary(channel, "SyncIndex", _identity, _identity)
        with pytest.raises(LookupError, match="OwnerMatch is declared unary, not server-streaming"):
            MATCH.unary_stream(channel, "OwnerMatch", _identity, _identity)
    finally:
        channel.close()


def _unary() -> grpc.RpcMethodHandler[bytes, bytes]:
    return grpc.unary_unary_rpc_method_handler(lambda raw, context: raw)


def test_a_registration_must_serve_exactly_the_declared_methods() -> None:
    with pytest.raises(LookupError, match="missing for FetchRelease; not declared: none"):
        DISCLOSURE.handler({"RequestDisclosure": _unary()})
    with pytest.raises(LookupError, match="missing for none; not declared: Delete"):
        DISCLOSURE.handler(
            {"RequestDisclosure": _unary(), "FetchRelease": _unary(), "Delete": _unary()}
        )
    with pytest.raises(LookupError, match="SyncIndex is declared server-streaming, not unary"):
        MATCH.handler({"SyncIndex": _unary(), "BlindEvaluate": _unary(), "OwnerMatch": _unary()})


def test_no_method_path_is_typed_by_hand() -> None:
    typed = re.compile(r"""["']/?blindhit\.v1\.[A-Z]\w*[/"']""")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("crypto", "protocol", "node", "federation", "cli", "dev", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if typed.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
