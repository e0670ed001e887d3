"""Phonetic readings of name tokens: the consonant skeleton plus what scripts agree on about vowels.

The consonant skeleton of `protocol.match_keys.names` joins an Arabic-script name with its Latin
transliterations, but it cannot tell apart names that differ only in vowels or inside one letter
class: Hassan (حسن) and Hussein (حسين), Said (سعيد), Saad (سعد) and Zaid (زيد), Karim and Karima,
Jamal (جمال), Jamil (جميل) and Kamal (كمال). A *phonetic reading* keeps what the skeleton throws
away wherever Arabic script and the usual Latin spellings carry the same information, and drops
it on both sides where they do not. Every reading is a key, so a spelling that is ambiguous gets
two readings only where no single choice serves; most tokens have one.

- Long vowels. Arabic script writes long vowels (ي, و) and no short ones; Latin writes every vowel
  and marks no length. A reading keeps the mark `i` for ي and for the Latin spellings of a long
  i or of a diphthong (`ee`, `ei`, `ey`, `ai`, `ay`, `ae`, `ie`, `y`, and a single `i` after the
  first syllable), and `u` for و and for `u`, `ou`, `oo`, `w` and a medial `v` (the Persian
  reading of و). It drops `a`, `e` and ا: Latin `a` is both the short and the long a.
- The first syllable. Its vowel is mostly short (Muhammad, Hisham, Moustafa, Husayn), but Latin
  writes a long one alike (Nour, Nur, Musa). A u there is therefore dropped on both sides, و
  included; a single `i` or `e` there reads both as nothing and as `i` (Hisham; Zine, زين), and a
  diphthong keeps its `i` (Said, سعيد, against Saad, سعد). A token that opens with a vowel has
  that vowel as its first syllable.
- Later syllables. A single `o` is a short u and is dropped (Khashoggi, Belmokhtar): a long one
  is spelled `ou`, `oo` or `u` there (Mahmoud, Mahmood, Mahmud). A single `u` after an earlier u
  reads both ways, as it is the short vowel of Yusuf and Yunus there. A last-syllable `e` is
  the short i of the pattern C-a-C-i-C (Khaled = Khalid, Hamed = Hamid, Tarek = Tariq), nothing
  (Ahmed) or the Persian and Urdu long e written ی (Pervez, پرویز), so it reads both ways. On the
  Arabic side the same pattern (ا, then two consonants with no vowel letter between them: خالد,
  حامد, فاطمة) reads with and without an `i` between those consonants, because English
  spellings write that short vowel (Khalid, Fatima).
- The start and the end of a token. A token that opens with a vowel keeps its class, `u` for o
  and u and `a` for the others (Ahmed is not Hamid, Omar is not Amr); Arabic ا, أ and ع do not say
  which vowel follows, so they read as both. A token that ends in a vowel keeps its class as a
  final mark (`e` for a and the ta marbuta, `y` for i, `o` for u), which is what separates
  Karima from Karim and Roberta from Roberto. A French silent final `e` (Amine, Abderrahmane,
  Gagarine) does not count. A final `h` after a vowel and an Arabic final ه or ح read as a final
  `e` whatever the vowel before them (Fatimah = Fatima = فاطمة; Saleh = Salih = صالح).
- Consonants keep the classes of the skeleton with two splits that transliterations respect:
  `s` (س ص) apart from `z` (ز, and ذ ض ظ where Persian and Turkish read them z), and `j` apart
  from `k`. The `j` class holds ج ژ گ خ and Cyrillic ж х, Latin `j`, `dj`, `dzh`, `zh`, `kh` and
  `g`: Egyptian spelling writes ج as `g` (Gamal) and Spanish writes خ and х as `j` (Jalid,
  Mijaíl). The `k` class holds ك غ, Latin `k`, `q`, a hard `c` and `gh`; ق reads both ways
  (Qaddafi, Gaddafi). Interdentals and emphatics keep their two readings (ث: t or s; ذ ض: t or z;
  ظ: z or t). Urdu ھ after a consonant marks aspiration and is no letter of its own (بھٹو, Bhutto).

A reading is lower-case ASCII: the consonant classes `b t s z j k h r x f l m n v`, the opening
and medial marks `a i u`, and the final marks `e y o`. No raw name with an upper-case or
non-ASCII letter can therefore appear in one. What readings still cannot separate, and the
measurements behind these choices, are in `protocol.match_keys.profile`.
"""

