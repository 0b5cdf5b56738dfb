"""The operators' console: an aiohttp web app over :class:`urp.handoff.chat.HandoffChat`.

Every page works without JavaScript (forms, POST then redirect then GET); the script only
adds live updates and quick replies that fill the reply box. Live updates are Server-Sent
Events: each open page keeps one connection, and the server polls the store once a second
for it, sending JSON only when something changed. The store is the only state, so every
console replica sees what the others and the bot did, with no message bus; EventSource
reconnects by itself and resumes after the last message it got (``Last-Event-ID``).

Store calls block, so they run in threads (:func:`asyncio.to_thread`). Nothing here
imports Rasa: the chat reaches it through the ``Conversations`` it was built with.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from urp.broadcasts.service import BroadcastService
from urp.broadcasts.worker import BroadcastWorker
from urp.console.access import ConsoleAccess, ConsoleSession, LoginThrottledError
from urp.console.accounts import AccountPages
from urp.console.broadcasting import BroadcastPages, BroadcastWatcher
from urp.console.training import TrainingPages
from urp.console.views import Presenter, sentence, sse_event
from urp.core import webserver
from urp.core.clock import utc_now
from urp.core.errors import OperatorError
from urp.core.models import ASSIGNED
from urp.core.settings import Settings
from urp.handoff.chat import DeliveryError, HandoffChat
from urp.handoff.operators import Operator, OperatorService
from urp.handoff.queue import Handoff, UnknownHandoffError
from urp.handoff.quick_replies import QuickReplyService
from urp.information.memo import MemoService
from urp.review.store import ReviewStore
from urp.review.training import TrainingData

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CHAT_ROLES = ("operator", "admin")  # a trainer logs in, but the chats are not for them
# WhatsApp's limit for one message.
MAX_REPLY_LENGTH = 4096
STREAM_POLL = 1.0  # seconds between two looks at the store for one live page
STREAM_SESSION_CHECK = 15.0  # seconds: a logout or a disabled account ends the stream
STREAM_HEARTBEAT = 20.0  # seconds: a comment line keeps proxies from closing the stream
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

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Cookies:
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


class Console:
    """The handlers, with the services they use."""

    def __init__(
        self,
        chat: HandoffChat,
        operators: OperatorService,
        quick_replies: QuickReplyService,
        settings: Settings,
        access: ConsoleAccess,
        *,
        secure_cookies: bool,
    ) -> None:
        self.chat = chat
        self.operators = operators
        self.quick_replies = quick_replies
        self.settings = settings
        self.access = access
        self.cookies = Cookies.named(secure=secure_cookies)
        self.closing = asyncio.Event()
        self.broadcasts: BroadcastPages | None = None
        self.training: TrainingPages | None = None
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
        text = self.templates.get_template(template).render(
            comune=self.settings.display_name,
            broadcasting=self.broadcasts is not None,
            training=self.training is not None,
            operator=session.operator if session else None,
            csrf_token=session.csrf_token if session else None,
            flash=flash,
            **values,
        )
        response = web.Response(text=text, status=status, content_type="text/html")
        response.headers["Cache-Control"] = "no-store"  # transcripts stay out of caches
        return response

    def page_error(self, request: web.Request, status: int, title: str, text: str) -> web.Response:
        return self.render("error.html", request, status=status, title=title, text=text)

    async def presenter(self) -> Presenter:
        operators = await asyncio.to_thread(self.operators.list)
        return Presenter(self.settings.timezone, {o.username: o.display_name for o in operators})

    # -- sessions, CSRF and flash messages -------------------------------------------------

    async def current(self, request: web.Request, *, touch: bool = True) -> ConsoleSession | None:
        token = request.cookies.get(self.cookies.session)
        if not token:
            return None
        return await asyncio.to_thread(self.access.session, token, touch=touch)

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
                raise _CsrfError()
        return session

    def redirect(
        self, location: str, session: ConsoleSession, level: str = "", text: str = ""
    ) -> web.HTTPSeeOther:
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
        flash, sent = self.take_flash(request, session)
        response = self.render(template, request, session, flash=flash, **values)
        if sent:
            response.del_cookie(self.cookies.flash, path="/")
        return response

    # -- login and logout ------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        if await self.current(request) is not None:
            raise web.HTTPSeeOther("/")
        notice = {"uscita": "Sei uscito dalla console.", "scaduta": "La sessione è scaduta."}
        return self.login_form(request, info=notice.get(request.query.get("motivo", "")))

    def login_form(
        self, request: web.Request, *, status: int = 200, error: str = "", info: str | None = None
    ) -> web.Response:
        # Double-submit: the form posts back the value of a cookie a foreign site cannot read.
        token = request.cookies.get(self.cookies.login_csrf) or secrets.token_urlsafe(32)
        flash = ("danger", error) if error else ("info", info) if info else None
        response = self.render("login.html", request, status=status, flash=flash, login_csrf=token)
        self.cookies.set(response, self.cookies.login_csrf, token)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        cookie = request.cookies.get(self.cookies.login_csrf, "")
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
                self.access.log_in, username, password, client_address(request)
            )
        except LoginThrottledError as error:
            return self.login_form(request, status=429, error=str(error))
        if login is None:
            return self.login_form(
                request, status=401, error="Nome utente o password non corretti."
            )
        response = web.HTTPSeeOther("/")
        self.cookies.set(response, self.cookies.session, login.token)
        response.del_cookie(self.cookies.login_csrf, path="/")
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        await self.require(request, chats=False)
        await asyncio.to_thread(self.access.log_out, request.cookies[self.cookies.session])
        response = web.HTTPSeeOther("/login?motivo=uscita")
        response.del_cookie(self.cookies.session, path="/")
        raise response

    # -- pages -----------------------------------------------------------------------------

    async def queue_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request, chats=False)
        if session.operator.role not in CHAT_ROLES:
            return self.render("trainer.html", request, session, status=403)
        rows = await asyncio.to_thread(self.queue_rows, session, await self.presenter())
        return self.with_flash(request, session, "queue.html", rows=rows)

    def queue_rows(self, session: ConsoleSession, presenter: Presenter) -> list[Any]:
        return [presenter.queue_row(q, session.operator.username) for q in self.chat.queue()]

    async def handoff_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        handoff = await self.handoff(request)
        presenter = await self.presenter()
        messages = await asyncio.to_thread(self.chat.transcript, handoff.id)
        replies = await asyncio.to_thread(self.quick_replies.list)
        now = utc_now()
        mine = handoff.status == ASSIGNED and handoff.operator == session.operator.username
        return self.with_flash(
            request,
            session,
            "handoff.html",
            handoff=handoff,
            messages=[presenter.message(m, now) for m in messages],
            last_id=messages[-1].id if messages else 0,
            state=presenter.state_notice(handoff, session.operator.username),
            mine=mine,
            may_close=handoff.is_open
            and (mine or handoff.status != ASSIGNED or session.operator.role == "admin"),
            quick_replies=replies,
            max_length=MAX_REPLY_LENGTH,
        )

    async def handoff(self, request: web.Request) -> Handoff:
        try:
            return await asyncio.to_thread(self.chat.get, int(request.match_info["id"]))
        except (ValueError, UnknownHandoffError) as error:
            raise web.HTTPNotFound() from error

    # -- the operator's steps --------------------------------------------------------------

    async def claim(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        handoff = await self.handoff(request)
        try:
            claimed = await asyncio.to_thread(self.chat.claim, handoff.id, session.operator)
        except OperatorError as error:
            raise self.redirect("/", session, "danger", str(error)) from error
        if not claimed:
            raise self.redirect(
                "/",
                session,
                "warning",
                f"Conversazione n. {handoff.id}: l'ha già presa un altro operatore.",
            )
        raise self.redirect(f"/handoffs/{handoff.id}", session)

    async def reply(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        handoff = await self.handoff(request)
        here = f"/handoffs/{handoff.id}"
        form = await request.post()
        # Browsers send a text box's line breaks as CRLF; chat channels expect LF.
        text = str(form.get("text") or "").replace("\r\n", "\n").strip()
        title = str(form.get("quick_reply") or "")
        if title:
            # Without JavaScript the chosen quick reply comes with the form: it follows the
            # text typed, if any (with JavaScript it is already in the text box).
            replies = {r.title: r.text for r in await asyncio.to_thread(self.quick_replies.list)}
            if title not in replies:
                raise self.redirect(here, session, "danger", "Questa risposta rapida non c'è più.")
            text = f"{text}\n\n{replies[title]}" if text else replies[title]
        if not text:
            raise self.redirect(here, session, "danger", "Scrivi il testo della risposta.")
        if len(text) > MAX_REPLY_LENGTH:
            raise self.redirect(
                here, session, "danger", f"La risposta supera i {MAX_REPLY_LENGTH} caratteri."
            )
        try:
            await asyncio.to_thread(self.chat.reply, handoff.id, session.operator, text)
        except DeliveryError as error:
            raise self.redirect(here, session, "warning", str(error)) from error
        except OperatorError as error:
            raise self.redirect(here, session, "danger", sentence(error)) from error
        raise self.redirect(here, session)

    async def retry(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        handoff = await self.handoff(request)
        here = f"/handoffs/{handoff.id}"
        message_id = int(request.match_info["message_id"])
        messages = await asyncio.to_thread(self.chat.transcript, handoff.id, message_id - 1)
        if not messages or messages[0].id != message_id:
            raise web.HTTPNotFound()
        try:
            await asyncio.to_thread(self.chat.retry, message_id, session.operator)
        except OperatorError as error:
            level = "warning" if isinstance(error, DeliveryError) else "danger"
            raise self.redirect(here, session, level, sentence(error)) from error
        raise self.redirect(here, session, "success", "Risposta consegnata.")

    async def release(self, request: web.Request) -> web.StreamResponse:
        return await self._leave(request, self.chat.release, "rimessa in coda")

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        return await self._leave(
            request, self.chat.resolve, "chiusa: risponde di nuovo l'assistente"
        )

    async def _leave(
        self, request: web.Request, step: Callable[[int, Operator], Any], done: str
    ) -> web.StreamResponse:
        """The operator lets the chat go (to the queue, or back to the bot)."""
        session = await self.require(request)
        handoff = await self.handoff(request)
        try:
            await asyncio.to_thread(step, handoff.id, session.operator)
        except OperatorError as error:
            raise self.redirect(
                f"/handoffs/{handoff.id}", session, "danger", sentence(error)
            ) from error
        raise self.redirect("/", session, "success", f"Conversazione n. {handoff.id} {done}.")

    # -- live updates ----------------------------------------------------------------------

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: ``queue`` for the queue page; ``messages`` and ``state`` for
        a chat (``?handoff=ID&after=MESSAGE_ID``); ``broadcast`` for the broadcasts
        (``?broadcast=`` all the latest, ``?broadcast=ID`` one); ``session`` when the
        session ended."""
        # The stream does not keep a session alive: a tab left open still expires.
        session = await self.current(request, touch=False)
        if session is None:
            return web.json_response({"error": "sessione scaduta"}, status=401)
        if session.operator.role not in CHAT_ROLES:
            return web.json_response({"error": "non consentito"}, status=403)
        broadcasts = self.broadcasts
        try:
            handoff_id = int(request.query["handoff"]) if "handoff" in request.query else None
            broadcast = request.query.get("broadcast")
            if broadcast is not None and broadcasts is None:
                raise web.HTTPNotFound()
            broadcast_id = int(broadcast) if broadcast else None
            after = max(
                int(request.query.get("after", 0)), int(request.headers.get("Last-Event-ID", 0))
            )
        except ValueError:
            return web.json_response({"error": "parametri non validi"}, status=400)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # nginx: pass each event on at once
            }
        )
        await response.prepare(request)
        watcher: _Watcher | BroadcastWatcher = (
            broadcasts.watcher(broadcast_id)
            if broadcasts is not None and broadcast is not None
            else _Watcher(self, session, handoff_id, after)
        )
        loop = asyncio.get_running_loop()
        checked = written = loop.time()
        try:
            while not self.closing.is_set():
                if loop.time() - checked >= STREAM_SESSION_CHECK:
                    checked = loop.time()
                    if await self.current(request, touch=False) is None:
                        await response.write(sse_event("session", {"expired": True}))
                        break
                events = await asyncio.to_thread(watcher.changes)
                if events:
                    await response.write(b"".join(events))
                    written = loop.time()
                elif loop.time() - written >= STREAM_HEARTBEAT:
                    await response.write(b": ancora qui\n\n")
                    written = loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), STREAM_POLL)
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the page was closed
        return response


