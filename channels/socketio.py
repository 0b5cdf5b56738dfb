"""The web chat's channel: Rasa's socket.io channel, mended and made safe.

- Rasa 3.6 calls ``sio.enter_room`` without awaiting it; with python-socketio 5 that is a
  coroutine, so with ``session_persistence`` the browser never joined its conversation's
  room and never received a reply. Here it is awaited.
- The session id the browser sends names the conversation. Rasa takes any string; here
  only ids this channel hands out (32 hex digits) are accepted, and the conversation is
  ``socketio:<session id>`` (channels/gate.py), so a page can never write into another
  channel's conversation (a WhatsApp one is keyed by a phone number). The browser's room
  stays the bare session id: the output takes the prefix off (:class:`WebOutput`).
- Metadata from the browser is ignored; a message is at most ``MAX_MESSAGE`` characters,
  and counts against the connection's address as well as the session (the address of
  the socket.io handshake, ``X-Forwarded-For`` only from a trusted proxy).

Nothing is lost when the citizen is away (issue 26, :mod:`urp.widget.outbox`): every
message to the browser (the bot's, an operator's) is stored in the project's database
before it is emitted, with its id; the widget acknowledges each (``urp_ack``) and, at every
(re)connection, says the last it has (``session_request`` with ``last``): the rest is
replayed to that socket, in order. Each message says who wrote it (the ``urp`` tag,
:mod:`urp.widget.authors`), and an operator's reply stays one bubble (Rasa's output cuts a
text at blank lines, fine for the bot's responses, not for a person's message).
``POST /webhooks/socketio/typing`` (the console's JWT) shows the operator typing
(:mod:`urp.widget.typing`). If the database fails, the message still goes out, without
an id: the citizen connected gets it, as before.

- With ``URP_SOCKETIO_REDIS_URL`` (or else ``URP_REDIS_URL``) the replicas of the production
  profile share their sockets through python-socketio's ``AsyncRedisManager``: a reply
  emitted by any replica (an operator's, through the HTTP API of whichever replica the
  balancer picked) reaches the browser connected to another. ``URP_SOCKETIO_CHANNEL`` names
  the Redis pub/sub channel (default ``urp-socketio``), so two deployments can share a Redis.

``name()`` stays ``socketio``: replies with ``output_channel=latest`` (the operators')
find this channel as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import jwt
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer
from sqlalchemy.exc import SQLAlchemyError

from channels.gate import admit, caller_id, conversation_id, proxies, request_client
from channels.services import database
from urp.core.db import Database, DatabaseError
from urp.core.settings import current_settings
from urp.widget.authors import author_tag, holder_first_name, needs_operator_name
from urp.widget.authors import operator_message_id as reply_id
from urp.widget.outbox import TAG_KEY, WebOutbox
from urp.widget.typing import MAX_BODY, TYPING_EVENT, TYPING_ROUTE

logger = logging.getLogger(__name__)

NAME = SocketIOInput.name()
SESSION_ID = re.compile(r"[0-9a-f]{32}")
MAX_MESSAGE = 5000
MAX_ID = 2**53  # what a browser's number holds exactly
DEFAULT_REDIS_CHANNEL = "urp-socketio"
ACK_EVENT = "urp_ack"
PURGE_EVERY = 600.0  # seconds between two purges of delivered and expired messages
MAX_OPERATOR_NAME = 40


def redis_manager(environ: Mapping[str, str] = os.environ) -> AsyncRedisManager | None:
    """The Redis manager the replicas share, if the environment names a Redis."""
    url = environ.get("URP_SOCKETIO_REDIS_URL") or environ.get("URP_REDIS_URL")
    if not url:
        return None
    channel = environ.get("URP_SOCKETIO_CHANNEL") or DEFAULT_REDIS_CHANNEL
    return AsyncRedisManager(url, channel=channel)


def share_through_redis(sio: AsyncServer, manager: AsyncRedisManager) -> None:
    """Give a server that has no client yet a Redis manager instead of its local one.

    Rasa builds the ``AsyncServer`` itself, so the manager cannot be passed to the
    constructor; the server starts its manager (the Redis listener) at the first connection.
    """
    manager.set_server(sio)
    sio.manager = manager


def session_id(data: Any) -> str | None:
    """The conversation a browser asks for, if it is one this channel could have issued."""
    value = data.get("session_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and SESSION_ID.fullmatch(value) else None


def message_id(value: Any) -> int | None:
    """A message id as a browser sends it back (0: none yet), or None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_ID else None


