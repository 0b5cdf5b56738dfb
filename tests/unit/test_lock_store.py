"""The production lock store on the local Redis: replicas that take tickets for the same
conversation at the same moment each get their own, in one queue, and the lock goes away
with the last ticket."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from rasa.utils.endpoints import EndpointConfig

from stores.lock import AtomicRedisLockStore

REDIS_DB = 1
REPLICAS = 8
TICKETS_EACH = 25


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = "urplocktest" + os.urandom(4).hex()
    yield prefix
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def replica(prefix: str) -> AtomicRedisLockStore:
    """A lock store as Rasa builds it from endpoints.prod.yml."""
    config = EndpointConfig.from_dict(
        {
            "type": "stores.lock.AtomicRedisLockStore",
            "url": "127.0.0.1",
            "port": "6379",
            "db": str(REDIS_DB),
            "password": "",
            "key_prefix": prefix,
        }
    )
    return AtomicRedisLockStore(endpoint_config=config)


def test_tickets_taken_at_once_by_many_replicas_are_all_distinct(prefix: str) -> None:
    stores = [replica(prefix) for _ in range(REPLICAS)]

    def take(store: AtomicRedisLockStore) -> list[int]:
        return [store.issue_ticket("conversazione") for _ in range(TICKETS_EACH)]

    with ThreadPoolExecutor(REPLICAS) as pool:
        tickets = [t for taken in pool.map(take, stores) for t in taken]

    assert sorted(tickets) == list(range(REPLICAS * TICKETS_EACH))
    lock = stores[0].get_lock("conversazione")
    assert lock is not None
    assert [ticket.number for ticket in lock.tickets] == sorted(tickets)

    def finish(pair: tuple[AtomicRedisLockStore, int]) -> None:
        pair[0].cleanup("conversazione", pair[1])

    with ThreadPoolExecutor(REPLICAS) as pool:
        list(pool.map(finish, [(stores[t % REPLICAS], t) for t in tickets]))
    assert stores[0].get_lock("conversazione") is None


def test_the_lock_is_served_in_ticket_order(prefix: str) -> None:
    first, second = replica(prefix), replica(prefix)

    async def hold_while_the_other_queues() -> int:
        async with first.lock("conversazione", wait_time_in_seconds=0.01) as held:
            assert held.now_serving == 0
            ticket = second.issue_ticket("conversazione")
            assert ticket == 1
            assert second.get_lock("conversazione").is_locked(ticket)
        return ticket

    ticket = asyncio.run(hold_while_the_other_queues())
    lock = second.get_lock("conversazione")
    assert lock is not None and not lock.is_locked(ticket)
    second.cleanup("conversazione", ticket)
    assert second.get_lock("conversazione") is None
