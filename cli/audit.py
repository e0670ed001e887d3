"""`blindhit audit`: checkpoints, proofs, exports and offline verification of a node's audit log.

Subcommands:

- `checkpoint`: print the current signed checkpoint; with `--key`, sign one for the current size
  first (on demand), otherwise print the latest one the node signed.
- `prove`: print a receipt for one entry (`--index`, a C2SP tlog-proof) or a consistency proof
  from an earlier size to the latest checkpoint (`--from-size`).
- `export`: write a self-contained bundle in the C2SP tlog-tiles layout for auditors.
- `verify`: check an export offline against the node's public key, earlier checkpoints and
  receipts held by counterparts, and the cosignatures of witnesses whose keys the auditor gives
  (`--witness-key`, with `--require-witness` to demand one on the export's checkpoint); exit 0
  only when everything holds, 1 when a check fails.

The log is named by `--database` (the node's SQLite file) and signed with `--key` (an Ed25519
PKCS #8 PEM file, optionally encrypted; its passphrase comes from `--passphrase-env` or
`--passphrase-file`); the checkpoint origin is the node id, `--origin`, which the log remembers
after its first checkpoint. Bad input is reported on one line with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.options import non_negative, positive
from crypto.errors import CryptoError, InputError

if TYPE_CHECKING:
    from crypto.cosignature import CosignatureVerifier
    from crypto.signed_note import Ed25519Verifier
    from node.audit.checkpoints import CheckpointIssuer
    from node.audit.receipts import Receipt
    from node.audit.store import AuditLog

__all__ = ["register"]

EXIT_VERIFICATION_FAILED = 1


def register(subparsers: Any) -> None:  # noqa: ANN401 (argparse's subparsers type is private)
    """Add `audit` and its subcommands to the `blindhit` parser."""
    parser = subparsers.add_parser(
        "audit",
        help="checkpoints, proofs, exports and offline verification of the audit log",
        description="Checkpoints, proofs, exports and offline verification of a node's "
        "tamper-evident audit log.",
        epilog="Example:\n  blindhit audit verify --export out --public-key node.pub",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="audit_command", metavar="SUBCOMMAND", required=True)

    checkpoint = commands.add_parser(
        "checkpoint",
        help="print the current signed checkpoint",
        description="Print the current signed checkpoint (c2sp.org/tlog-checkpoint). With --key, "
        "sign one for the current size first.",
        epilog="Example:\n  blindhit audit checkpoint --database node.db --key node.pem "
        "--origin fr-dcpj --passphrase-env NODE_KEY_PASSPHRASE",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_database(checkpoint)
    _add_signing(checkpoint)
    checkpoint.set_defaults(handler=_checkpoint)

    prove = commands.add_parser(
        "prove",
        help="print an inclusion receipt or a consistency proof",
        description="Print a receipt proving one entry's inclusion (c2sp.org/tlog-proof), or a "
        "consistency proof from an earlier tree size to the latest checkpoint.",
        epilog="Example:\n  blindhit audit prove --database node.db --index 42 --out 42.tlog-proof",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_database(prove)
    _add_signing(prove)
    target = prove.add_mutually_exclusive_group(required=True)
    target.add_argument("--index", type=non_negative, help="entry to prove included")
    target.add_argument(
        "--from-size", type=positive, help="earlier tree size to prove consistency from"
    )
    prove.add_argument("--out", type=Path, help="write to this file instead of standard output")
    prove.set_defaults(handler=_prove)

    export = commands.add_parser(
        "export",
        help="write a self-contained bundle for auditors (C2SP tlog-tiles)",
        description="Write the log up to its latest checkpoint as a static tlog-tiles directory "
        "with every signed checkpoint. With --key, sign a checkpoint of the current size first.",
        epilog="Example:\n  blindhit audit export --database node.db --out export "
        "--since-checkpoint kept.checkpoint",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_database(export)
    _add_signing(export)
    export.add_argument("--out", type=Path, required=True, help="new directory to write")
    export.add_argument(
        "--since-checkpoint",
        type=Path,
        action="append",
        default=[],
        help="add a consistency proof from this earlier checkpoint (repeatable)",
    )
    export.add_argument(
        "--since-size",
        type=positive,
        action="append",
        default=[],
        help="add a consistency proof from this earlier tree size (repeatable)",
    )
    export.set_defaults(handler=_export)

    verify = commands.add_parser(
        "verify",
        help="verify an export offline and print a report",
        description="Verify an export offline: every hash, every checkpoint signature, "
        "consistency with earlier checkpoints and receipts held by other nodes. Exit 0 only "
        "when all holds, 1 when a check fails.",
        epilog="Example:\n  blindhit audit verify --export export --public-key node.pub "
        "--earlier-checkpoint kept.checkpoint --receipts de.receipts "
        "--witness-key gs-witness.vkey --require-witness",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("--export", type=Path, required=True, help="export directory")
    verify.add_argument(
        "--public-key",
        required=True,
        metavar="FILE_OR_VKEY",
        help="the node's public key: a file holding a PEM public key or a verifier key (a node's "
        "keys/identity.vkey), or the verifier key <name>+<key ID>+<base64> itself",
    )
    verify.add_argument("--origin", help="the log's origin (node id), for a PEM public key")
    verify.add_argument(
        "--earlier-checkpoint",
        type=Path,
        action="append",
        default=[],
        help="a checkpoint kept from earlier that the log must extend (repeatable)",
    )
    verify.add_argument(
        "--receipts",
        type=Path,
        action="append",
        default=[],
        help="a receipts file, or a directory of *.tlog-proof files (repeatable)",
    )
    verify.add_argument(
        "--require-legal-basis",
        action="store_true",
        help="fail on consultation or disclosure entries without a legal basis",
    )
    verify.add_argument(
        "--witness-key",
        metavar="VKEY_OR_FILE",
        action="append",
        default=[],
        help="a witness's verifier key <name>+<key ID>+<base64>, or a file holding one; its "
        "cosignatures in the export are verified (repeatable)",
    )
    verify.add_argument(
        "--require-witness",
        action="store_true",
        help="fail unless the export's checkpoint is cosigned by a witness given",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(handler=_verify)


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", type=Path, required=True, help="the node's SQLite database")


def _add_signing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", type=Path, help="the node's Ed25519 private key (PEM)")
    parser.add_argument("--origin", help="the log's origin: the node id")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--passphrase-env", metavar="VARIABLE", help="key passphrase variable")
    secret.add_argument("--passphrase-file", type=Path, help="file holding the key passphrase")


def _open_log(args: argparse.Namespace) -> AuditLog:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.audit.store import AuditLog

    database: Path = args.database
    if not database.is_file():
        raise InputError(f"audit database {database} does not exist")
    return AuditLog(database, read_only=args.key is None)


def _issuer(args: argparse.Namespace, log: AuditLog) -> CheckpointIssuer | None:
    """Return a checkpoint issuer when `--key` was given, else None."""
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.signed_note import Ed25519Signer
    from node.audit.checkpoints import CheckpointIssuer
    from node.keys.identity import load_private_key, read_passphrase

    if args.key is None:
        if args.passphrase_env or args.passphrase_file:
            raise InputError("a passphrase was given without --key")
        return None
    origin = args.origin or log.origin
    if origin is None:
        raise InputError("give --origin (the node id): this log has no origin yet")
    passphrase = read_passphrase(env=args.passphrase_env, file=args.passphrase_file)
    key = load_private_key(args.key, passphrase)
    try:
        signer = Ed25519Signer(origin, key)
    except CryptoError as exc:
        raise InputError(f"cannot use {origin!r} as origin: {exc}") from exc
    return CheckpointIssuer(log, signer)


def _current_note(log: AuditLog, issuer: CheckpointIssuer | None) -> tuple[int, str]:
    """Return `(size, note)`: a fresh checkpoint with a key, else the latest stored one."""
    if issuer is not None:
        signed = issuer.issue()
        return signed.size, signed.note
    latest = log.latest_checkpoint()
    if latest is None:
        raise InputError("this log has no checkpoint yet; give --key to sign one")
    return latest


def _write_output(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc


def _checkpoint(args: argparse.Namespace) -> int:
    with _open_log(args) as log:
        _, note = _current_note(log, _issuer(args, log))
    sys.stdout.write(note)
    return 0


def _prove(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.audit.receipts import ConsistencyProof, Receipt, issue_receipt

    with _open_log(args) as log:
        issuer = _issuer(args, log)
        if args.index is not None:
            if issuer is not None:
                text = issue_receipt(log, issuer, args.index).to_text()
            else:
                size, note = _current_note(log, None)
                if args.index >= size:
                    raise InputError(
                        f"the latest checkpoint (size {size}) does not hold entry {args.index}; "
                        "give --key to sign a newer one"
                    )
                proof = tuple(log.inclusion_proof(args.index, size))
                text = Receipt(args.index, log.entry_bytes(args.index), proof, note).to_text()
        else:
            size, note = _current_note(log, issuer)
            if args.from_size > size:
                raise InputError(
                    f"expected an earlier size up to the latest checkpoint's {size}, "
                    f"got {args.from_size}"
                )
            consistency = tuple(log.consistency_proof(args.from_size, size))
            text = ConsistencyProof(args.from_size, size, consistency, note).to_text()
    _write_output(text, args.out)
    return 0


def _checkpoint_size(path: Path) -> int:
    """Return the tree size of a checkpoint file (its signature is for the auditor to check)."""
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.signed_note import Checkpoint, parse_note

    try:
        return Checkpoint.from_body(parse_note(path.read_bytes()).text).size
    except OSError as exc:
        raise InputError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from exc
    except CryptoError as exc:
        raise InputError(f"{path} is not a checkpoint: {exc}") from exc


def _export(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.audit.export import export_log

    since = [*args.since_size, *(_checkpoint_size(path) for path in args.since_checkpoint)]
    with _open_log(args) as log:
        _, note = _current_note(log, _issuer(args, log))
        summary = export_log(log, args.out, note, since_sizes=since)
    print(
        f"exported {summary.checkpoint.size} entries of {summary.checkpoint.origin} to "
        f"{summary.directory} ({summary.files} files, {len(summary.checkpoint_sizes)} "
        f"checkpoints, consistency proofs from {list(summary.consistency_from) or 'none'})"
    )
    return 0


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} {path}: {exc}") from exc


def _load_receipts(paths: list[Path]) -> list[tuple[str, Receipt]]:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.audit.receipts import parse_receipts

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.glob("*.tlog-proof"))
        else:
            files.append(path)
    receipts: list[tuple[str, Receipt]] = []
    for path in files:
        try:
            parsed = parse_receipts(_read_text(path, "receipts"))
        except CryptoError as exc:
            raise InputError(f"{path} holds no readable receipts: {exc}") from exc
        receipts += [
            (f"receipt {number} of {path.name}", receipt)
            for number, receipt in enumerate(parsed, start=1)
        ]
    return receipts


def _load_witness_key(value: str) -> CosignatureVerifier:
    """Parse a witness verifier key given inline or in a file."""
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.cosignature import CosignatureVerifier

    path = Path(value)
    if path.is_file():
        text = _read_text(path, "witness key").strip()
    elif "+" in value:
        text = value
    else:
        raise InputError(f"witness key file {value} does not exist")
    try:
        return CosignatureVerifier.from_verifier_key(text)
    except CryptoError as exc:
        raise InputError(
            f"--witness-key {value}: expected a witness verifier key <name>+<key ID>+<base64>: "
            f"{exc}"
        ) from exc


def _node_verifier(value: str, origin: str | None, fallback: str | None) -> Ed25519Verifier:
    """The node's key from a file, or a verifier key given inline (as `--witness-key` takes)."""
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.signed_note import Ed25519Verifier
    from node.keys.identity import load_verifier

    path = Path(value)
    if path.exists() or "+" not in value:
        return load_verifier(path, origin, fallback_name=fallback)
    try:
        verifier = Ed25519Verifier.from_verifier_key(value.strip())
    except CryptoError as exc:
        raise InputError(
            f"--public-key: no file {value} and not a verifier key <name>+<key ID>+<base64>: {exc}"
        ) from exc
    if origin is not None and verifier.name != origin:
        raise InputError(f"--public-key is named {verifier.name!r}, expected {origin!r}")
    return verifier


