"""Sending on WhatsApp through Meta's Graph API: message shapes and a careful client.

Shapes follow the Cloud API's ``/{phone-number-id}/messages`` endpoint:

- text, cut under 4,096 characters between paragraphs (:func:`urp.core.text.split_message`),
  with WhatsApp's own formatting (``*bold*``) as the bot writes it;
- buttons: at most 3 reply buttons with titles of at most 20 characters; more options,
  or longer titles, become a list (at most 10 rows of 24 characters); beyond that, a
  numbered text. A button's id is its Rasa payload (``/affirm``), which comes back when
  the citizen taps it;
- images and documents by link; read receipts; approved templates for the citizens
  outside the 24-hour window.

The client retries as :func:`urp.whatsapp.sending.post_with_retries` does: 429, 5xx and timeouts,
never other 4xx. A 5xx may come after Meta took the message, so the broadcasts
(``retry_uncertain=False``) never repeat it within a send: they wait for Meta's statuses
(:mod:`urp.broadcasts.delivery`). Replies to a citizen do repeat it: a reply lost leaves the
citizen waiting, a reply duplicated is only a nuisance.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from urp.core.text import split_message
from urp.whatsapp.sending import ATTEMPTS, BACKOFF, SendError, post_with_retries

logger = logging.getLogger(__name__)

GRAPH_URL = "https://graph.facebook.com"
API_VERSION = "v21.0"
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
LIST_ROWS_MAX = 10
ROW_TITLE_MAX = 24
INTERACTIVE_BODY_MAX = 1024
PAYLOAD_ID_MAX = 256
LIST_BUTTON = "Scegli"
TEMPLATE_PARAMETER_MAX = 1000
TIMEOUT = 15.0


# The Graph API's refusals and failures (status, Meta's error code, its message).
GraphApiError = SendError

# -- Meta's error codes --------------------------------------------------------------------
#
# As Meta documents them ("WhatsApp error codes", developers.facebook.com/documentation/
# business-messaging/whatsapp/support/error-codes, updated June 2026): errors come back in
# the Graph API's answer ({"error": {"message", "type", "code", "error_data": {"details"}}}),
# in the webhook's failed statuses (statuses[].errors[]: code, title, message,
# error_data.details), or both, and Meta asks to act on the code, not on the title. Also
# relied on: "Throughput" (80 messages/s per number, up to 1,000: 130429 beyond), the pair
# rate limit (about one message every 6 s to the same user, bursts allowed: 131056, retry
# with a growing backoff), "Messaging limits" (250 to unlimited unique users per rolling
# 24 h outside the service window), the per-user marketing message limit (131049) and the
# marketing opt-out (131050, and the user_preferences webhook).

THROUGHPUT = 130429  # Rate limit hit: the number's messages per second
PAIR_RATE_LIMIT = 131056  # (Business account, Consumer account) pair rate limit hit
OUTSIDE_WINDOW = 131047  # Re-engagement message: more than 24 h since the user wrote
UNDELIVERABLE = 131026  # Message undeliverable: not on WhatsApp, old app, blocked us...
MARKETING_CAP = 131049  # Meta chose not to deliver: per-user marketing message limit
MARKETING_STOPPED = 131050  # The user stopped marketing messages from this business
SPAM_RATE_LIMIT = 131048  # Spam rate limit hit: too many of our messages blocked/reported

# What the broadcasts do about a refusal (urp.broadcasts.worker, urp.broadcasts.delivery).
SLOW_DOWN = "slow_down"  # the whole job, then try the message again
DELAY_RECIPIENT = "delay_recipient"  # that recipient, with a growing backoff
USE_TEMPLATE = "use_template"  # outside the 24-hour window: the approved template
UNREACHABLE = "unreachable"  # a failure; repeated ones make the recipient unreachable
SKIPPED_BY_META = "skipped_by_meta"  # not a failure, not retried within 24 hours
PAUSE_JOB = "pause_job"  # the account's problem: stop and tell the operators
OTHER = "other"  # anything else: a failure, reported with Meta's own words

# The account, not the recipient or the message: every further message would fail the
# same way (or make things worse), so the job pauses until an operator acts.
ACCOUNT_CODES = frozenset(
    {
        0,  # AuthException
        3,  # API method: capability or permissions
        10,  # permission denied
        190,  # access token expired or invalid
        368,  # temporarily blocked for policies violations
        131031,  # business account locked
        131042,  # business eligibility: payment issue
        131045,  # incorrect certificate: phone number not registered
        SPAM_RATE_LIMIT,
        133010,  # phone number not registered
        # The approved template is missing, paused, disabled or does not match our
        # parameters: the settings must change, for every recipient alike.
        132000,
        132001,
        132005,
        132007,
        132012,
        132015,
        132016,
    }
)
_ACTIONS = {
    THROUGHPUT: SLOW_DOWN,
    PAIR_RATE_LIMIT: DELAY_RECIPIENT,
    OUTSIDE_WINDOW: USE_TEMPLATE,
    UNDELIVERABLE: UNREACHABLE,
    MARKETING_CAP: SKIPPED_BY_META,
    MARKETING_STOPPED: SKIPPED_BY_META,
}


def error_action(code: int | None, status: int | None = None) -> str:
    """What a broadcast does about Meta's refusal ``code`` (HTTP ``status`` if known)."""
    if code in _ACTIONS:
        return _ACTIONS[code]
    if code in ACCOUNT_CODES or (code is not None and 200 <= code <= 299) or status == 401:
        return PAUSE_JOB
    if status == 429:
        return SLOW_DOWN
    return OTHER


