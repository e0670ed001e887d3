"""Person names: Unicode clean-up, transliteration, particles, canonical tokens and skeletons.

A name becomes one or two *forms*, each a tuple of canonical Latin tokens in written order (given
names first) with a consonant *skeleton* and *phonetic readings* per token. Keys use the tokens
sorted, so the order in which a name was written never matters; the written order is kept only to
choose the reduced two-token names used for dropped middle names and double surnames.

Pipeline, and why each step is there:

1. Unicode NFKC (presentation forms, ligatures such as U+FDF2, full-width letters), removal of
   format characters (zero-width joiners, the Persian half-space, bidirectional marks), Arabic
   short-vowel marks and tatweel, which are optional in writing and so must not matter.
2. `FAMILY, Given`: a single comma (Latin, Arabic or full-width) separates the family name from
   the given names. Without a comma the order is unknown.
3. Apostrophes and hamza/ayn marks (`O'Brien`, `Ma'mun`, `ʿAbd`) are removed without splitting:
   they are spelled in some sources and omitted in others. Hyphens split (`Jean-Pierre`,
   `López-García`), but a hyphen after an Arabic article marks that article for removal.
4. Letters of Cyrillic or Greek that stand inside an otherwise Latin word (or the reverse) are
   replaced by their Latin look-alikes, with a warning: such words come from keyboard mix-ups or
   deliberate evasion, and as written they would never match.
5. Transliteration to Latin. Arabic script (Arabic, Persian, Urdu letters) uses the table below,
   a common readable romanisation; the reversible Arabic scheme of ICAO Doc 9303 Part 3, with its
   `X`-prefixed digraphs, is meant for machine-readable zones and is not what police records
   contain. Cyrillic is keyed twice: once by the ICAO Doc 9303 Part 3 table (the spelling of
   Russian and Ukrainian passports, `Юрий` -> `iurii`) and once by `anyascii` (close to English
   press usage, `yuriy`). Latin umlauts are likewise keyed both ways (`Müller` -> `muller` and,
   as in ICAO Doc 9303 Part 3, `mueller`), and so is `ç` before a, o, u (`Fayçal` -> `faysal`,
   as French and Spanish read it, and `faycal`). Serbian and Macedonian Cyrillic use their ICAO
   values (`Милошевић` -> `milosevic`). Greek omicron-upsilon is the vowel `ou`
   (`Papadopoulou`), as every Greek romanisation writes it. Chinese characters give the family
   syllable and the joined given syllables (`毛泽东` -> `mao zedong`); Hangul gives one token per
   syllable, as Korean names are usually romanised. Every other script goes through `anyascii`.
6. Titles that open a name (`Dr.`, `Sheikh`, `Mullah`, `Hajji`, `الشيخ`, ...) are dropped while
   two other tokens remain: records write them inconsistently.
7. Particles. Nasab connectors (`bin`, `ibn`, `bint`, `binti`, `ould`, `آل`, and `ben` unless
   it is the first token) are dropped. Arabic articles are dropped when written apart (`al`,
   `el`, `ul`), hyphen-joined (`al-`, `ad-`, `ash-`, ...) or attached in Arabic script (`ال`).
   European particles (`de`, `del`, `de la`, `van`, `von`, `da`, `dos`, ...) are dropped too,
   except where they are most likely a given name: alone in the given or family names, or first
   in a name of unknown order (`Van Morrison`, `Al Gore`). A name made of particles only is kept.
   `Abd` and `Abu` (also `Abul`, `Aboul`, which contract it with the article) are bound to the
   next name (`Abdul Rahman`, `Abd al-Rahman` and `Abdurrahman` all give `abdrahman`), and the
   compound suffixes `-uddin` and `-ullah` are split off (`Salahuddin` = `Salah ad-Din`), as is
   `din` from an `Eddine` written apart (`Nour Eddine` = `Nur al-Din`).
8. Tokens of one letter (initials) are dropped: they are too often omitted or expanded. An
   Arabic word of three letters or more is kept even when its transliteration is one letter,
   because its ayns left nothing behind (`جعجع`, Geagea).
9. Canonical folding of each token: doubled letters collapse (`Mohammed` = `Mohamed`), and a
   final `h` after a vowel goes (`Fatimah` = `Fatima`; it renders the ta marbuta).

The skeleton of a token keeps consonant classes only. Vowels and `y` vanish, and so do `w` and
`v` except at the start of a token: Arabic writes no short vowels and writes long vowels with the
letters that Latin renders as `w`/`y`; Persian و is read `v` where Arabic و is read `w` or `u`
(Javad, Jawad); Russian в is `w` in German (Gorbatschow). Runs of one class collapse, `n` before
`b` becomes `m`, a final `h` vanishes, and letters that transliterations of one Arabic, Persian
or Russian letter disagree on share a class: `k q c g j kh gh dj zh` (Qaddafi, Gaddafi, Kadhafi;
Khalid, Jalid; Zhukov, Joukov), `t d th dh`, `s z ts`, `sh ch sch`, `f ph`, `b p`. The Arabic
interdentals and emphatics (ث ذ ظ ض, Latin `th`, `dh`) are read both as `t` and as `s`
(Othman and Osman, Kadhim and Kazim), giving up to four skeletons per name, rather than merging
the `t` and `s` classes, which would make short names such as Said, Zaid, Saad and Daud collide.
Arabic-script tokens get their skeleton straight from the Arabic letters, and bound compounds
(`abd` + `hakim`) part by part, so no false digraph (`dh`, `dj`) arises across a joint.

What the skeleton cannot separate, by construction: names that differ only in vowels or inside
one class (Hassan and Hussein, Said and Zaid, Karim and Karima). That is why skeleton keys are
weak. The phonetic readings of `protocol.match_keys.phonetic` keep what Arabic script and the
usual Latin spellings agree on about vowels and the few consonant classes they keep apart; they
are worked out from the same tokens before folding (`Kareem` keeps its long `ee`), from the
Arabic letters for Arabic-script tokens, part by part for bound compounds, and for Hangul from
the older romanisations that passports keep as well as the Revised one.
"""

