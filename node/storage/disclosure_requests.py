"""Storage of disclosure requests, on both sides, in the node's database (tables `dr_`).

- `dr_received`: requests this node received as an owner: who asked, about which of its records
  (resolved from the match references when the request arrived), why, by when; then the decision
  (who, when, automatic or not, what was approved with which handling codes and expiry, or why it
  was denied), the release sealed to the querier's key, when it was logged and delivered. The
  justification text and the release live here and nowhere else: the audit log gets codes and
  digests only. `(peer, check_entry_index)` is unique: one answered check backs one request, so a
  replayed reference gets nothing.
- `dr_sent`: requests this node filed as a querier, and what came back (the state, the sealed
  release as received, the owner's signed answer).
- `dr_hits`: the match references this node's checks produced, with the owner's audit entry of
  the check, so an officer files a request by quoting a reference alone.

A decision is one transaction (`record_decision`): the state moves from pending only once, so two
officers deciding at the same moment cannot both win. It is committed with `decision_logged`
unset, then logged in the audit log, then marked; a crash in between leaves a decision that the
next `serve` or `requests` command logs first (`unlogged_decisions`), as for dataset epochs. The
sealed release is stored with the decision, so delivery (the querier's fetch) needs nothing but
this row, and resumes after any crash.

Connections are opened with `check_same_thread=False` and every statement runs under the store's
lock, because the gRPC service calls in from many threads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, TypeVar

from crypto.errors import InputError, StorageError
from node.storage.schema import NODE_SCHEMA
from node.storage.sqlite import Store
from node.storage.times import format_time, parse_time
from protocol.disclosure import (
    DenyReason,
    Handling,
    HandlingCode,
    InvalidTransition,
    RequestState,
    Urgency,
)

__all__ = [
    "Decision",
    "DisclosureStore",
    "ReceivedRequest",
    "SentRequest",
    "StoredHit",
]

REFERENCE_BYTES: Final = 32
_T = TypeVar("_T")


def _time(value: datetime) -> str:
    return format_time(value)


def _parse_time(value: object) -> datetime:
    return parse_time(str(value))


def _optional_time(value: object) -> datetime | None:
    return None if value is None else _parse_time(value)


def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise StorageError(f"expected a BLOB in the disclosure tables, got {type(value).__name__}")
    return value


def _split_references(data: bytes) -> tuple[bytes, ...]:
    return tuple(data[i : i + REFERENCE_BYTES] for i in range(0, len(data), REFERENCE_BYTES))


@dataclass(frozen=True)
class Decision:
    """An owner's decision on a request, as stored and shown."""

    state: RequestState
    decided_at: datetime
    decided_by: str
    automatic: bool
    approved_fields: tuple[str, ...] = ()
    handling: tuple[Handling, ...] = ()
    expires_at: datetime | None = None
    contact: str = ""
    deny_reason: DenyReason | None = None
    deny_text: str = ""


@dataclass(frozen=True)
class ReceivedRequest:
    """A request this node received as an owner."""

    request_id: bytes
    peer: str
    dataset: str
    received_at: datetime
    due_at: datetime
    urgency: Urgency
    officer: str
    purpose: str
    legal_basis: str
    case_reference: str
    justification: str
    requested_fields: tuple[str, ...]
    references: tuple[bytes, ...]
    records: tuple[str, ...]
    check_entry_index: int
    recipient_key: bytes
    request_digest: bytes
    state: RequestState
    decision: Decision | None
    sealed_release: bytes | None
    decision_logged: bool
    delivered_at: datetime | None
    deliveries: int

    def current_state(self, now: datetime) -> RequestState:
        """The state, with an approval past its expiry shown as expired."""
        expires = self.decision.expires_at if self.decision else None
        if self.state.decided and expires is not None and now >= expires:
            return RequestState.EXPIRED
        return self.state

    def overdue(self, now: datetime) -> bool:
        return self.state is RequestState.PENDING and now > self.due_at


@dataclass(frozen=True)
class SentRequest:
    """A request this node filed as a querier, and what it knows of the answer."""

    request_id: bytes
    peer: str
    dataset: str
    filed_at: datetime
    due_at: datetime
    urgency: Urgency
    officer: str
    case_reference: str
    references: tuple[bytes, ...]
    requested_fields: tuple[str, ...]
    state: RequestState
    deny_reason: str | None
    deny_text: str | None
    sealed_release: bytes | None
    expires_at: datetime | None
    fetched_at: datetime | None
    owner_answer: bytes | None


