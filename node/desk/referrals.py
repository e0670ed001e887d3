"""Referrals: what a partner's screening raised for the country's officers.

A partner (an airline screening its passengers) learns only `refer` and a referral id for a
traveller that hit; the officers learn everything the partner does not: the traveller as the
partner submitted it, and for each member and dataset that hit, the kinds and strengths of the
keys and the match references a disclosure request quotes. A referral is kept in this node's
database (`desk_referrals`), which is the country's own; it is never logged (the audit log gets
a `referral_raised` entry per member that hit, with codes only) and never leaves the node.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from crypto.errors import InputError, StorageError
from node.storage.schema import NODE_SCHEMA
from node.storage.sqlite import Store
from node.storage.times import format_time, parse_time

__all__ = ["Referral", "ReferralHit", "ReferralState", "ReferralStore", "new_referral_id"]

_ID_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_referral_id() -> str:
    """A referral id a partner can read out on the phone: `R-` and ten unambiguous characters."""
    return "R-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


class ReferralState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class ReferralHit:
    """One member and dataset that hit, as the officers see it."""

    member: str
    dataset: str
    kinds: tuple[tuple[str, str], ...]
    """(kind, strength) of each key that hit, strongest first."""
    match_reference: str
    """The strongest key's match reference, hex: what a disclosure request quotes."""


@dataclass(frozen=True)
class Referral:
    id: str
    client: str
    created_at: datetime
    traveller: str
    probe: Mapping[str, object]
    hits: tuple[ReferralHit, ...]
    state: ReferralState


class ReferralStore(Store):
    """The referrals in the node's database."""

    def __init__(self, database: Path, *, read_only: bool = False) -> None:
        super().__init__(database, NODE_SCHEMA, read_only=read_only)

    def add(self, referral: Referral) -> None:
        hits = [
            {"member": h.member, "dataset": h.dataset, "kinds": [list(k) for k in h.kinds],
             "match_reference": h.match_reference}
            for h in referral.hits
        ]  # fmt: skip
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO desk_referrals VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (referral.id, referral.client, format_time(referral.created_at),
                     referral.traveller, json.dumps(dict(referral.probe), ensure_ascii=False),
                     json.dumps(hits), referral.state.value),
                )  # fmt: skip
        except sqlite3.Error as error:
            raise StorageError(f"cannot store the referral: {error}") from error

    def list(self, state: ReferralState | None = None) -> list[Referral]:
        """Referrals, newest first; only those in `state` when given."""
        query = "SELECT * FROM desk_referrals"
        parameters: tuple[str, ...] = ()
        if state is not None:
            query += " WHERE state = ?"
            parameters = (state.value,)
        with self.read() as db:
            rows = db.execute(query + " ORDER BY created_at DESC, id", parameters).fetchall()
        return [_referral(row) for row in rows]

    def get(self, referral_id: str) -> Referral:
        with self.read() as db:
            row = db.execute("SELECT * FROM desk_referrals WHERE id = ?", (referral_id,)).fetchone()
        if row is None:
            raise InputError(f"no referral {referral_id}")
        return _referral(row)

    def close_referral(self, referral_id: str) -> Referral:
        """Mark a referral handled."""
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE desk_referrals SET state = ? WHERE id = ?",
                (ReferralState.CLOSED.value, referral_id),
            ).rowcount
        if not changed:
            raise InputError(f"no referral {referral_id}")
        return self.get(referral_id)


def _referral(row: Sequence[Any]) -> Referral:
    referral_id, client, created, traveller, probe, hits, state = row
    return Referral(
        str(referral_id),
        str(client),
        parse_time(str(created)),
        str(traveller),
        json.loads(str(probe)),
        tuple(
            ReferralHit(
                h["member"],
                h["dataset"],
                tuple((k, s) for k, s in h["kinds"]),
                h["match_reference"],
            )
            for h in json.loads(str(hits))
        ),
        ReferralState(str(state)),
    )
