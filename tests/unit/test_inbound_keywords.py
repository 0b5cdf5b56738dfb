"""The keywords that always mean what they say (urp.inbound.keywords): «STOP» is «Cancellami»,
«operatore» asks for a person, only a clear «sì» confirms a double opt-in."""

from __future__ import annotations

import pytest

from urp.core.settings import load_settings
from urp.inbound.keywords import is_confirmation, is_stop, keyword_intent

SUBSCRIPTION = load_settings().subscription


@pytest.mark.parametrize("text", ["STOP", "stop", "Stop.", " stop! ", "Cancellami", "CANCELLAMI!!"])
def test_stop_unsubscribes_as_cancellami_does(text: str) -> None:
    assert keyword_intent(text, SUBSCRIPTION) == "unsubscribe"


@pytest.mark.parametrize("text", ["stop alle notifiche", "non stop", "stoppa"])
def test_stop_in_a_sentence_is_left_to_the_classifier(text: str) -> None:
    assert keyword_intent(text, SUBSCRIPTION) is None
    assert not is_stop(text)


def test_stop_is_told_apart_from_cancellami() -> None:
    assert is_stop("Stop.") and not is_stop("Cancellami")


@pytest.mark.parametrize("text", ["operatore", "OPERATORE!", "Operatrice"])
def test_the_word_the_disclosure_promises_reaches_a_person(text: str) -> None:
    assert keyword_intent(text, SUBSCRIPTION) == "request_operator"


@pytest.mark.parametrize(
    "text", ["sì", "si", "SI", "Sì!", "ok confermo", "OK, confermo.", "confermo"]
)
def test_only_a_clear_yes_confirms(text: str) -> None:
    assert is_confirmation(text)
    assert keyword_intent(text, SUBSCRIPTION) == "affirm"


@pytest.mark.parametrize("text", ["va bene", "ok", "certo", "👍", "sì ma dopo", "", None])
def test_anything_else_does_not_confirm(text: str | None) -> None:
    assert not is_confirmation(text)
