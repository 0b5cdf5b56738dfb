"""«Grazie» gets «Prego!», a compliment gets thanks back (actions.smalltalk)."""

from __future__ import annotations

import pytest

from actions.smalltalk import ActionThank, is_compliment
from tests.unit.conversation import DOMAIN, run, says, slots


@pytest.mark.parametrize(
    "text",
    [
        "grazie",
        "Grazie!",
        "grazie mille",
        "grz",
        "ok grazie",
        "grazie x l'info",
        "grazie, gentilissimi come sempre",
        "vi ringrazio per la pazienza",
        "👍🙏",
    ],
)
def test_thanks(text: str) -> None:
    assert not is_compliment(text)
    assert slots(run(ActionThank(), says("thank", text))[0]) == {"thanks_kind": "thanks"}


@pytest.mark.parametrize(
    "text",
    [
        "bravi",
        "siete BRAVISSIMI, continuate così",
        "ottimo servizio complimenti",
        "siete fantastici",
        "mitici!!",
        "che efficienza! grazie",
        "servizio utilissimo",
        "desidero esprimere il mio sincero apprezzamento per il servizio",
    ],
)
def test_compliments(text: str) -> None:
    assert is_compliment(text)
    assert slots(run(ActionThank(), says("thank", text))[0]) == {"thanks_kind": "compliment"}


def test_the_thanks_reply_is_prego_and_the_compliment_one_thanks_back() -> None:
    thanks = [v["text"] for v in DOMAIN["responses"]["utter_thank"]]
    assert thanks and all(t.startswith("Prego") for t in thanks)
    compliment = [v["text"] for v in DOMAIN["responses"]["utter_compliment"]]
    assert compliment and all("grazie" in t.lower() for t in compliment)
