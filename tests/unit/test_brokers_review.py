"""The Rasa server's event broker feeds the trainers' review inbox, masked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import text

from brokers.handoff import HandoffEventBroker
from tests.unit.review_log import LOG, WEB, WHATSAPP
from urp.core.db import Database, upgrade
from urp.core.hashing import UserHasher
from urp.review.store import ReviewStore

SALT = "broker-tests-salt-0123456789"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path / 'urp.db'}")
    monkeypatch.setenv("URP_HASH_SALT", SALT)
    monkeypatch.setenv("RASA_JWT_SECRET", "segreto-di-prova")
    database = Database.from_environment()
    upgrade(database)
    return database


def publish(config: dict, events: list[dict]) -> None:
    async def run() -> None:
        broker = await EventBroker.create(EndpointConfig.from_dict(config))
        assert isinstance(broker, HandoffEventBroker)
        for event in events:
            broker.publish(event)
        await broker.close()  # waits for the worker

    asyncio.run(run())


def test_the_broker_fills_the_inbox_with_masked_messages(
    store: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    publish({"type": "brokers.handoff.HandoffEventBroker"}, LOG)
    items = ReviewStore(store, UserHasher(SALT.encode())).open_items()
    assert sorted((i.text, i.occurrences) for i in items) == [
        ("devo rinnovare la carta d'identità", 1),
        ("il cane del vicino abbaia tutta la notte", 1),
        ("la farmacia del porto fa la notte?", 2),
        ("mi chiamo [nome], il gattile di via Flaminia [civico] è aperto? [telefono]", 2),
        ("scrivetemi la mail a [email]", 1),
    ]
    with store.engine.connect() as connection:
        dump = repr(connection.execute(text("SELECT * FROM review_items")).all())
        dump += repr(connection.execute(text("SELECT * FROM review_sightings")).all())
    for personal in ("Mario", "Anna", "4567", "@example", WHATSAPP, WEB):
        assert personal not in dump
        assert personal not in caplog.text


def test_the_inbox_can_be_turned_off(store: Database) -> None:
    publish({"type": "brokers.handoff.HandoffEventBroker", "review": False}, LOG)
    assert ReviewStore(store, UserHasher(SALT.encode())).open_items() == []
