"""The widget keeps the promises the chat makes (issue 26, items 1, 3, 5 and 6), in Chromium.

- Nothing is lost for a web citizen: an operator's answer written while the page is
  closed, or a reply sent during a stall, arrives when they come back, once; the console
  says «consegnato» only when the widget has it (the real channel, its outbox, the console).

- The citizen can tell the operator from the assistant: the operator's messages carry a
  first name and «URP», look different and are read differently by a screen reader; the
  header says who answers; «sta scrivendo…» shows only while somebody writes.
- «Nuova conversazione» asks first and, during a request to the URP, ends or keeps it
  explicitly instead of leaving it in the queue with its answer lost.
- A long message is written in a growing text area, with the limit in sight and a clear
  message past it: never cut without a word.

Against the scripted stand-in for Rasa's socket.io channel of test_widget_rendering.py,
which also pushes what the URP channel sends unasked (an operator's reply, their typing).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright
from rasa.shared.core.events import BotUttered

from tests.browser.conftest import launch
from tests.browser.test_widget_rendering import FakeRasa, say
from tests.console.harness import PASSWORD, served
from tests.console.harness import Browser as ConsoleBrowser
from tests.store.conftest import sqlite_template  # noqa: F401
from tests.widget.webchat import WebChatServer
from urp.console.access import ConsoleAccess
from urp.console.app import create_app as create_console
from urp.core.db import Database
from urp.core.settings import load_settings
from urp.handoff.chat import CLAIMED_INTENT, OPERATOR_ENTITY, HandoffChat
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.quick_replies import QuickReplyService
from urp.inbound.cleaning import MAX_TEXT
from urp.widget.app import create_app
from urp.widget.outbox import WebOutbox

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parents[2]
WIDGET_JS = ROOT / "urp" / "widget" / "static" / "widget.js"
SCREENSHOT = ROOT / "results" / "browser" / "widget-operator.png"
QUEUED = {"text": "Ti passo a un operatore dell'URP.", "urp": {"handoff": "pending"}}
CLAIMED = {
    "text": "Ciao, sono Mario dell'URP: da qui ti rispondo io.",
    "urp": {"handoff": "assigned", "name": "Mario"},
}
RESOLVED = {"text": "La conversazione con l'operatore è chiusa.", "urp": {"handoff": "none"}}


@pytest.fixture
def fake() -> Iterator[FakeRasa]:
    rasa = FakeRasa()
    rasa.replies.update({"operatore": [QUEUED], "dettagli": [], "torna al bot": [RESOLVED]})
    rasa.start()
    yield rasa
    rasa.stop()
    rasa.loop.call_soon_threadsafe(rasa.loop.stop)


@pytest.fixture
def page(fake: FakeRasa) -> Iterator:
    with (
        served(create_app(load_settings(), fake.url)) as demo,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 320, "height": 640})
        page.set_default_timeout(10_000)
        page.goto(demo)
        page.get_by_role("button", name="Scrivi all'URP").click()
        yield page
        browser.close()


def subtitle(page):
    return page.locator(".urpw-subtitle")


def handed_to_mario(page, fake: FakeRasa) -> None:
    say(page, "operatore")
    expect(subtitle(page)).to_have_text("In attesa di un operatore dell'URP")
    fake.push("bot_uttered", CLAIMED)
    expect(subtitle(page)).to_have_text("Ti risponde Mario dell'URP")


def no_serious_violation(page) -> None:
    """axe-core, which looks into the widget's shadow root, finds nothing serious."""
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()


def test_the_widget_limit_is_the_servers() -> None:
    limit = re.search(r"const MAX_LENGTH = (\d+);", WIDGET_JS.read_text())
    assert limit and int(limit.group(1)) == MAX_TEXT


