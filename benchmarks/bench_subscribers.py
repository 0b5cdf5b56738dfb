"""Subscriber register: subscribe, unsubscribe and status latency as the register grows.

For each database (SQLite file, PostgreSQL) and each size, a temporary register is
migrated, bulk-loaded with that many existing subscribers (executemany on SQLite, COPY
on PostgreSQL), then timed through :class:`urp.subscription.subscribers.SubscriberService`, one
transaction per operation. The sizes are printed side by side: look-ups by number should
not slow down as the register grows. ``--sizes 10000,100000`` changes the sizes;
PostgreSQL is the local server or ``URP_BENCH_POSTGRES_URL`` (skipped if unreachable).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from urp.core.db import Database, upgrade
from urp.core.hashing import UserHasher
from urp.core.settings import load_settings
from urp.subscription.subscribers import SubscriberService

SIZES = (10_000, 1_000_000)
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOKUPS = 2000
WRITES = 1000  # subscriptions, then as many cancellations
CHUNK = 100_000
LOADED_AT = datetime(2022, 1, 1, tzinfo=UTC)
hasher = UserHasher(b"benchmark-salt-not-a-secret")


def _number(index: int) -> str:
    return f"39{3_000_000_000 + index}"


def _rows(size: int) -> Iterator[tuple[int, str, str, datetime]]:
    for index in range(1, size + 1):
        number = _number(index)
        # Spread over two years, as a real register would be.
        yield index, hasher("whatsapp", number), number, LOADED_AT + timedelta(minutes=index)


def _load_sqlite(database: Database, size: int) -> None:
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        rows = [(i, h, n, t.strftime("%Y-%m-%d %H:%M:%S.%f")) for i, h, n, t in _rows(size)]
        cursor.executemany(
            "INSERT INTO subscribers (id, channel, user_hash, user_id, status, subscribed_at) "
            "VALUES (?, 'whatsapp', ?, ?, 'active', ?)",
            rows,
        )
        cursor.executemany(
            "INSERT INTO consents (subscriber_id, given_at, policy_version, message) "
            "VALUES (?, ?, 'bench', 'Iscrivimi')",
            ((i, t) for i, _, _, t in rows),
        )
        cursor.executemany(
            "INSERT INTO subscriber_topics (subscriber_id, topic, followed_at) "
            "VALUES (?, 'memo', ?)",
            ((i, t) for i, _, _, t in rows),
        )
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
    finally:
        raw.close()


def _load_postgresql(database: Database, size: int) -> None:
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        tables = {
            "subscribers (id, channel, user_hash, user_id, status, subscribed_at)": (
                lambda i, h, n, t: f"{i}\twhatsapp\t{h}\t{n}\tactive\t{t}\n"
            ),
            "consents (subscriber_id, given_at, policy_version, message)": (
                lambda i, h, n, t: f"{i}\t{t}\tbench\tIscrivimi\n"
            ),
            "subscriber_topics (subscriber_id, topic, followed_at)": (
                lambda i, h, n, t: f"{i}\tmemo\t{t}\n"
            ),
        }
        rows = [(i, h, n, t.isoformat()) for i, h, n, t in _rows(size)]
        for table, line in tables.items():
            chunk = []
            for row in rows:
                chunk.append(line(*row))
                if len(chunk) == CHUNK or row[0] == size:
                    cursor.copy_expert(f"COPY {table} FROM STDIN", io.StringIO("".join(chunk)))
                    chunk = []
        # COPY with explicit ids leaves the label sequence behind: move it past them.
        cursor.execute("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), %s)", (size,))
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


@contextmanager
def _sqlite() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="urp-bench-") as folder:
        database = Database(f"sqlite:///{folder}/urp.db")
        try:
            yield database
        finally:
            database.dispose()


@contextmanager
def _postgresql() -> Iterator[Database]:
    server = make_url(os.environ.get("URP_BENCH_POSTGRES_URL") or POSTGRES_SERVER)
    name = f"urp_bench_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    database = Database(server.set(database=name).render_as_string(hide_password=False))
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _timed(operation: Callable[[str], object], numbers: Sequence[str]) -> list[float]:
    latencies = []
    for number in numbers:
        start = time.perf_counter()
        operation(number)
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def _measure(
    open_database: Callable[[], AbstractContextManager[Database]],
    load: Callable[[Database, int], None],
    size: int,
) -> tuple[float, dict[str, list[float]]]:
    with open_database() as database:
        upgrade(database)
        started = time.perf_counter()
        load(database, size)
        load_seconds = time.perf_counter() - started
        service = SubscriberService(database, load_settings().subscription, hasher)
        chooser = random.Random(size)
        existing = [_number(chooser.randint(1, size)) for _ in range(LOOKUPS)]
        newcomers = [f"39{4_000_000_000 + i}" for i in range(WRITES)]
        leaving = [_number(i) for i in chooser.sample(range(1, size + 1), min(WRITES, size))]
        service.status("whatsapp", existing[0])  # warm-up: connection pool, statement cache
        return load_seconds, {
            "status": _timed(lambda n: service.status("whatsapp", n), existing),
            "subscribe": _timed(
                lambda n: service.subscribe("whatsapp", n, "Iscrivimi", "bench"), newcomers
            ),
            "unsubscribe": _timed(lambda n: service.unsubscribe("whatsapp", n), leaving),
        }


def _percentiles(latencies: list[float]) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    return f"{cuts[49]:6.2f} / {cuts[94]:6.2f}"


def _report(name: str, results: dict[int, tuple[float, dict[str, list[float]]]]) -> None:
    sizes = sorted(results)
    print(f"\n{name}: ms per operation, p50 / p95 (one transaction each)")
    print(f"{'subscribers':<12}" + "".join(f"{size:>20,}" for size in sizes))
    print(f"{'bulk load':<12}" + "".join(f"{f'{results[s][0]:.1f} s':>20}" for s in sizes))
    for operation in ("status", "subscribe", "unsubscribe"):
        cells = "".join(f"{_percentiles(results[s][1][operation]):>20}" for s in sizes)
        print(f"{operation:<12}{cells}")
    if len(sizes) > 1:
        small, large = (statistics.median(results[s][1]["status"]) for s in (sizes[0], sizes[-1]))
        print(f"status p50 at {sizes[-1]:,} vs {sizes[0]:,} subscribers: {large / small:.2f}x")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help="numbers of existing subscribers, comma-separated (default: %(default)s)",
    )
    args = parser.parse_args(argv or [])
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"{LOOKUPS} status, {WRITES} subscribe, {WRITES} unsubscribe per size")
    for name, open_database, load in (
        ("SQLite (file, WAL)", _sqlite, _load_sqlite),
        ("PostgreSQL", _postgresql, _load_postgresql),
    ):
        results = {}
        try:
            for size in sizes:
                results[size] = _measure(open_database, load, size)
        except OperationalError as error:
            print(f"\n{name}: unreachable, skipped ({error.orig})")
            continue
        _report(name, results)


if __name__ == "__main__":
    main(sys.argv[1:])
