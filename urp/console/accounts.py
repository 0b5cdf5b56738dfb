"""Accounts in the console: each operator changes their own password; admins manage the
accounts: add one (with a temporary password shown once), disable and enable it, change
its role, grant the permission to publish to the subscribers and reset passwords. A
password an admin chose (new account, temporary or reset) must be changed at the first
login: until then the operator gets only «Il tuo account» (:meth:`Shell.current`).

Everything ``urp operators add|permit|password|disable|list`` does
(:class:`urp.handoff.operators.OperatorService`), audited with the admin's username. A new
password, a new role or a disabled account end the account's sessions (the operator's own
change keeps the session it was made from), on every replica at once since sessions live
in the database. An admin cannot disable their own account nor take away their own role:
the office never locks itself out.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from urp.console.access import ConsoleSession
from urp.console.shell import Shell
from urp.console.views import sentence
from urp.handoff.operators import (
    AccountError,
    Operator,
    UnknownOperatorError,
    temporary_password,
)

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
        app.router.add_post("/operators", self.add_operator)
        app.router.add_post("/operators/{username}/active", self.set_active)
        app.router.add_post("/operators/{username}/role", self.set_role)
        app.router.add_post("/operators/{username}/temporary", self.temporary)

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
        done = "Password cambiata: le altre sessioni del tuo account sono state chiuse."
        if session.operator.must_change_password:
            done += " Ora puoi usare la console."
        raise self.shell.redirect("/account", session, "success", done)

    # -- admins: the operators' accounts ----------------------------------------------------

    async def require_admin(self, request: web.Request) -> ConsoleSession:
        session = await self.shell.require(request, chats=False)
        if session.operator.role != ADMIN:
            raise web.HTTPForbidden()
        return session

    async def operators_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_admin(request)
        operators = await asyncio.to_thread(self.shell.operators.list)
        timezone = self.shell.settings.timezone
        return self.shell.with_flash(
            request,
            session,
            "operators.html",
            accounts=operators,
            role_labels=ROLE_LABELS,
            when=lambda at: f"{at.astimezone(timezone):%d/%m/%Y %H:%M}",
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
        account = await self._set_temporary(request, session, new)
        raise self.shell.redirect(
            "/operators",
            session,
            "success",
            f"Nuova password per {account.display_name}: le sue sessioni sono state chiuse. "
            "Al primo accesso dovrà sceglierne una sua.",
        )

    async def add_operator(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_admin(request)
        form = await request.post()
        password = temporary_password()
        try:
            account = await asyncio.to_thread(
                self.shell.operators.add,
                str(form.get("username") or ""),
                str(form.get("name") or ""),
                password,
                str(form.get("role") or ""),
                can_publish=form.get("publish") == "1",
                temporary=True,
                by=session.operator.username,
            )
        except AccountError as error:
            raise self.shell.redirect("/operators", session, "danger", sentence(error)) from error
        return self._password_page(request, session, account, password, new=True)

    async def temporary(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_admin(request)
        password = temporary_password()
        account = await self._set_temporary(request, session, password)
        return self._password_page(request, session, account, password, new=False)

    async def _set_temporary(
        self, request: web.Request, session: ConsoleSession, password: str
    ) -> Operator:
        """Give the account of the URL a password the admin knows (typed or generated), to
        be changed at its first login; its sessions end. 404 for an unknown account, back
        to the list with the reason for a password the rules refuse."""
        try:
            return await asyncio.to_thread(
                self.shell.operators.reset_password,
                request.match_info["username"],
                password,
                by=session.operator.username,
                temporary=True,
            )
        except UnknownOperatorError as error:
            raise web.HTTPNotFound() from error
        except AccountError as error:
            raise self.shell.redirect("/operators", session, "danger", sentence(error)) from error

    def _password_page(
        self,
        request: web.Request,
        session: ConsoleSession,
        account: Operator,
        password: str,
        *,
        new: bool,
    ) -> web.StreamResponse:
        """The temporary password, shown this once: never stored in clear, never in a
        cookie or a log (the page is not cached)."""
        return self.shell.render(
            "operator_password.html",
            request,
            session,
            account=account,
            password=password,
            new=new,
            role_labels=ROLE_LABELS,
        )

    async def set_active(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_admin(request)
        form = await request.post()
        username = request.match_info["username"]
        active = form.get("active") == "1"
        if not active and username == session.operator.username:
            raise self.shell.redirect(
                "/operators", session, "danger", "Non puoi disattivare il tuo account."
            )
        change = self.shell.operators.enable if active else self.shell.operators.disable
        try:
            account = await asyncio.to_thread(change, username, by=session.operator.username)
        except UnknownOperatorError as error:
            raise web.HTTPNotFound() from error
        done = (
            "è di nuovo attivo: può accedere con la sua password"
            if active
            else "è disattivato: non può più accedere, le sue sessioni sono chiuse e lo storico resta"
        )
        raise self.shell.redirect(
            "/operators", session, "success", f"{account.display_name} {done}."
        )

    async def set_role(self, request: web.Request) -> web.StreamResponse:
        session = await self.require_admin(request)
        form = await request.post()
        username = request.match_info["username"]
        role = str(form.get("role") or "")
        if username == session.operator.username and role != ADMIN:
            raise self.shell.redirect(
                "/operators",
                session,
                "danger",
                "Non puoi togliere a te stesso il ruolo di amministratore: chiedilo a un collega.",
            )
        try:
            account = await asyncio.to_thread(
                self.shell.operators.set_role, username, role, by=session.operator.username
            )
        except UnknownOperatorError as error:
            raise web.HTTPNotFound() from error
        except AccountError as error:
            raise self.shell.redirect("/operators", session, "danger", sentence(error)) from error
        raise self.shell.redirect(
            "/operators",
            session,
            "success",
            f"{account.display_name} ora è {ROLE_LABELS[account.role]}.",
        )
