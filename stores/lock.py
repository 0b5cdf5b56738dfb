"""Rasa's Redis lock store, made safe for replicas.

Rasa 3.6's ``RedisLockStore`` keeps a conversation's ticket queue in one Redis key and
changes it by reading it, changing the copy and writing it back. Two replicas that take a
ticket for the same conversation at the same moment both read the same queue and the second
write wins: both believe they hold the lock, process their messages side by side, and the
tracker loses one of them (tests/e2e/test_replicas.py caught it). Here every change of the
queue (issue a ticket, finish one, drop expired ones, delete the empty lock) is a Redis
transaction: WATCH the key, change it, and start again if another replica wrote it in
between. Waiting and the rest are Rasa's.

endpoints.prod.yml names it with Rasa's own ``lock_store`` settings::

    lock_store:
      type: stores.lock.AtomicRedisLockStore
      url: ...
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

Result = TypeVar("Result")


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, **settings: Any) -> None:
        """Rasa builds a custom lock store from its endpoint: the settings of ``type: redis``."""
        if endpoint_config is not None:
            settings = {"host": endpoint_config.url, **endpoint_config.kwargs, **settings}
        super().__init__(**settings)

    def _change(self, conversation_id: str, change: Callable[[TicketLock], Result]) -> Result:
        """Apply ``change`` to the conversation's lock as one transaction; its result."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    lock = (
                        TicketLock.from_dict(json.loads(stored))
                        if stored
                        else TicketLock(conversation_id)
                    )
                    result = change(lock)
                    pipe.multi()
                    if lock.tickets:
                        pipe.set(key, lock.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another replica changed the queue: read it again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Removing the last ticket deletes the key in the same transaction: a ticket another
        # replica issued meanwhile is never deleted with it.
        self.finish_serving(conversation_id, ticket_number)

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock) -> Any:
            lock.remove_expired_tickets()

        self._change(conversation_id, drop_expired)
