"""The web chat's channel: Rasa's socket.io channel, mended and made safe.

- Rasa 3.6 calls ``sio.enter_room`` without awaiting it; with python-socketio 5 that is a
  coroutine, so with ``session_persistence`` the browser never joined its conversation's
  room and never received a reply. Here it is awaited.
- The session id the browser sends becomes the conversation id. Rasa takes any string;
  here only ids this channel hands out (32 hex digits) are accepted, so a page cannot
  write into someone else's conversation (a WhatsApp one is keyed by a phone number).
- Metadata from the browser is only taken if it is a JSON object; a message is at most
  ``MAX_MESSAGE`` characters.

- With ``URP_SOCKETIO_REDIS_URL`` (or else ``URP_REDIS_URL``) the replicas of the production
  profile share their sockets through python-socketio's ``AsyncRedisManager``: a reply
  emitted by any replica (an operator's, through the HTTP API of whichever replica the
  balancer picked) reaches the browser connected to another. ``URP_SOCKETIO_CHANNEL`` names
  the Redis pub/sub channel (default ``urp-socketio``), so two deployments can share a Redis.

``name()`` stays ``socketio``: replies with ``output_channel=latest`` (the operators')
find this channel as before.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from socketio import AsyncRedisManager, AsyncServer

from channels.gate import admit

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


class SocketIOChannel(SocketIOInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> SocketBlueprint:
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
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            text = data.get("message")
            await admit(
                on_new_message,
                text[:MAX_MESSAGE] if isinstance(text, str) else "",
                SocketIOOutput(sio, self.bot_message_evt),
                sender,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else {},
            )

        return blueprint