def test_the_citizen_tells_the_operator_from_the_assistant(page, fake: FakeRasa) -> None:

    log = page.get_by_role("log")
    typing = page.locator(".urpw-typing")
    expect(subtitle(page)).to_have_text("Assistente virtuale dell'URP")
    handed_to_mario(page, fake)

    # The assistant is paused while Mario holds the chat: nobody is writing yet.
    say(page, "dettagli")
    expect(log.locator(".urpw-msg-user").last).to_have_text("Tu: dettagli")
    expect(typing).to_be_hidden()
    fake.push("urp_typing", {"name": "Mario", "typing": True})
    expect(typing).to_have_text("Mario sta scrivendo…")
    fake.push("urp_typing", {"name": "Mario", "typing": False})
    expect(typing).to_be_hidden()

    fake.push("urp_typing", {"name": "Mario", "typing": True})
    fake.push("bot_uttered", {"text": "Ecco la risposta.", "urp": {"author": "operator"}})
    operator = log.locator(".urpw-msg-operator")
    expect(operator).to_have_count(1)
    expect(typing).to_be_hidden()
    expect(operator.locator(".urpw-author")).to_have_text("Mario · URP")
    # A screen reader hears a person of the URP, not «Assistente:».
    expect(operator.locator(".urpw-sr")).to_have_text("Mario, operatore dell'URP: ")
    expect(log.locator(".urpw-msg-bot").last.locator(".urpw-sr")).to_have_text("Assistente: ")
    look = "e => getComputedStyle(e).backgroundColor + ' ' + getComputedStyle(e).borderTopColor"
    assert operator.evaluate(look) != log.locator(".urpw-msg-bot").last.evaluate(look)
    no_serious_violation(page)  # the operator's colours too
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    # Still Mario after a reload; back to the assistant when the chat is closed.
    page.reload()
    expect(subtitle(page)).to_have_text("Ti risponde Mario dell'URP")
    expect(page.locator(".urpw-msg-operator")).to_have_count(1)
    fake.push("bot_uttered", RESOLVED)
    expect(subtitle(page)).to_have_text("Assistente virtuale dell'URP")


def test_a_new_conversation_asks_first(page, fake: FakeRasa) -> None:

    say(page, "prima")
    log = page.get_by_role("log")
    expect(log).to_contain_text("eco: prima")
    reset = page.get_by_role("button", name="Nuova conversazione")

    reset.click()
    question = page.get_by_role("alertdialog")
    expect(question).to_contain_text("iniziarne una nuova")
    expect(log).to_contain_text("eco: prima")  # nothing wiped by the first tap
    cancel = question.get_by_role("button", name="Annulla")
    expect(cancel).to_be_focused()  # the safe answer first
    cancel.click()
    expect(question).to_be_hidden()
    expect(reset).to_be_focused()

    reset.click()
    page.keyboard.press("Escape")  # closes the question, not the chat
    expect(question).to_be_hidden()
    expect(log).to_contain_text("eco: prima")

    reset.click()
    question.get_by_role("button", name="Sì, ricomincia").click()
    expect(log).not_to_contain_text("prima")
    expect(page.get_by_role("textbox", name="Il tuo messaggio")).to_be_focused()


def test_a_new_conversation_during_a_request_ends_it_or_keeps_it(page, fake: FakeRasa) -> None:

    handed_to_mario(page, fake)
    log = page.get_by_role("log")
    reset = page.get_by_role("button", name="Nuova conversazione")

    reset.click()
    question = page.get_by_role("alertdialog")
    expect(question).to_contain_text("richiesta all'URP con Mario è ancora aperta")
    no_serious_violation(page)
    question.get_by_role("button", name="Tieni la richiesta").click()
    expect(question).to_be_hidden()
    expect(log).to_contain_text("Ciao, sono Mario")
    assert all(m["message"] != "torna al bot" for m in fake.received)

    reset.click()
    question.get_by_role("button", name="Chiudi la richiesta e ricomincia").click()
    # The request is closed on the old session (no second queue entry), then a fresh start.
    expect(log).not_to_contain_text("Mario")
    assert {"message": "torna al bot", "session_id": "sessione-1"} in fake.received
    expect(subtitle(page)).to_have_text("Assistente virtuale dell'URP")
    stored = page.evaluate("() => Object.values(localStorage)")
    assert [json.loads(value).get("handoff", {}).get("state") for value in stored] in (
        [],
        ["none"],
    )


