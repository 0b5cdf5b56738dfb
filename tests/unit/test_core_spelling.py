"""Typos corrected against a known vocabulary (urp.core.spelling): the spelling layer that
`make eval-nlu` measures as the «svm-refusi» variant."""

from __future__ import annotations

import pytest

from urp.core.spelling import MIN_LENGTH, Speller, italian_words

FAQ_TEXTS = [
    "Quali sono gli orari della piscina comunale?",
    "Come mi iscrivo alla biblioteca?",
    "Dove trovo il calendario della raccolta differenziata?",
    "La mensa scolastica: come si paga il pasto",
    "Ritiro gratuito a domicilio di ingombranti e RAEE",
]


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller(FAQ_TEXTS)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("orari pisicna", "orari piscina"),  # two letters swapped
        ("bibloteca comunale quando apre", "biblioteca comunale quando apre"),  # one missing
        ("calendaro della racolta", "calendario della raccolta"),
        ("cosa mangiano alla mesna", "cosa mangiano alla mensa"),
        ("ritiro ingombrati", "ritiro ingombranti"),
        ("Piscìna", "piscina"),  # folded like the rest of the search
    ],
)
def test_a_typo_of_a_faq_word_is_read_as_that_word(speller: Speller, typed: str, read: str) -> None:
    assert speller.correct(typed) == read


@pytest.mark.parametrize(
    "text",
    [
        "il secchio della raccolta",  # Italian, one edit from «vecchio»: left alone
        "abito a jesi",  # a town (in wordfreq's Italian), one edit from «mesi»
        "oggi",  # one edit from «ogni»
        "asdfgh",  # no FAQ word is one edit away
        "pisc",  # too short to guess
    ],
)
def test_words_italian_knows_or_no_faq_word_is_near_are_left_alone(
    speller: Speller, text: str
) -> None:
    assert speller.correct(text) == text


def test_a_short_word_is_never_corrected() -> None:
    speller = Speller(["orari"])
    short = "orar"[: MIN_LENGTH - 1]
    assert speller.word(short) == short


def test_the_faq_word_used_most_wins_among_candidates() -> None:
    speller = Speller(["carte", "carte", "carta"])
    assert speller.word("cartx") == "carte"


def test_an_empty_faq_corrects_nothing() -> None:
    assert Speller([]).correct("Pisicna?") == "Pisicna?"


def test_italian_words_come_from_the_package() -> None:
    words = italian_words()
    assert {"biblioteca", "piscina", "citta", "secchio"} <= words  # folded: «città»
    assert not {"bibloteca", "pisicna", "pagamneto"} & words
