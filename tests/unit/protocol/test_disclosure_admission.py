"""The owner's eight checks of a disclosure request as a state machine: each check, their order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from crypto.errors import (
    ForeignReference,
    InputError,
    InvalidEncoding,
    NotPermitted,
    PeerError,
    UnknownReference,
)
from protocol.disclosure import MAX_REFERENCES, Urgency
from protocol.disclosure_admission import (
    CHECK_VALIDITY,
    DisclosureAdmission,
    QuotedCheck,
    refusal_reason,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
RECORD_FIELDS = ("family_name", "given_names", "date_of_birth", "place_of_birth")
KEY = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
REFERENCE = bytes(range(32))
CHECK = QuotedCheck(
    is_check=True,
    counterpart="de-bka",
    dataset="watchlist",
    answered=True,
    element_count=4,
    time=NOW - timedelta(hours=1),
)


def _releasable(name: str) -> bool:
    return name != "place_of_birth"


def _steps(admission: DisclosureAdmission) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("dataset", lambda: admission.check_dataset(has_rule=True)),
        (
            "fields",
            lambda: admission.check_fields(
                ["family_name"], record_fields=RECORD_FIELDS, releasable=_releasable
            ),
        ),
        ("justification", lambda: admission.check_justification("Boards LH 1234 tonight.")),
        ("urgency", lambda: admission.check_urgency(Urgency.URGENT)),
        ("recipient", lambda: admission.check_recipient_key(KEY)),
        ("references", lambda: admission.check_references([REFERENCE])),
        ("quoted", lambda: admission.check_quoted_check(7, CHECK, already_quoted=False, now=NOW)),
        ("resolved", lambda: admission.check_resolved([["W-0001"]])),
    ]


def _through(upto: str) -> DisclosureAdmission:
    admission = DisclosureAdmission("de-bka", "watchlist")
    for name, step in _steps(admission):
        step()
        if name == upto:
            break
    return admission


def test_a_well_formed_request_passes_all_eight_checks() -> None:
    admission = _through("resolved")
    assert admission.admitted
    assert admission.references == (REFERENCE,)


@pytest.mark.parametrize("skipped", range(7))
def test_each_check_refuses_to_run_before_the_one_it_follows(skipped: int) -> None:
    admission = DisclosureAdmission("de-bka", "watchlist")
    steps = _steps(admission)
    for _, step in steps[:skipped]:
        step()
    with pytest.raises(RuntimeError, match="before"):
        steps[skipped + 1][1]()
    steps[skipped][1]()
    with pytest.raises(RuntimeError, match="twice"):
        steps[skipped][1]()
    assert not admission.admitted


def test_a_dataset_without_a_rule_and_fields_never_released_are_not_permitted() -> None:
    with pytest.raises(NotPermitted, match="dataset watchlist is not available to de-bka"):
        DisclosureAdmission("de-bka", "watchlist").check_dataset(has_rule=False)
    admission = _through("dataset")
    with pytest.raises(NotPermitted, match="field place_of_birth is never released"):
        admission.check_fields(
            ["family_name", "place_of_birth"], record_fields=RECORD_FIELDS, releasable=_releasable
        )
    with pytest.raises(InputError, match="requested field shoe_size is not a record field"):
        _through("dataset").check_fields(
            ["shoe_size"], record_fields=RECORD_FIELDS, releasable=_releasable
        )


def test_urgency_key_and_references_are_checked() -> None:
    with pytest.raises(InputError, match="the urgency is missing"):
        _through("justification").check_urgency(None)
    with pytest.raises(InvalidEncoding, match="low-order point"):
        _through("urgency").check_recipient_key(bytes(32))
    with pytest.raises(InputError, match=f"quote 1 to {MAX_REFERENCES} match references, not 0"):
        _through("recipient").check_references([])
    with pytest.raises(InputError, match="quote 1 to 16 match references, not 17"):
        _through("recipient").check_references([REFERENCE] * (MAX_REFERENCES + 1))
    with pytest.raises(InputError, match="a match reference must be 32 bytes"):
        _through("recipient").check_references([REFERENCE[:31]])


@pytest.mark.parametrize(
    "quoted",
    [
        None,
        QuotedCheck(False, "de-bka", "watchlist", True, 4, CHECK.time),
        QuotedCheck(True, "es-ct", "watchlist", True, 4, CHECK.time),
        QuotedCheck(True, "de-bka", "vehicles", True, 4, CHECK.time),
        QuotedCheck(True, "de-bka", "watchlist", False, 4, CHECK.time),
        QuotedCheck(True, "de-bka", "watchlist", True, 0, CHECK.time),
    ],
    ids=["past-the-log", "not-a-check", "other-peer", "other-dataset", "refused", "too-few"],
)
def test_only_a_check_answered_for_this_peer_and_dataset_backs_a_request(
    quoted: QuotedCheck | None,
) -> None:
    admission = _through("references")
    with pytest.raises(ForeignReference, match="do not come from a check this node answered"):
        admission.check_quoted_check(7, quoted, already_quoted=False, now=NOW)


def test_an_old_or_already_quoted_check_backs_nothing() -> None:
    old = QuotedCheck(True, "de-bka", "watchlist", True, 4, NOW - CHECK_VALIDITY - timedelta(1))
    with pytest.raises(ForeignReference, match="entry 7 is older than 30 days"):
        _through("references").check_quoted_check(7, old, already_quoted=False, now=NOW)
    with pytest.raises(ForeignReference, match="already backs a disclosure request"):
        _through("references").check_quoted_check(7, CHECK, already_quoted=True, now=NOW)


def test_a_reference_that_resolves_to_nothing_is_refused_and_records_are_listed_once() -> None:
    admission = _through("references")
    with pytest.raises(RuntimeError, match="before check the quoted check"):
        admission.check_resolved([["W-1"]])
    two = DisclosureAdmission("de-bka", "watchlist")
    for name, step in _steps(two):
        if name == "references":
            two.check_references([REFERENCE, REFERENCE[::-1]])
        elif name == "resolved":
            with pytest.raises(UnknownReference, match="match reference 2 resolves to no record"):
                two.check_resolved([["W-1"], []])
        else:
            step()
    again = _through("quoted")
    assert again.check_resolved([["W-1", "W-2"]]) == ("W-1", "W-2")


def test_each_refusal_has_its_reason_code() -> None:
    assert refusal_reason(NotPermitted("x")) == "not_permitted"
    assert refusal_reason(UnknownReference("x")) == "unknown_reference"
    assert refusal_reason(ForeignReference("x")) == "foreign_or_replayed_reference"
    assert refusal_reason(PeerError("x")) == "malformed_request"
    assert refusal_reason(InputError("x")) == "malformed_request"
