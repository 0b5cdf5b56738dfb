"""The operators' console: an aiohttp web app over :class:`urp.handoff.chat.HandoffChat`.

This module only builds the app. Each area is a module of its own, built on the shared
:mod:`urp.console.shell` (templates, sessions, CSRF, flash messages, error pages), never
on this module nor on another area (the broadcasts' live counts reach the live updates
through :func:`create_app`):

- :mod:`urp.console.login`: logging in and out;
- :mod:`urp.console.handoffs`: the queue, a chat and the operator's steps;
- :mod:`urp.console.live`: the live updates of the open pages (Server-Sent Events);
- :mod:`urp.console.accounts`: «Il tuo account» and «Operatori» (the accounts, for admins);
- :mod:`urp.console.quick_replies`: the office's quick replies;
- :mod:`urp.console.stats`: the statistics of the chats and of the subscribers, and the
  citizens' ratings (the chat asks them: :class:`urp.handoff.ratings.RatingService`);
- :mod:`urp.console.exports`: the same figures, and the chats, as CSV files;
- :mod:`urp.console.broadcasting`: the memo and the emergencies to the subscribers;
- :mod:`urp.console.training`: the trainers' review inbox;
- :mod:`urp.console.faq`: the office's FAQ, beside the trainers' inbox (operators save
  their replies as drafts from a chat);
- :mod:`urp.console.background`: the sweep and the broadcast worker.

Under the shell: :mod:`urp.console.access` (sessions) with :mod:`urp.console.throttle`
(failed logins), and :mod:`urp.console.views` (what the pages show of the chats).

Nothing here imports Rasa: the chat reaches it through the ``Conversations`` it was built
with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web

from urp.broadcasts.service import BroadcastService
from urp.broadcasts.worker import BroadcastWorker
from urp.console import background
from urp.console.access import ConsoleAccess
from urp.console.accounts import AccountPages
from urp.console.broadcasting import BroadcastPages
from urp.console.exports import ExportPages
from urp.console.faq import FaqPages
from urp.console.handoffs import HandoffPages
from urp.console.live import LiveUpdates
from urp.console.login import LoginPages
from urp.console.quick_replies import QuickReplyPages
from urp.console.shell import HERE, SHELL, Shell, error_pages
from urp.console.stats import StatsPages
from urp.console.training import TrainingPages
from urp.core import webserver
from urp.core.settings import Settings
from urp.faq.store import FaqService
from urp.handoff.chat import HandoffChat
from urp.handoff.operators import OperatorService
from urp.handoff.quick_replies import QuickReplyService
from urp.handoff.ratings import RatingService
from urp.information.memo import MemoService
from urp.review.store import ReviewStore
from urp.review.training import TrainingData


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(
    chat: HandoffChat,
    operators: OperatorService,
    quick_replies: QuickReplyService,
    settings: Settings,
    access: ConsoleAccess,
    *,
    secure_cookies: bool,
    sweep_interval: float | None,
    broadcasts: BroadcastService | None = None,
    memos: MemoService | None = None,
    worker: BroadcastWorker | None = None,
    jobs: Sequence[Callable[[], object]] = (),
    review: ReviewStore | None = None,
    training: TrainingData | None = None,
) -> web.Application:
    """The console's web app; ``sweep_interval`` None runs no background sweep.

    Every ``sweep_interval`` the handoffs are swept, then each of ``jobs`` runs (the
    privacy purge), each in a thread, a failure logged and tried again next time.

    With ``broadcasts`` and ``memos`` it has the broadcast pages; with a ``worker`` (WhatsApp
    configured) it also sends them, in the background until shutdown. With ``review`` it
    has the trainers' pages, writing examples into ``training`` (the project's data/nlu),
    and the FAQ's pages in the same database, where operators' replies become drafts.
    """
    shell = Shell(
        operators,
        settings,
        access,
        secure_cookies=secure_cookies,
        broadcasting=broadcasts is not None and memos is not None,
        training=review is not None,
    )
    broadcast_pages = (
        BroadcastPages(shell, broadcasts, memos, sending=worker is not None)
        if broadcasts is not None and memos is not None
        else None
    )
    faq = FaqService(review.database) if review is not None else None
    app = web.Application(middlewares=[error_pages])
    app[SHELL] = shell
    app.router.add_get("/health", health)
    LoginPages(shell).add_routes(app)
    HandoffPages(shell, chat, quick_replies, faq).add_routes(app)
    LiveUpdates(shell, chat, broadcast_pages.watcher if broadcast_pages else None).add_routes(app)
    AccountPages(shell).add_routes(app)
    QuickReplyPages(shell, quick_replies).add_routes(app)
    StatsPages(shell, operators.database).add_routes(app)
    ExportPages(shell, operators.database).add_routes(app)
    if chat.ratings is None:
        # Each chat an operator resolves asks the citizen for a rating.
        chat.ratings = RatingService(operators.database)
    if broadcast_pages is not None:
        broadcast_pages.add_routes(app)
        if worker is not None:
            app.cleanup_ctx.append(background.broadcast_sender(shell.closing, worker))
    if review is not None:
        training_data = training or TrainingData.from_environment()
        TrainingPages(shell, review, training_data).add_routes(app)
        FaqPages(shell, faq, review).add_routes(app)
    webserver.add_static(app, "/static", HERE / "static")

    async def stop_streams(app: web.Application) -> None:
        shell.closing.set()  # open streams end now rather than hold the shutdown

    app.on_shutdown.append(stop_streams)
    if sweep_interval is not None:
        app.cleanup_ctx.append(background.sweeper(shell.closing, chat, sweep_interval, jobs))
    return app