class Deliveries:
    """The web chat's outbox as the channel uses it: off the event loop, and never the
    reason a reply is not sent (a failing database means a message without an id)."""

    def __init__(self, store: Callable[[], Database] = database) -> None:
        self._store = store
        self._outbox: WebOutbox | None = None
        self._purged_at: float | None = None

    def use(self, store: Database) -> None:
        """Keep the messages in ``store`` (tests; by default the project's database)."""
        self._store = lambda: store
        self._outbox = None

    @property
    def outbox(self) -> WebOutbox:
        if self._outbox is None:
            self._outbox = WebOutbox(self._store())
        return self._outbox

    async def keep(
        self, conversation: str, payload: dict[str, Any], metadata: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``payload`` tagged with its author and, once stored, its id: what to emit."""
        tagged = {**payload, TAG_KEY: author_tag(metadata)}
        try:
            if needs_operator_name(metadata):
                holder = await asyncio.to_thread(
                    holder_first_name, self.outbox.database, conversation
                )
                tagged[TAG_KEY] = author_tag(metadata, holder)
            kept = await asyncio.to_thread(
                self.outbox.store, conversation, tagged, handoff_message_id=reply_id(metadata)
            )
        except (DatabaseError, SQLAlchemyError) as error:
            logger.warning("web chat: message sent without being kept (%s)", type(error).__name__)
            return tagged
        await self._purge_now_and_then()
        return kept.wire()

    async def since(self, conversation: str, last: int) -> list[dict[str, Any]]:
        """What the browser has not had: the conversation's messages after ``last``."""
        try:
            await asyncio.to_thread(self.outbox.acknowledge, conversation, last)
            messages = await asyncio.to_thread(self.outbox.after, conversation, last)
        except (DatabaseError, SQLAlchemyError) as error:
            logger.warning("web chat: nothing replayed (%s)", type(error).__name__)
            return []
        return [message.wire() for message in messages]

    async def acknowledge(self, conversation: str, up_to: int) -> None:
        try:
            await asyncio.to_thread(self.outbox.acknowledge, conversation, up_to)
        except (DatabaseError, SQLAlchemyError) as error:
            logger.warning("web chat: acknowledgement lost (%s)", type(error).__name__)

    async def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        try:
            retention = current_settings().retention
            await asyncio.to_thread(self.outbox.purge, retention)
        except (DatabaseError, SQLAlchemyError) as error:
            logger.warning("web chat: purge failed (%s)", type(error).__name__)


class WebOutput(SocketIOOutput):
    """Rasa's socket.io output, through the outbox, to the browser's room (its session)."""

    def __init__(
        self, sio: AsyncServer, bot_message_evt: str, deliveries: Deliveries | None = None
    ) -> None:
        super().__init__(sio, bot_message_evt)
        self.deliveries = deliveries or Deliveries()

    async def _post(
        self, recipient_id: str, payload: dict[str, Any], metadata: Mapping[str, Any]
    ) -> None:
        room = caller_id(NAME, recipient_id)
        message = await self.deliveries.keep(conversation_id(NAME, room), payload, metadata)
        await self.sio.emit(self.bot_message_evt, message, room=room)

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await self._post(socket_id, dict(response), {})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        if reply_id(kwargs) is not None:
            parts = [text.strip()]  # a person's message is one message
        else:
            parts = [part for part in text.strip().split("\n\n") if part.strip()] or [text]
        for part in parts:
            await self._post(recipient_id, {"text": part}, kwargs)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        parts = [part for part in text.strip().split("\n\n") if part.strip()] or [text]
        messages: list[dict[str, Any]] = [{"text": part, "quick_replies": []} for part in parts]
        messages[-1]["quick_replies"] = [
            {"content_type": "text", "title": button["title"], "payload": button["payload"]}
            for button in buttons
        ]
        for message in messages:
            await self._post(recipient_id, message, kwargs)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        payload = {"attachment": {"type": "image", "payload": {"src": image}}}
        await self._post(recipient_id, payload, kwargs)

    async def send_attachment(  # type: ignore[override]
        self, recipient_id: str, attachment: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._post(recipient_id, {"attachment": attachment}, kwargs)

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        for element in elements:
            payload = {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "generic", "elements": element},
                }
            }
            await self._post(recipient_id, payload, kwargs)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # Rasa's spreads the JSON into emit()'s arguments; here it is a message like the rest.
        await self._post(recipient_id, {"custom": json_message}, kwargs)


def _typing_secret() -> tuple[str, str] | None:
    secret = os.environ.get("RASA_JWT_SECRET")
    return (secret, os.environ.get("RASA_JWT_METHOD", "HS256")) if secret else None