def test_long_messages_grow_show_the_limit_and_are_never_cut(page, fake: FakeRasa) -> None:

    box = page.get_by_role("textbox", name="Il tuo messaggio")
    counter = page.locator(".urpw-count")
    limit = page.locator(".urpw-limit")
    one_line = box.bounding_box()["height"]

    box.fill("uno\ndue\ntre\nquattro")
    assert box.bounding_box()["height"] > one_line * 1.8  # it grows with the text
    expect(counter).to_have_text("19/2000")
    box.fill("")
    box.press_sequentially("prima riga")
    box.press("Shift+Enter")  # a new line; Enter alone sends
    box.press_sequentially("seconda riga")
    box.press("Enter")
    expect(page.get_by_role("log")).to_contain_text("eco: prima riga\nseconda riga")
    expect(box).to_have_value("")
    expect(counter).to_be_hidden()

    box.fill("x" * MAX_TEXT)
    expect(limit).to_have_text("Hai raggiunto il limite di 2000 caratteri.")
    box.fill("x" * (MAX_TEXT + 100))
    expect(box).to_have_value("x" * (MAX_TEXT + 100))  # nothing cut while typing
    expect(limit).to_contain_text("Messaggio troppo lungo: 2100 caratteri")
    expect(box).to_have_attribute("aria-invalid", "true")
    no_serious_violation(page)
    assert box.bounding_box()["height"] <= 160 + 1  # then the text area scrolls
    sent = len(fake.received)
    page.get_by_role("button", name="Invia").click()
    expect(box).to_have_value("x" * (MAX_TEXT + 100))  # refused, kept to shorten
    assert len(fake.received) == sent

    box.fill("y" * 1500)
    expect(limit).to_have_text("")
    page.get_by_role("button", name="Invia").click()
    expect(page.get_by_role("log")).to_contain_text("eco: " + "y" * 1500)
    assert fake.received[-1]["message"] == "y" * 1500  # longer than the old 1,000
    # The composer fits a 320 px screen.
    assert page.evaluate(
        "() => { const p = document.querySelector('.urp-widget').shadowRoot"
        ".querySelector('.urpw-panel'); return p.scrollWidth <= p.clientWidth; }"
    )


# -- item 1: nothing lost for a web citizen (the real channel, its outbox, the console) -------

QUEUED_NOW = "Ti passo a un operatore dell'URP: ti risponderà qui alla riapertura."
ANSWER = "Ecco il modulo per il cambio di residenza.\n\nTi serve altro?"


