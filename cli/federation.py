"""`blindhit federation`: the coordinating node's verbs (init, admit, revoke, publish, show).

- `init DIR --id ID --listen HOST:PORT [--endpoint HOST:PORT] --passphrase-env VAR`: create the
  coordinating node's directory: configuration, database, federation CA, identity key and TLS
  certificate (`federation.coordinator.init_federation`).
- `admit --federation DIR --csr FILE --member-id ID --country XXX --endpoint HOST:PORT
  --identity-key VKEY [--dataset NAME:SUITE:MODE[:PUBLIC_KEY_HEX]]... [--quota N] --out-cert
  FILE [--out-ca FILE]`: check a member's certificate request, issue its certificate and record
  the member.
- `revoke --federation DIR MEMBER --reason CODE`: remove a member.
- `publish --federation DIR [--out FILE]`: sign the next directory version; prints the version.
- `show --federation DIR [--json]`: the coordinating node, its members, revocations and the
  newest directory.

Admission hands out files all at once or not at all: the certificate (and CA) files are written
under hidden names first, the member is recorded in one transaction, and only then are the files
linked into place; if anything fails before the commit, the hidden files are removed and nothing
has changed. A target file that exists is never replaced.

Passphrases come from the source `federation.toml` names, never from the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cli.options import (
    add_passphrase_arguments,
    check_extra_hosts,
    defer_help,
    key_settings,
    positive,
)
from crypto.errors import FederationError, InputError, InvalidEncoding, InvalidInput
from federation.defaults import (
    CA_VALIDITY_DAYS,
    CERTIFICATE_VALIDITY_DAYS,
    DEFAULT_LISTEN,
    DEFAULT_REFRESH_SECONDS,
)
from protocol.validation import check_country, check_dataset_name, check_node_id, parse_host_port

if TYPE_CHECKING:
    from crypto.signed_note import Ed25519Verifier
    from federation.coordinator import Admission, Coordinator
    from protocol.directory import DirectoryDataset

__all__ = ["register"]

_INIT_EXAMPLE: Final = """Example:
  export GS_PASSPHRASE='correct horse battery staple'
  blindhit federation init ./gs-lyon --id gs-lyon --listen 0.0.0.0:7400 \\
      --endpoint gs.example.org:7400 --passphrase-env GS_PASSPHRASE"""

_ADMIT_EXAMPLE: Final = """Example:
  blindhit federation admit --federation ./gs-lyon --csr fr-ct/keys/tls.csr \\
      --member-id fr-ct --country FRA --endpoint ct.example.fr:7443 \\
      --identity-key fr-ct/keys/identity.vkey \\
      --dataset persons:ristretto255-SHA512:OPRF --quota 100000 \\
      --out-cert fr-ct-cert.pem --out-ca federation-ca.pem"""

_REVOKE_EXAMPLE: Final = """Example:
  blindhit federation revoke --federation ./gs-lyon fr-ct --reason key-compromise
  blindhit federation publish --federation ./gs-lyon"""

_PUBLISH_EXAMPLE: Final = """Example:
  blindhit federation publish --federation ./gs-lyon --out directory.note"""

_SHOW_EXAMPLE: Final = """Example:
  blindhit federation show --federation ./gs-lyon --json"""


def _add_federation_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--federation",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="the coordinating node's directory (default: the current directory)",
    )


def _subparser(commands: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:  # noqa: ANN401 (argparse's subparsers type is private)
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=example,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    """Add `federation` and its subcommands to the `blindhit` parser."""
    parser = subparsers.add_parser(
        "federation",
        help="the coordinating node: federation CA, members, signed directory",
        description="Run the coordinating node: create it with its CA, admit and revoke "
        "members, publish the signed directory.",
        epilog=_INIT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="federation_command", metavar="SUBCOMMAND", required=True)

    init = _subparser(
        commands,
        "init",
        "create the coordinating node: configuration, database, CA, identity and TLS keys",
        _INIT_EXAMPLE,
    )
    init.add_argument("directory", type=Path, metavar="DIR", help="directory to create")
    init.add_argument("--id", required=True, help="the coordinating node's id, e.g. gs-lyon")
    init.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address it serves on (default {DEFAULT_LISTEN})",
    )
    init.add_argument(
        "--endpoint",
        metavar="HOST:PORT",
        help="address members reach it at, published in the directory (default: --listen)",
    )
    init.add_argument(
        "--refresh",
        type=positive,
        default=DEFAULT_REFRESH_SECONDS,
        metavar="SECONDS",
        help=f"how often members fetch the directory (default {DEFAULT_REFRESH_SECONDS})",
    )
    init.add_argument(
        "--san",
        action="append",
        default=[],
        metavar="HOST",
        help="another host name or IP address for its TLS certificate (repeatable)",
    )
    init.add_argument("--ca-name", help="the CA's common name (default '<id> federation CA')")
    init.add_argument(
        "--ca-days",
        type=positive,
        default=CA_VALIDITY_DAYS,
        metavar="DAYS",
        help=f"validity of the CA certificate (default {CA_VALIDITY_DAYS})",
    )
    add_passphrase_arguments(init)
    init.add_argument("--json", action="store_true", help="print the summary as JSON")
    init.set_defaults(handler=_run_init)

    admit = _subparser(
        commands,
        "admit",
        "issue a member's certificate from its request and record it as a member",
        _ADMIT_EXAMPLE,
    )
    _add_federation_argument(admit)
    admit.add_argument(
        "--csr", type=Path, required=True, metavar="FILE", help="the member's keys/tls.csr"
    )
    admit.add_argument("--member-id", required=True, metavar="ID", help="the member's node id")
    admit.add_argument("--country", required=True, metavar="XXX", help="ISO 3166-1 alpha-3")
    admit.add_argument(
        "--endpoint", required=True, metavar="HOST:PORT", help="address peers reach it at"
    )
    admit.add_argument(
        "--identity-key",
        required=True,
        metavar="VKEY",
        help="its identity verifier key <id>+<key ID>+<base64>, or a file holding it",
    )
    admit.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME:SUITE:MODE[:PUBLIC_KEY_HEX]",
        help="a dataset it offers (repeatable); the public key is required in VOPRF and POPRF "
        "modes and absent in OPRF mode",
    )
    admit.add_argument(
        "--quota",
        type=positive,
        metavar="N",
        help="daily quota (elements per UTC day for each querying member) it offers on each "
        "dataset; required with --dataset",
    )
    admit.add_argument(
        "--days",
        type=positive,
        default=CERTIFICATE_VALIDITY_DAYS,
        metavar="DAYS",
        help=f"validity of the certificate (default {CERTIFICATE_VALIDITY_DAYS})",
    )
    admit.add_argument(
        "--out-cert", type=Path, required=True, metavar="FILE", help="new file for its certificate"
    )
    admit.add_argument(
        "--out-ca", type=Path, metavar="FILE", help="new file for the federation CA certificate"
    )
    admit.add_argument("--json", action="store_true", help="print the summary as JSON")
    admit.set_defaults(handler=_run_admit)

    revoke = _subparser(
        commands,
        "revoke",
        "remove a member; the next directory lists it as revoked",
        _REVOKE_EXAMPLE,
    )
    _add_federation_argument(revoke)
    revoke.add_argument("member", metavar="MEMBER", help="the member id")
    reason = revoke.add_argument("--reason", required=True, metavar="CODE", help="why: %(reasons)s")
    defer_help(reason, reasons=_revocation_reasons)
    revoke.add_argument("--json", action="store_true", help="print the summary as JSON")
    revoke.set_defaults(handler=_run_revoke)

    publish = _subparser(
        commands,
        "publish",
        "sign and store the next directory version; prints the version",
        _PUBLISH_EXAMPLE,
    )
    _add_federation_argument(publish)
    publish.add_argument("--out", type=Path, metavar="FILE", help="also write the signed note")
    publish.add_argument("--json", action="store_true", help="print the summary as JSON")
    publish.set_defaults(handler=_run_publish)

    show = _subparser(
        commands,
        "show",
        "show the coordinating node, its members, revocations and newest directory",
        _SHOW_EXAMPLE,
    )
    _add_federation_argument(show)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_run_show)

    serve = _subparser(
        commands,
        "serve",
        "serve the directory, fan-out and witness to members (until stopped)",
        "Example:\n  blindhit federation serve --federation ./gs-lyon",
    )
    _add_federation_argument(serve)
    serve.add_argument(
        "--port", type=int, metavar="PORT", help="listen on this port instead (0: any, printed)"
    )
    serve.set_defaults(handler=_run_serve)


def _revocation_reasons() -> str:
    # Imported when the help is printed, not when the parser is built (see cli.main).
    from protocol.directory import RevocationReason

    return ", ".join(reason.value for reason in RevocationReason)


def _run_serve(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.coordinator import Coordinator
    from federation.server import serve

    logging.basicConfig(
        format="blindhit federation serve: %(levelname)s %(message)s", level=logging.WARNING
    )
    with Coordinator.open(args.federation) as coordinator:
        passphrase = coordinator.config.keys.read_passphrase()
    serve(args.federation, passphrase, port=args.port)
    return 0


# init


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _run_init(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.coordinator import init_federation
    from protocol.directory import MAX_REFRESH_SECONDS, MIN_REFRESH_SECONDS

    node_id = check_node_id(args.id, "--id")
    listen = parse_host_port(args.listen, "--listen", allow_port_zero=True)
    if args.endpoint is not None:
        endpoint = parse_host_port(args.endpoint, "--endpoint")
    elif listen.port == 0 or _is_wildcard(listen.host):
        raise InputError(
            f"--endpoint: required when --listen is a wildcard address or port 0 ({listen}); "
            "give the HOST:PORT members reach the coordinating node at"
        )
    else:
        endpoint = listen
    if not MIN_REFRESH_SECONDS <= args.refresh <= MAX_REFRESH_SECONDS:
        raise InputError(
            f"--refresh: expected {MIN_REFRESH_SECONDS} to {MAX_REFRESH_SECONDS} seconds, "
            f"got {args.refresh}"
        )
    check_extra_hosts(args.san)
    keys = key_settings(args)
    result = init_federation(
        args.directory,
        node_id=node_id,
        listen=listen,
        endpoint=endpoint,
        keys=keys,
        refresh_seconds=args.refresh,
        extra_hosts=args.san,
        ca_name=args.ca_name,
        ca_validity_days=args.ca_days,
    )
    summary = {
        "directory": str(result.layout.root),
        "id": node_id,
        "listen": str(listen),
        "endpoint": str(endpoint),
        "identity_key": result.identity_verifier_key,
        "ca_certificate": str(result.layout.ca_certificate),
        "ca_fingerprint": result.ca_fingerprint,
        "certificate_fingerprint": result.certificate_fingerprint,
        "refresh_seconds": args.refresh,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"Created coordinating node {node_id} in {summary['directory']}")
    print(f"  endpoint      {endpoint} (listens on {listen})")
    print(f"  identity key  {result.identity_verifier_key}")
    print("                (members verify the signed directory with it)")
    print(f"  CA            {result.layout.ca_certificate}")
    print(f"                {result.ca_fingerprint}")
    print(f"  certificate   {result.certificate_fingerprint}")
    return 0


# admit


def _identity_key(text: str) -> Ed25519Verifier:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.signed_note import Ed25519Verifier

    path = Path(text)
    if not path.is_file():
        try:
            return Ed25519Verifier.from_verifier_key(text)
        except InvalidEncoding as exc:
            raise InputError(
                f"--identity-key: expected a verifier key <id>+<key ID>+<base64> or a file "
                f"holding one: {exc}"
            ) from exc
    try:
        content = path.read_text(encoding="utf-8").strip()
        return Ed25519Verifier.from_verifier_key(content)
    except (OSError, UnicodeDecodeError, InvalidEncoding) as exc:
        raise InputError(
            f"--identity-key: {path} does not hold a verifier key <id>+<key ID>+<base64>: {exc}"
        ) from exc


def _dataset(text: str, quota: int) -> DirectoryDataset:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.oprf import Mode, Suite
    from protocol.directory import DirectoryDataset

    where = f"--dataset {text!r}"
    fields = text.split(":")
    if len(fields) not in (3, 4):
        raise InputError(f"{where}: expected NAME:SUITE:MODE or NAME:SUITE:MODE:PUBLIC_KEY_HEX")
    name, suite_text, mode_text = fields[:3]
    check_dataset_name(name, where)
    try:
        suite = Suite.from_identifier(suite_text)
    except InvalidInput as exc:
        raise InputError(f"{where}: {exc}") from exc
    modes = {mode.name: mode for mode in Mode}
    if mode_text not in modes:
        raise InputError(f"{where}: expected a mode among {', '.join(modes)}, got {mode_text!r}")
    key_text = fields[3] if len(fields) == 4 else ""
    try:
        public_key = bytes.fromhex(key_text)
    except ValueError as exc:
        raise InputError(f"{where}: the public key is not hex") from exc
    try:
        return DirectoryDataset(name, suite, modes[mode_text], public_key, quota)
    except InputError as exc:
        raise InputError(f"--dataset: {exc}") from exc


def _datasets(texts: Sequence[str], quota: int | None) -> list[DirectoryDataset]:
    if texts and quota is None:
        raise InputError("--quota: give the daily quota the member offers on its datasets")
    if quota is not None and not texts:
        raise InputError("--quota: given without any --dataset")
    if quota is None:
        return []
    datasets = [_dataset(text, quota) for text in texts]
    names = [dataset.name for dataset in datasets]
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:
        raise InputError(f"--dataset: {repeated!r} is given twice")
    return datasets


def _check_new_file(path: Path, option: str) -> None:
    if path.exists() or path.is_symlink():
        raise InputError(f"{option}: {path} exists; it is never overwritten")
    if not path.parent.is_dir():
        raise InputError(f"{option}: {path.parent} is not a directory")


def _stage(path: Path, data: bytes, option: str) -> Path:
    """Write `data` to a new hidden file beside `path`, flushed to disk; return its path."""
    try:
        descriptor, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".partial", dir=path.parent
        )
    except OSError as exc:
        raise InputError(f"{option}: cannot write in {path.parent}: {exc.strerror or exc}") from exc
    staged = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        staged.chmod(0o644)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise InputError(f"{option}: cannot write {path}: {exc.strerror or exc}") from exc
    return staged


@contextlib.contextmanager
def _staged_files(files: Sequence[tuple[Path, bytes, str]]) -> Iterator[None]:
    """Stage `files`; if the block raises, remove them; otherwise link each into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data, option in files:
            staged.append((_stage(path, data, option), path))
        yield
    except BaseException:
        for hidden, _ in staged:
            hidden.unlink(missing_ok=True)
        raise
    for hidden, path in staged:
        try:
            # A link, unlike a rename, never replaces a file that appeared meanwhile.
            os.link(hidden, path)
        except OSError as exc:
            raise InputError(
                f"the member was admitted, but {path} cannot be created "
                f"({exc.strerror or exc}); its content is in {hidden}"
            ) from exc
        hidden.unlink()


