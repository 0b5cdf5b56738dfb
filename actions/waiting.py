"""While the chat waits for an operator: is this message a note for the request?

Read by the actions that would otherwise answer «di questo non mi occupo» or «non ho
capito» (``action_faq``, ``action_count_unclear``): while a handoff is pending they record
``handoff_note`` instead, and the rules in data/rules/handoff.yml say «L'ho aggiunto alla
tua richiesta» once for messages in a row (:mod:`urp.handoff.waiting`).
"""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.information import STORE_ERRORS
from actions.services import handoff_service
from urp.handoff.waiting import NOTE_SLOT, is_waiting, note

logger = logging.getLogger(__name__)


def waiting_note(tracker: Tracker) -> str | None:
    """The note for the latest message if the chat waits for an operator, else None
    (also when the queue cannot be read: the bot answers as usual)."""
    try:
        handoff = handoff_service().for_conversation(tracker.sender_id)
    except STORE_ERRORS:
        logger.exception("Coda degli operatori non disponibile")
        return None
    return note(tracker.events) if is_waiting(handoff) else None


def noted(value: str) -> list[EventType]:
    """The message was added to the request: ``handoff_note`` says whether to tell."""
    return [SlotSet(NOTE_SLOT, value)]


def not_noted(tracker: Tracker) -> list[EventType]:
    """The message was answered: a note of an earlier turn no longer describes this one."""
    return [SlotSet(NOTE_SLOT, None)] if tracker.get_slot(NOTE_SLOT) is not None else []
