"""The office's FAQ in a real browser: a trainer adds an entry and finds it, an operator
saves a reply as a draft, the trainer edits and publishes it; every page passes axe-core."""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.test_broadcast_browser import database, page  # noqa: F401
from tests.console.harness import PASSWORD, console_world
from tests.console.test_faq import fill
from tests.unit.review_log import training_copy
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT, Settings
from urp.faq.store import FaqService

pytestmark = pytest.mark.browser

SCREENSHOT = PROJECT_ROOT / "results" / "browser" / "faq.png"
QUESTION = "Buongiorno, sono Giulia Bianchi: il centro estivo quando apre? 3339876543"
MASKED = "Buongiorno, sono [nome]: il centro estivo quando apre? [telefono]"
LIBRARY = "La *Biblioteca Benincasa* è aperta dal lunedì al sabato, dalle 9 alle 19. 📚"
REPLY = "Il centro estivo apre il 16 giugno: iscrizioni all'Ufficio Scuola, 071 222 3344."


def accessible(tab: Page) -> None:
    """No axe-core violation on the page as it is now."""
    results = Axe().run(tab)
    assert results.violations_count == 0, results.generate_report()


def log_in(tab: Page, base: str, username: str) -> None:
    tab.goto(base + "/login")
    tab.get_by_label("Nome utente").fill(username)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Accedi").click()


def log_out(tab: Page) -> None:
    tab.get_by_role("button", name="Esci").click()
    expect(tab.get_by_label("Nome utente")).to_be_visible()


def test_add_search_and_publish_an_operators_reply(
    database: Database,  # noqa: F811
    settings: Settings,
    page: Page,  # noqa: F811
    tmp_path: Path,
) -> None:
    fill(database)
    training = training_copy(tmp_path / "checkout")
    faq = FaqService(database)
    with console_world(database, settings, training=training) as world:
        # A trainer adds an entry, watching the answer's counter.
        log_in(page, world.base, "tina.verdi")
        page.get_by_role("link", name="FAQ", exact=True).click()
        expect(page.get_by_role("heading", name="Domande frequenti (FAQ)")).to_be_visible()
        accessible(page)
        page.get_by_role("link", name="Nuova voce").click()
        page.get_by_label("Domande, una per riga").fill(
            "Orari della biblioteca\nquando apre la biblioteca\nbiblioteca aperta il sabato?"
        )
        answer = page.get_by_label("Risposta", exact=True)
        answer.fill(LIBRARY)
        expect(page.locator("#risposta-conteggio")).to_have_text(f"{len(LIBRARY)}/700 caratteri")
        answer.fill("x" * 701)
        expect(page.locator("#risposta-conteggio")).to_have_class(
            "form-text text-danger fw-semibold"
        )
        answer.fill(LIBRARY)
        page.get_by_label("Link alla pagina del Comune (facoltativo)").fill(
            "https://www.comune.ancona.gov.it/biblioteca"
        )
        page.get_by_label("Tema (facoltativo)").fill("cultura")
        accessible(page)
        page.get_by_role("button", name="Pubblica").click()
        expect(page.get_by_role("status").first).to_contain_text(
            "Voce «Orari della biblioteca» aggiunta e pubblicata"
        )

        # ... and finds it again.
        page.get_by_label("Cerca nel testo").fill("benincasa")
        page.get_by_role("button", name="Cerca").click()
        rows = page.locator("#voci tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Orari della biblioteca")
        expect(rows.first).to_contain_text("pubblicata")
        page.goto(world.base + "/faq/senza-risposta")
        expect(page.get_by_role("heading", name="Domande senza risposta")).to_be_visible()
        accessible(page)
        log_out(page)

        # An operator saves a reply to a citizen as a draft.
        world.handoffs.add_message(world.handoff.id, "citizen", QUESTION)
        log_in(page, world.base, "mario.rossi")
        page.get_by_role("button", name="Prendi in carico").click()
        page.get_by_label("La tua risposta al cittadino").fill(REPLY)
        page.get_by_role("button", name="Invia").click()
        save = page.get_by_role("button", name="Salva come FAQ (bozza)")
        expect(save).to_have_count(1)
        accessible(page)
        save.click()
        expect(page.get_by_role("status").first).to_contain_text(
            f"Salvata come bozza FAQ: «{MASKED}»"
        )
        log_out(page)

        # The trainer finds the draft, shortens it and publishes it.
        log_in(page, world.base, "tina.verdi")
        page.goto(world.base + "/faq")
        page.get_by_label("Stato").select_option(label="Bozze")
        page.get_by_role("button", name="Cerca").click()
        page.get_by_role("link", name=MASKED).click()
        expect(page.get_by_text("È una bozza")).to_be_visible()
        page.get_by_label("Domande, una per riga").fill(
            "Quando apre il centro estivo?\nil centro estivo quando apre?"
        )
        page.get_by_label("Tema (facoltativo)").fill("scuola")
        accessible(page)
        page.get_by_role("button", name="Salva e pubblica").click()
        expect(page.get_by_role("status").first).to_contain_text(
            "Voce «Quando apre il centro estivo?» salvata e pubblicata"
        )
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert "Giulia" not in page.content()
    [entry] = [e for e in faq.entries() if e.topic == "scuola"]
    assert entry.questions == ("Quando apre il centro estivo?", "il centro estivo quando apre?")
    assert entry.answer == REPLY
    assert (entry.status, entry.updated_by) == ("published", "tina.verdi")
