"""The Rasa server's event broker: messages of handed-over chats reach the transcript."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from brokers.handoff import HandoffEventBroker
from urp.core.db import Database, DatabaseError, upgrade
from urp.core.settings import load_settings
from urp.handoff.queue import HandoffService
from urp.privacy import ERASURE_EVENT

NUMBER = "393331234567"


class Collecting(EventBroker):
    """A broker that keeps what it receives (the production profile forwards to RabbitMQ)."""

    received: ClassVar[list[dict[str, Any]]] = []

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig, event_loop=None):
        return cls()

    def publish(self, event: dict[str, Any]) -> None:
        self.received.append(event)


@pytest.fixture
def store(tmp_path, monkeypatch) -> Database:
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path / 'urp.db'}")
    monkeypatch.setenv("RASA_JWT_SECRET", "segreto-di-prova")
    database = Database.from_environment()
    upgrade(database)
    return database


def test_messages_go_to_the_transcript_and_every_event_is_forwarded(store) -> None:
    handoffs = HandoffService(store, load_settings())
    handoff, _ = handoffs.open(NUMBER, "callback", "request")
    later = time.time() + 1
    events = [
        {"event": "user", "sender_id": NUMBER, "text": "sono ancora qui", "timestamp": later},
        {"event": "action", "sender_id": NUMBER, "name": "action_listen", "timestamp": later},
        {"event": "bot", "sender_id": NUMBER, "text": "Ti rispondo subito", "timestamp": later},
        {"event": "user", "sender_id": "un-altro", "text": "ciao", "timestamp": later},
    ]
    config = EndpointConfig.from_dict(
        {
            "type": "brokers.handoff.HandoffEventBroker",
            "forward": {"type": "tests.unit.test_brokers_handoff.Collecting"},
        }
    )

    async def publish_all() -> None:
        broker = await EventBroker.create(config)
        assert isinstance(broker, HandoffEventBroker)
        for event in events:
            broker.publish(event)
        await broker.close()  # waits for the worker

    Collecting.received = []
    asyncio.run(publish_all())
    assert Collecting.received == events
    lines = [(m.author, m.text) for m in handoffs.messages(handoff.id)]
    assert lines == [("citizen", "sono ancora qui"), ("bot", "Ti rispondo subito")]


def test_a_store_failure_is_logged_without_the_message(store, monkeypatch, caplog) -> None:
    monkeypatch.setenv("URP_DB_URL", "postgresql://nessuno@127.0.0.1:1/urp")
    broker = HandoffEventBroker()
    text = "il mio numero è 3331234567"
    broker.publish({"event": "user", "sender_id": NUMBER, "text": text, "timestamp": 1.0})
    asyncio.run(broker.close())
    assert "Messaggio non aggiunto" in caplog.text
    assert NUMBER not in caplog.text and "3331234567" not in caplog.text


class FakeChat:
    """The transcript's side of :class:`HandoffChat`: which chats are handed over, and the
    messages recorded, in order."""

    def __init__(self, handed_over: set[str] = frozenset({NUMBER})) -> None:
        self.queries = 0
        self.recorded: list[str] = []
        self.service = SimpleNamespace(open_conversations=self.open_conversations)
        self._handed_over = set(handed_over)

    def open_conversations(self, senders: set[str]) -> set[str]:
        self.queries += 1
        return senders & self._handed_over

    def record(self, event: dict[str, Any]) -> None:
        self.recorded.append(event["text"])


def message(text: str, kind: str = "user") -> dict[str, Any]:
    return {"event": kind, "sender_id": NUMBER, "text": text, "timestamp": 1.0}


def test_messages_arriving_together_are_recorded_with_one_query(store) -> None:
    chat = FakeChat()

    async def a_burst_then_a_pause() -> None:
        broker = HandoffEventBroker(review=False)
        broker.__dict__["chat"] = chat  # instead of the store's
        for number in range(6):  # three messages answered, as quickly as Rasa saves them
            broker.publish(message(str(number), "user" if number % 2 == 0 else "bot"))
        await asyncio.sleep(0.6)  # the worker has written them
        broker.publish(message("6"))
        await broker.close()

    asyncio.run(a_burst_then_a_pause())
    assert chat.recorded == [str(number) for number in range(7)]
    assert chat.queries <= 3  # one per batch, not one per message


def wait_for(condition, what: str) -> None:
    """Until ``condition()``; the deadline only stops a broken test from hanging."""
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_database_that_blinks_loses_no_message_and_keeps_the_order(
    store, monkeypatch, caplog
) -> None:
    handoffs = HandoffService(store, load_settings())
    handoff, _ = handoffs.open(NUMBER, "callback", "request")
    monkeypatch.setattr("brokers.handoff.RETRY_FIRST", 0.01)
    real = Database.transaction
    failures = {"left": 4}

    def blinking(self, *, write: bool = False):
        # The broker's worker finds the database gone a few times; the test reads it fine.
        if failures["left"] and threading.current_thread().name == "urp-handoff":
            failures["left"] -= 1
            raise DatabaseError("database non raggiungibile o occupato: connection refused")
        return real(self, write=write)

    later = time.time() + 1
    texts = [f"messaggio {number}" for number in range(5)]

    async def through_the_blink() -> None:
        broker = HandoffEventBroker(review=False)
        monkeypatch.setattr(Database, "transaction", blinking)
        for text in texts:
            event = {"event": "user", "sender_id": NUMBER, "text": text, "timestamp": later}
            broker.publish(event)
        await asyncio.to_thread(
            wait_for,
            lambda: len(handoffs.messages(handoff.id)) == len(texts),
            "the transcript never got the messages",
        )
        await broker.close()

    asyncio.run(through_the_blink())
    assert failures["left"] == 0
    assert [m.text for m in handoffs.messages(handoff.id)] == texts
    assert "nuovo tentativo" in caplog.text
    assert NUMBER not in caplog.text and "messaggio" not in caplog.text


def test_when_the_queue_is_full_new_events_wait_no_more_and_it_is_said(caplog) -> None:
    entered, release = threading.Event(), threading.Event()
    chat = FakeChat()

    def held(senders: set[str]) -> set[str]:
        entered.set()
        release.wait()
        return senders

    chat.service.open_conversations = held

    async def a_stuck_database() -> None:
        broker = HandoffEventBroker(review=False, capacity=3)
        broker.__dict__["chat"] = chat
        broker.publish(message("primo"))
        await asyncio.to_thread(entered.wait)  # the worker holds "primo"
        for number in range(5):
            broker.publish(message(f"dopo {number}"))  # never blocks the event loop
        release.set()
        await broker.close()

    asyncio.run(a_stuck_database())
    assert chat.recorded == ["primo", "dopo 0", "dopo 1", "dopo 2"]
    assert "eventi scartati per trascrizioni e casella dei formatori: 1" in caplog.text
    assert NUMBER not in caplog.text


def test_a_confirmed_erasure_is_forwarded_as_an_event_of_its_own(store) -> None:
    erased = {
        "event": "slot",
        "sender_id": NUMBER,
        "name": "erase_outcome",
        "value": "erased",
        "timestamp": 5.0,
    }
    failed = {**erased, "value": "unavailable"}
    config = EndpointConfig.from_dict(
        {
            "type": "brokers.handoff.HandoffEventBroker",
            "forward": {"type": "tests.unit.test_brokers_handoff.Collecting"},
            "review": False,
        }
    )

    async def publish_all() -> None:
        broker = await EventBroker.create(config)
        broker.publish(failed)
        broker.publish(erased)
        await broker.close()

    Collecting.received = []
    asyncio.run(publish_all())
    assert Collecting.received == [
        failed,
        erased,
        {"event": ERASURE_EVENT, "sender_id": NUMBER, "timestamp": 5.0},
    ]
