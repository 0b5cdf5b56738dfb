"""Running the project's aiohttp apps (the console, the demo site) as processes."""

from __future__ import annotations

import signal
from typing import Any

from aiohttp import web
from aiohttp.web_runner import GracefulExit


def _graceful_exit(*_: Any) -> None:
    raise GracefulExit()


def run(app: web.Application, host: str, port: int, *, shutdown_timeout: float) -> None:
    """Serve ``app`` until SIGTERM or Ctrl-C, then shut it down gracefully.

    aiohttp's own signal handling would also react to the SIGINT that a script's
    background jobs are meant to ignore: `make run` stops its children itself, and a
    child quitting on its own first would look like a crash. So SIGTERM is handled here
    and SIGINT keeps the disposition the process was started with (Ctrl-C still works in
    a terminal).
    """
    signal.signal(signal.SIGTERM, _graceful_exit)
    web.run_app(
        app,
        host=host,
        port=port,
        print=None,
        shutdown_timeout=shutdown_timeout,
        handle_signals=False,
    )
