"""Grants and contributions (bandi e contributi): "quando esce il bando per i libri di testo?".

``calls_outcome`` and the ``last_service`` value ``calls`` are the domain's public names,
loaded by the rules and the stories; the feature is called contributions everywhere else.
When no call matches, the office's FAQ may know the answer (``calls_outcome: faq``,
:func:`actions.faq.faq_takeover`): «agevolazioni tari per isee basso».
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clock import local_now
from actions.conversation import question_entities
from actions.faq import faq_takeover, send_answer
from actions.information import InformationAction, Outcome
from actions.services import contribution_service
from urp.core.settings import Settings
from urp.information.contributions import Contribution, stems
from urp.information.replies import contribution_lines

NONE_OPEN = "nessuno al momento"
# The subscription topic that tells citizens when a contribution opens (settings: topics).
NOTIFY_TOPIC = "bandi"


class ActionContributions(InformationAction):
    service_key = "calls"  # a value of the domain's ``last_service`` slot
    outcome_slot = "calls_outcome"

    def name(self) -> str:
        return "action_contributions"

    def lookup(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings
    ) -> Outcome:
        today = local_now(settings.timezone).date()
        service = contribution_service()
        asked = question_entities(tracker)
        topics = asked.get("grant_topic", [])
        words = " ".join(topics) or tracker.latest_message.get("text") or ""
        match = service.match(words, today)
        topic = topics[0] if topics else _named_by(match.open + match.upcoming + match.closed)
        if match.open:
            return "open", {
                "info_topic": topic,
                "info_details": contribution_lines(match.open, today),
            }
        if match.upcoming:
            return "upcoming", {
                "info_topic": topic,
                "info_details": contribution_lines(match.upcoming, today),
                "offered_topic": NOTIFY_TOPIC,
            }
        open_now = contribution_lines(service.open_contributions(today), today) or NONE_OPEN
        if match.closed:
            closed = contribution_lines(match.closed[:1], today)
            return "closed", {
                "info_topic": topic,
                "info_details": f"{closed}\nAperti ora:\n{open_now}",
            }
        if not topics and not stems(words):
            return "open_list", {"info_details": open_now}  # "ci sono bandi?"
        # No call on it: «agevolazioni tari per isee basso» may be the FAQ's.
        entry = faq_takeover(tracker)
        if entry is not None:
            send_answer(dispatcher, entry)
            return "faq", {"faq_id": entry.id}
        named = f"«{topics[0]}»" if topics else "questo argomento"
        return "none_matching", {"info_topic": named, "info_details": open_now}


def _named_by(contributions: tuple[Contribution, ...]) -> str:
    """How to name the topic of a question without a grant_topic: by what it matched."""
    if not contributions:
        return ""
    first = contributions[0]
    return first.keywords[0] if first.keywords else first.title
