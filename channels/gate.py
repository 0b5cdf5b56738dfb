"""Every channel's door to Rasa: the text cleaned (urp.inbound), the sender rate-limited
(urp.ratelimit). A refused message never reaches Rasa; the first of a flood is answered
with ``utter_rate_limited`` from domain.yml, through the channel it came from.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa.core.channels.channel import OutputChannel, UserMessage

from urp.inbound import clean
from urp.ratelimit import NOTICE_RESPONSE, RateLimiter, Verdict
from urp.settings import current_settings

logger = logging.getLogger(__name__)

DOMAIN = Path(__file__).resolve().parents[1] / "domain.yml"
_limiter: RateLimiter | None = None


@lru_cache(maxsize=1)
def notice_text() -> str:
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    return str(domain["responses"][NOTICE_RESPONSE][0]["text"])


def limiter() -> RateLimiter:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter.from_environment(current_settings().rate_limit)
    return _limiter


def use_limiter(value: RateLimiter | None) -> None:
    """Replace the shared limiter (tests; None: built again from the settings)."""
    global _limiter
    _limiter = value


async def admit(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    text: Any,
    output: OutputChannel | None,
    sender: str,
    *,
    input_channel: str,
    metadata: dict[str, Any] | None = None,
) -> bool:
    """Pass the message to Rasa if the sender is within the limit; whether it passed."""
    verdict = await limiter().check_async(sender)
    if verdict is Verdict.NOTICE and output is not None:
        await output.send_text_message(sender, notice_text())
    if verdict is not Verdict.PASS:
        return False
    inbound = clean(text)
    await on_new_message(
        UserMessage(
            inbound.text,
            output,
            sender,
            input_channel=input_channel,
            metadata=inbound.metadata(metadata),
        )
    )
    return True
