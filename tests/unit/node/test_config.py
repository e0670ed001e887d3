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
    FederationSettings,
    KeySettings,
    Limits,
    NodeConfig,
    NodeSettings,
    PolicyRule,
    load_config,
    render_config,
    update_config,
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


def test_the_rendered_file_says_what_an_element_is_and_who_declares_what(tmp_path: Path) -> None:
    config = NodeConfig(
        directory=tmp_path,
        node=NodeSettings("fr-ct", "FRA", HostPort("127.0.0.1", 0), tmp_path / "node.db"),
        keys=KeySettings(passphrase_env="FR_CT_PASSPHRASE"),
    )
    text = render_config(config)
    limits = text[text.index("[limits]") : text.index("max_batch = ")]
    assert "match keys" in limits
    assert "about 10 per person" in limits
    assert "Both sides declare each other in [[peers]]" in text
    assert "a [[policy]] rule for each peer" in text
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
    # A misspelt key is reported as unknown, not as the key it was meant to be being missing.
    (
        "misspelt-key",
        'country = "FRA"',
        'countri = "FRA"',
        "node.countri: unknown key (known keys here: country, database, id, listen)",
    ),
    (
        "table-of-wrong-type",
        "[node]",
        "federation = 5\n[node]",
        "federation: expected a table, got integer 5",
    ),
    (
        "rule-not-a-table",
        "[node]",
        "disclosure_rules = [1]\n[node]",
        "disclosure_rules[0]: expected a table, got integer 1",
    ),
    (
        "seconds-as-text",
        "deadline_seconds = 5",
        'deadline_seconds = "5"',
        "limits.deadline_seconds: expected a number of seconds, got string '5'",
    ),
    (
        "integer-from-float",
        "daily_quota = 5000",
        "daily_quota = 5000.0",
        "policy[1].daily_quota: expected an integer, got float 5000.0",
    ),
    (
        "dataset-not-a-table",
        "[datasets.documents]",
        "[datasets]\ndocuments = 5\n[datasets.x]",
        "datasets.documents: expected a table, got integer 5",
    ),
    (
        "peer-dataset-name",
        'identity_key = "' + verifier_key("de-bka", 1) + '"',
        'identity_key = "' + verifier_key("de-bka", 1) + '"\ndatasets = ["persons", "No Such"]',
        "peers[0].datasets[1]: expected a dataset name",
    ),
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


def test_a_peer_may_list_the_datasets_it_offers(tmp_path: Path) -> None:
    key_line = 'identity_key = "' + verifier_key("de-bka", 1) + '"'
    path = write(
        tmp_path, GOOD.replace(key_line, key_line + '\ndatasets = ["persons", "vehicles"]')
    )
    config = load_config(path)
    peer = config.peer("de-bka")
    assert peer is not None
    assert peer.datasets == ("persons", "vehicles")
    # It survives a render and a load, and a peer without the key offers none it names.
    again = write(tmp_path, render_config(config))
    assert load_config(again).peers == config.peers
    assert load_config(write(tmp_path, GOOD)).peers[0].datasets == ()


def test_peer_is_hashable_and_frozen() -> None:
    peer = Peer(
        "de-bka",
        HostPort("bka.example.de", 7443),
        Ed25519Signer.from_seed("de-bka", bytes(32)).verifier(),
    )
    assert hash(peer) == hash(dataclasses.replace(peer))
    with pytest.raises(dataclasses.FrozenInstanceError):
        peer.id = "x"  # type: ignore[misc]


# Editing a file in place: comments and layout survive, only what changed is rewritten.

COMMENTED = (
    GOOD.replace("[node]", "# Paris central node, run by the duty team.\n[node]  # who we are", 1)
    .replace('listen = "0.0.0.0:7443"', 'listen = "0.0.0.0:7443"   # behind the firewall', 1)
    .replace("deadline_seconds = 5", "deadline_seconds = 5   # the link to Madrid is slow", 1)
    .replace('id = "es-cnp"', '# Madrid, admitted 2025-03 (ticket 4471).\nid = "es-cnp"', 1)
    .replace(
        "[datasets.persons]",
        "# Refreshed nightly from the wanted-persons file.\n[datasets.persons]",
        1,
    )
    + "\n# Keep the quota low until the audit of 2026 is done.\n"
)
COMMENT_LINES = [line.strip() for line in COMMENTED.splitlines() if "#" in line]


