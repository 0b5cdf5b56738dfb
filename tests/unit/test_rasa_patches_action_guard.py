"""The action guard (rasa_patches/action_guard.py): a failing action server gets the citizen
an apology and an operator, never silence.

Rasa's own RemoteAction, with the patches installed, against a real HTTP endpoint (closed, slow, failing, rejecting),
Rasa's templated NLG on the project's domain, a real SQLite store for the handoff.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, BotUttered, FollowupAction, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import rasa_patches
from rasa_patches import action_guard
from tests.unit.test_tools_validate import ROOT
from urp.core.db import Database, upgrade
from urp.core.settings import current_settings, load_settings
from urp.handoff.queue import HandoffService

NUMBER = "393331234567"
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch) -> Iterator[Database]:
    rasa_patches.install_all({})  # every patch, whatever the shell says
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path / 'urp.db'}")
    monkeypatch.setenv(action_guard.TIMEOUT_ENV, "0.5")
    action_guard.database.cache_clear()
    database = action_guard.database()
    upgrade(database)
    yield database
    database.dispose()
    action_guard.database.cache_clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/webhook"


def conversation(*, form: str | None = None) -> DialogueStateTracker:
    tracker = DialogueStateTracker(NUMBER, DOMAIN.slots)
    tracker.update(
        UserUttered(
            "farmacia di turno oggi",
            {"name": "ask_pharmacy_shift", "confidence": 0.97},
            input_channel="whatsapp",
        )
    )
    if form:
        tracker.update(ActiveLoop(form))
    return tracker


async def run(url: str, tracker: DialogueStateTracker) -> tuple[list, CollectingOutputChannel]:
    action = RemoteAction("action_pharmacy_shift", EndpointConfig(url))
    output = CollectingOutputChannel()
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    return await action.run(output, nlg, tracker, DOMAIN), output


def texts(events: list) -> list[str]:
    return [event.text for event in events if isinstance(event, BotUttered)]


def queued(store: Database) -> list:
    return HandoffService(store, load_settings()).queue()


def test_a_server_that_is_down_gets_an_apology_and_an_operator_with_the_transcript(
    store,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/webhook"
    events, _ = asyncio.run(run(closed, conversation()))
    phone = current_settings().urp_phone
    [text] = texts(events)
    assert "problema tecnico" in text and "operatore" in text and phone in text
    assert "{" not in text  # the municipality's facts filled in, even with no slots set
    assert events[-1] == FollowupAction("action_listen")
    [item] = queued(store)
    assert (item.handoff.reason, item.handoff.channel) == ("action_failed", "whatsapp")
    lines = HandoffService(store, load_settings()).messages(item.handoff.id)
    assert [line.text for line in lines] == ["farmacia di turno oggi"]


def test_a_second_failure_does_not_open_a_second_handoff(store) -> None:
    closed = f"http://127.0.0.1:{free_port()}/webhook"
    asyncio.run(run(closed, conversation()))
    events, _ = asyncio.run(run(closed, conversation()))
    assert len(texts(events)) == 1
    assert len(queued(store)) == 1


@pytest.mark.parametrize("behaviour", ["slow", "error", "nonsense"])
def test_slow_failing_or_garbled_servers_are_failures_too(store, behaviour: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if behaviour == "slow":
            await asyncio.sleep(5)
        if behaviour == "error":
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response({"events": "not a list"})

    async def scenario() -> list:
        runner, url = await serve(handler)
        try:
            events, _ = await run(url, conversation())
        finally:
            await runner.cleanup()
        return events

    events = asyncio.run(scenario())
    assert len(texts(events)) == 1
    assert [item.handoff.reason for item in queued(store)] == ["action_failed"]


def test_a_form_is_left_so_that_the_next_message_is_not_taken_as_its_answer() -> None:
    closed = f"http://127.0.0.1:{free_port()}/webhook"
    events, _ = asyncio.run(run(closed, conversation(form="report_form")))
    assert ActiveLoop(None) in events


def test_without_a_store_the_citizen_still_gets_an_apology(monkeypatch) -> None:
    monkeypatch.setenv("URP_DB_URL", "postgresql://nessuno@127.0.0.1:1/urp")
    action_guard.database.cache_clear()
    closed = f"http://127.0.0.1:{free_port()}/webhook"
    events, _ = asyncio.run(run(closed, conversation()))
    [text] = texts(events)
    assert "problema tecnico" in text and "Riprova" in text and "operatore" not in text


def test_a_working_server_and_a_form_rejection_pass_through(store) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if body["next_action"] == "action_pharmacy_shift":
            return web.json_response({"events": [], "responses": [{"text": "Farmacia Adriatica"}]})
        return web.json_response({"action_name": body["next_action"]}, status=400)

    async def scenario() -> None:
        runner, url = await serve(handler)
        try:
            events, _ = await run(url, conversation())
            assert texts(events) == ["Farmacia Adriatica"]
            action = RemoteAction("validate_report_form", EndpointConfig(url))
            with pytest.raises(ActionExecutionRejection):
                await action.run(
                    CollectingOutputChannel(),
                    TemplatedNaturalLanguageGenerator(DOMAIN.responses),
                    conversation(),
                    DOMAIN,
                )
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
    assert queued(store) == []


def test_every_custom_action_is_guarded() -> None:
    assert RemoteAction.run is action_guard.guarded_run
