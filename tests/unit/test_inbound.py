"""What a citizen's text becomes before Rasa: urp.inbound.clean."""

from __future__ import annotations

import pytest

from urp.inbound import CUT_KEY, EMPTY_TEXT, MAX_TEXT, clean


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n", "\x00\x07\x1b", "\x85\x9f", None, 42])
def test_nothing_readable_becomes_the_polite_event(text: object) -> None:
    assert clean(text).text == EMPTY_TEXT


def test_control_characters_are_removed_newline_and_tab_kept() -> None:
    assert clean("ora\x00ri\x1b ana\x7fgrafe\x9b\n\tdomani").text == "orari anagrafe\n\tdomani"


def test_lone_surrogates_and_bom_are_removed() -> None:
    broken = b"farmacie \xff di turno".decode("utf-8", "surrogateescape")
    assert clean("\ufeff" + broken).text == "farmacie  di turno"


def test_emoji_and_accents_are_kept() -> None:
    assert clean("😀🙏 perché è così?").text == "😀🙏 perché è così?"


def test_a_long_message_is_cut_and_the_metadata_says_how_long_it_was() -> None:
    inbound = clean("a" * 20_000)
    assert inbound.text == "a" * MAX_TEXT
    assert inbound.cut
    assert inbound.metadata({"x": 1}) == {"x": 1, CUT_KEY: 20_000}


def test_a_short_message_is_left_alone() -> None:
    inbound = clean("  orari anagrafe  ")
    assert inbound.text == "orari anagrafe"
    assert not inbound.cut
    assert inbound.metadata(None) == {}
