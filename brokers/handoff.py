"""The Rasa server's events feed the transcripts of the chats handed over to the office.

Configured as the ``event_broker`` in endpoints.yml. Rasa publishes every event of every
conversation; the citizen's and the bot's messages of a conversation with an open
handoff go to its transcript in the store (:meth:`urp.handoff.chat.HandoffChat.record`),
so the console shows them even while the bot is paused. The same events feed the
trainers' review inbox (:mod:`urp.review`): the citizens' messages the bot was unsure of,
or that the office's FAQ could not answer (the slot ``faq_outcome``), masked before they
are stored. Writing happens on one worker thread, in the order Rasa published, so the
event loop never waits for the database. The thread takes the events
arriving within 0.2 seconds together: one query tells which of their conversations are
handed over, instead of one per message (docs/performance.md); a transcript is at most that
much later in the console.

``review: false`` turns the review inbox off (for example where ``urp review collect``
reads the SQL tracker store instead; both together count each message once anyway).

When the database blinks (a restart, a failover, a pool exhausted) the worker keeps the
batch and tries again with a growing pause (:data:`RETRY_FIRST` to :data:`RETRY_MAX`
seconds), in order, until the database is back; meanwhile new events wait in a queue of
at most :data:`CAPACITY`. When that is full, new events are dropped for the transcript and
the inbox (counted in the log, never their content): the conversation itself is safe in
Rasa's tracker store, and ``urp review collect`` can read the inbox's messages there.

``forward`` passes every event on to another broker as well, for example the RabbitMQ
one of the production profile, where every message expires (:class:`ExpiringPikaEventBroker`)::

    event_broker:
      type: brokers.handoff.HandoffEventBroker
      forward:
        type: brokers.handoff.ExpiringPikaEventBroker
        url: ${RABBITMQ_HOST}
        ...

A citizen's confirmed «cancella i miei dati» is forwarded, right after the event that
records it, as an event of its own (``urp_conversation_erased``): whoever consumes the events
deletes what it kept of that conversation (docs/privacy.md).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from asyncio import AbstractEventLoop
from collections.abc import Callable
from functools import cached_property
from typing import Any

import aio_pika
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from urp.core.db import Database, DatabaseError
from urp.core.hashing import UserHasher
from urp.core.settings import load_settings
from urp.handoff.chat import HandoffChat
from urp.handoff.queue import HandoffService
from urp.handoff.rasa_api import RasaConversations
from urp.privacy import erasure_event, events_ttl_days
from urp.review.inbox import ReviewCollector, is_review_event
from urp.review.store import ReviewStore

logger = logging.getLogger(__name__)

MESSAGE_EVENTS = ("user", "bot")
BATCH = 200  # events taken together by the worker, at most
GATHER = 0.2  # seconds the worker waits for more events before writing what it has
# Events waiting for the database, at most: about a minute of a replica at full load
# (3 events a message), a few MB. Beyond it new events are dropped (see the module).
CAPACITY = 10_000
RETRY_FIRST = 0.5  # seconds before the first new attempt when the database is unreachable
RETRY_MAX = 30.0  # the pause doubles up to this
# The database is down or busy: worth trying again (urp.core.db turns OperationalError into
# DatabaseError inside a transaction; the others can come from the pool).
TRANSIENT_ERRORS = (
    DatabaseError,
    OperationalError,
    DisconnectionError,
    InterfaceError,
    PoolTimeoutError,
)
# The citizen confirmed «cancella i miei dati» and the action erased the store.
ERASE_OUTCOME_SLOT = "erase_outcome"
ERASED = "erased"
_STOP = object()


class HandoffEventBroker(EventBroker):
    def __init__(
        self,
        forward: EventBroker | None = None,
        *,
        review: bool = True,
        capacity: int = CAPACITY,
    ) -> None:
        self._forward = forward
        self._review = ReviewCollector() if review else None
        self._pending: queue.Queue[Any] = queue.Queue(maxsize=capacity)
        self._dropped = 0  # events refused because the queue was full (event loop only)
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._work, name="urp-handoff", daemon=True)
        self._worker.start()

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: AbstractEventLoop | None = None
    ) -> HandoffEventBroker:
        forward_config = broker_config.kwargs.get("forward")
        forward = None
        if forward_config:
            forward = await EventBroker.create(EndpointConfig.from_dict(forward_config))
        return cls(forward, review=bool(broker_config.kwargs.get("review", True)))

    @cached_property
    def chat(self) -> HandoffChat:
        """Built on first use, in the worker thread: nothing heavy at the server's start."""
        service = HandoffService(Database.from_environment(), load_settings())
        return HandoffChat(service, RasaConversations.from_environment())

    @cached_property
    def review_store(self) -> ReviewStore:
        return ReviewStore(Database.from_environment(), UserHasher.from_environment())

    def publish(self, event: dict[str, Any]) -> None:
        if self._forward is not None:
            self._forward.publish(event)
            if _confirms_erasure(event):
                at = event.get("timestamp") or time.time()
                self._forward.publish(erasure_event(str(event.get("sender_id")), at))
        kind = event.get("event")
        if kind in MESSAGE_EVENTS or (self._review is not None and is_review_event(event)):
            try:
                self._pending.put_nowait(dict(event))
            except queue.Full:
                # Never wait here: this is Rasa's event loop, answering every citizen.
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 1000 == 0:
                    logger.error(
                        "Database irraggiungibile da troppo: %d eventi in attesa, eventi "
                        "scartati per trascrizioni e casella dei formatori: %d",
                        self._pending.maxsize,
                        self._dropped,
                    )

    def _work(self) -> None:
        while True:
            batch = [self._pending.get()]
            # What else arrives in the next moment joins: one query for many messages.
            gathered = time.monotonic() + GATHER
            while len(batch) < BATCH and batch[-1] is not _STOP:
                try:
                    batch.append(self._pending.get(timeout=max(0.0, gathered - time.monotonic())))
                except queue.Empty:
                    break
            events = [event for event in batch if event is not _STOP]
            if events:
                self._record(events)
            if len(events) < len(batch):
                return

    def _record(self, events: list[dict[str, Any]]) -> None:
        messages = [event for event in events if event.get("event") in MESSAGE_EVENTS]
        if messages:
            self._transcripts(messages)
        if self._review is None:
            return
        for event in events:
            sightings = self._retrying(
                lambda event=event: self._review.feed(event),
                "Messaggio non aggiunto alla casella dei formatori",
            )
            if sightings:
                self._retrying(
                    lambda sightings=sightings: self.review_store.record(sightings),
                    "Messaggio non aggiunto alla casella dei formatori",
                )

    def _transcripts(self, messages: list[dict[str, Any]]) -> None:
        """The messages of handed-over chats into their transcripts, one at a time and in
        order: a message is retried until the database takes it, never written twice."""
        failure = "Messaggio non aggiunto alla conversazione passata all'URP"
        senders = {m["sender_id"] for m in messages if isinstance(m.get("sender_id"), str)}
        # One query tells which of these conversations are handed over.
        handed_over = self._retrying(lambda: self.chat.service.open_conversations(senders), failure)
        if handed_over is None:
            return
        for message in messages:
            if message.get("sender_id") in handed_over:
                self._retrying(lambda message=message: self.chat.record(message), failure)

    def _retrying(self, step: Callable[[], Any], failure: str) -> Any:
        """``step()``, tried again while the database is unreachable; None if it fails.

        Never the event in the log: it holds the citizen's words and number; nor the
        database's message for other errors, which may quote a value.
        """
        pause = RETRY_FIRST
        while True:
            try:
                return step()
            except TRANSIENT_ERRORS as error:
                if self._stopping.is_set():
                    logger.error(
                        "%s: database irraggiungibile alla chiusura (%s)", failure, _kind(error)
                    )
                    return None
                logger.warning(
                    "Database irraggiungibile (%s): nuovo tentativo tra %.1f s", _kind(error), pause
                )
                self._stopping.wait(pause)
                pause = min(pause * 2, RETRY_MAX)
            except SQLAlchemyError as error:
                logger.error("%s (%s)", failure, _kind(error))
                return None
            except Exception:
                logger.exception(failure)
                return None

    def is_ready(self) -> bool:
        return self._forward.is_ready() if self._forward is not None else True

    async def close(self) -> None:
        # A database still down gets one last attempt per batch, then the events are dropped.
        self._stopping.set()
        await asyncio.to_thread(self._pending.put, _STOP)
        await asyncio.to_thread(self._worker.join)
        if self._forward is not None:
            await self._forward.close()


