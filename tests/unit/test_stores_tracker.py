"""The tracker store that saves without reading back: same rows, same broker events as
Rasa's own SQLTrackerStore, on a real SQLite file, across messages and sessions."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.utils.endpoints import EndpointConfig

from stores.tracker import SENDER_ORDER_INDEX, STORED, IncrementalSQLTrackerStore
from tests.unit.test_tools_validate import ROOT

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


class RecordingBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


def message(text: str, when: float) -> list:
    return [
        UserUttered(text, {"name": "greet", "confidence": 1.0}, timestamp=when),
        SlotSet("last_service", "pharmacy", timestamp=when + 0.1),
        ActionExecuted("utter_greet", timestamp=when + 0.2),
        BotUttered("Ciao!", timestamp=when + 0.3),
        ActionExecuted("action_listen", timestamp=when + 0.4),
    ]


async def converse(store: SQLTrackerStore, sender: str, start: float, *, saves: int = 1) -> None:
    """What Rasa's processor does: a new conversation, then messages, read and saved each time."""
    tracker = await store.get_or_create_tracker(sender)  # stores an action_listen, now
    for number in range(3):
        if number == 0:
            tracker.update(ActionExecuted("action_session_start", timestamp=start))
            tracker.update(SessionStarted(timestamp=start + 0.1))
            tracker.update(ActionExecuted("action_listen", timestamp=start + 0.2))
        for event in message(f"messaggio {number}", start + 10 + number):
            tracker.update(event)
        await store.save(tracker)
        tracker = await store.retrieve(sender)
    # A new session in the same conversation, as after an hour of silence.
    later = start + 3600
    tracker.update(ActionExecuted("action_session_start", timestamp=later))
    tracker.update(SessionStarted(timestamp=later + 0.1))
    tracker.update(SlotSet("last_service", "pharmacy", timestamp=later + 0.2))
    tracker.update(ActionExecuted("action_listen", timestamp=later + 0.3))
    for event in message("di nuovo", later + 1):
        tracker.update(event)
    for _ in range(saves):
        await store.save(tracker)


def rows(path: Path) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        found = connection.execute(
            sa.text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                "FROM events ORDER BY id"
            )
        ).all()
    engine.dispose()
    return [(*row[:5], json.loads(row[5])) for row in found]


def test_same_rows_and_broker_events_as_rasas_store(tmp_path: Path) -> None:
    ours_broker, rasas_broker = RecordingBroker(), RecordingBroker()
    ours = IncrementalSQLTrackerStore(
        DOMAIN, dialect="sqlite", db=str(tmp_path / "ours.db"), event_broker=ours_broker
    )
    rasas = SQLTrackerStore(
        DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"), event_broker=rasas_broker
    )
    start = time.time() + 10
    for store in (ours, rasas):
        asyncio.run(converse(store, "cittadino", start))

    ours_rows, rasas_rows = rows(tmp_path / "ours.db"), rows(tmp_path / "rasa.db")
    # The first action_listen is stamped when each store created the conversation.
    assert ours_rows[1:] == rasas_rows[1:]
    assert ours_rows[0][:2] == rasas_rows[0][:2]
    assert len(ours_rows) == 1 + 3 + 3 * 5 + 4 + 5
    assert ours_broker.published[1:] == rasas_broker.published[1:]
    assert len(ours_broker.published) == len(rows(tmp_path / "ours.db"))
    tracker = asyncio.run(ours.retrieve("cittadino"))
    assert tracker.events[0] == SessionStarted(timestamp=start + 3600.1)
    # Read back as Rasa's own store reads the same file: the same conversation.
    same_file = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "ours.db"))
    for fetch in ("retrieve", "retrieve_full_tracker"):
        theirs = asyncio.run(getattr(same_file, fetch)("cittadino"))
        mine = asyncio.run(getattr(ours, fetch)("cittadino"))
        assert list(mine.events) == list(theirs.events)
        assert mine.current_slot_values() == theirs.current_slot_values()
    assert asyncio.run(ours.retrieve("nessuno")) is None
    assert tracker.get_slot("last_service") == "pharmacy"


def test_saving_again_adds_nothing(tmp_path: Path) -> None:
    """Rasa's own store stores the new session again here (it counts the stored events
    from the latest session's start, but the tracker in hand begins at the one before)."""
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))

    asyncio.run(converse(store, "cittadino", time.time() + 10, saves=2))
    assert len(rows(tmp_path / "t.db")) == 1 + 3 + 3 * 5 + 4 + 5


def test_a_tracker_it_did_not_read_is_saved_the_rasa_way(tmp_path: Path) -> None:
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    asyncio.run(converse(store, "cittadino", time.time() + 10))
    before = len(rows(tmp_path / "t.db"))
    # As the HTTP API does: a tracker rebuilt from events, some of them already stored.
    stored = asyncio.run(store.retrieve("cittadino"))
    rebuilt = DialogueStateTracker.from_events("cittadino", list(stored.events), DOMAIN.slots)
    rebuilt.update(UserUttered("ancora", timestamp=200.0))
    assert getattr(rebuilt, STORED, None) is None
    asyncio.run(store.save(rebuilt))
    assert len(rows(tmp_path / "t.db")) == before + 1


