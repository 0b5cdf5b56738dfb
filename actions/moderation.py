"""Abuse: a calm warning first; repeated abuse in a session is flagged for an operator.

The action only decides (``abuse_flagged``); rules in data/rules/moderation.yml reply.
A flag stays on the conversation (also in later sessions) until an operator clears it.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import session_intent_count

logger = logging.getLogger(__name__)

ABUSE_INTENT = "abuse"
ABUSE_BEFORE_FLAG = 2


class ActionCheckAbuse(Action):
    def name(self) -> str:
        return "action_check_abuse"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot("abuse_flagged"):
            return [SlotSet("abuse_flagged", True)]
        if session_intent_count(tracker, ABUSE_INTENT) < ABUSE_BEFORE_FLAG:
            return [SlotSet("abuse_flagged", False)]
        # No sender id in the log: on WhatsApp it is the citizen's phone number.
        logger.warning("Conversazione segnalata per linguaggio offensivo ripetuto")
        return [SlotSet("abuse_flagged", True)]
