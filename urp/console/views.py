"""What the console shows of handoffs and messages, in Italian.

The conversation id (the citizen's phone number on WhatsApp) is deliberately absent from
every view: a chat is "Conversazione n. 12", after the handoff's own id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from urp.core.models import ASSIGNED, PENDING
from urp.handoff.records import Handoff, Message, QueuedHandoff

CHANNEL_LABELS = {
    "whatsapp": "WhatsApp",
    "twilio": "Twilio",
    "socketio": "Web",
    "rest": "Web",
    "callback": "Callback",
}
REASON_LABELS = {
    "unclear": "messaggi non compresi",
    "request": "chiede un operatore",
    "appointment": "appuntamento",
    "abuse": "linguaggio offensivo",
    "action_failed": "errore del servizio",
    "no_information": "informazione non disponibile",
}
STATUS_LABELS = {PENDING: "in attesa", ASSIGNED: "presa in carico", "resolved": "chiusa"}
AUTHOR_LABELS = {"citizen": "Cittadino", "bot": "Assistente"}


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel.capitalize())


def duration_label(value: timedelta) -> str:
    """ "meno di un minuto", "1 minuto", "25 minuti", "2 ore e 5 minuti"."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "meno di un minuto"
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append("1 ora" if hours == 1 else f"{hours} ore")
    if minutes:
        parts.append("1 minuto" if minutes == 1 else f"{minutes} minuti")
    return " e ".join(parts)


def map_link(latitude: float, longitude: float) -> str:
    query = urlencode({"mlat": f"{latitude:.6f}", "mlon": f"{longitude:.6f}"})
    return f"https://www.openstreetmap.org/?{query}#map=17/{latitude:.6f}/{longitude:.6f}"


@dataclass(frozen=True)
class QueueRow:
    id: int
    status: str
    status_label: str
    channel: str
    reason: str
    waiting: str
    holder: str | None  # the display name of who holds it
    out_of_hours: bool
    mine: bool


@dataclass(frozen=True)
class MessageView:
    id: int
    author: str  # "citizen", "bot", "operator": the CSS class
    who: str  # "Cittadino", "Assistente", the operator's name
    at: str  # "14:05" (or "3/12 14:05" on another day)
    at_iso: str
    text: str | None
    media_url: str | None
    map_url: str | None
    position: str | None  # "43.617000, 13.518900"
    delivered: bool


class Presenter:
    """Turns store objects into what the templates show, in the municipality's time zone."""

    def __init__(self, timezone: tzinfo, names: dict[str, str]) -> None:
        self._timezone = timezone
        self._names = names  # username -> display name

    def name(self, username: str | None) -> str | None:
        return self._names.get(username, username) if username else None

    def queue_row(self, queued: QueuedHandoff, username: str) -> QueueRow:
        handoff = queued.handoff
        return QueueRow(
            handoff.id,
            handoff.status,
            STATUS_LABELS[handoff.status],
            channel_label(handoff.channel),
            REASON_LABELS.get(handoff.reason, handoff.reason),
            duration_label(queued.waiting),
            self.name(handoff.operator) if handoff.status == ASSIGNED else None,
            handoff.out_of_hours,
            handoff.operator == username and handoff.status == ASSIGNED,
        )

    def when(self, at: datetime, now: datetime) -> str:
        local = at.astimezone(self._timezone)
        if local.date() == now.astimezone(self._timezone).date():
            return local.strftime("%H:%M")
        return f"{local.day}/{local.month} {local:%H:%M}"

    def message(self, message: Message, now: datetime) -> MessageView:
        has_position = message.latitude is not None and message.longitude is not None
        who = AUTHOR_LABELS.get(message.author) or self.name(message.operator) or "Operatore"
        return MessageView(
            message.id,
            message.author,
            who,
            self.when(message.at, now),
            message.at.isoformat(),
            message.text,
            message.media_url,
            map_link(message.latitude, message.longitude) if has_position else None,
            f"{message.latitude:.6f}, {message.longitude:.6f}" if has_position else None,
            message.delivered,
        )

    def state_notice(self, handoff: Handoff, username: str) -> str:
        """One line on who has the chat now, for the chat page and its live updates."""
        if handoff.status == PENDING:
            return "In attesa di un operatore."
        if handoff.status == ASSIGNED:
            if handoff.operator == username:
                return "La conversazione è affidata a te."
            # Colleagues may read a held chat (to cover for each other), not write in it.
            return (
                f"La sta seguendo {self.name(handoff.operator)}: puoi leggerla, ma solo chi "
                "la segue può rispondere."
            )
        return "Conversazione chiusa: risponde di nuovo l'assistente."


def sse_event(name: str, data: dict[str, Any], *, event_id: int | None = None) -> bytes:
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(data, ensure_ascii=False)}")
    return ("\n".join(lines) + "\n\n").encode()


def sentence(error: Exception) -> str:
    """The services' messages start lowercase (they also serve the command line)."""
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
