"""`node.config`: the TOML schema, its errors (file, key path, problem) and the writer."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from crypto.errors import InputError
from crypto.oprf import Mode, Suite
from crypto.signed_note import Ed25519Signer
from node.config import (
    DEFAULT_MAX_BATCH,
    Dataset,
    KeySettings,
    Limits,
    NodeConfig,
    NodeSettings,
    PolicyRule,
    load_config,
    render_config,
    write_config,
)
from protocol.admission import QueryMode
from protocol.directory import Peer
from protocol.validation import HostPort, check_country, check_node_id, parse_host_port


def verifier_key(name: str, seed: int) -> str:
    return Ed25519Signer.from_seed(name, bytes([seed]) * 32).verifier_key()


FINGERPRINT = "sha256:" + "ab" * 32

GOOD = f"""
[node]
id = "fr-ct"
country = "FRA"
listen = "0.0.0.0:7443"
database = "data/node.db"

[keys]
passphrase_env = "FR_CT_PASSPHRASE"

[limits]
max_batch = 2048
max_message_bytes = 8388608
deadline_seconds = 5
sync_deadline_seconds = 120.5

[[peers]]
id = "de-bka"
endpoint = "bka.example.de:7443"
certificate_fingerprint = "{FINGERPRINT}"
identity_key = "{verifier_key("de-bka", 1)}"

[[peers]]
id = "es-cnp"
endpoint = "[2001:db8::7]:7443"
identity_key = "{verifier_key("es-cnp", 2)}"

[[peers]]
id = "it-dcsa"
endpoint = "192.0.2.10:7443"
identity_key = "{verifier_key("it-dcsa", 3)}"

[datasets.persons]
suite = "ristretto255-SHA512"
mode = "OPRF"
pad_to_bucket = true
description = "Wanted persons"

[datasets.documents]
suite = "P256-SHA256"
mode = "VOPRF"

[[policy]]
peer = "de-bka"
datasets = ["persons", "documents"]
modes = ["index", "owner-match"]
max_batch = 1024
daily_quota = 100000

[[policy]]
peer = "es-cnp"
datasets = ["documents"]
modes = ["owner-match"]
daily_quota = 5000
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads_with_types_and_resolved_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))

    assert config.directory == tmp_path
    assert config.node == NodeSettings(
        "fr-ct", "FRA", HostPort("0.0.0.0", 7443), tmp_path / "data" / "node.db"
    )
    assert config.keys == KeySettings(passphrase_env="FR_CT_PASSPHRASE")
    assert config.limits == Limits(2048, 8388608, 5.0, 120.5)
    assert [peer.id for peer in config.peers] == ["de-bka", "es-cnp", "it-dcsa"]
    de = config.peer("de-bka")
    assert de is not None
    assert de.endpoint == HostPort("bka.example.de", 7443)
    assert de.certificate_fingerprint == FINGERPRINT
    assert de.identity_key.verifier_key() == verifier_key("de-bka", 1)
    es = config.peer("es-cnp")
    assert es is not None
    assert es.endpoint == HostPort("2001:db8::7", 7443)
    assert str(es.endpoint) == "[2001:db8::7]:7443"
    assert es.certificate_fingerprint is None
    assert config.dataset("persons") == Dataset(
        "persons", Suite.RISTRETTO255_SHA512, Mode.OPRF, True, "Wanted persons"
    )
    assert config.dataset("documents") == Dataset("documents", Suite.P256_SHA256, Mode.VOPRF)
    assert config.policy[0] == PolicyRule(
        "de-bka", ("persons", "documents"), (QueryMode.INDEX, QueryMode.OWNER_MATCH), 1024, 100000
    )
    # A rule without max_batch takes the node's limit.
    assert config.policy[1].max_batch == 2048
    assert config.rule_for("es-cnp", "documents") == config.policy[1]
    assert config.rule_for("es-cnp", "persons") is None
    assert config.rule_for("it-dcsa", "persons") is None


