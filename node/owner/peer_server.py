"""The member node's gRPC server: mutual TLS, message limits; the Match, Audit, Disclosure and
health services.

Every node serves Match and Audit (every node has an audit log, and a peer holding its receipts
may check them against it at any time); Disclosure when the node runs an owner's desk.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from crypto.errors import StorageError
from node.config import NodeConfig
from node.keys.tls import TlsCredentials
from node.owner.audit_service import AuditService
from node.owner.disclosure_service import DisclosureService
from node.owner.match_service import MatchService
from node.transport.rpc import SERVER_OPTIONS
from proto.blindhit.v1 import audit_pb2, common_pb2, match_pb2
from proto.services import AUDIT, DISCLOSURE, MATCH

__all__ = ["create_server"]

# Enough threads that slow peers cannot starve fast ones; the OPRF work itself runs in libsodium
# with the interpreter lock released, so two cores are used by two or more of them.
DEFAULT_WORKERS = 16


def create_server(
    config: NodeConfig,
    tls: TlsCredentials,
    match: MatchService,
    *,
    port: int | None = None,
    workers: int = DEFAULT_WORKERS,
    disclosure: DisclosureService | None = None,
) -> tuple[grpc.Server, int]:
    """Build and bind (not start) the server; return it and the bound port.

    `port` overrides the configured one; 0 binds an ephemeral port, as tests do.
    """
    limits = config.limits
    server = grpc.server(
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blindhit-rpc"),
        options=[
            *SERVER_OPTIONS,
            ("grpc.max_receive_message_length", limits.max_message_bytes),
            ("grpc.max_send_message_length", limits.max_message_bytes),
        ],
        maximum_concurrent_rpcs=workers * 4,
    )
    server.add_generic_rpc_handlers((_match_handlers(match),))
    server.add_generic_rpc_handlers(
        (_audit_handlers(AuditService(match, match.audit, match.checkpoints)),)
    )
    if disclosure is not None:
        server.add_generic_rpc_handlers((_disclosure_handlers(disclosure),))
    health_service = health.HealthServicer()
    health_service.set("", health_pb2.HealthCheckResponse.SERVING)
    health_service.set(MATCH.name, health_pb2.HealthCheckResponse.SERVING)
    health_service.set(AUDIT.name, health_pb2.HealthCheckResponse.SERVING)
    if disclosure is not None:
        health_service.set(DISCLOSURE.name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_service, server)
    listen = config.node.listen
    chosen = listen.port if port is None else port
    address = f"[{listen.host}]:{chosen}" if ":" in listen.host else f"{listen.host}:{chosen}"
    try:
        bound = server.add_secure_port(address, tls.server_credentials())
    except RuntimeError as error:
        raise StorageError(f"cannot listen on {address}: {error}") from error
    if bound == 0:
        raise StorageError(f"cannot listen on {address}: the address is in use or not local")
    return server, bound


def _match_handlers(match: MatchService) -> grpc.GenericRpcHandler[bytes, object]:
    """The Match service with raw-bytes requests, decoded by the servicer itself.

    A request deserializer would decode requests in the gRPC runtime, which answers an
    undecodable one with INTERNAL; decoding in the servicer answers it INVALID_ARGUMENT.
    """
    envelope = common_pb2.SignedEnvelope.SerializeToString
    handlers = {
        "SyncIndex": grpc.unary_stream_rpc_method_handler(
            match.SyncIndex, response_serializer=match_pb2.IndexChunk.SerializeToString
        ),
        "BlindEvaluate": grpc.unary_unary_rpc_method_handler(
            match.BlindEvaluate, response_serializer=envelope
        ),
        "OwnerMatch": grpc.unary_unary_rpc_method_handler(
            match.OwnerMatch, response_serializer=envelope
        ),
    }
    return MATCH.handler(handlers)


def _disclosure_handlers(service: DisclosureService) -> grpc.GenericRpcHandler[bytes, object]:
    """The Disclosure service, with raw-bytes requests like the Match service."""
    envelope = common_pb2.SignedEnvelope.SerializeToString
    handlers = {
        "RequestDisclosure": grpc.unary_unary_rpc_method_handler(
            service.RequestDisclosure, response_serializer=envelope
        ),
        "FetchRelease": grpc.unary_unary_rpc_method_handler(
            service.FetchRelease, response_serializer=envelope
        ),
    }
    return DISCLOSURE.handler(handlers)


def _audit_handlers(service: AuditService) -> grpc.GenericRpcHandler[bytes, object]:
    """The Audit service, with raw-bytes requests like the Match service."""
    handlers = {
        "GetCheckpoint": grpc.unary_unary_rpc_method_handler(
            service.GetCheckpoint,
            response_serializer=audit_pb2.CheckpointResponse.SerializeToString,
        ),
        "GetInclusionProof": grpc.unary_unary_rpc_method_handler(
            service.GetInclusionProof,
            response_serializer=audit_pb2.InclusionProofResponse.SerializeToString,
        ),
        "GetConsistencyProof": grpc.unary_unary_rpc_method_handler(
            service.GetConsistencyProof,
            response_serializer=audit_pb2.ConsistencyProofResponse.SerializeToString,
        ),
    }
    return AUDIT.handler(handlers)