from __future__ import annotations

# The tables and the notes hold Arabic, Persian, Urdu and Cyrillic letters on purpose, including
# look-alikes of Latin letters; the ambiguous-character rules would flag every one of them.
# ruff: noqa: RUF001, RUF002, RUF003
import heapq
import re
from collections.abc import Iterable, Iterator, Sequence

__all__ = [
    "ALLAH_READINGS",
    "arabic_readings",
    "compound_readings",
    "hangul_readings",
    "latin_readings",
    "nearest_combinations",
]

# At most this many readings per token. The ambiguities above rarely give more than four; the
# bound keeps a long word full of them from multiplying the keys of a record.
_MAX_READINGS = 8

# One position of a token: the alternative strings it may contribute to a reading.
_Slot = tuple[str, ...]

# fmt: off
_LATIN_GRAPHS = (
    ("tsch", "x"), ("sch", "x"), ("dzh", "j"), ("tch", "x"), ("sh", "x"), ("ch", "x"), ("cz", "x"),
    ("sz", "x"), ("zh", "j"), ("kh", "j"), ("gh", "k"), ("dj", "j"), ("ck", "k"), ("ph", "f"),
    ("th", "t|s"), ("dh", "t|z"), ("bh", "b"), ("jh", "j"), ("ts", "s"), ("tz", "s"), ("x", "ks"),
)
_LATIN_LETTERS = {
    "b": "b", "p": "b", "f": "f", "d": "t", "t": "t", "g": "j", "j": "j", "k": "k", "q": "k",
    "s": "s", "z": "z", "h": "h", "l": "l", "m": "m", "n": "n", "r": "r",
}
_ARABIC_CONSONANTS = {
    "ب": "b", "پ": "b", "ت": "t", "ط": "t", "د": "t", "ٹ": "t", "ڈ": "t", "ث": "t|s", "ذ": "t|z",
    "ض": "t|z", "ظ": "z|t", "ج": "j", "ژ": "j", "گ": "j", "ق": "k|j", "ك": "k", "ک": "k", "خ": "j",
    "غ": "k", "ح": "h", "ه": "h", "ہ": "h", "ھ": "h", "ر": "r", "ڑ": "r", "ز": "z", "س": "s",
    "ص": "s", "ش": "x", "چ": "x", "ف": "f", "ل": "l", "م": "m", "ن": "n", "ں": "n",
}
# Vowel letters, hamza and ayn, with the mark each leaves in a reading ("" for none).
_ARABIC_VOWELS = {
    "ا": "", "أ": "", "إ": "", "آ": "", "ٱ": "", "ى": "", "ة": "", "ۃ": "", "ۀ": "", "ے": "",
    "ە": "", "ء": "", "ع": "", "ي": "i", "ی": "i", "ئ": "i", "و": "u", "ؤ": "u",
}
# The vowel classes a token may open with, by its first letter.
_ARABIC_OPENINGS = {
    "ا": ("a", "u"), "ٱ": ("a", "u"), "ع": ("a", "u"), "ء": ("a", "u"), "أ": ("a", "u"),
    "إ": ("a",), "آ": ("a",), "ي": ("a",), "ی": ("a",), "ئ": ("a",), "ؤ": ("u",),
}
# fmt: on
_LATIN_OPENINGS = {"a": "a", "e": "a", "i": "a", "y": "a", "o": "u", "u": "u"}
_LATIN_VOWELS = frozenset("aeiouy")
_ARABIC_ALIF = frozenset("اآ")
_ARABIC_FINAL_H = frozenset("هحہھ")
_ASPIRATION = "ھ"
# A single i or e, possibly followed by the `a` that stood after a dropped ayn.
_SINGLE_I = re.compile(r"[ie]a?")
_DOUBLED_CONSONANT = re.compile(r"([b-df-hj-np-tv-z])\1+")
_DOUBLED = re.compile(r"(.)\1+")
_VOWEL_CLASS = {"i": "i", "y": "i", "o": "u", "u": "u", "a": "a", "e": "e"}
_FINAL_A, _FINAL_I, _FINAL_U = "e", "y", "o"
_LATIN_FINALS = {
    "a": _FINAL_A, "e": _FINAL_A, "i": _FINAL_I, "y": _FINAL_I, "o": _FINAL_U, "u": _FINAL_U,
}  # fmt: skip
_ARABIC_FINALS = {"": _FINAL_A, "i": _FINAL_I, "u": _FINAL_U}

