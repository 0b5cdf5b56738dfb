"""The action server: ``python -m servers.action_server --actions actions --port 5055``.

rasa-sdk 3.6 (``rasa run actions``) listens on every interface (``SANIC_HOST``, default
0.0.0.0) and runs any action for whoever asks: a forged tracker POSTed to ``/webhook``
would subscribe any number, tell whether a number is subscribed, erase a citizen's data.
This is the same rasa-sdk application (``rasa_sdk.endpoint.create_app``, the same options
as ``rasa run actions``) with two differences:

- it listens on ``URP_ACTIONS_HOST`` (default ``127.0.0.1``);
- every request but ``GET /health`` must carry the shared secret ``URP_ACTION_SECRET`` in
  the ``X-URP-Action-Secret`` header, which the Rasa server sends on every call
  (``action_endpoint.headers`` in endpoints.yml): without it, or with another, 401, before
  the body is read. Without a secret in the environment the server does not start.

No CORS: only the Rasa server calls the action server, never a browser.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from urp.core import log_privacy

SECRET_ENV = "URP_ACTION_SECRET"
HOST_ENV = "URP_ACTIONS_HOST"
DEFAULT_HOST = "127.0.0.1"
SECRET_HEADER = "X-URP-Action-Secret"
MISSING_SECRET = (
    "Server delle azioni non avviato: manca il segreto condiviso con il server Rasa. "
    f"Imposta {SECRET_ENV} (lo stesso valore per il server Rasa e per il server delle "
    "azioni); make run e make run-prod lo generano in var/action-secret."
)

Middleware = Callable[[Request], Awaitable[HTTPResponse | None]]
logger = logging.getLogger(__name__)


def action_secret(environ: Mapping[str, str] = os.environ) -> str:
    """The shared secret; :class:`SystemExit` with an Italian message when it is missing."""
    secret = environ.get(SECRET_ENV, "").strip()
    if not secret:
        raise SystemExit(MISSING_SECRET)
    return secret


def require_secret(secret: str) -> Middleware:
    """A request middleware: 401 to any request but the health check without ``secret``."""
    expected = secret.encode()

    async def check_secret(request: Request) -> HTTPResponse | None:
        if request.method in ("GET", "HEAD") and request.path == "/health":
            return None
        given = request.headers.get(SECRET_HEADER, "")
        try:
            presented = given.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            presented = b""
        if hmac.compare_digest(presented, expected):
            return None
        return response.json({"error": "non autorizzato"}, status=401)

    return check_secret


def build_app(
    secret: str,
    actions: str = "actions",
    cors_origins: str | list[str] | None = None,
    auto_reload: bool = False,
) -> Sanic:
    """rasa-sdk's application with the secret checked first, before any other middleware
    (actions/__init__.py's body guard, which parses the tracker)."""
    app = create_app(actions, cors_origins=cors_origins, auto_reload=auto_reload)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    app.request_middleware.appendleft(require_secret(secret))
    return app


def main(argv: list[str] | None = None) -> None:
    args = create_argument_parser().parse_args(argv)  # rasa-sdk's own options
    log_privacy.install()
    secret = action_secret()
    host = os.environ.get(HOST_ENV, "").strip() or DEFAULT_HOST
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    app = build_app(secret, args.actions or "actions", args.cors, args.auto_reload)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    logger.info("Action server on %s:%s, behind %s", host, args.port, SECRET_ENV)
    app.run(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    sys.exit(main())
