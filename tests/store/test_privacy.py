"""«Cancella i miei dati» and retention, on SQLite and PostgreSQL, and on Rasa's own
SQL tracker store (a real ``SQLTrackerStore`` on a SQLite file).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from tests.store.conftest import START, FixedClock, raw_rows
from urp.broadcasts.delivery import Outcome
from urp.broadcasts.service import BroadcastService
from urp.core.db import Database, upgrade
from urp.core.hashing import UserHasher
from urp.core.models import HandoffRating
from urp.core.settings import Settings
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.teamwork import Teamwork
from urp.information.reports import ReportService
from urp.privacy import (
    ERASE_ACTION,
    ErasureResult,
    PrivacyService,
    TrackerEvents,
    anonymous_conversation,
    purge_all,
)
from urp.review.inbox import Sighting
from urp.review.store import ReviewStore
from urp.subscription.consents import ConsentLog
from urp.subscription.subscribers import SubscriberService
from urp.tools import databases
from urp.whatsapp.inbox import Inbox
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import InboundMessage
from urp.widget.outbox import WebOutbox

NUMBER = "393331234567"
OTHER = "393339999999"
YEAR = timedelta(days=365)


@pytest.fixture
def protection(database: Database, hasher: UserHasher, clock: FixedClock) -> PrivacyService:
    return PrivacyService(database, hasher, clock=clock)


@dataclass
class Citizens:
    """Citizens leaving their data in the register, on the test's database and clock."""

    database: Database
    settings: Settings
    hasher: UserHasher
    clock: FixedClock

    @property
    def subscribers(self) -> SubscriberService:
        return SubscriberService(
            self.database, self.settings.subscription, self.hasher, clock=self.clock
        )

    def everywhere(self, number: str) -> int:
        """A citizen subscribed, reporting, writing on WhatsApp and handed to an operator."""
        database, hasher, clock = self.database, self.hasher, self.clock
        self.subscribers.subscribe("whatsapp", number, "Iscrivimi", "2024-01")
        ReportService(database, "SEG", self.settings.timezone, clock=clock).create(
            "whatsapp", number, "Lampione spento", "Via Marconi 12"
        )
        whatsapp = WhatsAppStore(database, hasher, clock=clock)
        whatsapp.wrote(number, clock.now)
        whatsapp.sent(f"wamid.{number}", number, "text")
        handoffs = HandoffService(database, self.settings, clock=clock)
        handoff, _ = handoffs.open(
            number, "whatsapp", "request", [("citizen", "voglio un operatore", clock.now)]
        )
        return handoff.id

    def with_everything(self, number: str) -> tuple[int, int]:
        """Every kind of data a citizen can leave: (their handoff, the broadcast they received).

        Subscribed with topics, reached by an emergency broadcast (sent, then delivered), a
        report with a photo, a chat handed to an operator with its transcript, a message in
        the trainers' inbox.
        """
        database, hasher, clock = self.database, self.hasher, self.clock
        self.subscribers.subscribe(
            "whatsapp", number, "Iscrivimi", "2024-01", ("memo", "emergenze")
        )
        whatsapp = WhatsAppStore(database, hasher, clock=clock)
        broadcasts = BroadcastService(database, whatsapp, clock=clock)
        broadcast = broadcasts.start_emergency("emergenze", "Allerta meteo", created_by="Anna")
        claimed = broadcasts.claim(10)
        broadcasts.record([Outcome(c.row_id, "sent", 1, wamid=wamid(c.user_id)) for c in claimed])
        ReportService(database, "SEG", self.settings.timezone, clock=clock).create(
            "whatsapp", number, "Buca", "Via Marconi 12", photo_url="https://example.org/buca.jpg"
        )
        whatsapp.wrote(number, clock.now)
        handoffs = HandoffService(database, self.settings, clock=clock)
        handoff, _ = handoffs.open(
            number, "whatsapp", "request", [("citizen", "voglio un operatore", clock.now)]
        )
        handoffs.add_message(handoff.id, "citizen", "sono ancora qui")
        ReviewStore(database, hasher, clock=clock).record([unsure("boh [nome]", clock)])
        return handoff.id, broadcast