from __future__ import annotations

# The transliteration tables below hold Arabic, Cyrillic and Greek letters on purpose, including
# look-alikes of Latin letters; the ambiguous-character rule would flag every one of them.
# ruff: noqa: RUF001
import enum
import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from anyascii import anyascii

from crypto.errors import InputError
from protocol.match_keys.keys import WarningCode
from protocol.match_keys.phonetic import (
    ALLAH_READINGS,
    arabic_readings,
    compound_readings,
    hangul_readings,
    latin_readings,
    nearest_combinations,
)

__all__ = [
    "NameForm",
    "NormalisedName",
    "latin_skeleton",
    "normalise_name",
]

MAX_NAME_CHARS = 256
MAX_NAME_TOKENS = 16
_MAX_ALTERNATIVES = 4
_MAX_PHONETIC_VALUES = 16

# Bounds of the caches of the pure steps below: name segments (the given or family names as
# written, or a whole name), the pieces of a word, and finished tokens. Names, and their tokens
# still more, repeat heavily across a dataset; every cached value is immutable, so a hit returns
# exactly what computing it again would.
_NAME_CACHE = 8192
_TOKEN_CACHE = 32768

# Characters removed before anything else: format controls (zero-width joiners, the Persian
# half-space U+200C, bidirectional marks, the byte-order mark) and Arabic tatweel, short vowels,
# shadda, sukun, superscript alif and Quranic annotation marks.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u0640\u064b-\u065f\u0670\u06d6-\u06ed\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)
_APOSTROPHES = re.compile(
    "['\u2018\u2019\u201b\u0060\u00b4\u02b9-\u02bf\u02c8\ua78b\ua78c\uff07\u2032]"
)
_HYPHENS = re.compile("[-\u2010-\u2015\u2212\ufe63\uff0d\u058a\u05be]")
_COMMAS = re.compile("[,\u060c\uff0c]")

# fmt: off
# Arabic-script letters (Arabic, Persian, Urdu) to a readable Latin form. و and ي are consonants
# at the start of a word and long vowels elsewhere; that choice is made in `_arabic_to_latin`.
_ARABIC_LATIN = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ٱ": "a", "ء": "", "ؤ": "", "ئ": "", "ع": "", "ب": "b",
    "پ": "p", "ت": "t", "ث": "th", "ج": "j", "چ": "ch", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh",
    "ر": "r", "ز": "z", "ژ": "zh", "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t", "ظ": "z",
    "غ": "gh", "ف": "f", "ق": "q", "ك": "k", "ک": "k", "گ": "g", "ل": "l", "م": "m", "ن": "n",
    "ں": "n", "ه": "h", "ہ": "h", "ھ": "h", "ة": "a", "ۃ": "a", "ۀ": "a", "ى": "a", "ے": "e",
    "ٹ": "t", "ڈ": "d", "ڑ": "r", "ی": "i", "ي": "i", "و": "u", "ە": "e",
}

# Arabic-script letters to skeleton classes ("" = vowel, hamza or ayn, which do not count).
_ARABIC_SKELETON = {
    "ا": "", "أ": "", "إ": "", "آ": "", "ٱ": "", "ء": "", "ؤ": "", "ئ": "", "ع": "", "ى": "",
    "ة": "", "ۃ": "", "ۀ": "", "ے": "", "ي": "", "ی": "", "و": "", "ە": "", "ب": "B", "پ": "B",
    "ت": "T", "ث": "T|S", "ط": "T", "د": "T", "ذ": "T|S", "ض": "T|S", "ٹ": "T", "ڈ": "T", "ج": "K",
    "خ": "K", "غ": "K", "ق": "K", "ك": "K", "ک": "K", "گ": "K", "ژ": "K", "ح": "H", "ه": "H",
    "ہ": "H", "ھ": "H", "ر": "R", "ڑ": "R", "ز": "S", "س": "S", "ص": "S", "ظ": "S|T", "ش": "X",
    "چ": "X", "ف": "F", "ل": "L", "م": "M", "ن": "N", "ں": "N",
}

# ICAO Doc 9303 Part 3, transliteration of Cyrillic characters (Russian values; the letters of
# other Cyrillic alphabets that the table lists are included with their ICAO values).
_CYRILLIC_ICAO = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "ђ": "d", "ѓ": "g", "е": "e",
    "ё": "e", "є": "ie", "ж": "zh", "з": "z", "ѕ": "dz", "и": "i", "і": "i", "ї": "i", "й": "i",
    "ј": "j", "к": "k", "ќ": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c", "у": "u", "ў": "u", "ф": "f", "х": "kh",
    "ц": "ts", "ч": "ch", "џ": "dz", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
}

# ICAO Doc 9303 Part 3 gives Serbian and Macedonian Cyrillic the values of their Latin alphabets
# without diacritics; a name is read as Serbian or Macedonian when it holds a letter that only
# those alphabets have.
_CYRILLIC_ICAO_SOUTH_SLAVIC = {
    **_CYRILLIC_ICAO, "ж": "z", "х": "h", "ц": "c", "ч": "c", "ш": "s",
}
_SOUTH_SLAVIC_LETTERS = frozenset("ђјљњћџѓќѕ")

