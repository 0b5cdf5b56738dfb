"""Rasa's SQL tracker store, without reading a conversation back to save it.

Rasa 3.6's ``SQLTrackerStore`` saves a conversation in three steps: it reads the whole
conversation back from the database and rebuilds it, to find which events are new for the
event broker; it counts the conversation's stored events, to find which are new for the
table; then it writes them. Both questions have the same answer, known already: the
events that were in the conversation when it was read at the start of the message. Here
the store remembers that number on the conversation it hands out and saves only what came
after it, with no read and no count. It reads a conversation's events as JSON, not as
whole ORM rows, writes the new ones in one INSERT, and finds each event's class in a table
instead of Rasa's walk through every subclass of ``Event`` for every event. Together,
about half the tracker store's cost per message (docs/performance.md). Rows, columns,
queries and the events on the broker are Rasa's.

Each read and each write is one SQL statement, run outside a transaction (autocommit): one
round trip to PostgreSQL instead of three (BEGIN, the statement, COMMIT or ROLLBACK). A
single statement is atomic and sees one snapshot by itself, so nothing changes in what is
read or written. On a database server the round trips wait in a worker thread, not on
Rasa's event loop (Rasa 3.6 calls SQLAlchemy directly from it): while PostgreSQL answers or
flushes a commit to disk, the replica goes on with the other conversations' messages.

On SQLite (the embedded default of `make run`) the file is in write-ahead-log mode with
``synchronous=NORMAL``, SQLite's advice for it: a commit no longer waits for the disk twice,
readers (the console's purge, ``urp review collect``) never block the server, and a crash
of the server loses nothing; only a power cut can lose the last messages.

A conversation this store did not read (a new one, or one rebuilt by the HTTP API) is
saved the Rasa way, and remembered from then on. Messages of one conversation are handled
one at a time (the lock store, across replicas too), so what was read is what is stored.

endpoints.yml and endpoints.prod.yml name it with Rasa's own SQL settings::

    tracker_store:
      type: stores.tracker.IncrementalSQLTrackerStore
      dialect: sqlite
      db: ...
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

# The number of a conversation's events already in the table, kept on the tracker itself.
STORED = "_urp_stored_events"
_EVENT_CLASSES: dict[str, type[Event] | None] = {}


def deserialise_events(serialised: Iterable[dict[str, Any]]) -> list[Event]:
    """Rasa's ``deserialise_events``, each event's class looked up once per process."""
    events = []
    for parameters in serialised:
        name = parameters.get("event")
        if name is None:
            continue
        if name not in _EVENT_CLASSES:
            # Rasa's answer: a class, None for the old "topic" events, ValueError if unknown.
            _EVENT_CLASSES[name] = Event.resolve_by_type(name)
        kind = _EVENT_CLASSES[name]
        event = kind._from_parameters(parameters) if kind is not None else None
        if event is None:
            logger.warning("Evento del tracker store non ricostruito (tipo %s)", name)
        else:
            events.append(event)
    return events


def new_events(tracker: DialogueStateTracker) -> list[Event] | None:
    """The events of ``tracker`` not stored yet, if this store knows which they are."""
    stored = getattr(tracker, STORED, None)
    if stored is None or stored > len(tracker.events) or tracker._max_event_history:
        return None  # a bounded history loses old events: only Rasa's count is right
    return list(itertools.islice(tracker.events, stored, None))


def _write_ahead_log(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class IncrementalSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _write_ahead_log)
            self.engine.dispose()  # connections opened while creating the table: new ones
        # One statement at a time, each its own transaction (module docstring), on an engine
        # of its own: switching a pooled connection to autocommit and back costs psycopg2 a
        # round trip each time.
        self.autocommit_engine = sa.create_engine(
            self.engine.url, isolation_level="AUTOCOMMIT", **create_engine_kwargs(self.engine.url)
        )
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.autocommit_engine, "connect", _write_ahead_log)
        self._statements = sa.orm.sessionmaker(bind=self.autocommit_engine)
        # A database server's round trips wait off the event loop; an SQLite file answers
        # faster than a thread would start (and an in-memory one lives in one thread only).
        self._off_loop = self.engine.dialect.name != "sqlite"

    async def _run(self, work: Any, *args: Any) -> Any:
        if self._off_loop:
            return await asyncio.to_thread(work, *args)
        return work(*args)

    def _read(self, sender_id: str, fetch_events_from_all_sessions: bool) -> list[Event]:
        """Rasa's query, reading only the events' JSON rather than whole ORM rows."""
        with self._statements() as session:
            query = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).with_entities(self.SQLEvent.data)
            return deserialise_events(json.loads(data) for (data,) in query)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        # Rasa's rows, in one INSERT of many values rather than one ORM object each.
        with self._statements() as session:
            session.execute(sa.insert(self.SQLEvent.__table__), rows)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        events = await self._run(self._read, sender_id, fetch_events_from_all_sessions)
        if not self.domain or not events:
            return None
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        # Rasa saves what follows the latest session's start: a full history counts more.
        if not fetch_events_from_all_sessions:
            setattr(tracker, STORED, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        new = new_events(tracker)
        if new is None:
            await super().save(tracker)
        else:
            if self.event_broker is not None:
                await self._stream_new_events(self.event_broker, new, tracker.sender_id)
            if new:
                await self._run(self._insert, [_row(tracker.sender_id, event) for event in new])
        setattr(tracker, STORED, len(tracker.events))


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """The columns ``SQLTrackerStore.save`` fills for an event."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
