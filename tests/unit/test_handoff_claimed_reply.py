"""What the citizen reads when an operator takes the chat (utter_handoff_claimed), with
Rasa's own response generator on domain.yml: the operator's name, or, without one, a
sentence that needs none (never «sono None»)."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

DOMAIN = Domain.load("domain.yml")


def claimed(operator: str | None) -> str:
    tracker = DialogueStateTracker.from_events(
        "rest:cittadino",
        [SlotSet("urp_comune", "Comune di Ancona"), SlotSet("handoff_operator", operator)],
        DOMAIN.slots,
    )
    generator = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    response = asyncio.run(generator.generate("utter_handoff_claimed", tracker, "rest"))
    assert response is not None
    return str(response["text"])


def test_the_operator_says_their_name() -> None:
    assert claimed("Mario") == (
        "Ciao, sono Mario dell'URP del Comune di Ancona: da qui ti rispondo io. 🙂"
    )


@pytest.mark.parametrize("attempt", range(5))  # variations are picked at random
def test_without_a_name_the_citizen_never_reads_none(attempt: int) -> None:
    text = claimed(None)
    assert "None" not in text
    assert text == "Ciao, da qui ti risponde una persona dell'URP del Comune di Ancona. 🙂"
