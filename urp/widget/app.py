"""The web chat's assets and a demo page: a municipality's home page with the widget on it.

``/widget/*`` serves what a site embeds (``widget.js`` loads ``widget.css`` and the
vendored socket.io client from beside itself); ``/`` is a page in the style of an Italian
municipality's site, built from the settings, for trying the widget and for the tests.
The browser talks to Rasa directly, at ``rasa_url``: nothing here imports Rasa.

``/memo/<aaaa-mm-gg>`` is a memo's web page, from the memo in the store, at an address
that never changes (one memo per date): the link in the one WhatsApp template a subscriber
outside the 24-hour window gets (:func:`urp.information.memo.memo_teaser`). ``/memo`` sends
to the current memo's page. A memo dated after today is not out yet: not found.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from urp.core import webserver
from urp.core.dates import DAY_NAMES, MONTH_NAMES
from urp.core.settings import Settings
from urp.information.memo import MemoService, memo_path
from urp.subscription.whatsapp_link import invitation

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
WIDGET_ASSETS = HERE / "static"
DEMO_ASSETS = HERE / "demo"
# Vendored once, by the operators' console: the demo page uses the same copy.
BOOTSTRAP_ITALIA = HERE.parent / "console" / "static" / "vendor" / "bootstrap-italia"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SETTINGS = web.AppKey("settings", Settings)
PAGES = web.AppKey("pages", Environment)
RASA_URL = web.AppKey("rasa_url", str)
CSP = web.AppKey("csp", str)
MEMOS = web.AppKey("memos", MemoService)

ERROR_PAGES = {
    404: ("Pagina non trovata", "L'indirizzo che hai aperto non esiste."),
    405: ("Richiesta non valida", "Questa pagina si apre solo dal browser."),
}


def websocket_origins(rasa_url: str) -> str:
    """The origins the widget connects to, for the page's Content-Security-Policy."""
    parts = urlsplit(rasa_url)
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{parts.scheme}://{parts.netloc} {socket_scheme}://{parts.netloc}"


async def _no_sniffing(request: web.Request, response: web.StreamResponse) -> None:
    # Assets too: a browser must take a script for a script only if it says so.
    response.headers["X-Content-Type-Options"] = "nosniff"


def _page(request: web.Request, template: str, status: int = 200, **values: object) -> web.Response:
    settings = request.app[SETTINGS]
    html = (
        request.app[PAGES]
        .get_template(template)
        .render(settings=settings, rasa_url=request.app[RASA_URL], **values)
    )
    response = web.Response(text=html, status=status, content_type="text/html")
    response.headers["Content-Security-Policy"] = request.app[CSP]
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


async def home(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return _page(
        request,
        "demo.html",
        service_hours=settings.service_hours.describe(),
        whatsapp=invitation(settings),
        offices=[
            (office, office.hours.describe())
            for office in sorted(settings.offices.values(), key=lambda office: office.label)
        ],
    )


def _today(request: web.Request) -> date:
    return datetime.now(request.app[SETTINGS].timezone).date()


async def current_memo(request: web.Request) -> web.StreamResponse:
    """The current memo's own address: a link that will show this memo next week too."""
    memos = request.app.get(MEMOS)
    memo = memos.current(_today(request)) if memos is not None else None
    if memo is None:
        return _page(
            request,
            "error.html",
            status=404,
            title="Nessun memo",
            text="Non è ancora stato pubblicato nessun memo.",
        )
    raise web.HTTPFound(memo_path(memo.published_on))


async def memo_page(request: web.Request) -> web.Response:
    """One memo, by its date: header, date, each item with its title, text and link."""
    memos = request.app.get(MEMOS)
    try:
        day = date.fromisoformat(request.match_info["day"])
    except ValueError:
        raise web.HTTPNotFound() from None
    memo = memos.on(day) if memos is not None and day <= _today(request) else None
    if memo is None:
        raise web.HTTPNotFound()
    when = f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"
    return _page(request, "memo.html", memo=memo, when=when)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Short Italian pages instead of aiohttp's plain text or a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        title, text = ERROR_PAGES.get(
            error.status, ("Richiesta non valida", "La richiesta non è valida.")
        )
        status = error.status
    except Exception:
        logger.exception("widget demo: %s %s failed", request.method, request.path)
        title, text, status = ("Errore", "Qualcosa non ha funzionato: riprova tra poco.", 500)
    return _page(request, "error.html", status=status, title=title, text=text)


def create_app(
    settings: Settings, rasa_url: str, memos: MemoService | None = None
) -> web.Application:
    """The demo page for ``settings``; ``rasa_url`` is the Rasa server as the browser sees it;
    ``memos``: the store the memo pages come from (None: they are not found)."""
    app = web.Application(middlewares=[_errors])
    app[SETTINGS] = settings
    if memos is not None:
        app[MEMOS] = memos
    app[RASA_URL] = rasa_url.rstrip("/")
    app[PAGES] = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app[CSP] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self' data:; "
        f"img-src 'self' data: https:; connect-src 'self' {websocket_origins(rasa_url)}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    app.on_response_prepare.append(_no_sniffing)
    app.router.add_get("/", home)
    app.router.add_get("/health", health)
    app.router.add_get("/memo", current_memo)
    app.router.add_get(r"/memo/{day:\d{4}-\d{2}-\d{2}}", memo_page)
    webserver.add_static(app, "/widget", WIDGET_ASSETS)
    webserver.add_static(app, "/demo", DEMO_ASSETS)
    webserver.add_static(app, "/vendor/bootstrap-italia", BOOTSTRAP_ITALIA)
    return app
