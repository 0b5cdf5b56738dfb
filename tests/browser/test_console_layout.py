"""The console is readable as drawn: no label over its field, no sideways scrolling on a
phone (320 px) or at 400% zoom (a 1280 px screen seen through 320 CSS px, WCAG 1.4.10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.checks import (
    admin_console,
    audit,
    logged_in,
    serious_violations,
    too_wide,
)
from tests.browser.test_broadcast_browser import database  # noqa: F401
from tests.console.harness import World
from tests.console.test_trainer import fill_inbox
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "results" / "browser"
# The value of each field of the compose page, typed as an operator would.
FILLED = {
    "#memo-date": "07/12/2026",
    "#memo-header": "Le notizie della settimana",
    "#item-1-title": "Mercatino di Natale",
    "#item-1-text": "Sabato in piazza del Plebiscito, dalle 9 alle 20.",
    "#item-1-link": "https://www.comune.ancona.gov.it/eventi",
    "#emergency-text": "Allerta meteo arancione: scuole chiuse domani.",
}
# What the browser measures: each field and the box of its label's text.
BOXES = """() => Array.from(document.querySelectorAll("main label[for]")).map((label) => {
  const field = document.getElementById(label.htmlFor);
  if (!field || field.type === "checkbox" || field.type === "radio" || !field.offsetParent) {
    return null;
  }
  const range = document.createRange();
  range.selectNodeContents(label);
  const text = range.getBoundingClientRect();
  const box = field.getBoundingClientRect();
  return {
    id: field.id,
    label: [text.left, text.top, text.right, text.bottom],
    field: [box.left, box.top, box.right, box.bottom],
  };
}).filter(Boolean)"""


def overlap(label: list[float], field: list[float]) -> float:
    """How far (in px) the label's text reaches into its field; boxes are (left, top,
    right, bottom). The text box holds the font's whole descent, below the letters:
    Bootstrap Italia's select label dips into it by under a pixel, drawing nothing."""
    width = min(label[2], field[2]) - max(label[0], field[0])
    height = min(label[3], field[3]) - max(label[1], field[1])
    return height if width > 0 and height > 1 else 0


@pytest.fixture
def world(
    database: Database,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> Iterator[World]:
    """Every page of the console has something on it: a chat, the trainers' inbox, an admin."""
    fill_inbox(database)
    with admin_console(database, settings, tmp_path) as world:
        yield world


@pytest.mark.parametrize("width", [1280, 320])
def test_no_label_is_drawn_over_its_field(world: World, browser: Browser, width: int) -> None:
    page = logged_in(browser, world.base, timeout=15_000, viewport={"width": width, "height": 900})
    page.goto(world.base + "/broadcasts/new")
    page.wait_for_load_state("networkidle")
    # Empty, then filled: a floating label may sit well on one and over the other.
    for state in ("vuoto", "compilato"):
        if state == "compilato":
            for selector, value in FILLED.items():
                page.fill(selector, value)
            page.select_option("#item-1-topic", index=1)
            page.select_option("#emergency-topic", index=1)
            page.locator("h1").click()  # the focus leaves the last field
        boxes = page.evaluate(BOXES)
        assert {box["id"] for box in boxes} >= {
            "memo-date",
            "memo-header",
            "item-1-title",
            "item-1-text",
            "item-1-link",
            "item-1-topic",
            "emergency-topic",
            "emergency-text",
        }
        drawn_over = [box["id"] for box in boxes if overlap(box["label"], box["field"]) > 0]
        assert drawn_over == [], f"{state} a {width} px: etichette sopra i campi {drawn_over}"
        assert serious_violations(page) == [], f"{state} a {width} px"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"compose-{width}.png"), full_page=True)


# A phone, and a 1280x1024 screen at 400% zoom (Chromium then lays pages out in 320x256).
SCREENS = {
    "telefono": {"viewport": {"width": 320, "height": 640}},
    "zoom-400": {"viewport": {"width": 320, "height": 256}, "device_scale_factor": 4},
}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_no_page_scrolls_sideways(world: World, browser: Browser, screen: str) -> None:
    page = logged_in(browser, world.base, timeout=15_000, **SCREENS[screen])
    pages = [
        "/",
        f"/handoffs/{world.handoff.id}",
        "/broadcasts",
        "/broadcasts/new",
        "/formazione",
        "/faq",
        "/faq/nuova",
        "/faq/senza-risposta",
        "/operators",
        "/account",
        "/storico",
    ]

    def screenshot(path: str, page: Page) -> None:
        if path == "/":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"console-{screen}.png"), full_page=True)

    wide, inaccessible = audit(page, world.base, pages, then=screenshot)
    # The login page, logged out.
    anonymous = browser.new_context(locale="it-IT", **SCREENS[screen]).new_page()
    anonymous.goto(world.base + "/login")
    if (widths := too_wide(anonymous)) is not None:
        wide["/login"] = widths
    assert wide == {}, f"{screen}: pagine più larghe dello schermo {wide}"
    assert inaccessible == {}, f"{screen}: axe-core {inaccessible}"