@pytest.fixture
def citizens(
    database: Database, settings: Settings, hasher: UserHasher, clock: FixedClock
) -> Citizens:
    return Citizens(database, settings, hasher, clock)


def test_erasure_removes_the_operators_notes_on_the_citizens_chats(
    protection: PrivacyService, citizens: Citizens, database: Database, clock: FixedClock
) -> None:
    """A note may quote the citizen («ha chiamato dal 333…»): it goes with the chat's words."""
    mine = citizens.everywhere(NUMBER)
    theirs = citizens.everywhere(OTHER)
    mario = OperatorService(database).add(
        "mario.rossi", "Mario Rossi", "password-lunga-1", "operator"
    )
    teamwork = Teamwork(database, clock=clock)
    teamwork.add_note(mine, mario, f"Richiamare il {NUMBER}")
    teamwork.add_note(theirs, mario, "Richiamare domani")

    protection.erase("whatsapp", NUMBER)

    assert [row["handoff_id"] for row in raw_rows(database, "handoff_notes")] == [theirs]
    assert NUMBER not in repr(raw_rows(database, "handoff_notes"))


def test_erasure_keeps_the_stars_and_drops_the_comment_and_the_number(
    protection: PrivacyService, citizens: Citizens, database: Database, clock: FixedClock
) -> None:
    mine = citizens.everywhere(NUMBER)
    with database.transaction(write=True) as session:
        session.add(
            HandoffRating(
                handoff_id=mine,
                asked_at=clock.now,
                pending_conversation=NUMBER,
                awaiting="comment",
                pending_until=clock.now + timedelta(hours=24),
                stars=2,
                rated_at=clock.now,
                comment=f"Richiamatemi al {NUMBER}",
            )
        )

    protection.erase("whatsapp", NUMBER)

    [rating] = raw_rows(database, "handoff_ratings")
    assert rating["stars"] == 2
    assert (rating["pending_conversation"], rating["awaiting"], rating["comment"]) == (
        None,
        None,
        None,
    )


def test_erasure_removes_what_the_web_chat_still_keeps_for_the_widget(
    protection: PrivacyService, database: Database, clock: FixedClock
) -> None:
    mine, theirs = "socketio:" + "a" * 32, "socketio:" + "b" * 32
    outbox = WebOutbox(database, clock=clock)
    outbox.store(mine, {"text": "Il tuo certificato è pronto, Mario Rossi"})
    outbox.store(theirs, {"text": "Buongiorno"})

    protection.erase("socketio", mine)

    assert [row["conversation_id"] for row in raw_rows(database, "web_outbox")] == [theirs]


def test_erasure_removes_the_citizen_and_leaves_the_others(
    protection: PrivacyService, citizens: Citizens, database: Database
) -> None:
    mine = citizens.everywhere(NUMBER)
    theirs = citizens.everywhere(OTHER)

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
    again = citizens.subscribers.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    assert again.outcome.name == "CREATED"  # not "welcome back"


def test_erasing_someone_unknown_is_harmless(protection: PrivacyService) -> None:
    result = protection.erase("rest", "nessuno")
    assert (result.subscription, result.handoffs, result.reports) == (False, 0, 0)


def unsure(text: str, clock: FixedClock) -> Sighting:
    at = clock.now
    return Sighting(text, "greet", 0.4, None, frozenset({"fallback"}), "rest", at, "c", 0.0)


def test_retention_anonymises_old_closed_chats_and_old_reporters_only(
    protection: PrivacyService,
    citizens: Citizens,
    database: Database,
    settings: Settings,
    hasher: UserHasher,
    clock: FixedClock,
) -> None:
    old = citizens.everywhere(NUMBER)
    ReviewStore(database, hasher, clock=clock).record([unsure("boh vecchio", clock)])
    operators = OperatorService(database)
    mario = operators.add("mario.rossi", "Mario Rossi", "password-lunga-1", "operator")
    handoffs = HandoffService(database, settings, clock=clock)
    handoffs.claim(old, mario)
    handoffs.resolve(old, mario)
    clock.advance(days=200)
    recent = citizens.everywhere(OTHER)
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
    result = purge_all(PrivacyService(database, hasher), events, timedelta(days=30))
    events.dispose()
    assert (result.tracker_events, result.erased_conversations) == (1, 0)


