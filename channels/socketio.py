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

- With ``URP_SOCKETIO_REDIS_URL`` (or else ``URP_REDIS_URL``) the replicas of the production
  profile share their sockets through python-socketio's ``AsyncRedisManager``: a reply
  emitted by any replica (an operator's, through the HTTP API of whichever replica the
  balancer picked) reaches the browser connected to another. ``URP_SOCKETIO_CHANNEL`` names
  the Redis pub/sub channel (default ``urp-socketio``), so two deployments can share a Redis.

``name()`` stays ``socketio``: replies with ``output_channel=latest`` (the operators')
find this channel as before.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from socketio import AsyncRedisManager, AsyncServer

from channels.gate import admit, caller_id, proxies, request_client

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[0-9a-f]{32}")
MAX_MESSAGE = 5000
DEFAULT_REDIS_CHANNEL = "urp-socketio"


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


class WebOutput(SocketIOOutput):
    """Rasa's socket.io output, sending to the browser's room: the conversation's session."""

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await super()._send_message(caller_id(SocketIOInput.name(), socket_id), response)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # Rasa's emits to the room itself, not through _send_message.
        room = caller_id(SocketIOInput.name(), recipient_id)
        await super().send_custom_json(room, json_message, **kwargs)


class SocketIOChannel(SocketIOInput):
    def get_output_channel(self) -> WebOutput | None:
        # Also what Rasa's HTTP API uses for output_channel=latest (an operator's reply).
        if self.sio is None:
            return None
        return WebOutput(self.sio, self.bot_message_evt)

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

        # Registering the same events again replaces Rasa's handlers.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            conversation = session_id(data) or uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, conversation, namespace=self.namespace)
            await sio.emit("session_confirm", conversation, room=sid, namespace=self.namespace)

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

        return blueprint
