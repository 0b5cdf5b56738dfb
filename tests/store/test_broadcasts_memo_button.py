"""One paid message per recipient per memo (issue 25): outside the 24-hour window a
subscriber gets one template, the memo's teaser with the link to its page and the button
«Leggi il memo»; tapping it opens the window and the whole memo follows free-form, free.

Against the strict simulator: Meta's messaging limit and its prices (a marketing template
is paid, a free-form message inside the window never is), so a memo sent as two templates
per person, or beyond the limit, would show here as paid messages or refusals.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import RATE, TEMPLATES, run_worker, services, subscribe
from urp.broadcasts.delivery import LIMIT_WINDOW, template_count
from urp.core.db import Database
from urp.information.memo import (
    SITE_VARIABLE,
    Memo,
    MemoItem,
    MemoService,
    format_memo,
    memo_teaser,
)
from urp.subscription.subscribers import SubscriberService
from urp.whatsapp.graph import TEMPLATE_PARAMETER_MAX, GraphClient, GraphSettings, text_messages

WAIT = LIMIT_WINDOW.total_seconds()  # a place in the limit frees after 24 h and the lease
LIMIT = 250
SITE = "https://chat.comune.example"
# Long enough that the memo is two template messages of 1,000 characters: the old way
# sent both, two paid messages per person.
SENTENCE = "Il Comune informa i cittadini sulle novità della settimana e sulle scadenze. "
MEMO = Memo(
    date(2026, 12, 4),
    "MEMO COMUNE DI ANCONA",
    (
        MemoItem("SCIOPERO DEI BUS", SENTENCE * 8, "https://www.comune.ancona.gov.it/a"),
        MemoItem("BANDO LIBRI DI TESTO", SENTENCE * 8, "https://www.comune.ancona.gov.it/b"),
    ),
)


@pytest.fixture
def graph(graph: GraphApiSimulator, monkeypatch: pytest.MonkeyPatch) -> GraphApiSimulator:
    """The store tests' simulator (tests/store/conftest.py), strict: Meta's messaging limit
    and prices."""
    monkeypatch.setenv(SITE_VARIABLE, SITE)
    categories = {template.name: "marketing" for template in TEMPLATES.values()}
    graph.enforce(messaging_limit=LIMIT, throughput=None, pair_interval=None, categories=categories)
    return graph


def send_free_form(graph: GraphApiSimulator, to: str, texts: list[str]) -> None:
    """What the WhatsApp channel does with the memo a citizen asked for."""
    settings = GraphSettings.from_environment(graph.environment())
    assert settings is not None

    async def go() -> None:
        client = GraphClient(settings)
        try:
            for text in texts:
                for message in text_messages(to, text):
                    await client.send(message)
        finally:
            await client.close()

    asyncio.run(go())


def test_600_outside_the_window_get_one_paid_template_each_and_a_tap_gets_the_memo_free(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    assert len(format_memo(MEMO, TEMPLATE_PARAMETER_MAX)) == 2  # the old 1,200 templates
    numbers = subscribe(service, 600, "memo")
    MemoService(database).publish(MEMO)
    broadcasts, store = services(database, messaging_limit=LIMIT)
    job = broadcasts.start_memo(MEMO, "memo", created_by="t", rate=RATE)
    run_worker(database, graph.url, messaging_limit=LIMIT)

    sent = graph.sent()
    assert len(sent) == LIMIT == len({m["to"] for m in sent}) and graph.refused == []
    assert {m["type"] for m in sent} == {"template"}
    assert graph.paid() == LIMIT  # one paid message per recipient, not two
    [teaser] = {m["template"]["components"][0]["parameters"][0]["text"] for m in sent}
    assert teaser == memo_teaser(MEMO, f"{SITE}/memo/2026-12-04")
    assert "Leggi il memo" in teaser and len(teaser) <= TEMPLATE_PARAMETER_MAX
    report = broadcasts.report(job)
    assert report.counts == {"sent": 250, "pending": 350}
    assert report.waiting_for_limit == 350

    # A citizen taps «Leggi il memo»: their message opens the window (the channel records
    # it), the whole memo follows free-form, and Meta charges nothing more.
    citizen = sent[0]["to"]
    store.wrote(citizen, datetime.now(UTC))
    graph.user_wrote(citizen)
    memo = broadcasts.memo_on_request(citizen, "Leggi il memo")
    assert memo == format_memo(MEMO)
    send_free_form(graph, citizen, memo)
    assert [m["type"] for m in graph.sent(citizen)] == ["template"] + ["text"] * len(memo)
    assert graph.paid() == LIMIT and graph.paid(citizen) == 1 and graph.refused == []

    # A day later the next 250 get their one template; nobody gets a second.
    graph.advance(WAIT + 60)
    run_worker(database, graph.url, messaging_limit=LIMIT, later=WAIT + 60)
    templates = [m["to"] for m in graph.sent() if m["type"] == "template"]
    assert len(templates) == 500 == len(set(templates)) and set(templates) <= set(numbers)
    assert graph.paid() == 500 and graph.refused == []
    assert broadcasts.report(job).waiting_for_limit == 100


def test_the_memo_on_request_is_the_one_of_the_template(
    database: Database, service: SubscriberService, graph: GraphApiSimulator
) -> None:
    citizen, stranger = subscribe(service, 2, "memo", start=7000)
    MemoService(database).publish(MEMO)
    later = Memo(date(2026, 12, 11), "MEMO COMUNE DI ANCONA", (MEMO.items[0],))
    MemoService(database).publish(later)
    broadcasts, _ = services(database, messaging_limit=LIMIT)
    broadcasts.start_memo(MEMO, "memo", created_by="t", rate=RATE)
    service.unsubscribe("whatsapp", stranger)  # gets nothing by template
    run_worker(database, graph.url, messaging_limit=LIMIT)
    assert [m["to"] for m in graph.sent()] == [citizen]
    # By the button's text: the latest memo this citizen got by template.
    assert broadcasts.memo_on_request(citizen, "leggi il memo") == format_memo(MEMO)
    # By a payload naming their row, if the template's button carried one.
    key = graph.sent(citizen)[0]["biz_opaque_callback_data"].rsplit(":", 1)[0]
    assert broadcasts.memo_on_request(citizen, f"memo:{key}") == format_memo(MEMO)
    # Nothing sent by template: the assistant answers instead.
    assert broadcasts.memo_on_request(stranger, "Leggi il memo") is None
    assert broadcasts.memo_on_request(citizen, "memo:b999.nope.1") is None


def test_a_memo_is_one_template_whatever_its_length_an_emergency_one_per_part() -> None:
    assert template_count("memo", ["a", "b", "c"]) == 1
    assert template_count("emergency", ["a", "b"]) == 2
    long = Memo(MEMO.published_on, MEMO.header, MEMO.items * 40)
    teaser = memo_teaser(long, f"{SITE}/memo/2026-12-04")
    assert len(teaser) <= TEMPLATE_PARAMETER_MAX and "\n" not in teaser
    assert teaser.endswith(f"oppure aprilo su {SITE}/memo/2026-12-04.")
    assert memo_teaser(MEMO) == (
        "MEMO COMUNE DI ANCONA del 04/12/2026: SCIOPERO DEI BUS · BANDO LIBRI DI TESTO. "
        "Tocca «Leggi il memo» per riceverlo qui."
    )
