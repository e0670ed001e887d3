"""The services of the wire contract, read from the descriptors protoc generated in `*_pb2.py`.

Every method path (`/blindhit.v1.Match/BlindEvaluate`), every service name and every method's
shape (unary or server-streaming) that a client or server of blindhit uses comes from here, so
none is typed by hand and none can drift from the .proto files: a method name a service does not
declare fails at once (when the module using it is imported or the server is built), and so does
a client or a server registration whose streaming shape differs from the declaration.

Serialisation stays with the caller. A server may register a method without a request
deserializer, so that its servicer receives the raw bytes and decodes them itself (an
undecodable request is then answered INVALID_ARGUMENT, not INTERNAL by the gRPC runtime); a
relay may pass bytes through untouched on both sides (see `federation.fanout`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from proto.blindhit.v1 import audit_pb2, checks_pb2, disclosure_pb2, federation_pb2, match_pb2

__all__ = [
    "AUDIT",
    "CHECKS",
    "DIRECTORY",
    "DISCLOSURE",
    "FAN_OUT",
    "MATCH",
    "WITNESS",
    "Service",
]

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


@dataclass(frozen=True)
class Service:
    """One service of the contract, as its descriptor declares it."""

    descriptor: ServiceDescriptor

    @property
    def name(self) -> str:
        """The full service name, as in the health service and in method paths."""
        return str(self.descriptor.full_name)

    def method(self, name: str) -> MethodDescriptor:
        """The declared method `name`; a name the service does not declare is a `LookupError`."""
        method = self.descriptor.methods_by_name.get(name)
        if method is None:
            declared = ", ".join(sorted(self.descriptor.methods_by_name))
            raise LookupError(f"service {self.name} declares no method {name!r} ({declared})")
        return method

    def path(self, name: str) -> str:
        """The method's path on the wire, `/<package>.<Service>/<Method>`."""
        return f"/{self.name}/{self.method(name).name}"

    def unary_unary(
        self,
        channel: grpc.Channel,
        name: str,
        request_serializer: Callable[[_Request], bytes],
        response_deserializer: Callable[[bytes], _Response],
    ) -> grpc.UnaryUnaryMultiCallable[_Request, _Response]:
        """A client callable of unary method `name` on `channel`."""
        self._check_shape(name, server_streaming=False)
        return channel.unary_unary(
            self.path(name),
            request_serializer=request_serializer,
            response_deserializer=response_deserializer,
        )

    def unary_stream(
        self,
        channel: grpc.Channel,
        name: str,
        request_serializer: Callable[[_Request], bytes],
        response_deserializer: Callable[[bytes], _Response],
    ) -> grpc.UnaryStreamMultiCallable[_Request, _Response]:
        """A client callable of server-streaming method `name` on `channel`."""
        self._check_shape(name, server_streaming=True)
        return channel.unary_stream(
            self.path(name),
            request_serializer=request_serializer,
            response_deserializer=response_deserializer,
        )

    def handler(
        self, handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> grpc.GenericRpcHandler[Any, Any]:
        """The server side: one handler for each declared method, no more and no fewer.

        A service served in part would answer its missing methods UNIMPLEMENTED at run time;
        refusing to build it keeps the server and the contract in step.
        """
        declared = set(self.descriptor.methods_by_name)
        if set(handlers) != declared:
            missing = ", ".join(sorted(declared - set(handlers))) or "none"
            unknown = ", ".join(sorted(set(handlers) - declared)) or "none"
            raise LookupError(
                f"service {self.name}: handlers missing for {missing}; not declared: {unknown}"
            )
        for name, handler in handlers.items():
            self._check_shape(
                name,
                server_streaming=handler.response_streaming,
                client_streaming=handler.request_streaming,
            )
        return grpc.method_handlers_generic_handler(self.name, dict(handlers))

    def _check_shape(
        self, name: str, *, server_streaming: bool, client_streaming: bool = False
    ) -> None:
        method = self.method(name)
        declared = _shape(
            client_streaming=method.client_streaming, server_streaming=method.server_streaming
        )
        wanted = _shape(client_streaming=client_streaming, server_streaming=server_streaming)
        if declared != wanted:
            raise LookupError(f"{self.path(name)} is declared {declared}, not {wanted}")


def _shape(*, client_streaming: bool, server_streaming: bool) -> str:
    if client_streaming and server_streaming:
        return "bidirectional streaming"
    if client_streaming:
        return "client-streaming"
    return "server-streaming" if server_streaming else "unary"


MATCH = Service(match_pb2.DESCRIPTOR.services_by_name["Match"])
DISCLOSURE = Service(disclosure_pb2.DESCRIPTOR.services_by_name["Disclosure"])
AUDIT = Service(audit_pb2.DESCRIPTOR.services_by_name["Audit"])
CHECKS = Service(checks_pb2.DESCRIPTOR.services_by_name["Checks"])
DIRECTORY = Service(federation_pb2.DESCRIPTOR.services_by_name["Directory"])
FAN_OUT = Service(federation_pb2.DESCRIPTOR.services_by_name["FanOut"])
WITNESS = Service(federation_pb2.DESCRIPTOR.services_by_name["Witness"])
