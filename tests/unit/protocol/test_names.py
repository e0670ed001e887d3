"""Name normalisation: scripts, particles, order, compounds and skeletons."""

# Test names are written in Arabic, Cyrillic and Greek on purpose.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import pytest

from crypto.errors import InputError
from protocol.match_keys.keys import WarningCode
from protocol.match_keys.names import NameForm, latin_skeleton, normalise_name
from protocol.match_keys.phonetic import (
    arabic_readings,
    compound_readings,
    hangul_readings,
    latin_readings,
    nearest_combinations,
)


def _tokens(full: str) -> set[str]:
    return {form.sorted_tokens() for form in normalise_name(full=full).forms}


def _skeletons(full: str) -> set[str]:
    return {value for form in normalise_name(full=full).forms for value in form.skeleton_keys()}


def _phonetics(full: str) -> set[str]:
    return {value for form in normalise_name(full=full).forms for value in form.phonetic_keys()}


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


@pytest.mark.parametrize(
    ("token", "readings"),
    [
        ("hassan", ("hsn",)),
        ("hussein", ("hsin",)),
        ("kareem", ("krim",)),
        ("karima", ("krime",)),
        ("gamal", ("jml",)),
        ("mohamed", ("mhmt", "mhmit")),
        ("mahmoud", ("mhmut",)),
        ("khaled", ("jlt", "jlit")),
        ("yusuf", ("ausuf", "ausf")),
        ("nour", ("nr",)),
        ("fatimah", ("ftime",)),
        ("salah", ("sle",)),
        ("amine", ("amin",)),
    ],
)
def test_latin_readings(token: str, readings: tuple[str, ...]) -> None:
    assert latin_readings(token) == readings


@pytest.mark.parametrize(
    ("token", "readings"),
    [
        ("حسين", ("hsin",)),
        ("خالد", ("jlt", "jlit")),
        ("فاطمة", ("ftme", "ftime")),
        ("علي", ("aly", "uly")),
        # Egyptian spelling writes a final i as a dotless ya.
        ("حجازى", ("hjze", "hjzy")),
        # The final waw of Amr is silent.
        ("عمرو", ("amr", "amro")),
        # Urdu do-chashmi he after a consonant marks aspiration.
        ("بھٹو", ("bto",)),
    ],
)
def test_arabic_readings(token: str, readings: tuple[str, ...]) -> None:
    assert arabic_readings(token) == readings


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Hassan", "Hussein"),
        ("Hassan", "Hassanein"),
        ("Said", "Zaid"),
        ("Said", "Saad"),
        ("Karim", "Karima"),
        ("Amin", "Amina"),
        ("Amine", "Amina"),
        ("Jamal", "Jamil"),
        ("Jamal", "Kamal"),
        ("Omar", "Amr"),
        ("Hamid", "Ahmed"),
        ("Mohamed", "Mahmoud"),
        ("Mohamed", "Mahmud"),
        ("Ali", "Alawi"),
        ("Hisham", "Hashim"),
        ("Roberto", "Roberta"),
        ("حسن", "Hussein"),
        ("كريمة", "Karim"),
    ],
)
def test_near_names_have_no_reading_in_common(first: str, second: str) -> None:
    assert not _phonetics(f"{first} Haddad") & _phonetics(f"{second} Haddad")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Hussein", "Husain"),
        ("Hussein", "Husayn"),
        ("حسين", "Hossein"),
        ("Said", "Saeed"),
        ("سعيد", "Saïd"),
        ("Karim", "Kareem"),
        ("كريمة", "Karimah"),
        ("Mohammed", "Muhammad"),
        ("محمد", "Mehmet"),
        ("Mahmoud", "Mahmud"),
        ("محمود", "Mahmood"),
        ("Khaled", "Khalid"),
        ("خالد", "Jalid"),
        ("Youssef", "Yusuf"),
        ("يوسف", "Yousef"),
        ("Gamal", "Jamal"),
        ("Nour", "Noor"),
        ("Amin", "Amine"),
        ("فاطمة", "Fatemeh"),
        ("Ali", "Aly"),
        ("Kadhim", "Kazem"),
        ("القذافي", "Gaddafi"),
        ("Sergey", "Sergueï"),
        ("Dmitry", "Dmitrii"),
    ],
)
def test_spellings_of_one_name_share_a_reading(first: str, second: str) -> None:
    assert _phonetics(f"{first} Haddad") & _phonetics(f"{second} Haddad")


def test_compounds_read_part_by_part_with_fixed_prefixes() -> None:
    assert compound_readings("abd", "aziz", arabic=False) == ("abtaziz",)
    assert "abtaziz" in compound_readings("عبد", "عزيز", arabic=True)
    assert _phonetics("Abdelaziz Bouteflika") & _phonetics("عبد العزيز بوتفليقة")
    assert _phonetics("Abou Bakr Baghdadi") & _phonetics("Aboubacar Baghdadi")


def test_hangul_reads_as_the_older_romanisations_too() -> None:
    assert "kim" in hangul_readings("gim")
    assert "un" in hangul_readings("eun")
    assert _phonetics("김정은") & _phonetics("Kim Jong-un")


def test_normalisation_gaps_closed_with_the_phonetic_key() -> None:
    assert _tokens("Παπαδοπούλου Ρεγγίνα") == {"papadopoulou regina"}
    assert _tokens("Nour Eddine Bouzid") == _tokens("Noureddine Bouzid")
    assert _tokens("Ahmed Aboul Gheit") == {"abugheit ahmed"}
    # The ayns of جعجع leave one Latin letter, but the word is a name, not an initial.
    assert len(normalise_name(full="سمير جعجع").forms[0].tokens) == 2


def test_nearest_combinations_depart_from_the_first_choices_one_at_a_time() -> None:
    combinations = list(nearest_combinations([("a", "b"), ("x", "y", "z")], 4))
    assert combinations == [("a", "x"), ("a", "y"), ("b", "x"), ("a", "z")]


def test_phonetic_keys_do_not_depend_on_written_order() -> None:
    assert _phonetics("Mohamed Khaled Hussein") == _phonetics("Hussein Mohamed Khaled")
    assert NameForm(("a", "b"), (), None).phonetic_keys() == ()
