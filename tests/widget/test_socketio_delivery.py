"""The web chat's channel keeps its promises over real socket.io (issue 26, items 1 and 3):
what is sent while the browser is away comes back when it returns, in order and once; each
message says who wrote it; an operator's reply is one message; the operator's typing
reaches the widget only with the console's secret. The real channel, a scripted dialogue
(tests/widget/webchat.py), a migrated SQLite store."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from tests.store.conftest import sqlite_template  # noqa: F401
from tests.widget.webchat import WebChatServer
from urp.core.db import Database
from urp.core.settings import load_settings
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.rasa_api import RasaConversations
from urp.widget.outbox import WebOutbox

SECRET = "segreto-della-console-di-prova"


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:  # noqa: F811
    path = tmp_path / "urp.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def server(store: Database) -> Iterator[WebChatServer]:
    running = WebChatServer(store, {"silenzio": []}).start()
    yield running
    running.stop()


class Browser:
    """The widget's side of the protocol, as widget.js speaks it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.socket = socketio.AsyncClient(reconnection=False)
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.typing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.socket.on("bot_uttered", self.messages.put_nowait)
        self.socket.on("urp_typing", self.typing.put_nowait)
        self.socket.on("session_confirm", self.confirmed.put_nowait)
        self.last = 0  # the last id had, as widget.js keeps it

    async def open(self, session: str | None, last: int | None = 0) -> str:
        self.last = last or 0
        await self.socket.connect(self.url, transports=["polling"])
        request: dict[str, Any] = {"session_id": session}
        if last is not None:
            request["last"] = last
        await self.socket.emit("session_request", request)
        return await asyncio.wait_for(self.confirmed.get(), 30)

    async def next(self) -> dict[str, Any]:
        """The next message not had yet: an id comes once (the widget drops a repeat)."""
        while True:
            message = await asyncio.wait_for(self.messages.get(), 30)
            if message["urp"].get("id", self.last + 1) > self.last:
                self.last = message["urp"].get("id", self.last)
                return message

    async def nothing_more(self) -> None:
        await asyncio.sleep(0.5)
        while not self.messages.empty():
            message = self.messages.get_nowait()
            assert message["urp"]["id"] <= self.last, message

    async def ack(self, session: str, message: dict[str, Any]) -> None:
        await self.socket.emit("urp_ack", {"session_id": session, "id": message["urp"]["id"]})
        await asyncio.sleep(0.3)  # the server writes it before the test looks

    async def close(self) -> None:
        await self.socket.eio.disconnect(abort=True)


def test_a_reply_says_it_is_the_bot_s_and_carries_its_id(
    server: WebChatServer, store: Database
) -> None:
    async def scenario() -> tuple[str, dict[str, Any]]:
        browser = Browser(server.url)
        session = await browser.open(None)
        await browser.socket.emit("user_uttered", {"message": "ciao", "session_id": session})
        reply = await browser.next()
        await browser.ack(session, reply)
        await browser.close()
        return session, reply

    session, reply = asyncio.run(scenario())
    assert reply["text"] == "eco: ciao"
    assert reply["urp"] == {"author": "bot", "id": reply["urp"]["id"], "previous": 0}
    outbox = WebOutbox(store)
    assert outbox.acknowledge(f"socketio:{session}", reply["urp"]["id"]) == 0  # done already


def test_what_is_sent_while_the_browser_is_away_comes_back_once_in_order(
    server: WebChatServer,
) -> None:
    session = uuid.uuid4().hex
    conversation = f"socketio:{session}"

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        browser = Browser(server.url)
        await browser.open(session)
        await browser.socket.emit("user_uttered", {"message": "ciao", "session_id": session})
        first = await browser.next()
        await browser.ack(session, first)
        await browser.close()  # the page is closed, or the line stalls

        await asyncio.to_thread(server.bot, conversation, "Sei in coda.")
        await asyncio.to_thread(server.bot, conversation, "Primo.\n\nSecondo.")

        back = Browser(server.url)
        await back.open(session, last=first["urp"]["id"])
        replayed = [await back.next() for _ in range(3)]
        await back.nothing_more()
        await back.ack(session, replayed[-1])
        await back.close()

        again = Browser(server.url)
        await again.open(session, last=replayed[0]["urp"]["id"])  # a tab that missed two
        missed = [await again.next() for _ in range(2)]
        await again.nothing_more()
        await again.close()

        latest = Browser(server.url)
        await latest.open(session, last=replayed[-1]["urp"]["id"])
        await latest.nothing_more()
        await latest.close()
        ids = [m["urp"]["id"] for m in replayed]
        assert ids == sorted(ids)
        assert [m["urp"]["previous"] for m in replayed] == [first["urp"]["id"], *ids[:-1]]
        return [first["text"]], [m["text"] for m in replayed], [m["text"] for m in missed]

    first, replayed, missed = asyncio.run(scenario())
    assert first == ["eco: ciao"]
    assert replayed == ["Sei in coda.", "Primo.", "Secondo."]
    assert missed == ["Primo.", "Secondo."]


