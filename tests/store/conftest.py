"""Store fixtures: every database test runs on SQLite (a temporary file) and on a real
PostgreSQL (a database created for the session and dropped at the end).

PostgreSQL is the local server (127.0.0.1:5432, user postgres, trust authentication) or
the server named by ``URP_TEST_POSTGRES_URL``. If it cannot be reached the PostgreSQL
tests fail; ``URP_SKIP_POSTGRES=1`` skips them instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests.simulators.graph_api import GraphApiSimulator
from urp.core.db import Database, upgrade
from urp.core.hashing import UserHasher
from urp.core.settings import Settings, load_settings
from urp.subscription.subscribers import SubscriberService

if TYPE_CHECKING:
    from tests.store.desk import Desk

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SALT = "store-tests-salt-0123456789"
TABLES = (
    "subscribers",
    "consents",
    "subscriber_topics",
    "audit_events",
    "memos",
    "memo_items",
    "pharmacy_shifts",
    "bathing_zones",
    "calls",
    "reports",
    "report_counters",
    "operators",
    "handoffs",
    "handoff_messages",
    "handoff_notes",
    "handoff_ratings",
    "quick_replies",
    "console_sessions",
    "login_throttles",
    "web_outbox",
    "whatsapp_inbound",
    "whatsapp_contacts",
    "whatsapp_outbound",
    "inbound_deliveries",
    "broadcasts",
    "broadcast_recipients",
    "review_items",
    "review_sightings",
    "faq_entries",
    "faq_questions",
    "faq_meanings",
    "consent_events",
)
START = datetime(2024, 1, 15, 9, 30, tzinfo=UTC)


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def url_of(database: Database) -> str:
    return database.url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the whole session."""
    if os.environ.get("URP_SKIP_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests skipped (URP_SKIP_POSTGRES=1)")
    server = make_url(os.environ.get("URP_TEST_POSTGRES_URL") or POSTGRES_SERVER)
    name = f"urp_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as error:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL unreachable at {server.render_as_string(hide_password=True)}: "
            f"{error.orig}. Start it, point URP_TEST_POSTGRES_URL to a server, or set "
            "URP_SKIP_POSTGRES=1 to skip these tests.",
            pytrace=False,
        )
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        database = Database(url)
        upgrade(database)
        database.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp("template") / "urp.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()  # closing the last connection folds the WAL into the file
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated register on each database."""
    if request.param == "sqlite":
        path = tmp_path / "urp.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture
def settings() -> Settings:
    return load_settings()  # Ancona: labels "Numero 0001", default topic "memo"


@pytest.fixture
def hasher() -> UserHasher:
    return UserHasher(SALT.encode())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def service(
    database: Database, settings: Settings, hasher: UserHasher, clock: FixedClock
) -> SubscriberService:
    return SubscriberService(database, settings.subscription, hasher, clock=clock)


@pytest.fixture
def graph(database: Database) -> Iterator[GraphApiSimulator]:
    """The Graph API simulator, its statuses delivered to ``database`` as the WhatsApp
    channel would (the broadcast tests' Meta)."""
    from tests.store.broadcasts import simulator  # it imports this module: not at the top

    graph = simulator(database)
    yield graph
    graph.close()


@pytest.fixture
def desk(database: Database, settings: Settings) -> Desk:
    """The URP's side of a handed-over chat (tests/store/desk.py): queue, chat with Rasa's
    API recorded, ratings, a clock at Monday 10:00 and Mario, the operator."""
    from tests.store.desk import open_desk  # it imports this module: not at the top

    return open_desk(database, settings)


@pytest.fixture
def cli_env(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The command line pointed at the test database, with the tests' salt."""
    monkeypatch.setenv("URP_DB_URL", url_of(database))
    monkeypatch.setenv("URP_HASH_SALT", SALT)
    return database


def raw_rows(database: Database, table: str) -> list[dict[str, Any]]:
    """A table as stored, bypassing the service."""
    with database.engine.connect() as connection:
        result = connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
        return [dict(row) for row in result.mappings()]
