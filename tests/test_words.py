"""Must and must-not words: whole words, any case, accents folded."""

from __future__ import annotations

import pytest

from recommender.words import Words, keeps


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("GAN", "A GAN for faces"),
        ("gan", "GANs? no: a GAN."),
        ("naïve bayes", "Why Naive  Bayes works"),
        ("naive bayes", "why naïve Bayes works"),
        ("self supervised", "Self-supervised learning"),
        ("protein", "(Protein) folding"),
        ("3D", "3D medical imaging"),
        ("Müller", "the MÜLLER method"),
        ("Łódź", "a corpus from Lodz"),
        ("Lodz", "a corpus from Łódź"),
    ],
)
def test_a_word_matches_whole_words_in_any_case_with_accents_folded(phrase: str, text: str) -> None:
    assert Words([phrase]).found_in(text)


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("GAN", "organ transplants"),
        ("GAN", "GANs"),
        ("art", "state of the artwork"),
        ("self supervised", "self and supervised"),
        ("diffusion model", "model diffusion"),
    ],
)
def test_a_word_inside_another_word_or_out_of_order_does_not_match(phrase: str, text: str) -> None:
    assert not Words([phrase]).found_in(text)


def test_any_of_several_words_matches_in_any_of_several_texts() -> None:
    words = Words(["quantum", "protein folding"])
    assert words.found_in("A title", "an abstract on protein folding")
    assert not words.found_in("A title", "an abstract")


def test_no_words_match_nothing_and_filter_nothing() -> None:
    assert not Words([])
    assert not Words(["---"])
    assert keeps("anything", Words([]), Words([]))


def test_a_must_not_word_keeps_a_text_out_even_with_its_must_word() -> None:
    must, must_not = Words(["protein"]), Words(["survey"])
    assert keeps("Protein design", must, must_not)
    assert not keeps("A survey of protein design", must, must_not)
    assert not keeps("Language models", must, must_not)
