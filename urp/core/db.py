"""The database: one explicit place that builds the engine and hands out sessions.

SQLite in ``var/urp-<municipality>.db`` by default, PostgreSQL (or another SQLite file) with
``URP_DB_URL``. Nothing is built at import time: callers create a :class:`Database` and
hand it to the services. The schema is managed by the Alembic migrations shipped inside
the package (``urp/migrations``), so ``urp db upgrade`` works from any directory.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from urp.core.errors import OperatorError
from urp.core.settings import PROJECT_ROOT, settings_path

DEFAULT_DB_DIR = PROJECT_ROOT / "var"
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
# Seconds a SQLite writer waits for another one before giving up.
SQLITE_BUSY_TIMEOUT = 30
# A database server's pooled connection left unused this long is pinged before it is lent.
PING_AFTER_IDLE = 10.0


# In an error's text, what may be a phone number (8 digits or more, perhaps spaced or
# dashed): masked.
_NUMBER = re.compile(r"\+?\d(?:[ \-]?\d){7,}")


def hide_numbers(text: str) -> str:
    """``text`` with anything that may be a phone number masked (for errors and logs)."""
    return _NUMBER.sub("…", text)


def hide_values(engine: Any) -> None:
    """No value of a statement in ``engine``'s errors, nor in its logs (phone numbers).

    ``hide_parameters`` keeps SQLAlchemy from quoting the parameters, in its errors and in
    the statements it logs at INFO. The driver quotes values too: PostgreSQL's DETAIL
    («Failing row contains (..., 39333..., ...)»), psycopg2's LINE with the statement as
    sent, a value in the first line («value "39333..." is out of range»). So an error keeps
    its first line only, numbers masked; the constraint, SQLSTATE and the statement with
    its placeholders are still there to debug it.
    """
    engine.hide_parameters = True

    @event.listens_for(engine, "handle_error")
    def _scrub(context: Any) -> None:
        # The driver's error, and SQLAlchemy's, which quotes it in its message.
        for error in (context.original_exception, context.sqlalchemy_exception):
            if error is not None and error.args and isinstance(error.args[0], str):
                first = error.args[0].strip().split("\n", 1)[0]
                error.args = (hide_numbers(first), *error.args[1:])


class DatabaseError(OperatorError, RuntimeError):
    """The database URL is wrong, the server is unreachable or the schema is not current."""


def database_url() -> str:
    """``URP_DB_URL``, else a SQLite file under ``var/`` named after the settings file.

    One local file per municipality (``var/urp-ancona.db``, ``var/urp-arezzo.db``): trying
    another example with ``URP_SETTINGS`` never mixes two Comuni's data.
    """
    if url := os.environ.get("URP_DB_URL"):
        return url
    return f"sqlite:///{DEFAULT_DB_DIR / f'urp-{settings_path().stem}.db'}"


def _configure_sqlite(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit transactions would hide BEGIN from us: take them over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # With WAL this cannot corrupt the file; it only skips an fsync per commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that reads and then
        # writes can fail at once with "database is locked" when another writer got there
        # first, whereas BEGIN IMMEDIATE just waits its turn (busy timeout).
        write = connection.get_execution_options().get("urp_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _ping_when_idle(engine: Any) -> None:
    """SQLAlchemy's pre-ping, for the connections that sat unused in the pool a while.

    A pooled connection may have died while it waited: the server restarted, a proxy or a
    firewall dropped it. ``pool_pre_ping`` finds out with a round trip before every
    checkout, one more query for every transaction. Here only a connection idle for
    ``PING_AFTER_IDLE`` seconds is pinged; a dead one is replaced before anyone uses it.
    A connection returned moments ago is lent as it is: if the server went down in
    between, that query fails as any query in flight would, and SQLAlchemy renews the
    whole pool, so the next transaction gets a fresh connection.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["urp_returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _lent(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("urp_returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE:
            return  # just opened, or in use moments ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)  # False: disconnected
        except engine.dialect.dbapi.Error as error:
            raise DisconnectionError("connessione al database caduta") from error
        if not alive:
            raise DisconnectionError("connessione al database caduta")


class Database:
    """An engine and its session factories for one database URL."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as error:
            raise DatabaseError(f"indirizzo del database non valido: {error}") from error
        options: dict[str, Any] = {"future": True, "hide_parameters": True}
        if parsed.get_backend_name() == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                # Every pooled connection would see its own, empty database.
                raise DatabaseError("SQLite in memoria non è supportato: indica un file")
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            options |= {
                "poolclass": QueuePool,
                "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT},
            }
        try:
            self.engine = create_engine(parsed, **options)
        except (ArgumentError, ImportError) as error:
            raise DatabaseError(
                f"database non supportato ({parsed.drivername}): {error}"
            ) from error
        hide_values(self.engine)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        else:
            _ping_when_idle(self.engine)  # survive a server restart under a long-running app
        self.url = parsed
        self._reader_engine = self.engine
        if self.dialect == "postgresql":
            # At PostgreSQL's default READ COMMITTED each statement sees what was committed when
            # it began, inside a transaction or not. Readers skip BEGIN and COMMIT, two
            # round trips of the three a one-query read cost (docs/performance.md). Their
            # own pool: switching a connection to autocommit and back costs a round trip.
            self._reader_engine = create_engine(parsed, isolation_level="AUTOCOMMIT", **options)
            hide_values(self._reader_engine)
            _ping_when_idle(self._reader_engine)
        self._readers = sessionmaker(self._reader_engine, future=True, expire_on_commit=False)
        self._writers = sessionmaker(
            self.engine.execution_options(urp_write=True), future=True, expire_on_commit=False
        )

    @classmethod
    def from_environment(cls) -> Database:
        """The database named by ``URP_DB_URL`` (see :func:`database_url`)."""
        return cls(database_url())

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upsert_insert(self, table: Any) -> Any:
        """The dialect's INSERT that supports ``on_conflict_do_nothing``/``_do_update``.

        Races are settled by the database's unique constraints this way, never by a
        check-then-insert.
        """
        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if self.dialect not in dialects:
            raise DatabaseError(f"database non supportato: {self.dialect}")
        return dialects[self.dialect](table)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        factory = self._writers if write else self._readers
        try:
            with factory() as session, session.begin():
                yield session
        except OperationalError as error:
            raise DatabaseError(
                f"database non raggiungibile o occupato ({self.describe()}): {error.orig}"
            ) from error

    def describe(self) -> str:
        """The URL without its password, for messages to operators."""
        return self.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()
        self._reader_engine.dispose()


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """What Alembic compares: not SQLite's internal table behind AUTOINCREMENT."""
    return not (type_ == "table" and name == "sqlite_sequence")


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that migrates ``connection`` with the packaged scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(database: Database) -> str | None:
    """The schema revision the database is at (None: never migrated)."""
    try:
        with database.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as error:
        raise DatabaseError(
            f"database non raggiungibile ({database.describe()}): {error}"
        ) from error


def upgrade(database: Database, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (``urp db upgrade``)."""
    try:
        # As a writer: two processes starting together migrate one after the other.
        with database.engine.execution_options(urp_write=True).begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    except SQLAlchemyError as error:
        raise DatabaseError(f"migrazione non riuscita ({database.describe()}): {error}") from error


def require_current_schema(database: Database) -> None:
    """Fail with an operator-friendly message unless the schema is at the latest revision."""
    current = current_revision(database)
    if current != head_revision():
        raise DatabaseError(
            f"lo schema del database {database.describe()} non è aggiornato "
            f"(revisione {current or 'nessuna'}, attesa {head_revision()}): "
            "esegui `urp db upgrade`"
        )
