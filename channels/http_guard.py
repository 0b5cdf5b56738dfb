"""Every HTTP endpoint of the Rasa server answers 400 to a body it cannot serve (413 to a
message far too large), never 500.

A request middleware (installed by the REST channel, which every profile enables) asks
:func:`urp.http_bodies.body_problem` about each write request before Rasa's handlers see
it: the HTTP API, the callback channel. The signed webhooks and socket.io read their
bodies themselves.
"""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from urp.http_bodies import body_problem, too_large

_INSTALLED = "urp_http_guard"


async def refuse_bad_bodies(request: Request) -> HTTPResponse | None:
    if request.headers.get("Content-Encoding"):
        return None  # compressed: the handler decompresses and checks it
    body = request.body or b""
    if too_large(request.method, request.path, len(body)):
        return response.json(
            {"status": "failure", "reason": "PayloadTooLarge", "code": 413}, status=413
        )
    problem = body_problem(request.method, request.path, body)
    if problem is None:
        return None
    return response.json(
        {"status": "failure", "reason": "BadRequest", "message": problem, "code": 400},
        status=400,
    )


def install(app: Sanic) -> None:
    """Once per app, whichever channel asks first."""
    if getattr(app.ctx, _INSTALLED, False):
        return
    setattr(app.ctx, _INSTALLED, True)
    app.register_middleware(refuse_bad_bodies, "request")
