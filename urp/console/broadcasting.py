"""The console's broadcast pages: compose and publish the memo, emergencies, follow sending.

Publishing goes through the same calls as ``urp memo publish`` and ``urp broadcasts
emergency`` (:func:`urp.broadcasts.service.publish_memo`, :class:`urp.broadcasts.service.BroadcastService`);
the preview is :func:`urp.information.memo.format_memo` itself, so what the page shows is what
WhatsApp gets. No page shows a phone number: the engine's reports have none.

Every operator sees the broadcasts and who published each; composing, publishing,
cancelling and resuming need the permission to publish (:attr:`Operator.may_publish`,
granted by an admin on ``/operators``), and each of them is audited with the username.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from markupsafe import Markup, escape

from urp.broadcasts.service import (
    STATUS_LABELS,
    BroadcastError,
    BroadcastReport,
    BroadcastService,
    memo_topics,
    publish_memo,
)
from urp.broadcasts.worker import BroadcastWorker
from urp.console.views import sentence, sse_event
from urp.core.clock import utc_now
from urp.information.memo import MemoService, format_memo, memo_from_form

if TYPE_CHECKING:
    from urp.console.access import ConsoleSession
    from urp.console.app import Console

logger = logging.getLogger(__name__)

ITEM_FIELDSETS = 5  # without JavaScript: this many item fieldsets, blank ones ignored
KINDS = {"memo": "Memo", "emergency": "Emergenza"}
LIST_LIMIT = 30
WORKER_RESTART = 10.0  # seconds before a worker that failed starts again


@dataclass(frozen=True)
class BroadcastView:
    """A broadcast as the pages and the live counts show it."""

    id: int
    kind: str
    topics: str
    created_by: str
    created_at: str
    status: str
    status_label: str
    total: int
    counts: dict[str, int]
    failures: tuple[tuple[str, int], ...]

    def live(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "status_label": self.status_label,
            "total": self.total,
            "counts": self.counts,
            "failures": [list(f) for f in self.failures],
        }


def bubble_html(text: str) -> Markup:
    """One WhatsApp message as it looks on the phone: ``*bold*`` in bold, lines kept."""
    parts = [str(part) for part in escape(text).split("*")]
    # WhatsApp bolds a *pair*; an odd asterisk left over stays as it is.
    html = parts[0]
    for index in range(1, len(parts), 2):
        closed = index + 1 < len(parts)
        html += f"<strong>{parts[index]}</strong>" if closed else "*" + parts[index]
        if closed:
            html += parts[index + 1]
    return Markup(html.replace("\n", "<br>"))


class BroadcastPages:
    """Handlers of ``/broadcasts``; the worker, if WhatsApp is configured."""

    def __init__(
        self,
        console: Console,
        service: BroadcastService,
        memos: MemoService,
        worker: BroadcastWorker | None,
    ) -> None:
        self.console = console
        self.service = service
        self.memos = memos
        self.worker = worker
        self.topics = console.settings.subscription.topics

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/broadcasts", self.list_page)
        app.router.add_get("/broadcasts/new", self.compose_page)
        app.router.add_post("/broadcasts/preview", self.preview)
        app.router.add_post("/broadcasts/memo", self.publish)
        app.router.add_post("/broadcasts/emergency", self.emergency)
        app.router.add_get("/broadcasts/{id:\\d+}", self.detail_page)
        app.router.add_get("/broadcasts/{id:\\d+}/counts", self.counts)
        app.router.add_post("/broadcasts/{id:\\d+}/cancel", self.cancel)
        app.router.add_post("/broadcasts/{id:\\d+}/resume", self.resume)
        if self.worker is not None:
            app.cleanup_ctx.append(self._run_worker)

    # -- views -----------------------------------------------------------------------------

    def view(
        self, report: BroadcastReport, names: Mapping[str, str] | None = None
    ) -> BroadcastView:
        counts = report.counts
        name = (names or {}).get(report.created_by)
        when = report.created_at.astimezone(self.console.settings.timezone)
        return BroadcastView(
            id=report.id,
            kind=KINDS.get(report.kind, report.kind),
            topics=", ".join(
                self.topics[t].label if t in self.topics else t for t in report.topics
            ),
            created_by=f"{name} ({report.created_by})" if name else report.created_by,
            created_at=f"{when:%d/%m/%Y %H:%M}",
            status=report.status,
            status_label=STATUS_LABELS.get(report.status, report.status),
            total=report.total,
            counts={
                "pending": counts.get("pending", 0) + counts.get("sending", 0),
                "sent": counts.get("sent", 0),
                "delivered": counts.get("delivered", 0),
                "read": counts.get("read", 0),
                "failed": counts.get("failed", 0),
                "skipped": counts.get("skipped", 0),
            },
            failures=tuple((f.reason or "motivo non indicato", f.count) for f in report.failures),
        )

    def render(self, request: web.Request, session: ConsoleSession, template: str, **values: Any):
        return self.console.with_flash(
            request,
            session,
            template,
            sending=self.worker is not None,
            may_publish=session.operator.may_publish,
            **values,
        )

    async def list_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.console.require(request)
        reports = await asyncio.to_thread(self.service.reports, LIST_LIMIT)
        names = await self.names()
        return self.render(
            request, session, "broadcasts.html", broadcasts=[self.view(r, names) for r in reports]
        )

    async def names(self) -> dict[str, str]:
        return {
            o.username: o.display_name for o in await asyncio.to_thread(self.console.operators.list)
        }

    async def require_publisher(self, request: web.Request) -> ConsoleSession:
        """The logged-in operator, if allowed to publish; else a 403 page that says why."""
        session = await self.console.require(request)
        if not session.operator.may_publish:
            raise _NotPublisherError()
        return session

    async def detail_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.console.require(request)
        report = await self.report(request)
        return self.render(
            request, session, "broadcast.html", broadcast=self.view(report, await self.names())
        )

    async def counts(self, request: web.Request) -> web.StreamResponse:
        await self.console.require(request)
        report = await self.report(request)
        return web.json_response(self.view(report).live())

    async def report(self, request: web.Request) -> BroadcastReport:
        try:
            return await asyncio.to_thread(self.service.report, int(request.match_info["id"]))
        except BroadcastError as error:
            raise web.HTTPNotFound() from error

    async def compose_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_publisher(request)
        today = utc_now().astimezone(self.console.settings.timezone).date()
        return self.render(
            request,
            session,
            "compose.html",
            today=f"{today:%d/%m/%Y}",
            default_header=self.console.settings.memo_header,
            topics=self.topics,
            default_topic=self.console.settings.subscription.default_topic,
            item_numbers=range(1, ITEM_FIELDSETS + 1),
        )

    # -- the memo --------------------------------------------------------------------------

    def memo_of(self, form: Mapping[str, Any]) -> tuple[Any, list[str]]:
        numbers = sorted(
            {int(key.split("-")[1]) for key in form if key.startswith("item-") and key.count("-") == 2
             and key.split("-")[1].isdigit()}
        )  # fmt: skip
        items = [
            {k: str(form.get(f"item-{n}-{k}") or "") for k in ("title", "text", "link", "topic")}
            for n in numbers
        ]
        return memo_from_form(
            str(form.get("date") or ""),
            str(form.get("header") or ""),
            items,
            self.console.settings.memo_header,
            self.topics,
        )

    async def preview(self, request: web.Request) -> web.StreamResponse:
        """The WhatsApp messages of the memo being written, and who would get them."""
        await self.require_publisher(request)
        memo, problems = self.memo_of(await request.post())
        if memo is None:
            return web.json_response({"bubbles": [], "problems": problems, "recipients": None})
        default_topic = self.console.settings.subscription.default_topic
        recipients = await asyncio.to_thread(
            self.service.audience, memo_topics(memo, default_topic)
        )
        bubbles = [str(bubble_html(text)) for text in format_memo(memo)]
        return web.json_response({"bubbles": bubbles, "problems": [], "recipients": recipients})

    async def publish(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_publisher(request)
        form = await request.post()
        memo, problems = self.memo_of(form)
        if memo is None:
            raise self.console.redirect("/broadcasts/new", session, "danger", " ".join(problems))
        settings = self.console.settings
        try:
            job = await asyncio.to_thread(
                publish_memo,
                self.memos,
                self.service,
                memo,
                today=utc_now().astimezone(settings.timezone).date(),
                default_topic=settings.subscription.default_topic,
                created_by=session.operator.username,
                again=form.get("again") == "1",
            )
        except BroadcastError as error:
            raise self.console.redirect(
                "/broadcasts/new", session, "danger", sentence(error)
            ) from error
        raise await self.started(session, job, f"Memo del {memo.published_on:%d/%m/%Y} pubblicato")

    async def emergency(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_publisher(request)
        form = await request.post()
        topic = str(form.get("topic") or "")
        text = str(form.get("text") or "").replace("\r\n", "\n").strip()
        if topic not in self.topics:
            raise self.console.redirect(
                "/broadcasts/new#emergenza", session, "danger", "Scegli il tema dell'avviso."
            )
        try:
            job = await asyncio.to_thread(
                self.service.start_emergency, topic, text, created_by=session.operator.username
            )
        except BroadcastError as error:
            raise self.console.redirect(
                "/broadcasts/new#emergenza", session, "danger", sentence(error)
            ) from error
        raise await self.started(session, job, "Avviso di emergenza avviato")

    async def started(self, session: ConsoleSession, job: int, what: str) -> web.HTTPSeeOther:
        report = await asyncio.to_thread(self.service.report, job)
        who = "1 iscritto" if report.total == 1 else f"{report.total} iscritti"
        return self.console.redirect(
            f"/broadcasts/{job}", session, "success", f"{what}: invio a {who}."
        )

    # -- cancel and resume -----------------------------------------------------------------

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        return await self._move(
            request,
            self.service.cancel,
            "Invio annullato: chi non l'ha ancora ricevuto non lo riceverà.",
        )

    async def resume(self, request: web.Request) -> web.StreamResponse:
        return await self._move(request, self.service.resume, "Invio ripreso.")

    async def _move(self, request: web.Request, step: Any, done: str) -> web.StreamResponse:
        session = await self.require_publisher(request)
        broadcast_id = int(request.match_info["id"])
        here = f"/broadcasts/{broadcast_id}"
        try:
            await asyncio.to_thread(step, broadcast_id, by=session.operator.username)
        except BroadcastError as error:
            raise self.console.redirect(here, session, "danger", sentence(error)) from error
        raise self.console.redirect(here, session, "success", done)

    # -- live counts and the worker --------------------------------------------------------

    def watcher(self, broadcast_id: int | None) -> BroadcastWatcher:
        return BroadcastWatcher(self, broadcast_id)

    async def _run_worker(self, app: web.Application) -> Any:
        task = asyncio.create_task(self._work())
        yield
        self.console.closing.set()
        await task

    async def _work(self) -> None:
        assert self.worker is not None
        closing = self.console.closing
        try:
            while not closing.is_set():
                try:
                    await self.worker.run(until_idle=False, stop=closing)
                except Exception:
                    # Never fatal: the engine's leases let this or another replica go on.
                    logger.exception("console: broadcast worker failed")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closing.wait(), WORKER_RESTART)
        finally:
            await self.worker.close()


class _NotPublisherError(web.HTTPForbidden):
    """An operator without the permission to publish: 403, with the page saying why."""

    page = (
        "Serve il permesso di pubblicare",
        "Pubblicare memo ed emergenze a tutti gli iscritti richiede un permesso a parte: "
        "chiedilo a un amministratore della console.",
    )


class BroadcastWatcher:
    """The counts of one broadcast (or the latest ones) since the last look; in a thread."""

    def __init__(self, pages: BroadcastPages, broadcast_id: int | None) -> None:
        self._pages = pages
        self._id = broadcast_id
        self._seen: dict[int, dict[str, Any]] = {}

    def changes(self) -> list[bytes]:
        service = self._pages.service
        if self._id is not None:
            try:
                reports = [service.report(self._id)]
            except BroadcastError:
                return []
        else:
            reports = service.reports(LIST_LIMIT)
        events = []
        for report in reports:
            live = self._pages.view(report).live()
            if self._seen.get(report.id) != live:
                self._seen[report.id] = live
                events.append(sse_event("broadcast", live))
        return events
