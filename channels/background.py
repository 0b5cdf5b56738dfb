"""Webhooks answer at once; the messages are handled afterwards, in order per citizen."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

logger = logging.getLogger(__name__)

Job = tuple[str, str, Callable[[], Awaitable[None]]]  # (sender, message id, work)


class OrderedBackground:
    """Runs jobs in background tasks; one sender's jobs run one at a time, in order."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._queued: Counter[str] = Counter()

    def submit(self, jobs: Sequence[Job]) -> None:
        # Queued now, while still in the request: arrival order is the order of the locks.
        for sender, _, _ in jobs:
            self._queued[sender] += 1
            self._locks.setdefault(sender, asyncio.Lock())
        task = asyncio.get_running_loop().create_task(self._run(jobs))
        self._tasks.add(task)  # a reference, or the loop may drop the task
        task.add_done_callback(self._tasks.discard)

    async def _run(self, jobs: Sequence[Job]) -> None:
        for sender, message_id, work in jobs:
            try:
                async with self._locks[sender]:
                    await work()
            except Exception:
                # The message id only: the sender is a phone number.
                logger.exception("Messaggio %s non elaborato", message_id)
            finally:
                self._queued[sender] -= 1
                if not self._queued[sender]:
                    del self._queued[sender]
                    del self._locks[sender]

    async def drain(self) -> None:
        """Wait for everything submitted so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