def test_an_operator_s_reply_is_one_message_with_their_name(
    server: WebChatServer, store: Database
) -> None:
    settings = load_settings()
    operators = OperatorService(store)
    giulia = operators.add("giulia", "Giulia Neri", "password-di-prova", "operator")
    handoffs = HandoffService(store, settings)
    session = uuid.uuid4().hex
    conversation = f"socketio:{session}"
    handoff, _ = handoffs.open(conversation, "socketio", "request")
    assert handoffs.claim(handoff.id, giulia)
    reply = handoffs.operator_reply(handoff.id, giulia, "Ciao!\n\nEcco il modulo: https://x.it")

    async def scenario() -> list[dict[str, Any]]:
        browser = Browser(server.url)
        await browser.open(session)
        await asyncio.to_thread(
            server.bot, conversation, "Ciao, sono Giulia dell'URP", "utter_handoff_claimed"
        )
        await asyncio.to_thread(server.operator, conversation, reply.text, reply.id, "Giulia")
        await asyncio.to_thread(server.bot, conversation, "Chiusa.", "utter_handoff_resolved")
        received = [await browser.next() for _ in range(3)]
        await browser.nothing_more()
        await browser.ack(session, received[1])
        await browser.close()
        return received

    claimed, operator, resolved = asyncio.run(scenario())
    assert claimed["urp"]["author"] == "bot"
    assert (claimed["urp"]["handoff"], claimed["urp"]["name"]) == ("assigned", "Giulia")
    assert operator["text"] == "Ciao!\n\nEcco il modulo: https://x.it"
    assert {k: operator["urp"][k] for k in ("author", "name", "handoff")} == {
        "author": "operator",
        "name": "Giulia",
        "handoff": "assigned",
    }
    assert resolved["urp"]["handoff"] == "none"
    # Acknowledged by the widget: «consegnato» in the console, from the store.
    [message] = [m for m in handoffs.messages(handoff.id) if m.author == "operator"]
    assert message.delivered


def test_a_message_is_sent_even_when_the_store_fails(tmp_path: Path) -> None:
    unmigrated = Database(f"sqlite:///{tmp_path / 'vuoto.db'}")
    server = WebChatServer(unmigrated, {}).start()

    async def scenario() -> dict[str, Any]:
        browser = Browser(server.url)
        session = await browser.open(None)
        await browser.socket.emit("user_uttered", {"message": "ciao", "session_id": session})
        reply = await browser.next()
        await browser.close()
        return reply

    try:
        reply = asyncio.run(scenario())
    finally:
        server.stop()
        unmigrated.dispose()
    assert reply == {"text": "eco: ciao", "urp": {"author": "bot"}}


def test_the_operator_s_typing_reaches_the_widget_with_the_console_s_secret(
    server: WebChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_JWT_SECRET", SECRET)
    session = uuid.uuid4().hex
    endpoint = f"{server.url}/webhooks/socketio/typing"

    async def scenario() -> dict[str, Any]:
        browser = Browser(server.url)
        await browser.open(session)
        console = RasaConversations(server.url, jwt_secret=SECRET)
        assert await asyncio.to_thread(console.typing, f"socketio:{session}", "Giulia", True)
        typing = await asyncio.wait_for(browser.typing.get(), 30)
        await browser.close()
        return typing

    assert asyncio.run(scenario()) == {"name": "Giulia", "typing": True}

    body = {"conversation_id": f"socketio:{session}", "name": "Giulia", "typing": True}
    assert requests.post(endpoint, json=body, timeout=10).status_code == 401
    forged = RasaConversations(server.url, jwt_secret="un-altro-segreto")
    assert not forged.typing(f"socketio:{session}", "Giulia")
    console = RasaConversations(server.url, jwt_secret=SECRET)
    assert not console.typing("socketio:non-una-sessione", "Giulia")  # 400
