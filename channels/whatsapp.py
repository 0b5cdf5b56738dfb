"""WhatsApp Cloud API channel: ``GET``/``POST /webhooks/whatsapp/webhook``.

Thin glue between Rasa and :mod:`urp.whatsapp`: the webhook checks Meta's signature
before reading anything, records the statuses and stores the messages (dropping repeated
message ids) before answering 200, or answers 503 so that Meta delivers again. The
inbox's worker (:mod:`channels.background`) then remembers when the citizen wrote (the
24-hour window), marks the message as read and passes it to Rasa. The replies, an
operator's messages and broadcasts all go out through :class:`WhatsAppOutput`. A tap on
«Leggi il memo», the quick-reply button of a memo's template, does not reach Rasa: the
whole memo follows free-form (:meth:`urp.broadcasts.delivery.BroadcastDelivery.memo_on_request`).

Credentials come from the environment only (``WHATSAPP_ACCESS_TOKEN``,
``WHATSAPP_PHONE_NUMBER_ID``, ``WHATSAPP_APP_SECRET``, ``WHATSAPP_VERIFY_TOKEN``,
optionally ``WHATSAPP_API_URL`` and ``WHATSAPP_API_VERSION``); without them the webhook
answers 503 and `make run` works as before.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.background import Deliver, WebhookInput
from channels.gate import admit
from channels.services import broadcast_service, consent_log
from urp.core.settings import MessageTemplate, current_settings
from urp.handoff.chat import MEDIA_KEY
from urp.information.memo import is_memo_request
from urp.subscription.consents import META_MARKETING_CATEGORY
from urp.whatsapp.graph import (
    GraphApiError,
    GraphClient,
    GraphSettings,
    buttons_messages,
    document_message,
    image_message,
    template_message,
    text_messages,
)
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import (
    SIGNATURE_HEADER,
    InboundMessage,
    PreferenceUpdate,
    StatusUpdate,
    WebhookError,
    parse_delivery,
    signature_is_valid,
)

logger = logging.getLogger(__name__)

# Meta's deliveries are a few kilobytes; anything far bigger is not from Meta.
MAX_BODY = 1024 * 1024
REPLY_TEMPLATE = "reply"


class OutsideWindowError(RuntimeError):
    """The citizen last wrote more than 24 hours ago and no template is configured."""


class WhatsAppOutput(OutputChannel):
    """Everything the assistant and the office send on WhatsApp goes through here."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def __init__(
        self,
        client: GraphClient,
        store: WhatsAppStore,
        templates: Mapping[str, MessageTemplate],
    ) -> None:
        self._client = client
        self._store = store
        self._templates = templates

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, text_messages(recipient_id, text), text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, buttons_messages(recipient_id, text, buttons), text)

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, [image_message(recipient_id, image)], None)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        url = attachment.get("url") if isinstance(attachment, dict) else str(attachment)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            name = attachment.get("filename") if isinstance(attachment, dict) else None
            await self._send(recipient_id, [document_message(recipient_id, url, name)], None)
        else:
            await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """A Graph API message as the domain or the office wrote it (a template...)."""
        message = {"messaging_product": "whatsapp", "to": recipient_id, **json_message}
        await self._send(recipient_id, [message], None, already_shaped=True)

    async def _send(
        self,
        recipient_id: str,
        messages: list[dict[str, Any]],
        text: str | None,
        *,
        already_shaped: bool = False,
    ) -> None:
        templated = already_shaped and messages[0].get("type") == "template"
        if not templated and not await asyncio.to_thread(self._store.in_window, recipient_id):
            template = self._templates.get(REPLY_TEMPLATE)
            if template is None or text is None:
                raise OutsideWindowError(
                    "il cittadino ha scritto più di 24 ore fa: serve un modello approvato"
                )
            messages = [template_message(recipient_id, template.name, template.language, text)]
        for message in messages:
            wamid = await self._client.send(message)
            await asyncio.to_thread(self._store.sent, wamid, recipient_id, message["type"])