# Spellings that the letters alone misread. The final و of عمرو (Amr) is silent: it is written
# only to tell the name from عمر (Omar).
_ARABIC_EXCEPTIONS = {"عمرو": ("amr", "amro")}
# Prefixes bound to the next name read alike in every script, so that `Abd al-Aziz`, `Abdelaziz`
# and عبد العزيز differ only in the stem.
_PREFIXES = {"abd": ("abt",), "عبد": ("abt",), "abu": ("abu",), "أبو": ("abu",)}

# The readings of the canonical token that stands for Allah (`Abdullah`, `Nasrallah`, الله).
ALLAH_READINGS = ("le",)


def latin_readings(text: str) -> tuple[str, ...]:
    """Return the phonetic readings of one Latin token, the most likely first.

    `text` is lower-case ASCII and not folded: `Kareem` must keep its `ee`. A token without
    consonants has no reading.
    """
    text, vowel_h = _strip_final_h(text)
    # French and Spanish write a silent u after g and q before e and i (Guennadi, Naguib, Joaquin).
    text = re.sub(r"(?<=g)u(?=[eiy])", "", text)
    text = re.sub(r"qu(?=[eiy])", "k", text)
    consonants, groups = _latin_scan(_DOUBLED_CONSONANT.sub(r"\1", text))
    if not consonants:
        return ()
    opening = groups[0]
    slots: list[_Slot] = [
        (_LATIN_OPENINGS[opening[0]] + _latin_marks(opening[1:]),) if opening else ("",)
    ]
    last = len(consonants) - 1
    for number, consonant in enumerate(consonants):
        slots.append(consonant)
        if number < last:
            first = number == 0 and not opening
            after_u = "u" in _latin_marks("".join(groups[: number + 1]))
            gap = _latin_gap(groups[number + 1], first=first, last=number + 1 == last)
            # A short u after an earlier u (Yusuf, Yunus) is written like the long u that follows
            # an a (Mahmud), so there it reads both ways.
            slots.append(("u", "") if after_u and groups[number + 1] == "u" else gap)
    slots.append((_latin_ending(groups[-1], vowel_h=vowel_h),))
    return _expand(slots)


def arabic_readings(text: str) -> tuple[str, ...]:
    """Return the phonetic readings of one Arabic-script token (letters only, no short vowels)."""
    if text in _ARABIC_EXCEPTIONS:
        return _ARABIC_EXCEPTIONS[text]
    ending = len(text) > 1 and text[-1] in _ARABIC_FINAL_H
    consonants, groups = _arabic_scan(text[:-1] if ending else text)
    if not consonants:
        return ()
    opening = groups[0]
    slots: list[_Slot] = [("",)]
    if opening:
        rest = _arabic_marks(opening[1:])
        slots = [tuple(cls + rest for cls in _ARABIC_OPENINGS.get(opening[0], ("",)))]
    last = len(consonants) - 1
    for number, consonant in enumerate(consonants):
        slots.append(consonant)
        if number < last:
            gap = groups[number + 1]
            if number == 0 and not opening:
                # A long u in the first syllable is dropped, as the Latin side drops it.
                slots.append((_arabic_marks(gap).replace("u", ""),))
            elif not gap and any(letter in _ARABIC_ALIF for letter in groups[number]):
                # The pattern C-a-C-i-C (خالد, Khalid): after an alif, two consonants with nothing
                # written between them usually have a short i there, which English spellings
                # write.
                slots.append(("", "i"))
            else:
                slots.append((_arabic_marks(gap),))
    slots.append(_arabic_endings(groups[-1], ending=ending))
    return _expand(slots)


