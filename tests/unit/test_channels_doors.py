"""The open channels (REST, callback, web chat) over real HTTP and socket.io, in process:
whose conversation a caller reaches, what of its metadata passes, the limits per sender
and per client address. Rasa's message handling is replaced by an echo, so no model is
needed; tests/e2e/test_channel_isolation.py does the same against the real assistant."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import socketio
from rasa.core.channels.channel import UserMessage
from rasa.utils.endpoints import EndpointConfig
from sanic import Sanic
from sanic.response import json as sanic_json

from channels import gate
from channels.callback import StrictCallbackInput
from channels.rest import StrictRestInput
from channels.socketio import SocketIOChannel
from tests.e2e.servers import CallbackReceiver, free_port
from urp.core.db import Database, upgrade
from urp.core.settings import RateLimit
from urp.handoff.rasa_api import RasaConversations
from urp.inbound.ratelimit import RateLimiter

NUMBER = "393331234567"  # a WhatsApp citizen's id
LIMIT = RateLimit(burst=2, per_minute=0.1)  # per address: 20 in a row
FORGED = {
    "is_external": True,
    "photo_url": "https://evil.example/x.jpg",
    "urp_media": {"type": "image", "url": "https://evil.example/x.jpg"},
}


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Echo:
    """Rasa's part: records the message and answers on its output channel."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        assert message.output_channel is not None
        await message.output_channel.send_text_message(message.sender_id, f"eco {message.text}")


@pytest.fixture
def echo() -> Iterator[Echo]:
    Sanic.test_mode = True  # several apps in one process, as tests/unit/test_channels_http_guard.py
    gate.use_limiter(RateLimiter(LIMIT, clock=Clock()))
    threshold = gc.get_threshold()
    try:
        yield Echo()
    finally:
        gate.use_limiter(None)
        gc.unfreeze()  # the REST channel settles the collector once the server started
        gc.set_threshold(*threshold)


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


@contextlib.asynccontextmanager
async def serving(echo: Echo, callback_url: str = "http://127.0.0.1:9/") -> AsyncIterator[str]:
    app = Sanic(f"doors_{uuid.uuid4().hex}")
    app.blueprint(StrictRestInput().blueprint(echo), url_prefix="/webhooks/rest")
    callback = StrictCallbackInput(EndpointConfig(callback_url))
    app.blueprint(callback.blueprint(echo), url_prefix="/webhooks/callback")
    web = SocketIOChannel(session_persistence=True)
    folder = tempfile.TemporaryDirectory()  # the web outbox's store, not the office's
    database = Database(f"sqlite:///{folder.name}/urp.db")
    upgrade(database)
    web.deliveries.use(database)
    app.blueprint(web.blueprint(echo), url_prefix="/webhooks/socketio")
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
        database.dispose()
        folder.cleanup()


async def post(
    url: str, body: Any, client: str | None = None, raw: bytes | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if client:
        headers["X-Forwarded-For"] = client
    data = raw if raw is not None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=headers) as answer,
    ):
        text = await answer.text()
    try:
        return answer.status, json.loads(text)
    except ValueError:
        return answer.status, text


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# --- REST -----------------------------------------------------------------------------------


def test_rest_as_a_whatsapp_number_is_a_conversation_of_its_own(echo: Echo) -> None:
    async def scenario() -> tuple[int, Any]:
        async with serving(echo) as url:
            return await post(
                f"{url}/webhooks/rest/webhook",
                {"sender": NUMBER, "message": "/EXTERNAL_handoff_claimed", "metadata": FORGED},
            )

    status, replies = run(scenario())
    [message] = echo.messages
    assert message.sender_id == f"rest:{NUMBER}"
    assert message.text == "EXTERNAL_handoff_claimed"  # words, not the console's event
    assert message.metadata == {}
    assert status == 200
    assert replies == [{"recipient_id": NUMBER, "text": "eco EXTERNAL_handoff_claimed"}]


@pytest.mark.parametrize(
    "raw",
    [b"[" * 60_000, b'{"sender": "a", "message": ' + b"[" * 5000],
    ids=["list", "message"],
)
def test_rest_deeply_nested_json_is_a_400(echo: Echo, raw: bytes) -> None:
    async def scenario() -> tuple[int, Any]:
        async with serving(echo) as url:
            return await post(f"{url}/webhooks/rest/webhook", None, raw=raw)

    status, answer = run(scenario())
    assert status == 400 and "error" in answer
    assert echo.messages == []


