"""The production tracker store on a real PostgreSQL: the conversation Rasa's own store
reads back, one statement per read and per write with no transaction around it, the
event loop free while PostgreSQL makes it wait, and two replicas keeping one conversation."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import EventVerbosity
from sqlalchemy.engine import make_url

from stores.tracker import SENDER_ORDER_INDEX, IncrementalSQLTrackerStore
from tests.store.conftest import POSTGRES_SERVER
from tests.unit.test_stores_tracker import DOMAIN, RecordingBroker, converse, message


@pytest.fixture
def tracker_url() -> Iterator[sa.engine.URL]:
    """An empty database of its own for Rasa's ``events`` table."""
    if os.environ.get("URP_SKIP_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests skipped (URP_SKIP_POSTGRES=1)")
    server = make_url(os.environ.get("URP_TEST_POSTGRES_URL") or POSTGRES_SERVER)
    name = f"urp_test_tracker_{secrets.token_hex(6)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def store_on(
    url: sa.engine.URL, kind: type = IncrementalSQLTrackerStore, **kwargs
) -> SQLTrackerStore:
    return kind(
        DOMAIN,
        dialect="postgresql",
        host=url.host,
        port=url.port,
        db=url.database,
        username=url.username,
        password=url.password,
        **kwargs,
    )


def dispose(store: IncrementalSQLTrackerStore) -> None:
    store.engine.dispose()
    store.autocommit_engine.dispose()


def test_the_conversation_reads_back_as_rasas_store_reads_it(tracker_url: sa.engine.URL) -> None:
    broker = RecordingBroker()
    ours = store_on(tracker_url, event_broker=broker)
    asyncio.run(converse(ours, "cittadino", time.time() + 10, saves=2))
    rasas = store_on(tracker_url, SQLTrackerStore)
    for fetch in ("retrieve", "retrieve_full_tracker"):
        theirs = asyncio.run(getattr(rasas, fetch)("cittadino"))
        mine = asyncio.run(getattr(ours, fetch)("cittadino"))
        assert list(mine.events) == list(theirs.events)
    full = asyncio.run(ours.retrieve_full_tracker("cittadino"))
    assert len(full.events) == 1 + 3 + 3 * 5 + 4 + 5  # saved twice, stored once
    assert len(broker.published) == len(full.events)
    dispose(ours)
    rasas.engine.dispose()


def test_each_read_and_write_is_one_statement_outside_a_transaction(
    tracker_url: sa.engine.URL,
) -> None:
    store = store_on(tracker_url)
    asyncio.run(converse(store, "cittadino", time.time() + 10))
    statements: list[tuple[str, bool]] = []

    def record(connection, cursor, statement, *rest) -> None:
        # psycopg2 opens a transaction by itself unless the connection is in autocommit.
        statements.append((statement.split()[0], cursor.connection.autocommit))

    sa.event.listen(store.autocommit_engine, "before_cursor_execute", record)
    tracker = asyncio.run(store.retrieve("cittadino"))
    assert statements == [("SELECT", True)]
    for event in message("ancora", time.time() + 7200):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    assert statements == [("SELECT", True), ("INSERT", True)]
    assert len(asyncio.run(store.retrieve("cittadino")).events) == len(tracker.events)
    dispose(store)


def test_the_event_loop_runs_on_while_postgresql_makes_a_read_wait(
    tracker_url: sa.engine.URL,
) -> None:
    store = store_on(tracker_url)
    asyncio.run(converse(store, "cittadino", time.time() + 10))
    # Another session holds the table: the read waits until the loop, running meanwhile,
    # sees it waiting and lets go (or a minute, if a blocking read froze the loop).
    holder = sa.create_engine(tracker_url, future=True).connect()
    holder.exec_driver_sql("BEGIN")
    holder.exec_driver_sql("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
    watcher = sa.create_engine(tracker_url, future=True)
    release = threading.Timer(60, holder.rollback)

    def read_is_waiting() -> bool:
        with watcher.connect() as connection:
            waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
            return bool(connection.exec_driver_sql(waiting).scalar())

    async def read_while_the_loop_runs() -> tuple[bool, int]:
        reading = asyncio.create_task(store.retrieve("cittadino"))
        release.start()
        while not reading.done() and not read_is_waiting():
            await asyncio.sleep(0.01)
        loop_ran_while_reading = not reading.done()
        if release.is_alive():
            release.cancel()
            holder.rollback()
        return loop_ran_while_reading, len((await reading).events)

    try:
        loop_ran_while_reading, events = asyncio.run(read_while_the_loop_runs())
    finally:
        release.cancel()
        holder.close()
        watcher.dispose()
        dispose(store)
    assert events == 3 + 5  # the latest session, from its SessionStarted
    assert loop_ran_while_reading  # a read on the event loop itself would have frozen it


def test_two_replicas_keep_the_conversation_each_as_a_full_read_builds_it(
    tracker_url: sa.engine.URL,
) -> None:
    """Messages of one conversation alternate between two replicas' stores: each reads
    only the rows after the latest it knows, and hands out what Rasa's store reads."""
    replicas = (store_on(tracker_url), store_on(tracker_url))
    rasas = store_on(tracker_url, SQLTrackerStore)
    asyncio.run(converse(replicas[0], "cittadino", time.time() - 7200))
    reads: list[str] = []
    for replica in replicas:
        sa.event.listen(
            replica.autocommit_engine,
            "before_cursor_execute",
            lambda conn, cursor, statement, *rest: reads.append(" ".join(statement.split())),
        )
    try:
        for number in range(6):
            replica = replicas[number % 2]
            tracker = asyncio.run(replica.retrieve("cittadino"))
            theirs = asyncio.run(rasas.retrieve("cittadino"))
            assert tracker.current_state(EventVerbosity.ALL) == theirs.current_state(
                EventVerbosity.ALL
            )
            for event in message(f"messaggio {number}", time.time()):
                tracker.update(event)
            asyncio.run(replica.save(tracker))
    finally:
        for store in replicas:
            dispose(store)
        rasas.engine.dispose()
    selects = [read for read in reads if read.startswith("SELECT")]
    # The second replica reads the conversation in full once; every other read is short.
    assert len(selects) == 6
    assert sum("events.id >=" in read for read in selects) == 4


def test_replicas_starting_together_leave_one_valid_index_by_sender_and_order(
    tracker_url: sa.engine.URL,
) -> None:
    rasas = store_on(tracker_url, SQLTrackerStore)
    asyncio.run(converse(rasas, "cittadino", time.time() + 10))
    rasas.engine.dispose()
    gate = threading.Barrier(3)
    stores: list[IncrementalSQLTrackerStore] = []

    def start() -> None:
        gate.wait()
        stores.append(store_on(tracker_url))

    starting = [threading.Thread(target=start) for _ in range(3)]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join()
    assert len(stores) == 3
    with stores[0].autocommit_engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT indexdef, indisvalid FROM pg_indexes JOIN pg_index"
            " ON pg_index.indexrelid = (schemaname || '.' || indexname)::regclass"
            f" WHERE tablename = 'events' AND indexname = '{SENDER_ORDER_INDEX}'"
        ).all()
    assert len(found) == 1
    assert found[0][0].endswith("(sender_id, id)") and found[0][1]
    for store in stores:
        assert len(asyncio.run(store.retrieve("cittadino")).events) == 3 + 5
        dispose(store)