def hangul_readings(romanised: str) -> tuple[str, ...]:
    """Return the readings of one Hangul syllable given in the Revised Romanization (`gim`).

    Passports and the press mostly keep the older spellings, which write a voiceless initial
    (`kim`, `chung`) and `o`, `u` for `eo`, `eu` (Kim Jong-un, not Gim Jeong-eun), so the readings
    of those spellings are added.
    """
    initials = [romanised]
    for voiced, voiceless in (("g", "k"), ("j", "ch")):
        if romanised.startswith(voiced):
            initials.append(voiceless + romanised[len(voiced) :])
    older = [initial.replace("eo", "o").replace("eu", "u") for initial in initials]
    spellings = dict.fromkeys(initials + older)
    return _finish(reading for spelling in spellings for reading in latin_readings(spelling))


def compound_readings(prefix: str, stem: str, *, arabic: bool) -> tuple[str, ...]:
    """Return the readings of a bound compound (`abd` + `aziz`, عبد + عزيز), part by part.

    Reading the parts apart keeps a false digraph or vowel group from forming across the joint,
    and gives the stem its own opening vowel, as it has when written apart.
    """
    read = arabic_readings if arabic else latin_readings
    options = [part for part in (_PREFIXES.get(prefix) or read(prefix), read(stem)) if part]
    if not options:
        return ()
    return _finish("".join(choice) for choice in nearest_combinations(options, _MAX_READINGS))


def nearest_combinations(options: Sequence[Sequence[str]], limit: int) -> Iterator[tuple[str, ...]]:
    """Yield up to `limit` combinations of one option per position, by increasing index sum.

    Combinations that depart from the first option in one position come before those that
    depart in two, so a cap on their number cuts the least likely ones, whichever positions hold
    the alternatives. Ties are broken by the positions' order, so the result is deterministic.
    """
    if limit > 0 and all(len(option) == 1 for option in options):
        # The usual case, one option per position: the one combination there is.
        yield tuple(option[0] for option in options)
        return
    start = (0,) * len(options)
    frontier = [(0, start)]
    seen = {start}
    for _ in range(limit):
        if not frontier:
            return
        total, indexes = heapq.heappop(frontier)
        yield tuple(option[i] for option, i in zip(options, indexes, strict=True))
        for position, option in enumerate(options):
            if indexes[position] + 1 < len(option):
                following = (*indexes[:position], indexes[position] + 1, *indexes[position + 1 :])
                if following not in seen:
                    seen.add(following)
                    heapq.heappush(frontier, (total + 1, following))


def _latin_scan(text: str) -> tuple[list[_Slot], list[str]]:
    """Split a Latin token into consonant classes and the vowel groups around them.

    `groups[0]` opens the token, `groups[n]` follows the n-th consonant. `w` and `v` count as
    vowels inside a word, where they render the long u or the glide of و.
    """
    consonants: list[_Slot] = []
    groups = [""]
    index = 0
    while index < len(text):
        letter = text[index]
        if letter in _LATIN_VOWELS or (letter in "wv" and index > 0):
            groups[-1] += letter
            index += 1
            continue
        cls, length = _latin_consonant(text, index)
        index += length
        if cls:
            consonants.append(tuple(cls.split("|")))
            groups.append("")
    return consonants, groups


def _latin_consonant(text: str, index: int) -> tuple[str, int]:
    """Return the class of the consonant grapheme at `index` and how many letters it spans."""
    for graph, cls in _LATIN_GRAPHS:
        if text.startswith(graph, index):
            return cls, len(graph)
    letter = text[index]
    if letter == "c":
        return ("s" if text[index + 1 : index + 2] in ("e", "i", "y") else "k"), 1
    if letter in "wv":
        return "v", 1
    return _LATIN_LETTERS.get(letter, ""), 1


