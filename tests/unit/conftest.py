"""Fixtures of the action tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions import clock, services
from urp.core.db import Database, upgrade

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
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path / 'urp.core.db'}")
    monkeypatch.setenv("URP_HASH_SALT", "sale-di-prova-abbastanza-lungo")
    services.database.cache_clear()
    services.user_hasher.cache_clear()
    database = services.database()
    upgrade(database)
    yield database
    database.dispose()
    services.database.cache_clear()
    services.user_hasher.cache_clear()
