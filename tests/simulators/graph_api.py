"""A local stand-in for Meta's Graph API (WhatsApp Cloud API), for the tests.

It runs an HTTP server in a thread, records every request, checks messages the way the
Cloud API does (token, shapes, limits) and answers like Meta; it can be told to fail the
next requests (all, or one recipient's) with 429, 5xx, no answer at all, or an error after
taking the message, report statuses the way Meta's webhook does (with the
``biz_opaque_callback_data`` sent), and run a hook on each accepted message (a test kills
a worker there, after Meta took the message and before it answered). Also: the shapes of
Meta's webhook deliveries, and a signed POST to send them to our connector.

Nothing here depends on time: a request left unanswered is held until the client gives
up (whatever its timeout), and a dropped connection is dropped at once.

Strict like Meta's platform when told (:meth:`GraphApiSimulator.enforce`; off by default,
so that the tests of other things are not about pace): the messaging limit (distinct
recipients of templates outside the 24-hour window per rolling 24 hours, 250 by default),
the pair rate limit (about one message every 6 seconds to the same user, with a burst),
the throughput (80 messages per second). It prices what it accepts as Meta does since July
2025: a marketing template always, a utility template only outside the service window,
free-form messages never. Any of Meta's error codes comes back on demand
(``fail_next(131049)``, in Meta's JSON shape), or as a failed status in the webhook
(``fail_next("async:131026")``). Meta's pages it follows: "WhatsApp error codes",
"Throughput", "Messaging limits", "Pricing" (developers.facebook.com, 2025-2026). When the
messaging limit is used up, Meta's documentation does not give one code for the refusal:
the simulator answers 131048 with the details "messaging limit reached".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.simulators.server import ThreadedServer
from urp.whatsapp.webhook import SIGNATURE_HEADER, sign

TOKEN = "token-del-simulatore"
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "segreto-app-del-simulatore"
VERIFY_TOKEN = "token-di-verifica-del-simulatore"
VERSION = "v21.0"
TYPES = ("text", "image", "document", "interactive", "template", "audio", "video", "location")


def _error(status: int, code: int, message: str, details: str | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if details is not None:
        body["error_data"] = {"messaging_product": "whatsapp", "details": details}
        body["fbtrace_id"] = "A-SIMULATOR"
    return web.json_response({"error": body}, status=status)


# Meta's codes the broadcasts act on: HTTP status, title, details (Meta's error codes page).
META_ERRORS: dict[int, tuple[int, str, str]] = {
    130429: (429, "Rate limit hit", "Cloud API message throughput has been reached."),
    131056: (
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
    ),
    131047: (
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    131026: (400, "Message Undeliverable", "Unable to deliver message."),
    131049: (
        400,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131050: (
        400,
        "Unable to deliver message",
        "This recipient has chosen to stop receiving marketing messages on WhatsApp from "
        "your business.",
    ),
    131048: (
        400,
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be "
        "sent from this phone number.",
    ),
    131031: (400, "Business Account locked", "The WhatsApp Business Account has been locked."),
    368: (
        400,
        "Temporarily blocked for policies violations",
        "The WhatsApp Business Account has been restricted for violating a platform policy.",
    ),
    190: (401, "Invalid OAuth access token", "The access token has expired."),
    131999: (400, "Something new Meta says", "A refusal this code does not know."),
}


def meta_error(code: int, details: str | None = None) -> web.Response:
    """Meta's refusal ``code`` as the Graph API answers it (the title inside the message)."""
    status, title, known = META_ERRORS[code]
    return _error(status, code, f"(#{code}) {title}", details or known)


# US dollars per message: Meta's rate card for Italy, 2025 (Meta bills in USD; the
# settings hold the office's estimate in EUR).
PRICES = {"marketing": 0.0691, "utility": 0.0300}
DAY = 86400.0


HOLD_POLL = 0.01  # seconds between looks at a held request's connection