# ICAO Doc 9303 Part 3 spells these Latin letters with two letters in the machine-readable zone.
_ICAO_LATIN = {"ä": "ae", "ö": "oe", "ü": "ue", "å": "aa", "ø": "oe"}

# Cyrillic and Greek letters that look like Latin ones, as pairs (Latin, other).
_CONFUSABLE_PAIRS = (
    *("aа", "cс", "eе", "oо", "pр", "xх", "yу", "iі", "jј", "sѕ", "AА", "BВ", "CС", "EЕ"),
    *("HН", "KК", "MМ", "OО", "PР", "TТ", "XХ", "YУ", "AΑ", "BΒ", "EΕ", "HΗ", "IΙ", "KΚ"),
    *("MΜ", "NΝ", "OΟ", "PΡ", "TΤ", "XΧ", "YΥ", "ZΖ", "oο"),
)
# Folding compares case-folded letters, so that a name gives the same keys in any case.
_TO_LATIN = {pair[1].casefold(): pair[0].casefold() for pair in _CONFUSABLE_PAIRS}
_FROM_LATIN: dict[str, dict[str, str]] = {"CYRILLIC": {}, "GREEK": {}}
for _pair in _CONFUSABLE_PAIRS:
    _FROM_LATIN[unicodedata.name(_pair[1]).split()[0]].setdefault(
        _pair[0].casefold(), _pair[1].casefold()
    )

# Titles and honorifics written before a name. Some are also given names (Cheikh in Senegal,
# Imam): they are dropped only before at least two other tokens, on both sides of a comparison
# alike, so a person whose given name is Cheikh still matches records that spell the full name.
_TITLES = frozenset(
    {
        "dr", "doctor", "docteur", "doctora", "prof", "professor", "mr", "mrs", "ms", "miss", "mme",
        "mlle", "monsieur", "madame", "sr", "sra", "srta", "senor", "senora", "don", "dona", "sir",
        "gen", "general", "col", "colonel", "capt", "captain", "sheikh", "shaikh", "shaykh",
        "sheik", "cheikh", "cheik", "mullah", "mulla", "molla", "mollah", "maulana", "mawlana",
        "maulvi", "haji", "hajji", "hadj", "hadji", "hajj", "imam", "ayatollah", "hojatoleslam",
    }
)
_ARABIC_TITLES = frozenset({"شيخ", "دكتور", "ملا", "حاج", "الحاج", "إمام", "امام", "آیتالله"})
_CONNECTORS = frozenset({"bin", "ibn", "bint", "binti", "ould", "walad"})
_ARTICLES = frozenset({"al", "el", "ul", "il"})
# Sun-letter assimilated forms of the Arabic article; dropped only when hyphen-joined, because as
# separate words they are also names (An, As, Ad).
_ASSIMILATED_ARTICLES = frozenset(
    {
        "ad", "ud", "ed", "an", "un", "en", "ar", "ur", "er", "as", "us", "es", "ash", "ush", "esh",
        "at", "ut", "et", "ath", "uth", "az", "uz", "ez", "adh", "udh", "edh",
    }
)
_PARTICLES = frozenset(
    {
        "de", "del", "della", "dei", "degli", "di", "da", "das", "dos", "do", "du", "des", "la",
        "le", "les", "van", "von", "der", "den", "ter", "ten", "vom", "zu", "zum", "zur", "y", "e",
    }
)
_ABD_PREFIXES = frozenset(
    {
        "abd", "abdul", "abdel", "abdal", "abdol", "abdoul", "abdur", "abdus", "abder", "abdar",
        "abdil", "abdir",
    }
)
# `Abul` and `Aboul` contract `Abu` with the article (Abu l-Kalam, أبو الغيط: Aboul Gheit).
_ABU_PREFIXES = frozenset({"abu", "abou", "abo", "abul", "aboul"})
_ALLAH_FORMS = frozenset({"allah", "ullah", "ulla", "alla", "ollah", "ulah", "ala"})
_CAMEL_PREFIX = re.compile(
    r"(Al|El|Ul|De|Del|Della|Di|Da|Du|Le|La|Van|Von|Abd|Abdul|Abdel|Abu|Abou|Ibn|Bin)"
    r"(?=[A-Z][a-z])"
)

# آل ("family of", as in آل سعود, Al Saud) is dropped like the article it is written as in Latin.
_ARABIC_CONNECTORS = frozenset({"بن", "ابن", "إبن", "بنت", "ولد", "آل"})
_ARABIC_ABU = frozenset({"أبو", "ابو", "أبي", "ابي", "أبا", "ابا"})
_ARABIC_ABD = "عبد"
_ARABIC_ARTICLE = "ال"

_SINGLE_ABD = re.compile(r"abd(?:ou|[aeiou])(?:l|(?P<sun>[rsntdz])(?P=sun))?(?P<stem>[a-z]{3,})")
_DIN_SUFFIX = re.compile(r"(?P<head>[a-z]{3,}?)[aeiou](?:din|dine)")
# `Eddine` and `Uddin` written apart (`Nour Eddine`): the article, assimilated, and `din`. The
# doubled d is required, so that given names such as Edin are left alone.
_ARTICLE_DIN = re.compile(r"[aeiou]ddine?")
_ULLAH_SUFFIX = re.compile(r"(?P<head>[a-z]{3,}?)[uoa]llah?")
_DOUBLED = re.compile(r"(.)\1+")
_GREEK_OU = re.compile("[οό][υύ]")
_CEDILLA = re.compile("\u00e7(?=[aouàâáãäòóôõöùúûü])")
_FINAL_H = re.compile(r"(?<=[aeiou])h$")

