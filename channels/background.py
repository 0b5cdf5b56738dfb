"""Webhooks answer at once; the messages are handled afterwards, in order per citizen."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.services import whatsapp_store
from urp.whatsapp.store import WhatsAppStore

logger = logging.getLogger(__name__)

Job = tuple[str, str, Callable[[], Awaitable[None]]]  # (sender, message id, work)


class OrderedBackground:
    """Runs jobs in background tasks; one sender's jobs run one at a time, in order."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._queued: Counter[str] = Counter()

    def submit(self, jobs: Sequence[Job]) -> None:
        # Queued now, while still in the request: arrival order is the order of the locks.
        for sender, _, _ in jobs:
            self._queued[sender] += 1
            self._locks.setdefault(sender, asyncio.Lock())
        task = asyncio.get_running_loop().create_task(self._run(jobs))
        self._tasks.add(task)  # a reference, or the loop may drop the task
        task.add_done_callback(self._tasks.discard)

    async def _run(self, jobs: Sequence[Job]) -> None:
        for sender, message_id, work in jobs:
            try:
                async with self._locks[sender]:
                    await work()
            except Exception:
                # The message id only: the sender is a phone number.
                logger.exception("Messaggio %s non elaborato", message_id)
            finally:
                self._queued[sender] -= 1
                if not self._queued[sender]:
                    del self._queued[sender]
                    del self._locks[sender]

    async def drain(self) -> None:
        """Wait for everything submitted so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class WebhookInput(InputChannel):
    """A provider's webhook channel: credentials from the environment only, a client to
    answer with, background work in order per citizen, the shared store, a health route.
    """

    settings_class: ClassVar[Any]  # with from_environment() -> settings or None
    client_class: ClassVar[Any]

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(cls.settings_class.from_environment())

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.client = self.client_class(settings) if settings else None
        self.background = OrderedBackground()

    @property
    def store(self) -> WhatsAppStore:
        return whatsapp_store()

    def webhook_blueprint(self) -> Blueprint:
        """The channel's blueprint with ``GET /`` saying whether it is configured."""
        webhook = Blueprint(f"{self.name()}_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": self.settings is not None})

        return webhook