def test_update_keeps_comments_and_rewrites_only_what_changed(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    config = load_config(path)
    gs_key = Ed25519Signer.from_seed("gs-lyon", bytes([9]) * 32).verifier()
    newcomer = Peer("nl-kmar", HostPort("kmar.example.nl", 7443), Ed25519Signer.from_seed(
        "nl-kmar", bytes([4]) * 32
    ).verifier())  # fmt: skip
    changed = dataclasses.replace(
        config,
        limits=dataclasses.replace(config.limits, deadline_seconds=7.5),
        peers=(*config.peers, newcomer),
        datasets=(
            dataclasses.replace(config.datasets[0], description="Wanted persons (EU)"),
            config.datasets[1],
        ),
        federation=FederationSettings("gs-lyon", HostPort("gs.example.org", 7400), gs_key),
    )
    update_config(path, changed)

    text = path.read_text(encoding="utf-8")
    assert load_config(path) == changed
    for line in COMMENT_LINES:
        if "deadline_seconds" not in line:
            assert line in text, line
    # The changed value keeps the comment at the end of its line.
    assert "deadline_seconds = 7.5   # the link to Madrid is slow" in text
    assert 'description = "Wanted persons (EU)"' in text
    # Values that did not change are left as written, even where the renderer would differ.
    assert "\ndeadline_seconds = 5\n" not in text
    assert 'listen = "0.0.0.0:7443"   # behind the firewall' in text
    assert "max_batch = 2048\n" in text
    assert "[federation]" in text
    assert text.count("[[peers]]") == 4
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["node.toml"]


def test_update_removes_what_the_new_config_lacks(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    config = load_config(path)
    fewer = dataclasses.replace(config, peers=config.peers[:2], policy=config.policy[:1])
    update_config(path, fewer)
    text = path.read_text(encoding="utf-8")
    assert load_config(path) == fewer
    assert "it-dcsa" not in text
    assert text.count("[[policy]]") == 1
    assert "# Madrid, admitted 2025-03 (ticket 4471)." in text
    assert "# Paris central node, run by the duty team." in text


def test_update_adds_keys_the_file_left_to_defaults(tmp_path: Path) -> None:
    text = '# minimal\n[node]\nid = "fr-ct"\ncountry = "FRA"\n[keys]\npassphrase_file = "s"\n'
    path = write(tmp_path, text)
    config = load_config(path)
    changed = dataclasses.replace(config, limits=Limits(max_batch=100))
    update_config(path, changed)
    assert load_config(path) == changed
    edited = path.read_text(encoding="utf-8")
    assert edited.startswith(text)
    # Only the value that differs from its default is written.
    assert tomllib.loads(edited)["limits"] == {"max_batch": 100}


def test_update_refuses_a_broken_file_and_leaves_it(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    config = load_config(path)
    path.write_text(COMMENTED.replace('country = "FRA"', 'country = "FR"'), encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(InputError, match=r"node\.country: expected an ISO 3166-1"):
        update_config(path, config)
    assert path.read_bytes() == before


def test_update_adds_datasets_as_their_own_tables(tmp_path: Path) -> None:
    text = '[node]\nid = "fr-ct"\ncountry = "FRA"\n[keys]\npassphrase_file = "s"  # on tmpfs\n'
    path = write(tmp_path, text)
    config = load_config(path)
    changed = dataclasses.replace(
        config, datasets=(Dataset("persons", pad_to_bucket=True), Dataset("documents"))
    )
    update_config(path, changed)
    edited = path.read_text(encoding="utf-8")
    assert load_config(path) == changed
    assert "[datasets.persons]" in edited
    assert "[datasets.documents]" in edited
    # No empty [datasets] table above them.
    assert "[datasets]" not in edited
    assert 'passphrase_file = "s"  # on tmpfs' in edited


def test_update_refuses_text_toml_cannot_hold_and_leaves_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    config = load_config(path)
    before = path.read_bytes()
    bad = dataclasses.replace(
        config,
        datasets=(
            dataclasses.replace(config.datasets[0], description="\udcff"),
            config.datasets[1],
        ),
    )
    with pytest.raises(InputError, match="not valid Unicode"):
        update_config(path, bad)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["node.toml"]
