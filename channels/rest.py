"""Rasa's REST channel, strict: ``POST /webhooks/rest/webhook`` ``{"sender", "message"}``.

Rasa's own channel answers 500 to a body that is not JSON and passes anything to the
tracker. This one answers 413 above :data:`MAX_BODY`, 400 to invalid UTF-8, malformed or
too deeply nested JSON, a body that is not an object, a missing or non-string ``sender``
or ``message`` and non-object ``metadata``; the text is cleaned and the sender and the
client's address rate-limited (channels/gate.py). The conversation is ``rest:<sender>``
(never a WhatsApp citizen's) and the caller's ``metadata`` is ignored. The answer is the
list of replies, as before (no ``stream``), addressed to the sender as the caller named it.
Enabled in every profile, it also installs the server-wide guard against bodies that
Rasa's other endpoints would answer with a 500 (channels/http_guard.py), takes the loaded
model out of the garbage collector's way once the server has started (rasa_patches/heap.py,
unless switched off), and closes the kept connections to the action server when the server
stops (rasa_patches/action_connections.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import http_guard
from channels.gate import admit, caller_id, proxies, request_client
from rasa_patches import action_connections, heap

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
# With the channel's prefix ("callback:" the longest) the conversation id stays within the
# 128 characters the store keeps for it.
MAX_SENDER = 100


class InvalidRequest(ValueError):
    """Answered with 400 and this message."""


def parse_request(body: bytes) -> tuple[str, str]:
    """(sender, message) of a REST request; :class:`InvalidRequest` if it is bad.

    ``metadata`` may be given, as Rasa's channel allows, but only as an object: it is not
    passed on (only a channel connector sets metadata).
    """
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidRequest("il corpo non è UTF-8 valido") from error
    except ValueError as error:
        raise InvalidRequest("il corpo non è JSON valido") from error
    except RecursionError as error:  # '[' * 100000: json's recursion gives up
        raise InvalidRequest("il corpo è annidato troppo in profondità") from error
    if not isinstance(payload, dict):
        raise InvalidRequest("il corpo deve essere un oggetto JSON")
    sender, message = payload.get("sender"), payload.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER:
        raise InvalidRequest(f"'sender' deve essere un testo di 1-{MAX_SENDER} caratteri")
    if not isinstance(message, str):
        raise InvalidRequest("'message' deve essere un testo")
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidRequest("'metadata' deve essere un oggetto JSON")
    return sender, message


async def take_message(
    request: Request,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    output: OutputChannel,
    input_channel: str,
) -> HTTPResponse | None:
    """The request's message through the gate (channels/gate.py) to Rasa: the 4xx answer
    if the request is refused, None once the message was taken (and handled, or logged
    without its text if handling failed: what was answered so far stands)."""
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
            output,
            sender,
            input_channel=input_channel,
            client=request_client(request.ip, request.headers),
        )
    except (asyncio.CancelledError, Exception):
        logger.exception("Messaggio del canale %s non elaborato", input_channel)
    return None


class StrictRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        proxies()  # a wrong URP_TRUSTED_PROXIES stops the server at start
        webhook = Blueprint("strict_rest_webhook", __name__)

        @webhook.listener("before_server_start")
        async def guard_every_endpoint(app: Sanic, _: Any) -> None:
            http_guard.install(app)

        @webhook.listener("after_server_start")
        async def settle_the_garbage_collector(*_: Any) -> None:
            heap.on_server_start()

        @webhook.listener("after_server_stop")
        async def close_action_connections(*_: Any) -> None:
            await action_connections.close_all()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            collector = CollectingOutputChannel()
            refused = await take_message(request, on_new_message, collector, self.name())
            if refused is not None:
                return refused
            return response.json(
                [
                    {**m, "recipient_id": caller_id(self.name(), str(m.get("recipient_id")))}
                    for m in collector.messages
                ]
            )

        return webhook