@dataclass(frozen=True)
class GraphSettings:
    access_token: str
    phone_number_id: str
    app_secret: str
    verify_token: str
    api_url: str = GRAPH_URL
    api_version: str = API_VERSION

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> GraphSettings | None:
        """The Cloud API credentials, or None when WhatsApp is not configured."""
        names = (
            "WHATSAPP_ACCESS_TOKEN",
            "WHATSAPP_PHONE_NUMBER_ID",
            "WHATSAPP_APP_SECRET",
            "WHATSAPP_VERIFY_TOKEN",
        )
        values = [environ.get(name, "").strip() for name in names]
        if not all(values):
            return None
        return cls(
            *values,
            api_url=environ.get("WHATSAPP_API_URL", "").strip() or GRAPH_URL,
            api_version=environ.get("WHATSAPP_API_VERSION", "").strip() or API_VERSION,
        )


# -- message shapes ------------------------------------------------------------------------


def _message(to: str, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": kind, kind: dict(body)}  # fmt: skip


def text_messages(to: str, text: str) -> list[dict[str, Any]]:
    return [
        _message(to, "text", {"body": part, "preview_url": "http" in part})
        for part in split_message(text.strip())
        if part
    ]


def buttons_messages(
    to: str, text: str, buttons: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Text with the bot's buttons: reply buttons, a list, or numbered options."""
    options = [
        (str(b.get("payload") or b.get("title") or "")[:PAYLOAD_ID_MAX], str(b.get("title") or ""))
        for b in buttons
        if b.get("title")
    ]
    parts = split_message(text.strip() or "Scegli un'opzione:", INTERACTIVE_BODY_MAX)
    before = [m for part in parts[:-1] for m in text_messages(to, part)]
    body = {"text": parts[-1]}
    if not options:
        return text_messages(to, text)
    if len(options) <= BUTTONS_MAX and all(len(t) <= BUTTON_TITLE_MAX for _, t in options):
        action = {
            "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in options]
        }
        return [
            *before,
            _message(to, "interactive", {"type": "button", "body": body, "action": action}),
        ]
    if len(options) <= LIST_ROWS_MAX and all(len(t) <= ROW_TITLE_MAX for _, t in options):
        rows = [{"id": i, "title": t} for i, t in options]
        action = {"button": LIST_BUTTON, "sections": [{"title": "Opzioni", "rows": rows}]}
        return [
            *before,
            _message(to, "interactive", {"type": "list", "body": body, "action": action}),
        ]
    numbered = "\n".join(f"{n}. {title}" for n, (_, title) in enumerate(options, start=1))
    return text_messages(to, f"{text.strip()}\n\n{numbered}")


def image_message(to: str, url: str, caption: str | None = None) -> dict[str, Any]:
    return _message(to, "image", {"link": url, **({"caption": caption} if caption else {})})


def document_message(to: str, url: str, filename: str | None = None) -> dict[str, Any]:
    name = filename or url.rsplit("/", 1)[-1] or "documento"
    return _message(to, "document", {"link": url, "filename": name})


def template_message(to: str, name: str, language: str, text: str | None) -> dict[str, Any]:
    """An approved template; ``text`` fills its one body parameter ({{1}})."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if text is not None:
        # Meta refuses new lines, tabs and runs of spaces inside a parameter.
        flat = re.sub(r"\s+", " ", text).strip()
        if len(flat) > TEMPLATE_PARAMETER_MAX:
            flat = flat[: TEMPLATE_PARAMETER_MAX - 1].rstrip() + "…"
        template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": flat}]}]
    return _message(to, "template", template)


def read_receipt(message_id: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}


# -- the client ----------------------------------------------------------------------------


class GraphClient:
    """POSTs messages for one business number, retrying what may succeed later."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        timeout: float = TIMEOUT,
    ) -> None:
        self.settings = settings
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def _messages_url(self) -> str:
        s = self.settings
        return f"{s.api_url.rstrip('/')}/{s.api_version}/{s.phone_number_id}/messages"

    def media_url(self, media_id: str) -> str:
        """Where the Graph API describes a citizen's photo (fetched with the access token)."""
        s = self.settings
        return f"{s.api_url.rstrip('/')}/{s.api_version}/{media_id}"

    async def send(
        self,
        message: Mapping[str, Any],
        *,
        retry_uncertain: bool = True,
        retry_throttled: bool = True,
    ) -> str:
        """Send one message; its ``wamid``. :class:`GraphApiError` if it was not sent.

        ``retry_uncertain=False``: a 5xx or a timeout, after which Meta may have the
        message, is not retried but raised with :attr:`GraphApiError.uncertain`.
        ``retry_throttled=False``: Meta's throughput and pair limits are raised at once.
        """
        answer = await self._post(
            message, retry_uncertain=retry_uncertain, retry_throttled=retry_throttled
        )
        try:
            return str(answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError) as error:
            raise GraphApiError(200, None, "risposta senza id del messaggio") from error

    async def mark_read(self, message_id: str) -> None:
        await self._post(read_receipt(message_id))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(
        self,
        body: Mapping[str, Any],
        *,
        retry_uncertain: bool = True,
        retry_throttled: bool = True,
    ) -> dict[str, Any]:
        return await post_with_retries(
            self._client_session(),
            self._messages_url,
            attempts=self._attempts,
            backoff=self._backoff,
            retry_uncertain=retry_uncertain,
            retry_throttled=retry_throttled,
            json=dict(body),
            headers={"Authorization": f"Bearer {self.settings.access_token}"},
        )

    def _client_session(self) -> aiohttp.ClientSession:
        # One session per client, made inside the running event loop (aiohttp requires it).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session