def wamid(number: str) -> str:
    """Meta's message ids carry the recipient's number, base64-encoded."""
    return "wamid." + base64.b64encode(f"\x0c{number}\x15\x02".encode()).decode()


def test_someone_who_received_broadcasts_is_erased_and_the_report_still_counts(
    protection: PrivacyService,
    citizens: Citizens,
    database: Database,
    hasher: UserHasher,
    clock: FixedClock,
) -> None:
    subscribers = citizens.subscribers
    subscribers.subscribe("whatsapp", OTHER, "Iscrivimi", "2024-01", ("emergenze",))
    handoff, broadcast = citizens.with_everything(NUMBER)
    broadcasts = BroadcastService(database, WhatsAppStore(database, hasher, clock=clock))
    before = broadcasts.report(broadcast)
    assert before.counts == {"sent": 2}
    # A second broadcast is still queued for them when they ask.
    later = broadcasts.start_emergency("emergenze", "Fine allerta", created_by="Anna")

    result = protection.erase("whatsapp", NUMBER)

    assert (result.subscription, result.handoffs, result.reports) == (True, 1, 1)
    assert broadcasts.report(broadcast).counts == before.counts  # counted, anonymously
    assert [row["subscriber_id"] for row in raw_rows(database, "broadcast_recipients")].count(
        None
    ) == 2
    claimed = broadcasts.claim(10)
    assert [c.user_id for c in claimed] == [OTHER]  # nothing goes to the erased citizen
    assert broadcasts.report(later).counts == {"sending": 1, "skipped": 1}
    assert [row["user_id"] for row in raw_rows(database, "subscribers")] == [OTHER]
    assert {row["subscriber_id"] for row in raw_rows(database, "subscriber_topics")} == {1}
    assert raw_rows(database, "handoff_messages") == []
    (report,) = raw_rows(database, "reports")
    assert report["user_id"] == ""  # the report stays for the office, without the number
    assert (report["description"], report["photo_url"]) == ("Buca", "https://example.org/buca.jpg")
    assert raw_rows(database, "whatsapp_contacts") == []
    every_value = repr(
        [
            raw_rows(database, table)
            for table in (
                "subscribers",
                "consents",
                "handoffs",
                "handoff_messages",
                "reports",
                "whatsapp_contacts",
                "whatsapp_outbound",
                "broadcast_recipients",
                "review_items",
                "audit_events",
            )
        ]
    )
    assert NUMBER not in every_value and hasher("whatsapp", NUMBER) not in every_value
    assert wamid(NUMBER) not in every_value
    assert handoff in {row["id"] for row in raw_rows(database, "handoffs")}
    # Asking twice is harmless: nothing left, and no error.
    assert protection.erase("whatsapp", NUMBER) == ErasureResult(False, 0, 0)


def erasures(database: Database) -> list[dict]:
    return [row for row in raw_rows(database, "audit_events") if row["action"] == "privacy_erase"]