def console_authorized(request: Request) -> bool:
    """A JWT signed with ``RASA_JWT_SECRET`` for Rasa's admin role, as the console sends."""
    secret = _typing_secret()
    header = request.headers.get("Authorization") or ""
    if secret is None or not header.startswith("Bearer "):
        return False
    try:
        claims = jwt.decode(header.removeprefix("Bearer "), secret[0], algorithms=[secret[1]])
    except jwt.PyJWTError:
        return False
    user = claims.get("user") if isinstance(claims, dict) else None
    return isinstance(user, dict) and user.get("role") == "admin"


def typing_signal(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """The room and the ``urp_typing`` data of a typing signal, or None if it is not one."""
    if len(body) > MAX_BODY:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("typing", True), bool):
        return None
    conversation = data.get("conversation_id")
    prefix = conversation_id(NAME, "")
    if not isinstance(conversation, str) or not conversation.startswith(prefix):
        return None
    session = caller_id(NAME, conversation)
    if not SESSION_ID.fullmatch(session):
        return None
    name = data.get("name")
    name = name.strip() if isinstance(name, str) else ""
    signal = {
        "name": name if len(name) <= MAX_OPERATOR_NAME else "",
        "typing": data.get("typing", True),
    }
    return session, signal


class SocketIOChannel(SocketIOInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deliveries = Deliveries()

    def get_output_channel(self) -> WebOutput | None:
        # Also what Rasa's HTTP API uses for output_channel=latest (an operator's reply).
        if self.sio is None:
            return None
        return WebOutput(self.sio, self.bot_message_evt, self.deliveries)

    def client(self, sid: str) -> str | None:
        """The address of the browser's connection (None: this machine, or unknown)."""
        assert self.sio is not None
        try:
            environ = self.sio.get_environ(sid, namespace=self.namespace) or {}
        except Exception:  # the socket closed meanwhile
            return None
        request = environ.get("sanic.request")
        if request is None:
            return request_client(None)
        return request_client(request.ip, request.headers)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> SocketBlueprint:
        proxies()  # a wrong URP_TRUSTED_PROXIES stops the server at start
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None
        if (manager := redis_manager()) is not None:
            share_through_redis(sio, manager)
        deliveries = self.deliveries

        # Registering the same events again replaces Rasa's handlers.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            asked = session_id(data)
            conversation = asked or uuid.uuid4().hex
            if self.session_persistence:
                # In the room first: what is sent from now on comes live, what was sent
                # before is replayed (a message in between may come both ways: the widget
                # shows an id once).
                await sio.enter_room(sid, conversation, namespace=self.namespace)
            last = message_id(data.get("last")) if isinstance(data, dict) else None
            if asked is not None and last is not None and self.session_persistence:
                async with sio.session(sid, namespace=self.namespace) as state:
                    state["acked"] = last
                for message in await deliveries.since(conversation_id(NAME, asked), last):
                    await sio.emit(
                        self.bot_message_evt, message, room=sid, namespace=self.namespace
                    )
            await sio.emit("session_confirm", conversation, room=sid, namespace=self.namespace)

        @sio.on(ACK_EVENT, namespace=self.namespace)
        async def acknowledge(sid: str, data: Any) -> None:
            asked = session_id(data)
            up_to = message_id(data.get("id")) if isinstance(data, dict) else None
            if asked is None or not up_to or asked not in sio.rooms(sid, namespace=self.namespace):
                return  # only for the conversation this socket joined
            async with sio.session(sid, namespace=self.namespace) as state:
                if up_to <= state.get("acked", 0):
                    return  # said already: no write
                state["acked"] = up_to
            await deliveries.acknowledge(conversation_id(NAME, asked), up_to)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return
            sender = session_id(data) if self.session_persistence else sid
            if sender is None:
                logger.info("Messaggio dalla chat web senza una sessione valida: ignorato")
                return
            text = data.get("message")
            await admit(
                on_new_message,
                text[:MAX_MESSAGE] if isinstance(text, str) else "",
                self.get_output_channel(),
                sender,
                input_channel=self.name(),
                client=self.client(sid),
            )

        @blueprint.route(TYPING_ROUTE, methods=["POST"])
        async def typing(request: Request) -> HTTPResponse:
            if not console_authorized(request):
                return response.json({"status": "failure", "reason": "NotAuthenticated"}, 401)
            signal = typing_signal(request.body or b"")
            if signal is None:
                return response.json({"status": "failure", "reason": "BadRequest"}, 400)
            room, data = signal
            await sio.emit(TYPING_EVENT, data, room=room, namespace=self.namespace)
            return response.json({"status": "ok"})

        return blueprint
