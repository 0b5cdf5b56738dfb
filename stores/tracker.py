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
saved the Rasa way, and remembered from then on.

Each replica also keeps the conversations it saved last (``URP_TRACKER_CACHE``, 1,000 by
default, 0 turns it off; each until 10 minutes after its save): the next message of a
conversation reads only the rows added after the latest one it knows, with that row
itself as a check, instead of every event of the session. When the row is gone (a purge,
an erasure), when the rows in between are not the ones this replica wrote, or when
another replica started a new session, the conversation is read in full as before. Rows
written meanwhile by the other replicas are applied to the kept conversation, as Rasa's
rebuild applies every event. The conversation handed out is the one a full read would
build: the same events, the same state. It leaves the cache while a message uses it and
comes back when it is saved, so a message that fails before saving leaves nothing
behind. The retention purge deletes events older than the retention period (months) and
leaves the newer ones: only a session that went on for months without an hour of silence
(session_expiration_time) would keep, in its copy here, events the purge deleted, until
it paused for 10 minutes.

Rasa indexes the table by ``sender_id`` alone: every read of a conversation walks all the
rows a citizen ever wrote, to keep the latest ones (on WhatsApp a citizen is one
conversation for years). The store adds an index on ``(sender_id, id)`` when the table lacks
it (on PostgreSQL built ``CONCURRENTLY``, so a replica upgraded on a large table keeps
writing meanwhile): a read goes straight to the rows after the latest one it knows.

Messages of one conversation are handled one at a time (the lock store, across replicas
too), so what was read is what is stored.

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
import os
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from urp.core.db import hide_values

logger = logging.getLogger(__name__)

# The number of a conversation's events already in the table, kept on the tracker itself.
STORED = "_urp_stored_events"
# On a tracker read from the table: the id of the latest row read, and the types of the
# rows this replica wrote after it (their ids are not returned by the INSERT).
ANCHOR = "_urp_anchor_row"
WRITTEN = "_urp_written_types"
CACHE_ENV = "URP_TRACKER_CACHE"
DEFAULT_CACHE = 1000
KEEP_SECONDS = 600.0
SENDER_ORDER_INDEX = "ix_events_sender_id_id"
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


def cache_size() -> int:
    try:
        return max(0, int(os.environ.get(CACHE_ENV) or DEFAULT_CACHE))
    except ValueError:
        return DEFAULT_CACHE


@dataclass
class _Kept:
    """A conversation as this replica saved it."""

    tracker: DialogueStateTracker
    domain: Domain  # the model's domain it was built with
    kept_at: float


