"""«Cancella i miei dati»: the right to erasure, once the citizen has confirmed.

Rules in data/rules/privacy.yml ask first (``utter_ask_erase_confirm``); this action
erases what the store holds (:class:`urp.privacy.PrivacyService`) and records the
outcome; the conversation itself leaves Rasa's tracker store minutes later, when the
privacy job finds this action there (see the module).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.information import STORE_ERRORS
from actions.services import database, user_hasher
from actions.subscription import SubscriptionAction
from urp.privacy import ERASE_ACTION, PrivacyService

logger = logging.getLogger(__name__)


class ActionEraseMyData(Action):
    def name(self) -> str:
        return ERASE_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        channel, user_id = SubscriptionAction.citizen(tracker)
        try:
            PrivacyService(database(), user_hasher()).erase(channel, user_id)
        except STORE_ERRORS:
            logger.exception("Cancellazione dei dati non riuscita")
            return [SlotSet("erase_outcome", "unavailable")]
        return [SlotSet("erase_outcome", "erased")]
