"""Handoffs to the office: one open per conversation, claiming, replies, timeouts, stats.

Times are Ancona's (settings/ancona.yml): Mon/Wed/Fri 9-13, Tue/Thu 9-13 and 15-17.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError

from tests.store.conftest import FixedClock, raw_rows
from urp.core.db import Database
from urp.core.settings import Settings
from urp.handoff.operators import Operator, OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.records import HandoffStateError, UnknownHandoffError
from urp.handoff.stats import DayStats

ROME = ZoneInfo("Europe/Rome")
NUMBER = "393331234567"
OTHER = "393337654321"


def rome(day: int, hour: int, minute: int = 0) -> datetime:
    """A time of November 2026 in Ancona (the 23rd is a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ROME)


MONDAY_10 = rome(23, 10)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_10.astimezone(UTC))


@pytest.fixture
def handoffs(database: Database, settings: Settings, clock: FixedClock) -> HandoffService:
    return HandoffService(database, settings, clock=clock)


@pytest.fixture
def staff(database: Database) -> dict[str, Operator]:
    accounts = OperatorService(database)
    return {
        name: accounts.add(name, name.title(), "password-di-prova", role)
        for name, role in (("mario", "operator"), ("anna", "operator"), ("capo", "admin"))
    }


def transcript(at: datetime) -> list[tuple[str, str, datetime]]:
    return [
        ("citizen", "devo rifare la carta d'identità ma il sito non va", at),
        ("bot", "Non ho capito, puoi riformulare?", at + timedelta(seconds=5)),
        ("citizen", "voglio parlare con qualcuno", at + timedelta(seconds=30)),
    ]


def test_opening_is_idempotent_per_conversation(
    handoffs: HandoffService, clock: FixedClock
) -> None:
    first, created = handoffs.open(NUMBER, "whatsapp", "unclear", transcript(clock.now))
    assert created
    assert (first.status, first.reason, first.channel, first.out_of_hours) == (
        "pending",
        "unclear",
        "whatsapp",
        False,
    )
    assert first.created_at == first.last_activity_at == clock.now and first.operator is None
    clock.advance(minutes=1)
    again, created = handoffs.open(NUMBER, "whatsapp", "request", transcript(clock.now))
    assert not created and again == first
    assert handoffs.for_conversation(NUMBER) == first
    assert handoffs.for_conversation(OTHER) is None
    messages = handoffs.messages(first.id)
    assert [(m.author, m.delivered) for m in messages] == [
        ("citizen", True),
        ("bot", True),
        ("citizen", True),
    ]
    assert messages[0].text == "devo rifare la carta d'identità ma il sito non va"


def test_a_resolved_conversation_can_be_handed_over_again(
    handoffs: HandoffService, staff: dict[str, Operator], database: Database
) -> None:
    first, _ = handoffs.open(NUMBER, "whatsapp", "request")
    handoffs.resolve(first.id, staff["mario"])
    assert handoffs.for_conversation(NUMBER) is None
    second, created = handoffs.open(NUMBER, "whatsapp", "appointment")
    assert created and second.id != first.id
    assert handoffs.for_conversation(NUMBER) == second
    assert len(raw_rows(database, "handoffs")) == 2


def test_the_index_allows_one_open_handoff_per_conversation(
    handoffs: HandoffService, database: Database
) -> None:
    """The partial unique index itself, bypassing the service."""
    handoffs.open(NUMBER, "whatsapp", "request")
    with database.engine.connect() as connection:
        columns = (
            "conversation_id, channel, status, reason, out_of_hours, created_at, last_activity_at"
        )
        values = f"'{NUMBER}', 'whatsapp', '{{}}', 'request', false, '2026-11-23', '2026-11-23'"
        insert = f"INSERT INTO handoffs ({columns}) VALUES ({values})"
        connection.exec_driver_sql(insert.format("resolved"))
        connection.exec_driver_sql(insert.format("resolved"))
        with pytest.raises(IntegrityError):
            connection.exec_driver_sql(insert.format("assigned"))


@pytest.mark.parametrize(
    ("at", "out_of_hours"),
    [
        (rome(23, 8, 59), True),
        (rome(23, 9), False),
        (rome(23, 13), True),  # the end is excluded
        (rome(24, 16), False),  # Tuesday afternoon
        (rome(23, 16), True),  # Monday afternoon
        (rome(28, 10), True),  # Saturday
        (datetime(2026, 12, 8, 10, tzinfo=ROME), True),  # Immacolata, a Tuesday
    ],
)
def test_out_of_hours_is_recorded(
    handoffs: HandoffService, clock: FixedClock, at: datetime, out_of_hours: bool
) -> None:
    clock.now = at.astimezone(UTC)
    handoff, _ = handoffs.open(NUMBER, "whatsapp", "request")
    assert handoff.out_of_hours is out_of_hours


