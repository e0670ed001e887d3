"""`blindhit init`: create a node directory (configuration, database, identity and TLS keys).

The directory must not exist; init builds it aside and renames it into place, so it either
appears complete or not at all (`node.home`). Every private key is encrypted with the
passphrase from `--passphrase-env` or `--passphrase-file`, and the configuration records that
source, never the passphrase. With `--dev-ca`, the TLS certificate is issued at once by a local
development CA (`blindhit dev-ca init`); its passphrase comes from `--dev-ca-passphrase-env` or
`--dev-ca-passphrase-file`, or else is the node's.

The summary names what peers need to add this node: its identity verifier key and, when issued,
its certificate fingerprint. `--json` prints the same as one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.options import add_passphrase_arguments, check_extra_hosts, key_settings
from crypto.errors import InputError
from federation.defaults import CERTIFICATE_VALIDITY_DAYS
from node.defaults import DEFAULT_LISTEN
from protocol.validation import check_country, check_node_id, parse_host_port

if TYPE_CHECKING:
    from federation.ca import CertificateAuthority
    from node.config import KeySettings
    from node.home import InitResult

__all__ = ["register"]

_EXAMPLE = """Example:
  export NODE_PASSPHRASE='correct horse battery staple'
  blindhit dev-ca init ./dev-ca --passphrase-env NODE_PASSPHRASE
  blindhit init ./fr-ct --node-id fr-ct --country FRA --listen 127.0.0.1:7443 \\
      --dev-ca ./dev-ca --passphrase-env NODE_PASSPHRASE"""


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "init",
        help="create a node directory: configuration, database, identity and TLS keys",
        description="Create a new node directory with its configuration (node.toml), SQLite "
        "database, encrypted Ed25519 identity key and ECDSA TLS key with a certificate request.",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="node directory to create")
    parser.add_argument("--node-id", required=True, help="node id, e.g. fr-ct")
    parser.add_argument("--country", required=True, help="ISO 3166-1 alpha-3 code, e.g. FRA")
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address the node serves on (default {DEFAULT_LISTEN})",
    )
    parser.add_argument(
        "--san",
        action="append",
        default=[],
        metavar="HOST",
        help="another host name or IP address for the TLS certificate (repeatable)",
    )
    add_passphrase_arguments(parser)
    parser.add_argument(
        "--dev-ca", type=Path, metavar="CA_DIR", help="sign the TLS certificate with this dev CA"
    )
    ca_secret = parser.add_mutually_exclusive_group()
    ca_secret.add_argument(
        "--dev-ca-passphrase-env", metavar="VARIABLE", help="dev CA passphrase variable"
    )
    ca_secret.add_argument(
        "--dev-ca-passphrase-file", type=Path, metavar="FILE", help="dev CA passphrase file"
    )
    parser.add_argument(
        "--days",
        type=int,
        default=CERTIFICATE_VALIDITY_DAYS,
        help=f"certificate validity with --dev-ca (default {CERTIFICATE_VALIDITY_DAYS})",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=_run)


def _dev_ca(args: argparse.Namespace, keys: KeySettings) -> CertificateAuthority | None:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.ca import load_ca
    from node.config import read_nonempty_passphrase

    own_passphrase = args.dev_ca_passphrase_env is not None or args.dev_ca_passphrase_file
    if args.dev_ca is None:
        if own_passphrase:
            raise InputError("a dev CA passphrase was given without --dev-ca")
        return None
    if own_passphrase:
        passphrase = read_nonempty_passphrase(
            env=args.dev_ca_passphrase_env, file=args.dev_ca_passphrase_file
        )
    else:
        passphrase = keys.read_passphrase()
    try:
        return load_ca(args.dev_ca, passphrase)
    except InputError as error:
        if own_passphrase or "wrong passphrase" not in str(error):
            raise
        # The CA was tried with the node's passphrase; say how to give the CA's own.
        raise InputError(
            f"{error} (the dev CA was opened with the node's passphrase; give the CA's own with "
            "--dev-ca-passphrase-env or --dev-ca-passphrase-file)"
        ) from error


def _summary(result: InitResult, ca: CertificateAuthority | None) -> dict[str, Any]:
    layout, node = result.layout, result.config.node
    return {
        "directory": str(layout.root),
        "node_id": node.id,
        "country": node.country,
        "listen": str(node.listen),
        "identity_key": result.identity_verifier_key,
        "certificate_fingerprint": result.certificate_fingerprint,
        "certificate_issuer": ca.name if ca is not None else None,
        "certificate_request": str(layout.tls_csr),
    }


def _run(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.ca import certifier
    from node.home import init_node_directory

    node_id = check_node_id(args.node_id, "--node-id")
    country = check_country(args.country, "--country")
    listen = parse_host_port(args.listen, "--listen", allow_port_zero=True)
    check_extra_hosts(args.san)
    keys = key_settings(args)
    ca = _dev_ca(args, keys)
    result = init_node_directory(
        args.directory,
        node_id=node_id,
        country=country,
        listen=listen,
        keys=keys,
        extra_hosts=args.san,
        certify=None if ca is None else certifier(ca, args.days),
    )
    summary = _summary(result, ca)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"Created node {node_id} ({country}) in {summary['directory']}")
    print(f"  listen        {summary['listen']}")
    print(f"  identity key  {result.identity_verifier_key}")
    print("                (peers add it as identity_key in their [[peers]] entry for this node)")
    if result.certificate_fingerprint is not None:
        print(f"  certificate   {result.certificate_fingerprint}")
        print(f"                (issued by {summary['certificate_issuer']!r})")
    else:
        print("  certificate   none yet: have keys/tls.csr signed by the CA, then install the")
        print("                certificate as keys/tls-cert.pem and the CA's as keys/ca-cert.pem")
    return 0
