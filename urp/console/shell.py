"""What every page of the console shares: the shell each area's module is built on.

Templates and the page around them, the session cookie and who is logged in, CSRF on every
form, flash messages across a redirect, and the polite error pages with the security
headers. Each area (login, handoffs, live updates, accounts, broadcasts, training) takes a
:class:`Shell`, and imports neither another area nor :mod:`urp.console.app`.

An operator whose password an admin chose (``must_change_password``) is sent to «Il tuo
account» from every page until they choose their own; every other request is refused
(:meth:`Shell.current`), so such a session never reads nor acts on a chat.

Every page works without JavaScript (forms, POST then redirect then GET). Store calls
block, so they run in threads (:func:`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from urp.console.access import ConsoleAccess, ConsoleSession
from urp.console.views import Presenter
from urp.core.errors import OperatorError
from urp.core.settings import Settings
from urp.handoff.operators import OperatorService

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CHAT_ROLES = ("operator", "admin")  # a trainer logs in, but the chats are not for them
FLASH_MAX_AGE = 60
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https:; font-src 'self' data:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A photo's host must not learn which chat of the console showed it.
    "Referrer-Policy": "no-referrer",
}
ERROR_PAGES = {
    403: ("Accesso non consentito", "Questa pagina non è disponibile con il tuo account."),
    404: ("Pagina non trovata", "La pagina che cerchi non esiste o è stata spostata."),
    405: ("Operazione non consentita", "Questa operazione non si può fare da qui."),
}

# What a session still on an admin's password may ask for: its account, and to leave.
PASSWORD_FIRST_PATHS = frozenset({"/account", "/account/password", "/logout"})
ACCOUNT_PAGE = "/account"
CHOOSE_PASSWORD = "Scegli una nuova password per continuare."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Cookies:
    """The console's cookie names, and how every one of them is set."""

    session: str
    login_csrf: str
    flash: str
    secure: bool

    @classmethod
    def named(cls, *, secure: bool) -> Cookies:
        # "__Host-": the browser takes it only over HTTPS, for this host, with Path=/.
        prefix = "__Host-" if secure else ""
        return cls(f"{prefix}urp_session", f"{prefix}urp_login_csrf", f"{prefix}urp_flash", secure)

    def set(self, response: web.StreamResponse, name: str, value: str, **extra: Any) -> None:
        response.set_cookie(
            name,
            value,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.secure,
            **extra,
        )


class PasswordFirstError(web.HTTPForbidden):
    """A request other than «Il tuo account» from a session whose password an admin chose."""

    page = (
        "Cambia prima la password",
        "Scegli una nuova password per continuare: la trovi in «Il tuo account».",
    )


class CsrfError(Exception):
    """A POST without the session's CSRF token: refused before anything changes."""


