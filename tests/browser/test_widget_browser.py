"""The web chat in Chromium, against the real assistant started as `make run` does.

A citizen opens the demo page, opens the chat with the keyboard, subscribes, asks for the
pharmacies on duty, answers a question with a button, reloads the page and carries on the
same conversation. Debian's Chromium (/usr/bin/chromium): Playwright downloads nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect, sync_playwright

from channels.gate import conversation_id
from tests.browser.conftest import launch
from tests.console.harness import served
from tests.e2e.servers import ROOT, RunningAssistant, start, stop
from urp.core.settings import load_settings
from urp.widget.app import create_app

pytestmark = pytest.mark.e2e

REPLY = 90_000  # ms: the first answers wait for the model to warm up
SCREENSHOT = ROOT / "results" / "browser" / "widget.png"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAssistant]:
    running = start(tmp_path_factory.mktemp("widget"))
    yield running
    stop(running)


@pytest.fixture(scope="module")
def demo(assistant: RunningAssistant) -> Iterator[str]:
    # Another port than Rasa's: the widget connects across origins, as on a real site.
    with served(create_app(load_settings(), assistant.url)) as url:
        yield url


@pytest.fixture
def page(demo: str) -> Iterator:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        # A phone-sized screen: the narrowest layout the widget supports is the one tested.
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="it-IT")
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(demo)
        yield page
        browser.close()


def session_id(page) -> str:
    stored = page.evaluate(
        "() => Object.entries(localStorage).find(([k]) => k.startsWith('urp-widget:'))"
    )
    assert stored, "the conversation is not in localStorage"
    return json.loads(stored[1])["sessionId"]


def test_a_conversation_survives_a_reload(page, assistant: RunningAssistant) -> None:

    launcher = page.get_by_role("button", name="Scrivi all'URP")
    launcher.focus()
    page.keyboard.press("Enter")
    box = page.get_by_role("textbox", name="Il tuo messaggio")
    expect(box).to_be_focused()
    log = page.get_by_role("log")

    # The memo goes only to WhatsApp: the web chat subscribes nobody, it gives the link.
    box.fill("Iscrivimi")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("arrivano su WhatsApp", timeout=REPLY)
    assert "Iscrizione fatta" not in log.inner_text()
    # Links can be followed, WhatsApp's *bold* is bold and not asterisks.
    whatsapp = log.get_by_role("link", name=re.compile("wa.me")).first
    expect(whatsapp).to_have_attribute("href", "https://wa.me/390712222222?text=Iscrivimi")
    box.fill("Cancellami")
    page.keyboard.press("Enter")
    expect(log.locator("strong", has_text="Cancellami").first).to_be_visible(timeout=REPLY)
    assert "*Cancellami*" not in log.inner_text()

    box.fill("farmacie di turno il 15/08/2027?")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("Farmacie di turno", timeout=REPLY)

    box.fill("quando esce il bando per i libri di testo?")
    page.keyboard.press("Enter")
    yes = page.get_by_role("button", name="Sì, avvisami")
    expect(yes).to_be_visible(timeout=REPLY)
    expect(page.get_by_role("button", name="No, grazie")).to_be_visible()
    yes.click()
    # The button's title is the citizen's message, its payload what Rasa gets.
    expect(log.locator(".urpw-msg-user").last).to_have_text("Tu: Sì, avvisami")
    # The offer itself says «su WhatsApp»: wait for the answer to «Sì», the second invitation.
    invitations = log.locator(".urpw-msg-bot", has_text="Per iscriverti apri")
    expect(invitations).to_have_count(2, timeout=REPLY)
    assert "Ora ricevi" not in log.inner_text()
    expect(yes).to_have_count(0)  # an answered question offers its buttons no more
    first_session = session_id(page)
    before = log.inner_text()

    page.reload()
    log = page.get_by_role("log")
    expect(log).to_contain_text("Sì, avvisami")  # the panel is open again, the lines redrawn
    assert log.inner_text() == before
    assert session_id(page) == first_session

    box = page.get_by_role("textbox", name="Il tuo messaggio")
    box.fill("sono iscritto?")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("Da qui non posso vederlo", timeout=REPLY)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    # Rasa saw one conversation, before and after the reload: one sender, the session id
    # (in the web chat's own namespace).
    status, tracker = assistant.request(
        f"/conversations/{conversation_id('socketio', first_session)}/tracker",
        token=assistant.token,
    )
    assert status == 200
    said = [event.get("text") for event in tracker["events"] if event["event"] == "user"]
    assert "Iscrivimi" in said and "sono iscritto?" in said

    page.keyboard.press("Escape")
    launcher = page.get_by_role("button", name="Scrivi all'URP")
    expect(launcher).to_be_focused()
    expect(log).to_be_hidden()


def test_what_the_citizen_writes_while_waiting_is_added_to_the_request(
    page, assistant: RunningAssistant
) -> None:
    """Issue 26, item 7: after «scrivi pure i dettagli» the bot said «di questo non mi
    occupo, chiama l'URP» to the details. Now they go to the operator, and it says so."""
    page.get_by_role("button", name="Scrivi all'URP").click()
    box = page.get_by_role("textbox", name="Il tuo messaggio")
    log = page.get_by_role("log")
    box.fill("vorrei parlare con un operatore")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("scrivi pure i dettagli", timeout=REPLY)
    box.fill("la pratica di mia madre per la pensione è ferma da marzo, numero 1234 del 2026")
    page.keyboard.press("Enter")
    expect(log).to_contain_text("L'ho aggiunto alla tua richiesta", timeout=REPLY)
    said = log.inner_text()
    assert "non mi occupo" not in said and "non ho capito" not in said
