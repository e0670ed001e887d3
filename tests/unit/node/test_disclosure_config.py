"""`node.config`: standing disclosure rules (`[[disclosure_rules]]`) and `releasable_fields`."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from crypto.errors import InputError
from crypto.signed_note import Ed25519Signer
from node.config import load_config, render_config
from node.datasets.sources import RECORD_FIELDS
from protocol.disclosure import Handling, HandlingCode, StandingRule, Urgency


def verifier_key(name: str, seed: int) -> str:
    return Ed25519Signer.from_seed(name, bytes([seed]) * 32).verifier_key()


# The smallest valid file, then what rules need: peers to name and datasets to release from.
BASE = f"""[node]
id = "fr-ct"
country = "FRA"

[keys]
passphrase_file = "secret"

[[peers]]
id = "de-bka"
endpoint = "bka.example.de:7443"
identity_key = "{verifier_key("de-bka", 1)}"

[[peers]]
id = "es-cnp"
endpoint = "192.0.2.10:7443"
identity_key = "{verifier_key("es-cnp", 2)}"

[datasets.persons]
releasable_fields = ["family_name", "given_names", "date_of_birth", "nationality"]

[datasets.documents]
"""

RULE = """
[[disclosure_rules]]
name = "bka-urgent-identity"
peer = "de-bka"
datasets = ["persons", "documents"]
fields = ["family_name", "given_names", "date_of_birth"]
urgency = ["urgent"]
handling = ["H0", "h2", "H3:destroy after the case is closed"]
expiry_days = 30
contact = "DCPJ duty officer +33 1 00 00 00 00"
"""

SECOND_RULE = """
[[disclosure_rules]]
name = "cnp-documents"
peer = "es-cnp"
datasets = ["documents"]
fields = ["document_number"]
urgency = ["standard", "urgent"]
handling = ["H1"]
expiry_days = 1
contact = "CNP"
"""

GOOD = BASE + RULE + SECOND_RULE


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rules_load_with_types(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.disclosure_rules == (
        StandingRule(
            name="bka-urgent-identity",
            peer="de-bka",
            datasets=("persons", "documents"),
            fields=("family_name", "given_names", "date_of_birth"),
            urgencies=(Urgency.URGENT,),
            handling=(
                Handling(HandlingCode.H0),
                Handling(HandlingCode.H2),
                Handling(HandlingCode.H3, "destroy after the case is closed"),
            ),
            expiry=timedelta(days=30),
            contact="DCPJ duty officer +33 1 00 00 00 00",
        ),
        StandingRule(
            name="cnp-documents",
            peer="es-cnp",
            datasets=("documents",),
            fields=("document_number",),
            urgencies=(Urgency.STANDARD, Urgency.URGENT),
            handling=(Handling(HandlingCode.H1),),
            expiry=timedelta(days=1),
            contact="CNP",
        ),
    )


def test_no_rules_by_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.disclosure_rules == ()
    # A rule needs no [[policy]] entry to load; the owner admits only peers a policy allows.
    assert config.policy == ()


def test_urgency_defaults_to_both(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + RULE.replace('urgency = ["urgent"]\n', "")))
    assert config.disclosure_rules[0].urgencies == (Urgency.URGENT, Urgency.STANDARD)


def test_releasable_fields(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    persons = config.dataset("persons")
    documents = config.dataset("documents")
    assert persons is not None
    assert documents is not None
    assert persons.releasable_fields == (
        "family_name",
        "given_names",
        "date_of_birth",
        "nationality",
    )
    assert persons.releases("date_of_birth")
    assert not persons.releases("document_number")
    # Without the key, every record field may be released.
    assert documents.releasable_fields is None
    assert all(documents.releases(name) for name in RECORD_FIELDS)


# One case per class of bad input: (id, text to replace in GOOD, replacement, expected message).
BAD_CASES = [
    (
        "unknown-peer",
        'peer = "de-bka"',
        'peer = "nl-kmar"',
        "disclosure_rules[0].peer: unknown peer 'nl-kmar' (no [[peers]] entry has this id)",
    ),
    (
        "unknown-dataset",
        'datasets = ["persons", "documents"]',
        'datasets = ["persons", "vehicles"]',
        "disclosure_rules[0].datasets[1]: unknown dataset 'vehicles' "
        "(no [datasets.<name>] table has this name)",
    ),
    (
        "no-datasets",
        'datasets = ["persons", "documents"]',
        "datasets = []",
        "disclosure_rules[0].datasets: expected a non-empty array of strings, got []",
    ),
    (
        "unknown-field",
        'fields = ["document_number"]',
        'fields = ["document_number", "shoe_size"]',
        "disclosure_rules[1].fields[1]: unknown record field 'shoe_size'",
    ),
    (
        "field-never-released",
        'fields = ["family_name", "given_names", "date_of_birth"]',
        'fields = ["family_name", "document_number"]',
        "disclosure_rules[0].fields[1]: dataset persons never releases document_number",
    ),
    (
        "no-fields",
        'fields = ["document_number"]',
        "fields = []",
        "disclosure_rules[1].fields: expected a non-empty array of strings, got []",
    ),
    (
        "field-twice",
        'fields = ["family_name", "given_names", "date_of_birth"]',
        'fields = ["family_name", "family_name"]',
        "disclosure_rules[0].fields[1]: 'family_name' is listed twice",
    ),
    (
        "bad-urgency",
        'urgency = ["standard", "urgent"]',
        'urgency = ["standard", "asap"]',
        "disclosure_rules[1].urgency[1]: expected 'urgent' or 'standard', got 'asap'",
    ),
    (
        "urgency-case",
        'urgency = ["urgent"]',
        'urgency = ["URGENT"]',
        "disclosure_rules[0].urgency[0]: expected 'urgent' or 'standard', got 'URGENT'",
    ),
    (
        "bad-handling-code",
        'handling = ["H1"]',
        'handling = ["H9"]',
        "disclosure_rules[1].handling[0]: unknown handling code 'H9': "
        "expected H0, H1, H2 or H3:<text>",
    ),
    (
        "h3-without-text",
        'handling = ["H1"]',
        'handling = ["H1", "H3"]',
        "disclosure_rules[1].handling[1]: handling code H3 needs a text",
    ),
    (
        "h3-blank-text",
        'handling = ["H1"]',
        'handling = ["H3:   "]',
        "disclosure_rules[1].handling[0]: handling code H3 needs a text",
    ),
    (
        "handling-control-characters",
        'handling = ["H1"]',
        'handling = ["H3:destroy\\u0007"]',
        "disclosure_rules[1].handling[0]: handling text contains control characters",
    ),
    (
        "no-handling",
        'handling = ["H1"]',
        "handling = []",
        "disclosure_rules[1].handling: expected a non-empty array of strings, got []",
    ),
    (
        "duplicate-name",
        'name = "cnp-documents"',
        'name = "bka-urgent-identity"',
        "disclosure_rules[1].name: another rule is named 'bka-urgent-identity'",
    ),
    (
        "name-upper-case",
        'name = "cnp-documents"',
        'name = "CNP-documents"',
        "disclosure_rules[1].name: expected a-z, 0-9 and '-', 1..48 characters",
    ),
    (
        "name-underscore",
        'name = "cnp-documents"',
        'name = "cnp_documents"',
        "disclosure_rules[1].name: expected a-z, 0-9 and '-', 1..48 characters",
    ),
    (
        "name-leading-dash",
        'name = "cnp-documents"',
        'name = "-cnp"',
        "disclosure_rules[1].name: expected a-z, 0-9 and '-', 1..48 characters",
    ),
    (
        "name-empty",
        'name = "cnp-documents"',
        'name = ""',
        "disclosure_rules[1].name: expected a-z, 0-9 and '-', 1..48 characters",
    ),
    (
        "name-too-long",
        'name = "cnp-documents"',
        f'name = "{"c" * 49}"',
        "disclosure_rules[1].name: expected a-z, 0-9 and '-', 1..48 characters",
    ),
    (
        "name-not-a-string",
        'name = "cnp-documents"',
        "name = 7",
        "disclosure_rules[1].name: expected a string, got integer 7",
    ),
    (
        "expiry-zero",
        "expiry_days = 1",
        "expiry_days = 0",
        "disclosure_rules[1].expiry_days: expected an integer >= 1, got 0",
    ),
    (
        "expiry-negative",
        "expiry_days = 30",
        "expiry_days = -30",
        "disclosure_rules[0].expiry_days: expected an integer >= 1, got -30",
    ),
    (
        "expiry-float",
        "expiry_days = 30",
        "expiry_days = 1.5",
        "disclosure_rules[0].expiry_days: expected an integer, got float 1.5",
    ),
    (
        "expiry-missing",
        "expiry_days = 30\n",
        "",
        "disclosure_rules[0].expiry_days: missing; expected an integer",
    ),
    (
        "contact-missing",
        'contact = "CNP"\n',
        "",
        "disclosure_rules[1].contact: missing; expected a string",
    ),
    (
        "peer-missing",
        'peer = "es-cnp"\ndatasets = ["documents"]',
        'datasets = ["documents"]',
        "disclosure_rules[1].peer: missing; expected a string",
    ),
    (
        "unknown-key",
        'contact = "CNP"',
        'contact = "CNP"\nofficer = "x"',
        "disclosure_rules[1].officer: unknown key",
    ),
    (
        "releasable-unknown-field",
        'releasable_fields = ["family_name", "given_names", "date_of_birth", "nationality"]',
        'releasable_fields = ["family_name", "shoe_size"]',
        "datasets.persons.releasable_fields[1]: unknown record field 'shoe_size'",
    ),
    (
        "releasable-empty",
        'releasable_fields = ["family_name", "given_names", "date_of_birth", "nationality"]',
        "releasable_fields = []",
        "datasets.persons.releasable_fields: expected a non-empty array of strings, got []",
    ),
    (
        "releasable-twice",
        'releasable_fields = ["family_name", "given_names", "date_of_birth", "nationality"]',
        'releasable_fields = ["family_name", "family_name"]',
        "datasets.persons.releasable_fields[1]: 'family_name' is listed twice",
    ),
    (
        "releasable-not-a-list",
        'releasable_fields = ["family_name", "given_names", "date_of_birth", "nationality"]',
        'releasable_fields = "family_name"',
        "datasets.persons.releasable_fields: expected an array of strings, got string",
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


def test_rules_must_be_an_array_of_tables(tmp_path: Path) -> None:
    path = write(tmp_path, 'disclosure_rules = "all"\n' + BASE)
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: disclosure_rules: expected an array of tables ([[disclosure_rules]]), got string"
    )


def test_a_rule_naming_a_dataset_restricted_elsewhere_is_checked_per_dataset(
    tmp_path: Path,
) -> None:
    # documents releases every field, persons only four: a rule over both obeys persons.
    text = GOOD.replace(
        'datasets = ["documents"]\nfields = ["document_number"]',
        'datasets = ["documents", "persons"]\nfields = ["document_number"]',
    )
    with pytest.raises(InputError, match=r"fields\[0\]: dataset persons never releases"):
        load_config(write(tmp_path, text))


def test_render_then_load_keeps_rules_and_releasable_fields(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    text = render_config(config)
    document = tomllib.loads(text)
    assert document["datasets"]["persons"]["releasable_fields"] == [
        "family_name",
        "given_names",
        "date_of_birth",
        "nationality",
    ]
    assert "releasable_fields" not in document["datasets"]["documents"]
    assert document["disclosure_rules"][0]["handling"] == [
        "H0",
        "H2",
        "H3:destroy after the case is closed",
    ]
    again = load_config(write(tmp_path, text))
    assert again == config
    assert again.disclosure_rules == config.disclosure_rules
    assert [d.releasable_fields for d in again.datasets] == [
        d.releasable_fields for d in config.datasets
    ]


def test_render_then_load_keeps_awkward_texts(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    awkward = dataclasses.replace(
        config.disclosure_rules[0],
        handling=(Handling(HandlingCode.H3, 'see: annex "2" \\ 東京'), Handling(HandlingCode.H1)),
        contact='Duty desk "Nord" \\ +33 1 00\tété',
        urgencies=(Urgency.STANDARD,),
    )
    config = dataclasses.replace(config, disclosure_rules=(awkward, config.disclosure_rules[1]))
    again = load_config(write(tmp_path, render_config(config)))
    assert again == config
    assert again.disclosure_rules[0].handling[0].text == 'see: annex "2" \\ 東京'
