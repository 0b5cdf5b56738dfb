"""Pooled PostgreSQL connections: checked with a round trip only after sitting idle, and a
connection the server dropped never fails more than the one query that was using it.
No statement's values (phone numbers) in a database error or log, on every engine."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from stores.tracker import IncrementalSQLTrackerStore
from tests.store.conftest import url_of
from tests.unit.test_stores_tracker import DOMAIN
from urp.core import db
from urp.core.db import Database, DatabaseError

NUMBER = "393331234567"


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    yield database
    database.dispose()


def pings(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counted: list[int] = []
    dialect = type(database.engine.dialect)
    real = dialect.do_ping

    def counting(self, dbapi_connection):  # type: ignore[no-untyped-def]
        counted.append(1)
        return real(self, dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return counted


def backend(database: Database, *, write: bool) -> int:
    with database.transaction(write=write) as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def drop_connection(database: Database, pid: int) -> None:
    """As a server restart or a firewall does, from outside the pool."""
    other = Database(database.url.render_as_string(hide_password=False))
    with other.transaction(write=True) as session:
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


@pytest.mark.parametrize("write", [False, True])
def test_a_connection_in_use_moments_ago_is_lent_without_a_round_trip(
    postgres: Database, monkeypatch: pytest.MonkeyPatch, write: bool
) -> None:
    counted = pings(postgres, monkeypatch)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 1e9)  # however slow the machine: moments ago
    first = backend(postgres, write=write)
    for _ in range(5):
        assert backend(postgres, write=write) == first  # the same pooled connection
    assert counted == []


@pytest.mark.parametrize("write", [False, True])
def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    postgres: Database, monkeypatch: pytest.MonkeyPatch, write: bool
) -> None:
    counted = pings(postgres, monkeypatch)
    dropped = backend(postgres, write=write)
    drop_connection(postgres, dropped)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # it has been idle long enough
    assert backend(postgres, write=write) != dropped  # no error: a new connection
    assert len(counted) == 1


def test_a_connection_dropped_while_in_use_fails_one_query_only(
    postgres: Database,
) -> None:
    dropped = backend(postgres, write=False)
    drop_connection(postgres, dropped)
    with pytest.raises(DatabaseError):  # the citizen gets an apology
        backend(postgres, write=False)
    assert backend(postgres, write=False) != dropped


def failing_statements(database: Database) -> list[Exception]:
    """Statements refused with a phone number among their values, as errors are raised."""
    errors: list[Exception] = []
    statements = [
        # A row refused: PostgreSQL's DETAIL quotes it whole.
        (
            True,
            "CREATE TEMP TABLE citizens (user_id TEXT NOT NULL, n INTEGER CHECK (n > 0))",
            "INSERT INTO citizens VALUES (:number, -1)",
        ),
        # A value refused: quoted in the error's first line, and in psycopg2's LINE.
        (False, None, "SELECT CAST(:number AS INTEGER) + (SELECT 1 FROM nowhere)"),
    ]
    for write, setup, statement in statements:
        try:
            with database.transaction(write=write) as session:
                if setup:
                    session.execute(text(setup))
                session.execute(text(statement), {"number": NUMBER})
        except (SQLAlchemyError, DatabaseError) as error:
            errors.append(error)
    return errors


def test_no_phone_number_in_sql_errors_or_logs_at_any_level(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # SQLAlchemy then logs every statement (echo)
    fresh = Database(url_of(database))  # its connections see that level
    errors = failing_statements(fresh)
    fresh.dispose()
    assert len(errors) == 2
    for error in errors:
        logging.getLogger("urp").error("Errore del database", exc_info=error)
        assert NUMBER not in str(error) and NUMBER not in repr(error.__cause__)
    assert "SELECT CAST" in caplog.text  # the statements were logged, and the errors
    assert NUMBER not in caplog.text


def test_no_phone_number_in_the_tracker_store_s_sql_errors_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    refused = "SELECT * FROM events WHERE sender_id = :sender AND nothing = 1"
    for engine in (store.engine, store.autocommit_engine):  # Rasa's, and the store's own
        with pytest.raises(SQLAlchemyError) as failed, engine.connect() as connection:
            connection.execute(text(refused), {"sender": NUMBER})
        logging.getLogger("stores").error("Errore", exc_info=failed.value)
        assert NUMBER not in str(failed.value)
    store.engine.dispose()
    store.autocommit_engine.dispose()
    assert NUMBER not in caplog.text
