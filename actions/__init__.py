"""Custom actions of Sportello URP: thin glue between Rasa and the ``urp`` package.

``rasa run actions --actions actions`` registers every Action subclass found in the
submodules; each module holds one topic.

rasa-sdk answers 500 to a JSON body of the wrong shape; when the action server imports
this package (its Sanic app, ``rasa_sdk``, already exists then) a request middleware
answers 400 instead (:mod:`urp.inbound.bodies`), and hands the JSON it parsed on to rasa-sdk,
which would otherwise parse the whole tracker a second time; and once the server listens,
a thread builds the office's FAQ index, so that the first question does not wait for it.
Imported anywhere else, nothing happens.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from urp.inbound.bodies import checked_body


async def _refuse_bad_bodies(request: Request) -> HTTPResponse | None:
    if request.headers.get("Content-Encoding"):
        return None  # deflated by Rasa: rasa-sdk decompresses it
    problem, parsed = checked_body(request.method, request.path, request.body or b"")
    if problem is not None:
        return response.json({"error": problem}, status=400)
    if parsed is not None:
        request.parsed_json = parsed  # rasa-sdk's request.json: the tracker is parsed once
    return None


def _warm_faq() -> None:
    """Build the FAQ index now, not at the first citizen's question: it embeds every
    question of the office's FAQ (about 11 ms each, :mod:`urp.faq.search`)."""
    from actions.services import faq_index

    try:
        faq_index().index()
    except Exception:  # the store may be down: the first question tries again
        logging.getLogger(__name__).exception("FAQ non preparate all'avvio")


async def _warm_faq_in_background(app: Sanic, loop: object) -> None:
    threading.Thread(target=_warm_faq, name="faq-warm-up", daemon=True).start()


with contextlib.suppress(SanicException):  # not inside the action server: tests, tools
    _app = Sanic.get_app("rasa_sdk")
    _app.register_middleware(_refuse_bad_bodies, "request")
    _app.register_listener(_warm_faq_in_background, "after_server_start")
