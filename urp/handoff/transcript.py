"""What the citizen and the bot said before a handoff, for the operator to read.

Built from Rasa's events as dicts (a tracker's, or the ones the action server receives),
so that the bot's side and the Rasa patches hand over the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# (author, text, at): what the citizen and the bot said before the handoff.
TranscriptLine = tuple[str, str, datetime]
TRANSCRIPT_LINES = 40
_AUTHORS_BY_EVENT = {"user": "citizen", "bot": "bot"}


def session_events(events: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """The events (Rasa's, as dicts) since the conversation's current session started."""
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            return events[index + 1 :]
    return events


def transcript_from_events(events: Iterable[Mapping[str, Any]]) -> list[TranscriptLine]:
    """What the citizen and the bot wrote in the session, for the operator to read.

    ``events`` are Rasa's events as dicts; the console's own triggers (``trigger_intent``)
    are left out, and only the last :data:`TRANSCRIPT_LINES` lines are kept.
    """
    lines = []
    for event in session_events(list(events)):
        author = _AUTHORS_BY_EVENT.get(str(event.get("event")))
        text = (event.get("text") or "").strip()
        timestamp = event.get("timestamp")
        external = (event.get("metadata") or {}).get("is_external")
        if author and text and not external and isinstance(timestamp, int | float):
            lines.append((author, text, datetime.fromtimestamp(timestamp, UTC)))
    return lines[-TRANSCRIPT_LINES:]
