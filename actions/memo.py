"""The current memo, sent again on request ("non mi è arrivato il memo").

A question the NLU takes for the memo may be the FAQ's («tempi di realizzazione delle
opere in costruzione»): when the FAQ is sure of an answer, it answers instead
(``memo_outcome: faq``, :func:`actions.faq.faq_takeover`).
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import local_now
from actions.faq import faq_takeover, send_answer
from actions.information import InformationAction, Outcome
from actions.services import memo_service, subscriber_service
from urp.core.settings import Settings
from urp.information.memo import format_memo


class ActionLatestMemo(InformationAction):
    outcome_slot = "memo_outcome"

    def name(self) -> str:
        return "action_latest_memo"

    def lookup(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings
    ) -> Outcome:
        entry = faq_takeover(tracker)
        if entry is not None:
            send_answer(dispatcher, entry)
            return "faq", {"faq_id": entry.id, "last_service": None}
        memo = memo_service().current(local_now(settings.timezone).date())
        if memo is None:
            return "none", {}
        # The memo is the office's own text: it goes out as written, in WhatsApp format.
        for message in format_memo(memo):
            dispatcher.utter_message(text=message)
        channel = tracker.get_latest_input_channel() or "rest"
        subscribed = subscriber_service().status(channel, tracker.sender_id).subscribed
        return ("sent_to_subscriber" if subscribed else "sent"), {}
