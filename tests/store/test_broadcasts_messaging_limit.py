"""Meta's messaging limit in the worker (issue 25): never more new conversations than the
limit allows in a rolling 24 hours; the rest wait, and the same job sends them later.

The simulator enforces the same limit, so a worker that went beyond it would see Meta's
refusals here, not a happy path.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import RATE, run_worker, services, simulator, subscribe
from urp.broadcasts.delivery import LIMIT_WINDOW
from urp.core.db import Database
from urp.subscription.subscribers import SubscriberService

WAIT = LIMIT_WINDOW.total_seconds()  # a reservation counts for 24 h plus the claim's lease
LIMIT = 250


@pytest.fixture
def graph(database: Database) -> Iterator[GraphApiSimulator]:
    graph = simulator(database)
    graph.enforce(messaging_limit=LIMIT, throughput=None, pair_interval=None)
    yield graph
    graph.close()


def test_600_subscribers_outside_the_window_with_a_limit_of_250(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 600, "emergenze")
    broadcasts = services(database, messaging_limit=LIMIT)[0]
    job = broadcasts.start_emergency("emergenze", "Allerta meteo.", created_by="t", rate=RATE)
    started = datetime.now(UTC)
    run_worker(database, graph.url, messaging_limit=LIMIT)
    first = graph.sent()
    assert len(first) == LIMIT == len({m["to"] for m in first})
    assert {m["type"] for m in first} == {"template"} and graph.refused == []
    report = broadcasts.report(job)
    assert report.status == "running" and report.counts == {"sent": 250, "pending": 350}
    assert report.waiting_for_limit == 350
    # They go when the first templates leave Meta's 24 hours (and the claim's lease, as
    # Meta counts from the send), the last a day after.
    assert started + LIMIT_WINDOW <= report.resumes_at
    assert report.resumes_at <= datetime.now(UTC) + LIMIT_WINDOW
    assert report.finishes_at == report.resumes_at + LIMIT_WINDOW
    # A day later (by the worker's and Meta's clocks) the next 250, then the last 100.
    graph.advance(WAIT + 60)
    run_worker(database, graph.url, messaging_limit=LIMIT, later=WAIT + 60)
    assert len(graph.sent()) == 500 and graph.refused == []
    assert broadcasts.report(job).waiting_for_limit == 100
    graph.advance(WAIT)
    run_worker(database, graph.url, messaging_limit=LIMIT, later=2 * WAIT + 120)
    sent = graph.sent()
    assert len(sent) == 600 == len({m["to"] for m in sent}) and graph.refused == []
    final = broadcasts.report(job)
    assert final.status == "completed" and final.counts == {"sent": 600}
    assert set(numbers) == {m["to"] for m in sent}


def test_inside_the_window_nothing_waits_and_emergencies_go_first(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    from datetime import date

    from urp.information.memo import Memo, MemoItem, MemoService

    inside = subscribe(service, 20, start=5000)  # memo followers who wrote today
    store = services(database)[1]
    for user_id in inside:
        store.wrote(user_id, datetime.now(UTC))
        graph.user_wrote(user_id)
    outside = subscribe(service, 300, "emergenze")
    broadcasts = services(database, messaging_limit=LIMIT)[0]
    item = MemoItem("AVVISO", "Testo.", "https://c.it/a")
    memo = Memo(date(2024, 1, 15), "MEMO", (item,))
    MemoService(database).publish(memo)
    memo_job = broadcasts.start_memo(memo, "memo", created_by="t", rate=RATE)
    urgent = broadcasts.start_emergency("emergenze", "Allerta.", created_by="t", rate=RATE)
    run_worker(database, graph.url, messaging_limit=LIMIT)
    assert graph.refused == []
    # The emergency took the limit first; the memo's free-form messages never wait, and
    # its templates go to the 250 already counted (Meta counts distinct recipients).
    assert broadcasts.report(urgent).counts == {"sent": 250, "pending": 50}
    assert broadcasts.report(memo_job).counts == {"sent": 270, "pending": 50}
    assert {m["type"] for m in graph.sent() if m["to"] in inside} == {"text"}
    assert len({m["to"] for m in graph.sent() if m["to"] in outside}) == 250
    assert graph.initiated() == {m["to"] for m in graph.sent() if m["to"] in outside}
