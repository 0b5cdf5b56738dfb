"""What Meta's WhatsApp Cloud API delivers to the webhook, read strictly.

A delivery is JSON signed with the app secret (``X-Hub-Signature-256: sha256=<hex>``, an
HMAC-SHA256 of the raw body). It carries ``entry[].changes[].value`` objects with
``messages`` (what citizens sent) and ``statuses`` (what became of our messages). Each
inbound message becomes the text Rasa understands:

- text: the words; a reply button or list row: the payload id we gave it (``/affirm``);
- a position: ``/report_problem{"latitude": ..., "longitude": ...}``, a photo without
  caption: ``/report_problem{"photo_url": ...}``: both feed the report form (and reach
  the operator, with a handoff open); a photo with a caption: the caption, the photo in
  the metadata;
- audio, video, documents, stickers, contacts and unknown types: the channel event
  ``/EXTERNAL_unsupported_message`` (the bot says it reads text, photos and positions);
- reactions: nothing (an emoji on a message is not a question).

The ``user_preferences`` field (a citizen stopped or resumed marketing messages from
WhatsApp's own menu) becomes :class:`PreferenceUpdate`: the consent log records it and
broadcasts skip marketing templates to whoever stopped them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature-256"
UNSUPPORTED_INTENT = "EXTERNAL_unsupported_message"
REPORT_INTENT = "report_problem"
# Types that carry nothing the bot can read: the citizen gets a polite notice.
UNSUPPORTED_TYPES = ("audio", "video", "document", "sticker", "contacts", "unsupported")
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


class WebhookError(ValueError):
    """The body is not a WhatsApp webhook delivery: answered with 400."""


@dataclass(frozen=True)
class InboundMessage:
    message_id: str  # "wamid...": Meta may deliver it more than once
    # The citizen's WhatsApp id (their phone number): never in a log line.
    sender: str = field(repr=False)
    phone_number_id: str  # our business number that received it
    sent_at: datetime
    kind: str  # Meta's type: text, image, location, interactive, ...
    text: str | None  # what Rasa receives; None: nothing to answer (a reaction)
    media_id: str | None = None  # a photo, audio, ... to fetch from the Graph API
    caption: str | None = None

    @property
    def is_unsupported(self) -> bool:
        return self.text == f"/{UNSUPPORTED_INTENT}"


@dataclass(frozen=True)
class StatusUpdate:
    message_id: str  # the "wamid" the Graph API gave when we sent it
    recipient: str = field(repr=False)
    status: str  # sent, delivered, read, failed
    at: datetime
    error_code: int | None = None
    error_title: str | None = None
    # Meta echoes the biz_opaque_callback_data we sent with the message (broadcasts' keys).
    callback_data: str | None = None


@dataclass(frozen=True)
class PreferenceUpdate:
    """A citizen stopped (or resumed) a category of messages in WhatsApp's own menu."""

    user: str = field(repr=False)  # the citizen's WhatsApp id (number): never in a log
    category: str  # "marketing_messages", the only one Meta reports today
    stopped: bool  # Meta's value "stop"; False for "resume"
    at: datetime
    detail: str | None = None  # Meta's words, e.g. "User requested to stop marketing messages"


@dataclass(frozen=True)
class Delivery:
    messages: tuple[InboundMessage, ...]
    statuses: tuple[StatusUpdate, ...]
    preferences: tuple[PreferenceUpdate, ...] = ()


