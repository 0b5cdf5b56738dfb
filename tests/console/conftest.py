"""Console fixtures: the real app on a free port, on SQLite and PostgreSQL (the store's
fixtures), with a recording fake of Rasa (see :mod:`tests.console.harness`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.console.harness import World, console_world
from tests.store.conftest import database, postgres_url, settings, sqlite_template  # noqa: F401
from urp.core.db import Database
from urp.core.settings import Settings


@pytest.fixture
def world(database: Database, settings: Settings) -> Iterator[World]:  # noqa: F811
    with console_world(database, settings) as world:
        yield world