def _export_origin(directory: Path) -> str | None:
    """Return the origin line of an export's checkpoint, unverified, to name a PEM key."""
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from crypto.signed_note import Checkpoint, parse_note

    try:
        return Checkpoint.from_body(parse_note((directory / "checkpoint").read_bytes()).text).origin
    except (OSError, CryptoError):
        return None


def _verify(args: argparse.Namespace) -> int:
    # Imported when the verb runs, not when the parser is built (see cli.main).
    from node.audit.verify import verify_export

    if not args.export.is_dir():
        raise InputError(f"{args.export} is not an export directory")
    verifier = _node_verifier(args.public_key, args.origin, _export_origin(args.export))
    earlier = [
        (f"earlier checkpoint {path.name}", _read_text(path, "checkpoint"))
        for path in args.earlier_checkpoint
    ]
    receipts = _load_receipts(args.receipts)
    witnesses = [_load_witness_key(value) for value in args.witness_key]
    if args.require_witness and not witnesses:
        raise InputError("--require-witness needs at least one --witness-key")
    report = verify_export(
        args.export,
        verifier,
        earlier_checkpoints=earlier,
        receipts=receipts,
        require_legal_basis=args.require_legal_basis,
        witnesses=witnesses,
        require_witness=args.require_witness,
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        sys.stdout.write(report.render())
    first = report.first_failure
    if first is not None:
        print(f"blindhit: verification failed: {first.render()}", file=sys.stderr)
        return EXIT_VERIFICATION_FAILED
    return 0
