"""`blindhit serve`: answer peers' checks on this node's published datasets until stopped.

The node listens where `[node] listen` says (or `--port`), with mutual TLS; the peers it answers
and what each may ask are `[[peers]]` and `[[policy]]` in node.toml, read at start (restart to
apply a change). The first line on stdout is `<node id> listening on HOST:PORT`, so a script can
wait for it; SIGTERM or Ctrl-C stops the node cleanly. Errors of requests go to the peers as gRPC
statuses and to the audit log as refusals; stderr carries only the node's own warnings, which
never name a probe or a record.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from cli.options import add_node_argument, non_negative

__all__ = ["register"]


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "serve",
        help="serve this node's datasets to its peers (until stopped)",
        description=(
            "Serve this node's published datasets to the peers in node.toml, over mutual TLS. "
            "Stop with SIGTERM or Ctrl-C. Example: blindhit serve --node fr-node"
        ),
    )
    add_node_argument(parser)
    parser.add_argument(
        "--port",
        type=non_negative,
        metavar="PORT",
        help="listen on this port instead of node.toml's (0: any free port, printed)",
    )
    parser.add_argument(
        "--checkpoint-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="sign an audit checkpoint this often while the log grows (default: 1)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.owner.serve import serve

    logging.basicConfig(format="blindhit serve: %(levelname)s %(message)s", level=logging.WARNING)
    serve(args.node, port=args.port, checkpoint_interval=args.checkpoint_interval)
    return 0