def _admission_summary(admission: Admission, coordinator: Coordinator) -> dict[str, Any]:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.keys.tls import certificate_fingerprint
    from protocol.directory import format_time

    member = admission.member
    return {
        "member_id": member.id,
        "country": member.country,
        "endpoint": str(member.endpoint),
        "certificate_fingerprint": member.certificate_fingerprint,
        "certificate_serial": admission.certificate.serial,
        "certificate_not_after": format_time(admission.certificate.not_after),
        "identity_key": member.identity_key.verifier_key(),
        "datasets": [_dataset_summary(dataset) for dataset in member.datasets],
        "ca_fingerprint": certificate_fingerprint(coordinator.ca_certificate()),
        "admitted_at": format_time(admission.admitted_at),
    }


def _run_admit(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.coordinator import Coordinator
    from node.keys.tls import load_certificate_request

    member_id = check_node_id(args.member_id, "--member-id")
    country = check_country(args.country, "--country")
    endpoint = parse_host_port(args.endpoint, "--endpoint")
    identity_key = _identity_key(args.identity_key)
    if identity_key.name != member_id:
        raise InputError(
            f"--identity-key: the key is named {identity_key.name!r}, the member is {member_id!r}"
        )
    datasets = _datasets(args.dataset, args.quota)
    _check_new_file(args.out_cert, "--out-cert")
    if args.out_ca is not None:
        _check_new_file(args.out_ca, "--out-ca")
        if args.out_ca.absolute() == args.out_cert.absolute():
            raise InputError("--out-ca: the same file as --out-cert")
    request = load_certificate_request(args.csr)
    with Coordinator.open(args.federation) as coordinator:
        passphrase = coordinator.config.keys.read_passphrase()
        admission = coordinator.prepare_admission(
            request,
            member_id=member_id,
            country=country,
            endpoint=endpoint,
            identity_key=identity_key,
            datasets=datasets,
            passphrase=passphrase,
            validity_days=args.days,
        )
        files = [(args.out_cert, admission.certificate_pem, "--out-cert")]
        if args.out_ca is not None:
            files.append((args.out_ca, admission.ca_pem, "--out-ca"))
        with _staged_files(files):
            coordinator.complete_admission(admission)
        summary = _admission_summary(admission, coordinator)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"Admitted {member_id} ({country}) at {endpoint}")
    print(f"  certificate   {args.out_cert}")
    print(f"                {summary['certificate_fingerprint']}")
    print(f"                serial {summary['certificate_serial']}")
    print(f"                valid until {summary['certificate_not_after']}")
    ca_path = args.out_ca if args.out_ca is not None else coordinator.layout.ca_certificate
    print(f"  CA            {ca_path}")
    for dataset in summary["datasets"]:
        print(f"  dataset       {dataset['name']} {dataset['suite']} {dataset['mode']}")
    print(
        "Install the certificate as the member's keys/tls-cert.pem and the CA as its "
        "keys/ca-cert.pem; run `blindhit federation publish` for members to see it."
    )
    return 0


