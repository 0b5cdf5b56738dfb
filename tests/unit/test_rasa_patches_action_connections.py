"""Custom actions reuse their connection to the action server
(rasa_patches/action_connections.py).

Rasa's own RemoteAction (with every patch, as the Rasa server runs it) against a real HTTP
server that records the client port of every request: one port for many actions means one
connection.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import sanic.config
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.utils import AvailableEndpoints
from rasa.utils.endpoints import EndpointConfig

import rasa_patches
from rasa_patches import action_connections
from tests.unit.test_rasa_patches_action_guard import DOMAIN, conversation, free_port, texts


class ActionServer:
    """Answers every action with a text; notes the client port of each request."""

    def __init__(self, close_idle_after: float | None = None) -> None:
        self.close_idle_after = close_idle_after
        self.ports: list[int] = []
        self.secrets: list[str | None] = []  # the header the action server asks for
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.ports.append(request.transport.get_extra_info("peername")[1])
        self.secrets.append(request.headers.get("X-URP-Action-Secret"))
        if self.close_idle_after is not None:  # as a server's idle timeout does
            asyncio.get_running_loop().call_later(self.close_idle_after, request.transport.close)
        body = await request.json()
        return web.json_response({"events": [], "responses": [{"text": body["next_action"]}]})

    async def __aenter__(self) -> ActionServer:
        app = web.Application()
        app.router.add_post("/webhook", self.handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/webhook"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def act(endpoint: EndpointConfig, name: str = "action_pharmacy_shift") -> list[str]:
    action = RemoteAction(name, endpoint)
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    return texts(await action.run(CollectingOutputChannel(), nlg, conversation(), DOMAIN))


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    rasa_patches.install_all({})  # every patch, whatever the shell says
    monkeypatch.delenv(action_connections.KEEPALIVE_ENV, raising=False)
    action_connections._kept.clear()
    yield
    action_connections._kept.clear()


def test_actions_share_one_connection_and_each_gets_its_answer() -> None:
    async def scenario() -> tuple[list[list[str]], list[int]]:
        async with ActionServer() as server:
            endpoint = EndpointConfig(server.url)
            answers = [await act(endpoint, name) for name in ("action_a", "action_b")]
            # Concurrent actions get connections of their own, kept for the next ones.
            answers += await asyncio.gather(*(act(endpoint) for _ in range(3)))
            answers.append(await act(EndpointConfig(server.url), "action_c"))  # a copy
            return answers, server.ports

    answers, ports = asyncio.run(scenario())
    assert answers[:2] == [["action_a"], ["action_b"]]
    assert answers[2:5] == [["action_pharmacy_shift"]] * 3
    assert answers[5] == ["action_c"]
    assert ports[0] == ports[1] and {ports[0], ports[5]} <= set(ports[2:5])
    assert len(set(ports)) == 3


def test_zero_keepalive_opens_a_connection_per_action_as_rasa_does(monkeypatch) -> None:
    monkeypatch.setenv(action_connections.KEEPALIVE_ENV, "0")

    async def scenario() -> list[int]:
        async with ActionServer() as server:
            endpoint = EndpointConfig(server.url)
            assert [await act(endpoint) for _ in range(3)] == [["action_pharmacy_shift"]] * 3
            return server.ports

    assert len(set(asyncio.run(scenario()))) == 3


def test_an_idle_connection_is_let_go_after_the_keepalive(monkeypatch) -> None:
    # Long enough that two calls in a row fall within it on a loaded machine; waiting
    # longer than it is what the test is about, and never depends on the machine's speed.
    monkeypatch.setenv(action_connections.KEEPALIVE_ENV, "3")

    async def scenario() -> list[int]:
        async with ActionServer() as server:
            endpoint = EndpointConfig(server.url)
            await act(endpoint)
            await act(endpoint)
            await asyncio.sleep(4)
            assert await act(endpoint) == ["action_pharmacy_shift"]
            return server.ports

    first, second, third = asyncio.run(scenario())
    assert first == second != third


def test_a_connection_the_server_closed_while_idle_is_not_used_again() -> None:
    async def scenario() -> list[int]:
        async with ActionServer(close_idle_after=0.1) as server:
            endpoint = EndpointConfig(server.url)
            await act(endpoint)
            await asyncio.sleep(0.5)
            assert await act(endpoint) == ["action_pharmacy_shift"]  # no failure, no handoff
            return server.ports

    first, second = asyncio.run(scenario())
    assert first != second


def test_the_session_is_closed_when_the_server_stops_or_the_loop_ends() -> None:
    async def stopped_server() -> None:
        async with ActionServer() as server:
            await act(EndpointConfig(server.url))
            [kept] = action_connections._kept.values()
            [session] = kept._sessions.values()
            await action_connections.close_all()  # the REST channel's after_server_stop
            assert session.closed and not kept._sessions and not kept._keepers

    asyncio.run(stopped_server())
    action_connections._kept.clear()

    async def ended_loop():
        async with ActionServer() as server:
            await act(EndpointConfig(server.url))
        [kept] = action_connections._kept.values()
        [session] = kept._sessions.values()
        return session

    assert asyncio.run(ended_loop()).closed  # asyncio.run cancelled the keeper


def test_the_default_keepalive_is_shorter_than_the_action_servers_idle_timeout() -> None:
    # The action server (Sanic) closes an idle connection after KEEP_ALIVE_TIMEOUT seconds:
    # a client letting go first never sends on a connection being closed.
    sanic_idle = sanic.config.DEFAULT_CONFIG["KEEP_ALIVE_TIMEOUT"]
    assert sanic_idle > action_connections.DEFAULT_KEEPALIVE
    assert action_connections.keepalive_seconds() == action_connections.DEFAULT_KEEPALIVE


@pytest.mark.parametrize("value", ["tanto", "-1"])
def test_an_odd_keepalive_setting_falls_back_to_the_default(monkeypatch, value) -> None:
    monkeypatch.setenv(action_connections.KEEPALIVE_ENV, value)
    assert action_connections.keepalive_seconds() == action_connections.DEFAULT_KEEPALIVE


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "endpoints.prod.yml"])
@pytest.mark.parametrize("keepalive", ["2", "0"])
def test_every_call_carries_the_action_servers_secret(monkeypatch, endpoints, keepalive) -> None:
    """The action endpoint as Rasa reads it from each profile's file: the shared secret
    goes out on every call, on a kept connection or on a new one."""
    monkeypatch.setenv(action_connections.KEEPALIVE_ENV, keepalive)
    path = Path(__file__).resolve().parents[2] / endpoints
    for name in re.findall(r"\$\{(\w+)\}", path.read_text()):
        monkeypatch.setenv(name, "1")  # every other ${VAR} of the file: unused here
    monkeypatch.setenv("URP_ACTION_SECRET", "segreto-condiviso")

    async def scenario() -> list[str | None]:
        async with ActionServer() as server:
            monkeypatch.setenv("URP_ACTION_ENDPOINT", server.url)
            endpoint = AvailableEndpoints.read_endpoints(str(path)).action
            await act(endpoint, "action_a")
            await asyncio.gather(*(act(endpoint) for _ in range(3)))
            await act(endpoint, "action_b")
            return server.secrets

    assert asyncio.run(scenario()) == ["segreto-condiviso"] * 5


def test_every_custom_action_is_built_with_the_kept_endpoint() -> None:
    assert RemoteAction.__init__ is action_connections.init_with_kept_connections
    action = RemoteAction("action_a", EndpointConfig("http://127.0.0.1:1/webhook"))
    assert isinstance(action.action_endpoint, action_connections.KeptAliveEndpoint)
    assert action.name() == "action_a"
    assert RemoteAction("action_b", None).action_endpoint is None
