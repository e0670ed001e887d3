"""The check desk's local HTTP/JSON API, `/v1`: checks, screenings and referrals over TLS.

The country's own systems reach the desk (`node.desk.service.DeskService`) here: a border
system or an officer's client submits probes and reads every member's answer, a partner submits
travellers and reads `no_action` or `refer`, an officer reads the referrals. The listener is TLS
with the node's own key and certificate (`keys/tls-key.pem`, `keys/tls-cert.pem`); a client is
known by its bearer token (`node.desk.clients` says why tokens, not client certificates).

Endpoints (the OpenAPI 3 document, generated from the models below, is `/v1/openapi.json`):

- `POST /v1/checks` (system, officer): one check of every member; with
  `Accept: application/x-ndjson` the answer is streamed, one JSON line per member as each
  completes, since members answer at different times.
- `POST /v1/screenings` (partner): per traveller `no_action` or `refer` with a referral id, and
  whether every member answered — nothing else, ever.
- `GET /v1/referrals`, `GET /v1/referrals/{id}` (officer): what the partner does not see.
- `GET /v1/health` (no token).

Invariants:

- Every error is an RFC 9457 problem (`application/problem+json` with `type`, `title`,
  `status` and a one-line `detail`), never a traceback and never a probe value: the values of
  the request's probes are cut out of any message before it is answered or logged. Statuses:
  no or a wrong token 401 (with `WWW-Authenticate: Bearer`, RFC 6750 §3), a role that may not
  call the endpoint or a `NotPermitted` 403, malformed JSON 400, a body over `MAX_BODY_BYTES`
  413, an unknown field, a wrong type, too many probes or any other `InputError` 422 (the JSON
  is well formed but its content is refused: RFC 9110 §15.5.21), a `PeerError` 422 too (the
  desk reports a member's failures per member, so one that reaches here came of the request),
  `QuotaExceeded` 429 with `Retry-After` until the next UTC day, `StorageError` and
  `FederationError` 503, a check longer than `limits.deadline_seconds` + `DEADLINE_MARGIN_SECONDS`
  504. A problem's `type` is `urn:blindhit:problem:` and one of `unauthorized`, `forbidden`,
  `malformed-json`, `body-too-large`, `invalid-request`, `not-found`, `method-not-allowed`,
  `quota-exceeded`, `unavailable`, `deadline-exceeded`, `internal-error`; a client branches on
  it, never on `detail`.
- A streamed check that passes its deadline after its first line ends with one problem line
  (an object with `type`, where a member's line has `member`) naming the members that answered
  before it; a member without a line did not answer in time, and is never a "no hit".
- Nothing logs a request body: uvicorn's access log is off, and the desk logs one line per
  request itself — method, path, status, client id, seconds.
- A connection that does not finish its TLS handshake within `HANDSHAKE_TIMEOUT_SECONDS`, or that
  sends no request within uvicorn's `timeout_keep_alive` of being opened or of its last answer,
  is closed.

Decisions:

- FastAPI, because its OpenAPI 3 document is generated from pydantic models (the library every
  file schema of the node is already checked with, `node.tomlfile`) and its validation gives
  the location of each error; uvicorn is its ASGI server.
- uvicorn runs in a thread of the process that serves the node (`DeskServer`), on an event loop
  of its own; uvicorn installs no signal handler outside the main thread, so the process's own
  signal handling stops the peer listener and the desk together (`node.owner.serve`).
- A check's work runs in worker threads, as the desk's checks block on gRPC; when a deadline
  passes the request is answered and the check's threads finish on their own (their audit
  entries are written all the same).
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations of the request
# handlers and dependencies defined inside `create_app`, which must be objects, not strings
# naming local functions.

import asyncio
import logging
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TextIO, TypeVar

import anyio
import anyio.to_thread
import grpc
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn import Config, Server
from uvicorn.protocols.http.h11_impl import H11Protocol

from crypto.errors import (
    BlindhitError,
    FederationError,
    InputError,
    NotPermitted,
    PeerError,
    PolicyError,
    QuotaExceeded,
    StorageError,
    UnknownPeer,
)
from node.audit import CheckpointTimer
from node.config import DeskSettings
from node.desk.checks import CheckDesk, MemberAnswer
from node.desk.clients import ClientStore, DeskClient, Role
from node.desk.grpc_api import create_checks_server
from node.desk.referrals import Referral, ReferralState, ReferralStore
from node.desk.service import MAX_TRAVELLERS, CheckPurpose, DeskService, Traveller
from node.home import NodeLayout
from node.runtime import NodeRuntime
from node.transport.rpc import stop_on_signals
from protocol.admission import QueryMode
from protocol.validation import HostPort

__all__ = [
    "DEADLINE_MARGIN_SECONDS",
    "HANDSHAKE_TIMEOUT_SECONDS",
    "MAX_BODY_BYTES",
    "NDJSON",
    "PROBLEM_JSON",
    "DeskServer",
    "RunningDesk",
    "create_app",
    "desk_ssl_context",
    "serve_desk",
    "start_desk",
]

MAX_BODY_BYTES: Final = 1024 * 1024
"""The largest request body: a manifest of `MAX_TRAVELLERS` travellers fits with room to spare."""

DEADLINE_MARGIN_SECONDS: Final = 5.0
"""Added to `limits.deadline_seconds` for a whole check: a sync or a slow member on top."""

HANDSHAKE_TIMEOUT_SECONDS: Final = 5.0
"""A connection that has not finished its TLS handshake by then is closed."""

KEEP_ALIVE_SECONDS: Final = 5
"""A connection with no request within this of its opening or of its last answer is closed."""

PROBLEM_JSON: Final = "application/problem+json"
NDJSON: Final = "application/x-ndjson"
_PROBLEM_PREFIX: Final = "urn:blindhit:problem:"
_COMPONENTS: Final = "#/components/schemas/"
# A piece of a message in quotes, as `repr` writes a refused value (not an apostrophe in a word).
_QUOTED: Final = re.compile(r"""(?<![A-Za-z])(?:'[^'\n]*'|"[^"\n]*")(?![A-Za-z])""")
_log = logging.getLogger("blindhit.desk")
_T = TypeVar("_T")


