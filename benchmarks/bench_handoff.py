"""Handoffs: the cost the event broker adds to every message, and the console's queue.

Every citizen and bot message of every conversation reaches
:meth:`urp.handoff.chat.HandoffChat.record` on the broker's worker thread: one indexed
look-up when the conversation has no open handoff (nearly always), an insert when it has.
The console's queue is read every second by each open page. SQLite file, one process.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from urp.core.db import Database, upgrade
from urp.core.settings import load_settings
from urp.handoff.chat import HandoffChat
from urp.handoff.queue import HandoffService

EVENTS = 2000
OPEN_HANDOFFS = 200


class NoRasa:
    def pause(self, conversation_id: str) -> None: ...
    def resume(self, conversation_id: str) -> None: ...
    def say(self, conversation_id: str, text: str, metadata=None) -> None: ...
    def trigger(self, conversation_id: str, intent: str, entities=None) -> None: ...


def _timed(calls: int, work) -> list[float]:
    times = []
    for n in range(calls):
        start = time.perf_counter()
        work(n)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _print(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[int(0.95 * len(ordered)) - 1]
    print(f"  {label:<44} p50 {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'urp.db'}")
        upgrade(database)
        service = HandoffService(database, load_settings())
        chat = HandoffChat(service, NoRasa())
        for n in range(OPEN_HANDOFFS):
            service.open(f"3933300{n:05d}", "whatsapp", "request")
        later = time.time() + 5

        def event(sender: str, n: int) -> dict:
            return {
                "event": "user",
                "sender_id": sender,
                "text": f"messaggio {n}",
                "timestamp": later,
            }

        print(f"  {OPEN_HANDOFFS} open handoffs, {EVENTS} events each way")
        _print(
            "message, conversation without a handoff",
            _timed(EVENTS, lambda n: chat.record(event(f"x{n}", n))),
        )
        _print(
            "message of a handed-over conversation",
            _timed(EVENTS, lambda n: chat.record(event(f"3933300{n % OPEN_HANDOFFS:05d}", n))),
        )
        _print(f"console queue ({OPEN_HANDOFFS} open)", _timed(200, lambda n: chat.queue()))
        _print(
            "console transcript of one chat (10 messages)",
            _timed(200, lambda n: chat.transcript(1)),
        )
        database.dispose()
