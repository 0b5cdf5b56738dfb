"""Every channel's door to Rasa: the text cleaned (urp.inbound.cleaning), the sender rate-limited
(urp.inbound.ratelimit). A refused message never reaches Rasa; the first of a flood is answered
with ``utter_rate_limited`` from domain.yml, through the channel it came from.

What a channel may do depends on who vouches for the sender:

- WhatsApp and Twilio (:data:`SIGNED_CHANNELS`): Meta or Twilio sign each delivery, and the
  sender is the citizen's number. The conversation id is the number, the connector's
  metadata is kept, and so are the payloads the connector composes for a position or a
  photo (``/report_problem{...}``).
- Every other channel (REST, callback, the web chat): the caller picks the sender. The
  conversation id is ``<channel>:<sender>`` (:func:`conversation_id`), which no phone
  number can be, so no caller reaches a WhatsApp citizen's conversation (nor another
  channel's); the caller's metadata is dropped (``is_external``, ``urp_media``...
  would hide messages from the operator or show what the channel never received); each
  message also counts against the client's address (``client=``, :func:`request_client`).

From every channel, a text starting with ``/`` reaches Rasa as an intent only if it is a
bare intent of the domain (``/affirm``, as the words would give) or one of the bot's own
buttons (``/subscribe{"topic": "bandi"}``, and the FAQ's ``/choose_faq{"faq_id": "<id>"}``,
never bare); never an ``EXTERNAL_`` intent, which only the console and the Rasa HTTP API may
trigger. Any other is read as words.

A citizen's answer to «Com'è andata con l'operatore?» after a chat with the office (a bare
1-5, a tap on one of its buttons, then maybe a comment) is recorded against the chat and
answered here (:class:`urp.handoff.ratings.RatingService`): it never reaches the NLU. Only
the answer the rating awaits is taken; every other message passes as usual, and so does
every message if the store cannot be read. A conversation just found without a pending
rating is not looked up again for a few seconds (:class:`urp.handoff.ratings.NoPendingCache`),
except for a message that may be the stars a new question awaits.

On the way out, the AI disclosure that ``action_session_start`` sends at the start of every
conversation (``utter_ai_disclosure``) is put on top of the first reply, as its first line
(:class:`DisclosingOutput`), with a single line break (Rasa's collecting channel cuts a
text at blank lines): one message, whatever the channel, and alone only when the
reply has no text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from sqlalchemy.exc import SQLAlchemyError

from channels.services import database
from urp.core.errors import OperatorError
from urp.core.settings import current_settings
from urp.handoff.ratings import NoPendingCache, RatingReply, RatingService
from urp.inbound.cleaning import (
    CHOICE_INTENT,
    EXTERNAL_PREFIX,
    SHORTCUT_PREFIX,
    Shortcuts,
    clean,
)
from urp.inbound.ratelimit import (
    NOTICE_RESPONSE,
    RateLimiter,
    Verdict,
    client_address,
    trusted_proxies,
)

logger = logging.getLogger(__name__)

DOMAIN = Path(__file__).resolve().parents[1] / "domain.yml"
# The channels whose sender is vouched for by a signature: the citizen's phone number.
SIGNED_CHANNELS = frozenset({"whatsapp", "twilio"})
NAMESPACE_SEPARATOR = ":"
# A template placeholder left in a button payload: the payload changes, not allow-listed.
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Sent by action_session_start at the start of each conversation (actions/session.py).
DISCLOSURE_RESPONSE = "utter_ai_disclosure"
_limiter: RateLimiter | None = None
_ratings: RatingService | None = None


@lru_cache(maxsize=1)
def _domain() -> dict[str, Any]:
    return yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))


def notice_text() -> str:
    return str(_domain()["responses"][NOTICE_RESPONSE][0]["text"])


def _rendered_payload(template: str) -> str | None:
    """A button's payload as Rasa sends it ("{{" is "{"); None if a slot fills it in."""
    escaped = template.replace("{{", "\0").replace("}}", "\1")
    if _PLACEHOLDER.search(escaped) or "{" in escaped or "}" in escaped:
        return None
    return escaped.replace("\0", "{").replace("\1", "}")


@lru_cache(maxsize=2)
def shortcuts(signed: bool) -> Shortcuts:
    """The ``/intent`` texts a channel may send: bare intents of the domain, the buttons.

    ``/choose_faq`` is a button only: without an entry's id it means nothing.
    """
    domain = _domain()
    intents = {str(i if isinstance(i, str) else next(iter(i))) for i in domain["intents"]}
    intents.add(DEFAULT_NLU_FALLBACK_INTENT_NAME)
    payloads = set()
    for variations in domain.get("responses", {}).values():
        for variation in variations:
            for button in variation.get("buttons") or ():
                payload = _rendered_payload(str(button.get("payload") or ""))
                if payload and payload.startswith(SHORTCUT_PREFIX):
                    payloads.add(payload)
    return Shortcuts(
        intents=frozenset(
            i for i in intents if not i.startswith(EXTERNAL_PREFIX) and i != CHOICE_INTENT
        ),
        payloads=frozenset(payloads),
        media=signed,
        choices=CHOICE_INTENT in intents,
    )


