"""Serve the widget and its demo page from the environment.

``URP_WIDGET_HOST`` (default 127.0.0.1) and ``URP_WIDGET_PORT`` (5090) say where it
listens; ``URP_WIDGET_RASA_URL`` is the Rasa server as the citizen's browser reaches it
(default ``http://127.0.0.1:${URP_RASA_PORT:-5005}``, right for a local ``make run``).
The memo pages (``/memo/<aaaa-mm-gg>``) read the project's store (``URP_DB_URL``); the
broadcasts link to them at ``URP_WIDGET_PUBLIC_URL``, the site's address for citizens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from urp.core import webserver
from urp.core.db import Database
from urp.core.errors import OperatorError
from urp.core.settings import load_settings
from urp.information.memo import MemoService
from urp.widget.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5090


class WidgetConfigError(OperatorError, ValueError):
    """A widget variable of the environment has a value that cannot be used."""


def rasa_url(environ: Mapping[str, str] = os.environ) -> str:
    url = environ.get("URP_WIDGET_RASA_URL") or (
        f"http://127.0.0.1:{environ.get('URP_RASA_PORT') or 5005}"
    )
    if not url.startswith(("http://", "https://")):
        raise WidgetConfigError(
            f"URP_WIDGET_RASA_URL non valido ({url!r}): serve un indirizzo http:// o https://"
        )
    return url


def listen_port(environ: Mapping[str, str] = os.environ) -> int:
    value = environ.get("URP_WIDGET_PORT") or str(DEFAULT_PORT)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise WidgetConfigError(f"URP_WIDGET_PORT non valido ({value!r}): un numero di porta")
    return int(value)


def serve(
    host: str | None = None, port: int | None = None, environ: Mapping[str, str] = os.environ
) -> None:
    """Build the app and serve it until interrupted (Ctrl-C)."""
    app = create_app(load_settings(), rasa_url(environ), MemoService(Database.from_environment()))
    host = host or environ.get("URP_WIDGET_HOST") or DEFAULT_HOST
    port = listen_port(environ) if port is None else port
    print(f"Pagina di prova della chat su http://{host}:{port}/", flush=True)
    webserver.run(app, host, port, shutdown_timeout=2.0)