class ExpiringPikaEventBroker(PikaEventBroker):
    """Rasa's RabbitMQ broker, with every message expiring after ``message_ttl_days``
    (default ``URP_EVENTS_TTL_DAYS``, else 7: :func:`urp.privacy.events_ttl_days`).

    The events carry the citizen's number (``sender_id``) and words: in a queue that
    nobody reads they would stay forever, beyond retention and erasure. The expiry is
    per message (AMQP ``expiration``), not a queue argument: Rasa declares the queue
    without arguments, and RabbitMQ refuses (PRECONDITION_FAILED) to declare an existing
    queue with different ones, so an ``x-message-ttl`` would stop every replica of an
    installation whose queue already exists. All messages get the same lifetime, so the
    oldest, at the head of the queue, always expires first and RabbitMQ drops it.
    Overrides ``PikaEventBroker._message`` of Rasa 3.6 (rasa/core/brokers/pika.py).
    """

    def __init__(self, *args: Any, message_ttl_days: float | None = None, **kwargs: Any) -> None:
        ttl = events_ttl_days() if message_ttl_days is None else float(message_ttl_days)
        if not ttl > 0:
            raise ValueError("message_ttl_days must be a positive number of days")
        super().__init__(*args, **kwargs)
        self.message_ttl = ttl * 86_400  # seconds

    def _message(self, event: dict[str, Any], headers: dict[str, Any] | None) -> aio_pika.Message:
        message = super()._message(event, headers)
        message.expiration = self.message_ttl  # type: ignore[assignment]
        return message


def _confirms_erasure(event: dict[str, Any]) -> bool:
    return (
        event.get("event") == "slot"
        and event.get("name") == ERASE_OUTCOME_SLOT
        and event.get("value") == ERASED
    )


def _kind(error: BaseException) -> str:
    return type(error).__name__
