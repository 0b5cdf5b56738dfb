"""Meta's refusals, by code, against the Graph API simulator (issue 25).

Each code as Meta's error codes page documents it, from the Graph API's answer and, where
Meta reports it later, from a failed status in the webhook: the throughput slows the job,
the pair rate limit delays the recipient, outside the window the template goes, a number
Meta cannot reach is skipped after repeated failures, the marketing cap and opt-out are
«saltati da Meta» for 24 hours, account errors pause the job with Meta's words, and an
unknown code fails the row with Meta's own text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import RATE, emergency, run_worker, services, subscribe
from urp.broadcasts.delivery import UNREACHABLE
from urp.broadcasts.worker import BroadcastWorker
from urp.core.db import Database
from urp.information.memo import Memo, MemoItem, MemoService
from urp.subscription.subscribers import SubscriberService

DAY = 24 * 3600


def memo(database: Database, day: int = 15, *, again: bool = False) -> int:
    item = MemoItem("AVVISO", "Testo del memo.", "https://c.it/a")
    published = Memo(date(2024, 1, day), "MEMO", (item,))
    MemoService(database).publish(published)
    return services(database)[0].start_memo(
        published, "memo", created_by="test", rate=RATE, again=again
    )


def report(database: Database, job: int) -> Any:
    return services(database)[0].report(job)


def requests_to(graph: GraphApiSimulator, user_id: str) -> int:
    return sum(1 for r in graph.requests if r["json"].get("to") == user_id)


def run(database: Database, graph: GraphApiSimulator, **options: Any) -> BroadcastWorker:
    return run_worker(database, graph.url, **options)


def test_throughput_130429_slows_the_whole_job_and_tries_again(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 10, "emergenze")
    job = emergency(database)
    graph.fail_next(130429, 130429, to=numbers[0])
    engine = run(database, graph)
    assert requests_to(graph, numbers[0]) == 3 and len(graph.sent(numbers[0])) == 1
    assert engine._pace < 1  # the whole worker's pace, not only this recipient's
    assert report(database, job).counts == {"sent": 10}


def test_pair_rate_limit_131056_delays_that_recipient_only(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 5, "emergenze")
    job = emergency(database)
    graph.fail_next(131056, 131056, to=numbers[0])
    engine = run(database, graph, pair_backoff=0.05)
    assert requests_to(graph, numbers[0]) == 3 and len(graph.sent(numbers[0])) == 1
    assert engine._pace == 1
    final = report(database, job)
    assert final.counts == {"sent": 5} and final.failures == ()


def test_outside_the_window_131047_switches_to_the_template(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    refused, later = subscribe(service, 2, "emergenze")
    for user_id in (refused, later):
        services(database)[1].wrote(user_id, datetime.now(UTC))  # we think it is open
    job = emergency(database)
    graph.fail_next(131047, to=refused)  # Meta knows better, in its answer
    graph.fail_next("async:131047", to=later)  # or in the webhook, after taking it
    run(database, graph)
    assert [m["type"] for m in graph.sent(refused)] == ["template"]
    assert [m["type"] for m in graph.sent(later)] == ["text", "template"]
    assert report(database, job).counts == {"sent": 2}


def test_131026_fails_and_after_repeated_failures_the_recipient_is_skipped(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    lost, fine = subscribe(service, 2, "emergenze")
    graph.fail_next(131026, "async:131026", to=lost)
    jobs = []
    for _ in range(3):
        jobs.append(emergency(database))
        run(database, graph)
    first, second, third = (report(database, job) for job in jobs)
    assert first.counts == second.counts == {"sent": 1, "failed": 1}
    assert [(f.code, f.reason) for f in first.failures] == [
        (131026, "(#131026) Message Undeliverable (Unable to deliver message.)")
    ]
    # Not on the first failure, nor the second: after them.
    assert requests_to(graph, lost) == 2
    assert third.counts == {"sent": 1, "skipped": 1}
    skipped = services(database)[0]
    assert skipped.report(jobs[2]).failures == ()
    assert len(graph.sent(fine)) == 3
    rows = [r for r in _rows(database, jobs[2]) if r["status"] == "skipped"]
    assert [(r["error_code"], r["error_reason"]) for r in rows] == [(131026, UNREACHABLE)]


def test_marketing_cap_and_opt_out_are_skipped_by_meta_for_24_hours(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    capped, stopped, fine = subscribe(service, 3)
    first = memo(database)
    graph.fail_next(131049, to=capped)
    graph.fail_next("async:131050", to=stopped)
    run(database, graph)
    final = report(database, first)
    assert final.counts == {"sent": 1, "skipped": 2}
    assert final.skipped_by_meta == 2 and final.failures == ()
    # The next memo within 24 hours does not try them again; a day later it does.
    second = memo(database, 16)
    run(database, graph)
    assert (requests_to(graph, capped), requests_to(graph, stopped)) == (1, 1)
    assert report(database, second).skipped_by_meta == 2
    third = memo(database, 17)
    run(database, graph, later=DAY + 60)
    assert (requests_to(graph, capped), requests_to(graph, stopped)) == (2, 2)
    assert report(database, third).counts == {"sent": 3}
    assert len(graph.sent(fine)) == 3


@pytest.mark.parametrize("code", [131048, 368, 131031, 190])
def test_account_and_policy_errors_pause_the_job_with_meta_s_words(
    database: Database, service: SubscriberService, graph: GraphApiSimulator, code: int
) -> None:
    numbers = subscribe(service, 20, "emergenze")
    job = emergency(database)
    graph.fail_next(code, to=numbers[3])
    run(database, graph, concurrency=1)
    paused = report(database, job)
    assert paused.status == "paused" and paused.paused_code == code
    assert f"(#{code})" in paused.paused_reason
    # Nothing went out after Meta's refusal (the rows are claimed in no set order, so the
    # refused number is not always the fourth), and nobody is lost: they wait.
    assert graph.requests[-1]["json"]["to"] == numbers[3]
    assert paused.counts.get("failed", 0) == 0
    assert paused.counts["pending"] == 20 - paused.counts.get("sent", 0)
    audit = _audit(database)
    assert any(a["action"] == "broadcast_paused" and str(code) in a["detail"] for a in audit)
    # The operators fix it and resume: everyone gets exactly one message.
    services(database)[0].resume(job, by="operatore")
    run(database, graph)
    assert {n: len(graph.sent(n)) for n in numbers} == dict.fromkeys(numbers, 1)
    resumed = report(database, job)
    assert resumed.status == "completed" and resumed.paused_reason is None


def test_a_policy_error_in_the_webhook_pauses_the_job_too(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    numbers = subscribe(service, 10, "emergenze")
    job = emergency(database)
    graph.fail_next("async:368", to=numbers[0])
    run(database, graph, concurrency=1)
    paused = report(database, job)
    assert paused.status == "paused" and paused.paused_code == 368


def test_an_unknown_code_fails_the_row_with_meta_s_own_words(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    odd, _fine = subscribe(service, 2, "emergenze")
    job = emergency(database)
    graph.fail_next(131999, to=odd)
    run(database, graph)
    final = report(database, job)
    assert final.counts == {"sent": 1, "failed": 1}
    assert [(f.code, f.reason) for f in final.failures] == [
        (131999, "(#131999) Something new Meta says (A refusal this code does not know.)")
    ]
    assert requests_to(graph, odd) == 1


def _rows(database: Database, job: int) -> list[dict[str, Any]]:
    from tests.store.conftest import raw_rows

    return [r for r in raw_rows(database, "broadcast_recipients") if r["broadcast_id"] == job]


def _audit(database: Database) -> list[dict[str, Any]]:
    from tests.store.conftest import raw_rows

    return raw_rows(database, "audit_events")
