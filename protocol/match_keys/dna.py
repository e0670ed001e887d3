"""DNA STR profiles: locus names, alleles, wildcards and the exact and near-match keys.

Keys are built over fixed *reference locus sets*, so that two laboratories that typed the same
person with different kits still derive comparable keys:

- `ELS7`: the seven loci of the original European Standard Set (Council Resolution 2001/C
  187/01), which every profile exchanged under the Prüm decisions carries.
- `ESS12`: the twelve loci of the extended European Standard Set (Council Resolution 2009/C
  296/01).
- `CODIS13`: the thirteen original core loci of the US CODIS system, common outside Europe.

For a reference set R a profile gives a `dna` key when every locus of R is typed, and a
`dna_near` key for each locus r of R whose removal leaves a fully typed R \\ {r}. Two profiles
that differ at one locus of R, or of which one has that locus untyped, therefore share a
`dna_near` key: the one-mismatch near match that Prüm exchanges report (Council Decision
2008/616/JHA, Annex, chapter 1). A near key must cover at least six loci, the Prüm minimum, so
`ELS7` near keys (6 loci) are the smallest that exist.

Alleles: integers and microvariants (`9.3`), written as numbers or strings; `X`/`Y` only at
Amelogenin, which is a sex marker and never keyed. A *wildcard* (`*`, `W`, `?`, `OL`, or an
off-ladder bound such as `>24`) says the allele was seen but not designated; a locus holding one
is untyped for exact keys, so the profile can still hit through the near keys that leave it out.
A locus with more than two alleles is untyped too (a tri-allelic pattern or a mixture); when
three or more loci show that, the profile is reported as a likely mixture and not keyed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crypto.errors import InputError
from protocol.match_keys.keys import WarningCode

__all__ = [
    "REFERENCE_SETS",
    "DnaKeys",
    "DnaProfile",
    "dna_keys",
    "parse_dna_profile",
]

MIN_NEAR_LOCI = 6

REFERENCE_SETS: Mapping[str, tuple[str, ...]] = {
    "ELS7": ("D21S11", "D3S1358", "D18S51", "D8S1179", "FGA", "TH01", "VWA"),
    "ESS12": (
        "D10S1248", "D12S391", "D1S1656", "D21S11", "D22S1045", "D2S441", "D3S1358", "D18S51",
        "D8S1179", "FGA", "TH01", "VWA",
    ),
    "CODIS13": (
        "CSF1PO", "D13S317", "D16S539", "D18S51", "D21S11", "D3S1358", "D5S818", "D7S820",
        "D8S1179", "FGA", "TH01", "TPOX", "VWA",
    ),
}  # fmt: skip

_ALIASES = {
    "THO1": "TH01", "HUMTH01": "TH01", "VWA31": "VWA", "HUMVWA": "VWA", "FIBRA": "FGA",
    "HUMFIBRA": "FGA", "AMEL": "AMELOGENIN", "AM": "AMELOGENIN", "ACTBP2": "SE33",
    "HUMCSF1PO": "CSF1PO", "HUMTPOX": "TPOX", "PENTAE": "PENTA_E", "PENTAD": "PENTA_D",
}  # fmt: skip
_LOCUS = re.compile(r"[A-Z0-9_]{2,16}")
_WILDCARDS = frozenset({"*", "W", "?", "OL"})
_ALLELE = re.compile(r"\d{1,2}(?:\.\d)?")
_MAX_LOCI = 40


@dataclass(frozen=True)
class DnaProfile:
    """A parsed profile: locus -> alleles (sorted, canonical), with untyped loci marked None."""

    loci: Mapping[str, tuple[str, ...] | None]


@dataclass(frozen=True)
class DnaKeys:
    """Key values for `dna` and `dna_near`, and findings, from one profile."""

    exact: tuple[str, ...]
    near: tuple[str, ...]
    findings: tuple[tuple[WarningCode, str], ...]


def _locus_name(raw: str, field: str) -> str:
    name = re.sub(r"[\s\-.]", "", raw.upper())
    name = _ALIASES.get(name, name)
    if not _LOCUS.fullmatch(name):
        raise InputError(f"{field}: {raw!r} is not a locus name")
    return name


def _alleles(value: object, field: str) -> list[str]:
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,/;]+", value.strip()) if part]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(_alleles(item, field))
        return out
    raise InputError(f"{field}: expected alleles as a list or a string such as '15,16'")


def _canonical_allele(text: str, locus: str, field: str) -> str | None:
    """Return the canonical allele, or None for a wildcard."""
    upper = text.upper()
    if upper in _WILDCARDS or upper.startswith((">", "<")):
        return None
    if locus == "AMELOGENIN" and upper in ("X", "Y"):
        return upper
    if not _ALLELE.fullmatch(text) and not re.fullmatch(r"\d{1,2}\.0", text):
        raise InputError(f"{field}: {text!r} is not an allele (expected e.g. 15, 9.3 or *)")
    try:
        number = Decimal(text).normalize()
    except InvalidOperation as error:  # pragma: no cover - the pattern above admits numbers only
        raise InputError(f"{field}: {text!r} is not an allele") from error
    return format(number, "f")


def parse_dna_profile(value: object, field: str) -> DnaProfile:
    """Parse `{locus: alleles}` or `"D3S1358=15,16; VWA=17,18"` into a profile."""
    if isinstance(value, str):
        entries: dict[str, object] = {}
        for part in re.split(r"[;\n]+", value):
            if not part.strip():
                continue
            locus, sep, alleles = part.partition("=")
            if not sep:
                locus, sep, alleles = part.partition(":")
            if not sep:
                raise InputError(f"{field}: expected 'LOCUS=allele,allele', got {part.strip()!r}")
            entries[locus.strip()] = alleles
        value = entries
    if not isinstance(value, Mapping):
        raise InputError(f"{field}: expected a mapping of locus to alleles")
    if len(value) > _MAX_LOCI:
        raise InputError(f"{field}: more than {_MAX_LOCI} loci")
    loci: dict[str, tuple[str, ...] | None] = {}
    for raw_locus, raw_alleles in value.items():
        if not isinstance(raw_locus, str):
            raise InputError(f"{field}: locus names must be strings")
        locus = _locus_name(raw_locus, f"{field}.{raw_locus}")
        where = f"{field}.{raw_locus}"
        if locus in loci:
            raise InputError(f"{where}: locus {locus} given twice")
        texts = _alleles(raw_alleles, where)
        if not texts:
            loci[locus] = None
            continue
        canonical = [_canonical_allele(text, locus, where) for text in texts]
        if any(allele is None for allele in canonical):
            loci[locus] = None
            continue
        alleles = sorted({a for a in canonical if a is not None}, key=_allele_order)
        loci[locus] = tuple(alleles)
    return DnaProfile(loci=loci)


def _allele_order(allele: str) -> tuple[int, Decimal | str]:
    return (0, Decimal(allele)) if allele[0].isdigit() else (1, allele)


def _value(loci: tuple[str, ...], typed: Mapping[str, tuple[str, ...]]) -> str:
    return ";".join(f"{locus}={','.join(typed[locus])}" for locus in sorted(loci))


def dna_keys(profile: DnaProfile) -> DnaKeys:
    """Derive the `dna` and `dna_near` key values of a profile (see the module docstring)."""
    findings: list[tuple[WarningCode, str]] = []
    typed: dict[str, tuple[str, ...]] = {}
    multi = 0
    for locus, alleles in profile.loci.items():
        if locus == "AMELOGENIN" or alleles is None:
            continue
        if len(alleles) > 2:
            multi += 1
            continue
        typed[locus] = alleles
    if multi >= 3:
        findings.append(
            (WarningCode.NOT_KEYED, f"{multi} loci with more than two alleles: a likely mixture")
        )
        return DnaKeys((), (), tuple(findings))
    exact: set[str] = set()
    near: set[str] = set()
    for reference in REFERENCE_SETS.values():
        present = [locus for locus in reference if locus in typed]
        if len(present) == len(reference):
            exact.add(_value(reference, typed))
        if len(present) >= len(reference) - 1 and len(reference) - 1 >= MIN_NEAR_LOCI:
            for left_out in reference:
                rest = tuple(locus for locus in reference if locus != left_out)
                if all(locus in typed for locus in rest):
                    near.add(_value(rest, typed))
    if not exact and not near:
        findings.append(
            (
                WarningCode.NOT_KEYED,
                f"{len(typed)} typed loci do not cover a reference set (ELS7, ESS12 or CODIS13) "
                "but for one locus: no DNA key",
            )
        )
    return DnaKeys(tuple(sorted(exact)), tuple(sorted(near)), tuple(findings))
