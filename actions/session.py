"""Session start: load the municipality facts every reply may quote, and say who answers.

A new session resets Rasa's pause; a chat an operator still holds is paused again, so the
bot never talks over the operator after a long silence.

Every new conversation, on every channel, starts with ``utter_ai_disclosure`` (EU AI Act
art. 50: people must know, from the first interaction, that an automated system answers,
and here how to reach a person). Rasa runs this action before the first message of each
session on whatever channel it came from; the channels' gate (channels/gate.py) puts the
line on top of the first reply. Not while an operator holds the chat: a person answers.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ConversationPaused,
    EventType,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher

from actions.information import STORE_ERRORS
from actions.services import handoff_service
from urp.core.models import ASSIGNED
from urp.core.settings import current_settings

logger = logging.getLogger(__name__)

DISCLOSURE_RESPONSE = "utter_ai_disclosure"


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        facts = current_settings().facts()
        events: list[EventType] = [SessionStarted()]
        if domain.get("session_config", {}).get("carry_over_slots_to_new_session", True):
            events += [
                SlotSet(name, value)
                for name, value in tracker.slots.items()
                if value is not None and name not in facts
            ]
        events += [SlotSet(name, value) for name, value in facts.items()]
        events.append(ActionExecuted("action_listen"))
        if _held_by_operator(tracker.sender_id):
            events.append(ConversationPaused())
        else:
            dispatcher.utter_message(response=DISCLOSURE_RESPONSE)
        return events


def _held_by_operator(conversation_id: str) -> bool:
    try:
        handoff = handoff_service().for_conversation(conversation_id)
    except STORE_ERRORS:
        logger.exception("Coda degli operatori non disponibile all'inizio della sessione")
        return False
    return handoff is not None and handoff.status == ASSIGNED
