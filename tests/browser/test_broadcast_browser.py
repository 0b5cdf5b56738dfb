"""The office publishes the memo from the console in a real browser and watches it go out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import launch
from tests.console.harness import PASSWORD, console_world
from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import per_recipient, simulator, subscribe, worker
from tests.store.conftest import SALT
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import PROJECT_ROOT, Settings
from urp.subscription.subscribers import SubscriberService

pytestmark = pytest.mark.browser

SCREENSHOT = PROJECT_ROOT / "results" / "browser" / "broadcast.png"


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "urp.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def graph(database: Database) -> Iterator[GraphApiSimulator]:
    graph = simulator(database)
    yield graph
    graph.close()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(locale="it-IT", viewport={"width": 1280, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def test_compose_preview_publish_and_follow_the_memo(
    database: Database, settings: Settings, graph: GraphApiSimulator, page: Page
) -> None:
    engine, _ = worker(database, graph.url)
    with console_world(database, settings, worker=engine) as world:
        register = SubscriberService(database, settings.subscription, UserHasher(SALT.encode()))
        numbers = subscribe(register, 6, "memo")
        page.goto(world.base + "/login")
        page.get_by_label("Nome utente").fill("mario.rossi")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Accedi").click()
        page.goto(world.base + "/broadcasts/new")

        page.get_by_label("Titolo").first.fill("Mercatino di Natale")
        page.get_by_label("Testo").first.fill("Sabato in piazza del Plebiscito, dalle 9 alle 20.")
        page.get_by_label("Link").first.fill("https://www.comune.ancona.gov.it/eventi")
        # The preview is WhatsApp's: the title in bold, as format_memo writes it.
        preview = page.locator("#memo-preview")
        expect(preview.locator("strong", has_text="MERCATINO DI NATALE")).to_be_visible()
        expect(page.locator("#memo-recipients")).to_contain_text("6")

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Pubblica e invia").click()
        expect(page.get_by_text("pubblicato: invio a 6 iscritti")).to_be_visible()
        # The counts follow the worker without a reload, up to every subscriber.
        expect(page.locator("main")).to_contain_text("concluso", timeout=30_000)
        expect(page.get_by_role("button", name="Annulla l'invio")).to_be_hidden()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert "39333" not in page.content()  # never a phone number
    assert per_recipient(graph, numbers) == dict.fromkeys(numbers, 1)
