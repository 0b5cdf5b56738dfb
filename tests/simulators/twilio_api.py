"""A local stand-in for Twilio's REST API (Messages), for the tests."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from aiohttp import web

from tests.simulators.server import ThreadedServer

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "token-twilio-del-simulatore"
NUMBER = "whatsapp:+390710000000"


class TwilioApiSimulator(ThreadedServer):
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self._ids = itertools.count(1)
        super().__init__()

    def environment(self) -> dict[str, str]:
        """The channel pointed at this simulator (the webhook URL: the one requested)."""
        return {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_WHATSAPP_NUMBER": NUMBER,
            "TWILIO_API_URL": self.url,
        }

    def routes(self, app: web.Application) -> None:
        app.router.add_post(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", self._messages)

    def to(self, recipient: str) -> list[dict[str, str]]:
        with self._arrived:
            return [m for m in self.sent if m.get("To") == recipient]

    def wait_for(self, recipient: str, count: int, timeout: float = 60) -> list[dict[str, str]]:
        self.wait_until(lambda: len(self.to(recipient)) >= count, timeout)
        return self.to(recipient)

    async def _messages(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form: dict[str, Any] = dict(await request.post())
        if form.get("From") != NUMBER or not (form.get("Body") or form.get("MediaUrl")):
            return web.json_response({"code": 21602, "message": "Body required"}, status=400)
        with self._arrived:
            self.sent.append({k: str(v) for k, v in form.items()})
            self._arrived.notify_all()
        return web.json_response({"sid": f"SM{next(self._ids):032d}", "status": "queued"})
