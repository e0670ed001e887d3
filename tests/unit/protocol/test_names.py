"""Name normalisation: scripts, particles, order, compounds and skeletons."""

# Test names are written in Arabic, Cyrillic and Greek on purpose.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import pytest

from protocol.errors import InputError
from protocol.match_keys.keys import WarningCode
from protocol.match_keys.names import NameForm, latin_skeleton, normalise_name


def _tokens(full: str) -> set[str]:
    return {form.sorted_tokens() for form in normalise_name(full=full).forms}


def _skeletons(full: str) -> set[str]:
    return {value for form in normalise_name(full=full).forms for value in form.skeleton_keys()}


def _codes(full: str) -> set[WarningCode]:
    return {code for code, _ in normalise_name(full=full).warnings}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Usama bin Ladin", "BIN LADIN, Usama"),
        ("José Martí", "JOSE MARTI"),
        ("Jean-Pierre Dubois", "DUBOIS, Jean Pierre"),
        ("Sean O'Brien", "Sean OBrien"),
        ("Ludwig van Beethoven", "BEETHOVEN, Ludwig van"),
        ("Bashar al-Assad", "Bashar Assad"),
        ("Mohamed ElBaradei", "Mohamed El Baradei"),
        ("Abdul Rahman Yusuf", "Abd al-Rahman Yusuf"),
        ("Abdurrahman Yusuf", "Abdulrahman Yusuf"),
        ("Salahuddin Ahmed", "Salah ad-Din Ahmed"),
        ("Rahmatullah Karimi", "Rahmat Ullah Karimi"),
        ("Mohammed Hassan", "Mohamed Hasan"),
        ("Fatimah Zahra", "Fatima Zahra"),
        ("Sheikh Ahmed Yassin", "Ahmed Yassin"),
        ("Dr. Ayman Zawahiri", "Ayman Zawahiri"),
        ("习近平", "Xi Jinping"),
    ],
)
def test_variants_share_canonical_tokens(first: str, second: str) -> None:
    assert _tokens(first) & _tokens(second)


@pytest.mark.parametrize(
    ("arabic", "latin"),
    [
        ("أسامة بن لادن", "Osama bin Laden"),
        ("معمر القذافي", "Muammar Gaddafi"),
        ("معمر القذافي", "Mouammar Kadhafi"),
        ("عبد العزيز بوتفليقة", "Abdelaziz Bouteflika"),
        ("هشام الشريف", "Hicham Cherif"),
        ("خالد العتيبي", "Jalid al-Utaybi"),
        ("علي خامنه‌ای", "Ali Khamenei"),
        ("بینظیر بھٹو", "Benazir Bhutto"),
        ("وليد جنبلاط", "Walid Jumblatt"),
        ("يحيى السنوار", "Yahya Sinwar"),
        ("حمد بن جاسم آل ثاني", "Hamad bin Jassim Al Thani"),
        ("عبد الحكيم بلحاج", "Abdul Hakim Belhaj"),
        ("Михаил Горбачёв", "Mijaíl Gorbachov"),
        ("Слободан Милошевић", "Slobodan Milošević"),
    ],
)
def test_scripts_meet_in_the_skeleton(arabic: str, latin: str) -> None:
    assert _skeletons(arabic) & _skeletons(latin)


def test_cyrillic_gives_icao_and_common_forms() -> None:
    tokens = _tokens("Юрий Гагарин")
    # ICAO Doc 9303 Part 3 gives "iurii", as in Russian passports; doubled letters then collapse.
    assert "gagarin iuri" in tokens
    assert "gagarin yuriy" in tokens


def test_umlaut_gives_icao_and_stripped_forms() -> None:
    assert _tokens("Hans Müller") == {"hans muler", "hans mueler"}
    assert _tokens("MUELLER, Hans") <= _tokens("Hans Müller")


def test_cedilla_before_back_vowel_reads_s() -> None:
    assert "faysal" in _tokens("Fayçal")


