"""Pooled PostgreSQL connections: checked with a round trip only after sitting idle, and a
connection the server dropped never fails more than the one query that was using it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from urp import db
from urp.db import Database, DatabaseError


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
