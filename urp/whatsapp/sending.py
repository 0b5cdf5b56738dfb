"""POSTing a message to a provider's API (Meta's Graph API, Twilio), retrying wisely.

Retried with exponential backoff: 429, 5xx, timeouts (honouring ``Retry-After``), and
Meta's throughput and pair rate limits (codes 130429 and 131056, whatever the HTTP status:
Meta's error codes page documents them as "try again later"). The broadcasts pass
``retry_throttled=False``: they slow the whole job down, or delay that recipient, instead
(:mod:`urp.broadcasts.worker`).
Never retried: any other 4xx, since a wrong number or an expired token does not get
better by asking again.

A 5xx or a request left without an answer is *uncertain*: the provider may have taken the
message before failing (Meta's Cloud API has no idempotency key for ``/messages``; its
documentation says errors come back in the answer, in the webhook, or both). Callers
that must never send twice pass ``retry_uncertain=False`` and learn the truth from the
provider's statuses (the broadcasts, :mod:`urp.broadcasts.delivery`). Replies in a
conversation keep retrying: a citizen who gets an answer twice is better off than one who
gets none.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

ATTEMPTS = 5
THROTTLED_CODES = (130429, 131056)  # Meta: throughput reached; too many to one recipient
BACKOFF = 0.5  # seconds, doubled at every attempt
RETRY_AFTER_MAX = 30.0


class SendError(RuntimeError):
    """The provider refused the message, or kept failing: it was not sent."""

    def __init__(
        self,
        status: int | None,
        code: int | None,
        title: str,
        *,
        uncertain: bool = False,
        details: str = "",
    ) -> None:
        super().__init__(f"{status or 'nessuna risposta'} {code or ''} {title}".strip())
        self.status = status
        self.code = code
        self.title = title  # Meta's "message" (its title is part of it)
        self.details = details  # Meta's error_data.details: what to do about it
        # The request reached the provider, or may have (a 5xx, a timeout, a dropped
        # connection): the message may have gone out even though no success came back.
        self.uncertain = uncertain or (status is not None and status >= 500)

    @property
    def throttled(self) -> bool:
        """Refused for the pace, not the message: a 429, or Meta's 130429 and 131056."""
        return self.status == 429 or self.code in THROTTLED_CODES

    @property
    def retryable(self) -> bool:
        return self.status is None or self.throttled or self.status >= 500

    @property
    def meta_text(self) -> str:
        """Meta's own words, with its details when they add something (for reports)."""
        if self.details and self.details not in self.title:
            return f"{self.title} ({self.details})" if self.title else self.details
        return self.title or str(self)


async def post_with_retries(
    session: aiohttp.ClientSession,
    url: str,
    *,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
    retry_uncertain: bool = True,
    retry_throttled: bool = True,
    **request: Any,
) -> dict[str, Any]:
    """POST ``request`` (json=, data=, headers=, auth=) to ``url``; the JSON answer.

    ``retry_uncertain=False``: a request the provider may have acted on (a 5xx, no
    answer) is not repeated but raised (:attr:`SendError.uncertain`), for callers that
    must never send twice. A 429 is still retried: the provider refused it, unless
    ``retry_throttled=False`` (the caller slows down itself).
    """
    failure = SendError(None, None, "nessun tentativo")
    for attempt in range(attempts):
        wait = backoff * 2**attempt
        try:
            async with session.post(url, **request) as answer:
                data = _json(await answer.text())
                if answer.status < 300:
                    return data
                code, message, details = _error(data)
                failure = SendError(answer.status, code, message, details=details)
                if (
                    not failure.retryable
                    or (failure.uncertain and not retry_uncertain)
                    or (failure.throttled and not retry_throttled)
                ):
                    raise failure
                wait = max(wait, _retry_after(answer.headers.get("Retry-After")))
        except aiohttp.ClientConnectorError as error:
            failure = SendError(None, None, type(error).__name__)  # never left this host
        except (TimeoutError, aiohttp.ClientError) as error:
            failure = SendError(None, None, type(error).__name__, uncertain=True)
            if not retry_uncertain:
                raise failure from error
        if attempt + 1 < attempts:
            logger.warning("Invio non riuscito (%s), nuovo tentativo tra %.1f s", failure, wait)
            await asyncio.sleep(wait)
    raise failure


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error(data: dict[str, Any]) -> tuple[int | None, str, str]:
    """Meta's ``{"error": {"code", "message", "error_data": {"details"}}}`` or Twilio's
    ``{"code", "message"}``: the code, the message and the details."""
    error = data.get("error") if isinstance(data.get("error"), dict) else data
    code = error.get("code")
    extra = error.get("error_data")
    details = extra.get("details") if isinstance(extra, dict) else None
    return (
        (code if isinstance(code, int) else None),
        str(error.get("message") or ""),
        str(details or ""),
    )


def _retry_after(value: str | None) -> float:
    try:
        return min(float(value or 0), RETRY_AFTER_MAX)
    except ValueError:
        return 0.0