def _write_ahead_log(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class IncrementalSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hide_values(self.engine)  # sender ids are phone numbers: never in an error or a log
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _write_ahead_log)
            self.engine.dispose()  # connections opened while creating the table: new ones
        # One statement at a time, each its own transaction (module docstring), on an engine
        # of its own: switching a pooled connection to autocommit and back costs psycopg2 a
        # round trip each time.
        self.autocommit_engine = sa.create_engine(
            self.engine.url, isolation_level="AUTOCOMMIT", **create_engine_kwargs(self.engine.url)
        )
        hide_values(self.autocommit_engine)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.autocommit_engine, "connect", _write_ahead_log)
        self._statements = sa.orm.sessionmaker(bind=self.autocommit_engine)
        # A database server's round trips wait off the event loop; an SQLite file answers
        # faster than a thread would start (and an in-memory one lives in one thread only).
        self._off_loop = self.engine.dialect.name != "sqlite"
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._cache_size = cache_size()
        self._index_by_sender_and_order()

    def _index_by_sender_and_order(self) -> None:
        """Rasa's table with an index on (sender_id, id) as well (module docstring)."""
        name = self.SQLEvent.__tablename__
        # On a table of its own metadata: on Rasa's, every later create_all would build it
        # too, CONCURRENTLY inside a transaction (refused by PostgreSQL).
        mirror = sa.Table(name, sa.MetaData(), sa.Column("sender_id"), sa.Column("id"))
        index = sa.Index(
            SENDER_ORDER_INDEX, mirror.c.sender_id, mirror.c.id, postgresql_concurrently=True
        )
        if any(
            found["name"] == SENDER_ORDER_INDEX
            for found in sa.inspect(self.autocommit_engine).get_indexes(name)
        ):
            return
        try:
            index.create(self.autocommit_engine)
        except sa.exc.DBAPIError:
            # Another replica starting at the same moment built it first: nothing is missing.
            # Anything else leaves Rasa's own index, slower on long conversations but right.
            logger.warning("Indice %s non creato sugli eventi", SENDER_ORDER_INDEX, exc_info=True)

    async def _run(self, work: Any, *args: Any) -> Any:
        if self._off_loop:
            return await asyncio.to_thread(work, *args)
        return work(*args)

    def _read(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> tuple[list[Event], int | None]:
        """Rasa's query, reading only the events' JSON rather than whole ORM rows; the events
        and the id of the latest row."""
        with self._statements() as session:
            query = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).with_entities(self.SQLEvent.id, self.SQLEvent.data)
            found = query.all()
        events = deserialise_events(json.loads(data) for (_, data) in found)
        return events, (found[-1][0] if found else None)

    def _read_after(self, sender_id: str, anchor: int) -> Sequence[Any]:
        """The conversation's rows from the one with id ``anchor`` on: (id, type, JSON)."""
        table = self.SQLEvent.__table__
        query = (
            sa.select(table.c.id, table.c.type_name, table.c.data)
            .where(table.c.sender_id == sender_id, table.c.id >= anchor)
            .order_by(table.c.id)
        )
        with self.autocommit_engine.connect() as connection:
            return connection.execute(query).all()

    async def _kept_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation this replica saved last, brought up to date; None to read it all."""
        kept = self._kept.pop(sender_id, None)  # a message uses it: back when it is saved
        if kept is None or kept.domain is not self.domain:
            return None
        tracker = kept.tracker
        anchor, written = getattr(tracker, ANCHOR, None), getattr(tracker, WRITTEN, ())
        if (
            anchor is None
            or time.monotonic() - kept.kept_at > KEEP_SECONDS
            or getattr(tracker, STORED, None) != len(tracker.events)  # changed after saving
        ):
            return None
        rows = await self._run(self._read_after, sender_id, anchor)
        mine = len(written)
        if (
            not rows
            or rows[0][0] != anchor  # the latest row read is gone: purged or erased
            or tuple(row[1] for row in rows[1 : 1 + mine]) != tuple(written)
        ):
            return None
        others = rows[1 + mine :]  # written by another replica since
        if any(row[1] == SessionStarted.type_name for row in others):
            return None  # a new session: a full read starts from it
        for event in deserialise_events(json.loads(row[2]) for row in others):
            tracker.update(event)
        setattr(tracker, STORED, len(tracker.events))
        setattr(tracker, ANCHOR, rows[-1][0])
        setattr(tracker, WRITTEN, ())
        return tracker

    def _keep(self, tracker: DialogueStateTracker, new: list[Event]) -> None:
        """Keep a conversation just saved, if the next read would build the same one."""
        sender_id = tracker.sender_id
        self._kept.pop(sender_id, None)
        if (
            not self._cache_size
            or self.domain is None
            or getattr(tracker, ANCHOR, None) is None  # not from a read of its latest session
            or any(isinstance(event, SessionStarted) for event in new)  # the read starts there
        ):
            return
        setattr(tracker, WRITTEN, (*getattr(tracker, WRITTEN, ()), *(e.type_name for e in new)))
        self._kept[sender_id] = _Kept(tracker, self.domain, time.monotonic())
        while len(self._kept) > self._cache_size:
            self._kept.popitem(last=False)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        # Rasa's rows, in one INSERT of many values rather than one ORM object each.
        with self._statements() as session:
            session.execute(sa.insert(self.SQLEvent.__table__), rows)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        if not fetch_events_from_all_sessions and self.domain:
            tracker = await self._kept_tracker(sender_id)
            if tracker is not None:
                return tracker
        events, anchor = await self._run(self._read, sender_id, fetch_events_from_all_sessions)
        if not self.domain or not events:
            return None
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        # Rasa saves what follows the latest session's start: a full history counts more.
        if not fetch_events_from_all_sessions:
            setattr(tracker, STORED, len(tracker.events))
            setattr(tracker, ANCHOR, anchor)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        new = new_events(tracker)
        if new is None:
            self._kept.pop(tracker.sender_id, None)
            setattr(tracker, ANCHOR, None)  # saved the Rasa way: which rows follow is unknown
            await super().save(tracker)
        else:
            if self.event_broker is not None:
                await self._stream_new_events(self.event_broker, new, tracker.sender_id)
            if new:
                await self._run(self._insert, [_row(tracker.sender_id, event) for event in new])
        setattr(tracker, STORED, len(tracker.events))
        if new is not None:
            self._keep(tracker, new)


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
