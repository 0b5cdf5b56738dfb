"""Logging in and out of the console.

The login form is protected by a double-submit CSRF token (a cookie a foreign site cannot
read, posted back by the form): there is no session yet to hold one. Throttling and the
audit rows are :class:`urp.console.access.ConsoleAccess`'s.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets

from aiohttp import web

from urp.console.shell import Shell
from urp.console.throttle import LoginThrottledError

NOTICES = {"uscita": "Sei uscito dalla console.", "scaduta": "La sessione è scaduta."}


def client_address(request: web.Request) -> str | None:
    """Who is asking: the peer, or the address nginx saw when the peer is the local proxy.

    nginx appends the client's address to ``X-Forwarded-For``: the last entry is the one it
    saw, whatever the client wrote before it. Only a proxy on this machine is believed.
    """
    peer = request.remote
    try:
        local = peer is not None and ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    if local:
        forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return peer


class LoginPages:
    """Handlers of ``/login`` and ``/logout``."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/login", self.login_page)
        app.router.add_post("/login", self.login)
        app.router.add_post("/logout", self.logout)

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        if await self.shell.current(request) is not None:
            raise web.HTTPSeeOther("/")
        return self.login_form(request, info=NOTICES.get(request.query.get("motivo", "")))

    def login_form(
        self, request: web.Request, *, status: int = 200, error: str = "", info: str | None = None
    ) -> web.Response:
        cookies = self.shell.cookies
        # Double-submit: the form posts back the value of a cookie a foreign site cannot read.
        token = request.cookies.get(cookies.login_csrf) or secrets.token_urlsafe(32)
        flash = ("danger", error) if error else ("info", info) if info else None
        response = self.shell.render(
            "login.html", request, status=status, flash=flash, login_csrf=token
        )
        cookies.set(response, cookies.login_csrf, token)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        cookies = self.shell.cookies
        form = await request.post()
        cookie = request.cookies.get(cookies.login_csrf, "")
        sent = form.get("csrf_token")
        if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent, cookie):
            return self.login_form(
                request, status=403, error="La pagina era scaduta: inserisci di nuovo i dati."
            )
        username, password = form.get("username"), form.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return self.login_form(request, status=400, error="Inserisci nome utente e password.")
        try:
            login = await asyncio.to_thread(
                self.shell.access.log_in, username, password, client_address(request)
            )
        except LoginThrottledError as error:
            return self.login_form(request, status=429, error=str(error))
        if login is None:
            return self.login_form(
                request, status=401, error="Nome utente o password non corretti."
            )
        # A password an admin chose: «Il tuo account» first, to choose one's own.
        first_page = "/account" if login.session.operator.must_change_password else "/"
        response = web.HTTPSeeOther(first_page)
        cookies.set(response, cookies.session, login.token)
        response.del_cookie(cookies.login_csrf, path="/")
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        cookies = self.shell.cookies
        await self.shell.require(request, chats=False)
        await asyncio.to_thread(self.shell.access.log_out, request.cookies[cookies.session])
        response = web.HTTPSeeOther("/login?motivo=uscita")
        response.del_cookie(cookies.session, path="/")
        raise response