@dataclass(frozen=True)
class StoredHit:
    """A match reference one of this node's checks got, and the owner's entry of that check."""

    peer: str
    dataset: str
    reference: bytes
    check_entry_index: int
    checked_at: datetime
    case_reference: str


_RECEIVED_COLUMNS: Final = (
    "request_id, peer, dataset, received_at, due_at, urgency, officer, purpose, legal_basis, "
    "case_reference, justification, requested_fields, match_references, records, "
    "check_entry_index, recipient_key, request_digest, state, decided_at, decided_by, automatic, "
    "approved_fields, handling, expires_at, contact, deny_reason, deny_text, sealed_release, "
    "decision_logged, delivered_at, deliveries"
)
_SENT_COLUMNS: Final = (
    "request_id, peer, dataset, filed_at, due_at, urgency, officer, case_reference, "
    "match_references, requested_fields, state, deny_reason, deny_text, sealed_release, "
    "expires_at, fetched_at, owner_answer"
)


def _received(row: Sequence[object]) -> ReceivedRequest:
    (request_id, peer, dataset, received_at, due, urgency, officer, purpose, legal_basis,
     case_reference, justification, requested, references, records, entry, recipient, digest,
     state, decided_at, decided_by, automatic, approved, handling, expires_at, contact,
     deny_reason, deny_text, sealed, logged, delivered_at, deliveries) = row  # fmt: skip
    decision = None
    if decided_at is not None:
        decision = Decision(
            state=RequestState(str(state)),
            decided_at=_parse_time(decided_at),
            decided_by=str(decided_by),
            automatic=bool(automatic),
            approved_fields=tuple(json.loads(str(approved or "[]"))),
            handling=tuple(
                Handling(HandlingCode(h["code"]), h["text"])
                for h in json.loads(str(handling or "[]"))
            ),
            expires_at=_optional_time(expires_at),
            contact=str(contact or ""),
            deny_reason=None if deny_reason is None else DenyReason(str(deny_reason)),
            deny_text=str(deny_text or ""),
        )
    return ReceivedRequest(
        request_id=_bytes(request_id),
        peer=str(peer),
        dataset=str(dataset),
        received_at=_parse_time(received_at),
        due_at=_parse_time(due),
        urgency=Urgency(str(urgency)),
        officer=str(officer),
        purpose=str(purpose),
        legal_basis=str(legal_basis),
        case_reference=str(case_reference),
        justification=str(justification),
        requested_fields=tuple(json.loads(str(requested))),
        references=_split_references(_bytes(references)),
        records=tuple(json.loads(str(records))),
        check_entry_index=int(str(entry)),
        recipient_key=_bytes(recipient),
        request_digest=_bytes(digest),
        state=RequestState(str(state)),
        decision=decision,
        sealed_release=None if sealed is None else _bytes(sealed),
        decision_logged=bool(logged),
        delivered_at=_optional_time(delivered_at),
        deliveries=int(str(deliveries)),
    )


def _sent(row: Sequence[object]) -> SentRequest:
    (request_id, peer, dataset, filed_at, due, urgency, officer, case_reference, references,
     requested, state, deny_reason, deny_text, sealed, expires_at, fetched_at,
     answer) = row  # fmt: skip
    return SentRequest(
        request_id=_bytes(request_id),
        peer=str(peer),
        dataset=str(dataset),
        filed_at=_parse_time(filed_at),
        due_at=_parse_time(due),
        urgency=Urgency(str(urgency)),
        officer=str(officer),
        case_reference=str(case_reference),
        references=_split_references(_bytes(references)),
        requested_fields=tuple(json.loads(str(requested))),
        state=RequestState(str(state)),
        deny_reason=None if deny_reason is None else str(deny_reason),
        deny_text=None if deny_text is None else str(deny_text),
        sealed_release=None if sealed is None else _bytes(sealed),
        expires_at=_optional_time(expires_at),
        fetched_at=_optional_time(fetched_at),
        owner_answer=None if answer is None else _bytes(answer),
    )


