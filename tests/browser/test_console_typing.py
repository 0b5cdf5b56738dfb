"""The console and the web widget side by side, in Chromium (issue 26): while Giulia types
a reply in the console, the citizen reads «Giulia sta scrivendo…»; a reply written while
the citizen is away turns «consegnato» on her page, without a reload, when they are back.

The real web chat's channel (its typing endpoint, with the console's JWT, and its
outbox), the console with its real Rasa client (the typing signal), and the widget's demo page.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import launch
from tests.browser.test_widget_promises import RasaRelay, subtitle, web_session
from tests.browser.test_widget_rendering import say
from tests.console.harness import PASSWORD, served
from tests.store.conftest import sqlite_template  # noqa: F401
from tests.widget.webchat import WebChatServer
from urp.console.access import ConsoleAccess
from urp.console.app import create_app as create_console
from urp.console.handoffs import TYPING_SIGNAL
from urp.core.db import Database
from urp.core.settings import load_settings
from urp.handoff.chat import HandoffChat
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.quick_replies import QuickReplyService
from urp.handoff.rasa_api import RasaConversations
from urp.widget.app import create_app
from urp.widget.outbox import WebOutbox

pytestmark = pytest.mark.browser

SECRET = "segreto-della-console-di-prova-abbastanza-lungo"
QUEUED = {"text": "Ti passo a un operatore dell'URP.", "utter_action": "utter_handoff_queued"}


@dataclass
class Office:
    demo: str
    console: str
    handoffs: HandoffService


@pytest.fixture
def office(
    sqlite_template: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Office]:
    monkeypatch.setenv("RASA_JWT_SECRET", SECRET)  # what the channel's typing endpoint checks
    path = tmp_path / "urp.db"
    shutil.copy(sqlite_template, path)
    store = Database(f"sqlite:///{path}")
    settings = load_settings()
    operators = OperatorService(store)
    operators.add("giulia.neri", "Giulia Neri", PASSWORD, "operator")
    server = WebChatServer(store, {"operatore": [QUEUED]}).start()
    handoffs = HandoffService(store, settings)
    console = create_console(
        HandoffChat(handoffs, RasaRelay(server), receipts=WebOutbox(store)),
        operators,
        QuickReplyService(store),
        settings,
        ConsoleAccess(store, operators),
        secure_cookies=False,
        sweep_interval=None,
    )
    console[TYPING_SIGNAL] = RasaConversations(server.url, jwt_secret=SECRET)
    try:
        with served(create_app(settings, server.url)) as demo, served(console) as console_url:
            yield Office(demo, console_url, handoffs)
    finally:
        server.stop()
        store.dispose()


def test_the_citizen_sees_giulia_typing_and_her_page_sees_the_reply_arrive(
    office: Office,
) -> None:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        citizen = browser.new_context(viewport={"width": 320, "height": 640})
        widget = citizen.new_page()
        widget.set_default_timeout(15_000)
        widget.goto(office.demo)
        widget.get_by_role("button", name="Scrivi all'URP").click()
        say(widget, "operatore")
        expect(subtitle(widget)).to_have_text("In attesa di un operatore dell'URP")
        handoff, _ = office.handoffs.open(f"socketio:{web_session(widget)}", "socketio", "request")

        console = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        console.set_default_timeout(15_000)
        console.goto(office.console + "/login")
        console.get_by_label("Nome utente").fill("giulia.neri")
        console.get_by_label("Password").fill(PASSWORD)
        console.get_by_role("button", name="Accedi").click()
        console.goto(f"{office.console}/handoffs/{handoff.id}")
        console.get_by_role("button", name="Prendi in carico").click()
        expect(subtitle(widget)).to_have_text("Ti risponde Giulia dell'URP")

        typing = widget.locator(".urpw-typing")
        expect(typing).to_be_hidden()
        box = console.get_by_label("La tua risposta al cittadino")
        box.press_sequentially("Buongiorno, ")
        expect(typing).to_have_text("Giulia sta scrivendo…")
        console.get_by_label("Nota interna", exact=True).focus()  # she looks at something else
        expect(typing).to_be_hidden()
        box.press_sequentially("ecco il modulo.")
        expect(typing).to_have_text("Giulia sta scrivendo…")
        box.press("Control+Enter")
        log = widget.get_by_role("log")
        expect(log.locator(".urpw-msg-operator .urpw-text")).to_have_text(
            "Buongiorno, ecco il modulo."
        )
        expect(typing).to_be_hidden()

        # The citizen goes away; Giulia's next reply waits for them, then arrives.
        widget.close()
        console.get_by_label("La tua risposta al cittadino").fill("Ti serve altro?")
        console.get_by_role("button", name="Invia").click()
        last = console.locator(".message-operator").last
        expect(last.locator(".awaiting")).to_have_text("in attesa che il cittadino torni")
        console.evaluate("() => { window.notReloaded = true; }")
        widget = citizen.new_page()
        widget.goto(office.demo)
        widget.get_by_role("button", name="Scrivi all'URP").click()
        expect(widget.get_by_role("log").locator(".urpw-msg-operator")).to_have_count(2)
        # On Giulia's page, live: no reload.
        expect(last.locator(".delivered")).to_have_text("consegnato")
        expect(console.locator("#announcer")).to_have_text("Risposta consegnata al cittadino.")
        assert console.evaluate("() => window.notReloaded === true")
        browser.close()
