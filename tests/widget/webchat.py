"""The web chat's real channel (channels/socketio.py) on a Sanic server of its own, with a
scripted stand-in for Rasa's dialogue: no model needed.

What Rasa would do is done the way Rasa does it: a citizen's message reaches the handler
through the channel's door; a bot message or an operator's reply (Rasa's HTTP API with
``execute_side_effects``) goes out through ``OutputChannel.send_response`` with the bot
event's ``message()``, metadata and all.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.server import configure_cors
from rasa.shared.core.events import BotUttered
from sanic import Sanic

from channels.socketio import SocketIOChannel
from tests.e2e.servers import free_port
from urp.core.db import Database
from urp.handoff.chat import OPERATOR_MESSAGE_KEY, OPERATOR_NAME_KEY


class WebChatServer:
    """Rasa's server as far as the web chat sees it; ``replies`` scripts the bot."""

    def __init__(self, database: Database, replies: Mapping[str, list[dict[str, Any]]]) -> None:
        self.port = free_port()
        self.channel = SocketIOChannel(session_persistence=True)
        self.channel.deliveries.use(database)
        self.replies = dict(replies)
        self.received: list[UserMessage] = []
        self.paused: set[str] = set()  # conversations an operator holds: the bot is silent
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Any = None

    async def _handle(self, message: UserMessage) -> None:
        self.received.append(message)
        if message.sender_id in self.paused or message.output_channel is None:
            return
        for reply in self.replies.get(message.text or "", [{"text": f"eco: {message.text}"}]):
            await message.output_channel.send_response(message.sender_id, dict(reply))

    def start(self) -> WebChatServer:
        Sanic.test_mode = True  # several apps in one process

        async def start() -> None:
            app = Sanic(f"webchat_{uuid.uuid4().hex}")
            configure_cors(app, "*")  # as `rasa run --cors "*"`: the demo page is elsewhere
            app.blueprint(self.channel.blueprint(self._handle), url_prefix="/webhooks/socketio")
            self._server = await app.create_server(
                host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
            )
            await self._server.startup()
            await self._server.before_start()
            await self._server.after_start()

        self._thread.start()
        self.run(start())
        return self

    def stop(self) -> None:
        async def stop() -> None:
            await self._server.before_stop()
            self._server.close()
            await self._server.wait_closed()
            await self._server.after_stop()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def send(self, conversation: str, event: BotUttered) -> None:
        """What Rasa's processor does with a bot event (``_send_bot_messages``)."""
        output = self.channel.get_output_channel()
        assert output is not None
        self.run(output.send_response(conversation, event.message()))

    def bot(self, conversation: str, text: str, response: str | None = None) -> None:
        metadata = {"utter_action": response} if response else {}
        self.send(conversation, BotUttered(text, metadata=metadata))

    def operator(self, conversation: str, text: str, message_id: int, name: str) -> None:
        """An operator's reply, as urp.handoff.chat sends it through Rasa's HTTP API."""
        metadata = {OPERATOR_MESSAGE_KEY: message_id, "operator": "x", OPERATOR_NAME_KEY: name}
        self.send(conversation, BotUttered(text, metadata=metadata))