def test_an_erasure_asked_by_pec_by_number_erases_everything_and_is_audited(
    cli_env: Database,
    citizens: Citizens,
    hasher: UserHasher,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    from urp.cli import main

    monkeypatch.delenv("RABBITMQ_HOST", raising=False)  # no production profile here
    citizens.with_everything(NUMBER)
    citizens.everywhere(OTHER)
    inbox = Inbox(cli_env, WhatsAppStore(cli_env, hasher, clock=clock), hasher, clock=clock)
    for sender, message_id in ((NUMBER, "wamid.NUMBER"), (OTHER, "wamid.OTHER")):
        pending = InboundMessage(message_id, sender, "106540352242922", START, "text", "ciao")
        assert inbox.accept("whatsapp", [pending])
    path = tmp_path / "tracker.db"
    store = tracker_store(path)
    now = time.time()
    save(store, NUMBER, said("voglio un operatore", now), BotUttered("Arrivo", timestamp=now))
    save(store, f"whatsapp:+{NUMBER}", said("ciao", now))  # the same number through Twilio
    save(store, OTHER, said("ciao", now))
    command = ["privacy", "erase", "--number", "+39 333 123 4567", "--operator", "Anna Bianchi"]
    tracker = ["--tracker-store", f"sqlite:///{path}"]

    assert main([*command, "--reference", "2026/0042", *tracker]) == 0

    printed = capsys.readouterr().out
    assert "Cancellazione eseguita a nome di Anna Bianchi" in printed
    assert "Iscrizione cancellata: sì" in printed
    assert "Conversazioni con l'URP rese anonime: 1" in printed
    assert "Segnalazioni senza più il numero: 1" in printed
    assert "Eventi delle conversazioni con l'assistente cancellati: 3" in printed
    assert NUMBER not in printed and "333 123 4567" not in printed
    assert asyncio.run(store.retrieve(NUMBER)) is None
    assert asyncio.run(store.retrieve(OTHER)) is not None
    assert [row["user_id"] for row in raw_rows(cli_env, "subscribers")] == [OTHER]
    assert [row["message_id"] for row in raw_rows(cli_env, "inbound_deliveries")] == ["wamid.OTHER"]
    (audit,) = erasures(cli_env)
    assert audit["operator"] == "Anna Bianchi"
    assert audit["detail"] == (
        "richiesta per e-mail o PEC, per numero (protocollo 2026/0042): iscrizione sì, "
        "1 conversazioni con l'URP, 1 segnalazioni"
    )
    # Again: nothing left, said so, and the request is recorded all the same.
    assert main([*command, *tracker]) == 1
    assert "Nessun dato trovato per questo numero" in capsys.readouterr().out
    details = [row["detail"] for row in erasures(cli_env)]
    assert details[-1] == "richiesta per e-mail o PEC, per numero: nessun dato trovato"
    assert NUMBER not in repr(raw_rows(cli_env, "audit_events"))


def test_an_erasure_by_label_of_someone_who_left_takes_label_dates_and_consents(
    cli_env: Database, citizens: Citizens, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from urp.cli import main

    monkeypatch.delenv("RABBITMQ_HOST", raising=False)

    subscribers = citizens.subscribers
    label = subscribers.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01").label
    subscribers.unsubscribe("whatsapp", NUMBER)
    still = subscribers.subscribe("whatsapp", OTHER, "Iscrivimi", "2024-01").label

    erase = ["privacy", "erase", "--operator", "Anna Bianchi", "--store-only", "--label"]
    assert main([*erase, label]) == 0

    printed = capsys.readouterr().out
    assert "Iscrizione cancellata: sì" in printed
    assert "numero non era più conservato" in printed
    assert [row["user_id"] for row in raw_rows(cli_env, "subscribers")] == [OTHER]
    assert len(raw_rows(cli_env, "consents")) == 1
    assert main([*erase, label]) == 1  # gone
    assert main([*erase, still]) == 0  # still subscribed: the number leads to the rest
    assert raw_rows(cli_env, "subscribers") == []
    details = [row["detail"] for row in erasures(cli_env)]
    assert details == [
        "richiesta per e-mail o PEC, per etichetta: iscrizione sì, 0 conversazioni con l'URP, "
        "0 segnalazioni (numero non più conservato)",
        "richiesta per e-mail o PEC, per etichetta: nessun dato trovato",
        "richiesta per e-mail o PEC, per etichetta: iscrizione sì, 0 conversazioni con l'URP, "
        "0 segnalazioni",
    ]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--number", "393331234567"], "--operator NOME"),
        (["--number", "393331234567", "--operator", "  "], "--operator NOME"),
        (["--number", "12ab", "--operator", "Anna"], "numero di telefono non valido"),
        (["--label", "Mario", "--operator", "Anna"], "etichetta non valida"),
    ],
)
def test_an_erasure_request_without_operator_or_with_a_bad_number_changes_nothing(
    cli_env: Database, arguments: list[str], error: str, capsys
) -> None:
    from urp.cli import main

    assert main(["privacy", "erase", "--store-only", *arguments]) == 2
    printed = capsys.readouterr()
    assert error in printed.err and "12ab" not in printed.err
    assert raw_rows(cli_env, "audit_events") == []