class DisclosingOutput(OutputChannel):
    """A channel's output that folds the AI disclosure into the reply that follows it.

    Rasa sends the disclosure as a message of its own (the ``utter_action`` of the bot
    message names it); held here, it becomes the first line of the next message with text,
    so the citizen reads one reply, not a notice and then the answer. Before a reply without
    text (a photo) it goes alone; :meth:`flush` sends it if no reply came. Everything else is the
    wrapped channel's: its name (the responses per channel), a collector's ``messages``...
    """

    def __init__(self, inner: OutputChannel) -> None:
        self._inner = inner
        self._held: str | None = None

    def name(self) -> str:  # type: ignore[override]
        return self._inner.name()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if message.get("utter_action") == DISCLOSURE_RESPONSE and message.get("text"):
            self._held = str(message["text"])
            return
        if self._held is not None and message.get("text"):
            message = {**message, "text": f"{self._held}\n{message['text']}"}
            self._held = None
        await self.flush(recipient_id)  # a reply without text: the disclosure goes first
        await self._inner.send_response(recipient_id, message)

    # Rasa sends through send_response; anything calling the parts directly gets the same.
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {**kwargs, "text": text})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {**kwargs, "text": text, "buttons": buttons})

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        message = {**kwargs, "text": text, "quick_replies": quick_replies}
        await self.send_response(recipient_id, message)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._inner.send_image_url(recipient_id, image, **kwargs)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self._inner.send_attachment(recipient_id, attachment, **kwargs)

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._inner.send_elements(recipient_id, elements, **kwargs)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._inner.send_custom_json(recipient_id, json_message, **kwargs)

    async def flush(self, recipient_id: str) -> None:
        """Send a disclosure no reply took (the conversation still starts with it)."""
        if self._held is not None:
            held, self._held = self._held, None
            await self._inner.send_text_message(recipient_id, held)


def conversation_id(input_channel: str, sender: str) -> str:
    """The conversation a channel's sender writes in: ``<channel>:<sender>`` unless signed."""
    if input_channel in SIGNED_CHANNELS:
        return sender
    return f"{input_channel}{NAMESPACE_SEPARATOR}{sender}"


def caller_id(input_channel: str, conversation: str) -> str:
    """The sender as the caller named it, for a reply (the inverse of conversation_id)."""
    if input_channel in SIGNED_CHANNELS:
        return conversation
    return conversation.removeprefix(f"{input_channel}{NAMESPACE_SEPARATOR}")


@lru_cache(maxsize=1)
def proxies() -> tuple[Any, ...]:
    """``URP_TRUSTED_PROXIES``, read once: the channels ask at start, so a typo stops it."""
    return trusted_proxies()


def request_client(peer: str | None, headers: Mapping[str, Any] | None = None) -> str | None:
    """The client address a request counts against (None: the machine itself).

    ``headers`` is Sanic's (or any mapping with ``getall``/``get``): ``X-Forwarded-For`` is
    believed only from a trusted proxy (``URP_TRUSTED_PROXIES``).
    """
    forwarded: list[str] = []
    if headers is not None:
        getall = getattr(headers, "getall", None)
        if getall is not None:
            forwarded = [str(v) for v in getall("x-forwarded-for", [])]
        elif headers.get("x-forwarded-for"):
            forwarded = [str(headers.get("x-forwarded-for"))]
    return client_address(peer, forwarded, proxies())


def limiter() -> RateLimiter:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter.from_environment(current_settings().rate_limit)
    return _limiter


def use_limiter(value: RateLimiter | None) -> None:
    """Replace the shared limiter (tests; None: built again from the settings)."""
    global _limiter
    _limiter = value


def ratings() -> RatingService:
    global _ratings
    if _ratings is None:
        _ratings = RatingService(database(), no_pending=NoPendingCache())
    return _ratings


def use_ratings(value: RatingService | None) -> None:
    """Replace the ratings' store (tests; None: the channels' database again)."""
    global _ratings
    _ratings = value


async def rating_reply(conversation: str, text: str) -> RatingReply | None:
    """What to answer if ``text`` is the answer a pending rating awaits; else None."""
    try:
        return await asyncio.to_thread(ratings().answer, conversation, text)
    except (OperatorError, SQLAlchemyError) as error:
        # The store is down or not migrated: the message goes to the assistant as usual.
        logger.warning("Valutazione non controllata: %s", type(error).__name__)
        return None


async def admit(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    text: Any,
    output: OutputChannel | None,
    sender: str,
    *,
    input_channel: str,
    metadata: dict[str, Any] | None = None,
    client: str | None = None,
) -> bool:
    """Pass the message to Rasa if the sender (and ``client``) are within the limit.

    ``metadata`` is what the connector itself set: it is kept only for the signed channels.
    ``client`` is the caller's address (:func:`request_client`), for the others. Returns
    whether the message passed.
    """
    signed = input_channel in SIGNED_CHANNELS
    conversation = conversation_id(input_channel, sender)
    verdict = await limiter().check_async(conversation, address=None if signed else client)
    if verdict is Verdict.NOTICE and output is not None:
        await output.send_text_message(conversation, notice_text())
    if verdict is not Verdict.PASS:
        return False
    inbound = clean(text, shortcuts=shortcuts(signed))
    if output is not None and (answered := await rating_reply(conversation, inbound.text)):
        if answered.buttons:
            await output.send_text_with_buttons(
                conversation, answered.text, [dict(b) for b in answered.buttons]
            )
        else:
            await output.send_text_message(conversation, answered.text)
        return True
    if inbound.shortcut_refused:
        logger.info("Intento scritto con «/» dal canale %s: letto come testo", input_channel)
    replies = DisclosingOutput(output) if output is not None else None
    try:
        await on_new_message(
            UserMessage(
                inbound.text,
                replies,
                conversation,
                input_channel=input_channel,
                metadata=inbound.metadata(metadata if signed else None),
            )
        )
    finally:
        if replies is not None:
            await replies.flush(conversation)
    return True