# revoke


def _run_revoke(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.coordinator import Coordinator
    from protocol.directory import RevocationReason, format_time

    member_id = check_node_id(args.member, "MEMBER")
    try:
        reason = RevocationReason(args.reason)
    except ValueError as exc:
        known = ", ".join(reason.value for reason in RevocationReason)
        raise InputError(f"--reason: expected one of {known}, got {args.reason!r}") from exc
    with Coordinator.open(args.federation) as coordinator:
        revocation = coordinator.revoke(member_id, reason)
    summary = {
        "member_id": revocation.member_id,
        "revoked_at": format_time(revocation.revoked_at),
        "reason": revocation.reason.value,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"Revoked {member_id} ({reason.value}) at {summary['revoked_at']}")
    print("Run `blindhit federation publish` for members to refuse it.")
    return 0


# publish


def _run_publish(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.coordinator import Coordinator
    from protocol.directory import format_time

    if args.out is not None:
        _check_new_file(args.out, "--out")
    with Coordinator.open(args.federation) as coordinator:
        passphrase = coordinator.config.keys.read_passphrase()
        published = coordinator.publish(passphrase)
    if args.out is not None:
        # The directory is published whether or not this copy can be written.
        try:
            descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(published.note)
        except OSError as exc:
            raise FederationError(
                f"published directory version {published.version}, but cannot write "
                f"--out {args.out}: {exc.strerror or exc}"
            ) from exc
    if args.json:
        print(
            json.dumps(
                {"version": published.version, "issued_at": format_time(published.issued_at)},
                indent=2,
            )
        )
        return 0
    print(published.version)
    return 0


# show


def _dataset_summary(dataset: DirectoryDataset) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "suite": dataset.suite.value.identifier,
        "mode": dataset.mode.name,
        "public_key": dataset.public_key.hex(),
        "daily_quota": dataset.daily_quota,
    }


def _evidence(database: Path) -> list[dict[str, Any]]:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.witness import read_evidence
    from protocol.directory import format_time

    """The witness's evidence of members' inconsistent logs, read without any key."""
    return [
        {
            "origin": item.origin,
            "time": format_time(datetime.fromtimestamp(item.time, UTC)),
            "kind": item.kind.value,
            "detail": item.detail,
        }
        for item in read_evidence(database)
    ]


def _run_show(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from federation.coordinator import Coordinator
    from node.keys.tls import certificate_fingerprint
    from protocol.directory import format_time

    with Coordinator.open(args.federation) as coordinator:
        config = coordinator.config
        latest = coordinator.latest()
        summary: dict[str, Any] = {
            "id": config.id,
            "directory": str(config.directory),
            "listen": str(config.listen),
            "endpoint": str(config.endpoint),
            "refresh_seconds": config.refresh_seconds,
            "identity_key": coordinator.identity_verifier().verifier_key(),
            "ca_fingerprint": certificate_fingerprint(coordinator.ca_certificate()),
            "certificate_fingerprint": certificate_fingerprint(coordinator.certificate()),
            "members": [
                {
                    "member_id": admitted.member.id,
                    "country": admitted.member.country,
                    "endpoint": str(admitted.member.endpoint),
                    "certificate_fingerprint": admitted.member.certificate_fingerprint,
                    "certificate_serial": admitted.certificate.serial,
                    "certificate_not_after": format_time(admitted.certificate.not_after),
                    "identity_key": admitted.member.identity_key.verifier_key(),
                    "admitted_at": format_time(admitted.admitted_at),
                    "datasets": [_dataset_summary(d) for d in admitted.member.datasets],
                }
                for admitted in coordinator.store.admitted_members()
            ],
            "revoked": [
                {
                    "member_id": revocation.member_id,
                    "revoked_at": format_time(revocation.revoked_at),
                    "reason": revocation.reason.value,
                }
                for revocation in coordinator.store.revocations()
            ],
            "directory_version": None if latest is None else latest.version,
            "directory_issued_at": None if latest is None else format_time(latest.issued_at),
            "unpublished_changes": coordinator.pending_changes(),
            "witness_evidence": _evidence(config.database),
        }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"Coordinating node {summary['id']} at {summary['endpoint']} ({summary['directory']})")
    print(f"  identity key  {summary['identity_key']}")
    print(f"  CA            {summary['ca_fingerprint']}")
    if latest is None:
        print("  directory     none published yet")
    else:
        print(f"  directory     version {latest.version}, issued {summary['directory_issued_at']}")
    if summary["unpublished_changes"]:
        print("                (changes since: run `blindhit federation publish`)")
    print(f"Members ({len(summary['members'])}):")
    for member in summary["members"]:
        print(
            f"  {member['member_id']:<20} {member['country']}  {member['endpoint']:<28} "
            f"{member['certificate_fingerprint'][:23]}...  admitted {member['admitted_at']}"
        )
        for dataset in member["datasets"]:
            print(
                f"      {dataset['name']} {dataset['suite']} {dataset['mode']} "
                f"quota {dataset['daily_quota']}/day"
            )
    if summary["witness_evidence"]:
        print(f"MEMBERS CAUGHT SHOWING INCONSISTENT LOGS ({len(summary['witness_evidence'])}):")
        for item in summary["witness_evidence"]:
            print(f"  {item['origin']:<20} {item['time']}  {item['kind']}: {item['detail']}")
    if summary["revoked"]:
        print(f"Revoked ({len(summary['revoked'])}):")
        for revocation in summary["revoked"]:
            print(
                f"  {revocation['member_id']:<20} {revocation['revoked_at']}  "
                f"{revocation['reason']}"
            )
    return 0