def test_every_reference_to_a_citizen_s_data_lets_it_go() -> None:
    """A foreign key to a subscriber, a chat or a review message without ON DELETE would
    make erasure or retention fail (as broadcast_recipients did before migration 0008)."""
    from urp.core.models import metadata

    citizens = {"subscribers", "handoffs", "review_items"}
    references = [
        (table.name, key.parent.name, key.ondelete)
        for table in metadata.tables.values()
        for key in table.foreign_keys
        if key.column.table.name in citizens
    ]
    assert references and all(ondelete in ("CASCADE", "SET NULL") for *_, ondelete in references)


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0007(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A new database migrated only to 0007, the revision before the fix."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'urp.db'}"
    else:
        server = request.getfixturevalue("postgres_url").rsplit("/", 1)[0]
        url = f"{server}/urp_test_0008_{secrets.token_hex(4)}"
        databases.create(url)
    database = Database(url)
    upgrade(database, "0007")
    yield database
    database.dispose()
    databases.drop(url)


def test_migration_0008_keeps_earlier_broadcasts_and_lets_their_recipients_go(
    at_0007: Database, settings: Settings, hasher: UserHasher, clock: FixedClock
) -> None:
    with at_0007.engine.begin() as connection:
        for statement in (
            "INSERT INTO subscribers (id, channel, user_hash, user_id, status, subscribed_at) "
            f"VALUES (1, 'whatsapp', '{hasher('whatsapp', NUMBER)}', '{NUMBER}', 'active', "
            "'2024-01-15 09:30:00')",
            "INSERT INTO broadcasts (id, kind, topics, priority, messages, template_messages, "
            "status, rate, created_at, created_by) VALUES (1, 'emergency', '[\"memo\"]', 10, "
            "'[\"Allerta\"]', '[\"Allerta\"]', 'completed', 20, '2024-01-15 09:30:00', 'Anna')",
            "INSERT INTO broadcast_recipients (broadcast_id, subscriber_id, status, send_key, "
            "parts_sent, attempts, wamid, updated_at) VALUES (1, 1, 'read', 'b1.x.1', 1, 1, "
            "'wamid.1', '2024-01-15 09:30:00')",
        ):
            connection.execute(text(statement))

    upgrade(at_0007, "0008")

    (row,) = raw_rows(at_0007, "broadcast_recipients")
    assert (row["subscriber_id"], row["status"], row["wamid"]) == (1, "read", "wamid.1")
    # Later migrations keep it too (0012 rebuilds broadcasts on SQLite: no cascade).
    upgrade(at_0007)
    (row,) = raw_rows(at_0007, "broadcast_recipients")
    assert (row["subscriber_id"], row["status"], row["wamid"]) == (1, "read", "wamid.1")
    protection = PrivacyService(at_0007, hasher, clock=clock)
    assert protection.erase("whatsapp", NUMBER).subscription
    (row,) = raw_rows(at_0007, "broadcast_recipients")
    assert (row["subscriber_id"], row["status"], row["wamid"]) == (None, "read", None)


def test_retention_takes_meta_s_ids_from_old_broadcasts_and_keeps_their_counts(
    protection: PrivacyService,
    citizens: Citizens,
    database: Database,
    hasher: UserHasher,
    clock: FixedClock,
) -> None:
    _, broadcast = citizens.with_everything(NUMBER)
    broadcasts = BroadcastService(database, WhatsAppStore(database, hasher, clock=clock))
    clock.advance(days=200)

    protection.purge(timedelta(days=180))

    assert [row["wamid"] for row in raw_rows(database, "broadcast_recipients")] == [None]
    assert broadcasts.report(broadcast).counts == {"sent": 1}


def consent_steps(database: Database, hasher: UserHasher, number: str) -> list[tuple[str, str]]:
    user_hash = hasher("whatsapp", number)
    return [
        (row["scope"], row["action"])
        for row in raw_rows(database, "consent_events")
        if row["user_hash"] == user_hash
    ]


def test_erasure_takes_the_consent_log_too_meta_s_marketing_stop_included(
    protection: PrivacyService,
    citizens: Citizens,
    database: Database,
    hasher: UserHasher,
    clock: FixedClock,
) -> None:
    log = ConsentLog(database, hasher, clock=clock)
    subscribers = citizens.subscribers
    for number in (NUMBER, OTHER):
        subscribers.subscribe("whatsapp", number, "Iscrivimi", "2024-01")
        log.record_marketing("whatsapp", number, stopped=True)
    subscribers.unsubscribe("whatsapp", NUMBER, message="Cancellami")
    assert len(consent_steps(database, hasher, NUMBER)) == 3

    protection.erase("whatsapp", NUMBER)

    assert consent_steps(database, hasher, NUMBER) == []
    assert consent_steps(database, hasher, OTHER) == [
        ("service", "given"),
        ("marketing", "withdrawn"),
    ]
    assert log.marketing_opted_out_among([hasher("whatsapp", OTHER)]) == {hasher("whatsapp", OTHER)}


def test_an_erasure_by_label_of_someone_who_left_takes_their_consent_log(
    protection: PrivacyService, citizens: Citizens, database: Database, hasher: UserHasher
) -> None:
    subscribers = citizens.subscribers
    label = subscribers.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01").label
    subscribers.unsubscribe("whatsapp", NUMBER)  # the number goes, the hash stays
    subscribers.subscribe("whatsapp", OTHER, "Iscrivimi", "2024-01")

    number = int(label.split()[-1])
    assert protection.erase_label(number, operator="Anna").subscription

    assert consent_steps(database, hasher, NUMBER) == []
    assert consent_steps(database, hasher, OTHER) == [("service", "given")]


def test_retention_keeps_of_the_consent_log_only_what_is_still_in_force(
    protection: PrivacyService,
    citizens: Citizens,
    database: Database,
    hasher: UserHasher,
    clock: FixedClock,
) -> None:
    """An active subscription's consent and Meta's marketing stop stay however old (the
    Comune must show the one, the worker honours the other); the rest goes."""
    log = ConsentLog(database, hasher, clock=clock)
    subscribers = citizens.subscribers
    left, active, stopped, recent = NUMBER, OTHER, "393330000001", "393330000002"
    for number in (left, active, stopped):
        subscribers.subscribe("whatsapp", number, "Iscrivimi", "2024-01")
    subscribers.unsubscribe("whatsapp", left)
    log.record_marketing("whatsapp", active, stopped=True)
    log.record_marketing("whatsapp", active, stopped=False, at=clock.now + timedelta(hours=1))
    log.record_marketing("whatsapp", stopped, stopped=True)
    clock.advance(days=200)
    subscribers.subscribe("whatsapp", recent, "Iscrivimi", "2024-01")
    subscribers.unsubscribe("whatsapp", recent)  # within the retention period: kept

    result = protection.purge(timedelta(days=180))

    assert consent_steps(database, hasher, left) == []
    assert consent_steps(database, hasher, active) == [("service", "given")]
    assert consent_steps(database, hasher, stopped) == [
        ("service", "given"),
        ("marketing", "withdrawn"),
    ]
    assert consent_steps(database, hasher, recent) == [
        ("service", "given"),
        ("service", "withdrawn"),
    ]
    assert result.consent_events == 4
    assert log.marketing_opted_out_among(
        [hasher("whatsapp", n) for n in (left, active, stopped)]
    ) == {hasher("whatsapp", stopped)}
    assert protection.purge(timedelta(days=180)).consent_events == 0  # nothing twice
