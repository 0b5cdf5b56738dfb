"""Accounts in the console: each operator changes their own password; admins grant the
permission to publish to the subscribers and reset passwords.

The same calls as ``urp operators permit`` and ``urp operators password``
(:class:`urp.handoff.operators.OperatorService`), audited with the admin's username. A new
password ends the account's sessions (the operator's own change keeps the session it was
made from), on every replica at once since sessions live in the database.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from urp.console.access import ConsoleSession
from urp.console.shell import Shell
from urp.console.views import sentence
from urp.handoff.operators import AccountError, UnknownOperatorError

ADMIN = "admin"
ROLE_LABELS = {"operator": "operatore", "trainer": "formatore", "admin": "amministratore"}


class AccountPages:
    """Handlers of ``/account`` (everyone) and ``/operators`` (admins)."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/account", self.account_page)
        app.router.add_post("/account/password", self.change_password)
        app.router.add_get("/operators", self.operators_page)
        app.router.add_post("/operators/{username}/publish", self.set_publish)
        app.router.add_post("/operators/{username}/password", self.reset_password)

    # -- the operator's own account --------------------------------------------------------

    async def account_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request, chats=False)
        return self.shell.with_flash(request, session, "account.html")

    async def change_password(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request, chats=False)
        form = await request.post()
        current, new = str(form.get("current") or ""), str(form.get("new") or "")
        if new != str(form.get("repeat") or ""):
            raise self.shell.redirect(
                "/account", session, "danger", "Le due nuove password non coincidono."
            )
        try:
            changed = await asyncio.to_thread(
                self.shell.operators.change_password,
                session.operator.username,
                current,
                new,
                keep_session=session.token_hash,
            )
        except AccountError as error:
            raise self.shell.redirect("/account", session, "danger", sentence(error)) from error
        if not changed:
            raise self.shell.redirect(
                "/account", session, "danger", "La password attuale non è corretta."
            )
        raise self.shell.redirect(
            "/account",
            session,
            "success",
            "Password cambiata: le altre sessioni del tuo account sono state chiuse.",
        )

    # -- admins: the operators' accounts ----------------------------------------------------

    async def require_admin(self, request: web.Request) -> ConsoleSession:
        session = await self.shell.require(request, chats=False)
        if session.operator.role != ADMIN:
            raise web.HTTPForbidden()
        return session

    async def operators_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_admin(request)
        operators = await asyncio.to_thread(self.shell.operators.list)
        return self.shell.with_flash(
            request, session, "operators.html", accounts=operators, role_labels=ROLE_LABELS
        )

    async def set_publish(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_admin(request)
        form = await request.post()
        allowed = form.get("allowed") == "1"
        username = request.match_info["username"]
        try:
            account = await asyncio.to_thread(
                self.shell.operators.set_publish,
                username,
                allowed,
                by=session.operator.username,
            )
        except UnknownOperatorError as error:
            raise web.HTTPNotFound() from error
        done = "può pubblicare" if allowed else "non può più pubblicare"
        raise self.shell.redirect(
            "/operators", session, "success", f"{account.display_name} {done} memo ed emergenze."
        )

    async def reset_password(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_admin(request)
        form = await request.post()
        new = str(form.get("new") or "")
        if new != str(form.get("repeat") or ""):
            raise self.shell.redirect(
                "/operators", session, "danger", "Le due password non coincidono."
            )
        try:
            account = await asyncio.to_thread(
                self.shell.operators.reset_password,
                request.match_info["username"],
                new,
                by=session.operator.username,
            )
        except UnknownOperatorError as error:
            raise web.HTTPNotFound() from error
        except AccountError as error:
            raise self.shell.redirect("/operators", session, "danger", sentence(error)) from error
        raise self.shell.redirect(
            "/operators",
            session,
            "success",
            f"Nuova password per {account.display_name}: le sue sessioni sono state chiuse.",
        )
