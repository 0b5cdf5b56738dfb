"""The office's FAQ: the questions outside our services, answered with the office's words.

A message the NLU reads as ``out_of_scope`` runs ``action_faq``, which asks the FAQ index
(:class:`urp.faq.search.LiveFaqIndex`, rebuilt when an entry changes: no retraining):

- ``answer``: the entry's answer and its link, one message, as the office wrote it;
- ``suggestions``: «Forse cerchi:» with a button for each entry (up to three), whose
  payload ``/choose_faq{"faq_id": "<id>"}`` runs ``action_faq_choice``;
- ``none``: the rules send the out-of-scope reply and the offer of an operator;
- ``unavailable``: the store is down; the rules apologise and offer an operator.

While the chat waits for an operator, a message the FAQ cannot answer with confidence is a
note for the request (``handoff_note``, :mod:`actions.waiting`): no «di questo non mi
occupo», no «Forse cerchi:» buttons in the middle of the details.

The office's text is sent by the action, as the memo is (its words and buttons change
with every entry, so no response template could hold them); ``faq_outcome`` records what
happened, the rules pick every fixed reply. One reply never holds two answers.

The service actions whose intent a FAQ question can look like (the hours of the library
are not the URP's hours) hand over to the FAQ through :func:`faq_takeover`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import FOLLOW_UP_INTENT, entity_values
from actions.information import STORE_ERRORS
from actions.services import database, faq_index
from actions.waiting import not_noted, noted, waiting_note
from urp.faq.entries import FaqEntry
from urp.faq.search import FaqAnswer, FaqMatch
from urp.faq.store import FaqService
from urp.nlu import embeddings

logger = logging.getLogger(__name__)

OUTCOME_SLOT = "faq_outcome"
ENTRY_SLOT = "faq_id"
CHOICE_INTENT = "choose_faq"
SUGGESTIONS_INTRO = "Forse cerchi:"
# WhatsApp's reply buttons: at most 3, each title at most 20 characters and unique.
BUTTON_TITLE_MAX = 20
ELLIPSIS = "…"


def answer_text(entry: FaqEntry) -> str:
    """The entry's answer and its link, in one message (one line break: the REST and web
    chat channels make a new bubble of each paragraph, and the link belongs to the answer)."""
    if not entry.link:
        return entry.answer
    return f"{entry.answer}\n👉 {entry.link}"


def send_answer(dispatcher: CollectingDispatcher, entry: FaqEntry) -> None:
    dispatcher.utter_message(text=answer_text(entry))


def shorten(text: str, limit: int = BUTTON_TITLE_MAX) -> str:
    """``text`` in at most ``limit`` characters, cut between words with «…»."""
    words = _phrase(text)
    if len(words) <= limit:
        return words
    cut = words[: limit - len(ELLIPSIS)]
    if " " in cut and words[len(cut)] != " ":
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:'’-") + ELLIPSIS


def _phrase(question: str) -> str:
    words = " ".join(question.split()).rstrip("?!. ")
    return words[:1].upper() + words[1:]


def button_title(entry: FaqEntry, taken: set[str]) -> str:
    """The entry's first question if it fits on a button; else its longest question that
    fits (a real phrasing reads better than a cut one); else the first one shortened.
    Never the title of another button of the message: WhatsApp refuses the message."""
    phrases = [_phrase(q) for q in entry.questions]
    fitting = sorted((p for p in phrases[1:] if p), key=len, reverse=True)
    candidates = [phrases[0], *fitting, shorten(phrases[0])]
    candidates += [f"{n}. {shorten(phrases[0], BUTTON_TITLE_MAX - 3)}" for n in (1, 2, 3)]
    title = next(t for t in candidates if len(t) <= BUTTON_TITLE_MAX and t.casefold() not in taken)
    taken.add(title.casefold())
    return title


def suggestion_buttons(matches: tuple[FaqMatch, ...]) -> list[dict[str, str]]:
    taken: set[str] = set()
    return [
        {
            "title": button_title(match.entry, taken),
            "payload": f'/{CHOICE_INTENT}{{"{ENTRY_SLOT}": "{match.entry.id}"}}',
        }
        for match in matches[:3]
    ]


def asked_text(tracker: Tracker) -> str:
    """The citizen's words (a button's ``/intent`` payload has none)."""
    text = str(tracker.latest_message.get("text") or "")
    return "" if text.startswith("/") else text


def meaning(tracker: Tracker) -> np.ndarray | None:
    """The sentence embedding the NLU computed for the latest message (parse data key
    ``embedding``), so the FAQ search does not compute it again; None if absent."""
    return embeddings.unpack(tracker.latest_message.get(embeddings.EMBEDDING_KEY))


def faq_lookup(tracker: Tracker) -> FaqAnswer | None:
    """What the FAQ says of the citizen's words, for an action whose own answer is not
    specific; None for a follow-up («e domani?», the service's), a button, or a store
    failure (the action answers as it would without the FAQ)."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = asked_text(tracker)
    if intent == FOLLOW_UP_INTENT or not text:
        return None
    try:
        return faq_index().answer(text, meaning(tracker))
    except STORE_ERRORS:
        logger.exception("FAQ non disponibili: risponde il servizio")
        return None


def faq_takeover(tracker: Tracker) -> FaqEntry | None:
    """The entry that answers the citizen's words with confidence, if any.

    For the service actions: a question the NLU gave to a service may name something the
    service does not cover («orari della biblioteca»); when the FAQ is sure of an answer
    and the service has nothing specific to say, the FAQ answers.
    """
    found = faq_lookup(tracker)
    return found.matches[0].entry if found is not None and found.kind == "answer" else None


def send_suggestions(dispatcher: CollectingDispatcher, matches: tuple[FaqMatch, ...]) -> None:
    dispatcher.utter_message(text=SUGGESTIONS_INTRO, buttons=suggestion_buttons(matches))


def takeover_events(outcome_slot: str, entry: FaqEntry, outcome: str = "faq") -> list[EventType]:
    """What a service action returns when the FAQ answered for it (``<outcome>: faq``)."""
    return [
        SlotSet(outcome_slot, outcome),
        SlotSet(ENTRY_SLOT, entry.id),
        # The follow-ups («e domani?») of a FAQ answer are not the service's.
        SlotSet("last_service", None),
    ]


class ActionFaq(Action):
    """``out_of_scope``: the FAQ's answer, its suggestions, or nothing."""

    def name(self) -> str:
        return "action_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        note = waiting_note(tracker)
        text = asked_text(tracker)
        try:
            found = faq_index().answer(text, meaning(tracker)) if text else None
        except STORE_ERRORS:
            logger.exception("FAQ non disponibili")
            if note is None:
                return [SlotSet(OUTCOME_SLOT, "unavailable"), *not_noted(tracker)]
            found = None
        if note is not None and (found is None or found.kind != "answer"):
            return [SlotSet(OUTCOME_SLOT, None), SlotSet(ENTRY_SLOT, None), *noted(note)]
        return [*self._answer(dispatcher, found), *not_noted(tracker)]

    @staticmethod
    def _answer(dispatcher: CollectingDispatcher, found: FaqAnswer | None) -> list[EventType]:
        if found is None or found.kind == "none" or not found.matches:
            return [SlotSet(OUTCOME_SLOT, "none"), SlotSet(ENTRY_SLOT, None)]
        if found.kind == "answer":
            entry = found.matches[0].entry
            send_answer(dispatcher, entry)
            return [SlotSet(OUTCOME_SLOT, "answer"), SlotSet(ENTRY_SLOT, entry.id)]
        send_suggestions(dispatcher, found.matches)
        return [SlotSet(OUTCOME_SLOT, "suggestions"), SlotSet(ENTRY_SLOT, None)]


class ActionFaqChoice(Action):
    """A «Forse cerchi:» button: the chosen entry's answer (``faq_id`` from the payload)."""

    def name(self) -> str:
        return "action_faq_choice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        chosen = entity_values(tracker, ENTRY_SLOT)
        try:
            entry = FaqService(database()).get(chosen[0]) if chosen else None
        except STORE_ERRORS:
            logger.exception("FAQ non disponibili")
            return [SlotSet(OUTCOME_SLOT, "unavailable")]
        if entry is None or entry.status != "published":
            # Retired (or never there) since the button was sent.
            return [SlotSet(OUTCOME_SLOT, "none"), SlotSet(ENTRY_SLOT, None)]
        send_answer(dispatcher, entry)
        return [SlotSet(OUTCOME_SLOT, "answer"), SlotSet(ENTRY_SLOT, entry.id)]
