"""Disclosure end to end, between two node processes run from the command line (conftest.py).

check -> hit -> request -> partial approval with H2 and an expiry -> fetch, verify, decrypt; the
denial path; both audit logs verify and hold the matching entries and none of the released
values. Then the faults: a guessed reference, a replayed check, a field the policy never
releases, a second decision, an unknown peer, and a crash of the owner between decision and
delivery.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import Federation  # the fixture's type, from this folder's conftest.py

# One federation for the module (conftest.py; one per xdist worker that runs its tests). Each
# test works on its own case references and requests; those that change the owner (a kill -9,
# a node.toml without the querier, a standing rule) restart it as it was before they return.

LEGAL = ["--legal-basis", "EU-2016/680:Art.8"]
FIELDS = "family_name,given_names,date_of_birth,document_number"


def check_person(federation: Federation, planted: int, case: str) -> tuple[str, dict[str, Any]]:
    """Check one planted wanted person; return the strong hit's match reference and the person."""
    person = federation.people[planted]
    result = federation.run(
        "check", "--node", federation.querier, "--dataset", "watchlist",
        "--name", f"{person['given_names']} {person['family_name']}",
        "--dob", person["date_of_birth"], "--document-number", person["document_number"],
        "--document-country", person["document_issuing_country"],
        "--officer", "of-17", "--purpose", "border-check", *LEGAL, "--case", case, "--json",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    keys = json.loads(result.stdout)["probes"][0]["results"][0]["keys"]
    strong = next(k for k in keys if k["strength"] == "strong")
    return strong["match_reference"], person


def file_request(
    federation: Federation, reference: str, case: str, *extra: str, fields: str = FIELDS
) -> subprocess.CompletedProcess[str]:
    return federation.run(
        "requests", "file", "--node", federation.querier, "--reference", reference,
        "--fields", fields, "--urgency", "urgent",
        "--justification", "Passenger boarding flight LH 1234 matches a wanted person.",
        "--officer", "of-17", *LEGAL, "--case", case, "--json", *extra, check=False,
    )  # fmt: skip


def owner(federation: Federation, *argv: str) -> subprocess.CompletedProcess[str]:
    return federation.run("requests", *argv, "--node", federation.owner, check=False)


def fetch(federation: Federation, request_id: str) -> subprocess.CompletedProcess[str]:
    return federation.run(
        "requests", "fetch", request_id, "--node", federation.querier,
        "--officer", "of-17", *LEGAL, "--json", check=False,
    )  # fmt: skip


def audit_rows(database: Path) -> list[dict[str, Any]]:
    connection = sqlite3.connect(database)
    try:
        bodies = [bytes(row[0]) for row in connection.execute("SELECT body FROM audit_entries")]
    finally:
        connection.close()
    # An entry is one version byte, then canonical JSON (node.audit.entries).
    return [json.loads(body[1:]) for body in bodies]


def test_request_partial_approval_fetch_and_both_logs(federation: Federation) -> None:
    reference, person = check_person(federation, 57, "DE-2026-0100")
    filed = file_request(federation, reference, "DE-2026-0100")
    assert filed.returncode == 0, filed.stderr
    request_id = json.loads(filed.stdout)["request_id"]

    listed = owner(federation, "list", "--received", "--json")
    received = next(
        r for r in json.loads(listed.stdout)["received"] if r["request_id"] == request_id
    )
    assert received["state"] == "pending"
    assert received["urgency"] == "urgent"
    assert received["records"] == [person["id"]]
    pending = fetch(federation, request_id)
    assert json.loads(pending.stdout)["state"] == "pending"

    approved = owner(
        federation, "approve", request_id[:12], "--fields", "family_name,date_of_birth",
        "--handling", "H2", "--handling", "H3:destroy after the case is closed",
        "--expires", "30d", "--contact", "DCPJ duty desk", "--officer", "fr-of-9", "--json",
    )  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["state"] == "approved_in_part"
    again = owner(federation, "deny", request_id[:12], "--reason", "other", "--text", "no",
                  "--officer", "fr-of-10")  # fmt: skip
    assert again.returncode == 2
    assert "already decided" in again.stderr
    assert "Traceback" not in again.stderr

    fetched = fetch(federation, request_id)
    assert fetched.returncode == 0, fetched.stderr
    answer = json.loads(fetched.stdout)
    assert answer["state"] == "approved_in_part"
    release = answer["release"]
    assert release["records"] == [
        {
            "fields": {
                "family_name": person["family_name"],
                "date_of_birth": person["date_of_birth"],
            },
            "metadata": {"person_status": "wanted", "notice_type": "red-notice"},
        }
    ]
    assert [h["code"] for h in release["handling"]] == ["H2", "H3"]
    assert release["decided_by"] == "fr-of-9"
    assert not release["automatic"]

    federation.verify_audit_log(federation.owner, "export-disclosure-owner")
    federation.verify_audit_log(federation.querier, "export-disclosure-querier")
    owner_entries = audit_rows(federation.owner / "node.db")
    querier_entries = audit_rows(federation.querier / "node.db")
    mine = [e for e in owner_entries if e.get("case_reference") == "DE-2026-0100"]
    kinds = [(e["kind"], e.get("decision")) for e in mine if e["kind"].startswith("disclosure")]
    assert kinds == [
        ("disclosure_requested", "answered"),
        ("disclosure_decided", "approved_in_part"),
        ("disclosure_delivered", "approved_in_part"),
    ]
    decided = next(e for e in mine if e["kind"] == "disclosure_decided")
    assert decided["officer"] == "fr-of-9"
    requested = next(e for e in mine if e["kind"] == "disclosure_requested")
    theirs = [e for e in querier_entries if e.get("case_reference") == "DE-2026-0100"]
    assert [e["kind"] for e in theirs if e["kind"].startswith("disclosure")] == [
        "disclosure_requested",
        "disclosure_delivered",
    ]
    # Both logs name the same signed request.
    assert requested["request_digest"] in {e["request_digest"] for e in theirs}
    # No released value, nor the justification, enters either log.
    for entries in (owner_entries, querier_entries):
        text = json.dumps(entries, ensure_ascii=False)
        for value in (person["family_name"], person["date_of_birth"], "red-notice",
                      "destroy after", "LH 1234"):  # fmt: skip
            assert value not in text


def test_denial_reaches_the_querier_with_its_reason(federation: Federation) -> None:
    reference, _ = check_person(federation, 120, "DE-2026-0200")
    filed = file_request(federation, reference, "DE-2026-0200")
    request_id = json.loads(filed.stdout)["request_id"]
    denied = owner(
        federation, "deny", request_id[:10], "--reason", "ongoing_investigation",
        "--text", "Covert operation; ask again in March.", "--officer", "fr-of-9",
    )  # fmt: skip
    assert denied.returncode == 0, denied.stderr
    answer = json.loads(fetch(federation, request_id).stdout)
    assert answer["state"] == "denied"
    assert answer["deny_reason"] == "ongoing_investigation"
    assert answer["deny_text"] == "Covert operation; ask again in March."
    assert answer["release"] is None


def test_guessed_replayed_and_unreleasable_requests_get_nothing(federation: Federation) -> None:
    reference, _ = check_person(federation, 233, "DE-2026-0300")
    # A field the owner's policy never releases.
    refused = file_request(federation, reference, "DE-2026-0300", fields="place_of_birth")
    assert refused.returncode == 2
    assert "never released" in refused.stderr
    # A reference this node's checks never got is not even sent.
    unknown = file_request(federation, "ab" * 32, "DE-2026-0300")
    assert unknown.returncode == 2
    assert "not one this node's checks got" in unknown.stderr
    # A querier that lies about its hits: a guessed reference under a real check entry.
    database = federation.querier / "node.db"
    connection = sqlite3.connect(database)
    try:
        row = connection.execute(
            "SELECT check_entry_index FROM dr_hits WHERE reference = ?", (bytes.fromhex(reference),)
        ).fetchone()
        with connection:
            connection.execute(
                "INSERT INTO dr_hits VALUES ('fr-ct', 'watchlist', ?, ?, ?, 'X')",
                (bytes(32), row[0], "2026-01-01T00:00:00+00:00"),
            )
    finally:
        connection.close()
    guessed = file_request(federation, (bytes(32)).hex(), "DE-2026-0300")
    assert guessed.returncode == 2
    assert "resolves to no record" in guessed.stderr
    # The real reference works once; quoting the same check again is a replay.
    first = file_request(federation, reference, "DE-2026-0300")
    assert first.returncode == 0, first.stderr
    replay = file_request(federation, reference, "DE-2026-0300")
    assert replay.returncode == 2
    assert "already backs" in replay.stderr
    refusals = [
        e.get("reason")
        for e in audit_rows(federation.owner / "node.db")
        if e["kind"] == "disclosure_requested" and e.get("decision") == "refused"
    ]
    assert {"not_permitted", "unknown_reference", "foreign_or_replayed_reference"} <= set(refusals)


def test_a_decision_survives_a_crash_and_delivery_resumes(federation: Federation) -> None:
    reference, person = check_person(federation, 391, "DE-2026-0400")
    request_id = json.loads(file_request(federation, reference, "DE-2026-0400").stdout)[
        "request_id"
    ]
    approved = owner(
        federation, "approve", request_id[:12], "--handling", "H0", "--expires", "2d",
        "--contact", "DCPJ duty desk", "--officer", "fr-of-9",
    )  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    os.kill(federation.server.process.pid, signal.SIGKILL)
    federation.server.process.wait()
    down = fetch(federation, request_id)
    assert down.returncode == 2
    assert "unreachable" in down.stderr
    federation.restart_owner()
    answer = json.loads(fetch(federation, request_id).stdout)
    assert answer["state"] == "approved"
    assert answer["release"]["records"][0]["fields"]["document_number"] == person["document_number"]


def test_an_unknown_peer_is_refused(federation: Federation) -> None:
    reference, _ = check_person(federation, 3, "DE-2026-0500")
    config = federation.owner / "node.toml"
    original = config.read_text(encoding="utf-8")
    # The owner's operator removes de-bka (and its policy) and restarts the node.
    start = original.index("[[peers]]")
    config.write_text(original[:start], encoding="utf-8")
    try:
        federation.restart_owner()
        refused = file_request(federation, reference, "DE-2026-0500")
        assert refused.returncode == 2
        assert "not a known peer" in refused.stderr
    finally:
        config.write_text(original, encoding="utf-8")
        federation.restart_owner()


def test_a_standing_rule_decides_at_once_and_is_logged_as_automatic(
    federation: Federation,
) -> None:
    reference, person = check_person(federation, 57, "DE-2026-0600")
    config = federation.owner / "node.toml"
    original = config.read_text(encoding="utf-8")
    config.write_text(
        original + '\n[[disclosure_rules]]\nname = "bka-urgent-identity"\npeer = "de-bka"\n'
        'datasets = ["watchlist"]\nfields = ["family_name", "given_names", "date_of_birth"]\n'
        'urgency = ["urgent"]\nhandling = ["H0", "H2"]\nexpiry_days = 7\n'
        'contact = "DCPJ duty desk"\n',
        encoding="utf-8",
    )
    try:
        federation.restart_owner()
        # Asking for more than the rule covers leaves the decision to an officer.
        wider = json.loads(file_request(federation, reference, "DE-2026-0600").stdout)
        assert wider["state"] == "pending"
        again, _ = check_person(federation, 57, "DE-2026-0601")
        filed = file_request(federation, again, "DE-2026-0601", fields="family_name,date_of_birth")
        assert json.loads(filed.stdout)["state"] == "approved"
        answer = json.loads(fetch(federation, json.loads(filed.stdout)["request_id"]).stdout)
        assert answer["release"]["automatic"] is True
        assert answer["release"]["decided_by"] == "rule:bka-urgent-identity"
        assert answer["release"]["records"][0]["fields"]["family_name"] == person["family_name"]
        decided = [
            e
            for e in audit_rows(federation.owner / "node.db")
            if e["kind"] == "disclosure_decided" and e.get("case_reference") == "DE-2026-0601"
        ]
        assert [(e["officer"], e["reason"]) for e in decided] == [
            ("rule:bka-urgent-identity", "standing_rule")
        ]
    finally:
        config.write_text(original, encoding="utf-8")
        federation.restart_owner()


def test_overdue_requests_show_in_the_list_and_the_metrics(federation: Federation) -> None:
    reference, _ = check_person(federation, 120, "DE-2026-0700")
    request_id = json.loads(file_request(federation, reference, "DE-2026-0700").stdout)[
        "request_id"
    ]
    # Nine hours later, as far as the deadline is concerned.
    connection = sqlite3.connect(federation.owner / "node.db")
    try:
        with connection:
            connection.execute(
                "UPDATE dr_received SET due_at = ? WHERE request_id = ?",
                ("2026-01-01T00:00:00.000000+00:00", bytes.fromhex(request_id)),
            )
    finally:
        connection.close()
    listed = owner(federation, "list", "--overdue", "--json")
    overdue = json.loads(listed.stdout)["received"]
    assert [r["request_id"] for r in overdue] == [request_id]
    assert overdue[0]["overdue"] is True
    table = owner(federation, "list")
    assert f"{request_id[:12]}  OVERDUE" in table.stdout
    metrics = federation.run("metrics", "--node", federation.owner).stdout
    assert "blindhit_disclosure_overdue 1" in metrics.splitlines()
    assert 'blindhit_dataset_epoch{dataset="watchlist"}' in metrics


def test_an_expired_release_can_no_longer_be_fetched(federation: Federation) -> None:
    reference, _ = check_person(federation, 233, "DE-2026-0800")
    request_id = json.loads(file_request(federation, reference, "DE-2026-0800").stdout)[
        "request_id"
    ]
    approved = owner(
        federation, "approve", request_id[:12], "--handling", "H0", "--expires", "1h",
        "--contact", "DCPJ duty desk", "--officer", "fr-of-9",
    )  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    # Two hours later, as far as the expiry is concerned.
    connection = sqlite3.connect(federation.owner / "node.db")
    try:
        with connection:
            connection.execute(
                "UPDATE dr_received SET expires_at = ? WHERE request_id = ?",
                ("2026-01-01T00:00:00.000000+00:00", bytes.fromhex(request_id)),
            )
    finally:
        connection.close()
    answer = json.loads(fetch(federation, request_id).stdout)
    assert answer["state"] == "expired"
    assert answer["release"] is None
    delivered = [
        e
        for e in audit_rows(federation.owner / "node.db")
        if e["kind"] == "disclosure_delivered" and e.get("case_reference") == "DE-2026-0800"
    ]
    assert [(e["decision"], e.get("reason")) for e in delivered] == [("failed", "expired")]