class DisclosureStore(Store):
    """The disclosure tables of one node database; safe to share between threads.

    `read_only` opens the file without writing (for monitoring beside a running node).
    """

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        # The tables are `dr_` of `node.storage.schema`; what a request carries is personal
        # data, so deleted content is overwritten in the file.
        super().__init__(path, NODE_SCHEMA, read_only=read_only, secure_delete=True)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with self.transaction() as connection:
                yield connection
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write the disclosure tables: {exc}") from exc

    def _rows(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self.read() as connection:
            try:
                rows: list[tuple[object, ...]] = connection.execute(sql, parameters).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"cannot read the disclosure tables: {exc}") from exc
        return rows

    # -- owner side ------------------------------------------------------------------------------

    def add_received(self, request: ReceivedRequest) -> None:
        """Store a request as it arrived (pending).

        Raises:
            InputError: the request id, or the check entry for this peer, was used before.
        """
        try:
            with self._transaction() as connection:
                connection.execute(
                    f"INSERT INTO dr_received ({_RECEIVED_COLUMNS}) VALUES "  # noqa: S608
                    f"({', '.join('?' * 31)})",
                    (
                        request.request_id, request.peer, request.dataset,
                        _time(request.received_at), _time(request.due_at), request.urgency.value,
                        request.officer, request.purpose, request.legal_basis,
                        request.case_reference, request.justification,
                        json.dumps(list(request.requested_fields)),
                        b"".join(request.references), json.dumps(list(request.records)),
                        request.check_entry_index, request.recipient_key, request.request_digest,
                        RequestState.PENDING.value, None, None, None, None, None, None, None,
                        None, None, None, 0, None, 0,
                    ),
                )  # fmt: skip
        except sqlite3.IntegrityError as error:
            if "request_id" in str(error):
                raise InputError("a disclosure request with this id was received before") from None
            raise InputError(
                "the check this request quotes already backs an earlier disclosure request; "
                "run the check again to request again"
            ) from None

    def check_entry_used(self, peer: str, entry_index: int) -> bool:
        return bool(
            self._rows(
                "SELECT 1 FROM dr_received WHERE peer = ? AND check_entry_index = ?",
                (peer, entry_index),
            )
        )

    def received(self, request_id: bytes) -> ReceivedRequest | None:
        rows = self._rows(
            f"SELECT {_RECEIVED_COLUMNS} FROM dr_received WHERE request_id = ?",  # noqa: S608
            (request_id,),
        )
        return _received(rows[0]) if rows else None

    def find_received(self, prefix: str) -> ReceivedRequest:
        """The request whose id (hex) starts with `prefix` (at least 8 hex digits)."""
        return _unique(self.list_received(), prefix, lambda r: r.request_id)

    def list_received(self) -> list[ReceivedRequest]:
        rows = self._rows(
            f"SELECT {_RECEIVED_COLUMNS} FROM dr_received ORDER BY received_at"  # noqa: S608
        )
        return [_received(row) for row in rows]

    def record_decision(
        self, request_id: bytes, decision: Decision, sealed_release: bytes | None
    ) -> None:
        """Decide a pending request, with its sealed release; refuses a second decision."""
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE dr_received SET state = ?, decided_at = ?, decided_by = ?, "
                "automatic = ?, approved_fields = ?, handling = ?, expires_at = ?, contact = ?, "
                "deny_reason = ?, deny_text = ?, sealed_release = ?, decision_logged = 0 "
                "WHERE request_id = ? AND state = 'pending'",
                (
                    decision.state.value, _time(decision.decided_at), decision.decided_by,
                    int(decision.automatic), json.dumps(list(decision.approved_fields)),
                    json.dumps([h.to_json() for h in decision.handling]),
                    None if decision.expires_at is None else _time(decision.expires_at),
                    decision.contact,
                    None if decision.deny_reason is None else decision.deny_reason.value,
                    decision.deny_text, sealed_release, request_id,
                ),
            )  # fmt: skip
            if cursor.rowcount != 1:
                row = connection.execute(
                    "SELECT state, decided_by, decided_at FROM dr_received WHERE request_id = ?",
                    (request_id,),
                ).fetchone()
                if row is None:
                    raise InputError(f"no disclosure request {request_id.hex()}")
                raise InvalidTransition(
                    f"request {request_id.hex()[:12]} is already decided: {row[0]} by {row[1]} "
                    f"at {str(row[2])[:19]}Z"
                )

    def mark_decision_logged(self, request_id: bytes) -> None:
        with self._transaction() as connection:
            connection.execute(
                "UPDATE dr_received SET decision_logged = 1 WHERE request_id = ?", (request_id,)
            )

    def unlogged_decisions(self) -> list[ReceivedRequest]:
        rows = self._rows(
            f"SELECT {_RECEIVED_COLUMNS} FROM dr_received "  # noqa: S608
            "WHERE state != 'pending' AND decision_logged = 0 ORDER BY decided_at"
        )
        return [_received(row) for row in rows]

    def mark_delivered(self, request_id: bytes, at: datetime) -> None:
        with self._transaction() as connection:
            connection.execute(
                "UPDATE dr_received SET deliveries = deliveries + 1, "
                "delivered_at = COALESCE(delivered_at, ?) WHERE request_id = ?",
                (_time(at), request_id),
            )

    # -- querier side ----------------------------------------------------------------------------

    def add_sent(self, request: SentRequest) -> None:
        with self._transaction() as connection:
            connection.execute(
                f"INSERT INTO dr_sent ({_SENT_COLUMNS}) VALUES ({', '.join('?' * 17)})",  # noqa: S608
                (
                    request.request_id, request.peer, request.dataset, _time(request.filed_at),
                    _time(request.due_at), request.urgency.value, request.officer,
                    request.case_reference, b"".join(request.references),
                    json.dumps(list(request.requested_fields)), request.state.value,
                    request.deny_reason, request.deny_text, request.sealed_release,
                    None if request.expires_at is None else _time(request.expires_at),
                    None if request.fetched_at is None else _time(request.fetched_at),
                    request.owner_answer,
                ),
            )  # fmt: skip

    def update_sent(
        self,
        request_id: bytes,
        *,
        state: RequestState,
        fetched_at: datetime,
        owner_answer: bytes,
        sealed_release: bytes | None = None,
        expires_at: datetime | None = None,
        deny_reason: str | None = None,
        deny_text: str | None = None,
    ) -> None:
        with self._transaction() as connection:
            connection.execute(
                "UPDATE dr_sent SET state = ?, fetched_at = ?, owner_answer = ?, "
                "sealed_release = COALESCE(?, sealed_release), "
                "expires_at = COALESCE(?, expires_at), deny_reason = ?, deny_text = ? "
                "WHERE request_id = ?",
                (
                    state.value, _time(fetched_at), owner_answer, sealed_release,
                    None if expires_at is None else _time(expires_at), deny_reason, deny_text,
                    request_id,
                ),
            )  # fmt: skip

    def sent(self, request_id: bytes) -> SentRequest | None:
        rows = self._rows(
            f"SELECT {_SENT_COLUMNS} FROM dr_sent WHERE request_id = ?",  # noqa: S608
            (request_id,),
        )
        return _sent(rows[0]) if rows else None

    def find_sent(self, prefix: str) -> SentRequest:
        """The sent request whose id (hex) starts with `prefix` (at least 8 hex digits)."""
        return _unique(self.list_sent(), prefix, lambda r: r.request_id)

    def list_sent(self) -> list[SentRequest]:
        rows = self._rows(f"SELECT {_SENT_COLUMNS} FROM dr_sent ORDER BY filed_at")  # noqa: S608
        return [_sent(row) for row in rows]

    def add_hits(self, hits: Sequence[StoredHit]) -> None:
        with self._transaction() as connection:
            connection.executemany(
                "INSERT OR IGNORE INTO dr_hits (peer, dataset, reference, check_entry_index, "
                "checked_at, case_reference) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (h.peer, h.dataset, h.reference, h.check_entry_index, _time(h.checked_at),
                     h.case_reference)
                    for h in hits
                ],
            )  # fmt: skip

    def hits_for(self, reference: bytes) -> list[StoredHit]:
        """The checks that produced `reference`, newest first."""
        rows = self._rows(
            "SELECT peer, dataset, reference, check_entry_index, checked_at, case_reference "
            "FROM dr_hits WHERE reference = ? ORDER BY checked_at DESC",
            (reference,),
        )
        return [
            StoredHit(str(p), str(d), _bytes(r), int(str(i)), _parse_time(t), str(c))
            for p, d, r, i, t, c in rows
        ]


def _unique(items: Sequence[_T], prefix: str, key: Callable[[_T], bytes]) -> _T:
    text = prefix.strip().lower()
    if len(text) < 8 or any(c not in "0123456789abcdef" for c in text):
        raise InputError(f"{prefix!r} is not a request id: give at least 8 hex digits")
    found = [item for item in items if key(item).hex().startswith(text)]
    if not found:
        raise InputError(f"no disclosure request {text}")
    if len(found) > 1:
        raise InputError(f"{text} names {len(found)} requests: give more digits")
    return found[0]
