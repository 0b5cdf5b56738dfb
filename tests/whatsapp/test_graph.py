"""What goes out to the Graph API: shapes within WhatsApp's limits, retries, no retries."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.simulators.graph_api import GraphApiSimulator
from urp.whatsapp.graph import (
    GraphApiError,
    GraphClient,
    GraphSettings,
    buttons_messages,
    document_message,
    template_message,
    text_messages,
)

TO = "393331234567"


def test_long_text_is_split_under_4096_between_paragraphs() -> None:
    paragraphs = [f"Paragrafo {n}: " + "parola " * 119 + "fine." for n in range(12)]
    messages = text_messages(TO, "\n\n".join(paragraphs))
    bodies = [m["text"]["body"] for m in messages]
    assert len(bodies) > 1 and all(len(b) < 4096 for b in bodies)
    assert all(b.startswith("Paragrafo") for b in bodies)  # never cut inside a paragraph
    assert "".join(bodies).replace("\n", "") == "".join(paragraphs).replace("\n", "")


def test_up_to_three_short_buttons_are_reply_buttons() -> None:
    buttons = [{"title": "Sì, avvisami", "payload": '/subscribe{"topic": "bandi"}'},
               {"title": "No, grazie", "payload": "/deny"}]  # fmt: skip
    [message] = buttons_messages(TO, "Vuoi un avviso?", buttons)
    interactive = message["interactive"]
    assert interactive["type"] == "button" and interactive["body"] == {"text": "Vuoi un avviso?"}
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": '/subscribe{"topic": "bandi"}', "title": "Sì, avvisami"},
        {"id": "/deny", "title": "No, grazie"},
    ]


def test_more_options_or_long_titles_become_a_list() -> None:
    buttons = [{"title": f"Ufficio numero {n}", "payload": f"/o{n}"} for n in range(5)]
    [message] = buttons_messages(TO, "Quale ufficio?", buttons)
    assert message["interactive"]["type"] == "list"
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [f"/o{n}" for n in range(5)]
    long_title = [{"title": "Un titolo decisamente lungo", "payload": "/a"}]
    assert buttons_messages(TO, "x", long_title)[0]["type"] == "text"  # 27 > 24: numbered


def test_a_long_text_with_buttons_sends_the_text_first() -> None:
    text = "Informazioni. " * 150  # over the 1,024 characters of an interactive body
    messages = buttons_messages(TO, text, [{"title": "Ok", "payload": "/affirm"}])
    assert {m["type"] for m in messages[:-1]} == {"text"}
    assert messages[-1]["type"] == "interactive"
    assert len(messages[-1]["interactive"]["body"]["text"]) <= 1024


def test_templates_carry_the_text_flat_and_short() -> None:
    message = template_message(TO, "urp_risposta_operatore", "it", "Riga uno\n\nriga   due\t!")
    parameter = message["template"]["components"][0]["parameters"][0]
    assert message["template"]["name"] == "urp_risposta_operatore"
    assert parameter == {"type": "text", "text": "Riga uno riga due !"}
    long = template_message(TO, "t", "it", "x" * 5000)["template"]
    assert len(long["components"][0]["parameters"][0]["text"]) == 1000


def test_documents_by_link_keep_a_file_name() -> None:
    message = document_message(TO, "https://www.comune.ancona.gov.it/bando.pdf")
    assert message["document"] == {
        "link": "https://www.comune.ancona.gov.it/bando.pdf",
        "filename": "bando.pdf",
    }


@pytest.fixture
def graph() -> Iterator[GraphApiSimulator]:
    simulator = GraphApiSimulator()
    yield simulator
    simulator.close()


def client(graph: GraphApiSimulator, timeout: float = 300, **settings: str) -> GraphClient:
    """A client of the simulator. No answer is the simulator's doing ("drop", "timeout"),
    so the timeout is long: a slow machine never makes a request go unanswered."""
    environment = {**graph.environment(), **settings}
    return GraphClient(GraphSettings.from_environment(environment), backoff=0.01, timeout=timeout)


def send(client: GraphClient, message: dict, **options: bool) -> str:
    async def go() -> str:
        try:
            return await client.send(message, **options)
        finally:
            await client.close()

    return asyncio.run(go())


def test_sent_messages_get_meta_s_id(graph) -> None:
    wamid = send(client(graph), text_messages(TO, "Ciao!")[0])
    assert wamid.startswith("wamid.")
    assert graph.sent(TO)[0]["text"]["body"] == "Ciao!"


def test_429_500_and_no_answer_are_retried_until_sent(graph) -> None:
    graph.fail_next(429, 500, "drop", 503)
    assert send(client(graph), text_messages(TO, "Riprovo")[0]).startswith("wamid.")
    assert len(graph.requests) == 5 and len(graph.sent(TO)) == 1


def test_a_reply_after_a_5xx_is_sent_again_better_twice_than_never(graph) -> None:
    # Meta took it and failed: the citizen may read the reply twice, never not at all.
    graph.fail_next("taken-500")
    assert send(client(graph), text_messages(TO, "Risposta")[0]).startswith("wamid.")
    assert len(graph.requests) == 2 and len(graph.sent(TO)) == 2


@pytest.mark.parametrize("failure", ["taken-500", 500, 503, "taken-drop", "drop"])
def test_a_5xx_or_no_answer_is_never_repeated_when_a_second_message_is_worse(
    graph, failure: int | str
) -> None:
    graph.fail_next(failure)
    with pytest.raises(GraphApiError) as raised:
        send(client(graph), text_messages(TO, "Avviso")[0], retry_uncertain=False)
    assert raised.value.uncertain and len(graph.requests) == 1


def test_a_timeout_is_uncertain_and_never_repeated_when_a_second_message_is_worse(
    graph,
) -> None:
    graph.fail_next("late")  # taken, and held unanswered until the client gives up
    with pytest.raises(GraphApiError) as raised:
        send(client(graph, timeout=0.2), text_messages(TO, "Avviso")[0], retry_uncertain=False)
    assert raised.value.uncertain and raised.value.status is None
    assert len(graph.requests) == 1 and len(graph.sent(TO)) == 1


def test_a_429_is_retried_even_when_a_second_message_is_worse(graph) -> None:
    graph.fail_next(429, 429)  # refused: Meta took nothing
    send(client(graph), text_messages(TO, "Avviso")[0], retry_uncertain=False)
    assert len(graph.requests) == 3 and len(graph.sent(TO)) == 1


def test_giving_up_after_the_last_attempt(graph) -> None:
    graph.fail_next(*([500] * 5))
    with pytest.raises(GraphApiError) as failure:
        send(client(graph), text_messages(TO, "Niente")[0])
    assert failure.value.status == 500 and len(graph.requests) == 5


def test_client_errors_are_never_retried(graph) -> None:
    with pytest.raises(GraphApiError) as failure:
        send(client(graph, WHATSAPP_ACCESS_TOKEN="token-scaduto"), text_messages(TO, "x")[0])
    assert (failure.value.status, failure.value.code) == (401, 190)
    assert len(graph.requests) == 1
    too_many = buttons_messages(TO, "x", [{"title": "b" * 30, "payload": "/a"}])[0]
    too_many["interactive"] = {"type": "button", "body": {"text": "x"}, "action": {"buttons": []}}
    too_many["type"] = "interactive"
    with pytest.raises(GraphApiError) as failure:
        send(client(graph), too_many)
    assert failure.value.status == 400 and len(graph.requests) == 2


def test_no_configuration_without_every_credential() -> None:
    assert GraphSettings.from_environment({"WHATSAPP_ACCESS_TOKEN": "x"}) is None