class _Watcher:
    """What changed since the last look, for one live page (runs in a worker thread)."""

    def __init__(
        self, console: Console, session: ConsoleSession, handoff_id: int | None, after: int
    ) -> None:
        self._console = console
        self._session = session
        self._handoff_id = handoff_id
        self._after = after
        self._seen: Any = None

    def _presenter(self) -> Presenter:
        operators = self._console.operators.list()
        return Presenter(
            self._console.settings.timezone, {o.username: o.display_name for o in operators}
        )

    def changes(self) -> list[bytes]:
        console, username = self._console, self._session.operator.username
        templates = console.templates
        if self._handoff_id is None:
            queue = console.chat.queue()
            # The waiting minutes are part of it: the page's times move on by themselves.
            seen = [
                (
                    q.handoff.id,
                    q.handoff.status,
                    q.handoff.operator,
                    int(q.waiting.total_seconds() // 60),
                )
                for q in queue
            ]
            if seen == self._seen:
                return []
            self._seen = seen
            presenter = self._presenter()
            rows = [presenter.queue_row(q, username) for q in queue]
            html = templates.get_template("_queue_rows.html").render(
                rows=rows, csrf_token=self._session.csrf_token
            )
            return [sse_event("queue", {"html": html, "count": len(rows)})]
        events = []
        try:
            handoff = console.chat.get(self._handoff_id)
        except UnknownHandoffError:
            return [
                sse_event("state", {"status": "unknown", "notice": "Conversazione non trovata."})
            ]
        messages = console.chat.transcript(self._handoff_id, self._after)
        state = (handoff.status, handoff.operator)
        if messages or state != self._seen:
            presenter = self._presenter()
            now = utc_now()
            for message in messages:
                view = presenter.message(message, now)
                html = templates.get_template("_message.html").render(message=view)
                events.append(
                    sse_event(
                        "message",
                        {
                            "id": message.id,
                            "author": message.author,
                            "who": view.who,
                            "text": message.text or "",
                            "html": html,
                        },
                        event_id=message.id,
                    )
                )
                self._after = message.id
            if state != self._seen:
                if self._seen is not None:
                    events.append(
                        sse_event(
                            "state",
                            {
                                "status": handoff.status,
                                "notice": presenter.state_notice(handoff, username),
                            },
                        )
                    )
                self._seen = state
        return events


class _CsrfError(Exception):
    """A POST without the session's CSRF token: refused before anything changes."""


def _sign(session: ConsoleSession, payload: str) -> str:
    return hmac.new(session.csrf_token.encode(), payload.encode(), hashlib.sha256).hexdigest()


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


CONSOLE = web.AppKey("console", Console)
ERROR_PAGES = {
    403: ("Accesso non consentito", "Questa pagina non è disponibile con il tuo account."),
    404: ("Pagina non trovata", "La pagina che cerchi non esiste o è stata spostata."),
    405: ("Operazione non consentita", "Questa operazione non si può fare da qui."),
}


async def _read_form(request: web.Request) -> None:
    """Read the form once (aiohttp keeps it for the handler): not UTF-8, a broken
    multipart body... is a 400, whichever handler it was for."""
    try:
        await request.post()
    except ValueError as error:
        raise web.HTTPBadRequest() from error


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Polite Italian pages instead of tracebacks; the details go to the log only."""
    console = request.app[CONSOLE]
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
        response = console.page_error(request, error.status, title, text)
    except _CsrfError:
        response = console.page_error(
            request,
            403,
            "Pagina scaduta",
            "Il modulo non è più valido e non è stato inviato: torna indietro, ricarica la "
            "pagina e riprova.",
        )
    except OperatorError as error:
        logger.warning("console: %s", type(error).__name__)
        response = console.page_error(
            request,
            503,
            "Servizio non disponibile",
            "Al momento la console non riesce a leggere i dati: riprova tra qualche minuto.",
        )
    except Exception:
        logger.exception("console: unexpected error on %s %s", request.method, request.path)
        response = console.page_error(
            request,
            500,
            "Si è verificato un problema",
            "Non è stato possibile completare l'operazione: riprova. Se si ripete, avvisa "
            "l'assistenza tecnica.",
        )
    response.headers.update(SECURITY_HEADERS)
    return response


async def _sweep_every(
    app: web.Application, interval: float, jobs: Sequence[Callable[[], object]]
) -> None:
    console = app[CONSOLE]
    while not console.closing.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(console.closing.wait(), interval)
            return
        for job in (console.chat.sweep, console.chat.redeliver, *jobs):
            try:
                await asyncio.to_thread(job)
            except Exception:
                # Never fatal: the next round tries again, and so do the other replicas.
                logger.exception("console: background job failed")


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
    has the trainers' pages, writing examples into ``training`` (the project's data/nlu).
    """
    console = Console(
        chat, operators, quick_replies, settings, access, secure_cookies=secure_cookies
    )
    app = web.Application(middlewares=[_errors])
    app[CONSOLE] = console
    app.router.add_get("/health", console.health)
    app.router.add_get("/login", console.login_page)
    app.router.add_post("/login", console.login)
    app.router.add_post("/logout", console.logout)
    app.router.add_get("/", console.queue_page)
    app.router.add_get("/handoffs/{id:\\d+}", console.handoff_page)
    app.router.add_post("/handoffs/{id:\\d+}/claim", console.claim)
    app.router.add_post("/handoffs/{id:\\d+}/reply", console.reply)
    app.router.add_post("/handoffs/{id:\\d+}/messages/{message_id:\\d+}/retry", console.retry)
    app.router.add_post("/handoffs/{id:\\d+}/release", console.release)
    app.router.add_post("/handoffs/{id:\\d+}/resolve", console.resolve)
    app.router.add_get("/api/stream", console.stream)
    AccountPages(console).routes(app)
    if broadcasts is not None and memos is not None:
        console.broadcasts = BroadcastPages(console, broadcasts, memos, worker)
        console.broadcasts.routes(app)
    if review is not None:
        console.training = TrainingPages(
            console, review, training or TrainingData.from_environment()
        )
        console.training.routes(app)
    webserver.add_static(app, "/static", HERE / "static")

    async def stop_streams(app: web.Application) -> None:
        console.closing.set()  # open streams end now rather than hold the shutdown

    app.on_shutdown.append(stop_streams)
    if sweep_interval is not None:

        async def sweeper(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(_sweep_every(app, sweep_interval, jobs))
            yield
            console.closing.set()
            await task

        app.cleanup_ctx.append(sweeper)
    return app
