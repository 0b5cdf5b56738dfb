"""Operators together on a chat: assigning, transferring, internal notes, the audit trail,
the queue's last message and the history's search (issue 26), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import text

from tests.store.conftest import FixedClock, raw_rows
from urp.core.db import Database, alembic_config, upgrade
from urp.core.models import ASSIGNED, PENDING, RESOLVED
from urp.core.settings import Settings
from urp.handoff.history import HistoryQuery
from urp.handoff.operators import Operator, OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.records import (
    ASSIGN_ACTION,
    CLAIM_ACTION,
    NOTE_ACTION,
    RELEASE_ACTION,
    REPLY_ACTION,
    RESOLVE_ACTION,
    TRANSFER_ACTION,
    HandoffStateError,
    UnknownHandoffError,
)

ROME = ZoneInfo("Europe/Rome")
MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=ROME)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_10.astimezone(UTC))


@pytest.fixture
def handoffs(database: Database, settings: Settings, clock: FixedClock) -> HandoffService:
    return HandoffService(database, settings, clock=clock)


@pytest.fixture
def staff(database: Database) -> dict[str, Operator]:
    accounts = OperatorService(database)
    staff = {
        name: accounts.add(name, f"{name.title()} Rossi", "password-di-prova", role)
        for name, role in (
            ("mario", "operator"),
            ("anna", "operator"),
            ("capo", "admin"),
            ("tina", "trainer"),
            ("piero", "operator"),
        )
    }
    accounts.disable("piero")
    return staff


def open_chat(handoffs: HandoffService, number: str = "393331234567", **extra: str) -> int:
    handoff, _ = handoffs.open(number, extra.get("channel", "whatsapp"), "request")
    return handoff.id


def actions(handoffs: HandoffService, handoff_id: int) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.detail) for e in handoffs.teamwork.trail(handoff_id)]


# -- assign and transfer -------------------------------------------------------------------


def test_an_operator_assigns_a_pending_chat_to_a_colleague(
    handoffs: HandoffService, staff: dict[str, Operator], clock: FixedClock
) -> None:
    chat = open_chat(handoffs)
    clock.advance(minutes=4)
    handoff, was_pending = handoffs.teamwork.assign(chat, staff["mario"], "Anna")
    assert was_pending
    assert (handoff.status, handoff.operator) == (ASSIGNED, "anna")
    assert handoff.assigned_at == clock.now
    # Held now: Mario's late claim loses, as against any other claim.
    assert not handoffs.claim(chat, staff["mario"])
    assert actions(handoffs, chat) == [("mario", ASSIGN_ACTION, f"conversazione {chat}, a anna")]
    assert handoffs.teamwork.notes(chat) == []


def test_only_the_holder_or_an_admin_transfers_a_held_chat_with_a_note(
    handoffs: HandoffService, staff: dict[str, Operator]
) -> None:
    chat = open_chat(handoffs)
    assert handoffs.claim(chat, staff["mario"])
    with pytest.raises(HandoffStateError, match="un altro operatore"):
        handoffs.teamwork.assign(chat, staff["anna"], "anna")
    handoff, was_pending = handoffs.teamwork.assign(
        chat, staff["mario"], "anna", "  La signora aspetta il modulo ISEE.\r\n  "
    )
    assert not was_pending
    assert (handoff.status, handoff.operator) == (ASSIGNED, "anna")
    (note,) = handoffs.teamwork.notes(chat)
    assert (note.author, note.addressee, note.text) == (
        "mario",
        "anna",
        "La signora aspetta il modulo ISEE.",
    )
    # An admin may take it from anybody, to themselves or to a colleague.
    handoff, _ = handoffs.teamwork.assign(chat, staff["capo"], "capo")
    assert handoff.operator == "capo"
    assert [action for _, action, _ in actions(handoffs, chat)] == [
        CLAIM_ACTION,
        TRANSFER_ACTION,
        NOTE_ACTION,
        TRANSFER_ACTION,
    ]
    assert actions(handoffs, chat)[1][2] == f"conversazione {chat}, da mario a anna"
    # Never the note's words in the audit log.
    assert "ISEE" not in str(raw_rows(handoffs._db, "audit_events"))


@pytest.mark.parametrize(
    ("colleague", "problem"),
    [
        ("tina", "non è un operatore attivo"),
        ("piero", "non è un operatore attivo"),
        ("nessuno", "non è un operatore attivo"),
        ("mario", "già affidata"),
    ],
)
def test_a_chat_goes_only_to_an_active_operator_who_does_not_hold_it(
    handoffs: HandoffService, staff: dict[str, Operator], colleague: str, problem: str
) -> None:
    chat = open_chat(handoffs)
    handoffs.claim(chat, staff["mario"])
    with pytest.raises(HandoffStateError, match=problem):
        handoffs.teamwork.assign(chat, staff["mario"], colleague)
    assert handoffs.get(chat).operator == "mario"


def test_closed_unknown_chats_and_disabled_or_trainer_accounts_cannot_assign(
    handoffs: HandoffService, staff: dict[str, Operator]
) -> None:
    chat = open_chat(handoffs)
    for who in ("piero", "tina"):
        with pytest.raises(HandoffStateError, match="non è attivo"):
            handoffs.teamwork.assign(chat, staff[who], "anna")
    assert handoffs.get(chat).status == PENDING
    handoffs.resolve(chat, staff["mario"])
    with pytest.raises(HandoffStateError, match="già stata chiusa"):
        handoffs.teamwork.assign(chat, staff["mario"], "anna")
    with pytest.raises(UnknownHandoffError):
        handoffs.teamwork.assign(999, staff["mario"], "anna")


# -- notes and the trail ------------------------------------------------------------------


def test_notes_stay_with_the_operators_and_never_join_the_citizens_transcript(
    handoffs: HandoffService, staff: dict[str, Operator], clock: FixedClock
) -> None:
    chat = open_chat(handoffs)
    handoffs.claim(chat, staff["mario"])
    handoffs.operator_reply(chat, staff["mario"], "Buongiorno")
    clock.advance(minutes=1)
    note = handoffs.teamwork.add_note(chat, staff["anna"], "Ha già scritto ieri per la TARI")
    assert (note.author, note.addressee, note.at) == ("anna", None, clock.now)
    assert [m.text for m in handoffs.messages(chat)] == ["Buongiorno"]
    assert [m.text for m in handoffs.undelivered(clock.now - timedelta(days=1))] == ["Buongiorno"]
    handoffs.resolve(chat, staff["mario"])
    handoffs.teamwork.add_note(chat, staff["mario"], "Richiamata al telefono")  # kept after
    assert [n.text for n in handoffs.teamwork.notes(chat)] == [
        "Ha già scritto ieri per la TARI",
        "Richiamata al telefono",
    ]
    assert [n.text for n in handoffs.teamwork.notes(chat, after_id=note.id)] == [
        "Richiamata al telefono"
    ]
    for empty in ("", "   "):
        with pytest.raises(HandoffStateError, match="testo della nota"):
            handoffs.teamwork.add_note(chat, staff["mario"], empty)
    with pytest.raises(HandoffStateError, match="supera"):
        handoffs.teamwork.add_note(chat, staff["mario"], "x" * 2001)
    with pytest.raises(UnknownHandoffError):
        handoffs.teamwork.add_note(999, staff["mario"], "Nota")


def test_the_trail_says_who_did_what_in_order(
    handoffs: HandoffService, staff: dict[str, Operator], clock: FixedClock
) -> None:
    chat = open_chat(handoffs)
    other = open_chat(handoffs, "393330000000")
    steps = [
        lambda: handoffs.claim(chat, staff["mario"]),
        lambda: handoffs.operator_reply(chat, staff["mario"], "Eccomi"),
        lambda: handoffs.teamwork.add_note(chat, staff["mario"], "Serve l'anagrafe"),
        lambda: handoffs.teamwork.assign(chat, staff["mario"], "anna"),
        lambda: handoffs.release(chat, staff["anna"]),
        lambda: handoffs.claim(other, staff["anna"]),  # another chat: not in this trail
        lambda: handoffs.resolve(chat, staff["capo"]),
    ]
    for step in steps:
        clock.advance(minutes=1)
        step()
    trail = handoffs.teamwork.trail(chat)
    assert [(e.actor, e.action) for e in trail] == [
        ("mario", CLAIM_ACTION),
        ("mario", REPLY_ACTION),
        ("mario", NOTE_ACTION),
        ("mario", TRANSFER_ACTION),
        ("anna", RELEASE_ACTION),
        ("capo", RESOLVE_ACTION),
    ]
    assert [e.at for e in trail] == sorted(e.at for e in trail)
    assert handoffs.get(chat).status == RESOLVED


def test_the_queue_shows_the_citizens_last_written_message(
    handoffs: HandoffService, clock: FixedClock
) -> None:
    at = clock.now - timedelta(minutes=3)
    chat, _ = handoffs.open(
        "393331234567",
        "whatsapp",
        "request",
        [("citizen", "Buongiorno", at), ("bot", "Ti passo l'URP", at)],
    )
    silent = open_chat(handoffs, "393330000000")
    handoffs.add_message(chat.id, "citizen", "Il mio numero è 333 1234567")
    handoffs.add_message(chat.id, "citizen", None, latitude=43.6, longitude=13.5)
    handoffs.add_message(chat.id, "bot", "Un operatore ti risponde a breve")
    last = {q.handoff.id: q.last_message for q in handoffs.queue()}
    assert last == {chat.id: "Il mio numero è 333 1234567", silent: None}


# -- the history ---------------------------------------------------------------------------


def test_the_history_finds_words_numbers_and_reasons_open_or_closed(
    handoffs: HandoffService, staff: dict[str, Operator], clock: FixedClock
) -> None:
    tari = open_chat(handoffs, "393331111111")
    handoffs.add_message(tari, "citizen", "Non ho ricevuto il bollettino TARI")
    handoffs.resolve(tari, staff["mario"])
    clock.advance(minutes=5)
    noted = open_chat(handoffs, "393332222222", channel="socketio")
    handoffs.teamwork.add_note(noted, staff["anna"], "Chiede della tari del 2025")
    clock.advance(minutes=5)
    other, _ = handoffs.open("393333333333", "whatsapp", "appointment")

    def found(**query: object) -> list[int]:
        page = handoffs.history.search(HistoryQuery(**query), ROME)
        return [h.id for h in page.handoffs]

    assert found() == [other.id, noted, tari]  # everything, newest first
    assert found(words="Tari") == [noted, tari]  # messages and notes, any case
    assert found(words=f"n. {other.id}") == [other.id]
    assert found(words="appuntamento", reasons=["appointment"]) == [other.id]
    assert found(words="100%") == []  # a wildcard is a character like any other
    assert found(words="bollettino_tari") == []
    assert found(statuses=[RESOLVED]) == [tari]
    assert found(channels=["socketio", "rest"]) == [noted]


def test_the_history_filters_by_day_in_the_office_time_zone(
    handoffs: HandoffService, clock: FixedClock
) -> None:
    # 00:30 in Ancona on the 24th is still the 23rd in UTC.
    clock.now = datetime(2026, 11, 24, 0, 30, tzinfo=ROME).astimezone(UTC)
    late = open_chat(handoffs, "393331111111")
    clock.now = datetime(2026, 11, 23, 23, 50, tzinfo=ROME).astimezone(UTC)
    early = open_chat(handoffs, "393332222222")

    def found(since: date | None, until: date | None) -> list[int]:
        page = handoffs.history.search(HistoryQuery(since=since, until=until), ROME)
        return [h.id for h in page.handoffs]

    assert found(date(2026, 11, 24), None) == [late]
    assert found(None, date(2026, 11, 23)) == [early]
    assert found(date(2026, 11, 23), date(2026, 11, 24)) == [late, early]


def test_the_history_by_operator_counts_who_answered_before_a_transfer(
    handoffs: HandoffService, staff: dict[str, Operator]
) -> None:
    answered = open_chat(handoffs, "393331111111")
    handoffs.claim(answered, staff["mario"])
    handoffs.operator_reply(answered, staff["mario"], "Eccomi")
    handoffs.teamwork.assign(answered, staff["mario"], "anna")
    annas = open_chat(handoffs, "393332222222")
    handoffs.claim(annas, staff["anna"])
    nobody = open_chat(handoffs, "393333333333")

    def found(operator: str) -> list[int]:
        page = handoffs.history.search(HistoryQuery(operator=operator), ROME)
        return [h.id for h in page.handoffs]

    assert found("mario") == [answered]
    assert found("anna") == [annas, answered]
    assert found("nessuno") == []
    assert nobody not in found("capo")


def test_the_history_is_paged(handoffs: HandoffService, clock: FixedClock) -> None:
    ids = []
    for number in range(5):
        clock.advance(minutes=1)
        ids.append(open_chat(handoffs, f"39333000000{number}"))
    newest_first = ids[::-1]
    pages = [
        handoffs.history.search(HistoryQuery(page=page), ROME, per_page=2) for page in (1, 2, 3)
    ]
    assert [[h.id for h in p.handoffs] for p in pages] == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert {(p.total, p.pages) for p in pages} == {(5, 3)}
    beyond = handoffs.history.search(HistoryQuery(page=9), ROME, per_page=2)
    assert (beyond.page, [h.id for h in beyond.handoffs]) == (3, newest_first[4:])


def test_the_migration_links_the_audit_rows_written_before_it(database: Database) -> None:
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0014")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (at, operator, action, detail) VALUES "
                "('2026-11-23 09:00:00+00', 'mario', 'handoff_reply', "
                "'conversazione 7, messaggio 3'), "
                "('2026-11-23 09:01:00+00', 'mario', 'login', 'conversazione 8')"
            )
        )
    upgrade(database)
    rows = {row["action"]: row["handoff_id"] for row in raw_rows(database, "audit_events")}
    assert rows == {"handoff_reply": 7, "login": None}
