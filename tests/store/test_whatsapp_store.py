"""What the WhatsApp channel remembers: deliveries seen, the 24-hour window, statuses."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.store.conftest import FixedClock, raw_rows
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import StatusUpdate

NUMBER = "393331234567"


def store(database: Database, hasher: UserHasher, clock: FixedClock) -> WhatsAppStore:
    return WhatsAppStore(database, hasher, clock=clock)


def test_a_message_id_is_processed_once_even_by_two_replicas_at_once(
    database: Database, hasher: UserHasher, clock: FixedClock
) -> None:
    replicas = [store(database, hasher, clock), store(database, hasher, clock)]
    with ThreadPoolExecutor(8) as pool:
        firsts = list(pool.map(lambda i: replicas[i % 2].first_delivery("wamid.A"), range(8)))
    assert firsts.count(True) == 1
    assert replicas[0].first_delivery("wamid.B") is True


def test_ids_seen_are_forgotten_after_a_week(
    database: Database, hasher: UserHasher, clock: FixedClock
) -> None:
    seen = store(database, hasher, clock)
    seen.first_delivery("wamid.OLD")
    clock.advance(days=8)
    seen_later = store(database, hasher, clock)  # a restart: purges on its first write
    assert seen_later.first_delivery("wamid.NEW") is True
    assert [row["message_id"] for row in raw_rows(database, "whatsapp_inbound")] == ["wamid.NEW"]


def test_the_24_hour_window_runs_from_the_latest_message(
    database: Database, hasher: UserHasher, clock: FixedClock
) -> None:
    window = store(database, hasher, clock)
    assert not window.in_window(NUMBER)
    window.wrote(NUMBER, clock.now)
    clock.advance(hours=23)
    window.wrote(NUMBER, clock.now)  # wrote again
    window.wrote(NUMBER, clock.now.replace(year=2020))  # a late, older delivery changes nothing
    clock.advance(hours=23)
    assert window.in_window(NUMBER)
    clock.advance(hours=2)
    assert not window.in_window(NUMBER)
    rows = raw_rows(database, "whatsapp_contacts")
    assert len(rows) == 1 and NUMBER not in str(rows)  # a hash, never the number


def test_statuses_move_forward_only_and_failures_keep_their_reason(
    database: Database, hasher: UserHasher, clock: FixedClock
) -> None:
    records = store(database, hasher, clock)
    records.sent("wamid.OUT", NUMBER, "text")

    def status(value: str, code: int | None = None) -> bool:
        return records.status(StatusUpdate("wamid.OUT", NUMBER, value, clock.now, code, "x"))

    assert status("delivered") and status("read") and status("delivered")
    assert records.outbound("wamid.OUT") == ("read", None)
    assert status("failed", 131047)
    assert records.outbound("wamid.OUT") == ("failed", 131047)
    assert not records.status(StatusUpdate("wamid.OTHER", NUMBER, "read", clock.now))
    assert not records.status(StatusUpdate("wamid.OUT", NUMBER, "deleted", clock.now))
