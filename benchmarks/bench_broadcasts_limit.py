"""Memo under Meta's messaging limit: 100,000 subscribers, a simulated clock over days.

A temporary SQLite register holds 100,000 WhatsApp subscribers of the memo's topic, 20% of
whom wrote to the Comune within the last 24 hours (their service window is open: the
memo goes free-form, free). The Graph API simulator runs in its own process, strict like
Meta (``enforce()``: messaging limit 10,000, throughput, pair rate limit, prices by
category since July 2025). The broadcast worker sends the memo; when only rows waiting for
the messaging limit are left, both clocks (the worker's and the simulator's) jump to when
the limit frees up, and the worker runs again, until the memo has reached everyone.

Printed, per simulated day: messages sent, templates among them, paid messages; then the
messages sent in the first 24 hours, paid messages per recipient (goal: at most 1.0 each),
refusals by Meta's code (any is a bug of ours), and the pace the simulator saw against the
configured rate. Figures only, no timed asserts. ``--size``, ``--limit``, ``--rate``,
``--in-window`` change them (SQLite: see ``--size`` if 100,000 is too slow on a machine).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tests.simulators.graph_api import GraphApiSimulator
from urp.broadcasts.service import BroadcastService
from urp.broadcasts.worker import BroadcastWorker, MarketingOptOuts
from urp.core.clock import utc_now
from urp.core.db import Database, upgrade
from urp.core.hashing import UserHasher
from urp.core.settings import load_settings
from urp.information.memo import Memo, MemoItem, MemoService
from urp.subscription.consents import ConsentLog
from urp.whatsapp.graph import GraphClient, GraphSettings
from urp.whatsapp.store import WhatsAppStore

SIZE = 100_000
IN_WINDOW = 0.20  # share of subscribers who wrote within 24 hours
LIMIT = 10_000  # Meta's messaging limit tier: distinct recipients of templates per 24 h
RATE = 500.0  # messages per second configured for the job
THROUGHPUT = 1000.0  # what the simulator allows per second (Meta's upgraded tier)
MAX_DAYS = 30  # a safety stop: a memo still waiting after that is reported as such
hasher = UserHasher(b"benchmark-salt-not-a-secret")

MEMO = Memo(
    date(2026, 12, 7),
    "MEMO COMUNE DI ANCONA",
    (
        MemoItem(
            "RACCOLTA DIFFERENZIATA",
            "Da lunedì cambia il calendario del porta a porta nel centro storico.",
            "https://www.comune.ancona.gov.it/differenziata",
        ),
        MemoItem(
            "SCUOLE",
            "Iscrizioni al nido aperte fino al 31 gennaio, domanda online con SPID.",
            "https://www.comune.ancona.gov.it/nidi",
        ),
        MemoItem(
            "VIABILITÀ",
            "Lavori in via Marconi: senso unico alternato dalle 8 alle 17.",
            "https://www.comune.ancona.gov.it/viabilita",
        ),
    ),
)


class SimulatedClock:
    """The real time plus an offset that jumps forward: the worker's and the register's."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset


@dataclass
class Run:
    """One run of the worker until idle, in simulated and in real time."""

    started: datetime
    ended: datetime
    seconds: float
    accepted: int
    templates: int
    paid: int
    pace: float  # messages per second the simulator saw, first to last of the run


def _simulate(connection: Connection, limit: int, throughput: float, categories: dict) -> None:
    """The simulator's process: strict like Meta, driven by commands over the pipe."""
    simulator = GraphApiSimulator()
    simulator.enforce(messaging_limit=limit, throughput=throughput, categories=categories)
    connection.send(simulator.url)
    mark = 0
    while True:
        command, argument = connection.recv()
        if command == "wrote":
            for user in argument:
                simulator.user_wrote(user)
            connection.send(None)
        elif command == "advance":
            simulator.advance(argument)
            connection.send(None)
        elif command == "run":  # what was accepted since the last "run"
            accepted = [r for r in simulator.requests[mark:] if r["accepted"]]
            mark = len(simulator.requests)
            times = [r["at"] for r in accepted]
            span = max(times) - min(times) if len(times) > 1 else 0.0
            templates = sum(1 for r in accepted if r["json"].get("type") == "template")
            connection.send((len(accepted), templates, simulator.paid(), (len(times) - 1) / span
                             if span else 0.0))  # fmt: skip
        else:  # "done": the totals
            per_number = Counter(m["to"] for m in simulator.sent())
            paid_per_number = Counter(to for to, _, _ in simulator.charges)
            refused = Counter(code for _, code in simulator.refused)
            connection.send(
                {
                    "recipients": len(per_number),
                    "most_messages": max(per_number.values(), default=0),
                    "paid": simulator.paid(),
                    "cost": simulator.cost(),
                    "most_paid": max(paid_per_number.values(), default=0),
                    "paid_recipients": len(paid_per_number),
                    "refused": dict(refused),
                }
            )
            simulator.close()
            return


def _ask(connection: Connection, command: str, argument: Any = None) -> Any:
    connection.send((command, argument))
    return connection.recv()


def _load(database: Database, size: int, topic: str, in_window: float, now: datetime) -> list[str]:
    """Subscribers as the register keeps them; the numbers of those who wrote lately."""
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    at = (now - timedelta(days=365)).strftime(fmt)
    wrote = (now - timedelta(hours=1)).strftime(fmt)
    numbers = [f"39{3_000_000_000 + index}" for index in range(1, size + 1)]
    every = round(1 / in_window) if in_window else 0
    writing = [n for i, n in enumerate(numbers) if every and i % every == 0]
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
            [(i, topic, at) for i in range(1, size + 1)],
        )
        cursor.executemany(
            "INSERT INTO whatsapp_contacts (user_hash, last_inbound_at) VALUES (?, ?)",
            [(hasher("whatsapp", n), wrote) for n in writing],
        )
        cursor.execute("COMMIT")
    finally:
        raw.close()
    return writing


