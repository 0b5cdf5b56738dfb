"""The Graph API simulator is strict like Meta's platform (issue 25): limits, prices, codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.simulators.graph_api import GraphApiSimulator
from urp.whatsapp.graph import (
    GraphApiError,
    GraphClient,
    GraphSettings,
    error_action,
    template_message,
    text_messages,
)


@pytest.fixture
def graph() -> Iterator[GraphApiSimulator]:
    graph = GraphApiSimulator()
    yield graph
    graph.close()


def send_all(graph: GraphApiSimulator, messages: list[dict[str, Any]]) -> list[int | None]:
    """Each message's refusal code, or None if accepted (no retries)."""
    settings = GraphSettings.from_environment(graph.environment())
    assert settings is not None

    async def go() -> list[int | None]:
        client = GraphClient(settings, attempts=1)
        codes: list[int | None] = []
        try:
            for message in messages:
                try:
                    await client.send(message, retry_uncertain=False, retry_throttled=False)
                    codes.append(None)
                except GraphApiError as error:
                    codes.append(error.code)
        finally:
            await client.close()
        return codes

    return asyncio.run(go())


def memo(to: str) -> dict[str, Any]:
    return template_message(to, "urp_memo_iscritti", "it", "Il memo di oggi")


def test_the_messaging_limit_counts_distinct_recipients_outside_the_window(
    graph: GraphApiSimulator,
) -> None:
    graph.enforce(messaging_limit=3, throughput=None, pair_interval=None)
    graph.user_wrote("390000009")
    codes = send_all(graph, [memo(f"39000000{n}") for n in (1, 2, 3, 1, 4, 9)])
    assert codes == [None, None, None, None, 131048, None]  # 9 wrote: in the window
    graph.advance(24 * 3600)
    assert send_all(graph, [memo("390000004")]) == [None]


def test_the_pair_rate_limit_and_the_throughput(graph: GraphApiSimulator) -> None:
    graph.enforce(messaging_limit=None, throughput=None, pair_interval=6.0, pair_burst=2)
    texts = [text_messages("390000001", f"parte {n}")[0] for n in range(3)]
    assert send_all(graph, texts) == [None, None, 131056]
    graph.enforce(messaging_limit=None, throughput=5, pair_interval=None)
    codes = send_all(graph, [memo(f"39100000{n}") for n in range(8)])
    assert codes[:5] == [None] * 5 and 130429 in codes[5:]


def test_prices_by_category_marketing_always_utility_outside_the_window(
    graph: GraphApiSimulator,
) -> None:
    graph.enforce(messaging_limit=None, throughput=None, pair_interval=None,
                  categories={"urp_allerta": "utility"})  # fmt: skip
    graph.user_wrote("390000002")
    alert = template_message("390000002", "urp_allerta", "it", "Allerta")
    outside_alert = template_message("390000003", "urp_allerta", "it", "Allerta")
    text = text_messages("390000002", "Ciao")[0]
    send_all(graph, [memo("390000001"), memo("390000002"), alert, outside_alert, text])
    assert graph.paid() == 3  # two marketing, one utility outside the window
    assert graph.paid("390000002") == 1
    assert graph.cost() == round(2 * 0.0691 + 0.03, 4)


@pytest.mark.parametrize("code", [130429, 131056, 131047, 131026, 131049, 131050, 131048, 368])
def test_each_code_on_demand_in_meta_s_shape(graph: GraphApiSimulator, code: int) -> None:
    graph.fail_next(code)
    settings = GraphSettings.from_environment(graph.environment())
    assert settings is not None

    async def go() -> GraphApiError:
        client = GraphClient(settings, attempts=1)
        try:
            await client.send(memo("390000001"), retry_throttled=False)
        except GraphApiError as error:
            return error
        finally:
            await client.close()
        raise AssertionError("accepted")

    error = asyncio.run(go())
    assert error.code == code and error.title.startswith(f"(#{code})") and error.details
    assert error_action(code) != "other"