def test_comma_gives_family_and_given_split() -> None:
    (form,) = normalise_name(full="GARCIA LOPEZ, Maria Jose").forms
    assert form.tokens == ("maria", "jose", "garcia", "lopez")
    assert form.given == 2


def test_parts_give_split_and_drop_leading_particle_of_given_names() -> None:
    (form,) = normalise_name(family="Nguyễn", given="Văn Minh").forms
    assert form.tokens == ("minh", "nguyen")


@pytest.mark.parametrize("full", ["Al Gore", "GORE, Al", "Van Morrison"])
def test_particle_that_is_a_given_name_is_kept(full: str) -> None:
    assert len(normalise_name(full=full).forms[0].tokens) == 2


def test_connectors_and_articles_are_dropped() -> None:
    assert _tokens("Mohammed bin Rashid Al Maktoum") == {"maktoum mohamed rashid"}
    assert _tokens("محمد بن راشد آل مكتوم") == {"mhmd mktum rashd"}


def test_initials_are_dropped() -> None:
    assert _tokens("John F. Kennedy") == {"john kenedy"}


def test_reduced_pairs_with_known_split() -> None:
    form = NameForm(tokens=("jose", "luis", "rodriguez", "zapatero"), skeletons=(), given=2)
    assert form.reduced_pairs() == ((0, 2), (0, 3), (1, 2))


def test_reduced_pairs_in_unknown_order() -> None:
    form = NameForm(tokens=("usama", "muhamad", "awad", "ladin"), skeletons=(), given=None)
    assert set(form.reduced_pairs()) == {(0, 3), (0, 2), (0, 1), (1, 2)}
    assert NameForm(("a", "b"), (), None).reduced_pairs() == ((0, 1),)
    assert NameForm(("a",), (), None).reduced_pairs() == ()


@pytest.mark.parametrize(
    ("token", "skeleton"),
    [
        ("mohamed", ("mhmt",)),
        ("gadafi", ("ktf",)),
        ("kadhafi", ("ktf", "ksf")),
        ("othman", ("tmn", "smn")),
        ("khalid", ("klt",)),
        ("jalid", ("klt",)),
        ("vladimir", ("vltmr",)),
        ("ivanov", ("n",)),
        ("fatima", ("ftm",)),
        ("yahya", ("h",)),
        ("jumblat", ("kmblt",)),
    ],
)
def test_latin_skeleton(token: str, skeleton: tuple[str, ...]) -> None:
    assert latin_skeleton(token) == skeleton


def test_single_token_name_warns() -> None:
    assert WarningCode.SINGLE_TOKEN_NAME in _codes("Suharto")


def test_mixed_scripts_warn() -> None:
    assert WarningCode.MIXED_SCRIPTS in _codes("Osama بن Laden")


def test_confusable_letters_are_folded_with_a_warning() -> None:
    mixed = "Ivаnov Pyotr"  # The second letter of "Ivаnov" is Cyrillic.
    assert _tokens(mixed) == _tokens("Ivanov Pyotr")
    assert WarningCode.CONFUSABLE_CHARACTERS in _codes(mixed)


def test_zero_width_and_harakat_do_not_matter() -> None:
    assert _tokens("مُحَمَّد عَلِي") == _tokens("محمد علي")
    assert _tokens("Mo\u200bhamed Ali") == _tokens("Mohamed Ali")


@pytest.mark.parametrize("full", ["", "   ", "12345", "---", "J. R."])
def test_name_without_letters_is_refused(full: str) -> None:
    with pytest.raises(InputError, match=r"^name: "):
        normalise_name(full=full)


def test_name_of_particles_only_is_kept() -> None:
    assert _tokens("Bin") == {"bin"}
    assert _tokens("Ben Ali") == {"ali ben"}


def test_overlong_name_is_refused() -> None:
    with pytest.raises(InputError, match=r"longer than"):
        normalise_name(full="a" * 300)
    with pytest.raises(InputError, match=r"tokens"):
        normalise_name(full=" ".join(f"name{chr(97 + i)}x" for i in range(20)))
