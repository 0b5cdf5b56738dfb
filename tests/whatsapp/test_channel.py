"""The WhatsApp and Twilio webhooks in a Sanic server of the test, with a stand-in for Rasa:
a message is stored before the 200 (503 without the store), and every acknowledged
message is answered once, even when the server dies between the 200 and the answer."""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import UserUttered
from sanic import Sanic

from channels import gate, services
from channels.twilio import SignedTwilioInput
from channels.whatsapp import WhatsAppInput
from tests.simulators.graph_api import APP_SECRET, GraphApiSimulator, delivery, status_delivery
from tests.simulators.twilio_api import AUTH_TOKEN, TwilioApiSimulator
from tests.store.conftest import raw_rows
from urp.core.db import Database, upgrade
from urp.whatsapp.inbox import Inbox
from urp.whatsapp.twilio import sign as twilio_sign
from urp.whatsapp.webhook import SIGNATURE_HEADER, sign

SALT = "channel-tests-salt-0123456789"
ANSWER = "Ciao, sono l'assistente del Comune."
_apps = itertools.count(1)


class FakeRasa:
    """Rasa as the channels see it: ``on_new_message``, and an agent whose tracker store
    keeps each handled message's id (shared by every "restart", like the real one)."""

    def __init__(self) -> None:
        self.trackers: dict[str, list[UserUttered]] = {}
        self.received: list[UserMessage] = []
        self.hang: asyncio.Event | None = None  # the turn stops here: the server dies
        self.hang_after_answer = False
        self.tracker_store = self

    def is_ready(self) -> bool:
        return True

    async def retrieve(self, sender_id: str) -> Any:
        events = self.trackers.get(sender_id)
        return None if events is None else type("Tracker", (), {"events": list(events)})()

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.hang is not None and not self.hang_after_answer:
            await self.hang.wait()
        await message.output_channel.send_text_message(message.sender_id, ANSWER)
        # Rasa saves the turn once the answers are out.
        self.trackers.setdefault(message.sender_id, []).append(
            UserUttered(message.text, message_id=message.message_id)
        )
        if self.hang is not None:
            await self.hang.wait()


class Server:
    """One Rasa process: the channel's blueprint on a Sanic server, on a free port."""

    def __init__(self, channel: Any, rasa: FakeRasa, port: int) -> None:
        self.app = Sanic(f"channel_test_{next(_apps)}")
        self.app.ctx.agent = rasa
        self.app.blueprint(
            channel.blueprint(rasa.on_new_message), url_prefix=f"/webhooks/{channel.name()}"
        )
        self.url = f"http://127.0.0.1:{port}/webhooks/{channel.name()}/webhook"
        self.port = port

    async def __aenter__(self) -> Server:
        self._others = asyncio.all_tasks()  # the test's own, which go on
        self.server = await self.app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True
        )
        await self.server.startup()
        await self.server.before_start()
        await self.server.after_start()  # the inbox's worker starts here
        return self

    async def stop(self) -> None:
        await self.server.before_stop()
        await self.crash()

    async def crash(self) -> None:
        """The process dies: every task of it stops where it is, no listener runs, nothing
        is written back (the inbox's rows stay as they were, leases included)."""
        self.server.close()
        await self.server.wait_closed()
        tasks = [t for t in asyncio.all_tasks() - self._others if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aexit__(self, *_: Any) -> None:
        pass


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite store for the channels, with a short lease (a test's "restart"
    does not wait a minute for a dead process's lease)."""
    url = f"sqlite:///{tmp_path / 'urp.db'}"
    database = Database(url)
    upgrade(database)
    database.dispose()
    monkeypatch.setenv("URP_DB_URL", url)
    monkeypatch.setenv("URP_HASH_SALT", SALT)
    monkeypatch.setattr(Sanic, "test_mode", True)  # several apps, one after another
    original = services.inbox.__wrapped__

    def short_lease() -> Inbox:
        inbox = original()
        inbox.lease = timedelta(seconds=1)
        return inbox

    monkeypatch.setattr(services, "inbox", services.lru_cache(maxsize=1)(short_lease))
    gate.use_limiter(None)
    clear_services()
    yield url
    clear_services()
    gate.use_limiter(None)


def clear_services() -> None:
    if services.database.cache_info().currsize:
        services.database().dispose()
    for cached in (services.database, services.whatsapp_store, services.broadcast_service):
        cached.cache_clear()


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphApiSimulator]:
    simulator = GraphApiSimulator()
    for name, value in simulator.environment().items():
        monkeypatch.setenv(name, value)
    yield simulator
    simulator.close()


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioApiSimulator]:
    simulator = TwilioApiSimulator()
    for name, value in simulator.environment().items():
        monkeypatch.setenv(name, value)
    yield simulator
    simulator.close()


async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as answer,
    ):
        return answer.status


async def post_delivery(url: str, payload: Any, **headers: str) -> int:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signed = {SIGNATURE_HEADER: sign(body, APP_SECRET), "Content-Type": "application/json"}
    return await post(url, body, {**signed, **headers})


async def eventually(condition: Callable[[], Any]) -> None:
    while not condition():
        await asyncio.sleep(0.05)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 120))  # a hang fails, not blocks


def waiting(url: str) -> list[dict[str, Any]]:
    database = Database(url)
    try:
        return raw_rows(database, "inbound_deliveries")
    finally:
        database.dispose()


