"""«Cancella i miei dati» and retention, on SQLite and PostgreSQL, and on Rasa's own
SQL tracker store (a real ``SQLTrackerStore`` on a SQLite file).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from tests.store.conftest import FixedClock, raw_rows
from urp.data_protection import (
    ERASE_ACTION,
    DataProtection,
    TrackerEvents,
    anonymous_conversation,
    purge_all,
)
from urp.db import Database
from urp.handoffs import HandoffService
from urp.operators import OperatorService
from urp.privacy import UserHasher
from urp.reports import ReportService
from urp.review.inbox import Sighting
from urp.review.store import ReviewStore
from urp.settings import Settings
from urp.subscribers import SubscriberService
from urp.whatsapp.store import WhatsAppStore

NUMBER = "393331234567"
OTHER = "393339999999"
YEAR = timedelta(days=365)


@pytest.fixture
def protection(database: Database, hasher: UserHasher, clock: FixedClock) -> DataProtection:
    return DataProtection(database, hasher, clock=clock)


def citizen_everywhere(
    number: str,
    database: Database,
    settings: Settings,
    hasher: UserHasher,
    clock: FixedClock,
) -> int:
    """A citizen subscribed, reporting, writing on WhatsApp and handed to an operator."""
    SubscriberService(database, settings.subscription, hasher, clock=clock).subscribe(
        "whatsapp", number, "Iscrivimi", "2024-01"
    )
    ReportService(database, "SEG", settings.timezone, clock=clock).create(
        "whatsapp", number, "Lampione spento", "Via Marconi 12"
    )
    whatsapp = WhatsAppStore(database, hasher, clock=clock)
    whatsapp.wrote(number, clock.now)
    whatsapp.sent(f"wamid.{number}", number, "text")
    handoffs = HandoffService(database, settings, clock=clock)
    handoff, _ = handoffs.open(
        number, "whatsapp", "request", [("citizen", "voglio un operatore", clock.now)]
    )
    return handoff.id


def test_erasure_removes_the_citizen_and_leaves_the_others(
    protection: DataProtection,
    database: Database,
    settings: Settings,
    hasher: UserHasher,
    clock: FixedClock,
) -> None:
    mine = citizen_everywhere(NUMBER, database, settings, hasher, clock)
    theirs = citizen_everywhere(OTHER, database, settings, hasher, clock)

    result = protection.erase("whatsapp", NUMBER)

    assert (result.subscription, result.handoffs, result.reports) == (True, 1, 1)
    subscribers = raw_rows(database, "subscribers")
    assert [row["user_id"] for row in subscribers] == [OTHER]
    assert len(raw_rows(database, "consents")) == 1  # the other citizen's
    handoffs = {row["id"]: row for row in raw_rows(database, "handoffs")}
    assert handoffs[mine]["conversation_id"] == anonymous_conversation(mine)
    assert handoffs[mine]["status"] == "resolved"
    assert handoffs[theirs]["conversation_id"] == OTHER
    assert {row["handoff_id"] for row in raw_rows(database, "handoff_messages")} == {theirs}
    assert sorted(row["user_id"] for row in raw_rows(database, "reports")) == ["", OTHER]
    assert len(raw_rows(database, "whatsapp_contacts")) == 1
    assert [row["wamid"] for row in raw_rows(database, "whatsapp_outbound")] == [f"wamid.{OTHER}"]
    every_value = repr([raw_rows(database, table) for table in ("audit_events", "handoffs")])
    assert NUMBER not in every_value
    # Nothing left to recognise: subscribing again is a new subscriber with a new label.
    again = SubscriberService(database, settings.subscription, hasher, clock=clock).subscribe(
        "whatsapp", NUMBER, "Iscrivimi", "2024-01"
    )
    assert again.outcome.name == "CREATED"  # not "welcome back"


def test_erasing_someone_unknown_is_harmless(protection: DataProtection) -> None:
    result = protection.erase("rest", "nessuno")
    assert (result.subscription, result.handoffs, result.reports) == (False, 0, 0)


def unsure(text: str, clock: FixedClock) -> Sighting:
    at = clock.now
    return Sighting(text, "greet", 0.4, None, frozenset({"fallback"}), "rest", at, "c", 0.0)


def test_retention_anonymises_old_closed_chats_and_old_reporters_only(
    protection: DataProtection,
    database: Database,
    settings: Settings,
    hasher: UserHasher,
    clock: FixedClock,
) -> None:
    old = citizen_everywhere(NUMBER, database, settings, hasher, clock)
    ReviewStore(database, hasher, clock=clock).record([unsure("boh vecchio", clock)])
    operators = OperatorService(database)
    mario = operators.add("mario.rossi", "Mario Rossi", "password-lunga-1", "operator")
    handoffs = HandoffService(database, settings, clock=clock)
    handoffs.claim(old, mario)
    handoffs.resolve(old, mario)
    clock.advance(days=200)
    recent = citizen_everywhere(OTHER, database, settings, hasher, clock)
    ReviewStore(database, hasher, clock=clock).record([unsure("boh recente", clock)])

    result = protection.purge(timedelta(days=180))

    assert (result.handoffs, result.reports, result.deliveries, result.review_items) == (1, 1, 1, 1)
    assert [row["text"] for row in raw_rows(database, "review_items")] == ["boh recente"]
    rows = {row["id"]: row for row in raw_rows(database, "handoffs")}
    assert rows[old]["conversation_id"] == anonymous_conversation(old)
    assert rows[recent]["conversation_id"] == OTHER
    assert {row["handoff_id"] for row in raw_rows(database, "handoff_messages")} == {recent}
    assert sorted(row["user_id"] for row in raw_rows(database, "reports")) == ["", OTHER]
    # The subscription is not a conversation: it stays while the citizen is subscribed.
    assert {row["user_id"] for row in raw_rows(database, "subscribers")} == {NUMBER, OTHER}
    assert protection.purge(timedelta(days=180)).handoffs == 0  # nothing twice


def tracker_store(path: Path) -> SQLTrackerStore:
    return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))


def save(store: SQLTrackerStore, sender: str, *events) -> None:
    tracker = DialogueStateTracker.from_events(sender, list(events))
    asyncio.run(store.save(tracker))


def said(text: str, at: float) -> UserUttered:
    return UserUttered(text, {"name": "greet"}, timestamp=at)


def test_rasa_s_conversations_go_after_retention_or_on_request(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    store = tracker_store(path)
    now = time.time()
    long_ago = now - YEAR.total_seconds()
    save(store, "vecchio", said("ciao", long_ago), BotUttered("Ciao!", timestamp=long_ago))
    save(store, "recente", said("ciao", now), BotUttered("Ciao!", timestamp=now))
    save(
        store,
        "cancellami",
        said("cancella i miei dati", now),
        ActionExecuted(ERASE_ACTION, timestamp=now),
        BotUttered("Fatto", timestamp=now),
    )
    events = TrackerEvents(f"sqlite:///{path}")

    deleted, erased = events.purge(datetime.now(UTC) - timedelta(days=180))

    assert (deleted, erased) == (5, 1)
    assert asyncio.run(store.retrieve("vecchio")) is None
    assert asyncio.run(store.retrieve("cancellami")) is None
    kept = asyncio.run(store.retrieve("recente"))
    assert kept is not None and kept.latest_message.text == "ciao"
    assert events.purge(datetime.now(UTC) - timedelta(days=180)) == (0, 0)
    events.dispose()


def test_no_tracker_store_yet_is_nothing_to_purge(tmp_path: Path) -> None:
    events = TrackerEvents(f"sqlite:///{tmp_path / 'missing.db'}")
    assert events.purge(datetime.now(UTC)) == (0, 0)
    events.dispose()


def test_the_command_purges_store_and_conversations(
    cli_env: Database, tmp_path: Path, capsys
) -> None:
    from urp.cli import main

    path = tmp_path / "tracker.db"
    store = tracker_store(path)
    long_ago = time.time() - YEAR.total_seconds()
    save(store, "vecchio", said("ciao", long_ago))
    assert main(["privacy", "purge", "--days", "30", "--tracker-store", f"sqlite:///{path}"]) == 0
    printed = capsys.readouterr().out
    assert "Conservazione: 30 giorni" in printed
    assert "Eventi delle conversazioni cancellati: 1" in printed
    assert main(["privacy", "purge", "--days", "0", "--store-only"]) == 2
    assert "almeno 1 giorno" in capsys.readouterr().err


def test_the_whole_job_runs_both(database: Database, hasher: UserHasher, tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    save(tracker_store(path), "vecchio", said("ciao", time.time() - YEAR.total_seconds()))
    events = TrackerEvents(f"sqlite:///{path}")
    result = purge_all(DataProtection(database, hasher), events, timedelta(days=30))
    events.dispose()
    assert (result.tracker_events, result.erased_conversations) == (1, 0)
