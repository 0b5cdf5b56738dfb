"""Events on RabbitMQ expire (issue 22): the production profile's broker, against the local
RabbitMQ (127.0.0.1:5672, guest/guest; ``URP_SKIP_RABBITMQ=1`` skips these tests)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import aio_pika
import pytest
import rasa.shared.core.events  # noqa: F401 - Rasa's Pika broker uses it, imported by the server
from rasa.core.brokers.broker import EventBroker
from rasa.shared.exceptions import ConnectionException
from rasa.utils.endpoints import EndpointConfig

from brokers.handoff import ExpiringPikaEventBroker
from urp.privacy import publish_erasures

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
EVENT = {"event": "user", "sender_id": "393331234567", "text": "ciao", "timestamp": 1.0}


@pytest.fixture
def queue_name() -> Iterator[str]:
    if os.environ.get("URP_SKIP_RABBITMQ") == "1":
        pytest.skip("RabbitMQ tests skipped (URP_SKIP_RABBITMQ=1)")
    name = f"urp_test_{secrets.token_hex(4)}"
    yield name
    asyncio.run(_delete(name))


async def _delete(name: str) -> None:
    connection = await aio_pika.connect(RABBITMQ)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)
        await channel.exchange_delete(name)


@asynccontextmanager
async def broker(queue: str, ttl_days: float) -> AsyncIterator[ExpiringPikaEventBroker]:
    config = EndpointConfig.from_dict(
        {
            "type": "brokers.handoff.ExpiringPikaEventBroker",
            "url": "127.0.0.1",
            "username": "guest",
            "password": "guest",
            "queues": [queue],
            "exchange_name": queue,
            "message_ttl_days": ttl_days,
            "connection_attempts": 1,
        }
    )
    try:
        created = await EventBroker.create(config)
    except ConnectionException:
        pytest.fail(f"RabbitMQ unreachable at {RABBITMQ}: start it", pytrace=False)
    assert isinstance(created, ExpiringPikaEventBroker)
    try:
        yield created
    finally:
        await created.close()


async def published(queue: str, ttl_days: float) -> None:
    async with broker(queue, ttl_days) as events:
        events.publish(EVENT)
        # Rasa publishes in a background task of the event loop: wait for it.
        await asyncio.gather(*list(events._background_tasks))


async def first_message(queue: str) -> aio_pika.abc.AbstractIncomingMessage | None:
    connection = await aio_pika.connect(RABBITMQ)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return await declared.get(no_ack=True, fail=False)


def test_every_event_on_the_queue_carries_its_expiry(queue_name: str) -> None:
    asyncio.run(published(queue_name, 7))

    message = asyncio.run(first_message(queue_name))

    assert message is not None and message.body.decode() == (
        '{"event": "user", "sender_id": "393331234567", "text": "ciao", "timestamp": 1.0}'
    )
    assert message.properties.expiration == str(7 * 86_400_000)  # milliseconds


def test_an_expired_event_is_gone_from_a_queue_nobody_reads(queue_name: str) -> None:
    asyncio.run(published(queue_name, 1e-6))  # 86 milliseconds

    async def later() -> aio_pika.abc.AbstractIncomingMessage | None:
        await asyncio.sleep(0.5)  # a slower machine only makes it older
        return await first_message(queue_name)

    assert asyncio.run(later()) is None


def test_a_queue_declared_before_keeps_working(queue_name: str) -> None:
    """The expiry is per message: a queue an earlier version declared is not refused."""

    async def declared_without_arguments() -> None:
        connection = await aio_pika.connect(RABBITMQ)
        async with connection:
            channel = await connection.channel()
            await channel.declare_queue(queue_name, durable=True)

    asyncio.run(declared_without_arguments())
    asyncio.run(published(queue_name, 7))
    assert asyncio.run(first_message(queue_name)) is not None


def test_no_expiry_is_refused() -> None:
    with pytest.raises(ValueError, match="message_ttl_days"):
        ExpiringPikaEventBroker("127.0.0.1", "guest", "guest", queues=["q"], message_ttl_days=0)


def test_the_production_profile_forwards_through_the_expiring_broker(
    queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from brokers.handoff import HandoffEventBroker
    from urp.core.settings import PROJECT_ROOT

    for name, value in {
        "RABBITMQ_HOST": "127.0.0.1",
        "RABBITMQ_PORT": "5672",
        "RABBITMQ_USERNAME": "guest",
        "RABBITMQ_PASSWORD": "guest",
        "RABBITMQ_EXCHANGE": queue_name,
        "RABBITMQ_QUEUE": queue_name,
    }.items():
        monkeypatch.setenv(name, value)
    profile = (PROJECT_ROOT / "endpoints.prod.yml").read_text(encoding="utf-8")
    section = yaml.safe_load(os.path.expandvars(profile))["event_broker"]
    config = EndpointConfig.from_dict(section)

    async def through_the_profile() -> None:
        events = await EventBroker.create(config)
        assert isinstance(events, HandoffEventBroker)
        forward = events._forward
        assert isinstance(forward, ExpiringPikaEventBroker)
        assert forward.message_ttl == 7 * 86_400  # URP_EVENTS_TTL_DAYS unset
        await events.close()

    asyncio.run(through_the_profile())


def test_the_lifetime_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("URP_EVENTS_TTL_DAYS", "2")
    loop = asyncio.new_event_loop()
    events = ExpiringPikaEventBroker("127.0.0.1", "guest", "guest", queues=["q"], event_loop=loop)
    loop.close()
    assert events.message_ttl == 2 * 86_400


def rabbitmq_environment(queue: str) -> dict[str, str]:
    return {"RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_EXCHANGE": queue, "URP_EVENTS_TTL_DAYS": "3"}


def test_an_erasure_outside_the_chat_is_announced_to_the_consumers(queue_name: str) -> None:
    asyncio.run(published(queue_name, 7))  # the replicas declared exchange and queue

    assert publish_erasures(["393331234567"], rabbitmq_environment(queue_name))

    async def both() -> list[aio_pika.abc.AbstractIncomingMessage | None]:
        return [await first_message(queue_name), await first_message(queue_name)]

    event, erasure = asyncio.run(both())
    assert event is not None and erasure is not None
    assert json.loads(erasure.body) == {
        "event": "urp_conversation_erased",
        "sender_id": "393331234567",
        "timestamp": pytest.approx(time.time(), abs=600),
    }
    assert erasure.properties.expiration == str(3 * 86_400_000)


def test_no_rabbitmq_or_no_replica_yet_is_nobody_to_tell(queue_name: str) -> None:
    assert not publish_erasures(["393331234567"], {})
    assert not publish_erasures(["393331234567"], rabbitmq_environment(queue_name))


def test_the_command_tells_the_consumers(
    queue_name: str, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from urp.cli import main
    from urp.core.db import Database, upgrade

    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path / 'urp.db'}")
    monkeypatch.setenv("URP_HASH_SALT", "sale-di-prova-abbastanza-lungo")
    for name, value in rabbitmq_environment(queue_name).items():
        monkeypatch.setenv(name, value)
    database = Database.from_environment()
    upgrade(database)
    database.dispose()
    asyncio.run(published(queue_name, 7))
    erase = ["privacy", "erase", "--number", "3331234567", "--operator", "Anna", "--store-only"]

    assert main(erase) == 1  # nothing in the store, but consumers may hold events
    assert main(erase) == 1
    monkeypatch.setenv("RABBITMQ_PORT", "1")  # RabbitMQ down: nothing erased, say so
    assert main(erase) == 2
    assert "RabbitMQ non raggiungibile" in capsys.readouterr().err

    async def drained() -> list[str]:
        bodies = []
        while (message := await first_message(queue_name)) is not None:
            bodies.append(json.loads(message.body)["event"])
        return bodies

    # Each time for both conversations a number can have: WhatsApp's and Twilio's.
    assert asyncio.run(drained()) == ["user"] + ["urp_conversation_erased"] * 4
