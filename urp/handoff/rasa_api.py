"""The Rasa server's conversation API, as the console and the handoff recorder use it.

Three calls are enough to hand a chat to a person and back:

- ``POST /conversations/{id}/tracker/events`` appends events (``pause``, ``resume``, an
  operator's message as a ``bot`` event); with ``execute_side_effects`` the Rasa server
  sends the bot messages to the citizen on the channel they last wrote from
  (``output_channel=latest``): WhatsApp, Twilio, the web widget or the callback channel;
- ``POST /conversations/{id}/trigger_intent`` injects an ``EXTERNAL_*`` intent, whose
  rule utters a reply of the domain (so every text a citizen reads stays in domain.yml).

One more, of the web chat's channel (``channels/socketio.py``) rather than Rasa's own API,
shows a web citizen that an operator types (:meth:`RasaConversations.typing`,
``POST /webhooks/socketio/typing``, :mod:`urp.widget.typing`).

The API is always protected. Every call carries a short-lived JWT (HS256, the admin role
Rasa expects) signed with ``RASA_JWT_SECRET``, in the ``Authorization`` header: never the
API's token in a URL, where access logs, proxies and error messages would keep it (Rasa 3.6
takes ``RASA_AUTH_TOKEN`` only as ``?token=``, so it is left to the deployer's own tools;
``make run`` always generates a JWT secret for the console and the broker).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import jwt
import requests

from urp.core.errors import OperatorError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
JWT_LIFETIME = 300  # seconds
# The web chat's channel: its routes, and the conversations it opens ("socketio:<session>").
WEB_CHANNEL_PATH = "/webhooks/socketio"
TYPING_ROUTE = "/typing"
WEB_CONVERSATION_PREFIX = "socketio:"
TYPING_TIMEOUT = 3.0  # seconds: a late indicator is worth nothing


class RasaUnavailableError(OperatorError, RuntimeError):
    """The Rasa server did not accept the call: down, unreachable or refusing the token."""


class RasaConversations:
    """HTTP client of one Rasa server's conversation endpoints."""

    def __init__(
        self,
        base_url: str,
        *,
        jwt_secret: str | None,
        jwt_method: str = "HS256",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not jwt_secret:
            raise ValueError("the Rasa HTTP API is called with a JWT: RASA_JWT_SECRET is unset")
        self.base_url = base_url.rstrip("/")
        self._jwt_secret = jwt_secret
        self._jwt_method = jwt_method
        self._timeout = timeout
        self._http = requests.Session()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> RasaConversations:
        """``URP_RASA_URL`` (default the local server on ``URP_RASA_PORT``) and its secret."""
        port = environ.get("URP_RASA_PORT", "5005")
        return cls(
            environ.get("URP_RASA_URL") or f"http://127.0.0.1:{port}",
            jwt_secret=environ.get("RASA_JWT_SECRET") or None,
            jwt_method=environ.get("RASA_JWT_METHOD", "HS256"),
        )

    def append(
        self, conversation_id: str, events: Sequence[Mapping[str, Any]], *, send: bool = False
    ) -> None:
        """Append ``events``; with ``send``, bot messages among them reach the citizen."""
        params = {"output_channel": "latest"}
        if send:
            params["execute_side_effects"] = "true"
        self._post(conversation_id, "tracker/events", list(events), params)

    def trigger(
        self, conversation_id: str, intent: str, entities: Mapping[str, str] | None = None
    ) -> None:
        """Inject an external intent; the rules reply on the citizen's latest channel."""
        body = {"name": intent, "entities": dict(entities or {})}
        self._post(conversation_id, "trigger_intent", body, {"output_channel": "latest"})

    def pause(self, conversation_id: str) -> None:
        """The bot stays silent: citizen messages are only recorded."""
        self.append(conversation_id, [{"event": "pause"}])

    def resume(self, conversation_id: str) -> None:
        self.append(conversation_id, [{"event": "resume"}])

    def say(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Send ``text`` to the citizen as a message of the conversation."""
        event = {"event": "bot", "text": text, "metadata": dict(metadata or {})}
        self.append(conversation_id, [event], send=True)

    @property
    def typing_url(self) -> str:
        return self.base_url + WEB_CHANNEL_PATH + TYPING_ROUTE

    def typing(self, conversation_id: str, name: str, active: bool = True) -> bool:
        """Tell a web citizen's widget that ``name`` types (``active``) or stopped: whether
        it was told. Only web conversations have an indicator (the others: False, nothing
        sent). Never raises: an indicator is not worth an error."""
        if not conversation_id.startswith(WEB_CONVERSATION_PREFIX):
            return False
        body = {"conversation_id": conversation_id, "name": name, "typing": active}
        try:
            response = self._http.post(
                self.typing_url,
                json=body,
                headers=self._headers(),
                timeout=min(self._timeout, TYPING_TIMEOUT),
            )
        except requests.RequestException as error:
            logger.info("typing signal not sent: %s", type(error).__name__)
            return False
        return response.status_code < 300

    def _post(self, conversation_id: str, path: str, body: Any, params: dict[str, str]) -> None:
        # Rasa (Sanic 21) does not unquote the id: what a path may carry is sent as it is
        # (Twilio's "whatsapp:+39...", the open channels' "rest:..."), only the rest encoded.
        conversation = quote(conversation_id, safe=":@!$&'()*+,;=")
        url = f"{self.base_url}/conversations/{conversation}/{path}"
        try:
            response = self._http.post(
                url, json=body, params=params, headers=self._headers(), timeout=self._timeout
            )
        except requests.RequestException as error:
            raise RasaUnavailableError(
                f"server Rasa non raggiungibile ({self.base_url}): {type(error).__name__}"
            ) from error
        if response.status_code >= 300:
            # The body may quote the citizen's words: only the status goes into the error.
            raise RasaUnavailableError(
                f"il server Rasa ha risposto {response.status_code} a {path}"
            )

    def _headers(self) -> dict[str, str]:
        """A fresh, short-lived admin JWT (Rasa's API and the typing endpoint check it)."""
        now = int(time.time())
        payload = {
            "user": {"username": "urp-console", "role": "admin"},
            "iat": now,
            "exp": now + JWT_LIFETIME,
        }
        token = jwt.encode(payload, self._jwt_secret, algorithm=self._jwt_method)
        return {"Authorization": f"Bearer {token}"}
