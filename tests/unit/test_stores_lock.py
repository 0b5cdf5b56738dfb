"""The production lock store on the local Redis: replicas that take tickets for the same
conversation at the same moment each get their own, in one queue, and the lock goes away
with the last ticket."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import redis
from rasa.core.lock_store import LockError, RedisLockStore
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


def test_its_queue_is_rasas_own_json(prefix: str) -> None:
    ours = replica(prefix)
    rasas = RedisLockStore(host="127.0.0.1", port=6379, db=REDIS_DB, key_prefix=prefix)
    assert rasas.issue_ticket("conversazione") == 0
    assert ours.issue_ticket("conversazione") == 1
    assert rasas.issue_ticket("conversazione") == 2
    lock = rasas.get_lock("conversazione")
    assert [ticket.number for ticket in lock.tickets] == [0, 1, 2]
    assert all(ticket.expires > time.time() + 50 for ticket in lock.tickets)
    ours.cleanup("conversazione", 0)
    assert rasas.get_lock("conversazione").now_serving == 1


def test_expired_tickets_are_dropped_when_a_ticket_is_taken(prefix: str) -> None:
    store = replica(prefix)
    assert store.issue_ticket("conversazione", lock_lifetime=0.05) == 0
    time.sleep(0.1)  # a replica died holding ticket 0
    assert store.issue_ticket("conversazione") == 0  # the queue was empty again
    assert [t.number for t in store.get_lock("conversazione").tickets] == [0]


def test_a_message_costs_two_round_trips_that_leave_the_event_loop_free(prefix: str) -> None:
    store = replica(prefix)
    admin = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)

    async def lock_while_redis_is_paused() -> tuple[bool, list[str]]:
        client = store._async_scripts().issue.registered_client
        commands: list[str] = []
        execute = client.execute_command

        async def counted(*args, **kwargs):
            commands.append(str(args[0]))
            return await execute(*args, **kwargs)

        client.execute_command = counted
        # Redis holds writers back until told to go on (or a minute, if a blocking client
        # froze the loop and nobody could tell it): the loop must run meanwhile.
        admin.execute_command("CLIENT", "PAUSE", "60000", "WRITE")

        async def hold() -> None:
            async with store.lock("conversazione") as held:
                assert held.now_serving == 0

        holding = asyncio.create_task(hold())
        try:
            while not commands:  # the ticket is asked for, and Redis does not answer
                await asyncio.sleep(0.01)
            loop_ran_while_waiting = not holding.done()
        finally:
            admin.execute_command("CLIENT", "UNPAUSE")
        await holding
        return loop_ran_while_waiting, commands

    loop_ran_while_waiting, commands = asyncio.run(lock_while_redis_is_paused())
    admin.close()
    assert commands == ["EVALSHA", "EVALSHA"]  # take the ticket, give it back
    assert loop_ran_while_waiting  # a blocking client would have frozen the loop
    assert store.get_lock("conversazione") is None


def test_a_second_message_waits_for_the_first_on_another_replica(prefix: str) -> None:
    first, second = replica(prefix), replica(prefix)
    order: list[str] = []

    def tickets() -> int:
        lock = first.get_lock("conversazione")
        return len(lock.tickets) if lock else 0

    async def message(store: AtomicRedisLockStore, name: str, entered: asyncio.Event) -> None:
        async with store.lock("conversazione", wait_time_in_seconds=0.01):
            order.append(f"{name} in")
            entered.set()
            while name == "uno" and tickets() < 2:  # until the other one queues behind
                await asyncio.sleep(0.01)
            order.append(f"{name} out")

    async def both() -> None:
        uno, due = asyncio.Event(), asyncio.Event()
        one = asyncio.create_task(message(first, "uno", uno))
        await uno.wait()
        await asyncio.gather(one, message(second, "due", due))

    asyncio.run(both())
    assert order == ["uno in", "uno out", "due in", "due out"]
    assert first.get_lock("conversazione") is None


def test_no_phone_number_in_any_log_or_error_of_the_lock_store(
    prefix: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    number = "393331234567"  # on WhatsApp, the conversation id
    holder, waiter = replica(prefix), replica(prefix)
    errors: list[LockError] = []
    # The stores' clock moves 4 s at every look: the waiter's ticket (1 s), then the dead
    # holder's (10 s) expire while the waiter waits, however fast or slow the machine.
    now = [time.time()]

    def later() -> float:
        now[0] += 4
        return now[0]

    monkeypatch.setattr("stores.lock.time", SimpleNamespace(time=later))

    async def wait_until_every_ticket_expires() -> None:
        holder.issue_ticket(number, lock_lifetime=10)  # a replica that died holding it
        try:
            async with waiter.lock(number, lock_lifetime=1, wait_time_in_seconds=0.01):
                pass
        except LockError as error:
            errors.append(error)

    asyncio.run(wait_until_every_ticket_expires())
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    unreachable = AtomicRedisLockStore(host="127.0.0.1", port=port, key_prefix=prefix)
    with pytest.raises(LockError) as refused:
        unreachable.issue_ticket(number)
    errors.append(refused.value)

    async def lock_without_redis() -> None:
        async with unreachable.lock(number):
            pass

    with pytest.raises(LockError) as refused:
        asyncio.run(lock_without_redis())
    errors.append(refused.value)
    for error in errors:
        logging.getLogger("rasa.core.agent").error("Lock non ottenuto", exc_info=error)
    assert len(errors) == 3
    assert number not in caplog.text
    assert "Conversazione occupata" in caplog.text  # the waiting was logged, without it