_VOWELS = frozenset("aeiouy")
_LATIN_SKELETON_MULTI = (
    ("tsch", "X"), ("sch", "X"), ("dzh", "K"), ("tch", "X"), ("sh", "X"), ("ch", "X"), ("cz", "X"),
    ("sz", "X"), ("zh", "K"), ("kh", "K"), ("gh", "K"), ("dj", "K"), ("ck", "K"), ("ph", "F"),
    ("th", "T|S"), ("dh", "T|S"), ("ts", "S"), ("tz", "S"), ("x", "KS"),
)
_LATIN_SKELETON_SINGLE = {
    "b": "B", "p": "B", "f": "F", "d": "T", "t": "T", "g": "K", "j": "K", "k": "K", "q": "K",
    "s": "S", "z": "S", "h": "H", "l": "L", "m": "M", "n": "N", "r": "R",
}

# fmt: on


class _Role(enum.Enum):
    GIVEN = "given"
    FAMILY = "family"
    UNKNOWN = "unknown"


class _Mode(enum.Enum):
    """Transliteration choices that differ between the two forms of a name."""

    COMMON = "common"
    ICAO = "icao"


@dataclass(frozen=True, slots=True)
class NameForm:
    """One canonical form of a name: tokens in written order (given names first) and skeletons.

    `given` is how many leading tokens are given names when the input said so (parts or a
    comma), and None when the order is unknown. `phonetics` holds each token's phonetic readings
    (`protocol.match_keys.phonetic`), the most likely first; it is empty for forms built by hand.
    """

    tokens: tuple[str, ...]
    skeletons: tuple[tuple[str, ...], ...]
    given: int | None
    phonetics: tuple[tuple[str, ...], ...] = ()

    def sorted_tokens(self) -> str:
        """Return the tokens sorted and space-separated: the name part of name keys."""
        return " ".join(sorted(self.tokens))

    def skeleton_keys(self, indexes: Sequence[int] | None = None) -> tuple[str, ...]:
        """Return the sorted skeletons of the tokens at `indexes` (all by default).

        Tokens without consonants are left out; fewer than two tokens with a skeleton give no
        value, because one skeleton alone matches far too many names. Tokens with alternative
        skeletons give one value per combination, at most `_MAX_ALTERNATIVES`.
        """
        chosen = range(len(self.tokens)) if indexes is None else indexes
        options = [[alt for alt in self.skeletons[i] if alt] for i in chosen]
        options = [alts for alts in options if alts]
        if len(options) < 2:
            return ()
        values: list[str] = []
        for combination in itertools.islice(itertools.product(*options), _MAX_ALTERNATIVES):
            value = " ".join(sorted(combination))
            if value not in values:
                values.append(value)
        return tuple(values)

    def phonetic_keys(self, indexes: Sequence[int] | None = None) -> tuple[str, ...]:
        """Return the sorted phonetic readings of the tokens at `indexes` (all by default).

        As for skeletons, at least two tokens with a reading are needed. Combinations are taken
        in order of how far they stray from the first reading of each token, so that one
        alternative of every token is tried before two alternatives together, and at most
        `_MAX_PHONETIC_VALUES` are kept. Tokens are combined in sorted order, so that the order
        in which the name was written cannot change which combinations the cap keeps.
        """
        if not self.phonetics:
            return ()
        chosen = range(len(self.tokens)) if indexes is None else indexes
        ordered = sorted(chosen, key=lambda i: (self.tokens[i], self.phonetics[i]))
        options = [self.phonetics[i] for i in ordered if self.phonetics[i]]
        if len(options) < 2:
            return ()
        values: list[str] = []
        for combination in nearest_combinations(options, _MAX_PHONETIC_VALUES):
            value = " ".join(sorted(combination))
            if value not in values:
                values.append(value)
        return tuple(values)

    def reduced_pairs(self) -> tuple[tuple[int, int], ...]:
        """Return index pairs (first given name, a family name) for dropped middle names.

        With a known split: the first given name with each family token, and the second given
        name with the first family token (`María del Carmen García` is called `Carmen García`).
        Without one: the first token with the last and, for three or more tokens, with the
        second-to-last (the paternal surname of a Spanish or Portuguese double surname, or the
        grandfather's name of an Arabic nasab) and with the second (a given name and the
        father's name, the short form of Arabic names: `Mohamed Salah Hamed Mahrous Ghaly` is
        `Mohamed Salah`); for four or more also the second token with the second-to-last.
        Two-token names give their single pair, so they match longer names reduced.
        """
        count = len(self.tokens)
        if count < 2:
            return ()
        if self.given is not None and 0 < self.given < count:
            pairs = [(0, index) for index in range(self.given, count)]
            if self.given >= 2:
                pairs.append((1, self.given))
            return tuple(pairs)
        pairs = [(0, count - 1)]
        if count >= 3:
            pairs.extend(((0, count - 2), (0, 1)))
        if count >= 4:
            pairs.append((1, count - 2))
        return tuple(pairs)


@dataclass(frozen=True, slots=True)
class NormalisedName:
    """The forms of one name (deduplicated, at most two) and data-quality findings about it."""

    forms: tuple[NameForm, ...]
    warnings: tuple[tuple[WarningCode, str], ...] = field(default=())


