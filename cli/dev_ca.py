"""`blindhit dev-ca`: a local development CA that issues node certificates for mutual TLS.

`dev-ca init CA_DIR` creates the CA (a new directory with `ca-cert.pem` and the encrypted
`ca-key.pem`); `dev-ca sign CA_DIR CSR_FILE --out CERT_FILE` checks a node's certificate request
and issues its certificate (`node.keys.tls.sign_csr`). It stands in for the federation CA of the
coordinating node when nodes run locally; certificates it issues are trusted only by nodes that
install its `ca-cert.pem`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from federation.defaults import CA_VALIDITY_DAYS, CERTIFICATE_VALIDITY_DAYS
from protocol.validation import check_env_variable

__all__ = ["register"]

_DEFAULT_NAME = "Local development CA"

_EXAMPLE = """Example:
  export CA_PASSPHRASE='correct horse battery staple'
  blindhit dev-ca init ./dev-ca --name "Local development CA" --passphrase-env CA_PASSPHRASE
  blindhit dev-ca sign ./dev-ca ./fr-ct/keys/tls.csr --out fr-ct.pem \\
      --passphrase-env CA_PASSPHRASE"""


def _add_passphrase(parser: argparse.ArgumentParser) -> None:
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument(
        "--passphrase-env", metavar="VARIABLE", help="environment variable holding the passphrase"
    )
    secret.add_argument(
        "--passphrase-file", type=Path, metavar="FILE", help="file holding the passphrase"
    )


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    parser = subparsers.add_parser(
        "dev-ca",
        help="a local development CA for node certificates",
        description="Create a development CA and issue node certificates with it.",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="dev_ca_command", metavar="SUBCOMMAND", required=True)

    init = commands.add_parser(
        "init",
        help="create a development CA in a new directory",
        description="Create a self-signed P-256 CA: CA_DIR/ca-cert.pem and the encrypted "
        "CA_DIR/ca-key.pem.",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument("directory", type=Path, metavar="CA_DIR", help="CA directory to create")
    init.add_argument("--name", default=_DEFAULT_NAME, help=f"CA name (default {_DEFAULT_NAME!r})")
    init.add_argument(
        "--days",
        type=int,
        default=CA_VALIDITY_DAYS,
        help=f"validity of the CA certificate (default {CA_VALIDITY_DAYS})",
    )
    _add_passphrase(init)
    init.set_defaults(handler=_run_init)

    sign = commands.add_parser(
        "sign",
        help="issue a node certificate for a certificate request",
        description="Check a node's certificate request and issue its certificate.",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sign.add_argument("directory", type=Path, metavar="CA_DIR", help="the development CA")
    sign.add_argument("request", type=Path, metavar="CSR_FILE", help="the node's keys/tls.csr")
    sign.add_argument(
        "--out", type=Path, required=True, metavar="CERT_FILE", help="new certificate file"
    )
    sign.add_argument(
        "--days",
        type=int,
        default=CERTIFICATE_VALIDITY_DAYS,
        help=f"validity of the certificate (default {CERTIFICATE_VALIDITY_DAYS})",
    )
    _add_passphrase(sign)
    sign.set_defaults(handler=_run_sign)


def _passphrase(args: argparse.Namespace) -> bytes:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.config import read_nonempty_passphrase

    if args.passphrase_env is not None:
        check_env_variable(args.passphrase_env, "--passphrase-env")
    return read_nonempty_passphrase(env=args.passphrase_env, file=args.passphrase_file)


def _run_init(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.ca import CA_CERTIFICATE_FILE, create_ca
    from node.keys.tls import certificate_fingerprint

    ca = create_ca(args.directory, args.name, _passphrase(args), validity_days=args.days)
    print(f"Created development CA {ca.name!r} in {ca.directory}")
    print(f"  certificate   {ca.directory / CA_CERTIFICATE_FILE}")
    print(f"  fingerprint   {certificate_fingerprint(ca.certificate)}")
    print(f"  valid until   {ca.certificate.not_valid_after_utc:%Y-%m-%d}")
    return 0


def _run_sign(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.ca import CA_CERTIFICATE_FILE, load_ca, sign_csr
    from node.keys.tls import (
        certificate_fingerprint,
        certificates_pem,
        load_certificate_request,
        node_id_from_certificate,
        write_public_file,
    )

    request = load_certificate_request(args.request)
    ca = load_ca(args.directory, _passphrase(args))
    certificate = sign_csr(ca, request, args.days)
    write_public_file(args.out, certificates_pem([certificate]))
    print(f"Issued a certificate for node {node_id_from_certificate(certificate)} to {args.out}")
    print(f"  fingerprint   {certificate_fingerprint(certificate)}")
    print(f"  valid until   {certificate.not_valid_after_utc:%Y-%m-%d}")
    print(
        f"Install it as keys/tls-cert.pem of the node, and {ca.directory / CA_CERTIFICATE_FILE} "
        "as its keys/ca-cert.pem."
    )
    return 0