def test_minimal_file_takes_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[node]\nid = "fr-ct"\ncountry = "FRA"\n[keys]\npassphrase_file = "secret"\n',
    )
    config = load_config(path)
    assert config.node.listen == HostPort("127.0.0.1", 7443)
    assert config.node.database == tmp_path / "node.db"
    assert config.keys.passphrase_file == tmp_path / "secret"
    assert config.limits.max_batch == DEFAULT_MAX_BATCH
    assert (config.peers, config.datasets, config.policy) == ((), (), ())


def test_absolute_paths_stay_absolute(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "passphrase"
    text = GOOD.replace('passphrase_env = "FR_CT_PASSPHRASE"', f'passphrase_file = "{secret}"')
    assert load_config(write(tmp_path / ".", text)).keys.passphrase_file == secret


def test_render_then_load_gives_the_same_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    tricky = 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f é 東京 🙂'
    config = dataclasses.replace(
        config,
        datasets=(dataclasses.replace(config.datasets[0], description=tricky), config.datasets[1]),
    )
    text = render_config(config)
    # The text is TOML any reader accepts, not only this module's loader.
    assert tomllib.loads(text)["datasets"]["persons"]["description"] == tricky
    assert load_config(write(tmp_path, text)) == config


def test_render_writes_paths_relative_to_the_directory(tmp_path: Path) -> None:
    config = NodeConfig(
        directory=tmp_path,
        node=NodeSettings("fr-ct", "FRA", HostPort("::1", 0), tmp_path / "db" / "node.db"),
        keys=KeySettings(passphrase_file=Path("/run/secrets/fr-ct")),
    )
    document = tomllib.loads(render_config(config))
    assert document["node"]["database"] == "db/node.db"
    assert document["node"]["listen"] == "[::1]:0"
    assert document["keys"] == {"passphrase_file": "/run/secrets/fr-ct"}
    assert load_config(write(tmp_path, render_config(config))) == config


def test_render_refuses_text_toml_cannot_hold(tmp_path: Path) -> None:
    config = NodeConfig(
        directory=tmp_path,
        node=NodeSettings("fr-ct", "FRA", HostPort("::1", 0), tmp_path / "node.db"),
        keys=KeySettings(passphrase_file=Path("/run/\udcff")),
    )
    with pytest.raises(InputError, match="not valid Unicode"):
        render_config(config)


def test_write_config_never_replaces_a_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    target = tmp_path / "new.toml"
    write_config(target, config)
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(InputError, match="exists"):
        write_config(target, config)


# One case per class of bad input: (id, text to replace in GOOD, replacement, expected message).
BAD_CASES = [
    ("not-toml", "[node]", "[node", "not valid TOML"),
    ("missing-table", '[keys]\npassphrase_env = "FR_CT_PASSPHRASE"', "", "keys: missing table"),
    ("missing-key", 'country = "FRA"', "", "node.country: missing; expected a string"),
    ("unknown-top-key", "[node]", 'colour = "blue"\n[node]', "colour: unknown key"),
    (
        "unknown-key",
        'country = "FRA"',
        'country = "FRA"\ncolour = "blue"',
        "node.colour: unknown key (known keys here: country, database, id, listen)",
    ),
    ("wrong-type", 'id = "fr-ct"', "id = 7", "node.id: expected a string, got integer 7"),
    ("bad-node-id", 'id = "fr-ct"', 'id = "FR_CT"', "node.id: expected a node id"),
    ("bad-country", 'country = "FRA"', 'country = "FR"', "node.country: expected an ISO 3166-1"),
    ("bad-listen", '"0.0.0.0:7443"', '"0.0.0.0"', "node.listen: expected HOST:PORT"),
    ("bad-port", '"0.0.0.0:7443"', '"0.0.0.0:70000"', "node.listen: expected a port"),
    (
        "two-passphrase-sources",
        'passphrase_env = "FR_CT_PASSPHRASE"',
        'passphrase_env = "FR_CT_PASSPHRASE"\npassphrase_file = "p"',
        "keys: expected exactly one of passphrase_env",
    ),
    (
        "bad-variable",
        '"FR_CT_PASSPHRASE"',
        '"1-PASS"',
        "keys.passphrase_env: expected an environment variable name",
    ),
    (
        "batch-out-of-range",
        "max_batch = 2048",
        "max_batch = 0",
        "limits.max_batch: expected an integer from 1",
    ),
    (
        "boolean-for-integer",
        "max_batch = 2048",
        "max_batch = true",
        "limits.max_batch: expected an integer, got boolean True",
    ),
    (
        "bad-deadline",
        "deadline_seconds = 5",
        "deadline_seconds = nan",
        "limits.deadline_seconds: expected seconds above 0",
    ),
    (
        "peer-endpoint",
        '"192.0.2.10:7443"',
        '"192.0.2.10:0"',
        "peers[2].endpoint: expected a port from 1 to 65535",
    ),
    (
        "peer-duplicate",
        'id = "it-dcsa"',
        'id = "de-bka"',
        "peers[2].id: duplicate peer id 'de-bka' (also peers[0].id)",
    ),
    ("peer-is-self", 'id = "it-dcsa"', 'id = "fr-ct"', "peers[2].id: 'fr-ct' is this node's own"),
    (
        "peer-fingerprint",
        FINGERPRINT,
        FINGERPRINT.upper(),
        "peers[0].certificate_fingerprint: expected a certificate fingerprint",
    ),
    (
        "peer-identity-key-malformed",
        verifier_key("es-cnp", 2),
        "es-cnp+00000000+AAAA",
        "peers[1].identity_key: expected a verifier key",
    ),
    (
        "peer-identity-key-other-name",
        verifier_key("es-cnp", 2),
        verifier_key("it-dcsa", 2),
        "peers[1].identity_key: the key is named 'it-dcsa' but the peer is 'es-cnp'",
    ),
    (
        "peer-unknown-key",
        'endpoint = "192.0.2.10:7443"',
        'endpoint = "192.0.2.10:7443"\nregion = "EU"',
        "peers[2].region: unknown key",
    ),
    ("misspelt-table", '[[peers]]\nid = "de-bka"', '[[peer]]\nid = "de-bka"', "peer: unknown key"),
    (
        "dataset-suite",
        'suite = "P256-SHA256"',
        'suite = "P384-SHA384"',
        "datasets.documents.suite: expected one of ristretto255-SHA512, P256-SHA256",
    ),
    ("dataset-mode", 'mode = "VOPRF"', 'mode = "voprf"', "datasets.documents.mode: expected one"),
    (
        "dataset-boolean",
        "pad_to_bucket = true",
        'pad_to_bucket = "yes"',
        "datasets.persons.pad_to_bucket: expected true or false, got string 'yes'",
    ),
    (
        "dataset-name",
        "[datasets.documents]",
        '[datasets."Travel Documents"]',
        'datasets."Travel Documents": expected a dataset name',
    ),
    (
        "policy-unknown-peer",
        'peer = "es-cnp"',
        'peer = "nl-kmar"',
        "policy[1].peer: unknown peer 'nl-kmar'",
    ),
    (
        "policy-unknown-dataset",
        'datasets = ["persons", "documents"]',
        'datasets = ["persons", "vehicles"]',
        "policy[0].datasets[1]: unknown dataset 'vehicles'",
    ),
    (
        "policy-overlap",
        'peer = "es-cnp"',
        'peer = "de-bka"',
        "policy[1].datasets[0]: peer 'de-bka' already has a rule for dataset 'documents' "
        "(policy[0])",
    ),
    (
        "policy-repeat",
        'datasets = ["persons", "documents"]',
        'datasets = ["persons", "persons"]',
        "policy[0].datasets[1]: 'persons' is listed twice",
    ),
    (
        "policy-mode",
        'modes = ["owner-match"]',
        'modes = ["owner_match"]',
        "policy[1].modes[0]: expected one of 'index', 'owner-match'",
    ),
    ("policy-no-modes", 'modes = ["owner-match"]', "modes = []", "policy[1].modes: expected a non"),
    (
        "policy-item-type",
        'datasets = ["documents"]',
        "datasets = [5]",
        "policy[1].datasets[0]: expected a string, got integer 5",
    ),
    (
        "policy-batch-above-limit",
        "max_batch = 1024",
        "max_batch = 4096",
        "policy[0].max_batch: 4096 is above limits.max_batch = 2048",
    ),
    ("policy-quota-missing", "daily_quota = 5000", "", "policy[1].daily_quota: missing"),
]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [pytest.param(old, new, message, id=case) for case, old, new, message in BAD_CASES],
)
def test_bad_input_names_file_and_key_path(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_config(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read configuration .*missing\.toml"):
        load_config(tmp_path / "missing.toml")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_bytes(b'[node]\nid = "\xff"\n')
    with pytest.raises(InputError, match="not UTF-8"):
        load_config(path)


@pytest.mark.parametrize("node_id", ["fr-ct", "abc", "a1-b2-c3", "x" * 63])
def test_valid_node_ids(node_id: str) -> None:
    assert check_node_id(node_id, "id") == node_id


@pytest.mark.parametrize(
    "node_id", ["ab", "x" * 64, "FR-CT", "fr_ct", "fr--ct", "-frct", "frct-", "1frct", "fr ct", ""]
)
def test_invalid_node_ids(node_id: str) -> None:
    with pytest.raises(InputError, match=r"^--node-id: expected a node id"):
        check_node_id(node_id, "--node-id")


@pytest.mark.parametrize("country", ["fra", "FR", "FRAN", "F1A", "ÉTA"])
def test_invalid_countries(country: str) -> None:
    with pytest.raises(InputError, match="alpha-3"):
        check_country(country, "--country")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:7443", HostPort("127.0.0.1", 7443)),
        ("localhost:1", HostPort("localhost", 1)),
        ("node.fr.example.:443", HostPort("node.fr.example.", 443)),
        ("[::1]:65535", HostPort("::1", 65535)),
    ],
)
def test_parse_host_port(text: str, expected: HostPort) -> None:
    assert parse_host_port(text, "x") == expected