@dataclass(slots=True)
class _Token:
    """A token during normalisation: Arabic-script text or Latin ASCII, plus its context."""

    text: str
    arabic: bool
    role: _Role
    hyphen_next: bool = False
    article_before: bool = False
    # For a bound compound such as `abd` + `hakim`, the parts, so that the skeleton does not
    # read a false digraph (`dh`, `dj`) across the joint.
    parts: tuple[str, ...] = ()
    # Phonetic readings fixed in advance, for tokens that stand for a fixed word (Allah).
    readings: tuple[str, ...] = ()


def latin_skeleton(token: str) -> tuple[str, ...]:
    """Return the consonant skeletons of a canonical Latin token, the usual reading first.

    Most tokens have one skeleton. `th` and `dh` have two readings, because they render Arabic
    interdentals that other transliterations write `t`/`d` (Othman, Uthman; Kadhafi, Gaddafi) or
    `s`/`z` (Osman; Kazim): each reading is kept, up to `_MAX_ALTERNATIVES`.
    """
    return _expand(_latin_classes(token))


def _latin_classes(token: str) -> list[str]:
    """Return the consonant class of each grapheme of a Latin token (`A|B` for two readings)."""
    out: list[str] = []
    index = 0
    length = len(token)
    while index < length:
        for graph, cls in _LATIN_SKELETON_MULTI:
            if token.startswith(graph, index):
                out.append(cls)
                index += len(graph)
                break
        else:
            letter = token[index]
            if letter == "c":
                out.append("S" if token[index + 1 : index + 2] in ("e", "i", "y") else "K")
            elif letter in ("w", "v"):
                out.append("V" if index == 0 else "")
            elif letter not in _VOWELS:
                out.append(_LATIN_SKELETON_SINGLE.get(letter, ""))
            index += 1
    return out


def _arabic_skeleton(text: str) -> tuple[str, ...]:
    out = []
    for index, letter in enumerate(text):
        if letter == "و" and index == 0:
            out.append("V")
        else:
            out.append(_ARABIC_SKELETON.get(letter, ""))
    return _expand(out)


def _expand(classes: list[str]) -> tuple[str, ...]:
    """Expand `A|B` alternatives into finished skeletons, the first choices first, deduplicated."""
    options = [part.split("|") for part in classes]
    results: list[str] = []
    for choice in itertools.islice(itertools.product(*options), _MAX_ALTERNATIVES):
        finished = _finish_skeleton("".join(choice))
        if finished not in results:
            results.append(finished)
    return tuple(results)


def _finish_skeleton(classes: str) -> str:
    # An n before b is spoken, and often written, m (جنبلاط, Jumblatt; Istanbul, Stambul).
    collapsed = _DOUBLED.sub(r"\1", classes.replace("NB", "MB"))
    # A final h is dropped (ta marbuta, "-ah"), unless it is all there is (يحيى, Yahya).
    finished = collapsed[:-1] if len(collapsed) > 1 and collapsed.endswith("H") else collapsed
    # Skeletons are rendered in lower case, like every name-derived value, so that no raw name
    # holding an upper-case letter can ever appear inside a key.
    return finished.lower()


def _arabic_to_latin(text: str) -> str:
    out = []
    for index, letter in enumerate(text):
        if letter == "و":
            out.append("w" if index == 0 else "u")
        elif letter in ("ي", "ی"):
            out.append("y" if index == 0 else "i")
        else:
            out.append(_ARABIC_LATIN.get(letter, ""))
    return "".join(out)


def _fold(token: str) -> str:
    """Collapse doubled letters and drop a final `h` after a vowel (ta marbuta)."""
    folded = _DOUBLED.sub(r"\1", token)
    if len(folded) > 2:
        folded = _FINAL_H.sub("", folded)
    return folded


_SCRIPT_LETTERS = frozenset({"Lu", "Ll", "Lt", "Lo"})


@functools.lru_cache(maxsize=_TOKEN_CACHE)
def _script(letter: str) -> str:
    name = unicodedata.name(letter, "")
    head = name.split(" ", 1)[0]
    return "HAN" if head == "CJK" else head


def _letter_scripts(text: str) -> list[str]:
    """Return the script of each letter; modifier letters belong to no script and are skipped."""
    scripts = (_script(ch) for ch in text if unicodedata.category(ch) in _SCRIPT_LETTERS)
    return [script for script in scripts if script]


def _fold_confusables(piece: str) -> tuple[str, bool]:
    """Rewrite minority Latin/Cyrillic/Greek look-alike letters into the majority script.

    The piece is case-folded first and a tie goes to Latin, so the outcome never depends on
    the case in which the name was written.
    """
    folded = piece.casefold()
    scripts = _letter_scripts(folded)
    counted = {s: scripts.count(s) for s in set(scripts)}
    relevant = {s: n for s, n in counted.items() if s in ("LATIN", "CYRILLIC", "GREEK")}
    if len(relevant) < 2:
        return piece, False
    majority = max(sorted(relevant), key=lambda s: (relevant[s], s == "LATIN"))
    out = []
    for ch in folded:
        script = _script(ch) if unicodedata.category(ch) in _SCRIPT_LETTERS else ""
        if script == majority or script not in relevant:
            out.append(ch)
        elif majority == "LATIN":
            out.append(_TO_LATIN.get(ch, ch))
        else:
            out.append(_FROM_LATIN[majority].get(_TO_LATIN.get(ch, ch), ch))
    return "".join(out), True


