"""The console's pages that replace the command line, in Debian's Chromium: no serious axe
violation and no sideways scrolling at 320 px and 1280 px, an admin adding an operator by
keyboard and mouse, and a screenshot of every console page.

Screenshots go to ``results/browser/``; with ``URP_DOCS_SCREENSHOTS=1`` they regenerate
the guide's pictures in ``docs/img/`` (1280 px wide):

    URP_DOCS_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_console_pages_browser.py \\
        -k screenshots -p no:cacheprovider
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.checks import admin_console, audit, logged_in
from tests.browser.test_broadcast_browser import database  # noqa: F401
from tests.console.harness import PASSWORD, RecordingConversations, World
from tests.console.test_trainer import fill_inbox
from urp.core.db import Database
from urp.core.models import Consent, Subscriber
from urp.core.settings import PROJECT_ROOT, Settings
from urp.handoff.chat import HandoffChat
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.ratings import RatingService

pytestmark = pytest.mark.browser

NEW_PAGES = [
    "/operators",
    "/risposte-rapide",
    "/statistiche/conversazioni",
    "/statistiche/iscritti",
    "/valutazioni",
    "/esportazioni",
]
# Every page of the console, with the name of its picture in docs/img/.
ALL_PAGES = {
    "/": "console-coda",
    "/storico": "console-storico",
    "/broadcasts": "console-invii",
    "/broadcasts/new": "console-nuovo-invio",
    "/formazione": "console-formatori",
    "/faq": "console-faq",
    "/operators": "console-operatori",
    "/account": "console-account",
    "/risposte-rapide": "console-risposte-rapide",
    "/statistiche/conversazioni": "console-statistiche-conversazioni",
    "/statistiche/iscritti": "console-statistiche-iscritti",
    "/valutazioni": "console-valutazioni",
    "/esportazioni": "console-esportazioni",
}
COMMENTS = [
    ("5", "Gentilissima, mi ha mandato subito il modulo giusto."),
    ("4", "Risposta chiara, un po' di attesa."),
    ("2", None),
    ("5", "Velocissimi anche di sabato!"),
    ("3", None),
]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def seed(store: Database, settings: Settings) -> None:
    """Some weeks of an office's life: chats on two channels at various hours, ratings,
    subscribers joining and leaving month by month."""
    now = datetime.now(UTC)
    clock = Clock(now - timedelta(days=40))
    handoffs = HandoffService(store, settings, clock=clock)
    ratings = RatingService(store, clock=clock)
    chat = HandoffChat(handoffs, RecordingConversations(), ratings=ratings)
    giulia = OperatorService(store).add("giulia.verdi", "Giulia Verdi", PASSWORD, "operator")
    for n in range(24):
        clock.now = now - timedelta(days=40 - n * 1.6, hours=(n * 5) % 9)
        channel = ("whatsapp", "socketio", "whatsapp")[n % 3]
        handoff, _ = handoffs.open(f"{channel}-citizen-{n}", channel, "request")
        clock.now += timedelta(minutes=2 + (n * 7) % 25)
        chat.claim(handoff.id, giulia)
        clock.now += timedelta(minutes=1)
        chat.reply(handoff.id, giulia, "Buongiorno, le mando il modulo.")
        clock.now += timedelta(minutes=5 + (n * 3) % 20)
        chat.resolve(handoff.id, giulia)
        stars, comment = COMMENTS[n % len(COMMENTS)]
        if n % 4 != 3:
            ratings.answer(handoff.conversation_id, stars)
            if comment:
                ratings.answer(handoff.conversation_id, "Scrivi un commento")
                ratings.answer(handoff.conversation_id, comment)
    with store.transaction(write=True) as session:
        for n in range(60):
            joined = now - timedelta(days=400 - n * 6)
            left = joined + timedelta(days=90) if n % 5 == 0 else None
            subscriber = Subscriber(
                channel="whatsapp",
                user_hash=f"{n:064x}",
                user_id=None if left else f"39333{n:07d}",
                status="cancelled" if left else "active",
                subscribed_at=joined,
                cancelled_at=left,
            )
            session.add(subscriber)
            session.flush()
            session.add(
                Consent(
                    subscriber_id=subscriber.id,
                    given_at=joined,
                    policy_version="1",
                    withdrawn_at=left,
                )
            )


@pytest.fixture
def world(
    database: Database,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> Iterator[World]:
    fill_inbox(database)
    seed(database, settings)
    with admin_console(database, settings, tmp_path) as world:
        yield world


def admin_page(browser: Browser, base: str, width: int, height: int = 900) -> Page:
    return logged_in(browser, base, timeout=20_000, viewport={"width": width, "height": height})


@pytest.mark.parametrize("width", [320, 1280])
def test_the_new_pages_are_accessible_and_fit_the_screen(
    world: World, browser: Browser, width: int
) -> None:
    page = admin_page(browser, world.base, width)

    def open_details(page: Page) -> None:
        for details in page.locator("main details").all():
            details.evaluate("(d) => d.open = true")  # the tables too

    wide, inaccessible = audit(page, world.base, NEW_PAGES, prepare=open_details)
    assert wide == {}, f"{width} px: pagine più larghe dello schermo {wide}"
    assert inaccessible == {}, f"{width} px: axe-core {inaccessible}"


def test_the_charts_are_images_with_a_text_alternative(world: World, browser: Browser) -> None:
    page = admin_page(browser, world.base, 1280)
    page.goto(world.base + "/statistiche/conversazioni")
    charts = page.get_by_role("img", name="Conversazioni passate all'URP, per giorno")
    expect(charts).to_have_count(1)
    description = charts.evaluate(
        "(svg) => document.getElementById(svg.getAttribute('aria-labelledby').split(' ')[1])"
        ".textContent"
    )
    assert description.startswith("Il valore più alto:")
    page.goto(world.base + "/valutazioni")
    expect(page.get_by_text("Velocissimi anche di sabato!").first).to_be_visible()


def test_an_admin_adds_an_operator_and_reads_the_password_once(
    world: World, browser: Browser
) -> None:
    page = admin_page(browser, world.base, 1280)
    page.goto(world.base + "/operators")
    page.get_by_label("Nome e cognome").fill("Paolo Gialli")
    page.get_by_label("Nome utente").fill("paolo.gialli")
    page.get_by_label("Ruolo", exact=True).select_option("operator")
    page.get_by_role("button", name="Aggiungi l'operatore").click()
    expect(page.get_by_role("heading", name="Operatore aggiunto")).to_be_visible()
    password = page.locator(".password-temporanea code").inner_text()
    assert len(password) == 12
    page.get_by_role("link", name="Torna agli operatori").click()
    expect(page.locator('tr[data-operator="paolo.gialli"]')).to_contain_text("attivo")
    assert password not in page.content()


def test_screenshots_of_every_console_page(world: World, browser: Browser) -> None:
    docs = os.environ.get("URP_DOCS_SCREENSHOTS") == "1"
    folder = PROJECT_ROOT / ("docs/img" if docs else "results/browser")
    folder.mkdir(parents=True, exist_ok=True)
    page = admin_page(browser, world.base, 1280)
    pages = {**ALL_PAGES, f"/handoffs/{world.handoff.id}": "console-conversazione"}
    for path, name in pages.items():
        response = page.goto(world.base + path)
        assert response is not None and response.ok, path
        page.wait_for_load_state("domcontentloaded")
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    login = browser.new_context(locale="it-IT", viewport={"width": 1280, "height": 800})
    anonymous = login.new_page()
    anonymous.goto(world.base + "/login")
    anonymous.screenshot(path=str(folder / "console-accesso.png"), full_page=True)
    assert all((folder / f"{name}.png").stat().st_size > 0 for name in pages.values())
