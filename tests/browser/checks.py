"""What the console's browser tests share: logging in as the admin of a console with
something on every page, and the two checks every page passes, axe-core finding nothing
serious and no sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.console.harness import PASSWORD, World, console_world
from tests.unit.review_log import training_copy
from urp.core.db import Database
from urp.core.settings import Settings

ADMIN = "ada.neri"
# How wide the page is drawn and how wide the screen is, and the first elements past its edge.
WIDTHS = """() => ({
  scroll: document.documentElement.scrollWidth,
  client: document.documentElement.clientWidth,
  wide: Array.from(document.querySelectorAll("body *"))
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(0, 5)
    .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
      (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "")),
})"""


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now."""
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {', '.join(str(node['target']) for node in v['nodes'])}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def too_wide(page: Page) -> dict[str, Any] | None:
    """The page's widths (``WIDTHS``) if it scrolls sideways, else None."""
    widths = page.evaluate(WIDTHS)
    return widths if widths["scroll"] > widths["client"] else None


def audit(
    page: Page,
    base: str,
    paths: Iterable[str],
    *,
    prepare: Callable[[Page], None] | None = None,
    then: Callable[[str, Page], None] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Each page in turn (``prepare``d before the checks, ``then`` after them): those
    wider than the screen and those where axe-core finds something serious, by path."""
    wide: dict[str, Any] = {}
    inaccessible: dict[str, list[str]] = {}
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.ok, path
        if prepare is not None:
            prepare(page)
        if (widths := too_wide(page)) is not None:
            wide[path] = widths
        if violations := serious_violations(page):
            inaccessible[path] = violations
        if then is not None:
            then(path, page)
    return wide, inaccessible


@contextmanager
def admin_console(database: Database, settings: Settings, tmp_path: Path) -> Iterator[World]:
    """The console on ``database`` with the trainers' data, and ADMIN among its operators."""
    with console_world(database, settings, training=training_copy(tmp_path / "nlu")) as world:
        world.operators.add(ADMIN, "Ada Neri", PASSWORD, "admin")
        yield world


def logged_in(browser: Browser, base: str, *, timeout: float, **context: Any) -> Page:
    """A new tab (``context``: Playwright's options, the viewport) with ADMIN logged in."""
    page = browser.new_context(locale="it-IT", **context).new_page()
    page.set_default_timeout(timeout)
    page.goto(base + "/login")
    page.get_by_label("Nome utente").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url(base + "/")
    return page
