"""`blindhit desk`: the check desk's local HTTP/JSON API and the clients that may call it.

`desk serve` runs the desk alone, for a node that only asks (`blindhit serve` runs it beside the
peer listener when node.toml has `[desk]`); its first line on stdout is `<node id> desk
listening on HOST:PORT`, and SIGTERM or Ctrl-C stops it. `desk client add` creates a client and
prints its token once (only its SHA-256 is kept: a lost token is revoked and a new client added),
`desk client list` shows every client without tokens, `desk client revoke` refuses a client's
token from its next request on. The clients live in the node's database; no passphrase is needed
to manage them.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from cli.options import add_node_argument, non_negative, positive

if TYPE_CHECKING:
    from node.desk.clients import DeskClient

__all__ = ["ROLES", "register"]


# The roles of node.desk.clients.Role, named here so that building the parser and printing its
# help import no storage (tests/unit/node/desk/test_desk_commands.py holds the two equal).
ROLES = ("system", "officer", "partner", "auditor")


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "desk",
        help="the check desk's HTTP/JSON API: serve it, manage its clients",
        description=(
            "The check desk: this node's checks of every member, for the country's own systems, "
            "officers and partners, over HTTPS with bearer tokens. "
            "Example: blindhit desk client add --node de-node --id border-1 --role system"
        ),
    )
    verbs = parser.add_subparsers(dest="desk_command", metavar="VERB", required=True)

    serve = verbs.add_parser(
        "serve",
        help="serve the desk alone (a node that only asks), until stopped",
        description=(
            "Serve the check desk where node.toml's [desk] listen says, with the node's TLS "
            "certificate; stop with SIGTERM or Ctrl-C. Example: blindhit desk serve --node de-node"
        ),
    )
    add_node_argument(serve)
    serve.add_argument(
        "--port",
        type=non_negative,
        metavar="PORT",
        help="listen on this port instead of [desk] listen's (0: any free port, printed)",
    )
    serve.set_defaults(handler=_serve)

    client = verbs.add_parser(
        "client",
        help="add, list or revoke the desk's clients",
        description="The desk's clients. Example: blindhit desk client list --node de-node",
    )
    client_verbs = client.add_subparsers(dest="client_command", metavar="VERB", required=True)

    add = client_verbs.add_parser(
        "add",
        help="add a client and print its token (shown once)",
        description=(
            "Add a client of the desk and print its bearer token, which is shown this once. "
            "Roles: system and officer check and see every member's answer (officers also read "
            "referrals), partner screens travellers and learns only no_action or refer, auditor "
            "makes no checks. Example: blindhit desk client add --node de-node --id airline-1 "
            "--role partner --purpose carrier-screening --legal-basis EU-2016/681"
        ),
    )
    add_node_argument(add)
    add.add_argument("--id", required=True, metavar="ID", help="client id (a-z, 0-9, . _ -)")
    add.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        metavar="ROLE",
        help="one of %(choices)s",
    )
    add.add_argument("--purpose", metavar="CODE", help="purpose its checks state by default")
    add.add_argument("--legal-basis", metavar="CODE", help="legal basis of its checks by default")
    add.add_argument(
        "--daily-quota",
        type=positive,
        default=100_000,
        metavar="N",
        help="probes per UTC day (default: %(default)s)",
    )
    add.add_argument("--json", action="store_true", help="print the client and token as JSON")
    add.set_defaults(handler=_add)

    listing = client_verbs.add_parser(
        "list",
        help="every client, without tokens",
        description="Every client of the desk. Example: blindhit desk client list --node de-node",
    )
    add_node_argument(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    revoke = client_verbs.add_parser(
        "revoke",
        help="refuse a client's token from now on",
        description=(
            "Revoke a client: its token is refused from its next request on. "
            "Example: blindhit desk client revoke --node de-node --id border-1"
        ),
    )
    add_node_argument(revoke)
    revoke.add_argument("--id", required=True, metavar="ID", help="the client to revoke")
    revoke.set_defaults(handler=_revoke)


def _client_json(client: DeskClient) -> dict[str, object]:
    return {
        "id": client.id,
        "role": client.role.value,
        "purpose": client.purpose,
        "legal_basis": client.legal_basis,
        "daily_quota": client.daily_quota,
        "created_at": client.created_at.isoformat(),
        "revoked_at": None if client.revoked_at is None else client.revoked_at.isoformat(),
    }


def _serve(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    import logging

    from node.desk.http import serve_desk

    logging.basicConfig(format="blindhit desk: %(levelname)s %(message)s", level=logging.WARNING)
    serve_desk(args.node, port=args.port)
    return 0


def _add(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.desk.clients import ClientStore, Role
    from node.home import load_node_config

    config = load_node_config(args.node)
    with ClientStore(config.node.database) as store:
        client, token = store.add(
            args.id,
            Role(args.role),
            purpose=args.purpose,
            legal_basis=args.legal_basis,
            daily_quota=args.daily_quota,
        )
    print(
        "blindhit: the token is shown this once; only its hash is kept. Store it now.",
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps({**_client_json(client), "token": token}, indent=2))
    else:
        print(f"client {client.id} ({client.role.value}) added; its token:")
        print(token)
    return 0


def _list(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.desk.clients import ClientStore
    from node.home import load_node_config

    config = load_node_config(args.node)
    with ClientStore(config.node.database) as store:
        clients = store.list()
    if args.json:
        print(json.dumps({"clients": [_client_json(c) for c in clients]}, indent=2))
        return 0
    for c in clients:
        state = "revoked " + c.revoked_at.strftime("%Y-%m-%d") if c.revoked_at else "active"
        basis = f"{c.purpose or '-'} / {c.legal_basis or '-'}"
        print(f"{c.id:<24} {c.role.value:<8} {state:<18} {c.daily_quota:>8}/day  {basis}")
    if not clients:
        print("no clients: add one with `blindhit desk client add`")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.desk.clients import ClientStore
    from node.home import load_node_config

    config = load_node_config(args.node)
    with ClientStore(config.node.database) as store:
        client = store.revoke(args.id)
    print(f"client {client.id} revoked; its token is refused from now on")
    return 0
