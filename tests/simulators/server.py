"""An aiohttp server in a thread of the test process, standing in for a provider's API."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from aiohttp import web


class ThreadedServer:
    """Subclasses add their routes; ``requests`` and a condition record what arrived."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # held while waiting, and again to read
        self._arrived = threading.Condition(self._lock)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the simulator did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def wait_until(self, condition: Any, timeout: float = 60) -> None:
        """Wait until ``condition()`` (called with the lock held) is true."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the simulator did not receive what was expected")
                self._arrived.wait(left)

    def close(self) -> None:
        async def stop() -> None:
            if self._runner:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        started.set()
        self._loop.run_forever()