def _arabic_scan(text: str) -> tuple[list[_Slot], list[str]]:
    """Split an Arabic-script token into consonant classes and the vowel letters around them."""
    consonants: list[_Slot] = []
    groups = [""]
    for index, letter in enumerate(text):
        if letter == _ASPIRATION and index > 0 and text[index - 1] in _ARABIC_CONSONANTS:
            # Urdu ھ after a consonant marks aspiration (بھٹو, Bhutto); it is no letter of its own.
            continue
        if letter == "و" and index == 0:
            consonants.append(("v",))
            groups.append("")
        elif letter in _ARABIC_VOWELS:
            groups[-1] += letter
        elif letter in _ARABIC_CONSONANTS:
            consonants.append(tuple(_ARABIC_CONSONANTS[letter].split("|")))
            groups.append("")
    return consonants, groups


def _strip_final_h(text: str) -> tuple[str, bool]:
    if len(text) > 2 and text.endswith("h") and text[-2] in _LATIN_VOWELS:
        return text[:-1], True
    return text, False


def _latin_marks(group: str) -> str:
    """Return the marks of a Latin vowel group: `ee` and `ae` are a long i, `a` and `e` none."""
    marks = []
    index = 0
    while index < len(group):
        if group[index : index + 2] in ("ee", "ae"):
            marks.append("i")
            index += 2
            continue
        letter = group[index]
        if letter in "iy":
            marks.append("i")
        elif letter in "ouwv":
            marks.append("u")
        index += 1
    return _DOUBLED.sub(r"\1", "".join(marks))


def _latin_gap(group: str, *, first: bool, last: bool) -> _Slot:
    """Return the alternatives for the vowels between two consonants (see the module notes)."""
    marks = _latin_marks(group)
    if first:
        if _SINGLE_I.fullmatch(group):
            return ("", "i")
        return (marks.replace("u", ""),)
    if group == "o":
        return ("",)
    if last and group in ("e", "ve", "we", "ye"):
        return (marks, _DOUBLED.sub(r"\1", marks + "i"))
    return (marks,)


def _latin_ending(group: str, *, vowel_h: bool) -> str:
    """Return the marks of the letters after the last consonant, the final vowel last."""
    if not group or (group == "e" and not vowel_h):
        return ""
    last = group[-1]
    if last in "wv":
        return _latin_marks(group)
    # A run of one vowel class is one final vowel (Dmitrii, Dmitriy, Dmitry).
    run = len(group)
    while run > 0 and _VOWEL_CLASS.get(group[run - 1]) == _VOWEL_CLASS[last]:
        run -= 1
    return _latin_marks(group[:run]) + (_FINAL_A if vowel_h else _LATIN_FINALS[last])


def _arabic_marks(group: str) -> str:
    return _DOUBLED.sub(r"\1", "".join(_ARABIC_VOWELS.get(letter, "") for letter in group))


def _arabic_endings(group: str, *, ending: bool) -> _Slot:
    """Return the alternatives for the letters after the last consonant."""
    if ending:
        return (_FINAL_A,)
    if not group:
        return ("",)
    last = _ARABIC_VOWELS.get(group[-1], "")
    run = len(group)
    while run > 0 and _ARABIC_VOWELS.get(group[run - 1], "") == last:
        run -= 1
    marks = _arabic_marks(group[:run])
    # Egyptian spelling writes a final i as ى (حجازى for حجازي); elsewhere ى is a final a (موسى).
    finals = (_FINAL_A, _FINAL_I) if group[-1] == "ى" else (_ARABIC_FINALS[last],)
    return tuple(marks + final for final in finals)


def _expand(slots: Sequence[_Slot]) -> tuple[str, ...]:
    return _finish("".join(choice) for choice in nearest_combinations(slots, _MAX_READINGS * 2))


def _finish(values: Iterable[str]) -> tuple[str, ...]:
    """Collapse repeated letters (one class or mark written twice), dedupe and cap the readings."""
    out: list[str] = []
    for value in values:
        # An n before b is spoken, and often written, m, as in the skeleton.
        finished = _DOUBLED.sub(r"\1", value.replace("nb", "mb"))
        if finished and finished not in out:
            out.append(finished)
            if len(out) == _MAX_READINGS:
                break
    return tuple(out)