class Shell:
    """What every page needs: the templates, the sessions, the settings and the operators.

    ``broadcasting`` and ``training`` say whether those areas are served, for the menu.
    ``closing`` is set at shutdown: live pages and background jobs end on it.
    """

    def __init__(
        self,
        operators: OperatorService,
        settings: Settings,
        access: ConsoleAccess,
        *,
        secure_cookies: bool,
        broadcasting: bool = False,
        training: bool = False,
    ) -> None:
        self.operators = operators
        self.settings = settings
        self.access = access
        self.cookies = Cookies.named(secure=secure_cookies)
        self.broadcasting = broadcasting
        self.training = training
        self.closing = asyncio.Event()
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- rendering -------------------------------------------------------------------------

    def render(
        self,
        template: str,
        request: web.Request,
        session: ConsoleSession | None = None,
        *,
        status: int = 200,
        flash: tuple[str, str] | None = None,
        **values: Any,
    ) -> web.Response:
        """A page in the console's frame, never cached.

        ``menu`` says whether the frame links the console's sections: not while the
        operator must change an admin's password, when each would lead back to «Il tuo
        account» (:meth:`current`)."""
        operator = session.operator if session else None
        text = self.templates.get_template(template).render(
            comune=self.settings.display_name,
            broadcasting=self.broadcasting,
            training=self.training,
            menu=operator is not None and not operator.must_change_password,
            operator=operator,
            csrf_token=session.csrf_token if session else None,
            flash=flash,
            **values,
        )
        response = web.Response(text=text, status=status, content_type="text/html")
        response.headers["Cache-Control"] = "no-store"  # transcripts stay out of caches
        return response

    def page_error(self, request: web.Request, status: int, title: str, text: str) -> web.Response:
        return self.render("error.html", request, status=status, title=title, text=text)

    def display_names(self) -> dict[str, str]:
        """Username -> display name of every operator (blocks: call it in a thread)."""
        return {o.username: o.display_name for o in self.operators.list()}

    def presenter(self) -> Presenter:
        """The handoffs' view maker, with today's names (blocks: call it in a thread)."""
        return Presenter(self.settings.timezone, self.display_names())

    # -- sessions, CSRF and flash messages -------------------------------------------------

    async def current(self, request: web.Request, *, touch: bool = True) -> ConsoleSession | None:
        """The session of the request's cookie, if live. While its operator must change
        the password, anything but «Il tuo account» and the logout ends here: a page is a
        redirect to the account, anything else (a form, the API, the stream) a 403."""
        token = request.cookies.get(self.cookies.session)
        if not token:
            return None
        session = await asyncio.to_thread(self.access.session, token, touch=touch)
        if (
            session is not None
            and session.operator.must_change_password
            and request.path not in PASSWORD_FIRST_PATHS
        ):
            if request.method in ("GET", "HEAD") and not request.path.startswith("/api/"):
                raise web.HTTPSeeOther(ACCOUNT_PAGE)
            raise PasswordFirstError()
        return session

    async def require(self, request: web.Request, *, chats: bool = True) -> ConsoleSession:
        """The logged-in operator; a redirect to the login page, or 403 for a trainer."""
        session = await self.current(request)
        if session is None:
            expired = self.cookies.session in request.cookies
            response = web.HTTPSeeOther("/login?motivo=scaduta" if expired else "/login")
            response.del_cookie(self.cookies.session, path="/")
            raise response
        if chats and session.operator.role not in CHAT_ROLES:
            raise web.HTTPForbidden()
        if request.method == "POST":
            form = await request.post()
            sent = form.get("csrf_token")
            if not isinstance(sent, str) or not hmac.compare_digest(
                sent.encode(), session.csrf_token.encode()
            ):
                raise CsrfError()
        return session

    def redirect(
        self, location: str, session: ConsoleSession, level: str = "", text: str = ""
    ) -> web.HTTPSeeOther:
        """A redirect (to raise) carrying a flash message for the next page."""
        response = web.HTTPSeeOther(location)
        if text:
            payload = base64.urlsafe_b64encode(json.dumps([level, text]).encode()).decode()
            self.cookies.set(
                response,
                self.cookies.flash,
                f"{payload}.{_sign(session, payload)}",
                max_age=FLASH_MAX_AGE,
            )
        return response

    def take_flash(
        self, request: web.Request, session: ConsoleSession
    ) -> tuple[tuple[str, str] | None, bool]:
        """The flash message set by the last redirect (signed with the session's CSRF
        token, so that nobody else can put words in the console), and whether one was sent."""
        value = request.cookies.get(self.cookies.flash)
        if not value:
            return None, False
        payload, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, _sign(session, payload)):
            return None, True
        with contextlib.suppress(ValueError):
            level, text = json.loads(base64.urlsafe_b64decode(payload))
            return (str(level), str(text)), True
        return None, True

    def with_flash(
        self, request: web.Request, session: ConsoleSession, template: str, **values: Any
    ) -> web.Response:
        """A page showing (and clearing) the flash message of the last redirect."""
        flash, sent = self.take_flash(request, session)
        response = self.render(template, request, session, flash=flash, **values)
        if sent:
            response.del_cookie(self.cookies.flash, path="/")
        return response


def _sign(session: ConsoleSession, payload: str) -> str:
    return hmac.new(session.csrf_token.encode(), payload.encode(), hashlib.sha256).hexdigest()


SHELL = web.AppKey("shell", Shell)


async def _read_form(request: web.Request) -> None:
    """Read the form once (aiohttp keeps it for the handler): not UTF-8, a broken
    multipart body... is a 400, whichever handler it was for."""
    try:
        await request.post()
    except ValueError as error:
        raise web.HTTPBadRequest() from error


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Polite Italian pages instead of tracebacks, the details to the log only; and the
    security headers on every answer.

    An ``HTTPException`` with a ``page`` attribute (title, text) says on its page why."""
    shell = request.app[SHELL]
    try:
        if request.method == "POST":
            await _read_form(request)
        response = await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        title, text = getattr(error, "page", None) or ERROR_PAGES.get(
            error.status, ("Richiesta non valida", "La richiesta non è valida.")
        )
        response = shell.page_error(request, error.status, title, text)
    except CsrfError:
        response = shell.page_error(
            request,
            403,
            "Pagina scaduta",
            "Il modulo non è più valido e non è stato inviato: torna indietro, ricarica la "
            "pagina e riprova.",
        )
    except OperatorError as error:
        logger.warning("console: %s", type(error).__name__)
        response = shell.page_error(
            request,
            503,
            "Servizio non disponibile",
            "Al momento la console non riesce a leggere i dati: riprova tra qualche minuto.",
        )
    except Exception:
        logger.exception("console: unexpected error on %s %s", request.method, request.path)
        response = shell.page_error(
            request,
            500,
            "Si è verificato un problema",
            "Non è stato possibile completare l'operazione: riprova. Se si ripete, avvisa "
            "l'assistenza tecnica.",
        )
    response.headers.update(SECURITY_HEADERS)
    return response
