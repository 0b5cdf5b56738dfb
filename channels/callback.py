"""Rasa's callback channel, strict: ``POST /webhooks/callback/webhook`` ``{"sender", "message"}``.

The replies are POSTed to ``url`` (``URP_CALLBACK_URL`` in credentials.yml), one request
each, as by Rasa's channel, and the request is answered ``success`` once they are out.
Unlike Rasa's channel, the request goes through the same door as the REST channel's
(channels/rest.py, channels/gate.py): 413 above the REST limit, 400 to a body that is not
a JSON object with text ``sender`` and ``message``, the text cleaned, the sender and the
client's address rate-limited, the conversation ``callback:<sender>`` (never a WhatsApp
citizen's), the caller's metadata ignored. The replies name the sender as the caller did.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.callback import CallbackInput, CallbackOutput
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.gate import caller_id, proxies
from channels.rest import take_message

logger = logging.getLogger(__name__)

CHANNEL = "callback"


class CallerCallbackOutput(CallbackOutput):
    """Rasa's callback output, with the reply addressed to the sender the caller chose."""

    async def _persist_message(self, message: dict[str, Any]) -> None:
        recipient = message.get("recipient_id")
        if isinstance(recipient, str):
            message = {**message, "recipient_id": caller_id(CHANNEL, recipient)}
        await super()._persist_message(message)


class StrictCallbackInput(CallbackInput):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def get_output_channel(self) -> CallerCallbackOutput:
        return CallerCallbackOutput(self.callback_endpoint)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        proxies()  # a wrong URP_TRUSTED_PROXIES stops the server at start
        webhook = Blueprint("strict_callback_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            output = self.get_output_channel()
            refused = await take_message(request, on_new_message, output, self.name())
            return response.text("success") if refused is None else refused

        return webhook