def test_full_history_is_not_taken_for_the_stored_session(tmp_path: Path) -> None:
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    asyncio.run(converse(store, "cittadino", time.time() + 10))
    full = asyncio.run(store.retrieve_full_tracker("cittadino"))
    assert getattr(full, STORED, None) is None


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "endpoints.prod.yml"])
def test_both_profiles_use_it(endpoints: str) -> None:
    config = EndpointConfig.from_dict(
        __import__("yaml").safe_load((ROOT / endpoints).read_text())["tracker_store"]
    )
    assert config.type == "stores.tracker.IncrementalSQLTrackerStore"


def test_sqlite_file_is_in_write_ahead_log_mode(tmp_path: Path) -> None:
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    asyncio.run(converse(store, "cittadino", time.time() + 10))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def index_columns(engine: sa.engine.Engine) -> dict[str, list[str]]:
    return {
        index["name"]: index["column_names"] for index in sa.inspect(engine).get_indexes("events")
    }


def test_a_conversation_is_read_by_an_index_on_sender_and_order(tmp_path: Path) -> None:
    # A table Rasa's own store made, with a conversation in it: the index comes with ours.
    path = tmp_path / "t.db"
    rasas = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))
    asyncio.run(converse(rasas, "cittadino", time.time() + 10))
    assert SENDER_ORDER_INDEX not in index_columns(rasas.engine)
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))
    assert index_columns(store.engine)[SENDER_ORDER_INDEX] == ["sender_id", "id"]
    with store.engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id, type_name, data FROM events"
            " WHERE sender_id = 'cittadino' AND id >= 3 ORDER BY id"
        ).all()
    assert SENDER_ORDER_INDEX in str(plan)
    # Started again on the same table (a restart, a second replica): nothing new, no error.
    again = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))
    assert index_columns(again.engine) == index_columns(store.engine)
    assert len(asyncio.run(again.retrieve("cittadino")).events) == 3 + 5
    # Rasa's table in a new database of the same process is made without it, then gets it.
    other = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "u.db"))
    assert SENDER_ORDER_INDEX in index_columns(other.engine)


def test_events_are_rebuilt_as_rasa_rebuilds_them() -> None:
    from rasa.shared.core.events import deserialise_events as rasas

    from stores.tracker import deserialise_events

    tracker = DialogueStateTracker("cittadino", DOMAIN.slots)
    for event in message("ciao", time.time()):
        tracker.update(event)
    serialised = [event.as_dict() for event in tracker.events]
    serialised += [{"event": "topic", "topic": "vecchio"}, {"nothing": 1}]
    assert deserialise_events(serialised) == rasas(serialised)
    assert deserialise_events(serialised) == rasas(serialised)  # classes remembered
    with pytest.raises(ValueError):
        deserialise_events([{"event": "sconosciuto"}])


def test_saving_a_conversation_it_read_reads_nothing_back(tmp_path: Path) -> None:
    broker = RecordingBroker()
    store = IncrementalSQLTrackerStore(
        DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"), event_broker=broker
    )
    asyncio.run(converse(store, "cittadino", time.time() + 10))
    tracker = asyncio.run(store.retrieve("cittadino"))
    for event in message("ancora", time.time() + 7200):
        tracker.update(event)
    statements: list[str] = []
    sa.event.listen(
        store.autocommit_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement.split()[0]),
    )
    published = len(broker.published)
    asyncio.run(store.save(tracker))
    assert statements == ["INSERT"]  # no SELECT: neither a read-back nor a count
    assert len(broker.published) == published + 5


# The conversations a replica keeps between two messages (URP_TRACKER_CACHE).


def same_as_a_full_read(tracker: DialogueStateTracker, path: Path) -> None:
    """The tracker handed out is the one Rasa's own store builds from the same file."""
    theirs = asyncio.run(
        SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path)).retrieve(tracker.sender_id)
    )
    assert tracker.current_state(EventVerbosity.ALL) == theirs.current_state(EventVerbosity.ALL)