@pytest.mark.parametrize(
    "text",
    ["7443", ":7443", "::1:7443", "[::1]7443", "[127.0.0.1]:1", "host:port", "bad_host:1", "a:-1"],
)
def test_parse_host_port_refuses(text: str) -> None:
    with pytest.raises(InputError, match=r"^--listen: expected"):
        parse_host_port(text, "--listen")


def test_port_zero_only_where_allowed() -> None:
    assert parse_host_port("127.0.0.1:0", "x", allow_port_zero=True).port == 0
    with pytest.raises(InputError, match="from 1 to 65535"):
        parse_host_port("127.0.0.1:0", "x")


def test_passphrase_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    variable = "BLINDHIT_TEST_CONFIG_PASSPHRASE"
    monkeypatch.setenv(variable, "from the environment")
    assert KeySettings(passphrase_env=variable).read_passphrase() == b"from the environment"
    secret = tmp_path / "secret"
    secret.write_bytes(b"from a file\n")
    assert KeySettings(passphrase_file=secret).read_passphrase() == b"from a file"
    monkeypatch.setenv(variable, "")
    with pytest.raises(InputError, match=f"passphrase in environment variable {variable} is empty"):
        KeySettings(passphrase_env=variable).read_passphrase()
    monkeypatch.delenv(variable)
    with pytest.raises(InputError, match=f"{variable} holding the passphrase is not set"):
        KeySettings(passphrase_env=variable).read_passphrase()


def test_peer_is_hashable_and_frozen() -> None:
    peer = Peer(
        "de-bka",
        HostPort("bka.example.de", 7443),
        Ed25519Signer.from_seed("de-bka", bytes(32)).verifier(),
    )
    assert hash(peer) == hash(dataclasses.replace(peer))
    with pytest.raises(dataclasses.FrozenInstanceError):
        peer.id = "x"  # type: ignore[misc]
