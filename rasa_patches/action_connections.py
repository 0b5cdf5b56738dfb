"""Custom actions reuse their HTTP connections to the action server.

Rasa 3.6 opens a new aiohttp session, so a new TCP connection, for every custom action, and
closes it after the answer: both servers pay for the connection each time (about 0.8 ms of
CPU together, measured in ``docs/performance.md``). Here the action endpoint keeps one
session per event loop and its idle connections for ``URP_ACTION_KEEPALIVE`` seconds
(default 2; ``0`` opens a connection per action, as Rasa does).

The default stays below the 5 seconds after which the action server (Sanic) closes an idle
connection, so a connection is never reused just as the server drops it. A proxy in front
of the action server with a shorter idle timeout needs a lower value.

A session is closed when the Rasa server stops (``close_all``, from the REST channel's
``after_server_stop`` listener) or when its event loop is shut down by ``asyncio.run``.

Replaces Rasa 3.6's ``RemoteAction.__init__``, process-wide: every custom action (those of
the policies, a form's ``validate_`` action, the slot mappings' custom actions) is built
with the kept endpoint. Installed by :func:`rasa_patches.install_all`; switched off
(``URP_RASA_PATCHES_OFF=action_connections``) it leaves the endpoint as Rasa passes it.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from rasa_patches.replacement import Replacement

KEEPALIVE_ENV = "URP_ACTION_KEEPALIVE"
DEFAULT_KEEPALIVE = 2.0


def keepalive_seconds() -> float:
    """``URP_ACTION_KEEPALIVE``: 0 for a connection per action; odd values: the default."""
    try:
        value = float(os.environ.get(KEEPALIVE_ENV) or DEFAULT_KEEPALIVE)
    except ValueError:
        return DEFAULT_KEEPALIVE
    return value if value >= 0 else DEFAULT_KEEPALIVE


class _Lent:
    """``async with`` hands out the kept session and leaves it open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: Any) -> None:
        return None


async def _close_when_cancelled(session: aiohttp.ClientSession) -> None:
    # ``asyncio.run`` cancels a loop's pending tasks before closing it; ``close`` does too.
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        await session.close()


def _settings(endpoint: EndpointConfig) -> list[Any]:
    """``EndpointConfig``'s positional arguments, in order, as ``endpoint`` holds them."""
    return [
        endpoint.url,
        endpoint.params,
        endpoint.headers,
        endpoint.basic_auth,
        endpoint.token,
        endpoint.token_name,
        endpoint.cafile,
    ]


class KeptAliveEndpoint(EndpointConfig):
    """The action endpoint, with a session per event loop kept open between actions."""

    def __init__(self, endpoint: EndpointConfig, keepalive: float) -> None:
        super().__init__(*_settings(endpoint), **endpoint.kwargs)
        self.type = endpoint.type
        self.keepalive = keepalive
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._keepers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    def session(self) -> Any:  # a ClientSession's context manager, as Rasa uses it
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            self._forget_closed_loops()
            if loop in self._keepers:
                self._keepers.pop(loop).cancel()
            session = self._open()
            self._sessions[loop] = session
            self._keepers[loop] = loop.create_task(_close_when_cancelled(session))
        return _Lent(session)

    def _open(self) -> aiohttp.ClientSession:
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        return aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            # No bound, like a session per action: the action timeout bounds the waits.
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=self.keepalive),
        )

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._sessions if loop.is_closed()]:
            del self._sessions[loop]
            self._keepers.pop(loop, None)

    async def close(self) -> None:
        """Close the session of the running loop (the server is stopping)."""
        loop = asyncio.get_running_loop()
        self._sessions.pop(loop, None)
        keeper = self._keepers.pop(loop, None)
        if keeper is not None:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)


_kept: dict[str, KeptAliveEndpoint] = {}


def _identity(endpoint: EndpointConfig) -> str:
    """The same for equal configurations: one kept session each, however many copies."""
    return json.dumps([*_settings(endpoint), endpoint.kwargs], sort_keys=True, default=str)


def kept_alive(endpoint: EndpointConfig | None) -> EndpointConfig | None:
    """The endpoint to call the action server with: ``endpoint`` itself when not kept."""
    if endpoint is None or isinstance(endpoint, KeptAliveEndpoint):
        return endpoint
    keepalive = keepalive_seconds()
    if keepalive == 0:
        return endpoint
    key = _identity(endpoint)
    kept = _kept.get(key)
    if kept is None or kept.keepalive != keepalive:
        kept = _kept[key] = KeptAliveEndpoint(endpoint, keepalive)
    return kept


async def close_all() -> None:
    """Close the kept sessions of the running loop."""
    for endpoint in list(_kept.values()):
        await endpoint.close()


_rasas_init = RemoteAction.__init__


def init_with_kept_connections(
    self: RemoteAction, name: str, action_endpoint: EndpointConfig | None
) -> None:
    """Rasa's ``RemoteAction.__init__``, with the endpoint that keeps its connections."""
    _rasas_init(self, name, kept_alive(action_endpoint))


PATCH = Replacement(RemoteAction, "__init__", init_with_kept_connections)
