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

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.callback import CallbackInput, CallbackOutput
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.gate import admit, caller_id, proxies, request_client
from channels.rest import MAX_BODY, InvalidRequest, parse_request

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
            body = request.body or b""
            if len(body) > MAX_BODY:
                return response.json({"error": "richiesta troppo grande"}, status=413)
            try:
                sender, message = parse_request(body)
            except InvalidRequest as error:
                return response.json({"error": str(error)}, status=400)
            try:
                await admit(
                    on_new_message,
                    message,
                    self.get_output_channel(),
                    sender,
                    input_channel=self.name(),
                    client=request_client(request.ip, request.headers),
                )
            except (asyncio.CancelledError, Exception):
                # As the REST channel: the message was taken; never the text in the log.
                logger.exception("Messaggio del canale callback non elaborato")
            return response.text("success")

        return webhook