def _latin_text(piece: str, mode: _Mode) -> str:
    """Transliterate a non-Arabic piece to lowercase ASCII letters."""
    # Greek omicron-upsilon is the vowel u (Papadopoulou); letter by letter it would be `oy`.
    piece = _GREEK_OU.sub("ou", piece)
    if mode is _Mode.ICAO:
        south = any(ch in _SOUTH_SLAVIC_LETTERS for ch in piece)
        table = _CYRILLIC_ICAO_SOUTH_SLAVIC if south else _CYRILLIC_ICAO
        piece = "".join(_ICAO_LATIN.get(ch, table.get(ch, ch)) for ch in piece)
    else:
        # French, Portuguese and Catalan write ç for an s before a, o and u (Fayçal = Faysal);
        # plain c there reads k. The ICAO form keeps the c, as ICAO Doc 9303 does.
        piece = _CEDILLA.sub("s", piece)
    return "".join(ch for ch in anyascii(piece).lower() if "a" <= ch <= "z")


# A token before it is given its role: text, whether it is Arabic script, whether a hyphen
# follows it, and readings fixed in advance. In the tokens of one piece of a word, a None for the
# hyphen stands for the piece's own (whether a hyphen follows the piece).
_TokenSpec = tuple[str, bool, bool, tuple[str, ...]]
_PieceSpec = tuple[str, bool, bool | None, tuple[str, ...]]


def _split_segment(text: str, role: _Role, mode: _Mode, findings: set[WarningCode]) -> list[_Token]:
    """Turn one segment (given names, family names, or a whole unsplit name) into tokens."""
    specs, folded = _segment_specs(text, mode)
    if folded:
        findings.add(WarningCode.CONFUSABLE_CHARACTERS)
    return [
        _Token(token, arabic=arabic, role=role, hyphen_next=hyphen_next, readings=readings)
        for token, arabic, hyphen_next, readings in specs
    ]


@functools.lru_cache(maxsize=_NAME_CACHE)
def _segment_specs(text: str, mode: _Mode) -> tuple[tuple[_TokenSpec, ...], bool]:
    """The tokens of one segment, and whether look-alike letters of another script were folded."""
    text = _APOSTROPHES.sub("", text)
    text = _HYPHENS.sub("-", text)
    text = "".join(ch if unicodedata.category(ch)[0] in "LM" or ch == "-" else " " for ch in text)
    specs: list[_TokenSpec] = []
    folded = False
    for word in text.split():
        pieces = [p for p in word.split("-") if p]
        for number, raw_piece in enumerate(pieces):
            piece_specs, piece_folded = _piece_specs(raw_piece, mode)
            folded = folded or piece_folded
            hyphen_next = number < len(pieces) - 1
            specs.extend(
                (token, arabic, hyphen_next if hyphen is None else hyphen, readings)
                for token, arabic, hyphen, readings in piece_specs
            )
    return tuple(specs), folded


@functools.lru_cache(maxsize=_TOKEN_CACHE)
def _piece_specs(raw_piece: str, mode: _Mode) -> tuple[tuple[_PieceSpec, ...], bool]:
    """The tokens of one piece of a word, and whether look-alike letters were folded in it."""
    piece, folded = _fold_confusables(raw_piece)
    return _piece_tokens(piece, mode), folded


def _piece_tokens(piece: str, mode: _Mode) -> tuple[_PieceSpec, ...]:
    scripts = set(_letter_scripts(piece))
    if "ARABIC" in scripts:
        arabic = "".join(ch for ch in piece if _script(ch) == "ARABIC")
        return ((arabic, True, None, ()),)
    if scripts == {"HAN"}:
        syllables = re.findall(r"[A-Z][a-z]*", anyascii(piece))
        if len(syllables) >= 2:
            parts = [syllables[0].lower(), "".join(syllables[1:]).lower()]
            return tuple((part, False, False, ()) for part in parts)
    if scripts == {"HANGUL"}:
        syllables = [_latin_text(ch, mode) for ch in piece]
        return tuple((text, False, False, hangul_readings(text)) for text in syllables)
    match = _CAMEL_PREFIX.match(piece)
    if match and piece[match.end() :].lower() != piece[match.end() :]:
        head, rest = piece[: match.end()], piece[match.end() :]
        return (
            (_latin_text(head.casefold(), mode), False, True, ()),
            (_latin_text(rest.casefold(), mode), False, None, ()),
        )
    text = _latin_text(piece.casefold(), mode)
    return ((text, False, None, ()),) if text else ()


def _classify_arabic(tokens: list[_Token]) -> list[_Token]:
    """Apply Arabic-script particle rules before transliteration."""
    out: list[_Token] = []
    for token in tokens:
        if not token.arabic:
            out.append(token)
            continue
        text = token.text
        if text in _ARABIC_CONNECTORS:
            continue
        if text.startswith(_ARABIC_ABD) and len(text) > len(_ARABIC_ABD) + 1:
            rest = text[len(_ARABIC_ABD) :]
            out.append(_Token(_ARABIC_ABD, arabic=True, role=token.role))
            text = rest
            if text.startswith(_ARABIC_ARTICLE) and len(text) > 3:
                text = text[2:]
            out.append(_Token(text, arabic=True, role=token.role, article_before=True))
            continue
        if text.startswith(_ARABIC_ARTICLE) and len(text) > 3:
            out.append(_Token(text[2:], arabic=True, role=token.role, article_before=True))
            continue
        out.append(token)
    return out


def _is_title(token: _Token) -> bool:
    return token.text in (_ARABIC_TITLES if token.arabic else _TITLES)