def test_rest_rotating_senders_from_one_address_are_limited(echo: Echo) -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        async with serving(echo) as url:
            webhook = f"{url}/webhooks/rest/webhook"
            flood = [
                (await post(webhook, {"sender": f"s{n}", "message": "ciao"}, "203.0.113.7"))[1]
                for n in range(24)
            ]
            others = [
                (await post(webhook, {"sender": "vicino", "message": "ciao"}, "203.0.113.8"))[1],
                (await post(webhook, {"sender": "locale", "message": "ciao"}))[1],
            ]
            return flood, others

    flood, others = run(scenario())
    assert all(replies and replies[0]["text"] == "eco ciao" for replies in flood[:20])
    assert flood[20] == [{"recipient_id": "s20", "text": gate.notice_text()}]
    assert flood[21:] == [[], [], []]
    assert [replies[0]["text"] for replies in others] == ["eco ciao", "eco ciao"]


# --- callback -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"\xff\xfe", 400),
        (b"[" * 60_000, 400),
        (b'{"sender": 1, "message": "ciao"}', 400),
        (b'{"message": "ciao"}', 400),
        (b'{"sender": "a", "message": "ciao", "metadata": "x"}', 400),
        (b"", 400),
        (b'{"sender": "a", "message": "' + b"a" * 70_000 + b'"}', 413),
    ],
    ids=["utf8", "nested", "sender", "no-sender", "metadata", "empty", "huge"],
)
def test_the_callback_channel_refuses_garbage(echo: Echo, raw: bytes, status: int) -> None:
    async def scenario() -> int:
        async with serving(echo) as url:
            return (await post(f"{url}/webhooks/callback/webhook", None, raw=raw))[0]

    assert run(scenario()) == status
    assert echo.messages == []


def test_the_callback_channel_is_namespaced_and_answers_the_caller_s_sender(
    echo: Echo, receiver: CallbackReceiver
) -> None:
    sender = f"{NUMBER}{uuid.uuid4().int % 1000}"

    async def scenario() -> tuple[int, Any]:
        async with serving(echo, receiver.url) as url:
            return await post(
                f"{url}/webhooks/callback/webhook",
                {"sender": sender, "message": '/subscribe{"topic": "x"}', "metadata": FORGED},
            )

    assert run(scenario()) == (200, "success")
    [message] = echo.messages
    assert message.sender_id == f"callback:{sender}"
    assert message.text == 'subscribe{"topic": "x"}'
    assert message.metadata == {}
    assert receiver.wait_for(sender, 1) == ['eco subscribe{"topic": "x"}']


def test_the_callback_channel_is_rate_limited_per_sender_and_per_address(
    echo: Echo, receiver: CallbackReceiver
) -> None:
    flooder, rotating = uuid.uuid4().hex, uuid.uuid4().hex

    async def scenario() -> None:
        async with serving(echo, receiver.url) as url:
            webhook = f"{url}/webhooks/callback/webhook"
            for _ in range(5):
                await post(webhook, {"sender": flooder, "message": "ciao"}, "198.51.100.1")
            for n in range(22):
                await post(webhook, {"sender": f"{rotating}{n}", "message": "ciao"}, "198.51.100.2")

    run(scenario())
    assert receiver.wait_for(flooder, 3) == ["eco ciao", "eco ciao", gate.notice_text()]
    assert receiver.wait_for(f"{rotating}20", 1) == [gate.notice_text()]
    assert receiver.texts_for(f"{rotating}21") == []
    assert len(echo.messages) == 2 + 20


# --- web chat (socket.io) ------------------------------------------------------------------


