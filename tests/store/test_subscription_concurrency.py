"""The same number subscribing twice at the same moment ends in one subscriber.

Both requests pass the look-up, both insert; the unique (channel, user_hash) constraint
and ON CONFLICT DO NOTHING let exactly one through, in threads and in processes.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.store.conftest import SALT, raw_rows, url_of
from tests.store.races import WORKERS, in_processes, in_threads
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import load_settings
from urp.subscription.subscribers import SubscribeOutcome, SubscriberService

ROUNDS = 15  # distinct numbers, each raced for by all workers at once


def _numbers() -> list[str]:
    return [f"39333{n:07d}" for n in range(ROUNDS)]


def _race(service: SubscriberService, barrier: Any) -> list[str]:
    outcomes = []
    for number in _numbers():
        barrier.wait()
        outcomes.append(service.subscribe("whatsapp", number, "Iscrivimi", "2024-01").outcome.value)
    return outcomes


def _race_in_process(url: str, barrier: Any, results: Any) -> None:
    database = Database(url)
    service = SubscriberService(database, load_settings().subscription, UserHasher(SALT.encode()))
    results.put(_race(service, barrier))
    database.dispose()


def _check(database: Database, outcomes: list[str]) -> None:
    rows = raw_rows(database, "subscribers")
    assert len(rows) == ROUNDS
    assert len({(row["channel"], row["user_hash"]) for row in rows}) == ROUNDS
    assert len(raw_rows(database, "consents")) == ROUNDS
    assert Counter(outcomes) == {
        SubscribeOutcome.CREATED.value: ROUNDS,
        SubscribeOutcome.ALREADY_ACTIVE.value: ROUNDS * (WORKERS - 1),
    }


def test_two_threads_subscribing_the_same_number(service: SubscriberService, database) -> None:
    _check(database, in_threads(lambda barrier: _race(service, barrier)))


def test_two_processes_subscribing_the_same_number(database: Database) -> None:
    _check(database, in_processes(_race_in_process, (url_of(database),)))


def test_two_threads_coming_back_at_once_reactivate_once(
    service: SubscriberService, database: Database
) -> None:
    number = "393331234567"
    service.subscribe("whatsapp", number, "Iscrivimi", "2024-01")
    service.unsubscribe("whatsapp", number)
    barrier = threading.Barrier(WORKERS)

    def come_back() -> str:
        barrier.wait()
        return service.subscribe("whatsapp", number, "Iscrivimi", "2024-02").outcome.value

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = [f.result(timeout=60) for f in [pool.submit(come_back) for _ in range(WORKERS)]]
    assert sorted(outcomes) == ["already_active", "reactivated"]
    assert len(raw_rows(database, "subscribers")) == 1
    assert [c["withdrawn_at"] is None for c in raw_rows(database, "consents")] == [False, True]
