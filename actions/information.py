"""Shared by the information actions: read the office's data, degrade gracefully."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.conversation import question_entities
from urp.core.db import DatabaseError
from urp.core.hashing import HashSaltError
from urp.core.settings import Settings, current_settings

logger = logging.getLogger(__name__)

# The store is down, unreachable, or misconfigured: the citizen gets an apology.
STORE_ERRORS = (SQLAlchemyError, DatabaseError, HashSaltError)

Outcome = tuple[str, dict[str, Any]]


class InformationAction(Action, ABC):
    """Looks something up and records ``<outcome_slot>``; the rules pick the reply."""

    outcome_slot: str
    # Set for the services a follow-up question ("e domani?") can ask again.
    service_key: str | None = None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            outcome, slots = self.lookup(dispatcher, tracker, current_settings())
        except STORE_ERRORS:
            # The engine hides SQL parameters, so no phone number reaches the log.
            logger.exception("Dati dell'ufficio non disponibili (%s)", self.name())
            outcome, slots = "unavailable", {}
        events = [SlotSet(self.outcome_slot, outcome)]
        events += [SlotSet(name, value) for name, value in slots.items()]
        if self.service_key:
            events.append(SlotSet("last_service", self.service_key))
            events.append(SlotSet("asked_entities", question_entities(tracker)))
        return events

    @abstractmethod
    def lookup(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings
    ) -> Outcome:
        """Return the outcome and the slots its reply quotes."""
