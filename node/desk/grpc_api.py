"""The check desk's local gRPC API, `blindhit.v1.Checks`: a thin adapter over `DeskService`.

On the desk's own listener, never the peer-facing port. TLS with the node's certificate; no
client certificate: clients authenticate with `authorization: Bearer <token>` metadata
(`node.desk.clients`). Requests are taken as raw bytes and decoded here, so that an undecodable
one is INVALID_ARGUMENT as on every blindhit server; errors become statuses with a one-line
message (`node.transport.rpc`): a missing or wrong token UNAUTHENTICATED, a role that may not
call the method PERMISSION_DENIED, a quota RESOURCE_EXHAUSTED, bad input INVALID_ARGUMENT.

`Check` streams one `MemberAnswer` per member as each completes; everything that can be refused
(the token, the role, the probes, the quota) is refused before the first answer is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError

from crypto.errors import BlindhitError, InputError, UnknownPeer
from node.desk.checks import MemberAnswer
from node.desk.clients import DeskClient
from node.desk.service import CheckPurpose, DeskService, Traveller
from node.keys.tls import TlsCredentials
from node.transport.rpc import SERVER_OPTIONS, rpc, status_of
from proto.blindhit.v1 import checks_pb2
from proto.services import CHECKS
from protocol.admission import QueryMode

__all__ = ["ChecksService", "create_checks_server"]

_log = logging.getLogger("blindhit.desk")

# A manifest of a thousand travellers is well under a megabyte of JSON-like fields.
MAX_REQUEST_BYTES = 4 * 1024 * 1024


class ChecksService:
    """`blindhit.v1.Checks` over a `DeskService`."""

    def __init__(self, service: DeskService) -> None:
        self._service = service

    def _client(self, context: grpc.ServicerContext) -> DeskClient:
        metadata = dict(context.invocation_metadata())
        header = str(metadata.get("authorization", ""))
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise UnknownPeer("no bearer token: send `authorization: Bearer <token>` metadata")
        return self._service.authenticate(token.strip())

    def Check(  # noqa: N802 (the name is fixed by the service definition)
        self, raw: bytes, context: grpc.ServicerContext
    ) -> Iterator[checks_pb2.MemberAnswer]:
        try:
            client = self._client(context)
            request = _decode(checks_pb2.CheckRequest, raw)
            mode = QueryMode(request.mode) if request.mode else QueryMode.INDEX
            answers = self._service.check(
                client,
                [_fields(probe) for probe in request.probes],
                CheckPurpose(
                    request.purpose or None,
                    request.legal_basis or None,
                    request.case_reference or None,
                ),
                mode=mode,
                members=list(request.members) or None,
            )
        except ValueError:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "mode: expected index or owner-match")
        except BlindhitError as error:
            context.abort(status_of(error), str(error))
        except Exception:
            # context.abort raises from the branches above and passes by this one.
            _log.exception("internal error in Check")
            context.abort(grpc.StatusCode.INTERNAL, "internal error")
        return self._stream(answers, context)

    def _stream(
        self, answers: Iterator[MemberAnswer], context: grpc.ServicerContext
    ) -> Iterator[checks_pb2.MemberAnswer]:
        try:
            for answer in answers:
                yield _member_answer(answer)
        except BlindhitError as error:
            context.abort(status_of(error), str(error))
        except Exception:
            _log.exception("internal error in Check")
            context.abort(grpc.StatusCode.INTERNAL, "internal error")

    @rpc
    def Screen(  # noqa: N802
        self, raw: bytes, context: grpc.ServicerContext
    ) -> checks_pb2.ScreenResponse:
        client = self._client(context)
        request = _decode(checks_pb2.ScreenRequest, raw)
        screening = self._service.screen(
            client,
            [Traveller(t.reference, _fields(t.fields)) for t in request.travellers],
        )
        return checks_pb2.ScreenResponse(
            screening=screening.id,
            complete=screening.complete,
            travellers=[
                checks_pb2.TravellerResult(
                    reference=result.reference,
                    outcome=result.outcome.value,
                    referral=result.referral or "",
                )
                for result in screening.travellers
            ],
        )


def _decode(message: type[Any], raw: bytes) -> Any:  # noqa: ANN401 (protobuf classes are untyped)
    if len(raw) > MAX_REQUEST_BYTES:
        raise InputError(f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        return message.FromString(raw)
    except DecodeError:
        raise InputError("the request does not decode") from None


def _fields(struct: Any) -> Mapping[str, object]:  # noqa: ANN401 (google.protobuf.Struct)
    fields: dict[str, object] = MessageToDict(struct)
    return fields


def _member_answer(answer: MemberAnswer) -> checks_pb2.MemberAnswer:
    return checks_pb2.MemberAnswer(
        member=answer.member,
        status=answer.status,
        seconds=answer.seconds,
        datasets=[
            checks_pb2.DatasetAnswer(
                dataset=dataset.dataset,
                status=dataset.status,
                message=dataset.message,
                epoch=dataset.epoch,
                index_age_seconds=-1.0
                if dataset.index_age_seconds is None
                else dataset.index_age_seconds,
                synced=dataset.synced,
                receipts=list(dataset.receipts),
                probes=[
                    checks_pb2.ProbeResult(
                        probe=outcome.probe,
                        hit=outcome.hit,
                        keys=[
                            checks_pb2.KeyHit(
                                kind=hit.kind,
                                strength=hit.strength.value,
                                match_reference=hit.match_reference,
                            )
                            for hit in outcome.hits
                        ],
                    )
                    for outcome in dataset.outcomes
                ],
            )
            for dataset in answer.datasets
        ],
    )


def create_checks_server(
    service: DeskService,
    tls: TlsCredentials,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    workers: int = 32,
) -> tuple[grpc.Server, int]:
    """Build and bind (not start) the desk's gRPC server; return it and the bound port."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blindhit-desk"),
        options=[
            *SERVER_OPTIONS,
            ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
        ],
        maximum_concurrent_rpcs=workers * 4,
    )
    checks = ChecksService(service)
    server.add_generic_rpc_handlers(
        (
            CHECKS.handler(
                {
                    "Check": grpc.unary_stream_rpc_method_handler(
                        checks.Check,
                        response_serializer=checks_pb2.MemberAnswer.SerializeToString,
                    ),
                    "Screen": grpc.unary_unary_rpc_method_handler(
                        checks.Screen,
                        response_serializer=checks_pb2.ScreenResponse.SerializeToString,
                    ),
                }
            ),
        )
    )
    credentials = grpc.ssl_server_credentials(
        [(tls.private_key, tls.certificate_chain)], require_client_auth=False
    )
    bound = server.add_secure_port(f"{host}:{port}", credentials)
    if bound == 0:
        raise InputError(f"cannot listen on {host}:{port}")
    return server, bound
