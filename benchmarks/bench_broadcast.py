"""Broadcast: 100,000 subscribers through the worker, against the Graph API simulator.

A temporary SQLite register is bulk-loaded with 100,000 WhatsApp subscribers of the
emergency topic; the broadcast is created (one ``INSERT ... SELECT``) and sent by
:class:`urp.broadcasts.worker.BroadcastWorker` to the simulator, which runs in its own
process as Meta's servers would. Printed: the time to create the job, the throughput
achieved against the configured rate (the worker should keep it within 5%: it is never the
bottleneck), how long the default 20 messages/s would take, that nobody got two
messages, and the worker process's peak memory. ``--size`` and ``--rate`` change them.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from tests.simulators.graph_api import GraphApiSimulator
from urp.broadcasts.service import DEFAULT_RATE, BroadcastService
from urp.broadcasts.worker import BroadcastWorker
from urp.core.db import Database, upgrade
from urp.core.hashing import UserHasher
from urp.core.settings import load_settings
from urp.whatsapp.graph import GraphClient, GraphSettings
from urp.whatsapp.store import WhatsAppStore

SIZE = 100_000
RATE = 1000.0  # high enough for a short run; the Cloud API allows up to 1,000/s
TOPIC = "emergenze"
hasher = UserHasher(b"benchmark-salt-not-a-secret")


def _simulate(connection: Connection) -> None:
    """The simulator's process: serve until told, then say what each number received."""
    simulator = GraphApiSimulator()
    connection.send(simulator.url)
    connection.recv()
    per_number = Counter(message["to"] for message in simulator.sent())
    times = [r["at"] for r in simulator.requests if r["accepted"]]
    # The pace Meta sees, from the first message to the last.
    pace = (len(times) - 1) / (max(times) - min(times))
    connection.send((sum(per_number.values()), len(per_number), max(per_number.values()), pace))
    simulator.close()


def _load(database: Database, size: int) -> None:
    """Subscribers as the register keeps them, in one executemany per table."""
    at = datetime(2024, 1, 1, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    numbers = [f"39{3_000_000_000 + index}" for index in range(1, size + 1)]
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        cursor.executemany(
            "INSERT INTO subscribers (id, channel, user_hash, user_id, status, subscribed_at) "
            "VALUES (?, 'whatsapp', ?, ?, 'active', ?)",
            [(i, hasher("whatsapp", n), n, at) for i, n in enumerate(numbers, start=1)],
        )
        cursor.executemany(
            "INSERT INTO subscriber_topics (subscriber_id, topic, followed_at) VALUES (?, ?, ?)",
            [(i, TOPIC, at) for i in range(1, size + 1)],
        )
        cursor.execute("COMMIT")
    finally:
        raw.close()


def _send(database: Database, graph_url: str, rate: float) -> tuple[float, float, float]:
    """Create the broadcast and send it: seconds to create it, to send it, peak RSS (MB)."""
    store = WhatsAppStore(database, hasher)
    service = BroadcastService(database, store)
    start = time.perf_counter()
    service.start_emergency(TOPIC, "Allerta meteo: scuole chiuse domani.", created_by="bench",
                            rate=rate)  # fmt: skip
    created = time.perf_counter() - start
    settings = GraphSettings.from_environment(GraphApiSimulator.environment_for(graph_url))
    assert settings is not None
    client = GraphClient(settings)
    worker = BroadcastWorker(service, client, store, load_settings().whatsapp_templates)

    async def go() -> None:
        try:
            await worker.run()
        finally:
            await worker.close()

    start = time.perf_counter()
    asyncio.run(go())
    sent = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return created, sent, peak


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--rate", type=float, default=RATE)
    args = parser.parse_args([] if argv is None else argv)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    simulator = context.Process(target=_simulate, args=(theirs,), daemon=True)
    simulator.start()
    graph_url = ours.recv()
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'urp.db'}")
        upgrade(database)
        start = time.perf_counter()
        _load(database, args.size)
        print(
            f"  register of {args.size:,} subscribers loaded in {time.perf_counter() - start:.1f} s"
        )
        created, elapsed, peak = _send(database, graph_url, args.rate)
        database.dispose()
    ours.send("done")
    messages, recipients, most, pace = ours.recv()
    simulator.join(30)
    print(f"  broadcast created (INSERT ... SELECT of {args.size:,} rows): {created:.2f} s")
    print(
        f"  sent {messages:,} messages to {recipients:,} recipients in {elapsed:.1f} s "
        f"(start and end of the worker included)"
    )
    print(
        f"  throughput seen by the Graph API: {pace:,.0f}/s against {args.rate:,.0f}/s "
        f"configured ({100 * pace / args.rate:.1f}%)"
    )
    print(f"  most messages to one recipient: {most} (exactly one each: {most == 1})")
    hours = args.size / DEFAULT_RATE / 3600
    print(f"  at the default {DEFAULT_RATE:g}/s the same broadcast takes {hours:.1f} hours")
    print(f"  peak memory of the worker process (RSS): {peak:,.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
