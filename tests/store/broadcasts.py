"""Helpers of the broadcast tests: a register of subscribers, a worker, Meta's statuses.

Also a worker process (``python -m tests.store.broadcasts DB_URL GRAPH_URL LEASE GRACE
[LATER]``) for the tests that kill one or run two at once.

Nothing here depends on the machine's speed: the simulator's failures need no timeout (a
dropped connection is the worker's "no answer"), the client waits as long as a loaded
machine needs, and a lease expires because a worker's clock is set later (``later``), never
because a test slept.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from tests.simulators.graph_api import GraphApiSimulator
from tests.store.conftest import SALT
from urp.broadcasts.service import BroadcastService
from urp.broadcasts.worker import CONCURRENCY, BroadcastWorker, MarketingOptOuts
from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import MessageTemplate
from urp.subscription.subscribers import SubscriberService
from urp.whatsapp.graph import GraphClient, GraphSettings
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import parse_delivery

TEMPLATES = {"memo": MessageTemplate("urp_memo_iscritti")}
RATE = 2000.0  # fast tests: the rate itself is measured by the benchmark
CLIENT_TIMEOUT = 300.0  # no answer is the simulator's "drop", never a slow machine


def number(index: int) -> str:
    return f"39333{index:07d}"


def subscribe(service: SubscriberService, count: int, *topics: str, start: int = 1) -> list[str]:
    numbers = [number(index) for index in range(start, start + count)]
    for user_id in numbers:
        service.subscribe("whatsapp", user_id, "Iscrivimi", "v1", topics)
    return numbers


def services(
    database: Database,
    *,
    clock: Clock = utc_now,
    lease: float = 300,
    grace: float = 600,
    messaging_limit: int | None = None,
) -> tuple[BroadcastService, WhatsAppStore]:
    store = WhatsAppStore(database, UserHasher(SALT.encode()), clock=clock)
    service = BroadcastService(
        database,
        store,
        clock=clock,
        lease=timedelta(seconds=lease),
        grace=timedelta(seconds=grace),
        messaging_limit=messaging_limit,
    )
    return service, store


def emergency(
    database: Database, text: str = "Allerta meteo arancione: scuole chiuse.", *, rate: float = RATE
) -> int:
    """An emergency broadcast to the topic «emergenze», started as an operator would."""
    return services(database)[0].start_emergency("emergenze", text, created_by="test", rate=rate)


def meta_statuses(database: Database) -> Callable[[dict[str, Any]], None]:
    """Webhook deliveries of statuses, handled as the WhatsApp channel does."""
    service, store = services(database)

    def receive(payload: dict[str, Any]) -> None:
        for status in parse_delivery(json.dumps(payload).encode()).statuses:
            store.status(status)
            service.record_status(status)

    return receive


def simulator(database: Database) -> GraphApiSimulator:
    """The Graph API simulator, its statuses delivered as the WhatsApp channel would."""
    graph = GraphApiSimulator()
    graph.status_sink = meta_statuses(database)
    return graph


def worker(
    database: Database,
    graph_url: str,
    *,
    lease: float = 300,
    grace: float = 600,
    templates: dict[str, MessageTemplate] | None = None,
    concurrency: int = CONCURRENCY,
    later: float = 0,
    messaging_limit: int | None = None,
    pair_backoff: float = 0.05,
    opt_outs: MarketingOptOuts | None = None,
) -> tuple[BroadcastWorker, GraphClient]:
    """A worker against the simulator; ``later``: its clock runs that many seconds ahead
    (a worker started once the others' leases have run out)."""
    settings = GraphSettings.from_environment(GraphApiSimulator.environment_for(graph_url))
    assert settings is not None
    client = GraphClient(settings, backoff=0.01, timeout=CLIENT_TIMEOUT)
    clock = (lambda: utc_now() + timedelta(seconds=later)) if later else utc_now
    service, store = services(
        database, clock=clock, lease=lease, grace=grace, messaging_limit=messaging_limit
    )
    # A short margin and poll: the tests' leases are seconds, not minutes.
    engine = BroadcastWorker(
        service,
        client,
        store,
        TEMPLATES if templates is None else templates,
        concurrency=concurrency,
        poll_every=0.05,
        lease_margin=timedelta(seconds=lease / 4),
        clock=clock,
        pair_backoff=pair_backoff,
        opt_outs=opt_outs,
    )
    return engine, client


def drive(engine: BroadcastWorker, client: GraphClient) -> None:
    """Run the worker until it has nothing left to send, then close its client."""

    async def go() -> None:
        try:
            await engine.run()
        finally:
            await client.close()

    asyncio.run(go())


def run_worker(database: Database, graph_url: str, **options: Any) -> BroadcastWorker:
    """A worker (see ``worker``) run until it has nothing left to send; returned for its
    state (``_pace``)."""
    engine, client = worker(database, graph_url, **options)
    drive(engine, client)
    return engine


def per_recipient(graph: GraphApiSimulator, numbers: Iterable[str]) -> dict[str, int]:
    """How many messages the simulator accepted for each number."""
    sent: dict[str, int] = dict.fromkeys(numbers, 0)
    for message in graph.sent():
        sent[message["to"]] = sent.get(message["to"], 0) + 1
    return sent


def main(argv: list[str]) -> None:
    url, graph_url, lease, grace, *later = argv
    database = Database(url)
    run_worker(
        database,
        graph_url,
        lease=float(lease),
        grace=float(grace),
        later=float(later[0]) if later else 0,
    )
    database.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
