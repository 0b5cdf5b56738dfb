"""A handed-over chat, end to end: the queue in the store and the conversation in Rasa.

:class:`HandoffService` keeps the state (pending, assigned, resolved) and the transcript;
this module keeps the Rasa conversation in step with it, through Rasa's HTTP API:

- **claimed**: the citizen is told who answers (``EXTERNAL_handoff_claimed``), and the
  conversation is paused: Rasa records the citizen's messages but the bot says nothing;
- **an operator's reply** is appended as a ``bot`` event and sent on the citizen's own
  channel; if Rasa does not take it, it stays in the transcript as not delivered, to retry;
- **resolved** (by the operator, or by the citizen writing "torna al bot"): the
  conversation is resumed and the citizen told that the assistant answers again;
- **released** (the operator gives it back, or was idle too long): resumed, back in the
  queue, and the citizen told that another operator will answer.

While a handoff is open, the Rasa server's event broker hands every citizen and bot
message to :meth:`HandoffChat.record`, so the console shows the whole conversation.
The conversation id (the phone number on WhatsApp) is never logged here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from urp.core.errors import OperatorError
from urp.core.models import ASSIGNED
from urp.handoff.operators import Operator
from urp.handoff.queue import HandoffService
from urp.handoff.rasa_api import RasaUnavailableError
from urp.handoff.ratings import RatingService
from urp.handoff.records import (
    Handoff,
    HandoffStateError,
    Message,
    QueuedHandoff,
    UnknownHandoffError,
    may_resolve,
)
from urp.handoff.sweep import SweepResult
from urp.inbound.keywords import is_back_to_bot

logger = logging.getLogger(__name__)

CLAIMED_INTENT = "EXTERNAL_handoff_claimed"
RESOLVED_INTENT = "EXTERNAL_handoff_resolved"
REMINDER_INTENT = "EXTERNAL_handoff_reminder"
RELEASED_INTENT = "EXTERNAL_handoff_released"
# The entity (and slot) that carries the operator's first name into utter_handoff_claimed.
OPERATOR_ENTITY = "handoff_operator"
# Metadata of an operator's message in Rasa's tracker: its id in the transcript.
OPERATOR_MESSAGE_KEY = "urp_operator_message"
# ... and the operator's first name, which the web chat shows with it («Giulia · URP»).
OPERATOR_NAME_KEY = "urp_operator_name"
# Metadata Rasa gives the user event of a trigger_intent (rasa.shared.core.constants).
EXTERNAL_KEY = "is_external"
# Metadata the channels give a citizen's photo, audio, video...: {"type": ..., "url": ...}.
MEDIA_KEY = "urp_media"
# Undelivered operator replies younger than this are sent again by the background job
# (WhatsApp accepts free text for 24 hours after the citizen last wrote).
REDELIVER_WITHIN = timedelta(hours=24)
MEDIA_LABELS = {
    "audio": "messaggio vocale",
    "video": "video",
    "document": "documento",
    "sticker": "sticker",
    "contacts": "contatto",
}


class Conversations(Protocol):
    """The Rasa side (:class:`urp.handoff.rasa_api.RasaConversations`); tests pass a fake."""

    def pause(self, conversation_id: str) -> None: ...

    def resume(self, conversation_id: str) -> None: ...

    def say(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> None: ...

    def trigger(
        self, conversation_id: str, intent: str, entities: Mapping[str, str] | None = None
    ) -> None: ...


class DeliveryError(OperatorError, RuntimeError):
    """The reply is in the transcript but did not reach the citizen: it can be retried."""

    def __init__(self, message: Message) -> None:
        super().__init__(
            "Risposta salvata ma non consegnata: l'assistente non è raggiungibile o il canale "
            "non l'ha accettata (su WhatsApp, oltre 24 ore serve un modello). Riprova."
        )
        self.message = message


class ChatUnavailableError(OperatorError, RuntimeError):
    """Rasa did not take the step, so the store was left as it was: try again."""


class Receipts(Protocol):
    """The web chat's outbox (:class:`urp.widget.outbox.WebOutbox`): which operator replies
    it keeps for a citizen whose widget has not confirmed them yet (the page is closed)."""

    def waiting(self, message_ids: Sequence[int]) -> set[int]: ...


def first_name(display_name: str) -> str:
    """How the citizen is told who answers: "Mario Rossi" -> "Mario"."""
    return display_name.split()[0] if display_name.split() else display_name


class HandoffChat:
    """The operations of the console (and of the sweep) on handed-over chats."""

    def __init__(
        self,
        service: HandoffService,
        conversations: Conversations,
        *,
        ratings: RatingService | None = None,
        receipts: Receipts | None = None,
    ) -> None:
        self.service = service
        self._conversations = conversations
        # With it, a web reply is «consegnato» only once the citizen's widget confirmed it.
        self._receipts = receipts
        # With it, the citizen may rate each chat an operator resolves (urp.handoff.ratings).
        self.ratings = ratings

    # -- reading -----------------------------------------------------------------------

    def queue(self) -> list[QueuedHandoff]:
        return self.service.queue()

    def get(self, handoff_id: int) -> Handoff:
        handoff = self.service.get(handoff_id)
        if handoff is None:
            raise UnknownHandoffError(f"nessuna conversazione passata all'URP ha id {handoff_id}")
        return handoff

    def transcript(self, handoff_id: int, after_id: int = 0) -> list[Message]:
        return self._awaiting(self.service.messages(handoff_id, after_id))

    # -- the operator's steps ------------------------------------------------------------

    def claim(self, handoff_id: int, operator: Operator) -> bool:
        """Take the chat; False if another operator got it first.

        If Rasa cannot be told (and so cannot pause the bot), the claim is undone and
        :class:`ChatUnavailableError` raised: never an operator and the bot at once.
        """
        if not self.service.claim(handoff_id, operator):
            return False
        handoff = self.get(handoff_id)
        try:
            self._conversations.trigger(
                handoff.conversation_id,
                CLAIMED_INTENT,
                {OPERATOR_ENTITY: first_name(operator.display_name)},
            )
        except RasaUnavailableError as error:
            self.service.release(handoff_id)
            raise ChatUnavailableError(
                "L'assistente non è raggiungibile, la conversazione resta in coda: riprova."
            ) from error
        return True

    def reply(self, handoff_id: int, operator: Operator, text: str) -> Message:
        """Send the holder's reply; :class:`DeliveryError` if it is saved but not sent."""
        reply = self.service.operator_reply(handoff_id, operator, text)
        return self._deliver(reply, first_name(operator.display_name))

    def retry(self, message_id: int, operator: Operator) -> Message:
        """Send again a reply that did not reach the citizen."""
        message = self.service.message(message_id)
        if message is None or message.author != "operator":
            raise UnknownHandoffError(f"nessuna risposta di operatore ha id {message_id}")
        [message] = self._awaiting([message])
        if message.delivered or message.awaiting_citizen:
            return message
        handoff = self.get(message.handoff_id)
        if handoff.status != ASSIGNED or handoff.operator != operator.username:
            raise HandoffStateError(
                f"la conversazione {handoff.id} non è assegnata a {operator.username}"
            )
        return self._deliver(message, first_name(operator.display_name))

    def resolve(self, handoff_id: int, operator: Operator) -> Handoff:
        """Close the chat and give it back to the bot, which tells the citizen so."""
        handoff = self._open(handoff_id)
        if not may_resolve(handoff, operator):
            raise HandoffStateError(
                f"la conversazione {handoff_id} è assegnata a un altro operatore"
            )
        # Resume before closing: if Rasa is unreachable the chat stays as it was, rather
        # than closed in the console with the bot still silent for the citizen.
        self._resume(handoff)
        resolved = self.service.resolve(handoff_id, operator)
        self._tell(resolved, RESOLVED_INTENT)
        if self.ratings is not None:
            wrote = any(m.author == "operator" for m in self.service.messages(handoff_id))
            self.ratings.ask_after(handoff_id, resolved.conversation_id, wrote, self._conversations)
        return resolved

    def release(self, handoff_id: int, operator: Operator) -> Handoff:
        """Give the chat back to the queue, for another operator."""
        handoff = self._open(handoff_id)
        if handoff.status != ASSIGNED:
            raise HandoffStateError(f"la conversazione {handoff_id} è già in coda")
        if not may_resolve(handoff, operator):
            raise HandoffStateError(
                f"la conversazione {handoff_id} è assegnata a un altro operatore"
            )
        self._resume(handoff)
        self.service.release(handoff_id, operator)
        self._tell(handoff, RELEASED_INTENT)
        return self.get(handoff_id)

    def assign(
        self, handoff_id: int, operator: Operator, colleague: str, note: str | None = None
    ) -> Handoff:
        """Give the chat to a colleague, with an optional note for them
        (:meth:`urp.handoff.teamwork.Teamwork.assign`). A pending chat is paused in Rasa
        as a claim is, but the citizen is told no name: they read the colleague's own
        words. If Rasa cannot be told, the chat goes back to the queue."""
        handoff, was_pending = self.service.teamwork.assign(handoff_id, operator, colleague, note)
        if was_pending:
            try:
                self._conversations.pause(handoff.conversation_id)
            except RasaUnavailableError as error:
                self.service.release(handoff_id)
                raise ChatUnavailableError(
                    "L'assistente non è raggiungibile, la conversazione resta in coda: riprova."
                ) from error
        return handoff

    # -- timeouts ------------------------------------------------------------------------

    def sweep(self) -> SweepResult:
        """Remind those waiting long, release (or close) chats idle too long, and tell them.

        An idle chat is resumed in Rasa before it leaves its operator: if Rasa cannot be
        reached it stays as it is, for the next sweep, rather than queued with the bot
        still silent.
        """
        now = self.service.now()
        idle = self.service.idle(now)
        unreachable = set()
        for handoff in idle:
            try:
                self._conversations.resume(handoff.conversation_id)
            except RasaUnavailableError:
                logger.warning("handoff %s: not released, Rasa unreachable", handoff.id)
                unreachable.add(handoff.id)
        result = self.service.sweep(now, keep=unreachable)
        left = {h.id for h in result.released + result.resolved}
        for handoff in idle:
            if handoff.id not in left | unreachable:
                self._pause(handoff)  # its operator wrote meanwhile: still theirs
        for handoff in result.remind:
            self._tell(handoff, REMINDER_INTENT)
        for handoff in result.released:
            self._tell(handoff, RELEASED_INTENT)
        for handoff in result.resolved:
            self._tell(handoff, RESOLVED_INTENT)
        return result

    def redeliver(self) -> int:
        """Send again, oldest first, the replies of the last :data:`REDELIVER_WITHIN` that did
        not reach the citizen (Rasa or the channel was down); how many went out. Stops at
        the first failure: the channel is still down, and order is kept."""
        since = self.service.now() - REDELIVER_WITHIN
        sent = 0
        for message in self._awaiting(self.service.undelivered(since)):
            if message.awaiting_citizen:
                continue  # the web chat has it: the citizen gets it when they come back
            try:
                self._deliver(message)
            except DeliveryError:
                break
            sent += 1
        return sent

    # -- what the Rasa server hands over (event broker) ----------------------------------

    def record(self, event: Mapping[str, Any]) -> Message | None:
        """Add a Rasa event (a JSON dict) to the transcript of the conversation's open handoff.

        Only ``user`` and ``bot`` events count, and only those after the handoff opened
        (what came before is the transcript the bot handed over). An operator's message is
        already there; the console's own triggers (``EXTERNAL_*``) are not messages. A citizen writing "torna al bot" while an operator holds the chat
        closes it and goes back to the assistant.
        """
        if not _transcript_candidate(event):
            return None
        kind, sender = event["event"], event["sender_id"]
        metadata = event.get("metadata") or {}
        handoff = self.service.for_conversation(sender)
        if handoff is None or _event_time(event) <= handoff.created_at:
            return None
        if kind == "bot":
            data = event.get("data") or {}
            image = data.get("image") if isinstance(data, dict) else None
            return self._add(handoff, "bot", event.get("text"), media_url=image)
        entities = _entities(event)
        media = metadata.get(MEDIA_KEY) if isinstance(metadata, dict) else None
        media = media if isinstance(media, dict) else {}
        text = event.get("text")
        if isinstance(text, str) and text.startswith("/") and (entities or media):
            # A photo, a position, an audio... the channel sent as an intent payload.
            label = MEDIA_LABELS.get(str(media.get("type")))
            text = f"[{label}]" if label else None
        photo = entities.get("photo_url") or (
            media.get("url") if media.get("type") == "image" else None
        )
        message = self._add(
            handoff,
            "citizen",
            text,
            media_url=photo,
            latitude=_number(entities.get("latitude")),
            longitude=_number(entities.get("longitude")),
        )
        if handoff.status == ASSIGNED and is_back_to_bot(event.get("text")):
            self._citizen_returns(handoff)
        return message

    def record_all(self, events: Sequence[Mapping[str, Any]]) -> list[Message]:
        """:meth:`record` for many events, in order, with one query for who is handed over.

        The Rasa server publishes several events for each message of every conversation;
        only the few conversations with an open handoff need more than that query.
        """
        candidates = [event for event in events if _transcript_candidate(event)]
        handed_over = self.service.open_conversations({e["sender_id"] for e in candidates})
        recorded = []
        for event in candidates:
            if event["sender_id"] in handed_over:
                message = self.record(event)
                if message is not None:
                    recorded.append(message)
        return recorded

    # -- helpers -------------------------------------------------------------------------

    def _open(self, handoff_id: int) -> Handoff:
        handoff = self.get(handoff_id)
        if not handoff.is_open:
            raise HandoffStateError(f"la conversazione {handoff_id} è già stata chiusa")
        return handoff

    def _citizen_returns(self, handoff: Handoff) -> None:
        try:
            self._resume(handoff)
        except ChatUnavailableError:
            logger.warning("handoff %s: the citizen's return to the bot failed", handoff.id)
            return
        closed = self.service.close_by_citizen(handoff.id)
        if closed is not None:
            self._tell(closed, RESOLVED_INTENT)

    def _deliver(self, message: Message, name: str | None = None) -> Message:
        handoff = self.get(message.handoff_id)
        metadata: dict[str, Any] = {OPERATOR_MESSAGE_KEY: message.id, "operator": message.operator}
        if name:
            metadata[OPERATOR_NAME_KEY] = name
        try:
            self._conversations.say(handoff.conversation_id, message.text or "", metadata)
        except RasaUnavailableError as error:
            logger.warning("handoff %s: reply %s not delivered", handoff.id, message.id)
            raise DeliveryError(message) from error
        if self._receipts is not None and self._receipts.waiting([message.id]):
            # Kept by the web chat: delivered when the citizen's widget confirms it.
            return replace(message, awaiting_citizen=True)
        self.service.mark_delivered(message.id)
        return replace(message, delivered=True)

    def _awaiting(self, messages: list[Message]) -> list[Message]:
        """Mark the operator replies the web chat keeps for a citizen who has not had them."""
        pending = [m.id for m in messages if m.author == "operator" and not m.delivered]
        if self._receipts is None or not pending:
            return messages
        waiting = self._receipts.waiting(pending)
        return [replace(m, awaiting_citizen=True) if m.id in waiting else m for m in messages]

    def _resume(self, handoff: Handoff) -> None:
        if handoff.status != ASSIGNED:
            return  # only a held chat is paused
        try:
            self._conversations.resume(handoff.conversation_id)
        except RasaUnavailableError as error:
            raise ChatUnavailableError(
                "L'assistente non è raggiungibile: la conversazione resta com'era, riprova."
            ) from error

    def _pause(self, handoff: Handoff) -> None:
        try:
            self._conversations.pause(handoff.conversation_id)
        except RasaUnavailableError:
            logger.warning("handoff %s: conversation not paused again", handoff.id)

    def _tell(self, handoff: Handoff, intent: str) -> None:
        """A notice to the citizen; the state has already changed, so a failure is logged."""
        try:
            self._conversations.trigger(handoff.conversation_id, intent)
        except RasaUnavailableError:
            logger.warning("handoff %s: notice %s not sent", handoff.id, intent)

    def _add(
        self,
        handoff: Handoff,
        author: str,
        text: Any,
        media_url: Any = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> Message | None:
        text = text if isinstance(text, str) else None
        media_url = media_url if isinstance(media_url, str) else None
        if latitude is None or longitude is None:
            latitude = longitude = None
        try:
            return self.service.add_message(
                handoff.id, author, text, None, media_url, latitude, longitude
            )
        except HandoffStateError:
            return None  # closed in the meantime
        except ValueError:
            # Nothing to show (an empty message, a media link that is not a web address).
            if text and text.strip():
                return self.service.add_message(handoff.id, author, text)
            return None


def _transcript_candidate(event: Mapping[str, Any]) -> bool:
    """A citizen's or the bot's message, not one the console stored or sent itself."""
    sender = event.get("sender_id")
    if event.get("event") not in ("user", "bot") or not isinstance(sender, str) or not sender:
        return False
    metadata = event.get("metadata") or {}
    # The console stored an operator's message already; its own triggers are not messages.
    return not (
        isinstance(metadata, dict)
        and (OPERATOR_MESSAGE_KEY in metadata or metadata.get(EXTERNAL_KEY))
    )


def _event_time(event: Mapping[str, Any]) -> datetime:
    timestamp = event.get("timestamp")
    if isinstance(timestamp, int | float):
        return datetime.fromtimestamp(timestamp, UTC)
    return datetime.now(UTC)


def _entities(event: Mapping[str, Any]) -> dict[str, Any]:
    parse_data = event.get("parse_data") or {}
    found: dict[str, Any] = {}
    for entity in parse_data.get("entities") or [] if isinstance(parse_data, dict) else []:
        if isinstance(entity, dict) and entity.get("entity") and entity.get("value") is not None:
            found.setdefault(str(entity["entity"]), entity["value"])
    return found


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
