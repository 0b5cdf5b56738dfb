"""Rate limits: a token bucket per hashed sender, shared by every channel, and one per
client address for the channels whose caller chooses the sender (REST, callback, web chat).

Each sender has ``burst`` tokens, refilled at ``per_minute`` a minute; a message takes one.
A message without a token is not passed to Rasa: the first one of a flood gets ONE polite
notice per window (``utter_rate_limited`` in domain.yml; the window is the time an
empty bucket takes to fill), the others are dropped and counted (:attr:`RateLimiter.dropped`,
logged at INFO with the hashed sender only): the citizen is told, and writes again later.
Other senders have their own buckets: they never wait.

Whoever chooses the sender could escape that limit with a new id for each message: so a
message from such a channel also takes a token from its client address's bucket
(:attr:`RateLimit.per_address`, :data:`ADDRESS_FACTOR` times the citizen's limit, so an
office or a school behind one address is not stopped). An IPv6 address counts by its /64
network (one subscriber's line); the machine itself (loopback: `make run`'s own tests,
benchmarks) has no address limit. The address is the TCP peer's, or, when the peer is a
trusted proxy (``URP_TRUSTED_PROXIES``, addresses or networks separated by commas; default
the loopback, where the nginx of `make run-prod` runs; ``none`` for no proxy), the
nearest address in ``X-Forwarded-For`` that is not a trusted proxy (:func:`client_address`).

In memory by default; with ``URP_REDIS_URL`` the buckets live in Redis (one Lua script,
atomic), so replicas behind a balancer share them; the channels ask it with Redis's
asyncio client (:meth:`RateLimiter.check_async`), so a replica never waits on the socket.
Redis unreachable: the limit fails open (the message goes on) rather than leaving a
citizen unanswered.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from urp.core.hashing import UserHasher
from urp.core.settings import RateLimit

logger = logging.getLogger(__name__)

REDIS_URL_ENV = "URP_REDIS_URL"
TRUSTED_PROXIES_ENV = "URP_TRUSTED_PROXIES"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"
# An IPv6 subscriber usually has a whole /64: its addresses count as one.
IPV6_PREFIX = 64
NOTICE_RESPONSE = "utter_rate_limited"
# Buckets untouched for this long are full again: forgotten.
_IDLE_FACTOR = 2


class Verdict(Enum):
    PASS = "pass"  # give it to Rasa
    NOTICE = "notice"  # first refused message in a window: answer with the notice
    DROP = "drop"  # refused, the notice already sent in this window


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies(environ: Mapping[str, str] = os.environ) -> tuple[Network, ...]:
    """The proxies whose ``X-Forwarded-For`` is believed; ValueError for a bad entry."""
    value = environ.get(TRUSTED_PROXIES_ENV)
    value = DEFAULT_TRUSTED_PROXIES if value is None else value
    if value.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as error:
        raise ValueError(
            f"{TRUSTED_PROXIES_ENV}: indirizzi o reti separati da virgole ({error})"
        ) from error


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(
    peer: str | None,
    forwarded_for: Iterable[str] = (),
    trusted: Sequence[Network] = (),
) -> str | None:
    """The key a client's address counts under; None: no address limit (this machine).

    ``forwarded_for`` are the ``X-Forwarded-For`` headers as received: each proxy appends
    the address it saw, so only the addresses after the last untrusted hop are reliable.
    """
    address = _ip(peer or "")
    if address is None:
        return None
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    while hops and any(address in network for network in trusted):
        forwarded = _ip(hops.pop())
        if forwarded is None:
            break  # an address a trusted proxy would not write: the proxy is the client
        address = forwarded
    if address.is_loopback:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


@functools.lru_cache(maxsize=1)
def _hasher() -> Callable[[str, str], str]:
    return UserHasher.from_environment()


def sender_key(sender: str) -> str:
    """The sender as logs and Redis see it: never the phone number, nor a plain hash of it
    (anyone could compute that one from the number): an HMAC with the deployment's salt,
    the same in every replica."""
    return _hasher()("ratelimit", sender)[:24]


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
    def __init__(self, url: str, limit: RateLimit, clock: Callable[[], float], prefix: str) -> None:
        import redis  # only when configured

        self._url = url
        self._limit = limit
        self._clock = clock
        self._prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=1.0)
        self._script = self._client.register_script(_LUA)
        self._async: tuple[asyncio.AbstractEventLoop, Any] | None = None

    def _call(self, key: str) -> dict[str, Any]:
        ttl = max(1, int(self._limit.window * _IDLE_FACTOR))
        return {
            "keys": [f"{self._prefix}{key}"],
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


_Buckets = _MemoryBuckets | _RedisBuckets


def _buckets(
    limit: RateLimit, redis_url: str | None, clock: Callable[[], float], prefix: str
) -> _Buckets:
    if redis_url:
        return _RedisBuckets(redis_url, limit, clock, prefix)
    return _MemoryBuckets(limit, clock)


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
        self._buckets = _buckets(limit, redis_url, clock, "urp:ratelimit:")
        self._address_buckets = _buckets(
            limit.per_address, redis_url, clock, "urp:ratelimit:address:"
        )

    @classmethod
    def from_environment(cls, limit: RateLimit) -> RateLimiter:
        return cls(limit, redis_url=os.environ.get(REDIS_URL_ENV) or None)

    def check(self, sender: str, *, address: str | None = None) -> Verdict:
        """The sender's verdict; with ``address`` (:func:`client_address`) its too."""
        keys = self._keys(sender, address)
        verdict = Verdict.PASS
        try:
            for buckets, key in keys:
                verdict = buckets.take(key)
                if verdict is not Verdict.PASS:
                    break
        except Exception:  # Redis down: better answered than silent
            return self._unavailable()
        return self._counted(key, verdict)

    async def check_async(self, sender: str, *, address: str | None = None) -> Verdict:
        """:meth:`check` for a server's event loop: Redis is asked without blocking it."""
        keys = self._keys(sender, address)
        verdict = Verdict.PASS
        try:
            for buckets, key in keys:
                verdict = await buckets.take_async(key)
                if verdict is not Verdict.PASS:
                    break
        except Exception:
            return self._unavailable()
        return self._counted(key, verdict)

    def _keys(self, sender: str, address: str | None) -> list[tuple[_Buckets, str]]:
        # The sender first: a citizen over their own limit takes nothing from the others
        # behind the same address.
        keys = [(self._buckets, sender_key(sender))]
        if address is not None:
            keys.append((self._address_buckets, sender_key(address)))
        return keys

    @staticmethod
    def _unavailable() -> Verdict:
        logger.warning("Limite dei messaggi non disponibile: messaggio accettato")
        return Verdict.PASS

    def _counted(self, key: str, verdict: Verdict) -> Verdict:
        if verdict is not Verdict.PASS:
            self.dropped += 1
            logger.info("Messaggio oltre il limite da %s: %s", key, verdict.value)
        return verdict
