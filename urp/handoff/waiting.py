"""While a chat waits for an operator, what the citizen writes is added to the request.

After «scrivi pure i dettagli» the citizen writes the details, which the assistant rarely
understands: the bot must not answer «di questo non mi occupo» to them. The Rasa server's
event broker already puts every message of a handed-over conversation in its transcript
(:meth:`urp.handoff.chat.HandoffChat.record`), so the operator reads them; the bot only
says so, once for messages written in a row: «L'ho aggiunto alla tua richiesta» after the
first, nothing after the next ones, and again after a pause of :data:`SAY_AGAIN_AFTER`
(the citizen may wonder whether the chat is still there). A question the bot can answer
(the opening hours, an entry of the office's FAQ) still gets its answer.

Rasa's events come as dicts (a tracker's), as in :mod:`urp.handoff.transcript`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from urp.core.models import PENDING
from urp.handoff.records import Handoff

# The slot that records what happened to a message written while waiting.
NOTE_SLOT = "handoff_note"
ADDED = "added"  # the bot says it was added to the request
ADDED_QUIETLY = "added_quietly"  # added, and the bot said so a moment ago: nothing to say
NOTES = (ADDED, ADDED_QUIETLY)
SAY_AGAIN_AFTER = timedelta(minutes=10)


def is_waiting(handoff: Handoff | None) -> bool:
    """Whether the conversation's handoff waits for an operator (not taken yet).

    Once an operator holds the chat Rasa is paused and the bot says nothing at all.
    """
    return handoff is not None and handoff.status == PENDING


def note(events: Sequence[Mapping[str, Any]], say_again_after: timedelta = SAY_AGAIN_AFTER) -> str:
    """:data:`ADDED` or :data:`ADDED_QUIETLY` for the latest user message of ``events``.

    Quietly when the previous message was added too and the bot said so less than
    ``say_again_after`` before this one; otherwise the bot says it.
    """
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if len(users) < 2:
        return ADDED
    previous, current = users[-2], users[-1]
    previous_notes = [e.get("value") for e in events[previous:current] if _is_note(e)]
    if not previous_notes or previous_notes[-1] not in NOTES:
        return ADDED
    said = [e.get("timestamp") for e in events[:current] if _is_note(e) and e.get("value") == ADDED]
    now = events[current].get("timestamp")
    if not said or not isinstance(said[-1], int | float) or not isinstance(now, int | float):
        return ADDED
    return ADDED_QUIETLY if now - said[-1] < say_again_after.total_seconds() else ADDED


def _is_note(event: Mapping[str, Any]) -> bool:
    return event.get("event") == "slot" and event.get("name") == NOTE_SLOT
