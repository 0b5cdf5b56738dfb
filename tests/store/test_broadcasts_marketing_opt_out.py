"""Meta's marketing opt-out in the broadcast worker (issue 25): a citizen who stopped
marketing messages from WhatsApp's menu gets no marketing template, and the row is
«saltato», not a failure; utility templates and free-form messages still go.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import TEMPLATES, emergency, run_worker, services, subscribe
from tests.store.conftest import FixedClock, raw_rows
from urp.broadcasts.worker import OPTED_OUT, MarketingOptOuts
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import MessageTemplate
from urp.subscription.consents import ConsentLog
from urp.subscription.subscribers import SubscriberService
from urp.whatsapp.graph import MARKETING_STOPPED

BOTH = {
    **TEMPLATES,  # the memo's: marketing
    "emergency": MessageTemplate("urp_avviso_iscritti", category="utility"),
}
ALERT = "Allerta meteo: scuole chiuse."


@pytest.fixture
def send(
    database: Database, graph: GraphApiSimulator, hasher: UserHasher
) -> Callable[[dict[str, MessageTemplate]], None]:
    """A worker run with these templates that honours Meta's marketing opt-outs."""

    def run(templates: dict[str, MessageTemplate]) -> None:
        opt_outs = MarketingOptOuts(ConsentLog(database, hasher), hasher)
        run_worker(
            database,
            graph.url,
            templates=templates,
            opt_outs=opt_outs,
            concurrency=4,
            messaging_limit=250,
        )

    return run


@pytest.fixture
def log(database: Database, hasher: UserHasher, clock: FixedClock) -> ConsentLog:
    return ConsentLog(database, hasher, clock=clock)


@pytest.fixture
def citizens(
    database: Database, service: SubscriberService, log: ConsentLog, clock: FixedClock
) -> tuple[str, str, str, str]:
    """Stopped; stopped and resumed; stopped but writing to us today; never stopped."""
    stopped, resumed, writing, never = subscribe(service, 4, "emergenze")
    for number in (stopped, resumed, writing):
        log.record_marketing("whatsapp", number, stopped=True)
    log.record_marketing("whatsapp", resumed, stopped=False, at=clock.now + timedelta(hours=1))
    services(database)[1].wrote(writing, datetime.now(UTC))
    return stopped, resumed, writing, never


def test_a_marketing_template_skips_whoever_stopped_marketing_messages(
    database: Database,
    citizens: tuple[str, str, str, str],
    send: Callable[[dict[str, MessageTemplate]], None],
    graph: GraphApiSimulator,
) -> None:
    stopped, resumed, writing, never = citizens
    job = emergency(database, ALERT)

    send(TEMPLATES)  # the memo's template: marketing

    assert graph.sent(stopped) == []  # not even tried: Meta would refuse it (131050)
    assert [m["type"] for m in graph.sent(resumed)] == ["template"]
    assert [m["type"] for m in graph.sent(writing)] == ["text"]  # free-form: not marketing
    assert [m["type"] for m in graph.sent(never)] == ["template"]
    report = services(database)[0].report(job)
    assert report.counts == {"sent": 3, "skipped": 1}
    assert report.failures == () and report.skipped_by_meta == 1
    (row,) = [r for r in raw_rows(database, "broadcast_recipients") if r["status"] == "skipped"]
    assert (row["error_code"], row["error_reason"]) == (MARKETING_STOPPED, OPTED_OUT)
    assert row["template_at"] is None  # no place taken in Meta's messaging limit


def test_an_emergency_s_utility_template_still_reaches_them(
    database: Database,
    citizens: tuple[str, str, str, str],
    send: Callable[[dict[str, MessageTemplate]], None],
    graph: GraphApiSimulator,
) -> None:
    stopped, *_ = citizens
    job = emergency(database, ALERT)

    send(BOTH)

    (message,) = graph.sent(stopped)
    assert message["template"]["name"] == "urp_avviso_iscritti"  # the emergency's own
    assert services(database)[0].report(job).counts == {"sent": 4}


def test_a_batch_of_only_opted_out_citizens_does_not_end_the_run(
    database: Database,
    service: SubscriberService,
    log: ConsentLog,
    send: Callable[[dict[str, MessageTemplate]], None],
    graph: GraphApiSimulator,
) -> None:
    """More opted-out citizens than one claim holds, before the others: all are skipped and
    the rest still go in the same run."""
    stopped = subscribe(service, 30, "emergenze")
    for number in stopped:
        log.record_marketing("whatsapp", number, stopped=True)
    others = subscribe(service, 3, "emergenze", start=100)
    # 40 messages a second: the worker claims 10 rows at a time.
    job = emergency(database, ALERT, rate=40)

    send(TEMPLATES)

    assert {m["to"] for m in graph.sent()} == set(others)
    assert services(database)[0].report(job).counts == {"sent": 3, "skipped": 30}
