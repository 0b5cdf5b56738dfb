"""An operator's whole round in a real browser: log in, claim, reply, live message, resolve."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.harness import PASSWORD, PHONE, QUICK_REPLY, World
from urp.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.browser

SCREENSHOT = PROJECT_ROOT / "results" / "browser" / "console.png"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="it-IT", viewport={"width": 1280, "height": 1000})
    # The photo's host is out of reach: the browser gets a tiny image instead.
    context.route(
        "https://media.example.org/**",
        lambda route: route.fulfill(
            status=200,
            content_type="image/svg+xml",
            body='<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120">'
            '<rect width="160" height="120" fill="#5c6f82"/></svg>',
        ),
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_an_operator_answers_a_citizen_in_the_browser(world: World, page: Page) -> None:
    handoff = world.handoff
    world.handoffs.add_message(
        handoff.id, "citizen", "Ecco la buca", media_url="https://media.example.org/buca.jpg"
    )
    world.handoffs.add_message(handoff.id, "citizen", None, latitude=43.6158, longitude=13.5189)

    page.goto(world.base + "/login")
    page.get_by_label("Nome utente").fill("mario.rossi")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()

    row = page.get_by_role("row", name=f"Conversazione n. {handoff.id}")
    expect(row).to_contain_text("chiede un operatore")
    expect(row).to_contain_text("WhatsApp")
    row.get_by_role("button", name="Prendi in carico").click()

    expect(page.get_by_role("heading", name=f"Conversazione n. {handoff.id}")).to_be_visible()
    expect(page.get_by_text("La conversazione è affidata a te")).to_be_visible()
    expect(page.get_by_role("img", name="Foto inviata dal cittadino")).to_be_visible()
    expect(
        page.get_by_role("link", name="43.615800, 13.518900 su OpenStreetMap")
    ).to_have_attribute(
        "href",
        "https://www.openstreetmap.org/?mlat=43.615800&mlon=13.518900#map=17/43.615800/13.518900",
    )

    # The reply box has the focus; a quick reply fills it; Ctrl+Enter sends.
    reply = page.get_by_label("La tua risposta al cittadino")
    expect(reply).to_be_focused()
    page.keyboard.type("Buongiorno, sono Mario dell'URP.")
    page.get_by_label("Risposta rapida").select_option(QUICK_REPLY.title)
    expect(reply).to_have_value(f"Buongiorno, sono Mario dell'URP.\n\n{QUICK_REPLY.text}")
    expect(reply).to_be_focused()
    page.keyboard.press("Control+Enter")

    sent = page.locator(".message-operator").last
    expect(sent).to_contain_text("Buongiorno, sono Mario dell'URP.")
    expect(sent).to_contain_text("consegnato")
    expect(sent).not_to_contain_text("non consegnato")
    assert world.rasa.calls[-1] == (
        "say",
        PHONE,
        f"Buongiorno, sono Mario dell'URP.\n\n{QUICK_REPLY.text}",
    )

    # The citizen answers: it appears without reloading, and screen readers hear it.
    world.handoffs.add_message(handoff.id, "citizen", "Grazie, è in via Roma 12.")
    expect(page.locator("#transcript .message-citizen").last).to_contain_text(
        "Grazie, è in via Roma 12."
    )
    expect(page.locator("#announcer")).to_have_text("Cittadino scrive: Grazie, è in via Roma 12.")
    assert PHONE.lstrip("+") not in page.content()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("button", name="Chiudi la conversazione").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Conversazione n. {handoff.id} chiusa")
    expect(page.get_by_text("Nessuna conversazione in coda")).to_be_visible()
    assert world.handoffs.get(handoff.id).status == "resolved"


def test_the_first_tab_offers_to_skip_to_the_content(world: World, page: Page) -> None:
    page.goto(world.base + "/login")
    page.get_by_label("Nome utente").fill("mario.rossi")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Conversazioni passate all'URP")).to_be_visible()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Vai al contenuto")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