def signature_is_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` is ``sha256=`` and the HMAC of ``body``, compared in constant time."""
    if not header or not header.startswith("sha256=") or not app_secret:
        return False
    given = header.removeprefix("sha256=").strip().lower()
    if not given.isascii():
        return False  # compare_digest refuses non-ASCII text: no hex digest anyway
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta sends with ``body`` (for tests and the simulator)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def parse_delivery(body: bytes, media_url: Any = None) -> Delivery:
    """Read a delivery; :class:`WebhookError` if it is not one.

    ``media_url(media_id)`` gives the web address a photo is kept at (the Graph API's
    media endpoint); without it photos keep only their id.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WebhookError("il corpo non è JSON valido") from error
    except RecursionError as error:  # thousands of nested brackets: no delivery is so deep
        raise WebhookError("il corpo è annidato troppo in profondità") from error
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise WebhookError("non è una notifica WhatsApp Business")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise WebhookError("manca l'elenco 'entry'")
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    for value in _values(entries):
        number = _dig(value, "metadata", "phone_number_id")
        for raw in _list(value, "messages"):
            message = _message(raw, str(number or ""), media_url)
            if message is not None:
                messages.append(message)
        for raw in _list(value, "statuses"):
            status = _status(raw)
            if status is not None:
                statuses.append(status)
    return Delivery(tuple(messages), tuple(statuses), tuple(_preferences(entries)))


def _preferences(entries: list[Any]) -> Iterator[PreferenceUpdate]:
    """The ``user_preferences`` changes (already checked in shape by :func:`_values`)."""
    for entry in entries:
        for change in entry["changes"]:
            if change.get("field") != "user_preferences":
                continue
            for raw in _list(change["value"], "user_preferences"):
                user, value = raw.get("wa_id"), raw.get("value")
                if not isinstance(user, str) or not user or value not in ("stop", "resume"):
                    continue  # a value newer than this code: nothing to honour yet
                detail = raw.get("detail")
                yield PreferenceUpdate(
                    user=user,
                    category=str(raw.get("category") or ""),
                    stopped=value == "stop",
                    at=_time(raw),
                    detail=detail if isinstance(detail, str) and detail else None,
                )


def _values(entries: list[Any]) -> Iterator[Mapping[str, Any]]:
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            raise WebhookError("una voce di 'entry' non ha 'changes'")
        for change in entry["changes"]:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                raise WebhookError("una modifica non ha 'value'")
            if change.get("field", "messages") == "messages":
                yield change["value"]


def _list(value: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    items = value.get(key) or []
    if not isinstance(items, list):
        raise WebhookError(f"'{key}' non è un elenco")
    return [item for item in items if isinstance(item, dict)]


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _time(raw: Mapping[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw.get("timestamp")), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def intent_payload(intent: str, **entities: Any) -> str:
    """Rasa's ``/intent{...}`` notation: the intent and its entities without the NLU."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def _message(raw: Mapping[str, Any], phone_number_id: str, media_url: Any) -> InboundMessage | None:
    message_id, sender, kind = raw.get("id"), raw.get("from"), raw.get("type")
    if not all(isinstance(v, str) and v for v in (message_id, sender, kind)):
        return None  # nothing to answer nor to deduplicate: skipped, never a 500
    common = {
        "message_id": message_id,
        "sender": sender,
        "phone_number_id": phone_number_id,
        "sent_at": _time(raw),
        "kind": kind,
    }
    if kind == "text":
        body = _dig(raw, "text", "body")
        return InboundMessage(**common, text=body if isinstance(body, str) else "")
    if kind == "interactive":
        reply = _dig(raw, "interactive", "button_reply") or _dig(raw, "interactive", "list_reply")
        chosen = _dig(reply, "id") or _dig(reply, "title")
        return InboundMessage(**common, text=str(chosen) if chosen else "")
    if kind == "button":  # a quick reply of a template
        chosen = _dig(raw, "button", "payload") or _dig(raw, "button", "text")
        return InboundMessage(**common, text=str(chosen) if chosen else "")
    if kind == "location":
        try:
            latitude = float(_dig(raw, "location", "latitude"))
            longitude = float(_dig(raw, "location", "longitude"))
        except (TypeError, ValueError):
            return InboundMessage(**common, text=intent_payload(UNSUPPORTED_INTENT))
        text = intent_payload(REPORT_INTENT, latitude=latitude, longitude=longitude)
        return InboundMessage(**common, text=text)
    if kind == "reaction":
        return InboundMessage(**common, text=None)
    media_id = _dig(raw, kind, "id") if kind in MEDIA_TYPES else None
    media_id = media_id if isinstance(media_id, str) and media_id else None
    caption = _dig(raw, kind, "caption") if kind in MEDIA_TYPES else None
    caption = caption.strip() if isinstance(caption, str) and caption.strip() else None
    if kind == "image" and media_id:
        if caption:
            return InboundMessage(**common, text=caption, media_id=media_id, caption=caption)
        url = media_url(media_id) if media_url else None
        text = (
            intent_payload(REPORT_INTENT, photo_url=url) if url else intent_payload(REPORT_INTENT)
        )
        return InboundMessage(**common, text=text, media_id=media_id)
    # Audio, video, documents, stickers, contacts, and types newer than this code.
    return InboundMessage(**common, text=intent_payload(UNSUPPORTED_INTENT), media_id=media_id)


def _status(raw: Mapping[str, Any]) -> StatusUpdate | None:
    message_id, status = raw.get("id"), raw.get("status")
    if not isinstance(message_id, str) or not isinstance(status, str):
        return None
    errors = raw.get("errors") if isinstance(raw.get("errors"), list) else []
    error = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = error.get("code")
    return StatusUpdate(
        message_id=message_id,
        recipient=str(raw.get("recipient_id") or ""),
        status=status,
        at=_time(raw),
        error_code=code if isinstance(code, int) else None,
        error_title=str(error.get("title") or error.get("message") or "") or None,
        callback_data=str(raw.get("biz_opaque_callback_data") or "") or None,
    )