def _strip_titles(tokens: list[_Token]) -> list[_Token]:
    """Drop titles that open a name or its given names (with an article before one, as in
    `El Hadj`), as long as two other tokens remain."""
    out = list(tokens)
    index = 0
    while index < len(out) and len(out) > 2:
        token = out[index]
        opens = index == 0 or out[index - 1].role is not token.role
        if not opens or token.role is _Role.FAMILY:
            index += 1
            continue
        if _is_title(token):
            del out[index]
            continue
        following = out[index + 1] if index + 1 < len(out) else None
        is_article = not token.arabic and token.text in _ARTICLES
        if is_article and following is not None and _is_title(following) and len(out) > 3:
            del out[index : index + 2]
            continue
        index += 1
    return out


def _apply_particles(tokens: list[_Token]) -> list[_Token]:
    """Drop connectors, articles and particles; mark the token after a dropped article.

    A particle written apart is kept where it is most likely a name: as the only token of the
    given or family names (`GORE, Al`; `MORRISON, Van`) and as the first token of a name in
    unknown order (`Al Gore`, `Van Morrison`). Elsewhere it is dropped, so that `Văn` in the
    given names `Văn Minh` goes as it does in `NGUYEN Van Minh`.
    """
    out: list[_Token] = []
    for index, token in enumerate(tokens):
        if token.arabic:
            out.append(token)
            continue
        text = token.text
        alone = sum(1 for other in tokens if other.role is token.role) == 1
        first = alone or (index == 0 and token.role is _Role.UNKNOWN)
        is_article = text in _ARTICLES and (token.hyphen_next or not first)
        is_assimilated = text in _ASSIMILATED_ARTICLES and token.hyphen_next
        if is_article or is_assimilated:
            if index + 1 < len(tokens):
                tokens[index + 1].article_before = True
            continue
        if text in _CONNECTORS or (text == "ben" and not first):
            continue
        if text in _PARTICLES and not first:
            continue
        out.append(token)
    return out


def _bind_prefixes(tokens: list[_Token]) -> list[_Token]:
    """Join `Abd` and `Abu` with the name they govern."""
    out: list[_Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        binds_arabic = token.text == _ARABIC_ABD or token.text in _ARABIC_ABU
        if following is not None and token.arabic and following.arabic and binds_arabic:
            prefix = _ARABIC_ABD if token.text == _ARABIC_ABD else "أبو"
            parts = (prefix, following.text)
            out.append(_Token(prefix + following.text, arabic=True, role=token.role, parts=parts))
            index += 2
            continue
        if following is not None and not token.arabic and not following.arabic:
            if token.text in _ABD_PREFIXES:
                stem = following.text
                plain = token.text == "abd" and not following.article_before
                if plain and stem[:2] in ("al", "el") and len(stem) >= 5:
                    stem = stem[2:]
                out.append(_bound("abd", stem, token.role))
                index += 2
                continue
            if token.text in _ABU_PREFIXES:
                out.append(_bound("abu", following.text, token.role))
                index += 2
                continue
        out.append(token)
        index += 1
    return out


def _bound(prefix: str, stem: str, role: _Role) -> _Token:
    return _Token(prefix + stem, arabic=False, role=role, parts=(prefix, stem))


def _split_compounds(tokens: list[_Token]) -> list[_Token]:
    """Split single-token compounds: `Abdulrahman`, `Salahuddin`, `Rahmatullah`."""
    out: list[_Token] = []
    for token in tokens:
        split = None if token.arabic else _compound_parts(token.text)
        if split is None:
            out.append(token)
            continue
        out.extend(
            _Token(text, arabic=False, role=token.role, parts=parts, readings=readings)
            for text, parts, readings in split
        )
    return out


@functools.lru_cache(maxsize=_TOKEN_CACHE)
def _compound_parts(
    text: str,
) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] | None:
    """The tokens (text, bound parts, fixed readings) a Latin compound splits into, or None."""
    if text in _ALLAH_FORMS:
        return (("ula", (), ALLAH_READINGS),)
    if match := _SINGLE_ABD.fullmatch(text):
        stem = match.group("stem")
        if match.group("sun"):
            stem = match.group("sun") + stem
        return (("abd" + stem, ("abd", stem), ()),)
    if not text.startswith("abd") and (match := _ULLAH_SUFFIX.fullmatch(text)):
        return ((match.group("head"), (), ()), ("ula", (), ALLAH_READINGS))
    if match := _DIN_SUFFIX.fullmatch(_DOUBLED.sub(r"\1", text)):
        return ((match.group("head"), (), ()), ("din", (), ()))
    if _ARTICLE_DIN.fullmatch(text):
        return (("din", (), ()),)
    return None


def _build_form(
    segments: Sequence[tuple[str, _Role]], mode: _Mode, findings: set[WarningCode]
) -> NameForm | None:
    raw: list[_Token] = []
    for text, role in segments:
        raw.extend(_split_segment(text, role, mode, findings))
    tokens = _classify_arabic(list(raw))
    tokens = _split_compounds(_bind_prefixes(_apply_particles(_strip_titles(tokens))))
    if not tokens:
        # A name made of particles only (a Chinese `Bin`, a lone `Ben`) is kept as written.
        tokens = raw
    finished: list[tuple[str, tuple[str, ...], tuple[str, ...], _Role]] = []
    for token in tokens:
        done = _finish_token(token.text, token.arabic, token.parts, token.readings)
        if done is not None:
            finished.append((*done, token.role))
    if not finished:
        return None
    given_count: int | None = None
    roles = [role for _, _, _, role in finished]
    if _Role.GIVEN in roles and _Role.FAMILY in roles:
        given_count = roles.count(_Role.GIVEN)
    return NameForm(
        tokens=tuple(latin for latin, _, _, _ in finished),
        skeletons=tuple(skeleton for _, skeleton, _, _ in finished),
        given=given_count,
        phonetics=tuple(readings for _, _, readings, _ in finished),
    )


