"""WhatsApp through Twilio: ``POST /webhooks/twilio/webhook``, with the signature checked.

Rasa's own Twilio channel trusts any POST; this one refuses (403) a request whose
``X-Twilio-Signature`` is missing or wrong, before reading it. Like the Cloud API channel
it stores the message (dropping a message sid it has already seen) before answering, or
answers 503 so that Twilio retries, and the inbox's worker hands it to Rasa, in order
per citizen. Credentials from the environment only:
``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_WHATSAPP_NUMBER`` (and
``TWILIO_WEBHOOK_URL``, the public URL registered on Twilio, behind a proxy).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.background import Deliver, WebhookInput
from channels.gate import admit
from channels.whatsapp import MAX_BODY, message_metadata
from urp.core.text import split_message
from urp.whatsapp.twilio import (
    MESSAGE_LIMIT,
    SIGNATURE_HEADER,
    TwilioClient,
    TwilioSettings,
    parse_form,
    signature_is_valid,
)
from urp.whatsapp.webhook import InboundMessage

logger = logging.getLogger(__name__)


class TwilioWhatsAppOutput(OutputChannel):
    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(self, client: TwilioClient) -> None:
        self._client = client

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_message(text.strip(), MESSAGE_LIMIT):
            await self._client.send(recipient_id, body=part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        # Free-form buttons need Twilio content templates: the options are listed instead,
        # in words the assistant understands when the citizen writes them back.
        options = "\n".join(f"• {b['title']}" for b in buttons if b.get("title"))
        await self.send_text_message(recipient_id, f"{text}\n\n{options}" if options else text)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._client.send(recipient_id, media_url=image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        url = attachment.get("url") if isinstance(attachment, dict) else str(attachment)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            await self._client.send(recipient_id, media_url=url)
        else:
            await self.send_text_message(recipient_id, str(attachment))


class SignedTwilioInput(WebhookInput):
    settings_class = TwilioSettings
    client_class = TwilioClient

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def get_output_channel(self) -> OutputChannel | None:
        return TwilioWhatsAppOutput(self.client) if self.client else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = self.webhook_blueprint(on_new_message)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.settings is None:
                return response.text("Twilio non è configurato", status=503)
            if len(request.body or b"") > MAX_BODY:
                return response.text("richiesta troppo grande", status=413)
            form = {key: values[0] for key, values in (request.form or {}).items() if values}
            signature = request.headers.get(SIGNATURE_HEADER)
            if not signature_is_valid(self.settings, request.url, form, signature):
                logger.warning("Richiesta Twilio con firma mancante o errata: scartata")
                return response.text("firma non valida", status=403)
            message = parse_form(form)
            if message is None:
                return response.text("richiesta senza messaggio", status=400)
            refused = await self.accept([message])
            if refused is not None:
                return refused
            # An empty TwiML answer: the replies go out through the REST API.
            return response.text("<Response/>", content_type="text/xml")

        return webhook

    async def handle(self, message: InboundMessage, deliver: Deliver) -> None:
        await admit(
            deliver,
            message.text,
            self.get_output_channel(),
            message.sender,
            input_channel=self.name(),
            metadata=message_metadata(message, message.media_id),
        )