class RasaRelay:
    """Rasa's HTTP API as the console uses it, done by the real web channel's output."""

    def __init__(self, server: WebChatServer) -> None:
        self.server = server

    def pause(self, conversation_id: str) -> None:
        self.server.paused.add(conversation_id)

    def resume(self, conversation_id: str) -> None:
        self.server.paused.discard(conversation_id)

    def say(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> None:
        self.server.send(conversation_id, BotUttered(text, metadata=dict(metadata or {})))

    def trigger(
        self, conversation_id: str, intent: str, entities: Mapping[str, str] | None = None
    ) -> None:
        if intent == CLAIMED_INTENT:
            name = (entities or {}).get(OPERATOR_ENTITY)
            text = f"Ciao, sono {name} dell'URP: da qui ti rispondo io."
            self.server.bot(conversation_id, text, "utter_handoff_claimed")
            self.pause(conversation_id)


@dataclass
class Office:
    store: Database
    server: WebChatServer
    demo: str
    console: str
    handoffs: HandoffService


@pytest.fixture
def office(sqlite_template: Path, tmp_path: Path) -> Iterator[Office]:  # noqa: F811
    path = tmp_path / "urp.db"
    shutil.copy(sqlite_template, path)
    store = Database(f"sqlite:///{path}")
    settings = load_settings()
    operators = OperatorService(store)
    operators.add("giulia.neri", "Giulia Neri", PASSWORD, "operator")
    queued = {"text": QUEUED_NOW, "utter_action": "utter_handoff_queued"}
    server = WebChatServer(store, {"operatore": [queued]}).start()
    handoffs = HandoffService(store, settings)
    chat = HandoffChat(handoffs, RasaRelay(server), receipts=WebOutbox(store))
    console = create_console(
        chat,
        operators,
        QuickReplyService(store),
        settings,
        ConsoleAccess(store, operators),
        secure_cookies=False,
        sweep_interval=None,
    )
    try:
        with (
            served(create_app(settings, server.url)) as demo,
            served(console) as console_url,
        ):
            yield Office(store, server, demo, console_url, handoffs)
    finally:
        server.stop()
        store.dispose()


def web_session(page) -> str:
    stored = page.evaluate(
        "() => Object.entries(localStorage).find(([k]) => k.startsWith('urp-widget:'))"
    )
    return json.loads(stored[1])["sessionId"]


def delivery_label(operator: ConsoleBrowser, handoff_id: int) -> str:
    page = operator.page(f"/handoffs/{handoff_id}").text
    found = re.search(r'<span class="(?:delivered|awaiting|undelivered)">([^<]+)</span>', page)
    assert found, "the reply is not on the chat's page"
    return found.group(1)


def test_an_answer_waits_for_the_citizen_who_closed_the_page(office: Office) -> None:

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": 320, "height": 640})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(office.demo)
        page.get_by_role("button", name="Scrivi all'URP").click()
        say(page, "operatore")
        expect(subtitle(page)).to_have_text("In attesa di un operatore dell'URP")
        conversation = f"socketio:{web_session(page)}"
        handoff, _ = office.handoffs.open(conversation, "socketio", "request")
        page.close()  # night-time: the citizen goes away

        operator = ConsoleBrowser(office.console)
        assert operator.log_in("giulia.neri").url == operator.url("/")
        operator.submit(f"/handoffs/{handoff.id}/claim")
        here = f"/handoffs/{handoff.id}"
        operator.submit(f"{here}/reply", here, text=ANSWER)
        # Not «consegnato»: nobody has it yet.
        assert delivery_label(operator, handoff.id) == "in attesa che il cittadino torni"

        page = context.new_page()  # the next morning, same browser
        page.set_default_timeout(15_000)
        page.goto(office.demo)
        expect(page.locator(".urpw-unread")).to_be_visible()  # it arrived with the panel closed
        page.get_by_role("button", name="Scrivi all'URP").click()
        log = page.get_by_role("log")
        operator_messages = log.locator(".urpw-msg-operator")
        expect(operator_messages).to_have_count(1)
        expect(operator_messages.locator(".urpw-author")).to_have_text("Giulia · URP")
        # One bubble, though the reply has a blank line (Rasa's output would cut it in two).
        expect(operator_messages.locator(".urpw-text")).to_have_text(ANSWER)
        expect(subtitle(page)).to_have_text("Ti risponde Giulia dell'URP")
        expect(log.get_by_text("Ciao, sono Giulia dell'URP")).to_have_count(1)
        no_serious_violation(page)

        page.reload()  # and again: never twice
        expect(page.get_by_role("log").locator(".urpw-msg-operator")).to_have_count(1)
        browser.close()

    for _ in range(50):
        if delivery_label(operator, handoff.id) == "consegnato":
            break
        time.sleep(0.2)
    assert delivery_label(operator, handoff.id) == "consegnato"


def test_a_reply_sent_during_a_stall_arrives_once_after_it(office: Office) -> None:

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(20_000)
        page.goto(office.demo)
        page.get_by_role("button", name="Scrivi all'URP").click()
        say(page, "ciao")
        log = page.get_by_role("log")
        expect(log).to_contain_text("eco: ciao")
        session = web_session(page)

        # The line stalls: the browser's requests fail, the server still holds the socket.
        page.route("**/socket.io/**", lambda route: route.abort())
        office.server.run(
            office.server.channel.sio.emit("urp_typing", {"typing": False}, room=session)
        )
        expect(page.locator(".urpw-notice")).to_contain_text("non risponde")
        office.server.bot(f"socketio:{session}", "La risposta arrivata durante il blocco.")

        page.unroute("**/socket.io/**")
        expect(page.locator(".urpw-notice")).to_be_hidden()
        expect(log.get_by_text("La risposta arrivata durante il blocco.")).to_have_count(1)
        say(page, "e dopo?")
        expect(log).to_contain_text("eco: e dopo?")
        expect(log.get_by_text("La risposta arrivata durante il blocco.")).to_have_count(1)
        no_serious_violation(page)  # 1280 px, the chat open
        page.keyboard.press("Escape")
        expect(log).to_be_hidden()
        no_serious_violation(page)  # and closed
        browser.close()


# -- item 8: numbers to call with a tap, lists one item a line ---------------------------------

LISTED = (
    "Il bando su «libri» non è ancora aperto: • *Libri di testo* — studenti; apre il 1/9/2027\n"
    "Chiama l'URP al 071 222 2222, il numero verde 800 123 456 o il +39 333 123 4567 "
    "(dalle 08.30-13.00, protocollo 012345/2026). javascript:alert(1)"
)


def test_numbers_are_links_to_call_and_a_list_starts_on_its_own_line(page, fake: FakeRasa) -> None:

    say(page, "ciao")
    expect(page.get_by_role("log")).to_contain_text("eco: ciao")  # in the session's room
    fake.push("bot_uttered", {"text": LISTED})
    bubble = page.get_by_role("log").locator(".urpw-msg-bot").last
    calls = bubble.locator("a[href^='tel:']")
    expect(calls).to_have_count(3)
    assert [calls.nth(n).get_attribute("href") for n in range(3)] == [
        "tel:+390712222222",
        "tel:+39800123456",
        "tel:+393331234567",
    ]
    expect(calls.first).to_have_text("071 222 2222")
    # Times, dates and file numbers stay words; nothing becomes a javascript: link.
    assert bubble.locator("a").count() == 3
    text = bubble.locator(".urpw-text").inner_text()
    assert "aperto:\n• Libri di testo" in text
    no_serious_violation(page)