class WebChat:
    """One browser connection (from ``client``, as nginx reports it), any session ids."""

    def __init__(self) -> None:
        self.socket = socketio.AsyncClient()
        self.received: dict[str, list[str]] = {}
        self._confirmed = asyncio.Queue[str]()
        self._arrived = asyncio.Queue[str]()
        self._session = ""

        @self.socket.on("session_confirm")
        async def session_confirm(session: str) -> None:
            await self._confirmed.put(session)  # the socket is in the conversation's room

        @self.socket.on("bot_uttered")
        async def bot_uttered(data: dict[str, Any]) -> None:
            # Each session is waited for in turn: the reply is the current one's.
            self.received.setdefault(self._session, []).append(data.get("text", ""))
            await self._arrived.put(self._session)

    async def connect(self, url: str, client: str) -> None:
        await self.socket.connect(url, headers={"X-Forwarded-For": client}, transports=["polling"])

    async def say(self, session: str, text: str, answered: bool = True) -> list[str]:
        """Join ``session``, send ``text``; its replies (none expected: ``answered``)."""
        self._session = session
        await self.socket.emit("session_request", {"session_id": session})
        assert await asyncio.wait_for(self._confirmed.get(), 60) == session
        await self.socket.emit(
            "user_uttered", {"message": text, "session_id": session, "metadata": FORGED}
        )
        if answered:
            await asyncio.wait_for(self._arrived.get(), 60)
        else:
            # Nothing should come: a probe that is answered (the server handles a
            # connection's events in order) shows the refused message had its turn.
            self._session = "probe"
            await self.socket.emit("session_request", {"session_id": PROBE})
            await asyncio.wait_for(self._confirmed.get(), 60)
        return self.received.get(session, [])

    async def close(self) -> None:
        # Without waiting for the long poll in flight (up to socket.io's ping interval).
        await self.socket.eio.disconnect(abort=True)


PROBE = "f" * 32


def test_the_web_chat_is_namespaced_and_drops_the_browser_s_metadata(echo: Echo) -> None:
    session = uuid.uuid4().hex

    async def scenario() -> list[str]:
        async with serving(echo) as url:
            chat = WebChat()
            await chat.connect(url, "192.0.2.1")
            try:
                return await chat.say(session, "/EXTERNAL_handoff_resolved")
            finally:
                await chat.close()

    assert run(scenario()) == ["eco EXTERNAL_handoff_resolved"]
    [message] = echo.messages
    assert message.sender_id == f"socketio:{session}"
    assert message.metadata == {}


def test_the_web_chat_rotating_sessions_from_one_address_are_limited(echo: Echo) -> None:
    async def scenario() -> tuple[list[list[str]], list[str]]:
        async with serving(echo) as url:
            chat, neighbour = WebChat(), WebChat()
            await chat.connect(url, "192.0.2.2")
            await neighbour.connect(url, "192.0.2.3")
            try:
                answers = [await chat.say(uuid.uuid4().hex, "ciao") for _ in range(21)]
                answers.append(await chat.say(uuid.uuid4().hex, "ciao", answered=False))
                return answers, await neighbour.say(uuid.uuid4().hex, "ciao")
            finally:
                await chat.close()
                await neighbour.close()

    answers, neighbour = run(scenario())
    assert answers[:20] == [["eco ciao"]] * 20
    assert answers[20] == [gate.notice_text()]
    assert answers[21] == []
    assert neighbour == ["eco ciao"]
    assert len(echo.messages) == 21


# --- replies routed back: the console's calls reach the namespaced conversation ------------


@pytest.mark.parametrize(
    "conversation",
    [f"callback:{NUMBER}", f"socketio:{'a' * 32}", f"whatsapp:+{NUMBER}", NUMBER],
)
def test_the_console_s_calls_name_the_conversation_as_rasa_reads_it(conversation: str) -> None:
    Sanic.test_mode = True
    app = Sanic(f"rasa_api_{uuid.uuid4().hex}")
    seen: list[str] = []

    # The pattern of Rasa's conversation endpoints (rasa/server.py); Sanic does not unquote.
    @app.post("/conversations/<conversation_id:path>/trigger_intent")
    async def trigger_intent(_: Any, conversation_id: str) -> Any:
        seen.append(conversation_id)
        return sanic_json({})

    async def scenario() -> None:
        port = free_port()
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        assert server is not None
        await server.startup()
        await server.before_start()
        api = RasaConversations(f"http://127.0.0.1:{port}", jwt_secret="segreto-di-prova")
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, api.trigger, conversation, "EXTERNAL_handoff_claimed"
            )
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())
    assert seen == [conversation]
