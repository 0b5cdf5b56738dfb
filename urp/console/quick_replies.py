"""«Risposte rapide»: the office's ready answers, kept from the console.

What ``urp quick-replies load`` does from a file, one reply at a time: add, change,
reorder and delete (:class:`urp.handoff.quick_replies.QuickReplyService`). The compose
box of a chat offers them in this order. Operators and admins keep them.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from urp.console.shell import Shell
from urp.console.views import sentence
from urp.handoff.quick_replies import (
    TEXT_LENGTH,
    TITLE_LENGTH,
    QuickReplyError,
    QuickReplyService,
    UnknownQuickReplyError,
)

LIST = "/risposte-rapide"


class QuickReplyPages:
    """Handlers of ``/risposte-rapide``."""

    def __init__(self, shell: Shell, replies: QuickReplyService) -> None:
        self.shell = shell
        self.replies = replies

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(LIST, self.list_page)
        app.router.add_post(LIST, self.add)
        app.router.add_get(LIST + "/{id:\\d+}", self.edit_page)
        app.router.add_post(LIST + "/{id:\\d+}", self.update)
        app.router.add_post(LIST + "/{id:\\d+}/elimina", self.delete)
        app.router.add_post(LIST + "/{id:\\d+}/sposta", self.move)

    async def list_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        replies = await asyncio.to_thread(self.replies.list)
        return self.shell.with_flash(
            request,
            session,
            "quick_replies.html",
            replies=replies,
            title_length=TITLE_LENGTH,
            text_length=TEXT_LENGTH,
        )

    async def edit_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        try:
            reply = await asyncio.to_thread(self.replies.get, int(request.match_info["id"]))
        except UnknownQuickReplyError as error:
            raise web.HTTPNotFound() from error
        return self.shell.with_flash(
            request,
            session,
            "quick_reply_form.html",
            reply=reply,
            title_length=TITLE_LENGTH,
            text_length=TEXT_LENGTH,
        )

    async def add(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        form = await request.post()
        try:
            reply = await asyncio.to_thread(
                self.replies.add, str(form.get("title") or ""), str(form.get("text") or "")
            )
        except QuickReplyError as error:
            raise self.shell.redirect(LIST, session, "danger", sentence(error)) from error
        raise self.shell.redirect(
            LIST, session, "success", f"Risposta rapida «{reply.title}» aggiunta in fondo."
        )

    async def update(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        form = await request.post()
        reply_id = int(request.match_info["id"])
        try:
            reply = await asyncio.to_thread(
                self.replies.update,
                reply_id,
                str(form.get("title") or ""),
                str(form.get("text") or ""),
            )
        except UnknownQuickReplyError as error:
            raise web.HTTPNotFound() from error
        except QuickReplyError as error:
            raise self.shell.redirect(
                f"{LIST}/{reply_id}", session, "danger", sentence(error)
            ) from error
        raise self.shell.redirect(LIST, session, "success", f"Risposta «{reply.title}» salvata.")

    async def delete(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        try:
            reply = await asyncio.to_thread(self.replies.delete, int(request.match_info["id"]))
        except UnknownQuickReplyError as error:
            raise web.HTTPNotFound() from error
        raise self.shell.redirect(LIST, session, "success", f"Risposta «{reply.title}» eliminata.")

    async def move(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        form = await request.post()
        steps = -1 if form.get("direzione") == "su" else 1
        try:
            await asyncio.to_thread(self.replies.move, int(request.match_info["id"]), steps)
        except UnknownQuickReplyError as error:
            raise web.HTTPNotFound() from error
        raise self.shell.redirect(LIST, session, "success", "Ordine aggiornato.")