def test_bad_requests_are_refused(handoffs: HandoffService, clock: FixedClock) -> None:
    with pytest.raises(ValueError, match="reason"):
        handoffs.open(NUMBER, "whatsapp", "boredom")
    with pytest.raises(ValueError, match="author"):
        handoffs.open(NUMBER, "whatsapp", "request", [("robot", "ciao", clock.now)])
    with pytest.raises(ValueError, match="timezone"):
        handoffs.open(NUMBER, "whatsapp", "request", [("bot", "ciao", datetime(2026, 11, 23))])
    with pytest.raises(ValueError, match="conversation id"):
        handoffs.open("", "whatsapp", "request")
    assert handoffs.queue() == []


def test_claim_reply_resolve(
    handoffs: HandoffService,
    staff: dict[str, Operator],
    clock: FixedClock,
    database: Database,
) -> None:
    handoff, _ = handoffs.open(NUMBER, "whatsapp", "request")
    clock.advance(minutes=4)
    assert handoffs.claim(handoff.id, staff["mario"])
    assert not handoffs.claim(handoff.id, staff["anna"])  # already taken
    claimed = handoffs.get(handoff.id)
    assert claimed is not None
    assert (claimed.status, claimed.operator, claimed.assigned_at) == (
        "assigned",
        "mario",
        clock.now,
    )
    with pytest.raises(HandoffStateError, match="non è assegnata a anna"):
        handoffs.operator_reply(handoff.id, staff["anna"], "Ci penso io")
    clock.advance(minutes=1)
    reply = handoffs.operator_reply(handoff.id, staff["mario"], " Buongiorno, sono Mario. ")
    assert (reply.author, reply.operator, reply.text, reply.delivered) == (
        "operator",
        "mario",
        "Buongiorno, sono Mario.",
        False,
    )
    handoffs.mark_delivered(reply.id)
    assert handoffs.messages(handoff.id)[-1].delivered
    with pytest.raises(HandoffStateError, match="assegnata a un altro"):
        handoffs.resolve(handoff.id, staff["anna"])
    clock.advance(minutes=10)
    resolved = handoffs.resolve(handoff.id, staff["mario"])
    assert (resolved.status, resolved.resolved_at, resolved.operator) == (
        "resolved",
        clock.now,
        "mario",
    )
    with pytest.raises(HandoffStateError, match="già stata chiusa"):
        handoffs.operator_reply(handoff.id, staff["mario"], "ancora")
    with pytest.raises(HandoffStateError, match="già stata chiusa"):
        handoffs.add_message(handoff.id, "citizen", "ci sei?")
    audit = raw_rows(database, "audit_events")
    assert [(row["operator"], row["action"]) for row in audit] == [
        ("mario", "handoff_claim"),
        ("mario", "handoff_reply"),
        ("mario", "handoff_resolve"),
    ]
    # Who answered which conversation and when, never what nor to which number.
    assert audit[1]["detail"] == f"conversazione {handoff.id}, messaggio {reply.id}"
    assert all("Mario." not in row["detail"] and NUMBER not in row["detail"] for row in audit)


def test_an_admin_resolves_anyones_chat_and_anyone_resolves_a_pending_one(
    handoffs: HandoffService, staff: dict[str, Operator]
) -> None:
    first, _ = handoffs.open(NUMBER, "whatsapp", "request")
    handoffs.claim(first.id, staff["mario"])
    assert handoffs.resolve(first.id, staff["capo"]).operator == "mario"
    second, _ = handoffs.open(OTHER, "whatsapp", "abuse")
    assert handoffs.resolve(second.id, staff["anna"]).operator == "anna"


def test_unknown_handoffs_and_disabled_operators(
    handoffs: HandoffService, staff: dict[str, Operator], database: Database
) -> None:
    assert handoffs.get(999) is None
    with pytest.raises(UnknownHandoffError):
        handoffs.claim(999, staff["mario"])
    with pytest.raises(UnknownHandoffError):
        handoffs.add_message(999, "citizen", "ciao")
    handoff, _ = handoffs.open(NUMBER, "whatsapp", "request")
    OperatorService(database).disable("mario")
    with pytest.raises(HandoffStateError, match="non è attivo"):
        handoffs.claim(handoff.id, staff["mario"])  # a console still holding the old account
    assert handoffs.get(handoff.id).status == "pending"  # type: ignore[union-attr]