def _send(
    database: Database, graph: Connection, url: str, args: argparse.Namespace
) -> tuple[list[Run], Any, datetime]:
    settings = load_settings()
    clock = SimulatedClock()
    store = WhatsAppStore(database, hasher, clock=clock)
    service = BroadcastService(database, store, clock=clock, messaging_limit=args.limit)
    MemoService(database, clock=clock).publish(MEMO)
    job = service.start_memo(
        MEMO, settings.subscription.default_topic, created_by="bench", rate=args.rate
    )
    graph_settings = GraphSettings.from_environment(GraphApiSimulator.environment_for(url))
    assert graph_settings is not None
    client = GraphClient(graph_settings)
    worker = BroadcastWorker(
        service,
        client,
        store,
        settings.whatsapp_templates,
        opt_outs=MarketingOptOuts(ConsentLog(database, hasher, clock=clock), hasher),
        clock=clock,
    )
    start = clock()
    runs: list[Run] = []

    async def days() -> None:
        # One event loop for every run: the worker's client and rate limiter live in it.
        paid_before = 0
        try:
            while len(runs) < MAX_DAYS:
                began, real = clock(), time.perf_counter()
                await worker.run()
                accepted, templates, paid, pace = _ask(graph, "run")
                seconds = time.perf_counter() - real
                runs.append(Run(began, clock(), seconds, accepted, templates,
                                paid - paid_before, pace))  # fmt: skip
                paid_before = paid
                report = service.report(job)
                if report.status != "running" or report.resumes_at is None:
                    return  # sent to everyone, or paused by a refusal of Meta's
                # Nothing to do until the messaging limit frees up: both clocks jump there.
                jump = max(timedelta(0), report.resumes_at - clock()) + timedelta(seconds=1)
                clock.offset += jump
                _ask(graph, "advance", jump.total_seconds())
        finally:
            await worker.close()

    asyncio.run(days())
    return runs, service.report(job), start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--limit", type=int, default=LIMIT)
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--in-window", type=float, default=IN_WINDOW)
    args = parser.parse_args([] if argv is None else argv)
    settings = load_settings()
    categories = {t.name: t.category for t in settings.whatsapp_templates.values()}
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    simulator = context.Process(
        target=_simulate, args=(theirs, args.limit, THROUGHPUT, categories), daemon=True
    )
    simulator.start()
    url = ours.recv()
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'urp.db'}")
        upgrade(database)
        began = time.perf_counter()
        topic = settings.subscription.default_topic
        writing = _load(database, args.size, topic, args.in_window, utc_now())
        _ask(ours, "wrote", writing)
        print(
            f"  register of {args.size:,} subscribers ({len(writing):,} wrote within 24 hours) "
            f"loaded in {time.perf_counter() - began:.1f} s"
        )
        runs, report, start = _send(database, ours, url, args)
        database.dispose()
    totals = _ask(ours, "done")
    simulator.join(30)
    _print(args, runs, report, start, totals, len(writing))


def _print(
    args: argparse.Namespace,
    runs: list[Run],
    report: Any,
    start: datetime,
    totals: dict[str, Any],
    in_window: int,
) -> None:
    print("  simulated day  sent      templates  paid      real time")
    for run in runs:
        day = (run.started - start) / timedelta(days=1)
        print(
            f"  {day:13.2f}  {run.accepted:>8,}  {run.templates:>9,}  "
            f"{run.paid:>8,}  {run.seconds:8.1f} s"
        )
    first_day = sum(r.accepted for r in runs if r.ended - start <= timedelta(hours=24))
    print(
        f"  sent in the first 24 hours: {first_day:,} messages "
        f"({in_window:,} free-form inside the window + up to {args.limit:,} templates)"
    )
    days = (runs[-1].ended - start) / timedelta(days=1)
    if report.status == "completed":
        print(f"  memo to everyone after {days:.1f} simulated days ({len(runs)} runs)")
    else:
        reason = f": {report.paused_code} {report.paused_reason}" if report.paused_code else ""
        print(f"  memo {report.status} after {days:.1f} simulated days{reason}")
    print(f"  final counts: {dict(sorted(report.counts.items()))}")
    recipients = totals["recipients"]
    per_recipient = totals["paid"] / recipients if recipients else 0.0
    per_paying = totals["paid"] / totals["paid_recipients"] if totals["paid_recipients"] else 0.0
    print(
        f"  paid messages: {totals['paid']:,} ({totals['cost']:,.2f} USD at the simulator's "
        f"prices), {per_recipient:.2f} per recipient, {per_paying:.2f} per recipient paid for, "
        f"at most {totals['most_paid']} to one (goal: at most 1.0)"
    )
    print(f"  report's paid messages: {report.paid_messages:,} (simulator: {totals['paid']:,})")
    print(
        f"  most messages to one recipient: {totals['most_messages']}; "
        f"refused by Meta: {totals['refused'] or 'none'}"
    )
    first = runs[0]
    print(
        f"  pace on day 0: {first.pace:,.0f}/s against {args.rate:,.0f}/s configured "
        f"({100 * first.pace / args.rate:.1f}%)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
