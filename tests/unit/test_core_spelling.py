"""Typos corrected against the FAQ's own words (urp.core.spelling), and what it does to the
search: the right entry answers a question with a typo as it answers the same without."""

from __future__ import annotations

import pytest

from urp.core.settings import FaqSettings
from urp.core.spelling import MIN_LENGTH, Speller, italian_words
from urp.faq.entries import FaqEntry
from urp.faq.search import FaqIndex

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


ENTRIES = [
    FaqEntry(
        "piscina-orari",
        ("Quali sono gli orari della piscina comunale?", "quando apre la piscina"),
        "La piscina comunale è aperta dal lunedì al sabato, dalle 8 alle 21.",
        topic="sport",
    ),
    FaqEntry(
        "biblioteca-iscrizione",
        ("Come mi iscrivo alla biblioteca?", "tessera della biblioteca"),
        "L'iscrizione alla biblioteca è gratuita: porta un documento.",
        topic="cultura",
    ),
    FaqEntry(
        "mensa-pagamento",
        ("Come si paga la mensa scolastica?", "ricarica dei pasti della mensa"),
        "La mensa si paga con pagoPA dall'app del Comune.",
        topic="scuola",
    ),
]


def test_the_search_reads_a_typo_as_the_word_it_missed() -> None:
    index = FaqIndex.build(ENTRIES, FaqSettings())
    typed, clean = index.evidence("orari pisicna")[0], index.evidence("orari piscina")[0]
    # The stems' space and the share of known words see the word the citizen meant.
    assert typed.words.tolist() == pytest.approx(clean.words.tolist())
    assert typed.known == pytest.approx(clean.known)
