"""Fixtures of the action tests: a frozen clock, a migrated store, the example offices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions import clock, services
from urp.core.db import Database, upgrade
from urp.core.settings import load_settings
from urp.examples import load_examples

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture
def at() -> Iterator[Callable[..., None]]:
    """Freeze the actions' clock: ``at(2026, 11, 25, 9, 30)`` is that time in Rome."""

    def freeze(*args: int) -> None:
        clock.now_override = datetime(*args, tzinfo=ROME)

    yield freeze
    clock.now_override = None


@pytest.fixture
def actions_store(tmp_path, monkeypatch) -> Iterator[Database]:
    """The actions' services on a new, migrated SQLite store with a test salt."""
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path / 'urp.db'}")
    monkeypatch.setenv("URP_HASH_SALT", "sale-di-prova-abbastanza-lungo")
    services.database.cache_clear()
    services.user_hasher.cache_clear()
    database = services.database()
    upgrade(database)
    yield database
    database.dispose()
    services.database.cache_clear()
    services.user_hasher.cache_clear()


def _office(monkeypatch: pytest.MonkeyPatch, database: Database, settings_file: str) -> Database:
    """Point the actions at ``settings_file`` and load its example data into the store."""
    monkeypatch.setenv("URP_SETTINGS", settings_file)
    settings = load_settings(settings_file)
    load_examples(database, settings, settings.example_data)
    return database


@pytest.fixture
def ancona_office(monkeypatch, actions_store: Database) -> Database:
    """The shipped Ancona example: its settings and its office's data in the store."""
    return _office(monkeypatch, actions_store, "settings/ancona.yml")


@pytest.fixture
def arezzo_office(monkeypatch, actions_store: Database) -> Database:
    """The shipped Arezzo example: its settings and its office's data in the store."""
    return _office(monkeypatch, actions_store, "settings/arezzo.yml")
