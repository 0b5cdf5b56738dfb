"""What the console shows of handoffs and messages, in Italian.

The conversation id (the citizen's phone number on WhatsApp) is deliberately absent from
every view: a chat is "Conversazione n. 12", after the handoff's own id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from urp.core.models import ASSIGNED, PENDING
from urp.handoff.records import (
    ASSIGN_ACTION,
    CITIZEN_ACTOR,
    CLAIM_ACTION,
    NOTE_ACTION,
    RELEASE_ACTION,
    REPLY_ACTION,
    RESOLVE_ACTION,
    SWEEP_ACTOR,
    TRANSFER_ACTION,
    Handoff,
    Message,
    QueuedHandoff,
)
from urp.handoff.teamwork import Note, TrailEntry
from urp.review.masking import mask

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
# The queue shows the start of the citizen's last message: one line on a phone.
LAST_MESSAGE_LENGTH = 90
# The colleague named at the end of an audit row's detail: "..., a lucia.bianchi".
_TO_COLLEAGUE = re.compile(r"\ba ([a-z0-9._-]+)$")


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel.capitalize())


def duration_label(value: timedelta) -> str:
    """Short, for a table cell: "meno di 1 min", "12 min", "1 h 5 min", "2 h"."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "meno di 1 min"
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def excerpt(text: str | None, length: int = LAST_MESSAGE_LENGTH) -> str | None:
    """The citizen's words without personal data, on one line, cut at a word."""
    if not text or not text.strip():
        return None
    words = " ".join(mask(text).split())
    if len(words) <= length:
        return words
    return words[:length].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def delivery_status(message: Message | MessageView) -> str:
    """Where an operator's reply is: "delivered", "awaiting" (kept by the web chat for a
    citizen who is away) or "undelivered" (to retry)."""
    if message.delivered:
        return "delivered"
    return "awaiting" if message.awaiting_citizen else "undelivered"


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
    waiting: str  # "in attesa da 12 min", "presa dopo 3 min"
    waiting_since: str  # ISO time of the request, for the page to count on by itself
    holder: str | None  # the display name of who holds it
    out_of_hours: bool
    mine: bool
    last_message: str | None  # masked and cut (:func:`excerpt`)
    channel_key: str  # "whatsapp", "socketio"...: the notification's words


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
    addressee: str | None = None  # a note for a colleague: their display name
    # A reply to a web citizen who is away: kept until their widget takes it.
    awaiting_citizen: bool = False


@dataclass(frozen=True)
class TrailView:
    at: str
    at_iso: str
    text: str  # "Mario Rossi ha preso in carico la conversazione"


@dataclass(frozen=True)
class HistoryRow:
    id: int
    created: str  # "3/12/2026 14:05"
    created_iso: str
    channel: str
    reason: str
    status: str
    status_label: str
    operator: str | None


class Presenter:
    """Turns store objects into what the templates show, in the municipality's time zone."""

    def __init__(self, timezone: tzinfo, names: dict[str, str]) -> None:
        self._timezone = timezone
        self._names = names  # username -> display name

    def name(self, username: str | None) -> str | None:
        return self._names.get(username, username) if username else None

    def queue_row(self, queued: QueuedHandoff, username: str) -> QueueRow:
        handoff = queued.handoff
        pending = handoff.status == PENDING
        waited = duration_label(queued.waiting)
        return QueueRow(
            handoff.id,
            handoff.status,
            STATUS_LABELS[handoff.status],
            channel_label(handoff.channel),
            REASON_LABELS.get(handoff.reason, handoff.reason),
            f"in attesa da {waited}" if pending else f"presa dopo {waited}",
            handoff.created_at.isoformat(),
            self.name(handoff.operator) if handoff.status == ASSIGNED else None,
            handoff.out_of_hours,
            handoff.operator == username and handoff.status == ASSIGNED,
            excerpt(queued.last_message),
            handoff.channel,
        )

    def history_row(self, handoff: Handoff) -> HistoryRow:
        local = handoff.created_at.astimezone(self._timezone)
        return HistoryRow(
            handoff.id,
            f"{local.day}/{local.month}/{local.year} {local:%H:%M}",
            handoff.created_at.isoformat(),
            channel_label(handoff.channel),
            REASON_LABELS.get(handoff.reason, handoff.reason),
            handoff.status,
            STATUS_LABELS[handoff.status],
            self.name(handoff.operator),
        )

    def note(self, note: Note, now: datetime) -> MessageView:
        """An internal note, shown in the transcript as the operators' own line."""
        return MessageView(
            note.id,
            "note",
            self.name(note.author) or note.author,
            self.when(note.at, now),
            note.at.isoformat(),
            note.text,
            None,
            None,
            None,
            True,
            self.name(note.addressee),
        )

    def trail(self, handoff: Handoff, entries: list[TrailEntry], now: datetime) -> list[TrailView]:
        """The chat's audit trail in words, from the request on."""
        reason = REASON_LABELS.get(handoff.reason, handoff.reason)
        views = [
            TrailView(
                self.when(handoff.created_at, now),
                handoff.created_at.isoformat(),
                f"L'assistente l'ha passata all'URP ({reason})",
            )
        ]
        for entry in entries:
            text = self._step(entry)
            if text:
                views.append(TrailView(self.when(entry.at, now), entry.at.isoformat(), text))
        return views

    def _step(self, entry: TrailEntry) -> str | None:
        who = self.name(entry.actor) or entry.actor
        found = _TO_COLLEAGUE.search(entry.detail)
        colleague = self.name(found[1]) if found else "un collega"
        if entry.actor == SWEEP_ACTOR:
            return {
                RELEASE_ACTION: "Rimessa in coda: nessuno scriveva da tempo",
                RESOLVE_ACTION: "Chiusa: nessuno scriveva da tempo",
            }.get(entry.action)
        if entry.actor == CITIZEN_ACTOR:
            return (
                "Il cittadino è tornato all'assistente" if entry.action == RESOLVE_ACTION else None
            )
        return {
            CLAIM_ACTION: f"{who} l'ha presa in carico",
            REPLY_ACTION: f"{who} ha risposto al cittadino",
            ASSIGN_ACTION: f"{who} l'ha assegnata a {colleague}",
            TRANSFER_ACTION: f"{who} l'ha passata a {colleague}",
            NOTE_ACTION: f"{who} ha scritto una nota interna",
            RELEASE_ACTION: f"{who} l'ha rimessa in coda",
            RESOLVE_ACTION: f"{who} l'ha chiusa",
        }.get(entry.action)

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
            awaiting_citizen=message.awaiting_citizen,
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
