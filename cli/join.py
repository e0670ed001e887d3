"""`blindhit join`: make a node a member of a federation, once the coordinating node admitted it.

The coordinating node's operator runs `blindhit federation admit` with this node's
`keys/tls.csr` and identity key and hands back two files: the node's certificate and the
federation CA's. `join` checks that the certificate is this node's (its key, its node id) and
chains to that CA, installs both (`keys/tls-cert.pem`, `keys/ca-cert.pem`), and writes
`[federation]` into node.toml with the coordinating node's id, endpoint and directory key,
editing the file in place (`node.config.update_config`) so that its comments survive. From
then on the node's peers come from the signed directory (`node.querier.membership`).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.options import add_node_argument
from crypto.errors import InputError, InvalidEncoding
from protocol.validation import check_node_id, parse_host_port

if TYPE_CHECKING:
    from crypto.signed_note import Ed25519Verifier

__all__ = ["register"]


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "join",
        help="install the federation's certificate and CA, and name the coordinating node",
        description="Join a federation after `blindhit federation admit`. Example: blindhit join "
        "--node fr-node --certificate fr-ct-cert.pem --ca federation-ca.pem --coordinator "
        "gs-lyon --endpoint gs.example.org:7400 --identity-key gs-lyon.vkey",
    )
    add_node_argument(parser)
    parser.add_argument("--certificate", type=Path, required=True, help="this node's certificate")
    parser.add_argument("--ca", type=Path, required=True, help="the federation CA certificate")
    parser.add_argument("--coordinator", required=True, help="the coordinating node's id")
    parser.add_argument("--endpoint", required=True, metavar="HOST:PORT")
    parser.add_argument(
        "--identity-key", required=True, metavar="VKEY_OR_FILE",
        help="the coordinating node's verifier key (or its identity.vkey file)",
    )  # fmt: skip
    parser.add_argument(
        "--refresh", type=float, default=60.0, metavar="SECONDS",
        help="how often the directory is fetched (default 60)",
    )  # fmt: skip
    parser.set_defaults(handler=_run)


def _verifier(text: str) -> Ed25519Verifier:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.signed_note import Ed25519Verifier

    path = Path(text)
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
    try:
        return Ed25519Verifier.from_verifier_key(text)
    except InvalidEncoding as error:
        raise InputError(f"--identity-key: not a verifier key: {error}") from None


def _run(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.config import FederationSettings, update_config
    from node.home import NodeLayout, install_certificate, load_node_config
    from node.keys.tls import load_certificates

    coordinator = check_node_id(args.coordinator, "--coordinator")
    endpoint = parse_host_port(args.endpoint, "--endpoint")
    verifier = _verifier(args.identity_key)
    if verifier.name != coordinator:
        raise InputError(f"--identity-key is {verifier.name}'s key, not {coordinator}'s")
    if not args.refresh > 0:
        raise InputError("--refresh must be a positive number of seconds")
    config = load_node_config(args.node)
    fingerprint = install_certificate(
        args.node, load_certificates(args.certificate), load_certificates(args.ca)
    )
    joined = dataclasses.replace(
        config,
        federation=FederationSettings(coordinator, endpoint, verifier, None, args.refresh),
    )
    # Only [federation] changes; the operator's comments and layout stay as they were.
    update_config(NodeLayout(config.directory).config, joined)
    print(f"{config.node.id} joined the federation of {coordinator} ({endpoint})")
    print(f"  certificate {fingerprint}")
    return 0