def reads_of(store: IncrementalSQLTrackerStore) -> list[str]:
    """The SELECT statements the store sends from now on."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(" ".join(statement.split()))

    sa.event.listen(store.autocommit_engine, "before_cursor_execute", record)
    return statements


def one_more_message(store: IncrementalSQLTrackerStore, sender: str, text: str) -> None:
    """A message as the processor handles it: read, answer, save."""
    tracker = asyncio.run(store.retrieve(sender))
    for event in message(text, time.time()):
        tracker.update(event)
    asyncio.run(store.save(tracker))


def started(store: IncrementalSQLTrackerStore, sender: str = "cittadino") -> None:
    """A conversation with two sessions, its latest read and saved by ``store``."""
    asyncio.run(converse(store, sender, time.time() - 7200))
    one_more_message(store, sender, "e adesso?")


def test_the_next_message_reads_only_the_rows_after_the_latest_it_knows(tmp_path: Path) -> None:
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    started(store)
    reads = reads_of(store)
    tracker = asyncio.run(store.retrieve("cittadino"))
    assert len(reads) == 1 and "events.id >=" in reads[0]
    same_as_a_full_read(tracker, tmp_path / "t.db")
    # Message after message, the conversation stays the stored one.
    for number in range(3):
        for event in message(f"ancora {number}", time.time()):
            tracker.update(event)
        asyncio.run(store.save(tracker))
        tracker = asyncio.run(store.retrieve("cittadino"))
        same_as_a_full_read(tracker, tmp_path / "t.db")
    assert len(reads) == 4 and all("events.id >=" in read for read in reads)


def test_what_another_replica_wrote_meanwhile_is_applied(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    first = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=path)
    second = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=path)
    started(first)
    one_more_message(second, "cittadino", "risposta sull'altra replica")
    one_more_message(second, "cittadino", "e un'altra ancora")
    reads = reads_of(first)
    tracker = asyncio.run(first.retrieve("cittadino"))
    assert len(reads) == 1 and "events.id >=" in reads[0]
    same_as_a_full_read(tracker, tmp_path / "t.db")
    assert tracker.latest_message.text == "e un'altra ancora"
    # And its own next message is stored once, after the other replica's.
    for event in message("di nuovo qui", time.time()):
        tracker.update(event)
    asyncio.run(first.save(tracker))
    same_as_a_full_read(asyncio.run(second.retrieve("cittadino")), tmp_path / "t.db")
    same_as_a_full_read(asyncio.run(first.retrieve("cittadino")), tmp_path / "t.db")


def test_a_new_session_started_elsewhere_is_read_in_full(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    first = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=path)
    second = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=path)
    started(first)
    tracker = asyncio.run(second.retrieve("cittadino"))
    now = time.time() + 1  # after the last message's events
    tracker.update(ActionExecuted("action_session_start", timestamp=now))
    tracker.update(SessionStarted(timestamp=now + 0.01))
    tracker.update(ActionExecuted("action_listen", timestamp=now + 0.02))
    for event in message("dopo un'ora", now + 0.1):
        tracker.update(event)
    asyncio.run(second.save(tracker))
    mine = asyncio.run(first.retrieve("cittadino"))
    same_as_a_full_read(mine, tmp_path / "t.db")
    assert mine.events[0] == SessionStarted(timestamp=now + 0.01)


def test_an_erased_conversation_is_not_brought_back(tmp_path: Path) -> None:
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    started(store)
    with store.engine.begin() as connection:  # as the purge does (urp/privacy.py)
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = 'cittadino'"))
    assert asyncio.run(store.retrieve("cittadino")) is None


def test_rows_that_are_not_its_own_make_it_read_in_full(tmp_path: Path) -> None:
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    started(store)
    with store.engine.begin() as connection:  # its last message's rows, but one
        connection.execute(
            sa.text(
                "DELETE FROM events WHERE id = (SELECT max(id) - 1 FROM events "
                "WHERE sender_id = 'cittadino')"
            )
        )
    tracker = asyncio.run(store.retrieve("cittadino"))
    same_as_a_full_read(tracker, tmp_path / "t.db")


def test_a_message_that_fails_before_saving_leaves_nothing_behind(tmp_path: Path) -> None:
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    started(store)
    failed = asyncio.run(store.retrieve("cittadino"))
    for event in message("questo non arriva al salvataggio", time.time()):
        failed.update(event)
    tracker = asyncio.run(store.retrieve("cittadino"))
    assert tracker is not failed
    same_as_a_full_read(tracker, tmp_path / "t.db")
    assert tracker.latest_message.text == "e adesso?"


def test_a_conversation_changed_after_saving_is_not_handed_out(tmp_path: Path) -> None:
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    started(store)
    tracker = asyncio.run(store.retrieve("cittadino"))
    asyncio.run(store.save(tracker))
    tracker.update(UserUttered("mai salvato", timestamp=time.time()))
    again = asyncio.run(store.retrieve("cittadino"))
    assert again is not tracker
    same_as_a_full_read(again, tmp_path / "t.db")


def test_the_cache_is_bounded_and_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("URP_TRACKER_CACHE", "2")
    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    for sender in ("prima", "seconda", "terza"):
        started(store, sender)
    assert list(store._kept) == ["seconda", "terza"]
    reads = reads_of(store)
    asyncio.run(store.retrieve("prima"))
    assert len(reads) == 1 and "events.id >=" not in reads[0]

    monkeypatch.setenv("URP_TRACKER_CACHE", "0")
    off = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "off.db"))
    started(off)
    assert not off._kept
    reads = reads_of(off)
    same_as_a_full_read(asyncio.run(off.retrieve("cittadino")), tmp_path / "off.db")
    assert len(reads) == 1 and "events.id >=" not in reads[0]


def test_a_conversation_kept_too_long_is_read_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stores import tracker as module

    store = IncrementalSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    started(store)
    monkeypatch.setattr(module, "KEEP_SECONDS", -1.0)
    reads = reads_of(store)
    same_as_a_full_read(asyncio.run(store.retrieve("cittadino")), tmp_path / "t.db")
    assert len(reads) == 1 and "events.id >=" not in reads[0]
