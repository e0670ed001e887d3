"""The owner's admission of a request as a state machine: each check, and their order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from crypto.errors import NotPermitted, PeerError, QuotaExceeded, StaleEpoch
from protocol.admission import (
    FRESHNESS,
    Admission,
    PurposeFields,
    QueryMode,
    check_purpose_fields,
    refusal_reason,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
FIELDS = PurposeFields("de-bka", bytes(16), "of-17", "border-check", "EU-2016/680:Art.8", "c-42")


@dataclass(frozen=True)
class _Rule:
    datasets: tuple[str, ...] = ("watchlist",)
    modes: tuple[QueryMode, ...] = (QueryMode.INDEX,)
    max_batch: int = 100
    daily_quota: int = 1000


def _through(admission: Admission, upto: str) -> Admission:
    steps: dict[str, Callable[[], object]] = {
        "context": lambda: admission.check_context(FIELDS),
        "authorize": lambda: admission.authorize(_Rule(), node_max_batch=4096),
        "epoch": lambda: admission.check_epoch(3, 3),
        "fresh": lambda: admission.check_fresh(NOW, NOW),
        "quota": lambda: admission.check_quota(0),
    }
    for name, step in steps.items():
        step()
        if name == upto:
            break
    return admission


def test_a_request_that_passes_every_step_is_admitted() -> None:
    admission = _through(Admission("de-bka", "watchlist", QueryMode.INDEX, 10), "quota")
    assert admission.admitted
    assert admission.rule == _Rule()


@pytest.mark.parametrize(
    ("done", "step", "message"),
    [
        ("none", "authorize", "cannot authorize before check the context"),
        ("context", "epoch", "cannot check the epoch before authorize"),
        ("authorize", "fresh", "cannot check freshness before check the epoch"),
        ("epoch", "quota", "cannot check the quota before check freshness"),
        ("context", "context", "cannot check the context twice"),
        ("quota", "fresh", "cannot check freshness twice"),
    ],
)
def test_steps_out_of_order_are_a_programming_error(done: str, step: str, message: str) -> None:
    admission = Admission("de-bka", "watchlist", QueryMode.INDEX, 10)
    if done != "none":
        _through(admission, done)
    calls: dict[str, Callable[[], object]] = {
        "context": lambda: admission.check_context(FIELDS),
        "authorize": lambda: admission.authorize(_Rule(), node_max_batch=4096),
        "epoch": lambda: admission.check_epoch(3, 3),
        "fresh": lambda: admission.check_fresh(NOW, NOW),
        "quota": lambda: admission.check_quota(0),
    }
    with pytest.raises(RuntimeError, match=message):
        calls[step]()
    assert not admission.admitted or done == "quota"


def test_the_rule_cannot_be_read_before_authorize() -> None:
    with pytest.raises(RuntimeError, match="before authorize"):
        _ = Admission("de-bka", "watchlist", QueryMode.INDEX, 1).rule


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (replace(FIELDS, querier_node="fr-ct"), "another querier node"),
        (replace(FIELDS, request_id=bytes(15)), "16 bytes"),
        (replace(FIELDS, purpose=""), "purpose is missing"),
        (replace(FIELDS, officer_id="of 17"), "officer id must be a code"),
        (replace(FIELDS, case_reference="c" * 65), "case reference must be a code of at most 64"),
        (replace(FIELDS, legal_basis="-EU"), "legal basis must be a code"),
    ],
)
def test_the_context_must_name_the_peer_and_loggable_codes(
    fields: PurposeFields, message: str
) -> None:
    with pytest.raises(PeerError, match=message):
        check_purpose_fields(fields, "de-bka")
    admission = Admission("de-bka", "watchlist", QueryMode.INDEX, 1)
    with pytest.raises(PeerError, match=message):
        admission.check_context(fields)
    # A failed step is not passed: the next one is still out of order.
    with pytest.raises(RuntimeError, match="before check the context"):
        admission.authorize(_Rule(), node_max_batch=10)


def test_authorize_refuses_no_rule_a_mode_and_batches_out_of_bounds() -> None:
    def authorize(rule: _Rule | None, elements: int, mode: QueryMode = QueryMode.INDEX) -> None:
        admission = Admission("de-bka", "watchlist", mode, elements)
        admission.check_context(FIELDS)
        admission.authorize(rule, node_max_batch=64)

    with pytest.raises(NotPermitted, match="dataset watchlist is not available to de-bka"):
        authorize(None, 1)
    with pytest.raises(NotPermitted, match="owner-match mode on dataset watchlist"):
        authorize(_Rule(), 1, QueryMode.OWNER_MATCH)
    with pytest.raises(PeerError, match="holds no elements"):
        authorize(_Rule(), 0)
    # The tighter of the rule's limit (100) and the node's (64) holds.
    authorize(_Rule(), 64)
    with pytest.raises(PeerError, match="65 elements; at most 64 allowed"):
        authorize(_Rule(), 65)
    with pytest.raises(PeerError, match="at most 10 allowed"):
        authorize(_Rule(max_batch=10), 11)
    # The unit is named: an operator reading "elements" should not think of people.
    with pytest.raises(
        PeerError,
        match=r"^the batch holds 11 elements; at most 10 allowed \(elements are match keys, "
        r"about 10 per person checked\)$",
    ):
        authorize(_Rule(max_batch=10), 11)


def test_a_stale_epoch_a_stale_signature_and_an_exhausted_quota_are_refused() -> None:
    admission = _through(Admission("de-bka", "watchlist", QueryMode.INDEX, 10), "authorize")
    with pytest.raises(
        StaleEpoch, match="epoch 2 of watchlist is not current; sync the index to epoch 3"
    ):
        admission.check_epoch(2, 3)
    admission.check_epoch(3, 3)
    with pytest.raises(PeerError, match="too long ago or in the future"):
        admission.check_fresh(NOW - FRESHNESS - timedelta(seconds=1), NOW)
    with pytest.raises(PeerError, match="too long ago or in the future"):
        admission.check_fresh(NOW + FRESHNESS + timedelta(seconds=1), NOW)
    admission.check_fresh(NOW - FRESHNESS, NOW)
    with pytest.raises(
        QuotaExceeded, match=r"quota of 1000 elements for de-bka is used up \(991 used, 10 asked\)"
    ):
        admission.check_quota(991)
    admission.check_quota(990)
    assert admission.admitted


def test_every_refusal_has_its_reason_code() -> None:
    assert refusal_reason(QuotaExceeded("q")) == "quota_exceeded"
    assert refusal_reason(StaleEpoch("e")) == "stale_epoch"
    assert refusal_reason(NotPermitted("n")) == "not_permitted"
    assert refusal_reason(PeerError("p")) == "malformed_request"
