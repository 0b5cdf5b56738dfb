"""Running the project's aiohttp apps (the console, the demo site) as processes."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from aiohttp import web, web_fileresponse
from aiohttp.web_runner import GracefulExit

# aiohttp (3.10 and later) guesses the type of a static file from a table of its own that
# starts from Python's defaults, and Python 3.11's have no web fonts: without these a font
# would go out as application/octet-stream, which `X-Content-Type-Options: nosniff` and the
# pages' CSP make browsers refuse.
WEB_FONTS = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}


def add_static(app: web.Application, prefix: str, root: Path) -> None:
    """Serve the files under ``root`` at ``prefix``, each with its content type.

    Not aiohttp's ``add_static``: since 3.10 it answers a missing file with an empty 404 of
    its own, past the apps' middlewares, instead of raising ``HTTPNotFound`` as every other
    handler does (the apps answer it with a short page in Italian).
    """
    for extension, content_type in WEB_FONTS.items():
        web_fileresponse.CONTENT_TYPES.add_type(content_type, extension)
    root = root.resolve()

    async def serve(request: web.Request) -> web.FileResponse:
        try:
            path = (root / request.match_info["path"]).resolve()
        except (OSError, ValueError) as error:  # a NUL byte, a name too long
            raise web.HTTPNotFound() from error
        if not path.is_relative_to(root) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app.router.add_get(prefix.rstrip("/") + "/{path:.+}", serve)


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
