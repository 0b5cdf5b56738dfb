"""Webhook channels: each message stored before the 2xx, then handed to Rasa from the store.

A provider (Meta, Twilio) delivers again only what got no 2xx: so the webhook answers 200
only once the messages are in the inbox (:mod:`urp.whatsapp.inbox`), and 503 when the
database cannot take them. A worker started with the server hands them to Rasa, in order
per citizen, including those a crashed or restarted process left unanswered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, ClassVar

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import services
from urp.whatsapp.inbox import Claimed, Inbox, InboxWorker
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import InboundMessage

logger = logging.getLogger(__name__)

Deliver = Callable[[UserMessage], Awaitable[Any]]


class AgentNotReadyError(RuntimeError):
    """No model loaded: the message waits in the inbox for a later attempt."""


async def already_handled(agent: Any, sender_id: str, message_id: str) -> bool:
    """Whether Rasa's tracker has the message: it was handled before a crash or a restart
    lost the mark in the inbox."""
    tracker = await agent.tracker_store.retrieve(sender_id)
    return tracker is not None and any(
        isinstance(event, UserUttered) and event.message_id == message_id
        for event in tracker.events
    )


class WebhookInput(InputChannel):
    """A provider's webhook channel: credentials from the environment only, a client to
    answer with, the inbox and its worker, the shared store, a health route.
    """

    settings_class: ClassVar[Any]  # with from_environment() -> settings or None
    client_class: ClassVar[Any]

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(cls.settings_class.from_environment())

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.client = self.client_class(settings) if settings else None
        self.worker: InboxWorker | None = None

    @property
    def store(self) -> WhatsAppStore:
        return services.whatsapp_store()

    @property
    def inbox(self) -> Inbox:
        return services.inbox()

    async def handle(self, message: InboundMessage, deliver: Deliver) -> None:
        """Pass one stored message to Rasa through ``deliver`` (each channel's own)."""
        raise NotImplementedError

    def webhook_blueprint(self, on_new_message: Deliver) -> Blueprint:
        """The channel's blueprint: ``GET /`` saying whether it is configured, and the
        inbox's worker running from the server's start to its stop."""
        webhook = Blueprint(f"{self.name()}_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": self.settings is not None})

        @webhook.listener("after_server_start")
        async def start_worker(app: Any, _loop: Any) -> None:
            if self.settings is None:
                return
            handle = partial(self._process, app, on_new_message)
            self.worker = InboxWorker(self.inbox, self.name(), handle)
            self.worker.start()

        @webhook.listener("before_server_stop")
        async def stop_worker(_app: Any, _loop: Any) -> None:
            if self.worker is not None:
                await self.worker.stop()

        return webhook

    async def accept(self, messages: Sequence[InboundMessage]) -> HTTPResponse | None:
        """Store the messages before the provider gets its 2xx: None once stored, else the
        503 that makes the provider deliver them again."""
        try:
            await asyncio.to_thread(self.inbox.accept, self.name(), messages)
        except Exception:
            logger.exception(
                "Messaggi %s non salvati: rifiutati perché siano rimandati", self.name()
            )
            return response.text("servizio momentaneamente non disponibile", status=503)
        if self.worker is not None:
            self.worker.wake()
        return None

    async def _process(self, app: Any, on_new_message: Deliver, claim: Claimed) -> None:
        agent = app.ctx.agent  # looked up each time: loading a new model replaces it
        if not agent.is_ready():
            raise AgentNotReadyError("nessun modello caricato")

        async def deliver(message: UserMessage) -> None:
            # Rasa's tracker keeps the provider's id: a later claim can tell it was handled.
            message.message_id = claim.message_id
            if claim.attempts > 1 and await already_handled(
                agent, message.sender_id, claim.message_id
            ):
                logger.info("Messaggio %s già gestito prima del riavvio", claim.message_id)
                return
            await on_new_message(message)

        await self.handle(claim.message, deliver)
