"""The console's broadcast pages: compose and publish the memo, emergencies, follow sending.

Publishing goes through the same calls as ``urp memo publish`` and ``urp broadcasts
emergency`` (:func:`urp.broadcasts.service.publish_memo`,
:class:`urp.broadcasts.service.BroadcastService`); the preview is
:func:`urp.information.memo.format_memo` itself, so what the page shows is what WhatsApp
gets. No page shows a phone number: the engine's reports have none. What the pages show
of a broadcast is :mod:`urp.console.broadcast_views`; the worker that sends them runs in
the background (:mod:`urp.console.background`).

Every operator sees the broadcasts and who published each; composing, publishing,
cancelling and resuming need the permission to publish (:attr:`Operator.may_publish`,
granted by an admin on ``/operators``), and each of them is audited with the username.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from urp.broadcasts.service import (
    BroadcastError,
    BroadcastReport,
    BroadcastService,
    broadcast_template,
    emergency_messages,
    memo_topics,
    publish_memo,
)
from urp.console.access import ConsoleSession
from urp.console.broadcast_views import (
    LIST_LIMIT,
    BroadcastView,
    BroadcastWatcher,
    broadcast_view,
    bubble_html,
    estimate_view,
)
from urp.console.shell import Shell
from urp.console.views import sentence
from urp.core.clock import utc_now
from urp.information.memo import MemoService, format_memo, memo_from_form

ITEM_FIELDSETS = 5  # without JavaScript: this many item fieldsets, blank ones ignored


class BroadcastPages:
    """Handlers of ``/broadcasts``; ``sending`` says whether this console sends them (its
    broadcast worker runs, WhatsApp being configured), for the pages to say so."""

    def __init__(
        self, shell: Shell, service: BroadcastService, memos: MemoService, *, sending: bool
    ) -> None:
        self.shell = shell
        self.service = service
        self.memos = memos
        self.sending = sending
        self.topics = shell.settings.subscription.topics

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/broadcasts", self.list_page)
        app.router.add_get("/broadcasts/new", self.compose_page)
        app.router.add_post("/broadcasts/preview", self.preview)
        app.router.add_post("/broadcasts/memo", self.publish)
        app.router.add_post("/broadcasts/emergency", self.emergency)
        app.router.add_post("/broadcasts/emergency/estimate", self.emergency_estimate)
        app.router.add_get("/broadcasts/{id:\\d+}", self.detail_page)
        app.router.add_get("/broadcasts/{id:\\d+}/counts", self.counts)
        app.router.add_post("/broadcasts/{id:\\d+}/cancel", self.cancel)
        app.router.add_post("/broadcasts/{id:\\d+}/resume", self.resume)

    # -- views -----------------------------------------------------------------------------

    def view(
        self, report: BroadcastReport, names: Mapping[str, str] | None = None
    ) -> BroadcastView:
        return broadcast_view(report, self.shell.settings, names)

    def render(
        self, request: web.Request, session: ConsoleSession, template: str, **values: Any
    ) -> web.Response:
        return self.shell.with_flash(
            request,
            session,
            template,
            sending=self.sending,
            may_publish=session.operator.may_publish,
            **values,
        )

    async def list_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        reports = await asyncio.to_thread(self.service.reports, LIST_LIMIT)
        names = await self.names()
        return self.render(
            request, session, "broadcasts.html", broadcasts=[self.view(r, names) for r in reports]
        )

    async def names(self) -> dict[str, str]:
        return await asyncio.to_thread(self.shell.display_names)

    async def require_publisher(self, request: web.Request) -> ConsoleSession:
        """The logged-in operator, if allowed to publish; else a 403 page that says why."""
        session = await self.shell.require(request)
        if not session.operator.may_publish:
            raise _NotPublisherError()
        return session

    async def detail_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        report = await self.report(request)
        return self.render(
            request, session, "broadcast.html", broadcast=self.view(report, await self.names())
        )

    async def counts(self, request: web.Request) -> web.StreamResponse:
        await self.shell.require(request)
        report = await self.report(request)
        return web.json_response(self.view(report).live())

    async def report(self, request: web.Request) -> BroadcastReport:
        try:
            return await asyncio.to_thread(self.service.report, int(request.match_info["id"]))
        except BroadcastError as error:
            raise web.HTTPNotFound() from error

    async def compose_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_publisher(request)
        today = utc_now().astimezone(self.shell.settings.timezone).date()
        return self.render(
            request,
            session,
            "compose.html",
            today=f"{today:%d/%m/%Y}",
            default_header=self.shell.settings.memo_header,
            topics=self.topics,
            default_topic=self.shell.settings.subscription.default_topic,
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
            self.shell.settings.memo_header,
            self.topics,
        )

    async def preview(self, request: web.Request) -> web.StreamResponse:
        """The WhatsApp messages of the memo being written, who would get them (inside and
        outside the 24-hour window) and what it would cost."""
        await self.require_publisher(request)
        memo, problems = self.memo_of(await request.post())
        if memo is None:
            return web.json_response(
                {"bubbles": [], "problems": problems, "recipients": None, "estimate": None}
            )
        default_topic = self.shell.settings.subscription.default_topic
        messages = format_memo(memo)
        estimate = await self.estimate(memo_topics(memo, default_topic), "memo", len(messages))
        bubbles = [str(bubble_html(text)) for text in messages]
        return web.json_response(
            {
                "bubbles": bubbles,
                "problems": [],
                "recipients": estimate["inside"] + estimate["outside"],
                "estimate": estimate,
            }
        )

    async def emergency_estimate(self, request: web.Request) -> web.StreamResponse:
        """Before an emergency goes: its recipients inside and outside the window, the
        template's category and the cost."""
        await self.require_publisher(request)
        form = await request.post()
        topic = str(form.get("topic") or "")
        if topic not in self.topics:
            return web.json_response({"estimate": None, "problems": ["Scegli il tema."]})
        # Before the text is written: one message, one template.
        free_form, templates = emergency_messages(str(form.get("text") or ""))
        estimate = await self.estimate(
            [topic], "emergency", len(free_form) or 1, len(templates) or 1
        )
        return web.json_response({"estimate": estimate, "problems": []})

    async def estimate(
        self, topics: list[str], kind: str, messages: int, templates_each: int = 1
    ) -> dict[str, Any]:
        settings = self.shell.settings
        estimate = await asyncio.to_thread(
            self.service.estimate,
            topics,
            template=broadcast_template(settings.whatsapp_templates, kind),
            prices=settings.whatsapp_prices,
            messages=messages,
            templates_each=templates_each,
            messaging_limit=settings.whatsapp_messaging_limit,
        )
        return estimate_view(estimate, settings).json()

    async def publish(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_publisher(request)
        form = await request.post()
        memo, problems = self.memo_of(form)
        if memo is None:
            raise self.shell.redirect("/broadcasts/new", session, "danger", " ".join(problems))
        settings = self.shell.settings
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
            raise self.shell.redirect(
                "/broadcasts/new", session, "danger", sentence(error)
            ) from error
        raise await self.started(session, job, f"Memo del {memo.published_on:%d/%m/%Y} pubblicato")

    async def emergency(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_publisher(request)
        form = await request.post()
        topic = str(form.get("topic") or "")
        text = str(form.get("text") or "").replace("\r\n", "\n").strip()
        if topic not in self.topics:
            raise self.shell.redirect(
                "/broadcasts/new#emergenza", session, "danger", "Scegli il tema dell'avviso."
            )
        try:
            job = await asyncio.to_thread(
                self.service.start_emergency, topic, text, created_by=session.operator.username
            )
        except BroadcastError as error:
            raise self.shell.redirect(
                "/broadcasts/new#emergenza", session, "danger", sentence(error)
            ) from error
        raise await self.started(session, job, "Avviso di emergenza avviato")

    async def started(self, session: ConsoleSession, job: int, what: str) -> web.HTTPSeeOther:
        report = await asyncio.to_thread(self.service.report, job)
        who = "1 iscritto" if report.total == 1 else f"{report.total} iscritti"
        return self.shell.redirect(
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
            raise self.shell.redirect(here, session, "danger", sentence(error)) from error
        raise self.shell.redirect(here, session, "success", done)

    # -- live counts -----------------------------------------------------------------------

    def watcher(self, broadcast_id: int | None) -> BroadcastWatcher:
        """For :class:`urp.console.live.LiveUpdates`: one broadcast, or the latest (None)."""
        return BroadcastWatcher(self.service, self.shell.settings, broadcast_id)


class _NotPublisherError(web.HTTPForbidden):
    """An operator without the permission to publish: 403, with the page saying why."""

    page = (
        "Serve il permesso di pubblicare",
        "Pubblicare memo ed emergenze a tutti gli iscritti richiede un permesso a parte: "
        "chiedilo a un amministratore della console.",
    )