# -- problems (RFC 9457) --------------------------------------------------------------------------


class Problem(BaseModel):
    """An RFC 9457 problem detail, as every error is answered."""

    type: str = Field(examples=[_PROBLEM_PREFIX + "quota-exceeded"])
    title: str
    status: int
    detail: str


class _ProblemError(Exception):
    """An answer that is a problem; raised anywhere in a request, answered by the handler."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str, headers: Mapping[str, str] = {}
    ) -> None:
        super().__init__(detail)
        self.problem = Problem(
            type=_PROBLEM_PREFIX + slug, title=title, status=status, detail=_one_line(detail)
        )
        self.headers = dict(headers)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


def _problem_response(error: _ProblemError) -> JSONResponse:
    return JSONResponse(
        error.problem.model_dump(),
        status_code=error.problem.status,
        media_type=PROBLEM_JSON,
        headers=error.headers,
    )


def _unauthorized(detail: str) -> _ProblemError:
    return _ProblemError(
        401, "unauthorized", "Unauthorized", detail, {"WWW-Authenticate": 'Bearer realm="desk"'}
    )


def _seconds_to_next_day(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    tomorrow = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return max(1, int((tomorrow - now).total_seconds()) + 1)


def _problem_of(error: BlindhitError, values: Sequence[str] = ()) -> _ProblemError:
    """The problem an error of the project's tree is answered with (module docstring)."""
    detail = _redacted(str(error), values)
    if isinstance(error, UnknownPeer):
        return _unauthorized(detail)
    if isinstance(error, QuotaExceeded):
        retry = {"Retry-After": str(_seconds_to_next_day())}
        return _ProblemError(429, "quota-exceeded", "Quota exceeded", detail, retry)
    if isinstance(error, NotPermitted | PolicyError):
        return _ProblemError(403, "forbidden", "Forbidden", detail)
    if isinstance(error, InputError | PeerError):
        return _ProblemError(422, "invalid-request", "Invalid request", detail)
    if isinstance(error, StorageError | FederationError):
        return _ProblemError(503, "unavailable", "Service unavailable", detail)
    return _ProblemError(500, "internal-error", "Internal error", detail)


