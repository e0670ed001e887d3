"""`blindhit join`, run in-process: it edits node.toml in place, keeping the comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from crypto.signed_note import Ed25519Signer
from federation.ca import certifier, create_ca
from node.config import KeySettings, load_config
from node.home import NodeLayout, init_node_directory
from protocol.validation import HostPort

VARIABLE = "BLINDHIT_TEST_JOIN_PASSPHRASE"
OPERATOR_NOTES = (
    "# Operated by the duty team; change only after a ticket.",
    "# Listen on loopback until the firewall rule is in.",
    "# The database lives on the encrypted volume.",
)


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(VARIABLE, "a join passphrase")
    ca = create_ca(tmp_path / "ca", "Federation CA", b"ca passphrase")
    result = init_node_directory(
        tmp_path / "fr-ct",
        node_id="fr-ct",
        country="FRA",
        listen=HostPort("127.0.0.1", 0),
        keys=KeySettings(passphrase_env=VARIABLE),
        certify=certifier(ca),
    )
    layout = result.layout
    text = layout.config.read_text(encoding="utf-8")
    text = OPERATOR_NOTES[0] + "\n" + text
    text = text.replace("[node]\n", "[node]\n" + OPERATOR_NOTES[1] + "\n", 1)
    text = text.replace('database = "node.db"', 'database = "node.db"  ' + OPERATOR_NOTES[2], 1)
    layout.config.write_text(text, encoding="utf-8")
    return layout.root


def join(node: Path, *extra: str) -> int:
    layout = NodeLayout(node)
    key = Ed25519Signer.from_seed("gs-lyon", bytes([7]) * 32).verifier_key()
    return main(
        [
            "join", "--node", str(node),
            "--certificate", str(layout.tls_certificate), "--ca", str(layout.ca_certificate),
            "--coordinator", "gs-lyon", "--endpoint", "gs.example.org:7400",
            "--identity-key", key, *extra,
        ]
    )  # fmt: skip


def test_join_writes_federation_and_keeps_comments(
    node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = NodeLayout(node).config
    before = path.read_text(encoding="utf-8")
    assert join(node, "--refresh", "30") == 0
    assert "fr-ct joined the federation of gs-lyon" in capsys.readouterr().out

    after = path.read_text(encoding="utf-8")
    for note in OPERATOR_NOTES:
        assert note in after
    # Everything the file held is still there, as it was written; [federation] is added.
    assert after.startswith(before.rstrip("\n"))
    config = load_config(path)
    assert config.federation is not None
    assert config.federation.coordinator == "gs-lyon"
    assert config.federation.endpoint == HostPort("gs.example.org", 7400)
    assert config.federation.refresh_seconds == 30.0
    assert path.stat().st_mode & 0o777 == 0o600

    # Joining again with another interval changes that one value and nothing else.
    assert join(node, "--refresh", "45") == 0
    again = path.read_text(encoding="utf-8")
    assert again == after.replace("refresh_seconds = 30.0", "refresh_seconds = 45.0")


def test_join_refuses_a_broken_node_toml_and_leaves_it(
    node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = NodeLayout(node).config
    path.write_text(path.read_text(encoding="utf-8") + "colour = 'blue'\n", encoding="utf-8")
    before = path.read_bytes()
    capsys.readouterr()
    assert join(node) == 2
    error = capsys.readouterr().err
    assert f"{path}: " in error
    assert "limits.colour: unknown key" in error
    assert error.count("\n") == 1
    assert path.read_bytes() == before
