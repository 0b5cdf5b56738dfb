"""Every HTTP endpoint of the Rasa server answers 400 to a body it cannot serve (413 to a
message far too large), never 500; and the HTTP API asks for its secret before any body
is read.

A request middleware (installed by the REST channel, which every profile enables) asks
:func:`urp.inbound.bodies.body_problem` about each write request before Rasa's handlers see
it: the HTTP API, the callback channel. The signed webhooks and socket.io read their
bodies themselves.

Parsing comes after authentication: on the paths Rasa protects (``rasa.server.
requires_auth``: ``/status``, ``/domain``, ``/model/...``, ``/conversations/...``) a
request without the API's secret gets 401 at once, as Rasa would give it, so that nobody
without the secret can keep the event loop busy parsing megabytes of YAML sent to
``/model/train``. Same rules as Rasa: the token ``RASA_AUTH_TOKEN`` as ``?token=``, or a
JWT signed with ``RASA_JWT_SECRET`` (checked by Rasa's own sanic-jwt). The secrets are
those the launcher (:mod:`servers.rasa_server`) hands to Rasa from the same environment.
"""

from __future__ import annotations

import hmac
import os
import re

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from urp.inbound.bodies import body_problem, too_large

_INSTALLED = "urp_http_guard"
TOKEN_ENV = "RASA_AUTH_TOKEN"
# Every route of Rasa 3.6's HTTP API that ``requires_auth`` wraps; "/" and "/version"
# stay open, like the channels' webhooks.
_PROTECTED = re.compile(r"^/(status|domain|model|conversations)(/|$)")


async def authenticated(request: Request) -> bool:
    """Whether Rasa will accept the request's credentials: token or JWT, as it checks them."""
    token = os.environ.get(TOKEN_ENV) or ""
    given = request.args.get("token")
    if token and given is not None and hmac.compare_digest(given.encode(), token.encode()):
        return True
    if request.app.config.get("USE_JWT"):
        try:
            return bool(await request.app.ctx.auth.is_authenticated(request))
        except Exception:  # a malformed Authorization header: sanic-jwt raises
            return False
    # Neither secret known here: the API is open (a plain `rasa run`), Rasa decides.
    return not token


def _unauthenticated() -> HTTPResponse:
    return response.json(
        {
            "version": None,
            "status": "failure",
            "reason": "NotAuthenticated",
            "message": "User is not authenticated.",
            "code": 401,
        },
        status=401,
    )


async def refuse_bad_bodies(request: Request) -> HTTPResponse | None:
    if (
        request.method != "OPTIONS"  # CORS preflight: no body, Rasa does not protect it
        and _PROTECTED.match(request.path)
        and not await authenticated(request)
    ):
        return _unauthenticated()
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