def test_messages_photos_and_positions(
    handoffs: HandoffService, staff: dict[str, Operator], clock: FixedClock
) -> None:
    handoff, _ = handoffs.open(NUMBER, "whatsapp", "request")
    clock.advance(minutes=3)
    photo = handoffs.add_message(
        handoff.id, "citizen", None, media_url="https://media.example.org/buca.jpg"
    )
    place = handoffs.add_message(handoff.id, "citizen", "", latitude=43.6175, longitude=13.5189)
    assert (photo.text, photo.media_url) == (None, "https://media.example.org/buca.jpg")
    assert (place.latitude, place.longitude) == (43.6175, 13.5189)
    assert handoffs.get(handoff.id).last_activity_at == clock.now  # type: ignore[union-attr]
    for kwargs, message in [
        ({"text": " "}, "needs text"),
        ({"text": "x", "latitude": 43.0}, "go together"),
        ({"text": "x", "latitude": 91.0, "longitude": 0.0}, "on Earth"),
        ({"text": "x", "media_url": "file:///etc/passwd"}, "web address"),
        ({"text": "x", "operator": staff["mario"]}, "operator's message"),
    ]:
        with pytest.raises(ValueError, match=message):
            handoffs.add_message(handoff.id, "citizen", **kwargs)
    with pytest.raises(ValueError, match="operator's message"):
        handoffs.add_message(handoff.id, "operator", "senza operatore")
    with pytest.raises(ValueError, match="author"):
        handoffs.add_message(handoff.id, "robot", "ciao")
    assert len(handoffs.messages(handoff.id)) == 2


def test_release_puts_a_chat_back_in_the_queue(
    handoffs: HandoffService, staff: dict[str, Operator]
) -> None:
    handoff, _ = handoffs.open(NUMBER, "whatsapp", "request")
    assert not handoffs.release(handoff.id)  # pending: nothing to release
    handoffs.claim(handoff.id, staff["mario"])
    assert handoffs.release(handoff.id)
    released = handoffs.get(handoff.id)
    assert released is not None
    assert (released.status, released.operator, released.assigned_at) == ("pending", None, None)
    assert handoffs.claim(handoff.id, staff["anna"])


def test_the_queue_shows_chats_queued_while_closed_first_at_opening(
    handoffs: HandoffService, staff: dict[str, Operator], clock: FixedClock
) -> None:
    opened = {}
    for name, at in [
        ("monday_noon", rome(23, 12)),  # in hours, never claimed
        ("monday_evening", rome(23, 20)),  # out of hours
        ("tuesday_early", rome(24, 7, 30)),  # out of hours
        ("tuesday_opening", rome(24, 9, 1)),
        ("assigned", rome(24, 9, 2)),
    ]:
        clock.now = at.astimezone(UTC)
        opened[name], _ = handoffs.open(f"3933300000{len(opened)}", "whatsapp", "request")
    clock.now = rome(24, 9, 5).astimezone(UTC)
    handoffs.claim(opened["assigned"].id, staff["mario"])
    queue = handoffs.queue()
    names = {h.id: name for name, h in opened.items()}
    assert [names[q.handoff.id] for q in queue] == [
        "monday_evening",
        "tuesday_early",
        "monday_noon",
        "tuesday_opening",
        "assigned",
    ]
    waiting = {names[q.handoff.id]: q.waiting for q in queue}
    assert waiting["tuesday_early"] == timedelta(minutes=95)
    assert waiting["assigned"] == timedelta(minutes=3)  # until it was claimed
    clock.now = rome(24, 13, 30).astimezone(UTC)  # closed: simply oldest first
    assert [names[q.handoff.id] for q in handoffs.queue()] == [
        "monday_noon",
        "monday_evening",
        "tuesday_early",
        "tuesday_opening",
        "assigned",
    ]


def test_sweep_reminds_at_opening_and_after_a_long_wait_in_hours(
    handoffs: HandoffService, clock: FixedClock
) -> None:
    clock.now = rome(23, 20).astimezone(UTC)
    night, _ = handoffs.open(NUMBER, "whatsapp", "request")
    assert handoffs.sweep(rome(23, 22).astimezone(UTC)).remind == ()  # still closed
    clock.now = rome(24, 9).astimezone(UTC)
    morning, _ = handoffs.open(OTHER, "whatsapp", "request")
    at_opening = rome(24, 9, 1).astimezone(UTC)
    result = handoffs.sweep(at_opening)
    assert [h.id for h in result.remind] == [night.id]
    assert result.remind[0].reminded_at == at_opening and result.released == ()
    assert handoffs.sweep(rome(24, 10, 59).astimezone(UTC)).remind == ()  # 1h59 is not 2h
    later = rome(24, 11).astimezone(UTC)
    assert [h.id for h in handoffs.sweep(later).remind] == [morning.id]
    assert handoffs.sweep(rome(24, 12).astimezone(UTC)).remind == ()  # reminded once only


