"""Reports: redirect to the official platform, or collect them in the chat.

In "collect" mode a form asks what happened, where (an address, or a shared position)
and for an optional photo, then stores the report with a protocol code. A photo or a
position sent without text arrives as ``report_problem`` with its entities (channels do
that) and starts the form already filled in.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.conversation import entity_values
from actions.information import STORE_ERRORS
from actions.services import report_service
from urp.core.settings import current_settings

logger = logging.getLogger(__name__)

NO_PHOTO = "nessuna"
MAX_DESCRIPTION = 1000
FORM_SLOTS = ("report_description", "report_location", "report_photo")
# Questions asked in the middle of the form are not answers to it.
NOT_ANSWERS = {
    "ask_opening_hours", "ask_pharmacy_shift", "ask_bathing_status", "ask_contributions",
    "ask_latest_memo", "ask_privacy_policy", "bot_challenge", "request_operator",
    "subscribe", "unsubscribe", "deny",
}  # fmt: skip
_POSITION = re.compile(r"^posizione (-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)$")


class ActionReportMode(Action):
    def name(self) -> str:
        return "action_report_mode"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return [SlotSet("reporting_mode", current_settings().reporting_mode)]


def _position(tracker: Tracker) -> str | None:
    """A position shared in the latest message, as the text the slot keeps."""
    latitudes = entity_values(tracker, "latitude")
    longitudes = entity_values(tracker, "longitude")
    try:
        latitude, longitude = float(latitudes[0]), float(longitudes[0])
    except (IndexError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return f"posizione {latitude:.6f}, {longitude:.6f}"


class ValidateReportForm(FormValidationAction):
    def name(self) -> str:
        return "validate_report_form"

    async def extract_report_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        position = _position(tracker)
        if position:
            return {"report_location": position}
        if tracker.get_slot("requested_slot") != "report_location":
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = (tracker.latest_message.get("text") or "").strip()
        if intent in NOT_ANSWERS or not text or text.startswith("/"):
            return {}
        return {"report_location": text}

    def validate_report_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) < 3 or text.startswith("/"):
            return {"report_description": None}  # asked again
        return {"report_description": text[:MAX_DESCRIPTION]}

    def validate_report_photo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        # Anything but a photo means "no photo": the form never blocks on it.
        return {"report_photo": text if text.startswith(("http://", "https://")) else NO_PHOTO}


class ActionSubmitReport(Action):
    def name(self) -> str:
        return "action_submit_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        location = str(tracker.get_slot("report_location") or "")
        position = _POSITION.match(location)
        photo = tracker.get_slot("report_photo")
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        try:
            report = report_service().create(
                channel=tracker.get_latest_input_channel() or "rest",
                user_id=tracker.sender_id,
                description=str(tracker.get_slot("report_description") or ""),
                address=None if position else location,
                latitude=float(position.group(1)) if position else None,
                longitude=float(position.group(2)) if position else None,
                photo_url=None if photo in (None, NO_PHOTO) else str(photo),
            )
        except STORE_ERRORS:
            logger.exception("Registro delle segnalazioni non disponibile")
            return [SlotSet("report_outcome", "unavailable")]
        return [SlotSet("report_outcome", "submitted"), SlotSet("report_code", report.code), *reset]
