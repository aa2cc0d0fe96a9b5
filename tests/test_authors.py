"""Matching followed authors to papers' authors: initials, accents, and not every Smith."""

from __future__ import annotations

import pytest

from recommender.authors import Followed, fold, parse_name, same_person


def same(one: str, other: str) -> bool:
    a, b = parse_name(one), parse_name(other)
    assert a is not None and b is not None
    return same_person(a, b)


@pytest.mark.parametrize(
    ("followed", "author"),
    [
        ("J. Smith", "John Smith"),
        ("John Smith", "J. Smith"),
        ("John Smith", "john smith"),
        ("J Smith", "John R. Smith"),
        ("J.R. Smith", "John Robert Smith"),
        ("John Smith", "Smith, John"),
        ("Smith, J.", "John Smith"),
        ("Hans Müller", "Hans Mueller"),
        ("Hans Müller", "Hans Muller"),
        ("Hans Mueller", "Hans Müller"),
        ("José García", "Jose Garcia"),
        ("Zoë Ångström", "Zoe Angstrom"),
        ("Jean-Pierre Dupont", "J.-P. Dupont"),
        ("Jean-Pierre Dupont", "Jean Pierre Dupont"),
        ("Ludwig van Beethoven", "L. van Beethoven"),
        ("Martin Luther King Jr.", "Martin King"),
        ("Anne-Marie Smith-Jones", "A. Smith-Jones"),
        ("Sean O'Brien", "Sean OBrien"),
        ("Ilya Sutskever", "  Ilya   Sutskever "),
        ("Jürgen Schmidhuber", "Juergen Schmidhuber"),
        ("Juergen Schmidhuber", "Jürgen Schmidhuber"),
        ("Łukasz Kaiser", "Lukasz Kaiser"),
        ("Søren Hauberg", "Soren Hauberg"),
        ("Işıl Dillig", "Isil Dillig"),
        ("Đặng Minh", "Dang Minh"),
        ("Xiao-Ming Wang", "Xiaoming Wang"),
        ("Xiaoming Wang", "X.-M. Wang"),
    ],
)
def test_names_of_one_person_match(followed: str, author: str) -> None:
    assert same(followed, author)


@pytest.mark.parametrize(
    ("followed", "author"),
    [
        ("J. Smith", "Kate Smith"),
        ("John Smith", "Jane Smith"),
        ("John Smith", "John Smyth"),
        ("John R. Smith", "John T. Smith"),
        ("Jean-Pierre Dupont", "Jean-Paul Dupont"),
        ("Hans Müller", "Hans Miller"),
        ("Anne Smith-Jones", "Anne Smith"),
        ("John Smith", "Smith John"),
        ("Xiao-Ming Wang", "Xiao-Mei Wang"),
        ("Xiaoming Wang", "Xiao Wang"),
        ("Lukasz Kaiser", "Lucas Kaiser"),
    ],
)
def test_names_of_different_people_do_not_match(followed: str, author: str) -> None:
    assert not same(followed, author)


@pytest.mark.parametrize("text", ["Smith", "  ", "J.", ", John", "Smith,", "Jr."])
def test_a_bare_surname_or_initial_is_no_name_to_follow(text: str) -> None:
    assert parse_name(text) is None


def test_following_a_surname_alone_matches_no_smith() -> None:
    followed = Followed(["Smith"])
    assert not followed
    assert followed.match(["John Smith", "Smith", "K. Smith"]) is None


def test_a_paper_by_a_followed_author_names_them_as_the_profile_writes_them() -> None:
    followed = Followed(["Yann LeCun", "J. Müller"])
    assert followed.match(["Ada Lovelace", "Jonas Mueller"]) == "J. Müller"
    assert followed.match(["Y. LeCun"]) == "Yann LeCun"
    assert followed.match(["Ada Lovelace", "Grace Hopper"]) is None
    assert followed.match([]) is None


def test_an_author_with_one_name_only_matches_nobody() -> None:
    assert Followed(["John Smith"]).match(["Smith", "Prabhat"]) is None


def test_fold_drops_case_and_accents_and_may_spell_umlauts_out() -> None:
    assert fold("Ärger Çelik") == "arger celik"
    assert fold("Müller", spell_out=True) == "mueller"
    assert fold("Straße", spell_out=True) == "strasse"


def test_fold_spells_letters_without_a_separate_accent_plainly() -> None:
    assert fold("Łódź Søren Đorđe Işık") == "lodz soren dorde isik"
