"""The Rasa server's events feed the transcripts of the chats handed over to the office.

Configured as the ``event_broker`` in endpoints.yml. Rasa publishes every event of every
conversation; the citizen's and the bot's messages of a conversation with an open
handoff go to its transcript in the store (:meth:`urp.handoff_chat.HandoffChat.record`),
so the console shows them even while the bot is paused. Writing happens on one worker
thread, in the order Rasa published, so the event loop never waits for the database.

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

import logging
from asyncio import AbstractEventLoop
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from urp.db import Database
from urp.handoff_chat import HandoffChat
from urp.handoffs import HandoffService
from urp.rasa_api import RasaConversations
from urp.settings import load_settings

logger = logging.getLogger(__name__)

MESSAGE_EVENTS = ("user", "bot")


class HandoffEventBroker(EventBroker):
    def __init__(self, forward: EventBroker | None = None) -> None:
        self._forward = forward
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="urp-handoff")

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: AbstractEventLoop | None = None
    ) -> HandoffEventBroker:
        forward_config = broker_config.kwargs.get("forward")
        forward = None
        if forward_config:
            forward = await EventBroker.create(EndpointConfig.from_dict(forward_config))
        return cls(forward)

    @cached_property
    def chat(self) -> HandoffChat:
        """Built on first use, in the worker thread: nothing heavy at the server's start."""
        service = HandoffService(Database.from_environment(), load_settings())
        return HandoffChat(service, RasaConversations.from_environment())

    def publish(self, event: dict[str, Any]) -> None:
        if self._forward is not None:
            self._forward.publish(event)
        if event.get("event") in MESSAGE_EVENTS:
            self._worker.submit(self._record, dict(event))

    def _record(self, event: dict[str, Any]) -> None:
        try:
            self.chat.record(event)
        except Exception:
            # Never the event itself in the log: it holds the citizen's words and number.
            logger.exception("Messaggio non aggiunto alla conversazione passata all'URP")

    def is_ready(self) -> bool:
        return self._forward.is_ready() if self._forward is not None else True

    async def close(self) -> None:
        self._worker.shutdown(wait=True)
        if self._forward is not None:
            await self._forward.close()
