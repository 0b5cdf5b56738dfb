"""«Giulia sta scrivendo…» in a web citizen's widget while an operator types in the console.

The console is another process (and, in production, the citizen's socket may sit on
either Rasa replica), so it asks the Rasa server: ``POST /webhooks/socketio/typing``, a
small endpoint of the web chat's channel (``channels/socketio.py``), with the same JWT as
Rasa's HTTP API (``RASA_JWT_SECRET``). The channel emits ``urp_typing`` to the
conversation's room; with the production profile's Redis manager it reaches the replica
that holds the socket.

The widget hides the indicator by itself :data:`WIDGET_TIMEOUT` seconds after the last
signal, so the console repeats it every :data:`REPEAT_EVERY` seconds while the operator
types, and sends ``typing: false`` when they stop (or send). Only web conversations have
an indicator: for the others :meth:`TypingSignal.send` does nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import jwt
import requests

from urp.handoff.rasa_api import JWT_LIFETIME

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "/webhooks/socketio"
TYPING_ROUTE = "/typing"
TYPING_EVENT = "urp_typing"
WEB_CONVERSATION_PREFIX = "socketio:"
WIDGET_TIMEOUT = 8  # seconds: widget.js OPERATOR_TYPING_TIMEOUT
REPEAT_EVERY = 4  # seconds, while the operator keeps typing
MAX_BODY = 4096  # bytes the endpoint reads
TIMEOUT = 3.0  # seconds: a late indicator is worth nothing


class TypingSignal:
    """The console's side: tell the Rasa server that an operator types in a web chat."""

    def __init__(
        self,
        base_url: str,
        *,
        jwt_secret: str | None,
        jwt_method: str = "HS256",
        timeout: float = TIMEOUT,
    ) -> None:
        if not jwt_secret:
            raise ValueError("the typing signal is sent with a JWT: RASA_JWT_SECRET is unset")
        self.url = base_url.rstrip("/") + CHANNEL_PREFIX + TYPING_ROUTE
        self._jwt_secret = jwt_secret
        self._jwt_method = jwt_method
        self._timeout = timeout
        self._http = requests.Session()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> TypingSignal:
        """The Rasa server the console talks to (``URP_RASA_URL``, as the HTTP API)."""
        port = environ.get("URP_RASA_PORT", "5005")
        return cls(
            environ.get("URP_RASA_URL") or f"http://127.0.0.1:{port}",
            jwt_secret=environ.get("RASA_JWT_SECRET") or None,
            jwt_method=environ.get("RASA_JWT_METHOD", "HS256"),
        )

    def send(self, conversation_id: str, name: str, typing: bool = True) -> bool:
        """Whether the widget was told; never raises (an indicator is not worth an error)."""
        if not conversation_id.startswith(WEB_CONVERSATION_PREFIX):
            return False
        now = int(time.time())
        token = jwt.encode(
            {
                "user": {"username": "urp-console", "role": "admin"},
                "iat": now,
                "exp": now + JWT_LIFETIME,
            },
            self._jwt_secret,
            algorithm=self._jwt_method,
        )
        body = {"conversation_id": conversation_id, "name": name, "typing": typing}
        try:
            response = self._http.post(
                self.url,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            )
        except requests.RequestException as error:
            logger.info("typing signal not sent: %s", type(error).__name__)
            return False
        return response.status_code < 300
