"""Unclear messages: the second one in a row earns the offer of a person.

The action only decides (``operator_offered``); rules in data/rules/fallback.yml pick
the reply, so every reply stays visible in the training data. A message the NLU cannot
place may still be one the office's FAQ knows («devo buttare un frigorifero»): then the
FAQ answers (``faq_outcome: answer``) or suggests its entries («Forse cerchi:»,
``faq_outcome: suggestions``), through :func:`actions.faq.faq_lookup`, instead of asking
to rephrase: the NLU finds a quarter of the FAQ's held-out paraphrases unclear.

While the chat waits for an operator an unclear message is a detail for the request
(``handoff_note``, :mod:`actions.waiting`): no «non ho capito», and it does not count
towards a second handoff.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import session_events
from actions.faq import (
    ENTRY_SLOT,
    OUTCOME_SLOT,
    faq_lookup,
    send_answer,
    send_suggestions,
    takeover_events,
)
from actions.waiting import not_noted, noted, waiting_note
from urp.handoff.waiting import NOTE_SLOT, NOTES

UNCLEAR_INTENT = "nlu_fallback"
UNCLEAR_BEFORE_OFFER = 2


class ActionCountUnclear(Action):
    def name(self) -> str:
        return "action_count_unclear"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        note = waiting_note(tracker)
        found = faq_lookup(tracker)
        if found is not None and found.kind == "answer":
            entry = found.matches[0].entry
            send_answer(dispatcher, entry)
            return [
                SlotSet("operator_offered", None),
                *takeover_events(OUTCOME_SLOT, entry, "answer"),
                *not_noted(tracker),
            ]
        if note is not None:
            return [
                SlotSet("operator_offered", None),
                SlotSet(OUTCOME_SLOT, None),
                SlotSet(ENTRY_SLOT, None),
                *noted(note),
            ]
        if found is not None and found.kind == "suggestions":
            # «Forse cerchi:» says more than «non ho capito»; it still counts as unclear.
            send_suggestions(dispatcher, found.matches)
            return [
                SlotSet("operator_offered", None),
                SlotSet(OUTCOME_SLOT, "suggestions"),
                SlotSet(ENTRY_SLOT, None),
                *not_noted(tracker),
            ]
        streak = unclear_streak(tracker)
        # faq_outcome cleared: a FAQ answer of an earlier turn must not match its rule here.
        return [
            SlotSet("operator_offered", streak >= UNCLEAR_BEFORE_OFFER),
            SlotSet(OUTCOME_SLOT, None),
            *not_noted(tracker),
        ]


def unclear_streak(tracker: Tracker) -> int:
    """How many of the latest user messages in a row were unclear (``nlu_fallback``), not
    counting those the FAQ answered (they were understood after all) nor those added to a
    request while waiting for an operator (details for a person, not questions)."""
    streak = 0
    answered = False
    for event in reversed(session_events(tracker)):
        if event.get("event") == "slot" and event.get("name") == OUTCOME_SLOT:
            answered = answered or event.get("value") == "answer"
        if event.get("event") == "slot" and event.get("name") == NOTE_SLOT:
            answered = answered or event.get("value") in NOTES
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent != UNCLEAR_INTENT:
            break
        streak += 0 if answered else 1
        answered = False
    return streak
