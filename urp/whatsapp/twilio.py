"""WhatsApp through Twilio: the signed webhook form, and sending with Twilio's REST API.

Twilio signs each webhook with ``X-Twilio-Signature``: the base64 HMAC-SHA1, keyed by the
auth token, of the URL Twilio called followed by the POST fields sorted by name
(:class:`twilio.request_validator.RequestValidator`). Behind a proxy the URL the server
sees is not the one Twilio signed: ``TWILIO_WEBHOOK_URL`` says which one it is.

Incoming messages become what Rasa understands exactly as with the Cloud API
(:mod:`urp.whatsapp.webhook`): words, a position or a photo for the report form, a polite
notice for audio and video.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from twilio.request_validator import RequestValidator

from urp.whatsapp.sending import ATTEMPTS, BACKOFF, post_with_retries
from urp.whatsapp.webhook import (
    REPORT_INTENT,
    UNSUPPORTED_INTENT,
    InboundMessage,
    intent_payload,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
API_URL = "https://api.twilio.com"
# Twilio's limit for the body of a WhatsApp message.
MESSAGE_LIMIT = 1600
TIMEOUT = 15.0


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    whatsapp_number: str  # "whatsapp:+390710000000"
    webhook_url: str | None = None  # the public URL registered on Twilio
    api_url: str = API_URL

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> TwilioSettings | None:
        sid = environ.get("TWILIO_ACCOUNT_SID", "").strip()
        token = environ.get("TWILIO_AUTH_TOKEN", "").strip()
        number = environ.get("TWILIO_WHATSAPP_NUMBER", "").strip()
        if not (sid and token and number):
            return None
        return cls(
            sid,
            token,
            number if number.startswith("whatsapp:") else f"whatsapp:{number}",
            environ.get("TWILIO_WEBHOOK_URL", "").strip() or None,
            environ.get("TWILIO_API_URL", "").strip() or API_URL,
        )


def signature_is_valid(
    settings: TwilioSettings, url: str, form: Mapping[str, str], signature: str | None
) -> bool:
    if not signature:
        return False
    try:
        return RequestValidator(settings.auth_token).validate(
            settings.webhook_url or url, dict(form), signature
        )
    except ValueError:  # a Host header with a port that is no port: not what Twilio signed
        return False


def sign(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """The signature Twilio sends with ``form`` (tests)."""
    return RequestValidator(auth_token).compute_signature(url, dict(form))


def parse_form(form: Mapping[str, str]) -> InboundMessage | None:
    """The message of a webhook form; None for what is not a message (a status callback)."""
    sender, sid = form.get("From", ""), form.get("MessageSid") or form.get("SmsMessageSid", "")
    if not sender or not sid:
        return None
    common = {
        "message_id": sid,
        "sender": sender,
        "phone_number_id": form.get("To", ""),
        "sent_at": datetime.now(UTC),
    }
    if form.get("Latitude") and form.get("Longitude"):
        try:
            latitude, longitude = float(form["Latitude"]), float(form["Longitude"])
        except ValueError:
            return InboundMessage(
                **common, kind="location", text=intent_payload(UNSUPPORTED_INTENT)
            )
        text = intent_payload(REPORT_INTENT, latitude=latitude, longitude=longitude)
        return InboundMessage(**common, kind="location", text=text)
    body = (form.get("Body") or "").strip()
    payload = form.get("ButtonPayload")
    media = form.get("MediaUrl0")
    media_type = form.get("MediaContentType0", "")
    if media:
        kind = media_type.split("/", 1)[0] or "document"
        if kind == "image":
            text = body or intent_payload(REPORT_INTENT, photo_url=media)
            return InboundMessage(
                **common, kind="image", text=text, media_id=media, caption=body or None
            )
        return InboundMessage(
            **common, kind=kind, text=intent_payload(UNSUPPORTED_INTENT), media_id=media
        )
    return InboundMessage(**common, kind="text", text=payload or body)


class TwilioClient:
    """Sends WhatsApp messages from the municipality's Twilio number."""

    def __init__(
        self, settings: TwilioSettings, *, attempts: int = ATTEMPTS, backoff: float = BACKOFF
    ) -> None:
        self.settings = settings
        self._attempts = attempts
        self._backoff = backoff
        self._session: aiohttp.ClientSession | None = None

    async def send(self, to: str, body: str | None = None, media_url: str | None = None) -> str:
        """Send a message; Twilio's message sid."""
        form: dict[str, Any] = {"From": self.settings.whatsapp_number, "To": to}
        if body:
            form["Body"] = body
        if media_url:
            form["MediaUrl"] = media_url
        s = self.settings
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        answer = await post_with_retries(
            self._session,
            f"{s.api_url.rstrip('/')}/2010-04-01/Accounts/{s.account_sid}/Messages.json",
            attempts=self._attempts,
            backoff=self._backoff,
            data=form,
            auth=aiohttp.BasicAuth(s.account_sid, s.auth_token),
        )
        return str(answer.get("sid") or "")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