class WhatsAppInput(WebhookInput):
    settings_class = GraphSettings
    client_class = GraphClient

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def get_output_channel(self) -> OutputChannel | None:
        if self.client is None:
            return None
        return WhatsAppOutput(self.client, self.store, current_settings().whatsapp_templates)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = self.webhook_blueprint(on_new_message)

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            # Meta's subscription check: echo the challenge only to the right token.
            token = request.args.get("hub.verify_token") or ""
            if (
                self.settings is not None
                and request.args.get("hub.mode") == "subscribe"
                and hmac.compare_digest(token.encode(), self.settings.verify_token.encode())
            ):
                return response.text(request.args.get("hub.challenge") or "")
            return response.text("verifica non riuscita", status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.settings is None:
                return response.text("WhatsApp non è configurato", status=503)
            body = request.body or b""
            if len(body) > MAX_BODY:
                return response.text("richiesta troppo grande", status=413)
            signature = request.headers.get(SIGNATURE_HEADER)
            if not signature_is_valid(body, signature, self.settings.app_secret):
                logger.warning("Notifica WhatsApp con firma mancante o errata: scartata")
                return response.text("firma non valida", status=401)
            try:
                assert self.client is not None
                delivery = parse_delivery(body, self.client.media_url)
            except WebhookError as error:
                return response.text(f"notifica non valida: {error}", status=400)
            refused = await self.accept(delivery.messages)
            if refused is not None:
                return refused
            if delivery.statuses:
                try:
                    await asyncio.to_thread(self._record_statuses, delivery.statuses)
                except Exception:
                    logger.exception("Stati WhatsApp non registrati: rifiutati, Meta li rimanda")
                    return response.text("servizio momentaneamente non disponibile", status=503)
            if delivery.preferences:
                try:
                    await asyncio.to_thread(self._record_preferences, delivery.preferences)
                except Exception:
                    logger.exception("Preferenze WhatsApp non registrate: Meta le rimanda")
                    return response.text("servizio momentaneamente non disponibile", status=503)
            return response.text("ok")

        return webhook

    def _record_statuses(self, statuses: tuple[StatusUpdate, ...]) -> None:
        # Recorded before the 200 too; a repeat changes nothing (a status never goes back).
        for status in statuses:
            self.store.status(status)
            broadcast_service().record_status(status)

    def _record_preferences(self, preferences: tuple[PreferenceUpdate, ...]) -> None:
        # A citizen stopped (or resumed) marketing messages in WhatsApp's menu: broadcasts
        # must not send them marketing templates. A repeat is recognised and skipped.
        for preference in preferences:
            if preference.category == META_MARKETING_CATEGORY:
                consent_log().record_marketing(
                    self.name(),
                    preference.user,
                    stopped=preference.stopped,
                    at=preference.at,
                    detail=preference.detail,
                )

    async def handle(self, message: InboundMessage, deliver: Deliver) -> None:
        await asyncio.to_thread(self.store.wrote, message.sender, message.sent_at)
        assert self.client is not None
        try:
            await self.client.mark_read(message.message_id)
        except GraphApiError as error:
            logger.warning("Conferma di lettura non inviata: %s", error)
        if message.text is None:
            return  # a reaction: nothing to answer
        if message.kind == "button" and is_memo_request(message.text):
            # «Leggi il memo» on a memo's template: the tap opened the window, the whole
            # memo follows free-form (free). The office's own text, not the assistant's.
            memo = await asyncio.to_thread(
                broadcast_service().memo_on_request, message.sender, message.text
            )
            output = self.get_output_channel()
            if memo and output is not None:
                for part in memo:
                    await output.send_text_message(message.sender, part)
                return
        media_url = self.client.media_url(message.media_id) if message.media_id else None
        await admit(
            deliver,
            message.text,
            self.get_output_channel(),
            message.sender,
            input_channel=self.name(),
            metadata=message_metadata(message, media_url),
        )


def message_metadata(message: InboundMessage, media_url: str | None) -> dict[str, Any]:
    """What Rasa keeps beside the text: the type, and where a photo or an audio is."""
    metadata: dict[str, Any] = {"whatsapp_message_type": message.kind}
    if media_url:
        metadata[MEDIA_KEY] = {"type": message.kind, "url": media_url}
    return metadata
