"""Opening hours: "siete aperti adesso?", "orari anagrafe giovedì pomeriggio".

The answer comes from the weekly hours in the settings, Italian public holidays, the
patron saint's day and the extra closures (urp.information.opening_hours);
``hours_outcome`` (a public name of the domain, like the ``last_service`` value
``hours``) picks the reply.

A question about hours that names no office the settings know («orari della biblioteca»,
«quando apre la piscina») may be the FAQ's: when the FAQ is sure of an answer, it answers
(``hours_outcome: faq``, :func:`actions.faq.faq_takeover`); else, as before, the URP's
hours or the offices we know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import local_now
from actions.conversation import question_entities
from actions.faq import faq_takeover, send_answer, takeover_events
from urp.core.dates import format_day, format_time, resolve
from urp.core.settings import Office, Settings, current_settings
from urp.core.text import join_italian
from urp.information.opening_hours import OpeningAnswer, OpeningCalendar

URP_SUBJECT = "URP"


def _moment(value: Any, today: Any) -> str:
    """ "lunedì 30 novembre alle 9:00" (or "oggi alle 15:00")."""
    return f"{format_day(value.date(), today)} alle {format_time(value.time())}"


def _contact(settings: Settings, office: Office | None) -> str:
    if office is None:
        return f"☎️ {settings.urp_phone} · ✉️ {settings.urp_email}"
    parts = [
        f"📍 {office.address}" if office.address else "",
        f"☎️ {office.phone}" if office.phone else "",
    ]
    return " · ".join(p for p in parts if p)


def opening_hours_slots(
    answer: OpeningAnswer, settings: Settings, office: Office | None, today: Any
) -> dict[str, str]:
    """The values the replies quote for one answer."""
    intervals = join_italian(
        [f"{format_time(a.time())}-{format_time(b.time())}" for a, b in answer.intervals]
    )
    return {
        "info_subject": office.label if office else URP_SUBJECT,
        "info_day": format_day(answer.day, today),
        "info_details": intervals,
        "info_until": format_time(answer.until.time()) if answer.until else "",
        "info_next_opening": (
            _moment(answer.next_opening, today) if answer.next_opening else "non prevista"
        ),
        "info_reason": f" ({answer.reason})" if answer.reason else "",
        "info_contact": _contact(settings, office),
    }


class ActionOpeningHours(Action):
    def name(self) -> str:
        return "action_opening_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        settings = current_settings()
        now = local_now(settings.timezone)
        asked = question_entities(tracker)
        office_names = asked.get("office", [])
        office = next(filter(None, map(settings.find_office, office_names)), None)
        names_urp = bool(office_names) and _means_urp(office_names)
        if office is None and not names_urp:
            # No office of ours named: the library's or the pool's hours are the FAQ's.
            entry = faq_takeover(tracker)
            if entry is not None:
                send_answer(dispatcher, entry)
                return takeover_events("hours_outcome", entry)
        if office_names and office is None and not names_urp:
            known = join_italian([o.label for o in settings.offices.values()])
            return _slots("unknown_office", {"info_details": known}, asked)

        dates = asked.get("date", [])
        span = next(filter(None, (resolve(d, now) for d in dates)), None)
        if office is not None and span is None:
            return _slots(
                "office_week",
                {
                    "info_subject": office.label,
                    "info_details": office.hours.describe(),
                    "info_contact": _contact(settings, office),
                },
                asked,
            )
        calendar = (
            OpeningCalendar.for_office(office, settings)
            if office
            else OpeningCalendar.for_service(settings)
        )
        span = span or resolve("adesso", now)
        answer = calendar.answer(span, now)
        return _slots(answer.kind, opening_hours_slots(answer, settings, office, now.date()), asked)


def _means_urp(names: list[str]) -> bool:
    return all(name.strip().lower() in {"urp", "sportello"} for name in names)


def _slots(outcome: str, values: dict[str, str], asked: dict[str, list[str]]) -> list[EventType]:
    return [
        SlotSet("hours_outcome", outcome),
        *(SlotSet(k, v) for k, v in values.items()),
        SlotSet("last_service", "hours"),
        SlotSet("asked_entities", asked),
    ]


def service_hours_slots(settings: Settings, now: datetime) -> dict[str, Any]:
    """Before promising a person: is the URP answering now (``service_open``), and if not,
    when it opens again and why it is closed (the slots the replies quote)."""
    calendar = OpeningCalendar.for_service(settings)
    if calendar.is_open(now):
        return {"service_open": True}
    reason = calendar.closed_reason(now.date())
    following = calendar.next_opening(now)
    return {
        "service_open": False,
        "info_reason": f" ({reason})" if reason else "",
        "info_next_opening": _moment(following, now.date()) if following else "non prevista",
    }