class GraphApiSimulator(ThreadedServer):
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._failures: deque[int | str] = deque()
        self._failures_to: dict[str, deque[int | str]] = {}
        self._ids = itertools.count(1)
        # Called with a webhook delivery of the "sent" status of each accepted message,
        # before the answer: Meta's statuses may well arrive before its answer is read.
        self.status_sink: Callable[[dict[str, Any]], None] | None = None
        self.on_accepted: Callable[[dict[str, Any]], None] | None = None
        # Meta's rules (enforce()): None is "not enforced".
        self.messaging_limit: int | None = None
        self.throughput: float | None = None
        self.pair_interval: float | None = None
        self.pair_burst = 45
        self.categories: dict[str, str] = {}  # template name -> marketing, utility
        self.offset = 0.0  # seconds added to the simulator's clock (advance())
        self.charges: list[tuple[str, str, float]] = []  # (to, category, price)
        self.refused: list[tuple[str, int]] = []  # (to, code) of the rules' refusals
        self._windows: dict[str, float] = {}  # user -> when they last wrote
        self._initiated: dict[str, float] = {}  # user -> first template in the 24 hours
        self._recent: deque[float] = deque()  # accepted in the last second
        self._pairs: dict[str, tuple[float, float]] = {}  # user -> (tokens, when)
        super().__init__()

    def enforce(
        self,
        *,
        messaging_limit: int | None = 250,
        throughput: float | None = 80.0,
        pair_interval: float | None = 6.0,
        pair_burst: int = 45,
        categories: dict[str, str] | None = None,
    ) -> None:
        """Refuse like Meta beyond these limits (None: that one is not enforced)."""
        with self._lock:
            self.messaging_limit = messaging_limit
            self.throughput = throughput
            self.pair_interval = pair_interval
            self.pair_burst = pair_burst
            self.categories = dict(categories or {})
            self._recent.clear()
            self._pairs.clear()

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock (the 24 hours of the messaging limit) forward."""
        with self._lock:
            self.offset += seconds

    def user_wrote(self, user: str) -> None:
        """``user`` wrote to the business now: their service window is open for 24 hours."""
        with self._lock:
            self._windows[user] = self.now()

    def in_window(self, user: str) -> bool:
        return self.now() - self._windows.get(user, -DAY) < DAY

    def paid(self, to: str | None = None) -> int:
        """How many paid messages were accepted (to ``to``)."""
        with self._lock:
            return sum(1 for user, _, _ in self.charges if to is None or user == to)

    def cost(self) -> float:
        with self._lock:
            return round(sum(price for _, _, price in self.charges), 4)

    def initiated(self) -> set[str]:
        """The distinct users templates started a conversation with in the last 24 hours."""
        with self._lock:
            return {u for u, at in self._initiated.items() if self.now() - at < DAY}

    def _rules(self, body: dict[str, Any]) -> int | None:
        """Meta's refusal of an otherwise valid message by its limits, or None (then the
        message counts against them). Called with the lock held."""
        now, to = self.now(), str(body.get("to"))
        while self._recent and now - self._recent[0] >= 1:
            self._recent.popleft()
        if self.throughput is not None and len(self._recent) >= self.throughput:
            return 130429
        if self.pair_interval is not None:
            tokens, when = self._pairs.get(to, (float(self.pair_burst), now))
            tokens = min(float(self.pair_burst), tokens + (now - when) / self.pair_interval)
            if tokens < 1:
                self._pairs[to] = (tokens, now)
                return 131056
            self._pairs[to] = (tokens - 1, now)
        template = body.get("type") == "template"
        outside = template and not self.in_window(to)
        if outside and self.messaging_limit is not None:
            live = {u for u, at in self._initiated.items() if now - at < DAY}
            if to not in live and len(live) >= self.messaging_limit:
                return 131048
        self._recent.append(now)
        if outside and now - self._initiated.get(to, -DAY) >= DAY:
            self._initiated[to] = now
        if template:
            name = str(body.get("template", {}).get("name", ""))
            category = self.categories.get(name, "marketing")
            if category == "marketing" or outside:
                self.charges.append((to, category, PRICES.get(category, 0.0)))
        return None

    def routes(self, app: web.Application) -> None:
        app.router.add_post(f"/{VERSION}/{PHONE_NUMBER_ID}/messages", self._messages)
        app.router.add_get(f"/{VERSION}/{{media_id}}", self._media)

    def environment(self) -> dict[str, str]:
        """The connector's environment pointed at this simulator."""
        return self.environment_for(self.url)

    @staticmethod
    def environment_for(url: str) -> dict[str, str]:
        """The same for a simulator at ``url`` (from another process)."""
        return {
            "WHATSAPP_ACCESS_TOKEN": TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_API_URL": url,
            "WHATSAPP_API_VERSION": VERSION,
        }

    def fail_next(self, *failures: int | str, to: str | None = None) -> None:
        """The next requests (``to``: the next ones to that recipient) fail in turn.

        A status (429, 500...): refused, the message not taken. ``"timeout"``: not taken,
        and no answer until the client gives up waiting; ``"drop"``: not taken, the
        connection closed without an answer. Meta took the message, and yet: ``"late"``:
        no answer until the client gives up; ``"taken-drop"``: the connection closed
        without an answer; ``"taken-500"``: a 500 (Meta's statuses report it as sent).
        """
        with self._lock:
            if to is None:
                self._failures.extend(failures)
            else:
                self._failures_to.setdefault(to, deque()).extend(failures)

    def sent(self, to: str | None = None) -> list[dict[str, Any]]:
        """Messages accepted (not read receipts), optionally to one recipient."""
        with self._lock:
            return [
                r["json"]
                for r in self.requests
                if r["accepted"] and "to" in r["json"] and (to is None or r["json"]["to"] == to)
            ]

    def wamids(self, to: str) -> list[str]:
        """The ids the simulator gave the messages sent to ``to``."""
        with self._lock:
            return [
                r["wamid"] for r in self.requests if r["accepted"] and r["json"].get("to") == to
            ]

    def read_receipts(self) -> list[str]:
        with self._lock:
            return [
                r["json"]["message_id"]
                for r in self.requests
                if r["accepted"] and r["json"].get("status") == "read"
            ]

    def wait_for(self, to: str, count: int, timeout: float = 600) -> list[dict[str, Any]]:
        """The messages sent to ``to``, once there are at least ``count`` (``timeout`` only
        stops a broken test from hanging: a loaded machine may take minutes)."""
        self.wait_until(lambda: len(self.sent(to)) >= count, timeout)
        return self.sent(to)

    async def _messages(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        record = {"json": body if isinstance(body, dict) else {}, "accepted": False}
        with self._arrived:
            self.requests.append(record)
            failure = self._next_failure(record["json"].get("to"))
        response = await self._answer(request, record["json"], failure)
        if response.status == 200:
            with self._arrived:
                record["accepted"] = True
                record["wamid"] = json.loads(response.text).get("messages", [{}])[0].get("id")
                record["at"] = time.monotonic()  # for measuring a sender's pace
                self._arrived.notify_all()
            await self._after_accepting(record, failure)
            # Taken, statuses reported, and yet the sender hears no success.
            if failure == "taken-500":
                return _error(500, 131000, "Something went wrong")
            if failure in ("late", "taken-drop"):
                await _until_the_client_gives_up(request, drop=failure == "taken-drop")
        return response

    def _next_failure(self, to: Any) -> int | str | None:
        queue = self._failures_to.get(to) if isinstance(to, str) else None
        if queue:
            return queue.popleft()
        return self._failures.popleft() if self._failures else None

    async def _after_accepting(self, record: dict[str, Any], failure: Any = None) -> None:
        body = record["json"]
        if "to" not in body:
            return  # a read receipt
        loop = asyncio.get_running_loop()
        if self.status_sink is not None:
            error: dict[str, Any] = {}
            if isinstance(failure, str) and failure.startswith("async:"):
                # Taken, then failed: Meta's webhook says so, with the error's shape there.
                code = int(failure.removeprefix("async:"))
                _, title, details = META_ERRORS[code]
                error = {"code": code, "title": title, "message": title,
                         "error_data": {"details": details}}  # fmt: skip
            status = status_delivery(
                record["wamid"],
                body["to"],
                "failed" if error else "sent",
                callback_data=body.get("biz_opaque_callback_data"),
                **error,
            )
            await loop.run_in_executor(None, self.status_sink, status)
        if self.on_accepted is not None:
            await loop.run_in_executor(None, self.on_accepted, record)

    async def _answer(
        self, request: web.Request, body: dict[str, Any], failure: int | str | None
    ) -> web.Response:
        if failure == "drop":
            await _until_the_client_gives_up(request, drop=True)
            return _error(500, 131000, "nessuna risposta")  # never read: the client left
        if failure == "timeout":
            await _until_the_client_gives_up(request, drop=False)
            return _error(500, 131000, "nessuna risposta")
        if isinstance(failure, int) and failure in META_ERRORS:
            return meta_error(failure)
        if failure == 429:
            return web.json_response(
                {"error": {"message": "(#130429) Rate limit hit", "code": 130429}},
                status=429,
                headers={"Retry-After": "0"},
            )
        if isinstance(failure, int):
            return _error(failure, 131000, "Something went wrong")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, 190, "Invalid OAuth access token")
        if body.get("messaging_product") != "whatsapp":
            return _error(400, 100, "messaging_product must be whatsapp")
        if body.get("status") == "read":
            return web.json_response({"success": True})
        problem = _check(body)
        if problem:
            return _error(400, 100, problem)
        with self._lock:
            refusal = self._rules(body)
            if refusal is not None:
                self.refused.append((str(body.get("to")), refusal))
        if refusal is not None:
            details = "messaging limit reached" if refusal == 131048 else None
            return meta_error(refusal, details)
        wamid = f"wamid.SIM{next(self._ids):06d}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid}],
            }
        )

    async def _media(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        return web.json_response(
            {"id": media_id, "mime_type": "image/jpeg", "url": f"{self.url}/media/{media_id}"}
        )


async def _until_the_client_gives_up(request: web.Request, *, drop: bool) -> None:
    """No answer: the connection is closed now (``drop``), or held until the client closes
    it, whatever its timeout: a request unanswered on a slow machine stays unanswered."""
    transport = request.transport
    if drop and transport is not None:
        transport.close()
    while transport is not None and not transport.is_closing():
        await asyncio.sleep(HOLD_POLL)


def _check(body: dict[str, Any]) -> str | None:
    """What the Cloud API would refuse in a message, as its error would say."""
    kind = body.get("type")
    if not body.get("to") or kind not in TYPES or not isinstance(body.get(kind), dict):
        return "Invalid parameter: to, type and its object are required"
    content = body[kind]
    if len(str(body.get("biz_opaque_callback_data", ""))) > 512:
        return "biz_opaque_callback_data must be at most 512 characters"
    if kind == "text" and not 0 < len(content.get("body", "")) <= 4096:
        return "text.body must be 1-4096 characters"
    if kind == "interactive":
        action = content.get("action", {})
        if len(content.get("body", {}).get("text", "")) > 1024:
            return "interactive body must be at most 1024 characters"
        if content.get("type") == "button":
            buttons = action.get("buttons", [])
            if not 1 <= len(buttons) <= 3 or any(len(b["reply"]["title"]) > 20 for b in buttons):
                return "buttons: 1-3, titles at most 20 characters"
        elif content.get("type") == "list":
            rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
            if not 1 <= len(rows) <= 10 or any(len(r["title"]) > 24 for r in rows):
                return "list: 1-10 rows, titles at most 24 characters"
        else:
            return "interactive.type must be button or list"
    if kind in ("image", "document") and not str(content.get("link", "")).startswith("http"):
        return f"{kind}.link must be a URL"
    return None


# -- what Meta sends to the webhook --------------------------------------------------------

_message_ids = itertools.count(1)


def message_id() -> str:
    return f"wamid.IN{next(_message_ids):08d}"


def delivery(sender: str, message: dict[str, Any]) -> dict[str, Any]:
    """A webhook delivery with one inbound message, in Meta's documented shape."""
    message = {"from": sender, "id": message_id(), "timestamp": str(int(time.time())), **message}
    return _envelope({"contacts": [{"profile": {"name": "Cittadino"}, "wa_id": sender}],
                      "messages": [message]})  # fmt: skip


def status_delivery(
    wamid: str, recipient: str, status: str, *, callback_data: str | None = None, **error: Any
) -> dict[str, Any]:
    update: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if callback_data is not None:
        update["biz_opaque_callback_data"] = callback_data
    if error:
        update["errors"] = [error]
    return _envelope({"statuses": [update]})


def _envelope(value: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "390710000000", "phone_number_id": PHONE_NUMBER_ID},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-SIM", "changes": [{"value": value, "field": "messages"}]}],
    }


def post_delivery(
    url: str, payload: Any, *, secret: str | None = APP_SECRET, raw: bytes | None = None
) -> int:
    """POST a delivery as Meta does (signed with ``secret``; None: unsigned); the status."""
    body = raw if raw is not None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if secret is not None:
        request.add_header(SIGNATURE_HEADER, sign(body, secret))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
