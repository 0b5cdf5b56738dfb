"""Unclear messages: the second one in a row earns the offer of a person.

The action only decides (``operator_offered``); rules in data/rules/fallback.yml pick
the reply, so every reply stays visible in the training data.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import trailing_intent_count

UNCLEAR_INTENT = "nlu_fallback"
UNCLEAR_BEFORE_OFFER = 2


class ActionCountUnclear(Action):
    def name(self) -> str:
        return "action_count_unclear"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        streak = trailing_intent_count(tracker, UNCLEAR_INTENT)
        return [SlotSet("operator_offered", streak >= UNCLEAR_BEFORE_OFFER)]