@functools.lru_cache(maxsize=_TOKEN_CACHE)
def _finish_token(
    text: str, arabic: bool, parts: tuple[str, ...], readings: tuple[str, ...]
) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """The canonical token, its skeletons and its phonetic readings, or None for an initial."""
    if arabic:
        latin = _fold(_arabic_to_latin(text))
        skeleton = _arabic_skeleton(text)
    elif parts:
        latin = _fold(text)
        skeleton = _expand([cls for part in parts for cls in _latin_classes(_fold(part))])
    else:
        latin = _fold(text)
        skeleton = latin_skeleton(latin)
    # One Latin letter is an initial, except where it comes from a longer Arabic word whose
    # ayns left no letter behind (جعجع, Geagea): that word is a name.
    if len(latin) >= 2 or (arabic and latin and len(text) >= 3):
        return latin, skeleton, _token_readings(text, arabic, parts, readings)
    return None


def _token_readings(
    text: str, arabic: bool, parts: tuple[str, ...], readings: tuple[str, ...]
) -> tuple[str, ...]:
    """Return the phonetic readings of a finished token (see `protocol.match_keys.phonetic`)."""
    if readings:
        return readings
    if parts:
        prefix, stem = parts
        return compound_readings(prefix, stem, arabic=arabic)
    return arabic_readings(text) if arabic else latin_readings(text)


@functools.lru_cache(maxsize=_NAME_CACHE)
def _clean(text: str) -> str:
    # Apostrophes go before NFKC (which turns U+00B4 into a space and a combining accent) and
    # again after it (which turns U+0149 into an apostrophe and n).
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", _APOSTROPHES.sub("", text)))
    # In Persian a he written before the half-space is a vowel (خامنه‌ای, Khamenei), not the
    # consonant h; it is rewritten as the vowel letter ae (U+06D5) before the half-space goes.
    text = text.replace("\u0647\u200c", "\u06d5")
    return _INVISIBLE.sub("", text)


def _segments(
    full: str | None, family: str | None, given: str | None, field_name: str
) -> list[tuple[str, _Role]]:
    if full is not None:
        text = _clean(full)
        parts = [part for part in _COMMAS.split(text) if part.strip()]
        if len(parts) == 2:
            return [(parts[1], _Role.GIVEN), (parts[0], _Role.FAMILY)]
        return [(" ".join(parts), _Role.UNKNOWN)]
    segments = []
    if given is not None:
        segments.append((_clean(given), _Role.GIVEN))
    if family is not None:
        segments.append((_clean(family), _Role.FAMILY))
    if not segments:
        raise InputError(f"{field_name}: a name needs a full name or family/given parts")
    return segments


def _needs_icao_form(segments: Iterable[tuple[str, _Role]]) -> bool:
    return any(_segment_needs_icao(text) for text, _ in segments)


@functools.lru_cache(maxsize=_NAME_CACHE)
def _segment_needs_icao(text: str) -> bool:
    return any(
        ch in _ICAO_LATIN or ch in _CYRILLIC_ICAO or ch == "\u00e7" for ch in text.casefold()
    )


@functools.lru_cache(maxsize=_NAME_CACHE)
def _segment_scripts(text: str) -> frozenset[str]:
    return frozenset(_letter_scripts(text.casefold()))


def normalise_name(
    *,
    full: str | None = None,
    family: str | None = None,
    given: str | None = None,
    field_name: str = "name",
) -> NormalisedName:
    """Normalise a name given whole (`full`) or in parts; raise `InputError` if it has no letters.

    Returns one form, or two when ICAO Doc 9303 transliteration differs from the common one
    (Cyrillic, umlauts). Warnings: `single_token_name`, `mixed_scripts` (letters of more than one
    script in one name), `confusable_characters` (look-alike letters inside a word).
    """
    for part in (full, family, given):
        if part is not None and len(part) > MAX_NAME_CHARS:
            raise InputError(f"{field_name}: longer than {MAX_NAME_CHARS} characters")
    segments = _segments(full, family, given, field_name)
    findings: set[WarningCode] = set()
    modes = [_Mode.COMMON, _Mode.ICAO] if _needs_icao_form(segments) else [_Mode.COMMON]
    forms: list[NameForm] = []
    for mode in modes:
        form = _build_form(segments, mode, findings)
        if form is not None and form not in forms:
            forms.append(form)
    if not forms:
        raise InputError(f"{field_name}: contains no letters that can form a name")
    if any(len(form.tokens) > MAX_NAME_TOKENS for form in forms):
        raise InputError(f"{field_name}: more than {MAX_NAME_TOKENS} name tokens")
    warnings: list[tuple[WarningCode, str]] = []
    if all(len(form.tokens) == 1 for form in forms):
        warnings.append(
            (WarningCode.SINGLE_TOKEN_NAME, "only one name token: keys will match many people")
        )
    scripts = frozenset().union(*(_segment_scripts(text) for text, _ in segments))
    if len(scripts) > 1:
        listed = ", ".join(sorted(s.lower() for s in scripts))
        warnings.append((WarningCode.MIXED_SCRIPTS, f"letters of several scripts ({listed})"))
    if WarningCode.CONFUSABLE_CHARACTERS in findings:
        warnings.append(
            (
                WarningCode.CONFUSABLE_CHARACTERS,
                "look-alike letters of another script inside a word were replaced",
            )
        )
    return NormalisedName(forms=tuple(forms), warnings=tuple(warnings))
