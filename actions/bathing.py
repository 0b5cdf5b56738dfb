"""Bathing: "si può fare il bagno al Passetto?", "ci sono divieti?"."""

from __future__ import annotations

from datetime import date

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import local_now
from actions.conversation import question_entities
from actions.information import InformationAction, Outcome
from actions.services import bathing_service
from urp.core.dates import format_date
from urp.core.settings import Settings
from urp.information.replies import ban_lines, zone_names


class ActionBathingStatus(InformationAction):
    service_key = "bathing"
    outcome_slot = "bathing_outcome"

    def name(self) -> str:
        return "action_bathing_status"

    def lookup(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings
    ) -> Outcome:
        season = settings.bathing_season
        if season is None:
            return "no_bathing_waters", {}
        today = local_now(settings.timezone).date()
        if not season.includes(today):
            year = today.year if (today.month, today.day) < season.start else today.year + 1
            return "out_of_season", {"info_day": format_date(date(year, *season.start))}
        service = bathing_service()
        asked = question_entities(tracker)
        names = asked.get("zone", []) + asked.get("area", [])
        if names:
            zone = next(filter(None, map(service.find_zone, names)), None)
            if zone is None:
                return "unknown_zone", {"info_details": zone_names(service.zones())}
            since = f" dal {format_date(zone.since)}" if zone.since else ""
            if not zone.banned:
                return "zone_allowed", {"info_subject": zone.name, "info_day": since}
            return "zone_banned", {
                "info_subject": zone.name,
                "info_day": since,
                "info_reason": zone.ordinance or "ordinanza del Comune",
                "info_details": zone.ordinance_url or settings.website,
            }
        bans = service.bans()
        if bans:
            return "bans", {"info_details": ban_lines(bans)}
        return "no_bans", {}
