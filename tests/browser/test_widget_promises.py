"""The widget keeps the promises the chat makes (issue 26, items 3, 5 and 6), in Chromium.

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
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import launch
from tests.browser.test_widget_rendering import FakeRasa, say
from tests.console.harness import served
from urp.core.settings import load_settings
from urp.inbound.cleaning import MAX_TEXT
from urp.widget.app import create_app

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
