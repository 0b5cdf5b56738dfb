"""The console's background jobs, each until the console shuts down.

- The sweep: handoffs' reminders and timeouts, replies to redeliver, then the other jobs
  (the privacy purge), each in a thread.
- The broadcast worker, when WhatsApp is configured: it sends what the broadcast pages
  started.

A failure is never fatal: it is logged and tried again next time, and the other replicas
do the same work (the engine's leases keep them from doing it twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from urp.broadcasts.worker import BroadcastWorker
from urp.handoff.chat import HandoffChat

logger = logging.getLogger(__name__)

WORKER_RESTART = 10.0  # seconds before a worker that failed starts again

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def sweeper(
    closing: asyncio.Event,
    chat: HandoffChat,
    interval: float,
    jobs: Sequence[Callable[[], object]] = (),
) -> CleanupContext:
    """The sweep every ``interval`` seconds, as an ``app.cleanup_ctx`` entry."""

    async def sweep_every() -> None:
        while not closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), interval)
                return
            for job in (chat.sweep, chat.redeliver, *jobs):
                try:
                    await asyncio.to_thread(job)
                except Exception:
                    # Never fatal: the next round tries again, and so do the other replicas.
                    logger.exception("console: background job failed")

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(sweep_every())
        yield
        closing.set()
        await task

    return run


def broadcast_sender(closing: asyncio.Event, worker: BroadcastWorker) -> CleanupContext:
    """``worker`` sending broadcasts until shutdown, as an ``app.cleanup_ctx`` entry."""

    async def work() -> None:
        try:
            while not closing.is_set():
                try:
                    await worker.run(until_idle=False, stop=closing)
                except Exception:
                    # Never fatal: the engine's leases let this or another replica go on.
                    logger.exception("console: broadcast worker failed")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closing.wait(), WORKER_RESTART)
        finally:
            await worker.close()

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(work())
        yield
        closing.set()
        await task

    return run
