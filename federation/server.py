"""The coordinating node at work: `blindhit federation serve`.

One gRPC server with mutual TLS (the federation CA on both sides) offers:

- `Directory.GetDirectory`: the latest signed directory. The server publishes a new version by
  itself whenever admissions or revocations changed the membership (checked every
  `PUBLISH_CHECK_SECONDS`), so a revocation reaches every member within one refresh of theirs.
- `FanOut.Check` and `FanOut.SyncIndex` (`federation.fanout`): relays for current members only.
- `Witness.GetCosigned` and `Witness.Cosign` (`federation.witness`): a member submits its own
  checkpoints (the certificate's node id must be the checkpoint's origin) with a consistency
  proof from the last one cosigned; the cosignature key is the coordinating node's identity key
  under the cosignature/v1 signature type, whose signed messages can never be taken for a
  directory note (they start `cosignature/v1`).
- the standard gRPC health service.

A caller is known by its certificate (issued by the federation CA, `blindhit://node/<id>`); the
relays and the witness serve current members of the latest published directory only.
Everything the coordinating node relays is logged in its own audit log (in `federation.db`), and
its checkpoints are signed there too.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TextIO, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from crypto.cosignature import CosignatureSigner
from crypto.errors import BlindhitError, PeerError, UnknownPeer
from crypto.signed_note import parse_note
from federation.coordinator import Coordinator
from federation.fanout import FanOutRelay, MemberEndpoint
from federation.witness import InconsistentLog, StaleCheckpoint, Witness
from node.audit import AuditLog, CheckpointIssuer, CheckpointTimer
from node.keys.identity import load_private_key
from node.keys.tls import node_id_from_auth_context
from node.transport.rpc import SERVER_OPTIONS, rpc, stop_on_signals
from proto.blindhit.v1 import federation_pb2
from proto.services import DIRECTORY, FAN_OUT, WITNESS, Service
from protocol.directory import Directory, decode_directory

__all__ = ["CoordinatorServer", "serve"]

_log = logging.getLogger("blindhit.federation")

PUBLISH_CHECK_SECONDS: Final = 2.0
STOP_GRACE_SECONDS: Final = 5.0
SYNC_DEADLINE_SECONDS: Final = 300.0


class CoordinatorServer:
    """The coordinating node's services over one opened `Coordinator`."""

    def __init__(self, coordinator: Coordinator, passphrase: bytes) -> None:
        self.coordinator = coordinator
        self._passphrase = passphrase
        config = coordinator.config
        self.tls = coordinator.tls_credentials(passphrase)
        identity = load_private_key(coordinator.layout.identity_key, passphrase)
        self.audit = AuditLog(config.database)
        self.checkpoints = CheckpointIssuer(self.audit, coordinator.identity_signer(passphrase))
        self.witness = Witness(config.database, CosignatureSigner(config.id, identity))
        self._lock = threading.Lock()
        self._directory: Directory | None = None
        self._note = ""
        self.relay = FanOutRelay(config.id, self.tls, self._member_endpoints, self.audit)
        self.publish_if_changed()

    def close(self) -> None:
        self.relay.close()
        self.witness.close()
        self.audit.close()

    # -- membership --------------------------------------------------------------------------

    def publish_if_changed(self) -> None:
        """Publish a new directory version if the membership changed; keep the witness in step."""
        coordinator = self.coordinator
        if coordinator.pending_changes():
            published = coordinator.publish(self._passphrase)
            _log.warning("published directory version %d", published.version)
        latest = coordinator.latest()
        if latest is None:
            return
        directory = decode_directory(parse_note(latest.note).text)
        with self._lock:
            if self._directory is not None and self._directory.version == directory.version:
                return
            self._directory, self._note = directory, latest.note
        logs = self.witness.logs()
        for member in directory.members:
            if member.id not in logs:
                self.witness.add_log(member.id, member.identity_key)

    def _member_endpoints(self) -> list[MemberEndpoint]:
        with self._lock:
            directory = self._directory
        if directory is None:
            return []
        return [MemberEndpoint(m.id, m.endpoint) for m in directory.members]

    def _caller(self, context: grpc.ServicerContext) -> str:
        try:
            return node_id_from_auth_context(context.auth_context())
        except PeerError as error:
            raise UnknownPeer(str(error)) from error

    def _member(self, context: grpc.ServicerContext) -> str:
        caller = self._caller(context)
        if caller not in {m.member for m in self._member_endpoints()}:
            raise UnknownPeer(f"node {caller} is not a current member")
        return caller

    # -- Directory ---------------------------------------------------------------------------

    @rpc
    def GetDirectory(  # noqa: N802 (the name is fixed by the service definition)
        self, request: federation_pb2.DirectoryRequest, context: grpc.ServicerContext
    ) -> federation_pb2.DirectoryResponse:
        self._caller(context)
        with self._lock:
            directory, note = self._directory, self._note
        if directory is None:
            raise PeerError("no directory is published yet")
        if request.have_version == directory.version:
            return federation_pb2.DirectoryResponse(version=directory.version)
        return federation_pb2.DirectoryResponse(signed_directory=note, version=directory.version)

    # -- FanOut ------------------------------------------------------------------------------

    @rpc
    def Check(  # noqa: N802
        self, request: federation_pb2.FanOutRequest, context: grpc.ServicerContext
    ) -> Iterator[federation_pb2.FanOutAnswer]:
        return self.relay.check(self._member(context), request)

    @rpc
    def SyncIndex(  # noqa: N802
        self, request: federation_pb2.RelayedSync, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        chunks = self.relay.sync(self._member(context), request, SYNC_DEADLINE_SECONDS)
        return _relayed_stream(chunks, context)

    # -- Witness -----------------------------------------------------------------------------

    @rpc
    def GetCosigned(  # noqa: N802
        self, request: federation_pb2.CosignedRequest, context: grpc.ServicerContext
    ) -> federation_pb2.CosignedResponse:
        self._member(context)
        latest = self.witness.latest(request.origin)
        if latest is None:
            return federation_pb2.CosignedResponse()
        return federation_pb2.CosignedResponse(cosigned_checkpoint=latest.note, size=latest.size)

    @rpc
    def Cosign(  # noqa: N802
        self, request: federation_pb2.CosignRequest, context: grpc.ServicerContext
    ) -> federation_pb2.CosignResponse:
        member = self._member(context)
        try:
            note = self.witness.cosign(
                member,
                request.checkpoint,
                list(request.consistency_proof),
                old_size=request.old_size,
            )
        except InconsistentLog as error:
            _log.error("witness: %s shows an inconsistent log: %s", member, error)
            raise
        except StaleCheckpoint as stale:
            raise StaleCheckpoint(
                f"{stale} (cosigned size {stale.cosigned_size})",
                origin=stale.origin,
                cosigned_size=stale.cosigned_size,
            ) from None
        return federation_pb2.CosignResponse(cosigned_checkpoint=note)


def _relayed_stream(chunks: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    try:
        yield from chunks
    except grpc.RpcError as error:
        failed: Any = error
        code = failed.code() if hasattr(failed, "code") else grpc.StatusCode.UNKNOWN
        details = (failed.details() if hasattr(failed, "details") else "") or "no detail"
        context.abort(code, f"the member: {details}")


def _identity(data: bytes) -> bytes:
    return data


_Request = TypeVar("_Request", bound=Message)
_Response = TypeVar("_Response")


def _decoding(
    behaviour: Callable[[_Request, grpc.ServicerContext], _Response], message: type[_Request]
) -> Callable[[bytes, grpc.ServicerContext], _Response]:
    """`behaviour` taking raw bytes: an undecodable request is answered INVALID_ARGUMENT.

    A request deserializer would decode in the gRPC runtime, which answers such a request
    INTERNAL, as if the server had failed; like the member node's services, these say that the
    request is at fault.
    """
    name = message.DESCRIPTOR.name

    def decoded(raw: bytes, context: grpc.ServicerContext) -> _Response:
        try:
            request = message.FromString(raw)
        except DecodeError:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the request is not a {name}")
        return behaviour(request, context)

    return decoded


def create_server(
    services: CoordinatorServer, *, port: int | None = None, workers: int = 32
) -> tuple[grpc.Server, int]:
    """Bind (not start) the coordinating node's server; return it and the bound port."""
    config = services.coordinator.config
    server = grpc.server(
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blindhit-gs"),
        options=[
            *SERVER_OPTIONS,
            ("grpc.max_receive_message_length", 16 * 1024 * 1024),
            ("grpc.max_send_message_length", 16 * 1024 * 1024),
        ],
        maximum_concurrent_rpcs=workers * 4,
    )
    handlers: dict[Service, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {
        DIRECTORY: {
            "GetDirectory": grpc.unary_unary_rpc_method_handler(
                _decoding(services.GetDirectory, federation_pb2.DirectoryRequest),
                response_serializer=federation_pb2.DirectoryResponse.SerializeToString,
            ),
        },
        FAN_OUT: {
            "Check": grpc.unary_stream_rpc_method_handler(
                _decoding(services.Check, federation_pb2.FanOutRequest),
                response_serializer=federation_pb2.FanOutAnswer.SerializeToString,
            ),
            "SyncIndex": grpc.unary_stream_rpc_method_handler(
                _decoding(services.SyncIndex, federation_pb2.RelayedSync),
                response_serializer=_identity,
            ),
        },
        WITNESS: {
            "GetCosigned": grpc.unary_unary_rpc_method_handler(
                _decoding(services.GetCosigned, federation_pb2.CosignedRequest),
                response_serializer=federation_pb2.CosignedResponse.SerializeToString,
            ),
            "Cosign": grpc.unary_unary_rpc_method_handler(
                _decoding(services.Cosign, federation_pb2.CosignRequest),
                response_serializer=federation_pb2.CosignResponse.SerializeToString,
            ),
        },
    }
    server.add_generic_rpc_handlers(tuple(service.handler(h) for service, h in handlers.items()))
    health_service = health.HealthServicer()
    health_service.set("", health_pb2.HealthCheckResponse.SERVING)
    for service in handlers:
        health_service.set(service.name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_service, server)
    listen = config.listen
    chosen = listen.port if port is None else port
    host = f"[{listen.host}]" if ":" in listen.host else listen.host
    try:
        bound = server.add_secure_port(f"{host}:{chosen}", services.tls.server_credentials())
    except RuntimeError as error:
        raise BlindhitError(f"cannot listen on {host}:{chosen}: {error}") from error
    if bound == 0:
        raise BlindhitError(f"cannot listen on {host}:{chosen}: the address is in use")
    return server, bound


def serve(
    directory: Path,
    passphrase: bytes,
    *,
    port: int | None = None,
    out: TextIO = sys.stdout,
) -> None:
    """Run the coordinating node in `directory` until SIGTERM or SIGINT."""
    with stop_on_signals() as stop, Coordinator.open(directory) as coordinator:
        services = CoordinatorServer(coordinator, passphrase)
        try:
            server, bound = create_server(services, port=port)
            timer = CheckpointTimer(services.checkpoints, 1.0)
            server.start()
            timer.start()
            try:
                config = coordinator.config
                host = (
                    f"[{config.listen.host}]" if ":" in config.listen.host else config.listen.host
                )
                print(f"{config.id} listening on {host}:{bound}", file=out, flush=True)
                while not stop.wait(PUBLISH_CHECK_SECONDS):
                    try:
                        services.publish_if_changed()
                    except BlindhitError:
                        _log.exception("the directory could not be published")
            finally:
                server.stop(STOP_GRACE_SECONDS).wait()
                timer.stop()
                services.checkpoints.issue()
        finally:
            services.close()
