"""`blindhit referrals`: what partners' screenings raised, for this country's officers.

A partner (an airline screening its passengers at the desk) learns only `refer` and a referral
id; the officers read here everything it does not: the traveller as the partner sent it, and for
each member and dataset that hit, the kinds and strengths of the keys and the match reference a
disclosure request quotes (`blindhit requests file --reference`). Read from the node's database
directly; no passphrase is needed.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from cli.options import add_node_argument

if TYPE_CHECKING:
    from node.desk.referrals import Referral

__all__ = ["register"]


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "referrals",
        help="referrals partners' screenings raised (officers)",
        description=(
            "Referrals raised by partners' screenings at the check desk, with what the partner "
            "was not told. Example: blindhit referrals list --node de-node"
        ),
    )
    verbs = parser.add_subparsers(dest="referrals_command", metavar="VERB", required=True)

    listing = verbs.add_parser(
        "list",
        help="referrals, newest first",
        description=(
            "Referrals, newest first. Example: blindhit referrals list --node de-node --open"
        ),
    )
    add_node_argument(listing)
    listing.add_argument("--open", action="store_true", help="only referrals still open")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    show = verbs.add_parser(
        "show",
        help="one referral in full",
        description=(
            "One referral: the traveller, and each member and dataset that hit. "
            "Example: blindhit referrals show --node de-node R-7KQ2M9XW4D"
        ),
    )
    add_node_argument(show)
    show.add_argument("referral", metavar="ID", help="referral id (R- and ten characters)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)


def _json(referral: Referral) -> dict[str, object]:
    return {
        "referral": referral.id,
        "client": referral.client,
        "created_at": referral.created_at.isoformat(),
        "state": referral.state.value,
        "traveller": referral.traveller,
        "probe": dict(referral.probe),
        "hits": [
            {
                "member": hit.member,
                "dataset": hit.dataset,
                "kinds": [{"kind": kind, "strength": strength} for kind, strength in hit.kinds],
                "match_reference": hit.match_reference,
            }
            for hit in referral.hits
        ],
    }


def _list(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.desk.referrals import ReferralState, ReferralStore
    from node.home import load_node_config

    config = load_node_config(args.node)
    with ReferralStore(config.node.database) as store:
        referrals = store.list(ReferralState.OPEN if args.open else None)
    if args.json:
        print(
            json.dumps({"referrals": [_json(r) for r in referrals]}, indent=2, ensure_ascii=False)
        )
        return 0
    for r in referrals:
        members = ", ".join(sorted({hit.member for hit in r.hits}))
        print(
            f"{r.id}  {r.state.value:<6} {r.created_at:%Y-%m-%d %H:%M}  from {r.client:<16} "
            f"traveller {r.traveller}  hit at {members}"
        )
    if not referrals:
        print("no referrals")
    return 0


def _show(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.desk.referrals import ReferralStore
    from node.home import load_node_config

    config = load_node_config(args.node)
    with ReferralStore(config.node.database) as store:
        referral = store.get(args.referral)
    if args.json:
        print(json.dumps(_json(referral), indent=2, ensure_ascii=False))
        return 0
    print(f"Referral {referral.id} ({referral.state.value})")
    print(f"  raised   {referral.created_at:%Y-%m-%d %H:%M:%S} UTC by {referral.client}")
    print(f"  traveller {referral.traveller}")
    for name, value in referral.probe.items():
        print(f"    {name}: {json.dumps(value, ensure_ascii=False)}")
    for hit in referral.hits:
        kinds = ", ".join(f"{kind} ({strength})" for kind, strength in hit.kinds)
        print(f"  hit at {hit.member} / {hit.dataset}: {kinds}")
        print(f"    match reference {hit.match_reference}")
    return 0
