"""The broadcast worker against the Graph API simulator: every recipient exactly once.

Through failures (429, 5xx before or after Meta took the message, no answer), a worker
killed with SIGKILL and restarted, two workers at once, unsubscribes mid-run, an
emergency overtaking a memo, cancel and resume. The simulator reports Meta's "sent"
status for every message it accepts, with the callback data the worker put in the
message, as the WhatsApp channel would hand it on, before it answers.

No outcome here depends on the machine's speed: failures are queued per recipient, no
answer is a dropped connection (not a timeout), leases expire by a worker's clock set
later, and the hooks that act mid-run hold the one request in flight while they act.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.simulators.graph_api import GraphApiSimulator, status_delivery
from tests.store.broadcasts import (
    RATE,
    drive,
    emergency,
    meta_statuses,
    per_recipient,
    run_worker,
    services,
    subscribe,
    worker,
)
from tests.store.conftest import raw_rows, url_of
from urp.broadcasts.delivery import MAX_ATTEMPTS, UNCERTAIN
from urp.core.db import Database, DatabaseError
from urp.core.settings import PROJECT_ROOT
from urp.information.memo import Memo, MemoItem, MemoService
from urp.subscription.subscribers import SubscriberService

PROCESS_TIMEOUT = 1800  # only ends a stuck worker: a loaded machine is slow, not stuck
LATER = 1000  # seconds: a restarted worker's clock, past the dead one's lease and grace


def report(database: Database, job: int) -> Any:
    return services(database)[0].report(job)


def after(count: int, action: Any) -> Any:
    """An ``on_accepted`` hook running ``action`` once, at the ``count``-th message."""
    seen = [0]

    def hook(_record: dict[str, Any]) -> None:
        seen[0] += 1
        if seen[0] == count:
            action()

    return hook


def worker_process(
    database: Database, graph: GraphApiSimulator, lease: float, grace: float, later: float = 0
) -> subprocess.Popen[bytes]:
    arguments = [url_of(database), graph.url, str(lease), str(grace), str(later)]
    command = [sys.executable, "-m", "tests.store.broadcasts", *arguments]
    return subprocess.Popen(command, cwd=PROJECT_ROOT)


def assert_each_reached_once(
    database: Database, graph: GraphApiSimulator, numbers: list[str], job: int
) -> None:
    assert per_recipient(graph, numbers) == dict.fromkeys(numbers, 1)
    assert report(database, job).counts == {"sent": len(numbers)}


def requests_to(graph: GraphApiSimulator, user_id: str) -> int:
    return sum(1 for r in graph.requests if r["json"].get("to") == user_id)


def outbound_wamids(database: Database) -> set[str]:
    return {row["wamid"] for row in raw_rows(database, "whatsapp_outbound")}


# What each tenth of the recipients meets first, and how many requests reach Meta for it.
FAILURES: list[tuple[tuple[int | str, ...], int]] = [
    ((429,), 2),  # refused: retried within the send
    ((500,), 2),  # not taken: sent again after the grace period, without Meta's word
    (("taken-500",), 1),  # Meta took it, then failed: never sent again
    (("taken-drop",), 1),  # Meta took it, the answer never came (CI, 7 December)
    ((503, "drop"), 3),  # two claims without Meta's word, the third sends it
    ((429, 502), 3),
    (("drop",), 2),
    ((), 1),
    ((), 1),
    ((), 1),
]


def test_a_few_hundred_subscribers_with_429s_and_500s_get_one_message_each(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 300, "emergenze")
    job = emergency(database)
    for index, user_id in enumerate(numbers):
        graph.fail_next(*FAILURES[index % 10][0], to=user_id)
    # Grace 0: the simulator reports its statuses before it answers, so a row given up is
    # settled by them, or sent again, at the next claim.
    run_worker(database, graph.url, grace=0)
    assert set(per_recipient(graph, numbers).values()) == {1}
    assert len(graph.sent()) == 300
    assert [requests_to(graph, n) for n in numbers] == [FAILURES[i % 10][1] for i in range(300)]
    final = report(database, job)
    assert final.status == "completed" and final.counts == {"sent": 300}
    # Delivery records for the channel, so that its statuses find every message, also
    # those whose answer the worker never got.
    wamids = {wamid for user_id in numbers for wamid in graph.wamids(user_id)}
    assert outbound_wamids(database) == wamids
    keys = {row["send_key"] for row in raw_rows(database, "broadcast_recipients")}
    assert {m["biz_opaque_callback_data"] for m in graph.sent()} == {f"{k}:0" for k in keys}


def test_a_message_meta_took_without_answering_is_settled_by_its_status_at_once(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    """The CI failure of 7 December: on a loaded machine some answers came after the
    client's timeout. The rows waited for their lease and grace (15 minutes), and their
    messages never got a delivery record, so "delivered" and "read" were lost."""
    (user_id,) = subscribe(service, 1, "emergenze")
    job = emergency(database)
    graph.fail_next("taken-drop", to=user_id)
    run_worker(database, graph.url)  # lease 300 s, grace 600 s: no waiting for either
    (wamid,) = graph.wamids(user_id)
    assert report(database, job).counts == {"sent": 1}
    assert outbound_wamids(database) == {wamid}
    meta_statuses(database)(status_delivery(wamid, user_id, "read"))
    assert services(database)[1].outbound(wamid) == ("read", None)
    assert report(database, job).counts == {"read": 1}


def test_a_5xx_after_meta_took_the_message_is_never_sent_again(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    (user_id,) = subscribe(service, 1, "emergenze")
    job = emergency(database)
    graph.fail_next("taken-500", "taken-500", to=user_id)
    run_worker(database, graph.url)
    assert requests_to(graph, user_id) == 1 and len(graph.sent(user_id)) == 1
    assert report(database, job).counts == {"sent": 1}
    assert outbound_wamids(database) == set(graph.wamids(user_id))


def test_5xx_without_meta_s_word_is_sent_again_then_fails_as_uncertain(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    again, never = subscribe(service, 2, "emergenze")
    job = emergency(database)
    graph.fail_next(500, to=again)
    graph.fail_next(*[500, "drop", 503, 500][:MAX_ATTEMPTS], to=never)
    run_worker(database, graph.url, grace=0)
    assert (requests_to(graph, again), len(graph.sent(again))) == (2, 1)
    assert (requests_to(graph, never), len(graph.sent(never))) == (MAX_ATTEMPTS, 0)
    final = report(database, job)
    assert final.counts == {"sent": 1, "failed": 1}
    assert [(f.code, f.reason) for f in final.failures] == [(None, UNCERTAIN)]


def test_results_survive_a_failed_write_and_are_written_later(
    database: Database,
    service: SubscriberService,
    graph: GraphApiSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    numbers = subscribe(service, 20, "emergenze")
    job = emergency(database)
    engine, client = worker(database, graph.url)
    store = engine._store  # the one the worker writes its delivery records with
    write = store.sent_many
    failures = [DatabaseError("database non raggiungibile")]

    def blinking(messages: Any) -> None:
        if failures:
            raise failures.pop()
        write(messages)

    monkeypatch.setattr(store, "sent_many", blinking)
    drive(engine, client)
    assert not failures  # the first write did fail
    assert per_recipient(graph, numbers) == dict.fromkeys(numbers, 1)
    assert report(database, job).counts == {"sent": 20}
    wamids = {wamid for user_id in numbers for wamid in graph.wamids(user_id)}
    assert outbound_wamids(database) == wamids


def test_a_long_memo_in_several_messages_free_form_or_one_template(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    """Inside the window every part, free; outside one template (each one is paid): the
    teaser with «Leggi il memo» (tests/store/test_broadcasts_memo_button.py)."""
    inside, outside = subscribe(service, 2)
    services(database)[1].wrote(inside, datetime.now(UTC))
    items = tuple(
        MemoItem(f"NOTIZIA {n}", "Una frase di prova per il memo. " * 40, "https://c.it/n")
        for n in range(4)
    )
    memo = Memo(date(2024, 1, 15), "MEMO COMUNE DI ANCONA", items)
    MemoService(database).publish(memo)
    job = services(database)[0].start_memo(memo, "memo", created_by="test", rate=RATE)
    run_worker(database, graph.url)
    free_form, templated = graph.sent(inside), graph.sent(outside)
    assert len(free_form) == 2 and {m["type"] for m in free_form} == {"text"}
    assert [m["template"]["name"] for m in templated] == ["urp_memo_iscritti"]
    assert report(database, job).counts == {"sent": 2}


def test_outside_the_window_without_a_template_the_row_fails_with_the_reason(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    subscribe(service, 1, "emergenze")
    job = emergency(database)
    run_worker(database, graph.url, templates={})
    assert graph.sent() == []
    (failure,) = report(database, job).failures
    assert "whatsapp.templates.memo" in failure.reason


def test_a_worker_killed_mid_run_and_restarted_sends_each_message_once(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 300, "emergenze")
    job = emergency(database)
    processes: list[subprocess.Popen[bytes]] = []
    # Killed right after the simulator took a message, before the worker read the answer.
    graph.on_accepted = after(100, lambda: os.kill(processes[0].pid, signal.SIGKILL))
    processes.append(worker_process(database, graph, lease=300, grace=600))
    assert processes[0].wait(PROCESS_TIMEOUT) == -signal.SIGKILL
    assert 100 <= len(graph.sent()) < 300
    assert report(database, job).counts.get("sending", 0) > 0
    # Restarted once the dead worker's leases and grace have passed, by its clock.
    restarted = worker_process(database, graph, lease=300, grace=600, later=LATER)
    assert restarted.wait(PROCESS_TIMEOUT) == 0
    assert_each_reached_once(database, graph, numbers, job)


def test_a_request_without_an_answer_is_resent_only_if_meta_did_not_take_it(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 5, "emergenze")
    job = emergency(database)
    # Neither gets an answer: the first was never taken, the second was, and Meta's
    # status says so (before the grace period, here none).
    graph.fail_next("drop", to=numbers[0])
    graph.fail_next("taken-drop", to=numbers[1])
    run_worker(database, graph.url, grace=0)
    assert_each_reached_once(database, graph, numbers, job)
    assert len(graph.requests) == 6  # one message sent again: the one Meta did not take
    assert requests_to(graph, numbers[0]) == 2


def test_two_workers_at_once_send_each_message_once(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 300, "emergenze")
    job = emergency(database, rate=1000)
    workers = [worker_process(database, graph, lease=300, grace=600) for _ in range(2)]
    assert [process.wait(PROCESS_TIMEOUT) for process in workers] == [0, 0]
    assert_each_reached_once(database, graph, numbers, job)


def test_unsubscribing_mid_run_stops_that_recipient(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 60, "emergenze")
    leaving = numbers[-10:]
    job = emergency(database, rate=40)  # batches of 10: at most 20 rows claimed ahead

    def unsubscribe() -> None:
        for user_id in leaving:
            service.unsubscribe("whatsapp", user_id)

    # One request at a time: nothing more is sent until they have left.
    graph.on_accepted = after(1, unsubscribe)
    run_worker(database, graph.url, concurrency=1)
    sent = per_recipient(graph, numbers)
    assert [sent[user_id] for user_id in leaving] == [0] * 10
    assert set(sent[user_id] for user_id in numbers[:-10]) == {1}
    assert report(database, job).counts == {"sent": 50, "skipped": 10}


def test_an_emergency_overtakes_a_memo_being_sent(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    subscribe(service, 200)
    urgent = subscribe(service, 20, "emergenze", start=1000)
    memo = Memo(date(2024, 1, 15), "MEMO", (MemoItem("AVVISO", "Testo.", "https://c.it/a"),))
    MemoService(database).publish(memo)
    services(database)[0].start_memo(memo, "memo", created_by="test", rate=200)
    graph.on_accepted = after(10, lambda: emergency(database))
    # One request at a time: no memo row is claimed while the emergency is being created.
    run_worker(database, graph.url, concurrency=1)
    order = [m["template"]["components"][0]["parameters"][0]["text"] for m in graph.sent()]
    last_alert = max(i for i, text in enumerate(order) if text.startswith("Allerta"))
    memo_after = sum(1 for text in order[last_alert:] if not text.startswith("Allerta"))
    assert memo_after >= 50  # the memo's last rows waited for the whole emergency
    assert len(order) == 220 + len(urgent)  # the 20 followers of emergenze get the memo too


def test_cancel_stops_the_pending_rows_and_resume_sends_the_rest_once(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 100, "emergenze")
    job = emergency(database, rate=100)
    broadcasts = services(database)[0]
    graph.on_accepted = after(10, lambda: broadcasts.cancel(job))
    # One request at a time: nothing is claimed while the cancel is being written.
    run_worker(database, graph.url, concurrency=1)
    cancelled = report(database, job)
    assert cancelled.status == "cancelled"
    assert 10 <= cancelled.counts["sent"] < 100
    assert cancelled.counts["sent"] + cancelled.counts["pending"] == 100
    graph.on_accepted = None
    broadcasts.resume(job)
    run_worker(database, graph.url)
    assert_each_reached_once(database, graph, numbers, job)


def test_the_worker_runs_inside_another_process_until_stopped(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 5, "emergenze")
    engine, client = worker(database, graph.url)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(until_idle=False, stop=stop))
        await asyncio.sleep(0.2)  # idle: no broadcast yet
        await asyncio.to_thread(emergency, database)
        await asyncio.to_thread(graph.wait_until, lambda: len(graph.sent()) == 5, 1800)
        stop.set()
        await task
        await client.close()

    asyncio.run(go())
    assert per_recipient(graph, numbers) == dict.fromkeys(numbers, 1)
