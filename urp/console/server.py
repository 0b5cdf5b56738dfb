"""Run the console from the environment: the store, the settings and the Rasa server.

``URP_CONSOLE_HOST`` (default 127.0.0.1) and ``URP_CONSOLE_PORT`` (5080) say where it
listens; ``URP_CONSOLE_SECURE_COOKIES=1`` behind HTTPS (the production profile's
default); ``URP_CONSOLE_SESSION_HOURS`` (8) is the idle time after which an operator logs
in again, and 12 hours after a login they do anyway. The database is
``URP_DB_URL``, the Rasa server ``URP_RASA_URL`` with ``RASA_JWT_SECRET`` (a JWT in a
header: the plain token would travel in the URL), as for the rest of the project. The
same Rasa client shows a web citizen that the operator types (:mod:`urp.widget.typing`),
and the web chat's outbox in the same database says when a web reply reached the citizen
(:mod:`urp.widget.outbox`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial

from aiohttp import web

from urp.broadcasts.service import BroadcastService
from urp.broadcasts.worker import BroadcastWorker
from urp.console.access import DEFAULT_IDLE, ConsoleAccess
from urp.console.app import create_app
from urp.console.handoffs import TYPING_SIGNAL
from urp.core import log_privacy, webserver
from urp.core.db import Database, require_current_schema
from urp.core.errors import OperatorError
from urp.core.hashing import UserHasher
from urp.core.settings import load_settings
from urp.handoff.chat import HandoffChat
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.quick_replies import QuickReplyService
from urp.handoff.rasa_api import RasaConversations
from urp.information.memo import MemoService
from urp.privacy import PrivacyService, TrackerEvents, purge_all
from urp.review.store import ReviewStore
from urp.whatsapp.store import WhatsAppStore
from urp.widget.outbox import WebOutbox

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5080
SWEEP_INTERVAL = 60.0  # seconds between two reminders-and-timeouts sweeps


class ConsoleConfigError(OperatorError, ValueError):
    """A console variable of the environment has a value that cannot be used."""


def session_idle(environ: Mapping[str, str] = os.environ) -> timedelta:
    value = environ.get("URP_CONSOLE_SESSION_HOURS")
    if not value:
        return DEFAULT_IDLE
    try:
        hours = float(value)
    except ValueError:
        hours = 0.0
    if not 0 < hours <= 24 * 30:
        raise ConsoleConfigError(
            f"URP_CONSOLE_SESSION_HOURS non valido ({value!r}): un numero di ore tra 0 e 720"
        )
    return timedelta(hours=hours)


def build_app(environ: Mapping[str, str] = os.environ) -> web.Application:
    """The console wired to the environment's database, settings and Rasa server."""
    settings = load_settings()
    database = Database.from_environment()
    require_current_schema(database)
    try:
        conversations = RasaConversations.from_environment(environ)
    except ValueError as error:
        raise ConsoleConfigError(
            "la console deve parlare con il server Rasa: imposta RASA_JWT_SECRET "
            "(e URP_RASA_URL se non è in locale)"
        ) from error
    operators = OperatorService(database)
    app = create_app(
        # A web reply is «consegnato» once the citizen's widget confirms it.
        HandoffChat(
            HandoffService(database, settings), conversations, receipts=WebOutbox(database)
        ),
        operators,
        QuickReplyService(database),
        settings,
        ConsoleAccess(database, operators, idle=session_idle(environ)),
        secure_cookies=environ.get("URP_CONSOLE_SECURE_COOKIES") == "1",
        sweep_interval=SWEEP_INTERVAL,
        broadcasts=BroadcastService(
            database,
            WhatsAppStore(database, UserHasher.from_environment()),
            messaging_limit=settings.whatsapp_messaging_limit,
        ),
        memos=MemoService(database),
        worker=BroadcastWorker.from_environment(database, settings),
        jobs=[privacy_purge(database, settings.retention)],
        review=ReviewStore(database, UserHasher.from_environment()),
    )
    app[TYPING_SIGNAL] = conversations
    return app


def privacy_purge(database: Database, retention: timedelta) -> Callable[[], object]:
    """Retention and requested erasures, every minute (see urp.privacy)."""
    protection = PrivacyService(database, UserHasher.from_environment())
    tracker = TrackerEvents.from_environment()
    return partial(purge_all, protection, tracker, retention)


def serve(host: str | None = None, port: int | None = None) -> None:
    """Build the app and serve it until interrupted (Ctrl-C)."""
    app = build_app()
    host = host or os.environ.get("URP_CONSOLE_HOST") or DEFAULT_HOST
    if port is None:
        try:
            port = int(os.environ.get("URP_CONSOLE_PORT") or DEFAULT_PORT)
        except ValueError as error:
            raise ConsoleConfigError("URP_CONSOLE_PORT deve essere un numero di porta") from error
    print(f"Console degli operatori su http://{host}:{port}/", flush=True)
    # Live pages are told to close at shutdown, so a short grace period is enough.
    webserver.run(app, host, port, shutdown_timeout=5.0)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log_privacy.install()
    serve()
