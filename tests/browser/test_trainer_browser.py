"""A trainer labels a message of the review inbox in a real browser, by keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_broadcast_browser import database, page  # noqa: F401
from tests.console.harness import PASSWORD, console_world
from tests.console.test_trainer import FARMACIA, fill_inbox, item_id
from tests.unit.review_log import training_copy
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT, Settings
from urp.nlu.data import read_examples

pytestmark = pytest.mark.browser

SCREENSHOT = PROJECT_ROOT / "results" / "browser" / "trainer.png"


def test_label_an_item_and_see_it_leave_the_inbox(
    database: Database,  # noqa: F811
    settings: Settings,
    page: Page,  # noqa: F811
    tmp_path: Path,
) -> None:
    training = training_copy(tmp_path / "checkout")
    fill_inbox(database)
    number = item_id(database, FARMACIA)
    with console_world(database, settings, training=training) as world:
        page.goto(world.base + "/login")
        page.get_by_label("Nome utente").fill("tina.verdi")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Accedi").click()
        page.get_by_role("link", name="Casella dei formatori").first.click()
        expect(page.get_by_role("heading", name="Casella dei formatori")).to_be_visible()

        item = page.locator(f"#messaggio-{number}")
        expect(item).to_contain_text(FARMACIA)
        # The form is reachable with labels: the suggestion is already chosen.
        intent = item.get_by_label("Intent")
        expect(intent).to_have_value("ask_pharmacy_shift")
        # By keyboard: from the text box, Tab to the intent, then to the add button.
        item.get_by_label("Testo dell'esempio").focus()
        page.keyboard.press("Tab")
        expect(intent).to_be_focused()
        page.keyboard.press("Tab")
        add = item.get_by_role("button", name="Aggiungi all'intent scelto")
        expect(add).to_be_focused()
        page.keyboard.press("Enter")

        expect(page.get_by_role("status").first).to_contain_text(
            "Aggiunto come esempio di ask_pharmacy_shift in data/nlu/pharmacy.yml"
        )
        expect(page.locator(f"#messaggio-{number}")).to_have_count(0)
        expect(page.locator("#conteggi")).to_contain_text("4 da rivedere")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert "Mario" not in page.content()
    plain = [ex.plain for ex in read_examples(training.nlu_dir / "pharmacy.yml")]
    assert FARMACIA in plain