def _redacted(text: str, values: Sequence[str]) -> str:
    """`text` without the request's values: each cut where it appears, and where a request held
    values, every quoted piece too (a message quotes a value it refuses, perhaps cut short)."""
    if not values:
        return text
    # Longest first, so that a value holding another is cut whole.
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(repr(value), "'…'")
        if len(value) >= 3:
            text = text.replace(value, "…")
    return _QUOTED.sub("'…'", text)


def _leaves(value: object) -> Iterator[str]:
    """Every string and number in a probe, as text: what no message may repeat."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield str(value)


# -- request and answer models ------------------------------------------------------------------


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A probe is a record's fields (node.datasets.sources.RECORD_FIELDS; their forms are those of
# protocol.match_keys.records): named in the schema, so that an unknown field is refused here
# and the OpenAPI document lists them, and checked for their forms where every check's probes
# are. tests/unit/node/desk/test_http.py holds the names equal to RECORD_FIELDS.
_Field = JsonValue


class Probe(_Closed):
    """One person, document, account, vehicle, phone or e-mail address to check; every field is
    optional, and each takes the forms an import's column does."""

    name: _Field = None
    family_name: _Field = None
    given_names: _Field = None
    aliases: _Field = None
    date_of_birth: _Field = None
    sex: _Field = None
    nationalities: _Field = None
    nationality: _Field = None
    place_of_birth: _Field = None
    documents: _Field = None
    document_type: _Field = None
    document_number: _Field = None
    document_issuing_country: _Field = None
    accounts: _Field = None
    iban: _Field = None
    account_number: _Field = None
    bank_id: _Field = None
    vehicles: _Field = None
    vin: _Field = None
    plate: _Field = None
    plate_country: _Field = None
    phones: _Field = None
    phone: _Field = None
    emails: _Field = None
    email: _Field = None
    dna: _Field = None


class TravellerModel(Probe):
    """One traveller: the partner's own reference for it, and the fields of its probe."""

    reference: str = Field(min_length=1, max_length=128)


class CheckRequest(_Closed):
    probes: list[Probe] = Field(description=f"1 to {MAX_TRAVELLERS} probes")
    purpose: str | None = Field(None, description="defaults to the client's")
    legal_basis: str | None = Field(None, description="defaults to the client's")
    case_reference: str
    mode: Literal["index", "owner-match"] = "index"
    members: list[str] | None = Field(None, description="only these members (default: every)")


class KeyAnswer(BaseModel):
    kind: str
    strength: str
    match_reference: str = Field(description="hex: what a disclosure request quotes")


class ProbeAnswer(BaseModel):
    probe: int = Field(description="the probe's position in the request, from 0")
    hit: bool
    keys: list[KeyAnswer]


class DatasetAnswerModel(BaseModel):
    dataset: str
    status: str = Field(description="answered, refused, unreachable or failed")
    message: str
    epoch: int
    index_age_seconds: float | None
    synced: bool
    probes: list[ProbeAnswer] = Field(description="empty unless the status is answered")


class MemberAnswerModel(BaseModel):
    member: str
    status: str = Field(description="answered, partial, or the status all its datasets share")
    seconds: float
    datasets: list[DatasetAnswerModel]


class CheckAnswer(BaseModel):
    members: list[MemberAnswerModel]


class ScreeningRequest(_Closed):
    travellers: list[TravellerModel] = Field(description=f"1 to {MAX_TRAVELLERS} travellers")


class TravellerOutcome(BaseModel):
    reference: str
    outcome: Literal["no_action", "refer"]
    referral: str | None


class ScreeningAnswer(BaseModel):
    screening: str
    complete: bool = Field(description="whether every member answered for every traveller")
    travellers: list[TravellerOutcome]


class ReferralKind(BaseModel):
    kind: str
    strength: str


