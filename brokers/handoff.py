"""The Rasa server's events feed the transcripts of the chats handed over to the office.

Configured as the ``event_broker`` in endpoints.yml. Rasa publishes every event of every
conversation; the citizen's and the bot's messages of a conversation with an open
handoff go to its transcript in the store (:meth:`urp.handoff_chat.HandoffChat.record`),
so the console shows them even while the bot is paused. The same events feed the
trainers' review inbox (:mod:`urp.review`): the citizens' messages the bot was unsure of,
masked before they are stored. Writing happens on one worker thread, in the order Rasa
published, so the event loop never waits for the database. The thread takes the events
arriving within 0.2 seconds together: one query tells which of their conversations are
handed over, instead of one per message (docs/performance.md); a transcript is at most that
much later in the console.

``review: false`` turns the review inbox off (for example where ``urp review collect``
reads the SQL tracker store instead; both together count each message once anyway).

``forward`` passes every event on to another broker as well, for example the RabbitMQ
one of the production profile::

    event_broker:
      type: brokers.handoff.HandoffEventBroker
      forward:
        type: pika
        url: ${RABBITMQ_HOST}
        ...
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from asyncio import AbstractEventLoop
from functools import cached_property
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from urp.db import Database
from urp.handoff_chat import HandoffChat
from urp.handoffs import HandoffService
from urp.privacy import UserHasher
from urp.rasa_api import RasaConversations
from urp.review.inbox import REVIEW_EVENT_TYPES, ReviewCollector
from urp.review.store import ReviewStore
from urp.settings import load_settings

logger = logging.getLogger(__name__)

MESSAGE_EVENTS = ("user", "bot")
BATCH = 200  # events taken together by the worker, at most
GATHER = 0.2  # seconds the worker waits for more events before writing what it has
_STOP = object()


class HandoffEventBroker(EventBroker):
    def __init__(self, forward: EventBroker | None = None, *, review: bool = True) -> None:
        self._forward = forward
        self._review = ReviewCollector() if review else None
        self._pending: queue.SimpleQueue[Any] = queue.SimpleQueue()
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
        kind = event.get("event")
        if kind in MESSAGE_EVENTS or (self._review is not None and kind in REVIEW_EVENT_TYPES):
            self._pending.put(dict(event))

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
        try:
            if messages:
                self.chat.record_all(messages)
        except Exception:
            for message in messages:  # one by one: a message that fails loses no other
                try:
                    self.chat.record(message)
                except Exception:
                    # Never the event itself in the log: it holds the citizen's words and number.
                    logger.exception("Messaggio non aggiunto alla conversazione passata all'URP")
        if self._review is None:
            return
        for event in events:
            try:
                sightings = self._review.feed(event)
                if sightings:
                    self.review_store.record(sightings)
            except Exception:
                logger.exception("Messaggio non aggiunto alla casella dei formatori")

    def is_ready(self) -> bool:
        return self._forward.is_ready() if self._forward is not None else True

    async def close(self) -> None:
        self._pending.put(_STOP)
        await asyncio.to_thread(self._worker.join)
        if self._forward is not None:
            await self._forward.close()
