"""Browser tests: Debian's Chromium driven by Playwright, the console on SQLite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.console.harness import World, console_world
from tests.store.conftest import settings, sqlite_template  # noqa: F401
from urp.core.db import Database
from urp.core.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
# No downloads, no background traffic: this machine reaches no web site.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless (Playwright's own browsers cannot be downloaded here)."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (apt-get install chromium)")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def world(
    sqlite_template: Path,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> Iterator[World]:
    path = tmp_path / "urp.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with console_world(database, settings) as world:
        yield world
    database.dispose()
