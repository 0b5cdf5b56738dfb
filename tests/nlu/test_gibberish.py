"""Keyboard mash and pasted code are unclear messages (issue 27, and issue 26's
«javascript:alert(1)», which once subscribed a citizen)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.gibberish import GibberishClassifier
from urp.nlu.gibberish import is_gibberish, is_mash, looks_like_code


@pytest.mark.parametrize(
    "text",
    [
        "asdfghjkl",
        "jdjdjdjd",
        "qwerty",
        "sdkjfh skdjfh",
        "aaaaaaaa",
        "asdasd ciao",
        "javascript:alert(1)",
        "<script>alert('x')</script>",
        "<img src=x onerror=alert(1)>",
        "' or '1'='1",
    ],
)
def test_mash_and_code_are_gibberish(text: str) -> None:
    assert is_gibberish(text)


@pytest.mark.parametrize(
    "text",
    [
        "ciao",
        "cmq nn ho capito xké",
        "grz",
        "👍",
        "1234",
        "GDPR",
        "gdpr?? lo rispettate o no",
        "siiiii",
        "hahahaha",
        "Entschuldigung, sprechen Sie Deutsch?",
        "c'è l'allerta meteo oggi?",
        "la strada è piena di buche, una vera schifezza",
        "transfrontaliero",
    ],
)
def test_words_are_not_gibberish(text: str) -> None:
    assert not is_gibberish(text)


def test_one_odd_word_in_a_sentence_is_not_gibberish() -> None:
    assert is_mash("sdfg")
    assert not is_gibberish("vorrei iscrivermi sdfg al servizio del comune")


def test_code_is_told_apart_from_words_that_look_like_it() -> None:
    assert looks_like_code("javascript:void(0)")
    assert not looks_like_code("allerta meteo: si può uscire?")


def _parsed(text: str, intent: str) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": 0.93})
    message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 0.93}])
    return message


def test_the_component_turns_gibberish_into_nlu_fallback() -> None:
    component = GibberishClassifier()
    probe, citizen = component.process(
        [_parsed("javascript:alert(1)", "subscribe"), _parsed("iscrivimi", "subscribe")]
    )
    assert probe.get(INTENT) == {"name": "nlu_fallback", "confidence": 1.0}
    assert [r["name"] for r in probe.get(INTENT_RANKING_KEY)] == ["nlu_fallback", "subscribe"]
    assert citizen.get(INTENT)["name"] == "subscribe"
