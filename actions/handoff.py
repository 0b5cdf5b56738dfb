"""Handing the chat to a person of the URP, and back.

``action_handoff`` puts the conversation in the office's queue (the store) with what was
said so far, and records the outcome; rules in data/rules/handoff.yml pick the reply
(in service hours an operator answers shortly; outside, the hours and that the chat is
queued). When an operator claims the chat, the console triggers
``EXTERNAL_handoff_claimed`` and ``action_handoff_pause`` pauses the conversation: Rasa
records the citizen's messages and the bot stays silent until the chat is given back.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import local_now
from actions.information import STORE_ERRORS
from actions.opening_hours import service_hours_slots
from actions.services import handoff_service
from urp.core.settings import current_settings
from urp.handoff.transcript import TranscriptLine, transcript_from_events

logger = logging.getLogger(__name__)

# The latest intent says why the chat goes to a person.
REASONS_BY_INTENT = {
    "request_operator": "request",
    "book_appointment": "appointment",
    "nlu_fallback": "unclear",
    "abuse": "abuse",
}
# An offer of a person accepted ("sì"): why it was offered, from what the bot just did.
OFFER_REASONS = {"utter_service_unavailable": "action_failed"}


def handoff_reason(tracker: Tracker) -> str:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent in REASONS_BY_INTENT:
        return REASONS_BY_INTENT[intent]
    # The bot's actions since the citizen's previous message, latest first.
    actions: list[str] = []
    for event in reversed(tracker.events[:-1] if tracker.events else []):
        if event.get("event") == "user":
            break
        if event.get("event") == "action":
            actions.append(str(event.get("name")))
    for action in actions:
        if action in OFFER_REASONS:
            return OFFER_REASONS[action]
    return "no_information"


def transcript(tracker: Tracker) -> list[TranscriptLine]:
    """What the citizen and the bot wrote in this session, for the operator to read."""
    return transcript_from_events(tracker.events)


class ActionHandoff(Action):
    """Queue the chat for an operator; ``handoff_outcome`` says what to tell the citizen."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        settings = current_settings()
        reason = handoff_reason(tracker)
        hours = service_hours_slots(settings, local_now(settings.timezone))
        service_open = hours.pop("service_open")
        try:
            _, created = handoff_service().open(
                tracker.sender_id,
                tracker.get_latest_input_channel() or "rest",
                reason,
                transcript(tracker),
            )
        except STORE_ERRORS:
            logger.exception("Coda degli operatori non disponibile")
            outcome = "flagged" if reason == "abuse" else "unavailable"
            return [SlotSet("handoff_outcome", outcome)]
        if reason == "abuse":
            outcome = "flagged"  # the citizen has been told already, calmly
        elif not created:
            outcome = "already_queued"
        else:
            outcome = ("appointment" if reason == "appointment" else "queued") + (
                "" if service_open else "_closed"
            )
        return [SlotSet("handoff_outcome", outcome), *(SlotSet(k, v) for k, v in hours.items())]


class ActionHandoffPause(Action):
    """An operator took the chat: the bot stays silent until it is given back."""

    def name(self) -> str:
        return "action_handoff_pause"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = []
        if tracker.active_loop.get("name"):
            # A half-filled form would take the citizen's words to the operator as answers.
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        # Paused, Rasa predicts nothing more, not even action_listen: logged here, so that the
        # rules see the next messages (and the console's EXTERNAL_* intents) as usual.
        return [*events, ConversationPaused(), ActionExecuted("action_listen")]


class ActionHandoffCancel(Action):
    """The citizen goes back to the bot ("torna al bot") before an operator answered."""

    def name(self) -> str:
        return "action_handoff_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            service = handoff_service()
            handoff = service.for_conversation(tracker.sender_id)
            closed = service.close_by_citizen(handoff.id) if handoff else None
        except STORE_ERRORS:
            logger.exception("Coda degli operatori non disponibile")
            closed = None
        return [SlotSet("handoff_outcome", "cancelled" if closed else "not_queued")]
