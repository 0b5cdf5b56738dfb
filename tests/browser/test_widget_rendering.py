"""The widget in Chromium against a scripted stand-in for Rasa's socket.io channel.

What the real assistant never sends on demand: HTML in a bot message, an image, a server
that goes away and comes back. The stand-in speaks the same events as Rasa's
``SocketIOInput`` (session_request/session_confirm, user_uttered/bot_uttered), with
python-socketio, the library Rasa itself uses.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from aiohttp import web
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import launch
from tests.console.harness import served
from tests.e2e.servers import free_port
from urp.core.settings import load_settings
from urp.widget.app import create_app

pytestmark = pytest.mark.browser

INJECTION = '<img src=x onerror="window.pwned=1"> *Farmacia del Corso* e https://example.org/turni.'
REPLIES: dict[str, list[dict[str, Any]]] = {
    "html": [{"text": INJECTION}],
    "foto": [{"attachment": {"type": "image", "payload": {"src": "http://127.0.0.1:9/foto.jpg"}}}],
    "bottoni": [
        {
            "text": "Vuoi un avviso?",
            "quick_replies": [
                {"content_type": "text", "title": "Sì, avvisami", "payload": "/affirm"},
                {"content_type": "text", "title": "<b>No</b>", "payload": "/deny"},
            ],
        }
    ],
}


class FakeRasa:
    """Rasa's socket.io channel, scripted; can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.replies = dict(REPLIES)  # a test may script more
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.runner: web.AppRunner | None = None
        self.sio: socketio.AsyncServer | None = None

    def _app(self) -> web.Application:
        # "*": what `rasa run --cors "*"` answers to the polling requests of another origin.
        sio = self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        app = web.Application()
        sio.attach(app)

        @sio.on("session_request")
        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            session = (data or {}).get("session_id") or "sessione-1"
            await sio.enter_room(sid, session)
            await sio.emit("session_confirm", session, room=sid)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: dict[str, Any]) -> None:
            self.received.append(data)
            for reply in self.replies.get(data["message"], [{"text": f"eco: {data['message']}"}]):
                await sio.emit("bot_uttered", reply, room=data["session_id"])

        return app

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(15)

    def push(self, event: str, data: Any, room: str = "sessione-1") -> None:
        """What the server sends unasked: an operator's reply, the operator typing."""
        assert self.sio is not None
        self._run(self.sio.emit(event, data, room=room))

    def start(self) -> None:
        async def start() -> None:
            self.runner = web.AppRunner(self._app(), shutdown_timeout=1.0)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

        self._run(start())

    def stop(self) -> None:
        async def stop() -> None:
            assert self.runner is not None and self.sio is not None
            await self.sio.shutdown()
            await self.runner.cleanup()

        if self.runner is not None:
            self._run(stop())
            self.runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    fake.start()
    yield fake
    fake.stop()
    fake.loop.call_soon_threadsafe(fake.loop.stop)


@pytest.fixture
def page(rasa: FakeRasa) -> Iterator:
    with (
        served(create_app(load_settings(), rasa.url)) as demo,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 320, "height": 640})
        page.set_default_timeout(15_000)
        page.goto(demo)
        page.get_by_role("button", name="Scrivi all'URP").click()
        yield page
        browser.close()


def say(page, text: str) -> None:
    page.get_by_role("textbox", name="Il tuo messaggio").fill(text)
    page.get_by_role("button", name="Invia").click()


def test_bot_text_is_text_with_bold_and_links(page) -> None:

    say(page, "html")
    log = page.get_by_role("log")
    expect(log).to_contain_text('<img src=x onerror="window.pwned=1">')
    assert log.locator("img").count() == 0
    assert page.evaluate("() => window.pwned") is None
    expect(log.locator("strong")).to_have_text("Farmacia del Corso")
    link = log.get_by_role("link", name="https://example.org/turni")
    expect(link).to_have_attribute("href", "https://example.org/turni")  # without the full stop
    expect(link).to_have_attribute("rel", "noopener noreferrer")


def test_citizen_text_is_never_formatted(page, rasa: FakeRasa) -> None:

    say(page, "<i>ciao</i> *io*")
    log = page.get_by_role("log")
    expect(log.locator(".urpw-msg-user")).to_have_text("Tu: <i>ciao</i> *io*")
    expect(log.locator(".urpw-msg-bot")).to_have_text("Assistente: eco: <i>ciao</i> io")
    assert log.locator("i").count() == 0
    assert rasa.received[-1] == {"message": "<i>ciao</i> *io*", "session_id": "sessione-1"}


def test_images_have_alt_text_and_buttons_send_their_payload(page, rasa: FakeRasa) -> None:

    say(page, "foto")
    expect(page.get_by_role("img", name="Immagine inviata dall'assistente")).to_be_attached()
    say(page, "bottoni")
    expect(page.get_by_role("button", name="<b>No</b>")).to_be_visible()  # a title is text
    page.get_by_role("button", name="Sì, avvisami").click()
    expect(page.get_by_role("log")).to_contain_text("eco: /affirm")
    assert rasa.received[-1]["message"] == "/affirm"
    expect(page.get_by_role("button", name="Sì, avvisami")).to_have_count(0)


def test_an_unreachable_server_is_told_and_messages_wait_for_it(page, rasa: FakeRasa) -> None:

    say(page, "prima")
    expect(page.get_by_role("log")).to_contain_text("eco: prima")
    rasa.stop()
    notice = page.get_by_text("il servizio non risponde")
    expect(notice).to_be_visible()
    say(page, "dopo")
    rasa.start()
    expect(page.get_by_role("log")).to_contain_text("eco: dopo", timeout=30_000)
    expect(notice).to_be_hidden()


def test_a_new_conversation_forgets_the_old_one(page, rasa: FakeRasa) -> None:

    say(page, "prima")
    log = page.get_by_role("log")
    expect(log).to_contain_text("eco: prima")
    page.get_by_role("button", name="Nuova conversazione").click()
    page.get_by_role("button", name="Sì, ricomincia").click()
    expect(log).not_to_contain_text("prima")
    expect(page.get_by_role("textbox", name="Il tuo messaggio")).to_be_focused()
    stored = page.evaluate("() => Object.values(localStorage)")
    assert [json.loads(value)["messages"] for value in stored] in ([], [[]])
    page.reload()
    expect(page.get_by_role("log")).not_to_contain_text("prima")