def test_a_message_is_stored_before_the_200_and_answered_once_after_a_crash(
    store_url: str, graph: GraphApiSimulator
) -> None:
    citizen = "393330000201"
    rasa = FakeRasa()
    payload = delivery(citizen, {"type": "text", "text": {"body": "ciao"}})

    async def scenario() -> None:
        rasa.hang = asyncio.Event()  # Rasa has the message, the answer has not left
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as first:
            assert await post_delivery(first.url, payload) == 200
            [row] = waiting(store_url)  # stored before the 200
            assert json.loads(row["message"])["text"] == "ciao"
            await eventually(lambda: rasa.received)
            await first.crash()
        rasa.hang = None
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as second:
            await eventually(lambda: not waiting(store_url))
            await second.stop()

    run(scenario)
    assert [m["text"]["body"] for m in graph.sent(citizen)] == [ANSWER]
    assert len(rasa.received) == 2  # the turn that died, and the one that answered


def test_a_message_handled_just_before_a_crash_is_not_answered_again(
    store_url: str, graph: GraphApiSimulator
) -> None:
    citizen = "393330000202"
    rasa = FakeRasa()
    payload = delivery(citizen, {"type": "text", "text": {"body": "ciao"}})
    message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    async def scenario() -> None:
        rasa.hang, rasa.hang_after_answer = asyncio.Event(), True  # answered, saved, not marked
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as first:
            assert await post_delivery(first.url, payload) == 200
            await eventually(lambda: rasa.trackers.get(citizen))
            await first.crash()
        rasa.hang = None
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as second:
            await eventually(lambda: not waiting(store_url))
            await second.stop()

    run(scenario)
    assert [m["text"]["body"] for m in graph.sent(citizen)] == [ANSWER]
    assert [m.message_id for m in rasa.received] == [message_id]


def test_without_the_store_meta_gets_503_and_delivers_again(
    store_url: str, graph: GraphApiSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    citizen = "393330000203"
    rasa = FakeRasa()
    payload = delivery(citizen, {"type": "text", "text": {"body": "ciao"}})
    broken = tmp_path / "not-migrated.db"
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{broken}")  # no tables: every write fails

    async def scenario() -> None:
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as server:
            assert await post_delivery(server.url, payload) == 503
            upgrade(services.database())  # the store is back
            assert await post_delivery(server.url, payload) == 200  # Meta's retry
            await eventually(lambda: graph.sent(citizen))
            await server.stop()

    run(scenario)
    assert [m["text"]["body"] for m in graph.sent(citizen)] == [ANSWER]


def test_statuses_are_recorded_before_the_200(store_url: str, graph: GraphApiSimulator) -> None:
    citizen = "393330000204"
    rasa = FakeRasa()

    async def scenario() -> None:
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as server:
            text = delivery(citizen, {"type": "text", "text": {"body": "ciao"}})
            assert await post_delivery(server.url, text) == 200
            await eventually(lambda: graph.wamids(citizen) and not waiting(store_url))
            [wamid] = graph.wamids(citizen)
            assert await post_delivery(server.url, status_delivery(wamid, citizen, "read")) == 200
            assert services.whatsapp_store().outbound(wamid) == ("read", None)
            await server.stop()

    run(scenario)


@pytest.mark.parametrize("signature", ["sha256=é", "sha256=" + "ü" * 64])
def test_a_non_ascii_signature_gets_401(
    store_url: str, graph: GraphApiSimulator, signature: str
) -> None:
    payload = delivery("393330000205", {"type": "text", "text": {"body": "ciao"}})

    async def scenario() -> None:
        async with Server(WhatsAppInput.from_credentials(None), FakeRasa(), free_port()) as server:
            body = json.dumps(payload).encode()
            assert await post(server.url, body, {SIGNATURE_HEADER: signature}) == 401
            await server.stop()

    run(scenario)


def test_deeply_nested_json_gets_400(store_url: str, graph: GraphApiSimulator) -> None:
    nested = b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 50_000 + b"]" * 50_000
    nested += b"}"

    async def scenario() -> None:
        async with Server(WhatsAppInput.from_credentials(None), FakeRasa(), free_port()) as server:
            assert await post_delivery(server.url, nested) == 400
            await server.stop()

    run(scenario)


def test_twilio_stores_before_answering_and_answers_once(
    store_url: str, twilio: TwilioApiSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    citizen = "whatsapp:+393330000206"
    rasa = FakeRasa()
    form = {"From": citizen, "To": "whatsapp:+390710000000", "Body": "ciao", "MessageSid": "SM9"}
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path / 'not-migrated.db'}")

    async def scenario() -> None:
        port = free_port()
        async with Server(SignedTwilioInput.from_credentials(None), rasa, port) as server:
            body = urllib.parse.urlencode(form).encode()
            headers = {
                "X-Twilio-Signature": twilio_sign(AUTH_TOKEN, server.url, form),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            assert await post(server.url, body, headers) == 503  # no store: Twilio retries
            upgrade(services.database())
            assert await post(server.url, body, headers) == 200
            assert await post(server.url, body, headers) == 200  # the same sid again
            await eventually(lambda: twilio.to(citizen))
            bad = {**headers, "X-Twilio-Signature": "firmaè"}
            assert await post(server.url, body, bad) == 403
            bad_host = {**headers, "Host": "127.0.0.1:porta"}
            assert await post(server.url, body, bad_host) == 403
            await server.stop()

    run(scenario)
    assert [m["Body"] for m in twilio.to(citizen)] == [ANSWER]
    assert len(rasa.received) == 1
