"""DNA STR profiles: parsing, wildcards, reference sets and near-match keys."""

from __future__ import annotations

import pytest

from crypto.errors import InputError
from protocol.match_keys.dna import MIN_NEAR_LOCI, REFERENCE_SETS, dna_keys, parse_dna_profile
from protocol.match_keys.keys import WarningCode

ELS7 = {
    "D3S1358": "15,16",
    "vWA": [17, 18],
    "D8S1179": "13",
    "D21S11": "29, 30.2",
    "D18S51": "14/17",
    "TH01": [6, 9.3],
    "FGA": "21,24",
    "Amelogenin": "X,Y",
}


def test_full_reference_set_gives_exact_and_near_keys() -> None:
    keys = dna_keys(parse_dna_profile(ELS7, "dna"))
    assert keys.exact == (
        "D18S51=14,17;D21S11=29,30.2;D3S1358=15,16;D8S1179=13;FGA=21,24;TH01=6,9.3;VWA=17,18",
    )
    assert len(keys.near) == 7
    assert all(value.count("=") == MIN_NEAR_LOCI for value in keys.near)
    assert keys.findings == ()


def test_one_mismatch_shares_a_near_key() -> None:
    other = dict(ELS7, FGA="22,24")
    first = dna_keys(parse_dna_profile(ELS7, "dna"))
    second = dna_keys(parse_dna_profile(other, "dna"))
    assert not set(first.exact) & set(second.exact)
    assert len(set(first.near) & set(second.near)) == 1


def test_wildcard_makes_the_locus_untyped_but_near_keys_remain() -> None:
    profile = parse_dna_profile(dict(ELS7, TH01="6,*"), "dna")
    keys = dna_keys(profile)
    assert keys.exact == ()
    full = dna_keys(parse_dna_profile(ELS7, "dna"))
    assert set(keys.near) & set(full.near)


def test_notations_are_equivalent() -> None:
    as_text = "D3S1358=16,15; VWA=18,17; D8S1179=13,13; D21S11=30.2,29; D18S51=17,14; " + (
        "THO1=9.3,6; FIBRA=24,21"
    )
    assert dna_keys(parse_dna_profile(as_text, "dna")) == dna_keys(parse_dna_profile(ELS7, "dna"))


def test_fewer_than_six_loci_are_not_keyed() -> None:
    small = dict.fromkeys(REFERENCE_SETS["ELS7"][:5], "10,11")
    keys = dna_keys(parse_dna_profile(small, "dna"))
    assert keys.exact == ()
    assert keys.near == ()
    assert [code for code, _ in keys.findings] == [WarningCode.NOT_KEYED]


def test_likely_mixture_is_not_keyed() -> None:
    mixture = dict(ELS7, D3S1358="14,15,16", vWA="16,17,18", FGA="20,21,24")
    keys = dna_keys(parse_dna_profile(mixture, "dna"))
    assert keys.exact == keys.near == ()
    assert "mixture" in keys.findings[0][1]


def test_ess12_profile_gives_keys_for_both_european_sets() -> None:
    profile = dict.fromkeys(REFERENCE_SETS["ESS12"], "10,12")
    keys = dna_keys(parse_dna_profile(profile, "dna"))
    assert len(keys.exact) == 2
    assert len(keys.near) == 7 + 12


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"D3S1358": "15,abc"}, r"^dna\.D3S1358: 'abc' is not an allele"),
        ({"D3S1358": {"a": 1}}, r"^dna\.D3S1358: expected alleles"),
        ({"D3 S1358!": "15"}, r"is not a locus name"),
        ("D3S1358 15,16", r"^dna: expected 'LOCUS=allele,allele'"),
        (42, r"^dna: expected a mapping"),
        ({"VWA": "17", "vWA": "18"}, "given twice"),
    ],
)
def test_bad_profiles_name_the_field(value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_dna_profile(value, "dna")
