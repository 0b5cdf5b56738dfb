"""Per-citizen rate limit: a token bucket per hashed sender, shared by every channel.

Each sender has ``burst`` tokens, refilled at ``per_minute`` a minute; a message takes one.
A message without a token is not passed to Rasa: the first one of a flood gets ONE polite
notice per window (``utter_rate_limited`` in domain.yml; the window is the time an
empty bucket takes to fill), the others are dropped and counted (:attr:`RateLimiter.dropped`,
logged at INFO with the hashed sender only): the citizen is told, and writes again later. Other senders have their own buckets: they never wait.

In memory by default; with ``URP_REDIS_URL`` the buckets live in Redis (one Lua script,
atomic), so replicas behind a balancer share them; the channels ask it with Redis's
asyncio client (:meth:`RateLimiter.check_async`), so a replica never waits on the socket.
Redis unreachable: the limit fails open (the message goes on) rather than leaving a
citizen unanswered.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

logger = logging.getLogger(__name__)

REDIS_URL_ENV = "URP_REDIS_URL"
NOTICE_RESPONSE = "utter_rate_limited"
# Buckets untouched for this long are full again: forgotten.
_IDLE_FACTOR = 2


class Verdict(Enum):
    PASS = "pass"  # give it to Rasa
    NOTICE = "notice"  # first refused message in a window: answer with the notice
    DROP = "drop"  # refused, the notice already sent in this window


@dataclass(frozen=True)
class RateLimit:
    burst: int = 30  # messages in a row before the limit
    per_minute: float = 30.0  # then this many a minute

    @property
    def window(self) -> float:
        """Seconds for an empty bucket to be full again."""
        return self.burst * 60.0 / self.per_minute


def sender_key(sender: str) -> str:
    """The sender as logs and Redis see it: never the phone number itself."""
    return hashlib.sha256(sender.encode("utf-8", "surrogatepass")).hexdigest()[:24]


_VERDICTS = (Verdict.PASS, Verdict.NOTICE, Verdict.DROP)  # the Lua script's answers


class _MemoryBuckets:
    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (tokens, last update, time of the last notice)
        self._buckets: dict[str, tuple[float, float, float | None]] = {}

    def take(self, key: str) -> Verdict:
        now = self._clock()
        rate = self._limit.per_minute / 60.0
        with self._lock:
            tokens, last, noticed = self._buckets.get(key, (float(self._limit.burst), now, None))
            tokens = min(float(self._limit.burst), tokens + (now - last) * rate)
            if tokens >= 1:
                tokens, verdict = tokens - 1, Verdict.PASS
            elif noticed is not None and now - noticed < self._limit.window:
                verdict = Verdict.DROP
            else:
                noticed, verdict = now, Verdict.NOTICE
            self._buckets[key] = (tokens, now, noticed)
            if len(self._buckets) > 10_000:
                self._forget(now)
            return verdict

    async def take_async(self, key: str) -> Verdict:
        return self.take(key)  # in memory: nothing to wait for

    def _forget(self, now: float) -> None:
        idle = self._limit.window * _IDLE_FACTOR
        for key in [k for k, (_, last, _) in self._buckets.items() if now - last > idle]:
            del self._buckets[key]


# KEYS[1] bucket; ARGV: burst, rate per second, now, ttl, window.
# Returns 0 pass, 1 notice, 2 drop.
_LUA = """
local b = redis.call('HMGET', KEYS[1], 't', 'l', 'n')
local burst, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(b[1]) or burst
local last = tonumber(b[2]) or now
local noticed = tonumber(b[3])
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local verdict = 0
if tokens >= 1 then
  tokens = tokens - 1
elseif noticed and now - noticed < tonumber(ARGV[5]) then
  verdict = 2
else
  verdict = 1
  noticed = now
end
redis.call('HSET', KEYS[1], 't', tokens, 'l', now, 'n', noticed or '')
redis.call('EXPIRE', KEYS[1], ARGV[4])
return verdict
"""


class _RedisBuckets:
    def __init__(self, url: str, limit: RateLimit, clock: Callable[[], float]) -> None:
        import redis  # only when configured

        self._url = url
        self._limit = limit
        self._clock = clock
        self._client = redis.Redis.from_url(url, socket_timeout=1.0)
        self._script = self._client.register_script(_LUA)
        self._async: tuple[asyncio.AbstractEventLoop, Any] | None = None

    def _call(self, key: str) -> dict[str, Any]:
        ttl = max(1, int(self._limit.window * _IDLE_FACTOR))
        return {
            "keys": [f"urp:ratelimit:{key}"],
            "args": [
                self._limit.burst,
                self._limit.per_minute / 60.0,
                self._clock(),
                ttl,
                self._limit.window,
            ],
        }

    def take(self, key: str) -> Verdict:
        return _VERDICTS[int(self._script(**self._call(key)))]

    async def take_async(self, key: str) -> Verdict:
        """The same script through Redis's asyncio client: the event loop never waits."""
        import redis.asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            client = redis.asyncio.Redis.from_url(self._url, socket_timeout=1.0)
            self._async = (loop, client.register_script(_LUA))
        return _VERDICTS[int(await self._async[1](**self._call(key)))]


class RateLimiter:
    def __init__(
        self,
        limit: RateLimit,
        *,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.dropped = 0  # refused messages, notices included
        self._buckets: _MemoryBuckets | _RedisBuckets = (
            _RedisBuckets(redis_url, limit, clock) if redis_url else _MemoryBuckets(limit, clock)
        )

    @classmethod
    def from_environment(cls, limit: RateLimit) -> RateLimiter:
        return cls(limit, redis_url=os.environ.get(REDIS_URL_ENV) or None)

    def check(self, sender: str) -> Verdict:
        key = sender_key(sender)
        try:
            verdict = self._buckets.take(key)
        except Exception:  # Redis down: better answered than silent
            return self._unavailable()
        return self._counted(key, verdict)

    async def check_async(self, sender: str) -> Verdict:
        """:meth:`check` for a server's event loop: Redis is asked without blocking it."""
        key = sender_key(sender)
        try:
            verdict = await self._buckets.take_async(key)
        except Exception:
            return self._unavailable()
        return self._counted(key, verdict)

    @staticmethod
    def _unavailable() -> Verdict:
        logger.warning("Limite dei messaggi non disponibile: messaggio accettato")
        return Verdict.PASS

    def _counted(self, key: str, verdict: Verdict) -> Verdict:
        if verdict is not Verdict.PASS:
            self.dropped += 1
            logger.info("Messaggio oltre il limite da %s: %s", key, verdict.value)
        return verdict
