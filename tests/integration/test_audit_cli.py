"""`blindhit audit` end to end: a real SQLite log, real keys on disk, the CLI run in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cli.main import main
from crypto.cosignature import CosignatureSigner
from crypto.signed_note import Ed25519Signer
from federation.witness import Witness
from node.audit.entries import AuditEntry, Decision, EntryKind, digest_request
from node.audit.export import entry_bundle_path
from node.audit.store import AuditLog
from node.keys.identity import write_private_key, write_public_key

ORIGIN = "fr-dcpj"
PASSPHRASE_VARIABLE = "BLINDHIT_TEST_AUDIT_PASSPHRASE"
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)


def check_entry_number(number: int) -> AuditEntry:
    return AuditEntry(
        kind=EntryKind.CHECK_RECEIVED,
        time=T0 + timedelta(minutes=number),
        node=ORIGIN,
        officer="de-7",
        counterpart="de.bka",
        dataset="persons",
        element_count=300,
        purpose="border-check",
        legal_basis="EU-2016/680:Art.8",
        case_reference=f"DE-{number}",
        request_digest=digest_request(number.to_bytes(4, "big")),
        decision=Decision.ANSWERED,
    )


class Node:
    """A node's files: database, encrypted private key, public key (PEM and verifier key)."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.directory = directory
        self.database = directory / "node.db"
        self.key = directory / "node.pem"
        self.public_key = directory / "node.pub"
        self.verifier_key = directory / "node.vkey"
        private = Ed25519PrivateKey.generate()
        monkeypatch.setenv(PASSPHRASE_VARIABLE, "s3cret passphrase")
        write_private_key(self.key, private, b"s3cret passphrase")
        write_public_key(self.public_key, private.public_key())
        self.verifier_key.write_text(Ed25519Signer(ORIGIN, private).verifier_key() + "\n")

    def append(self, start: int, stop: int) -> None:
        with AuditLog(self.database) as log:
            log.append_many([check_entry_number(i) for i in range(start, stop)])

    def signing(self) -> list[str]:
        return [
            "--database",
            str(self.database),
            "--key",
            str(self.key),
            "--origin",
            ORIGIN,
            "--passphrase-env",
            PASSPHRASE_VARIABLE,
        ]


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Node:
    created = Node(tmp_path, monkeypatch)
    created.append(0, 40)
    return created


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_checkpoint_prove_export_verify(
    node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The auditor's first visit: a checkpoint signed on demand, which the auditor keeps.
    status, kept, _ = run(["audit", "checkpoint", *node.signing()], capsys)
    assert status == 0
    assert kept.startswith(f"{ORIGIN}\n40\n")
    (tmp_path / "kept.checkpoint").write_text(kept)
    # Without a key the command prints the latest checkpoint the node signed.
    status, latest, _ = run(["audit", "checkpoint", "--database", str(node.database)], capsys)
    assert (status, latest) == (0, kept)

    node.append(40, 300)
    receipt = tmp_path / "de.receipts"
    status, _, _ = run(
        ["audit", "prove", *node.signing(), "--index", "250", "--out", str(receipt)], capsys
    )
    assert status == 0
    assert receipt.read_text().startswith("c2sp.org/tlog-proof@v1\n")
    status, consistency, _ = run(
        ["audit", "prove", "--database", str(node.database), "--from-size", "40"], capsys
    )
    assert status == 0
    assert consistency.startswith("blindhit/consistency-proof@v1\nold 40\nnew 300\n")

    export = tmp_path / "export"
    status, out, _ = run(
        [
            "audit",
            "export",
            *node.signing(),
            "--out",
            str(export),
            "--since-checkpoint",
            str(tmp_path / "kept.checkpoint"),
        ],
        capsys,
    )
    assert status == 0
    assert "exported 300 entries of fr-dcpj" in out
    assert (export / "consistency" / "40").is_file()

    verify = [
        "audit",
        "verify",
        "--export",
        str(export),
        "--public-key",
        str(node.public_key),
        "--earlier-checkpoint",
        str(tmp_path / "kept.checkpoint"),
        "--receipts",
        str(receipt),
    ]
    status, out, err = run(verify, capsys)
    assert status == 0, out + err
    assert "result: OK" in out
    assert "1 earlier checkpoints, 1 receipts" in out
    assert "de.bka" in out
    assert "2025-03-01" in out

    status, out, _ = run([*verify, "--json"], capsys)
    report = json.loads(out)
    assert status == 0
    assert report["ok"] is True
    assert report["size"] == 300
    assert report["entries_per_kind"] == {"check_received": 300}

    # The verifier key form names the log itself, so no origin is needed.
    status, _, _ = run(
        ["audit", "verify", "--export", str(export), "--public-key", str(node.verifier_key)],
        capsys,
    )
    assert status == 0
    # As --help says, the verifier key itself may be given instead of its file.
    inline = node.verifier_key.read_text().strip()
    status, out, err = run(
        ["audit", "verify", "--export", str(export), "--public-key", inline], capsys
    )
    assert status == 0, out + err
    assert "result: OK" in out
    status, _, err = run(
        ["audit", "verify", "--export", str(export), "--public-key", inline, "--origin", "x-y"],
        capsys,
    )
    assert status == 2
    assert f"--public-key is named {ORIGIN!r}, expected 'x-y'" in err
    status, _, err = run(
        ["audit", "verify", "--export", str(export), "--public-key", "a+b+c"], capsys
    )
    assert status == 2
    assert "--public-key: no file a+b+c and not a verifier key" in err


def test_receipts_directory_is_read(
    node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receipts = tmp_path / "receipts"
    receipts.mkdir()
    for index in (1, 2, 39):
        target = receipts / f"{index}.tlog-proof"
        prove = ["audit", "prove", *node.signing(), "--index", str(index), "--out", str(target)]
        assert main(prove) == 0
    export = tmp_path / "export"
    assert main(["audit", "export", "--database", str(node.database), "--out", str(export)]) == 0
    capsys.readouterr()
    status, out, _ = run(
        [
            "audit",
            "verify",
            "--export",
            str(export),
            "--public-key",
            str(node.public_key),
            "--receipts",
            str(receipts),
        ],
        capsys,
    )
    assert status == 0
    assert "3 receipts" in out


def test_failed_verification_exits_1_with_the_first_failure(
    node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export"
    assert main(["audit", "export", *node.signing(), "--out", str(export)]) == 0
    bundle = export / entry_bundle_path(0, 40)
    data = bytearray(bundle.read_bytes())
    position = data.index(b'"DE-5"') + 4
    data[position] = ord("6")  # Case reference DE-5 becomes DE-6: one byte of entry 5.
    bundle.write_bytes(bytes(data))
    capsys.readouterr()
    verify = ["audit", "verify", "--export", str(export), "--public-key", str(node.public_key)]
    status, out, err = run(verify, capsys)
    assert status == 1
    assert "result: FAILED" in out
    assert err.startswith("blindhit: verification failed: entries: entry 5: the leaf hash")
    assert err.count("\n") == 1
    status, out, _ = run([*verify, "--json"], capsys)
    assert status == 1
    first = json.loads(out)["first_failure"]
    assert (first["check"], first["index"]) == ("entries", 5)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["checkpoint", "--database", "{dir}/absent.db"], "does not exist"),
        (["checkpoint", "--database", "{db}"], "no checkpoint yet"),
        (["checkpoint", "--database", "{db}", "--key", "{key}", "--origin", "fr"], "passphrase"),
        (
            [
                "checkpoint",
                "--database",
                "{db}",
                "--key",
                "{key}",
                "--origin",
                "fr",
                "--passphrase-env",
                "UNSET_X",
            ],
            "not set",
        ),
        (["checkpoint", "--database", "{db}", "--key", "{db}", "--origin", "fr"], "private key"),
        (["checkpoint", "--database", "{db}", "--passphrase-env", "X"], "without --key"),
        (["prove", "--database", "{db}", "--index", "1"], "no checkpoint yet"),
        (["export", "--database", "{db}", "--out", "{dir}/out"], "no checkpoint yet"),
        (["verify", "--export", "{dir}/absent", "--public-key", "{pub}"], "not an export"),
        (["verify", "--export", "{dir}", "--public-key", "{db}"], "public key"),
        (["verify", "--export", "{dir}", "--public-key", "{pub}"], "origin"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    node: Node,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    values = {
        "dir": str(node.directory),
        "db": str(node.database),
        "key": str(node.key),
        "pub": str(node.public_key),
    }
    status, out, err = run(["audit", *(a.format(**values) for a in arguments)], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("blindhit: ")
    assert err.count("\n") == 1
    assert message in err


def test_origin_is_required_once_then_remembered(
    node: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    without_origin = [
        "audit",
        "checkpoint",
        "--database",
        str(node.database),
        "--key",
        str(node.key),
        "--passphrase-env",
        PASSPHRASE_VARIABLE,
    ]
    status, _, err = run(without_origin, capsys)
    assert status == 2
    assert "--origin" in err
    assert run(["audit", "checkpoint", *node.signing()], capsys)[0] == 0
    status, out, _ = run(without_origin, capsys)
    assert status == 0
    assert out.startswith(f"{ORIGIN}\n40\n")
    status, _, err = run([*without_origin, "--origin", "de.bka"], capsys)
    assert status == 2
    assert "belongs to origin" in err


def test_prove_refuses_what_the_checkpoint_does_not_cover(
    node: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["audit", "checkpoint", *node.signing()], capsys)[0] == 0
    node.append(40, 41)
    database = ["--database", str(node.database)]
    status, _, err = run(["audit", "prove", *database, "--index", "40"], capsys)
    assert status == 2
    assert "give --key" in err
    status, _, err = run(["audit", "prove", *database, "--from-size", "41"], capsys)
    assert status == 2
    status, out, _ = run(["audit", "prove", *node.signing(), "--index", "40"], capsys)
    assert status == 0
    assert "\nindex 40\n" in out


def test_help_texts_carry_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("checkpoint", "prove", "export", "verify"):
        with pytest.raises(SystemExit) as exited:
            main(["audit", command, "--help"])
        assert exited.value.code == 0
        assert f"Example:\n  blindhit audit {command} " in capsys.readouterr().out


def test_witness_cosignatures_are_verified_from_the_export(
    node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The coordinating node's witness cosigns the node's checkpoint, the node keeps the cosigned
    # note, and the auditor checks it in the export with the witness's public key.
    witness_key = CosignatureSigner.from_seed("witness.interpol.int/gs", b"\x5a" * 32)
    (tmp_path / "gs.vkey").write_text(witness_key.verifier_key() + "\n")
    status, note, _ = run(["audit", "checkpoint", *node.signing()], capsys)
    assert status == 0
    with Witness(tmp_path / "coordination.db", witness_key) as witness:
        witness.add_log(ORIGIN, node.verifier_key.read_text().strip())
        cosigned = witness.cosign(ORIGIN, note)
    with AuditLog(node.database) as log:
        log.store_cosigned(40, witness_key.name, cosigned)

    export = tmp_path / "export"
    assert main(["audit", "export", *node.signing(), "--out", str(export)]) == 0
    verify = ["audit", "verify", "--export", str(export), "--public-key", str(node.verifier_key)]
    status, out, err = run(
        [*verify, "--witness-key", str(tmp_path / "gs.vkey"), "--require-witness"], capsys
    )
    assert status == 0, out + err
    assert "witnesses:    2 cosignatures verified" in out
    assert f"{witness_key.verifier().key}: cosigned sizes 40" in out
    # The key can be given inline too.
    status, out, _ = run(
        [*verify, "--witness-key", witness_key.verifier_key(), "--require-witness", "--json"],
        capsys,
    )
    assert status == 0
    assert json.loads(out)["witnesses"][witness_key.verifier().key]["cosigned_sizes"] == [40]

    # The log grows and is exported at a checkpoint no witness has seen: the requirement fails.
    node.append(40, 45)
    newer = tmp_path / "newer"
    assert main(["audit", "export", *node.signing(), "--out", str(newer)]) == 0
    status, out, err = run(
        [
            "audit",
            "verify",
            "--export",
            str(newer),
            "--public-key",
            str(node.verifier_key),
            "--witness-key",
            str(tmp_path / "gs.vkey"),
            "--require-witness",
        ],
        capsys,
    )
    assert status == 1
    assert err.startswith(
        "blindhit: verification failed: witness: the export's checkpoint of size 45 carries no "
        "cosignature by a known witness"
    )
    assert "cosigned sizes 40" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--require-witness"], "needs at least one --witness-key"),
        (["--witness-key", "{dir}/absent.vkey"], "does not exist"),
        (["--witness-key", "{vkey}"], "signature type 0x04"),
        (["--witness-key", "w+00000000+AAAA"], "expected a witness verifier key"),
    ],
)
def test_bad_witness_keys_are_one_line_and_exit_2(
    node: Node, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main(["audit", "export", *node.signing(), "--out", str(node.directory / "x")]) == 0
    capsys.readouterr()
    values = {"dir": str(node.directory), "vkey": str(node.verifier_key)}
    verify = [
        "audit",
        "verify",
        "--export",
        str(node.directory / "x"),
        "--public-key",
        str(node.verifier_key),
    ]
    status, out, err = run([*verify, *(a.format(**values) for a in arguments)], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("blindhit: ")
    assert err.count("\n") == 1
    assert message in err
