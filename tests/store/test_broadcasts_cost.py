"""What a broadcast costs (issue 25): the estimate before publishing, from the recipients
inside and outside the 24-hour window, the template's category and the settings' prices;
the report's paid messages, counted as the strict simulator bills them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import RATE, run_worker, services, simulator, subscribe
from urp.broadcasts.service import broadcast_template, emergency_messages
from urp.core.db import Database
from urp.core.settings import MessageTemplate, WhatsAppPrices
from urp.subscription.subscribers import SubscriberService

PRICES = WhatsAppPrices(marketing=0.06, utility=0.02)
MEMO = MessageTemplate("urp_memo_iscritti", category="marketing")
ALERT = MessageTemplate("urp_avviso_iscritti", category="utility")
TEMPLATES = {"memo": MEMO, "emergency": ALERT}


@pytest.fixture
def graph(database: Database) -> Iterator[GraphApiSimulator]:
    graph = simulator(database)
    graph.enforce(
        messaging_limit=250,
        throughput=None,
        pair_interval=None,
        categories={MEMO.name: "marketing", ALERT.name: "utility"},
    )
    yield graph
    graph.close()


def test_emergencies_use_their_utility_template_and_memos_the_marketing_one() -> None:
    assert broadcast_template(TEMPLATES, "emergency") == ALERT
    assert broadcast_template(TEMPLATES, "memo") == MEMO
    assert broadcast_template({"memo": MEMO}, "emergency") == MEMO  # no utility one: the memo's
    assert broadcast_template({}, "memo") is None


def test_prices_by_category_and_window() -> None:
    assert PRICES.per_message("marketing") == PRICES.per_message("marketing", in_window=True)
    assert PRICES.per_message("utility") == 0.02
    assert PRICES.per_message("utility", in_window=True) == 0.0  # free inside the window
    assert PRICES.per_message("service") == 0.0
    assert WhatsAppPrices().money(1234.5) == "€ 1.234,50"


def test_the_estimate_splits_the_window_and_prices_one_template_each(
    database: Database, service: SubscriberService
) -> None:
    inside = subscribe(service, 4, "emergenze")
    subscribe(service, 6, "emergenze", start=100)
    subscribe(service, 3, "eventi", start=200)  # another topic: not counted
    broadcasts, store = services(database, messaging_limit=5)
    for user_id in inside:
        store.wrote(user_id, datetime.now(UTC))
    estimate = broadcasts.estimate(["emergenze"], template=ALERT, prices=PRICES, messages=3)
    assert (estimate.inside, estimate.outside, estimate.recipients) == (4, 6, 10)
    assert (estimate.category, estimate.paid_messages) == ("utility", 6)
    assert estimate.cost == pytest.approx(6 * 0.02) and estimate.currency == "EUR"
    assert estimate.waiting_for_limit == 1  # 6 outside, a limit of 5
    marketing = broadcasts.estimate(["emergenze"], template=MEMO, prices=PRICES)
    assert marketing.cost == pytest.approx(6 * 0.06)
    # A long emergency needs two templates (Meta caps a parameter): two paid each.
    free_form, templates = emergency_messages("Allerta. " * 200)
    assert len(templates) > len(free_form) >= 1
    long = broadcasts.estimate(
        ["emergenze"], template=ALERT, prices=PRICES, templates_each=len(templates)
    )
    assert long.paid_messages == 6 * len(templates)
    # Without a template the outside get nothing, and nothing is paid.
    none = broadcasts.estimate(["emergenze"], template=None, prices=PRICES)
    assert (none.category, none.paid_messages, none.cost, none.waiting_for_limit) == (
        None,
        0,
        0.0,
        0,
    )


def test_the_report_counts_the_templates_meta_billed(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    inside = subscribe(service, 20, "emergenze")
    subscribe(service, 300, "emergenze", start=1000)
    broadcasts, store = services(database, messaging_limit=250)
    for user_id in inside:
        store.wrote(user_id, datetime.now(UTC))
        graph.user_wrote(user_id)
    before = broadcasts.estimate(["emergenze"], template=ALERT, prices=PRICES)
    assert (before.inside, before.outside, before.waiting_for_limit) == (20, 300, 50)
    job = broadcasts.start_emergency("emergenze", "Allerta meteo.", created_by="t", rate=RATE)
    run_worker(database, graph.url, messaging_limit=250, templates=TEMPLATES)
    report = broadcasts.report(job)
    assert graph.refused == []
    assert report.paid_messages == graph.paid() == before.outside - before.waiting_for_limit
    assert report.waiting_for_limit == 50