class ReferralHitModel(BaseModel):
    member: str
    dataset: str
    kinds: list[ReferralKind]
    match_reference: str


class ReferralModel(BaseModel):
    referral: str
    client: str
    created_at: datetime
    state: str
    traveller: str
    probe: dict[str, JsonValue]
    hits: list[ReferralHitModel]


class ReferralList(BaseModel):
    referrals: list[ReferralModel]


class Health(BaseModel):
    status: Literal["ok"]


def _member_model(answer: MemberAnswer) -> MemberAnswerModel:
    return MemberAnswerModel(
        member=answer.member,
        status=answer.status,
        seconds=round(answer.seconds, 3),
        datasets=[
            DatasetAnswerModel(
                dataset=dataset.dataset,
                status=dataset.status,
                message=dataset.message,
                epoch=dataset.epoch,
                index_age_seconds=dataset.index_age_seconds,
                synced=dataset.synced,
                probes=[
                    ProbeAnswer(
                        probe=outcome.probe,
                        hit=outcome.hit,
                        keys=[
                            KeyAnswer(
                                kind=hit.kind,
                                strength=hit.strength.value,
                                match_reference=hit.match_reference.hex(),
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


def _referral_model(referral: Referral) -> ReferralModel:
    return ReferralModel(
        referral=referral.id,
        client=referral.client,
        created_at=referral.created_at,
        state=referral.state.value,
        traveller=referral.traveller,
        probe=dict(referral.probe),  # type: ignore[arg-type]
        hits=[
            ReferralHitModel(
                member=hit.member,
                dataset=hit.dataset,
                kinds=[ReferralKind(kind=kind, strength=strength) for kind, strength in hit.kinds],
                match_reference=hit.match_reference,
            )
            for hit in referral.hits
        ],
    )


# -- the application ------------------------------------------------------------------------------


_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}
    for status, description in (
        (400, "Malformed JSON"),
        (401, "No token, or not a token of this desk"),
        (403, "The client's role may not call this"),
        (413, "Body too large"),
        (422, "Refused content"),
        (429, "Daily quota used"),
        (503, "Database or federation unavailable"),
        (504, "Deadline passed"),
    )
}


def create_app(service: DeskService, *, deadline_seconds: float) -> FastAPI:
    """The desk's ASGI application over `service`; a request answers within `deadline_seconds`."""
    app = FastAPI(
        title="blindhit check desk",
        version="1",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses=_ERRORS,
    )
    bearer = HTTPBearer(auto_error=False, description="A token from `blindhit desk client add`")
    deadline = deadline_seconds

    def client_of(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> DeskClient:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthorized("send Authorization: Bearer <token>")
        try:
            client = service.authenticate(credentials.credentials)
        except BlindhitError as error:
            raise _problem_of(error) from None
        request.scope["state"]["desk_client"] = client.id
        return client

    def role(*roles: Role) -> Callable[[DeskClient], DeskClient]:
        def allowed(client: Annotated[DeskClient, Depends(client_of)]) -> DeskClient:
            if client.role not in roles:
                names = " or ".join(r.value for r in roles)
                raise _ProblemError(
                    403, "forbidden", "Forbidden",
                    f"client {client.id} is a {client.role.value}; this needs a {names} client",
                )  # fmt: skip
            return client

        return allowed

    async def run(call: Callable[[], _T], values: Sequence[str], ends: float) -> _T:
        return await _run(call, values, ends, deadline)

    @app.get("/v1/health", response_model=Health, tags=["desk"])
    async def health() -> Health:
        """Whether the desk answers (no token needed)."""
        return Health(status="ok")

    @app.post(
        "/v1/checks",
        response_model=CheckAnswer,
        tags=["checks"],
        # A line of the streamed answer is a member's answer, a component of CheckAnswer's.
        responses={
            200: {"content": {NDJSON: {"schema": {"$ref": _COMPONENTS + "MemberAnswerModel"}}}}
        },
    )
    async def check(
        body: CheckRequest,
        request: Request,
        client: Annotated[DeskClient, Depends(role(Role.SYSTEM, Role.OFFICER))],
    ) -> Response:
        """Check probes against every member (system and officer clients).

        With `Accept: application/x-ndjson`, one JSON line per member as each completes.
        """
        ends = time.monotonic() + deadline
        probes = [probe.model_dump(exclude_none=True) for probe in body.probes]
        values = [leaf for probe in probes for leaf in _leaves(probe)]
        stated = CheckPurpose(body.purpose, body.legal_basis, body.case_reference)
        mode = QueryMode(body.mode)

        def start() -> Iterator[MemberAnswer]:
            return service.check(client, probes, stated, mode=mode, members=body.members)

        answers = await run(start, values, ends)
        if NDJSON not in request.headers.get("accept", ""):
            collected = await run(lambda: list(answers), values, ends)
            return JSONResponse(
                CheckAnswer(members=[_member_model(a) for a in collected]).model_dump(mode="json")
            )
        # The first member is awaited before the answer starts, so that a refused check (a
        # malformed probe, say) is still answered with its status.
        first = await run(lambda: next(answers, None), values, ends)
        return StreamingResponse(_lines(first, answers, values, ends, deadline), media_type=NDJSON)

    @app.post("/v1/screenings", response_model=ScreeningAnswer, tags=["screenings"])
    async def screen(
        body: ScreeningRequest,
        client: Annotated[DeskClient, Depends(role(Role.PARTNER))],
    ) -> ScreeningAnswer:
        """Screen travellers (partner clients): `no_action` or `refer` with a referral id."""
        ends = time.monotonic() + deadline
        travellers = [
            Traveller(t.reference, t.model_dump(exclude_none=True, exclude={"reference"}))
            for t in body.travellers
        ]
        values = [leaf for t in travellers for leaf in _leaves(t.probe)]
        screening = await run(lambda: service.screen(client, travellers), values, ends)
        return ScreeningAnswer(
            screening=screening.id,
            complete=screening.complete,
            travellers=[
                TravellerOutcome(
                    reference=t.reference, outcome=t.outcome.value, referral=t.referral
                )
                for t in screening.travellers
            ],
        )

    _referral_routes(app, service, role(Role.OFFICER), deadline)
    _answer_problems(app)
    app.add_middleware(_Guard, max_body=MAX_BODY_BYTES)
    return app


def _referral_routes(
    app: FastAPI, service: DeskService, officer: Callable[..., DeskClient], deadline: float
) -> None:
    """`GET /v1/referrals` and `GET /v1/referrals/{id}`, for officer clients."""

    @app.get("/v1/referrals", response_model=ReferralList, tags=["referrals"])
    async def referrals(
        _: Annotated[DeskClient, Depends(officer)],
        state: Literal["open", "closed"] | None = None,
    ) -> ReferralList:
        """Every referral, newest first; only those in `state` when given (officer clients)."""
        chosen = None if state is None else ReferralState(state)
        found = await _run(
            lambda: service.referrals.list(chosen), (), time.monotonic() + deadline, deadline
        )
        return ReferralList(referrals=[_referral_model(referral) for referral in found])

    @app.get("/v1/referrals/{referral_id}", response_model=ReferralModel, tags=["referrals"])
    async def referral(
        referral_id: str,
        _: Annotated[DeskClient, Depends(officer)],
    ) -> ReferralModel:
        """One referral: the traveller, and each member and dataset that hit (officer clients)."""
        try:
            found = await _run(
                lambda: service.referrals.get(referral_id),
                (),
                time.monotonic() + deadline,
                deadline,
            )
        except _ProblemError as problem:
            if problem.problem.status == 422:
                raise _ProblemError(
                    404, "not-found", "Not found", f"no referral {referral_id}"
                ) from None
            raise
        return _referral_model(found)


_HTTP_PROBLEMS: Final = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("body-too-large", "Body too large"),
}


def _answer_problems(app: FastAPI) -> None:
    """Answer every error as a problem (RFC 9457): the desk's own, validation, routing."""

    @app.exception_handler(_ProblemError)
    async def problem(_: Request, error: Exception) -> Response:
        assert isinstance(error, _ProblemError)
        return _problem_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return _problem_response(_validation_problem(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        slug, title = _HTTP_PROBLEMS.get(error.status_code, ("http-error", "HTTP error"))
        return _problem_response(
            _ProblemError(error.status_code, slug, title, str(error.detail), error.headers or {})
        )


async def _run(call: Callable[[], _T], values: Sequence[str], ends: float, deadline: float) -> _T:
    """`call` in a worker thread; a problem if it fails or is not done by `ends`."""
    try:
        with anyio.fail_after(max(0.0, ends - time.monotonic())):
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
    except TimeoutError:
        raise _ProblemError(
            504, "deadline-exceeded", "Deadline exceeded",
            f"the check took longer than its {deadline:g} seconds",
        ) from None  # fmt: skip
    except BlindhitError as error:
        raise _problem_of(error, values) from None


async def _lines(
    first: MemberAnswer | None,
    answers: Iterator[MemberAnswer],
    values: Sequence[str],
    ends: float,
    deadline: float,
) -> AsyncIterator[bytes]:
    """The streamed answer: a line per member, and a problem line if the check fails later."""
    answer = first
    seen: list[str] = []
    while answer is not None:
        seen.append(answer.member)
        yield _member_model(answer).model_dump_json().encode() + b"\n"
        try:
            answer = await _run(lambda: next(answers, None), values, ends, deadline)
        except _ProblemError as error:
            problem = error.problem
            if problem.status == 504:
                problem = problem.model_copy(
                    update={
                        "detail": _one_line(
                            f"{problem.detail}; answered: {', '.join(seen) or 'none'}"
                        )
                    }
                )
            yield problem.model_dump_json().encode() + b"\n"
            return


def _validation_problem(error: RequestValidationError) -> _ProblemError:
    errors = list(error.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return _ProblemError(400, "malformed-json", "Malformed JSON", "the body is not valid JSON")
    first = errors[0] if errors else {}
    # The location names keys and positions only; the value that failed is never repeated.
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    path = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in location).lstrip(".")
    message = str(first.get("msg", "invalid"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return _ProblemError(
        422, "invalid-request", "Invalid request", f"{path or 'body'}: {message}{more}"
    )


class _BodyTooLarge(StarletteHTTPException):
    """The body grew past the limit as it arrived (no Content-Length said so before).

    An HTTP exception, because FastAPI answers any other exception met while it reads a body
    as a 400; this one it passes on, and `_answer_problems` answers it as a 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than {limit} bytes")


class _Guard:
    """The outermost layer of the app: body size limit, one log line per request, no tracebacks.

    Logs method, path, status, client id and seconds, never a body, a query or a header.
    """

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self._app = app
        self._max_body = max_body

    def _too_large(self) -> _ProblemError:
        return _ProblemError(
            413,
            "body-too-large",
            "Body too large",
            f"the body is larger than {self._max_body} bytes",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        scope.setdefault("state", {})
        started = time.monotonic()
        status = {"code": 0}
        length = _content_length(scope)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        received = 0

        async def receiving() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._max_body:
                    raise _BodyTooLarge(self._max_body)
            return message

        try:
            if length is None or length <= self._max_body:
                await self._app(scope, receiving, sending)
            else:
                await _send_problem(sending, self._too_large())
        except _BodyTooLarge:
            if status["code"] == 0:
                await _send_problem(sending, self._too_large())
        except Exception as error:
            # Neither the message nor a traceback: they may hold what the request held.
            _log.error("%s %s: %s", scope["method"], scope["path"], type(error).__name__)
            if status["code"] == 0:
                await _send_problem(
                    sending,
                    _ProblemError(500, "internal-error", "Internal error", "the request failed"),
                )
        client = scope["state"].get("desk_client", "-")
        _log.info(
            "%s %s %d client=%s %.3fs",
            scope["method"], scope["path"], status["code"], client, time.monotonic() - started,
        )  # fmt: skip


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_problem(send: Send, error: _ProblemError) -> None:
    body = error.problem.model_dump_json().encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": error.problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- the listener ---------------------------------------------------------------------------------


def desk_ssl_context(key: Path, certificate: Path, passphrase: bytes) -> ssl.SSLContext:
    """A TLS server context with the node's key (decrypted in memory) and certificate chain.

    No client certificate is asked for: the desk's clients are known by their tokens.

    Raises:
        InputError: the key or certificate cannot be loaded (a wrong passphrase, say).
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_NONE
    try:
        context.load_cert_chain(certificate, key, password=passphrase)
    except (OSError, ssl.SSLError) as error:
        raise InputError(f"{key}, {certificate}: cannot load the desk's TLS key: {error}") from None
    return context


class _HandshakeBoundLoop(asyncio.SelectorEventLoop):
    """An event loop whose servers close a connection that has not finished its TLS handshake
    within `HANDSHAKE_TIMEOUT_SECONDS` (asyncio's default is a minute, and uvicorn sets none)."""

    async def create_server(
        self,
        *args: Any,  # noqa: ANN401 (passed through to asyncio unchanged)
        **kwargs: Any,  # noqa: ANN401
    ) -> asyncio.Server:
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_handshake_timeout", HANDSHAKE_TIMEOUT_SECONDS)
        return await super().create_server(*args, **kwargs)


class _IdleBoundH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with no access log, and the keep-alive timer armed from the
    connection's start, so that a connection that never sends a request is closed like an idle
    one."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn logs access whenever its access logger has a handler, which the root logger's
        # count as; the desk logs its own line per request instead (`_Guard`).
        self.access_log = False
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )


@dataclass
class DeskServer:
    """uvicorn serving an app on a bound socket, in a thread of its own (module docstring)."""

    app: ASGIApp
    host: str
    port: int
    tls: ssl.SSLContext
    _server: Server | None = None
    _thread: threading.Thread | None = None
    _socket: socket.socket | None = None

    def start(self) -> int:
        """Bind and serve; return the port bound (the one asked for, or a free one for 0).

        Raises:
            InputError: the address cannot be bound.
        """
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise InputError(
                f"desk listen: cannot bind {self.host}:{self.port}: {error.strerror}"
            ) from None
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock
        tls = self.tls
        config = Config(
            self.app,
            http=_IdleBoundH11,
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=5,
            ssl_context_factory=lambda _config, _default: tls,
        )
        server = Server(config)
        self._server = server
        thread = threading.Thread(target=self._serve, args=(server, sock), name="desk-http")
        thread.start()
        self._thread = thread
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            self.stop()
            raise InputError(f"desk listen: the desk did not start on {self.host}:{self.port}")
        bound: int = sock.getsockname()[1]
        return bound

    @staticmethod
    def _serve(server: Server, sock: socket.socket) -> None:
        with asyncio.Runner(loop_factory=_HandshakeBoundLoop) as runner:
            runner.run(server.serve(sockets=[sock]))

    def stop(self) -> None:
        """Stop taking connections, let requests in flight finish, and close the socket."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        if self._socket is not None:
            self._socket.close()


@dataclass
class RunningDesk:
    """The desk of a node, serving: its checks, its stores, its listener."""

    service: DeskService
    server: DeskServer
    port: int
    grpc_server: grpc.Server | None = None
    grpc_port: int = 0
    grpc_host: str | None = None

    @property
    def address(self) -> str:
        """HOST:PORT the desk listens on, the port the one bound."""
        host = self.server.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def grpc_address(self) -> str | None:
        """HOST:PORT the desk's gRPC API listens on, when it does."""
        if self.grpc_server is None:
            return None
        host = self.grpc_host or self.server.host
        return f"[{host}]:{self.grpc_port}" if ":" in host else f"{host}:{self.grpc_port}"

    def reconfigure(self, runtime: NodeRuntime) -> None:
        """Check the peers of `runtime` now, over its current querier (a newer directory)."""
        self.service.desk.reconfigure(runtime.config.peers, runtime.querier())

    def stop(self) -> None:
        """Stop the listeners (requests in flight finish), then the checks, then the stores."""
        if self.grpc_server is not None:
            self.grpc_server.stop(5.0).wait()
        self.server.stop()
        self.service.desk.close()
        self.service.clients.close()
        self.service.referrals.close()


def start_desk(
    runtime: NodeRuntime, settings: DeskSettings, *, deadline_seconds: float | None = None
) -> RunningDesk:
    """Start the desk of `runtime` as `settings` say: the listener, then the background syncs.

    A check answers within `deadline_seconds` (default: `limits.deadline_seconds` and
    `DEADLINE_MARGIN_SECONDS`).

    Raises:
        InputError: the TLS key cannot be loaded or the address cannot be bound.
    """
    config = runtime.config
    layout = NodeLayout(config.directory)
    # One line per request is the desk's access log: shown where the node's warnings are,
    # unless the operator's logging configuration says otherwise.
    if _log.level == logging.NOTSET:
        _log.setLevel(logging.INFO)
    tls = desk_ssl_context(layout.tls_key, layout.tls_certificate, runtime.passphrase)
    desk = CheckDesk(
        runtime.querier(),
        config.peers,
        config.node.id,
        sync_interval=settings.sync_interval,
        max_index_age=settings.max_index_age,
    )
    clients = ClientStore(config.node.database)
    referrals = ReferralStore(config.node.database)
    service = DeskService(desk, clients, referrals, runtime.audit, config.node.id)
    if deadline_seconds is None:
        deadline_seconds = config.limits.deadline_seconds + DEADLINE_MARGIN_SECONDS
    app = create_app(service, deadline_seconds=deadline_seconds)
    server = DeskServer(app, settings.listen.host, settings.listen.port, tls)
    try:
        port = server.start()
    except BaseException:
        desk.close()
        clients.close()
        referrals.close()
        raise
    running = RunningDesk(service, server, port)
    if settings.grpc_listen is not None:
        try:
            grpc_server, grpc_port = create_checks_server(
                service, runtime.tls, host=settings.grpc_listen.host, port=settings.grpc_listen.port
            )
        except BaseException:
            running.stop()
            raise
        grpc_server.start()
        running.grpc_server, running.grpc_port = grpc_server, grpc_port
        running.grpc_host = settings.grpc_listen.host
    desk.start()
    return running


def serve_desk(
    node_dir: Path,
    *,
    port: int | None = None,
    checkpoint_interval: float = 1.0,
    out: TextIO = sys.stdout,
) -> None:
    """Serve the desk of the node in `node_dir` alone (a node that only asks), until a signal.

    Prints `<node> desk listening on HOST:PORT`; keeps the federation's directory current as
    `blindhit serve` does, and signs checkpoints of the audit log its checks append to.

    Raises:
        InputError: node.toml has no `[desk]`, or the desk cannot start.
    """
    with stop_on_signals() as stop, NodeRuntime.open(node_dir) as runtime:
        settings = runtime.config.desk
        if settings is None:
            raise InputError(
                f"{NodeLayout(runtime.config.directory).config}: no [desk] table; add one "
                '(e.g. [desk] listen = "127.0.0.1:7480") to serve the check desk'
            )
        if port is not None:
            settings = replace(settings, listen=HostPort(settings.listen.host, port))
        membership = runtime.membership
        if membership is not None:
            try:
                runtime.refresh_membership()
            except BlindhitError as error:
                _log.warning("federation directory not refreshed at start: %s", error)
        running = start_desk(runtime, settings)
        timer = CheckpointTimer(runtime.checkpoints, checkpoint_interval)
        timer.start()
        try:
            print(f"{runtime.config.node.id} desk listening on {running.address}", file=out)
            out.flush()
            next_refresh = time.monotonic()
            while not stop.wait(0.2):
                if membership is None or time.monotonic() < next_refresh:
                    continue
                try:
                    if runtime.refresh_membership():
                        running.reconfigure(runtime)
                    membership.witness(runtime.audit, runtime.checkpoints)
                except BlindhitError as error:
                    _log.warning("federation: %s", error)
                next_refresh = time.monotonic() + membership.refresh_interval()
        finally:
            running.stop()
            timer.stop()
            runtime.checkpoints.issue()
