"""The Rasa server's event broker: messages of handed-over chats reach the transcript."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from brokers.handoff import HandoffEventBroker
from urp.db import Database, upgrade
from urp.handoffs import HandoffService
from urp.settings import load_settings

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
    monkeypatch.setenv("RASA_AUTH_TOKEN", "token-di-prova")
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
            "forward": {"type": "tests.unit.test_handoff_broker.Collecting"},
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


def test_messages_arriving_together_are_recorded_with_one_query(store) -> None:
    batches: list[int] = []

    class CountingChat:
        def record_all(self, messages: list[dict[str, Any]]) -> None:
            batches.append(len(messages))

    async def a_burst_then_a_pause() -> None:
        broker = HandoffEventBroker(review=False)
        broker.__dict__["chat"] = CountingChat()  # instead of the store's
        for number in range(6):  # three messages answered, as quickly as Rasa saves them
            kind = "user" if number % 2 == 0 else "bot"
            broker.publish({"event": kind, "sender_id": NUMBER, "text": "t", "timestamp": 1.0})
        await asyncio.sleep(0.6)  # the worker has written them
        broker.publish({"event": "user", "sender_id": NUMBER, "text": "t", "timestamp": 2.0})
        await broker.close()

    asyncio.run(a_burst_then_a_pause())
    assert batches == [6, 1]
