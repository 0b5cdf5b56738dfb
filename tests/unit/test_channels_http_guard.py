"""The Rasa server's body guard asks for the API's secret before it reads a body.

Rasa's own HTTP API (``rasa.server.create_app``, with a token and a JWT secret, as the
launcher starts it) with the guard the REST channel installs, served on a free port: an
attacker without the secret gets 401 before any parser runs, however large the body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import jwt
import pytest
from rasa import server as rasa_server
from sanic import Sanic

from channels import http_guard
from tests.e2e.servers import free_port

TOKEN = "token-del-gestore"
JWT_SECRET = "segreto-jwt-di-prova-lungo-32-byte-almeno"
TRAINING_DATA = b"nlu:\n" + b"- intent: greet\n  examples: |\n    - ciao\n" * 150_000  # 6 MB


def bearer(role: str = "admin", secret: str = JWT_SECRET) -> dict[str, str]:
    claims = {"user": {"username": "urp-console", "role": role}, "exp": time.time() + 60}
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}


@pytest.fixture
def parsed(monkeypatch) -> Iterator[list[str]]:
    """The paths whose bodies the guard handed to a parser."""
    calls: list[str] = []

    def body_problem(method: str, path: str, body: bytes) -> str | None:
        calls.append(path)
        return "il corpo non è JSON valido" if body.startswith(b"[") else None

    monkeypatch.setattr(http_guard, "body_problem", body_problem)
    monkeypatch.setenv("RASA_AUTH_TOKEN", TOKEN)
    monkeypatch.setattr(Sanic, "test_mode", True)  # Rasa's app name, once per test
    yield calls
    Sanic._app_registry.pop("rasa_server", None)


def call(requests: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
    """Each (method, path, aiohttp options) against the guarded API: the statuses."""

    async def scenario() -> list[int]:
        app = rasa_server.create_app(auth_token=TOKEN, jwt_secret=JWT_SECRET)
        http_guard.install(app)
        port = free_port()
        served = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await served.startup()
        try:
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
                statuses = []
                for method, path, options in requests:
                    async with session.request(method, path, **options) as answer:
                        statuses.append(answer.status)
                return statuses
        finally:
            served.close()
            await served.wait_closed()

    return asyncio.run(scenario())


def test_an_unauthenticated_large_body_is_refused_before_any_parsing(parsed) -> None:
    statuses = call(
        [
            ("POST", "/model/train", {"data": TRAINING_DATA}),
            ("POST", "/model/train", {"data": TRAINING_DATA, "params": {"token": "sbagliato"}}),
            ("POST", "/model/train", {"data": TRAINING_DATA, "headers": bearer("admin", "x")}),
            ("POST", "/model/test/intents", {"data": TRAINING_DATA}),
            ("POST", "/model/parse", {"data": b"[" * 100_000}),
            ("POST", "/conversations/393331234567/tracker/events", {"data": b"[]"}),
            ("GET", "/conversations/393331234567/tracker", {}),
            ("GET", "/status", {}),
        ]
    )
    assert statuses == [401] * 8
    assert parsed == []


def test_with_the_token_or_a_jwt_the_body_is_checked(parsed) -> None:
    statuses = call(
        [
            ("POST", "/model/parse", {"data": b"[1]", "params": {"token": TOKEN}}),
            ("POST", "/model/parse", {"data": b"[1]", "headers": bearer()}),
            ("POST", "/conversations/abc/messages", {"data": b"[1]", "headers": bearer("user")}),
        ]
    )
    assert statuses == [400, 400, 400]
    assert parsed == ["/model/parse", "/model/parse", "/conversations/abc/messages"]


def test_what_rasa_leaves_open_stays_open(parsed) -> None:
    assert call([("GET", "/", {}), ("GET", "/version", {})]) == [200, 200]
