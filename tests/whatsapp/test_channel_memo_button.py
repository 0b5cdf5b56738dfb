"""«Leggi il memo» on the WhatsApp webhook (issue 25): a subscriber outside the window got
one template; tapping its quick-reply button (Meta's ``button`` message) opens the window
and the whole memo follows free-form, not paid, without going through the assistant."""

from __future__ import annotations

from datetime import date

from channels import services
from channels.whatsapp import WhatsAppInput
from tests.simulators.graph_api import GraphApiSimulator, delivery
from tests.whatsapp import test_channel
from tests.whatsapp.test_channel import (
    ANSWER,
    SALT,
    FakeRasa,
    Server,
    eventually,
    free_port,
    post_delivery,
    run,
)
from urp.broadcasts.worker import BroadcastWorker
from urp.core.hashing import UserHasher
from urp.core.settings import MessageTemplate, current_settings
from urp.information.memo import Memo, MemoItem, MemoService, format_memo
from urp.subscription.subscribers import SubscriberService
from urp.whatsapp.graph import GraphClient, GraphSettings

store_url = test_channel.store_url
graph = test_channel.graph

TEMPLATE = MessageTemplate("urp_memo_iscritti")
SENTENCE = "Il Comune informa i cittadini sulle novità della settimana. "
MEMO = Memo(
    date(2026, 12, 4),
    "MEMO COMUNE DI ANCONA",
    tuple(
        MemoItem(f"NOTIZIA {n}", SENTENCE * 30, "https://www.comune.ancona.gov.it/n")
        for n in range(4)
    ),
)


def tap(citizen: str, payload: str = "Leggi il memo") -> dict[str, object]:
    """Meta's delivery of a tap on a template's quick-reply button."""
    button = {"text": "Leggi il memo", "payload": payload}
    return delivery(citizen, {"type": "button", "button": button, "context": {"id": "wamid.X"}})


async def broadcast_the_memo(*citizens: str) -> None:
    """The memo published and broadcast to ``citizens``, who never wrote: a template each."""
    settings = current_settings()
    subscribers = SubscriberService(
        services.database(), settings.subscription, UserHasher(SALT.encode())
    )
    for citizen in citizens:
        subscribers.subscribe("whatsapp", citizen, "Iscrivimi", "v1")
    MemoService(services.database()).publish(MEMO)
    broadcasts = services.broadcast_service()
    broadcasts.start_memo(MEMO, settings.subscription.default_topic, created_by="t", rate=500)
    graph_settings = GraphSettings.from_environment()
    assert graph_settings is not None
    client = GraphClient(graph_settings)
    worker = BroadcastWorker(
        broadcasts, client, services.whatsapp_store(), {"memo": TEMPLATE}, poll_every=0.05
    )
    try:
        await worker.run()
    finally:
        await client.close()


def test_a_tap_on_leggi_il_memo_gets_the_whole_memo_free_form(
    store_url: str, graph: GraphApiSimulator
) -> None:
    citizen, other = "393330000401", "393330000402"
    graph.enforce(messaging_limit=250, throughput=None, pair_interval=None)
    rasa = FakeRasa()
    memo = format_memo(MEMO)
    assert len(memo) >= 2

    async def scenario() -> None:
        await broadcast_the_memo(citizen, other)
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as server:
            graph.user_wrote(citizen)  # Meta opens the window with the tap
            assert await post_delivery(server.url, tap(citizen)) == 200
            await eventually(lambda: len(graph.sent(citizen)) >= 1 + len(memo))
            await server.stop()

    run(scenario)
    sent = graph.sent(citizen)
    assert [m["type"] for m in sent] == ["template"] + ["text"] * len(memo)
    assert [m["text"]["body"] for m in sent[1:]] == memo
    assert graph.paid(citizen) == 1 and graph.paid() == 2 and graph.refused == []
    assert rasa.received == []  # the office's memo, not the assistant's answer
    assert [m["type"] for m in graph.sent(other)] == ["template"]


def test_a_tap_without_a_memo_sent_by_template_goes_to_the_assistant(
    store_url: str, graph: GraphApiSimulator
) -> None:
    citizen = "393330000403"
    rasa = FakeRasa()

    async def scenario() -> None:
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as server:
            assert await post_delivery(server.url, tap(citizen)) == 200
            await eventually(lambda: graph.sent(citizen))
            await server.stop()

    run(scenario)
    assert [m["text"]["body"] for m in graph.sent(citizen)] == [ANSWER]
    assert [m.text for m in rasa.received] == ["Leggi il memo"]
