"""`blindhit requests`: disclosure requests, filed as a querier and decided as an owner.

Querier: `file` quotes match references a check got (this node keeps them with the owner's
receipt entry of that check), says why and which fields; `fetch` asks the owner where the request
stands and, once approved, verifies, decrypts and shows the release. Owner: `list` (overdue ones
marked), `show`, `approve` (all or some fields, handling codes, expiry, contact point) and
`deny` (a reason of the fixed list and free text). Every step is logged in this node's audit
log; decisions and releases never enter it, only their codes and digests.

Exit status 0, or 2 with a one-line message for bad input, a refused request or a decision on a
request already decided.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cli.options import DeferredChoices, add_node_argument
from crypto.errors import InputError

if TYPE_CHECKING:
    from node.storage.disclosure_requests import ReceivedRequest, SentRequest
    from protocol.disclosure import Release

__all__ = ["register"]

_DURATION = re.compile(r"(\d{1,4})([dh])")


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "requests",
        help="disclosure requests: file and fetch (querier), list, approve, deny (owner)",
        description="Disclosure requests: from a hit to the record, only when the owner agrees.",
    )
    verbs = parser.add_subparsers(dest="requests_command", metavar="VERB", required=True)

    file = verbs.add_parser("file", help="ask a peer for the record behind a hit")
    add_node_argument(file)
    file.add_argument(
        "--reference", action="append", required=True, metavar="HEX",
        help="a match reference from `blindhit check` (repeatable, same check)",
    )  # fmt: skip
    file.add_argument("--peer", help="the owner, if the reference came from several")
    file.add_argument("--fields", required=True, help="record fields wanted, comma-separated")
    file.add_argument(
        "--urgency",
        choices=DeferredChoices(_urgencies),
        default="standard",
        metavar="URGENCY",
        help="one of %(choices)s (default: %(default)s)",
    )
    file.add_argument("--justification", required=True, help="why, for the deciding officer")
    _add_purpose(file, case_required=True)
    file.add_argument("--json", action="store_true")
    file.set_defaults(handler=_file)

    listing = verbs.add_parser("list", help="requests received and filed, overdue ones marked")
    add_node_argument(listing)
    side = listing.add_mutually_exclusive_group()
    side.add_argument("--received", action="store_true", help="only requests to this node")
    side.add_argument("--sent", action="store_true", help="only requests this node filed")
    listing.add_argument("--overdue", action="store_true", help="only pending, past due")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    show = verbs.add_parser("show", help="one request in full")
    add_node_argument(show)
    show.add_argument("request", metavar="ID", help="request id (at least 8 hex digits)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)

    approve = verbs.add_parser("approve", help="approve all or some requested fields")
    add_node_argument(approve)
    approve.add_argument("request", metavar="ID", help="request id (at least 8 hex digits)")
    approve.add_argument("--fields", help="fields to release, comma-separated (default: all)")
    approve.add_argument(
        "--handling", action="append", required=True, metavar="CODE",
        help="H0 law-enforcement use only, H1 not for court, H2 no onward sharing, H3:<text>",
    )  # fmt: skip
    approve.add_argument(
        "--expires", required=True, metavar="WHEN", help="e.g. 30d, 12h or 2026-12-31"
    )
    approve.add_argument("--contact", required=True, help="contact point for the querier")
    approve.add_argument("--officer", required=True, help="your officer id")
    approve.add_argument("--json", action="store_true")
    approve.set_defaults(handler=_approve)

    deny = verbs.add_parser("deny", help="deny a request, with a reason")
    add_node_argument(deny)
    deny.add_argument("request", metavar="ID", help="request id (at least 8 hex digits)")
    deny.add_argument(
        "--reason",
        required=True,
        choices=DeferredChoices(_deny_reasons),
        metavar="REASON",
        help="one of %(choices)s",
    )
    deny.add_argument("--text", default="", help="free text for the querier")
    deny.add_argument("--officer", required=True, help="your officer id")
    deny.add_argument("--json", action="store_true")
    deny.set_defaults(handler=_deny)

    fetch = verbs.add_parser("fetch", help="fetch the answer to a filed request")
    add_node_argument(fetch)
    fetch.add_argument("request", metavar="ID", help="request id (at least 8 hex digits)")
    _add_purpose(fetch, case_required=False)
    fetch.add_argument("--json", action="store_true")
    fetch.set_defaults(handler=_fetch)


def _urgencies() -> list[str]:
    # Imported when the choices are read, not when the parser is built (see cli.main).
    from protocol.disclosure import Urgency

    return [urgency.value for urgency in Urgency]


def _deny_reasons() -> list[str]:
    # Likewise.
    from protocol.disclosure import DenyReason

    return [reason.value for reason in DenyReason]


def _add_purpose(parser: argparse.ArgumentParser, *, case_required: bool) -> None:
    why = parser.add_argument_group("why (logged by both nodes; codes, no spaces)")
    why.add_argument("--officer", required=True, help="your officer id")
    why.add_argument("--purpose", default="disclosure", help="default: disclosure")
    why.add_argument("--legal-basis", required=True, help="e.g. EU-2016/680:Art.8")
    why.add_argument(
        "--case", required=case_required, help="your case reference (default: the request's)"
    )


def _fields(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _reference(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        raise InputError(f"--reference {text!r}: not hex") from None
    if len(value) != 32:
        raise InputError(f"--reference: expected 64 hex digits, got {len(text.strip())}")
    return value


def _expiry(text: str, now: datetime) -> datetime:
    match = _DURATION.fullmatch(text.strip())
    if match:
        amount = int(match.group(1))
        return now + (timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount))
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InputError(f"--expires {text!r}: expected 30d, 12h or YYYY-MM-DD") from None
    return day + timedelta(days=1)  # to the end of that day, UTC


def _file(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.runtime import NodeRuntime
    from protocol.check import RequestPurpose
    from protocol.disclosure import Urgency

    references = [_reference(text) for text in args.reference]
    purpose = RequestPurpose(args.officer, args.purpose, args.legal_basis, args.case)
    with NodeRuntime.open(args.node) as node:
        filed = node.querier_desk().file(
            references,
            fields=_fields(args.fields),
            urgency=Urgency(args.urgency),
            justification=args.justification,
            purpose=purpose,
            peer=args.peer,
        )
    if args.json:
        print(json.dumps(_sent_json(filed, None), indent=2, ensure_ascii=False))
    else:
        print(f"filed request {filed.request_id.hex()} with {filed.peer} ({filed.dataset})")
        print(f"  state {filed.state.value}, due {_when(filed.due_at)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.runtime import NodeRuntime
    from protocol.disclosure import RequestState

    now = datetime.now(UTC)
    with NodeRuntime.open(args.node) as node:
        received = [] if args.sent else node.disclosures.list_received()
        sent = [] if args.received else node.disclosures.list_sent()
    if args.overdue:
        received = [r for r in received if r.overdue(now)]
        sent = [s for s in sent if s.state is RequestState.PENDING and now > s.due_at]
    if args.json:
        print(json.dumps({
            "received": [_received_json(r, now) for r in received],
            "sent": [_sent_json(s, None) for s in sent],
        }, indent=2, ensure_ascii=False))  # fmt: skip
        return 0
    if not args.sent:
        overdue = sum(r.overdue(now) for r in received)
        print(f"Received ({len(received)}, {overdue} overdue)")
        for r in received:
            flag = "OVERDUE " if r.overdue(now) else ""
            print(
                f"  {r.request_id.hex()[:12]}  {flag}{r.current_state(now).value:<16} "
                f"{r.urgency.value:<8} from {r.peer:<12} {r.dataset:<12} due {_when(r.due_at)}  "
                f"case {r.case_reference}"
            )
    if not args.received:
        print(f"Sent ({len(sent)})")
        for s in sent:
            print(
                f"  {s.request_id.hex()[:12]}  {s.state.value:<16} {s.urgency.value:<8} "
                f"to {s.peer:<12} {s.dataset:<12} due {_when(s.due_at)}  case {s.case_reference}"
            )
    return 0


def _show(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.runtime import NodeRuntime

    now = datetime.now(UTC)
    with NodeRuntime.open(args.node) as node:
        received = _maybe(lambda: node.disclosures.find_received(args.request))
        if received is not None:
            report = _received_json(received, now)
            report["justification"] = received.justification
        else:
            sent = node.disclosures.find_sent(args.request)
            release = node.querier_desk().open_stored(sent)
            report = _sent_json(sent, release)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_mapping(report)
    return 0


def _maybe(find: Any) -> ReceivedRequest | None:  # noqa: ANN401 (a zero-argument lookup)
    try:
        found: ReceivedRequest = find()
    except InputError:
        return None
    return found


def _approve(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.runtime import NodeRuntime
    from protocol.disclosure import Handling

    now = datetime.now(UTC)
    handling = [Handling.parse(text) for text in args.handling]
    with NodeRuntime.open(args.node) as node:
        request = node.disclosures.find_received(args.request)
        fields = _fields(args.fields) if args.fields else list(request.requested_fields)
        decided = node.owner_desk().approve(
            request.request_id,
            fields=fields,
            handling=handling,
            expires_at=_expiry(args.expires, now),
            contact=args.contact,
            officer=args.officer,
        )
    return _print_decision(decided, args.json, now)


def _deny(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.runtime import NodeRuntime
    from protocol.disclosure import DenyReason

    now = datetime.now(UTC)
    with NodeRuntime.open(args.node) as node:
        request = node.disclosures.find_received(args.request)
        decided = node.owner_desk().deny(
            request.request_id, reason=DenyReason(args.reason), text=args.text, officer=args.officer
        )
    return _print_decision(decided, args.json, now)


def _print_decision(decided: ReceivedRequest, as_json: bool, now: datetime) -> int:
    if as_json:
        print(json.dumps(_received_json(decided, now), indent=2, ensure_ascii=False))
        return 0
    decision = decided.decision
    assert decision is not None
    print(f"request {decided.request_id.hex()[:12]} {decided.state.value} by {decision.decided_by}")
    if decision.approved_fields:
        print(f"  fields   {', '.join(decision.approved_fields)}")
        print(f"  handling {'; '.join(h.describe() for h in decision.handling)}")
        print(f"  expires  {_when(decision.expires_at)}")
    if decision.deny_reason is not None:
        print(f"  reason   {decision.deny_reason.value} {decision.deny_text}".rstrip())
    print("  the querier gets it with its next `blindhit requests fetch`")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.runtime import NodeRuntime
    from protocol.check import RequestPurpose
    from protocol.disclosure import RequestState

    with NodeRuntime.open(args.node) as node:
        sent = node.disclosures.find_sent(args.request)
        purpose = RequestPurpose(
            args.officer, args.purpose, args.legal_basis, args.case or sent.case_reference
        )
        outcome = node.querier_desk().fetch(sent.request_id, purpose)
    report = _sent_json(outcome.request, outcome.release)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    request = outcome.request
    print(f"request {request.request_id.hex()[:12]} to {request.peer}: {request.state.value}")
    if request.state is RequestState.PENDING:
        print(f"  not decided yet; due {_when(request.due_at)}")
    if request.deny_reason:
        print(f"  denied: {request.deny_reason} {request.deny_text or ''}".rstrip())
    if outcome.release is not None:
        _print_release(outcome.release)
    return 0


def _print_release(release: Release) -> None:
    how = f"{release.decided_by}, automatic" if release.automatic else release.decided_by
    print(f"  released by {release.owner} ({how}) at {_when(release.decided_at)}")
    print(f"  handling   {'; '.join(h.describe() for h in release.handling)}")
    print(f"  expires    {_when(release.expires_at)}")
    print(f"  contact    {release.contact}")
    for number, record in enumerate(release.records, start=1):
        print(f"  record {number}")
        for name, value in record.fields.items():
            print(f"    {name:<26} {value}")
        for name, value in record.metadata.items():
            print(f"    {name:<26} {value}")


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _received_json(r: ReceivedRequest, now: datetime) -> dict[str, Any]:
    decision = r.decision
    return {
        "request_id": r.request_id.hex(),
        "direction": "received",
        "peer": r.peer,
        "dataset": r.dataset,
        "state": r.current_state(now).value,
        "overdue": r.overdue(now),
        "urgency": r.urgency.value,
        "received_at": r.received_at.isoformat(),
        "due_at": r.due_at.isoformat(),
        "officer": r.officer,
        "purpose": r.purpose,
        "legal_basis": r.legal_basis,
        "case_reference": r.case_reference,
        "requested_fields": list(r.requested_fields),
        "records": list(r.records),
        "decision": None
        if decision is None
        else {
            "decided_by": decision.decided_by,
            "decided_at": decision.decided_at.isoformat(),
            "automatic": decision.automatic,
            "approved_fields": list(decision.approved_fields),
            "handling": [h.to_json() for h in decision.handling],
            "expires_at": None if decision.expires_at is None else decision.expires_at.isoformat(),
            "contact": decision.contact,
            "deny_reason": None if decision.deny_reason is None else decision.deny_reason.value,
            "deny_text": decision.deny_text,
        },
        "deliveries": r.deliveries,
    }


def _sent_json(s: SentRequest, release: Release | None) -> dict[str, Any]:
    return {
        "request_id": s.request_id.hex(),
        "direction": "sent",
        "peer": s.peer,
        "dataset": s.dataset,
        "state": s.state.value,
        "urgency": s.urgency.value,
        "filed_at": s.filed_at.isoformat(),
        "due_at": s.due_at.isoformat(),
        "case_reference": s.case_reference,
        "requested_fields": list(s.requested_fields),
        "deny_reason": s.deny_reason,
        "deny_text": s.deny_text,
        "expires_at": None if s.expires_at is None else s.expires_at.isoformat(),
        "release": None if release is None else release.to_json(),
    }


def _print_mapping(report: dict[str, Any], indent: str = "") -> None:
    for key, value in report.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_mapping(value, indent + "  ")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{indent}{key}:")
            for item in value:
                _print_mapping(item, indent + "  - ")
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            print(f"{indent}{key:<18} {shown}")
