"""Pharmacies on duty: "farmacia di turno stanotte a Torrette"."""

from __future__ import annotations

from datetime import timedelta

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import local_now
from actions.conversation import question_entities
from actions.information import InformationAction, Outcome
from actions.services import pharmacy_service
from urp.core.dates import RELATIVE_DAYS, WEEKEND_PHRASES, format_day, resolve
from urp.core.settings import Settings
from urp.core.text import fold
from urp.information.replies import shift_lines

SAID_AS_IS = {*RELATIVE_DAYS, *WEEKEND_PHRASES, *(f"questo {p}" for p in WEEKEND_PHRASES)}


class ActionPharmacyShift(InformationAction):
    service_key = "pharmacy"
    outcome_slot = "pharmacy_outcome"

    def name(self) -> str:
        return "action_pharmacy_shift"

    def lookup(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings
    ) -> Outcome:
        now = local_now(settings.timezone)
        asked = question_entities(tracker)
        phrases = asked.get("date", [])
        span = next(filter(None, (resolve(p, now) for p in phrases)), None)
        if phrases and span is None:
            return "unknown_date", {}
        span = span or resolve("oggi", now)
        first = span.day
        # A night or a weekend ends on a later day: its shifts belong to the days it starts.
        last = max(first, (span.end - timedelta(microseconds=1)).date())
        if span.part == "notte" or span.moment:
            last = first
        areas = asked.get("area", []) + asked.get("zone", [])
        area = areas[0] if areas else None
        # "stanotte", "questo weekend" read better as the citizen said them.
        said = fold(phrases[0]) if phrases else ""
        when = said if said in SAID_AS_IS else format_day(first, now.date())
        service = pharmacy_service()
        shifts = service.shifts_between(first, last, area)
        if shifts:
            return "found", {"info_day": when, "info_details": shift_lines(shifts, now.date())}
        everywhere = service.shifts_between(first, last) if area else []
        if everywhere:
            return "found_elsewhere", {
                "info_day": when,
                "info_area": area,
                "info_details": shift_lines(everywhere, now.date()),
            }
        return "no_data", {"info_day": when}
