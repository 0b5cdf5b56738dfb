"""The console served over real HTTP for tests, with recording fakes of the Rasa side
(its HTTP API, and the web chat's typing signal); the web chat's outbox is the real one."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from aiohttp import web

from tests.store.conftest import SALT
from urp.broadcasts.service import BroadcastService
from urp.broadcasts.worker import BroadcastWorker
from urp.console.access import ConsoleAccess
from urp.console.app import create_app
from urp.console.handoffs import TYPING_SIGNAL
from urp.core.clock import utc_now
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import Settings
from urp.handoff.chat import OPERATOR_MESSAGE_KEY, HandoffChat
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.quick_replies import QuickReply, QuickReplyService
from urp.handoff.rasa_api import WEB_CONVERSATION_PREFIX, RasaUnavailableError
from urp.handoff.records import Handoff
from urp.information.memo import MemoService
from urp.review.store import ReviewStore
from urp.review.training import TrainingData
from urp.whatsapp.store import WhatsAppStore
from urp.widget.outbox import WebOutbox

PASSWORD = "password-di-prova"
PHONE = "+393331234567"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
QUICK_REPLY = QuickReply(
    "Piattaforma segnalazioni", "Può segnalare il guasto su segnala.comune.it."
)


class RecordingConversations:
    """What the console asked of Rasa; ``down`` makes every call fail like a dead server.

    With ``web_outbox``, a reply to a web conversation is kept there as the web chat's
    channel keeps it: «consegnato» only once the citizen's widget acknowledges it."""

    def __init__(self, web_outbox: WebOutbox | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.metadata: list[dict[str, Any]] = []  # of each message said, in order
        self.down = False
        self.web_outbox = web_outbox

    def _call(self, *call: Any) -> None:
        if self.down:
            raise RasaUnavailableError("server Rasa non raggiungibile (test)")
        self.calls.append(call)

    def pause(self, conversation_id: str) -> None:
        self._call("pause", conversation_id)

    def resume(self, conversation_id: str) -> None:
        self._call("resume", conversation_id)

    def say(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> None:
        self._call("say", conversation_id, text)
        self.metadata.append(dict(metadata or {}))
        if self.web_outbox is not None and conversation_id.startswith(WEB_CONVERSATION_PREFIX):
            reply = (metadata or {}).get(OPERATOR_MESSAGE_KEY)
            self.web_outbox.store(conversation_id, {"text": text}, handoff_message_id=reply)

    def trigger(
        self, conversation_id: str, intent: str, entities: Mapping[str, str] | None = None
    ) -> None:
        self._call("trigger", conversation_id, intent, dict(entities or {}))


class RecordingTyping:
    """The typing signals the console sent the web chat: (conversation, name, typing)."""

    def __init__(self) -> None:
        self.signals: list[tuple[str, str, bool]] = []

    def typing(self, conversation_id: str, name: str, active: bool = True) -> bool:
        self.signals.append((conversation_id, name, active))
        return True


class ShiftedClock:
    """The real time, moved forward by hand (the login and idle timeouts)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@contextmanager
def served(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on a free local port in a thread of its own; yields the base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    started = threading.Event()
    port: list[int] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "the console did not start"
    try:
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class Browser(requests.Session):
    """An HTTP client that logs in through the form, as a person would."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str) -> requests.Response:
        return self.get(self.url(path), allow_redirects=True, timeout=120)

    def log_in(self, username: str, password: str = PASSWORD) -> requests.Response:
        form = self.get(self.url("/login"), timeout=120)
        token = CSRF_FIELD.search(form.text)
        assert token, form.text
        return self.post(
            self.url("/login"),
            data={"csrf_token": token.group(1), "username": username, "password": password},
            allow_redirects=True,
            timeout=120,
        )

    def csrf(self, path: str = "/") -> str:
        found = CSRF_FIELD.search(self.page(path).text)
        assert found, "no form on the page"
        return found.group(1)

    def submit(self, path: str, form_page: str = "/", **fields: str) -> requests.Response:
        """POST a form of ``form_page`` with its CSRF token, following the redirect."""
        data = {"csrf_token": self.csrf(form_page), **fields}
        return self.post(self.url(path), data=data, allow_redirects=True, timeout=15)


def transcript_line(author: str, text: str, minutes_ago: float) -> tuple[str, str, datetime]:
    return (author, text, datetime.now(UTC) - timedelta(minutes=minutes_ago))


@dataclass
class World:
    base: str
    database: Database
    handoffs: HandoffService
    operators: OperatorService
    rasa: RecordingConversations
    clock: ShiftedClock
    handoff: Handoff
    typing: RecordingTyping

    def browser(self) -> Browser:
        return Browser(self.base)

    def logged_in(self, username: str) -> Browser:
        browser = self.browser()
        assert browser.log_in(username).url == browser.url("/")
        return browser


@contextmanager
def console_world(
    database: Database,
    settings: Settings,
    *,
    worker: BroadcastWorker | None = None,
    training: TrainingData | None = None,
) -> Iterator[World]:
    """Three accounts (the two operators may publish), a quick reply, one chat handed over
    on WhatsApp, the console served."""
    operators = OperatorService(database)
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator", can_publish=True)
    operators.add("lucia.bianchi", "Lucia Bianchi", PASSWORD, "operator", can_publish=True)
    operators.add("tina.verdi", "Tina Verdi", PASSWORD, "trainer")
    QuickReplyService(database).load([QUICK_REPLY])
    handoffs = HandoffService(database, settings)
    handoff, _ = handoffs.open(
        PHONE,
        "whatsapp",
        "request",
        [
            transcript_line("citizen", "Vorrei parlare con una persona", 6),
            transcript_line("bot", "Ti passo a un operatore dell'URP.", 5),
        ],
    )
    outbox = WebOutbox(database)
    rasa = RecordingConversations(outbox)
    clock = ShiftedClock()
    typing = RecordingTyping()
    app = create_app(
        HandoffChat(handoffs, rasa, receipts=outbox),
        operators,
        QuickReplyService(database),
        settings,
        ConsoleAccess(database, operators, clock=clock),
        secure_cookies=False,
        sweep_interval=None,
        broadcasts=BroadcastService(database, WhatsAppStore(database, UserHasher(SALT.encode()))),
        memos=MemoService(database),
        worker=worker,
        review=ReviewStore(database, UserHasher(SALT.encode())) if training else None,
        training=training,
    )
    app[TYPING_SIGNAL] = typing
    with served(app) as base:
        yield World(base, database, handoffs, operators, rasa, clock, handoff, typing)
