"""`make run-prod` on free ports, in databases, a queue, a lock prefix and a socket.io
channel of its own, all removed when it stops: for the replica test and the load benchmark."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import redis

from tests.e2e.servers import RunningAssistant, free_port, start, stop
from urp.tools import databases

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_LOCK_DB = 1


@dataclass
class Production:
    assistant: RunningAssistant  # its url is the balancer's
    replicas: tuple[str, str]  # base URLs of the two Rasa replicas themselves
    queue: str  # RabbitMQ queue of the events
    run: str  # this start's unique suffix


@contextmanager
def production(tmp_path: Path) -> Iterator[Production]:
    run = os.urandom(4).hex()
    store_url = f"{POSTGRES}/urp_prod_{run}"
    tracker_url = f"{POSTGRES}/urp_prod_tracker_{run}"
    queue = f"urp_prod_{run}"
    lock_prefix = f"urpprod{run}"
    ports = (free_port(), free_port())
    assistant = None
    try:
        assistant = start(
            tmp_path,
            "run-prod.sh",
            URP_REPLICA_PORTS=f"{ports[0]} {ports[1]}",
            URP_CONSOLE_INTERNAL_PORT=str(free_port()),
            URP_PROD_DIR=str(tmp_path / "prod"),
            URP_DB_URL=store_url,
            URP_TRACKER_STORE_URL=tracker_url,
            URP_REDIS_URL="redis://127.0.0.1:6379/0",
            URP_LOCK_DB=str(REDIS_LOCK_DB),
            URP_LOCK_PREFIX=lock_prefix,
            URP_SOCKETIO_CHANNEL=f"urp-prod-{run}",
            RABBITMQ_QUEUE=queue,
            RABBITMQ_EXCHANGE=queue,
            # Rasa's default (60 s) counts from when a message starts to wait: on a loaded
            # 2-core CI machine a burst of messages for one conversation may wait longer.
            TICKET_LOCK_LIFETIME="300",
            # The profile's default is Secure cookies (HTTPS in front); this test talks plain
            # HTTP to the console, where a client sends no Secure cookie back.
            URP_CONSOLE_SECURE_COOKIES="0",
        )
        yield Production(
            assistant,
            (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"),
            queue,
            run,
        )
    finally:
        if assistant is not None:
            stop(assistant)
        for url in (store_url, tracker_url):
            databases.drop(url)
        asyncio.run(_delete_rabbitmq(queue))
        locks = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_LOCK_DB)
        for key in locks.scan_iter(f"{lock_prefix}:*"):
            locks.delete(key)
        locks.close()


async def _delete_rabbitmq(name: str) -> None:
    """The queue and the exchange (same name) the replicas declared."""
    connection = await aio_pika.connect(RABBITMQ)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)
        await channel.exchange_delete(name)
