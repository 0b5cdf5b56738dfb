"""Rasa's Redis lock store, made safe for replicas and kept off the event loop.

Rasa 3.6's ``RedisLockStore`` keeps a conversation's ticket queue in one Redis key and
changes it by reading it, changing the copy and writing it back. Two replicas that take a
ticket for the same conversation at the same moment both read the same queue and the second
write wins: both believe they hold the lock, process their messages side by side, and the
tracker loses one of them (tests/e2e/test_replicas.py caught it).

Here every change of the queue is one Lua script that Redis runs atomically: take a ticket
(dropping the expired ones), look who is served (the same), give a ticket back (deleting
the lock with the last one). The key holds Rasa's own JSON, so Rasa's ``get_lock`` and
``TicketLock`` read it as before. A message costs two round trips to Redis (take a ticket,
give it back) where Rasa's store needed about seven, and :meth:`lock`, the one Rasa's server
uses, makes them with Redis's asyncio client: while Redis answers, the replica goes on with
other conversations instead of waiting on a socket (docs/performance.md). Waiting for a
busy conversation is Rasa's: look again every ``wait_time_in_seconds``.

A conversation id is a citizen's phone number on WhatsApp: it is never in a log line or
an error message here, at any level (Rasa's own lock store puts it in both).

endpoints.prod.yml names it with Rasa's own ``lock_store`` settings::

    lock_store:
      type: stores.lock.AtomicRedisLockStore
      url: ...
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
import redis.asyncio
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from urp.core.db import hide_numbers

logger = logging.getLogger(__name__)

# Shared by the scripts: the queue of KEYS[1] without its expired tickets (Rasa's
# ``Ticket.has_expired``: expired once now > expires), and Rasa's JSON to write it back.
_QUEUE = """
local now = tonumber(ARGV[2])
local tickets = {}
local stored = redis.call('GET', KEYS[1])
if stored then
  for _, text in ipairs(cjson.decode(stored).tickets or {}) do
    local ticket = cjson.decode(text)
    if ticket.expires >= now then table.insert(tickets, ticket) end
  end
end
local function save()
  if #tickets == 0 then
    redis.call('DEL', KEYS[1])
    return nil
  end
  local texts = {}
  for i, ticket in ipairs(tickets) do
    texts[i] = cjson.encode(string.format('{"number": %d, "expires": %.6f}',
                                          ticket.number, ticket.expires))
  end
  local lock = '{"conversation_id": ' .. cjson.encode(ARGV[1]) .. ', "tickets": ['
    .. table.concat(texts, ', ') .. ']}'
  redis.call('SET', KEYS[1], lock)
  return lock
end
"""

# ARGV: conversation id, now, lifetime. Returns the new ticket's number and the queue.
_ISSUE = (
    _QUEUE
    + """
local number = 0
if #tickets > 0 then number = tickets[#tickets].number + 1 end
table.insert(tickets, {number = number, expires = now + tonumber(ARGV[3])})
return {number, save()}
"""
)

# ARGV: conversation id, now. The queue without its expired tickets (nil: no lock).
_REFRESH = (
    _QUEUE
    + """
if not stored then return nil end
return save()
"""
)

# ARGV: conversation id, now, ticket number. Gives the ticket back; the queue left (or nil).
_FINISH = (
    _QUEUE
    + """
local number = tonumber(ARGV[3])
for i, ticket in ipairs(tickets) do
  if ticket.number == number then
    table.remove(tickets, i)
    break
  end
end
if not stored then return nil end
return save()
"""
)


def _lock_error(error: redis.RedisError) -> LockError:
    # Redis's text is about the server (address, script); masked all the same.
    return LockError(
        f"Lock non ottenuto da Redis ({type(error).__name__}: {hide_numbers(str(error))})"
    )


def _lock(stored: bytes | str | None) -> TicketLock | None:
    return TicketLock.from_dict(json.loads(stored)) if stored else None


class _Scripts:
    """The three scripts registered on one Redis client (sync or asyncio)."""

    def __init__(self, client: Any) -> None:
        self.issue = client.register_script(_ISSUE)
        self.refresh = client.register_script(_REFRESH)
        self.finish = client.register_script(_FINISH)


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **settings: Any) -> None:
        """Rasa builds a custom lock store from its endpoint: the settings of ``type: redis``."""
        if endpoint_config is not None:
            settings = {"host": endpoint_config.url, **endpoint_config.kwargs, **settings}
        super().__init__(**settings)
        self._scripts = _Scripts(self.red)
        self._async: tuple[asyncio.AbstractEventLoop, _Scripts] | None = None

    def _async_scripts(self) -> _Scripts:
        """The scripts on an asyncio client of the running loop, connected as ``self.red``."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            pool = self.red.connection_pool
            kwargs = pool.connection_kwargs
            names = ("host", "port", "db", "username", "password", "socket_timeout")
            options = {name: kwargs[name] for name in names if name in kwargs}
            if issubclass(pool.connection_class, redis.SSLConnection):
                options["ssl"] = True
                for name in ("ssl_certfile", "ssl_keyfile", "ssl_ca_certs"):
                    options[name] = kwargs.get(name)
            self._async = (loop, _Scripts(redis.asyncio.Redis(**options)))
        return self._async[1]

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Rasa's ``LockStore.lock``: wait for a ticket's turn, hold it, give it back."""
        scripts = self._async_scripts()
        keys = [self._key(conversation_id)]
        try:
            ticket, stored = await scripts.issue(
                keys=keys, args=[conversation_id, time.time(), lock_lifetime]
            )
        except redis.RedisError as error:
            raise _lock_error(error) from None
        try:
            lock = _lock(stored)
            while lock is not None and lock.is_locked(ticket):
                logger.debug("Conversazione occupata: il biglietto %s aspetta il suo turno", ticket)
                await asyncio.sleep(wait_time_in_seconds)
                lock = _lock(await scripts.refresh(keys=keys, args=[conversation_id, time.time()]))
            if lock is None:  # every ticket expired while this one waited
                raise LockError("Lock non ottenuto: i biglietti della conversazione sono scaduti")
            yield lock
        finally:
            await scripts.finish(keys=keys, args=[conversation_id, time.time(), ticket])

    # Rasa's synchronous interface, on the same scripts.

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            ticket, _ = self._scripts.issue(
                keys=[self._key(conversation_id)],
                args=[conversation_id, time.time(), lock_lifetime],
            )
        except redis.RedisError as error:
            raise _lock_error(error) from None
        return int(ticket)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._scripts.finish(
            keys=[self._key(conversation_id)], args=[conversation_id, time.time(), ticket_number]
        )

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Removing the last ticket deletes the key in the same script: a ticket another
        # replica issued meanwhile is never deleted with it.
        self.finish_serving(conversation_id, ticket_number)

    def update_lock(self, conversation_id: str) -> None:
        self._scripts.refresh(
            keys=[self._key(conversation_id)], args=[conversation_id, time.time()]
        )