def test_sweep_releases_idle_chats_at_any_hour(
    database: Database, settings: Settings, staff: dict[str, Operator], clock: FixedClock
) -> None:
    handoffs = HandoffService(database, settings, clock=clock, release_after=timedelta(minutes=20))
    handoff, _ = handoffs.open(NUMBER, "whatsapp", "request")
    handoffs.claim(handoff.id, staff["mario"])
    clock.advance(minutes=15)
    handoffs.operator_reply(handoff.id, staff["mario"], "Controllo e ti rispondo")
    assert handoffs.sweep(clock.now + timedelta(minutes=19)).released == ()
    late = rome(23, 14).astimezone(UTC)  # closed by then: released anyway
    [released] = handoffs.sweep(late).released
    assert (released.id, released.status, released.operator) == (handoff.id, "pending", None)
    assert released.last_activity_at == late
    assert handoffs.sweep(late + timedelta(hours=1)) == handoffs.sweep(late)


def test_stats_by_day(
    handoffs: HandoffService, staff: dict[str, Operator], clock: FixedClock
) -> None:
    # (created, minutes to claim, minutes to resolve) on Monday; waits 2, 4, 6, 8, 30.
    for n, wait in enumerate((2, 4, 6, 8, 30)):
        clock.now = rome(23, 9 + n).astimezone(UTC)
        handoff, _ = handoffs.open(f"39333000{n}", "whatsapp", "request")
        clock.advance(minutes=wait)
        handoffs.claim(handoff.id, staff["mario"])
        clock.advance(minutes=10)
        handoffs.resolve(handoff.id, staff["mario"])
    clock.now = rome(23, 11, 30).astimezone(UTC)
    handoffs.open("393339999", "whatsapp", "request")  # still pending
    # 23:30 UTC on Monday is already Tuesday in Ancona.
    clock.now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    handoffs.open("393338888", "telegram", "abuse")
    assert handoffs.stats(ROME) == [
        DayStats("2026-11-23", 6, 5, 5, 6.0, 30.0, 16.0, 40.0),
        DayStats("2026-11-24", 1, 0, 0, None, None, None, None),
    ]
    assert [day.day for day in handoffs.stats(UTC)] == ["2026-11-23"]


def test_two_threads_opening_the_same_conversation_make_one_handoff(
    handoffs: HandoffService, database: Database
) -> None:
    rounds, workers = 10, 2
    barrier = threading.Barrier(workers)

    def race() -> list[tuple[int, bool]]:
        outcomes = []
        for n in range(rounds):
            barrier.wait()
            handoff, created = handoffs.open(f"39333{n:07d}", "whatsapp", "unclear")
            outcomes.append((handoff.id, created))
        return outcomes

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(race) for _ in range(workers)]
        outcomes = [o for future in futures for o in future.result(timeout=120)]
    assert len(raw_rows(database, "handoffs")) == rounds
    assert Counter(created for _, created in outcomes) == {True: rounds, False: rounds}
    assert len({handoff_id for handoff_id, _ in outcomes}) == rounds


def test_two_operators_claiming_the_same_handoff_one_wins(
    handoffs: HandoffService, staff: dict[str, Operator], database: Database
) -> None:
    rounds = 10
    ids = [handoffs.open(f"39333{n:07d}", "whatsapp", "request")[0].id for n in range(rounds)]
    barrier = threading.Barrier(2)

    def race(operator: Operator) -> list[bool]:
        results = []
        for handoff_id in ids:
            barrier.wait()
            results.append(handoffs.claim(handoff_id, operator))
        return results

    with ThreadPoolExecutor(2) as pool:
        mario = pool.submit(race, staff["mario"])
        anna = pool.submit(race, staff["anna"])
        results = list(zip(mario.result(timeout=120), anna.result(timeout=120), strict=True))
    assert all(a != b for a, b in results)  # exactly one of the two, every time
    winners = {h.id: h.operator for h in (handoffs.get(i) for i in ids) if h}
    assert winners == {i: "mario" if m else "anna" for i, (m, _) in zip(ids, results, strict=True)}
    assert len(raw_rows(database, "audit_events")) == rounds


def test_the_phone_number_never_reaches_the_logs(
    handoffs: HandoffService,
    staff: dict[str, Operator],
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    handoff, _ = handoffs.open(NUMBER, "whatsapp", "unclear", transcript(clock.now))
    handoffs.claim(handoff.id, staff["mario"])
    handoffs.sweep(clock.now + timedelta(hours=3))
    handoffs.claim(handoff.id, staff["anna"])
    handoffs.operator_reply(handoff.id, staff["anna"], "Eccomi")
    handoffs.resolve(handoff.id, staff["anna"])
    assert "released" in caplog.text and "resolved" in caplog.text
    assert NUMBER not in caplog.text
    assert NUMBER not in repr(handoff) and NUMBER not in str(handoffs.queue())
