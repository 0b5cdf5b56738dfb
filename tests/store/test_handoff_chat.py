"""A handed-over chat end to end on the store side, with Rasa's API recorded.

What the console does (claim, reply, release, resolve), what the sweep does, and what the
Rasa server's events add to the transcript, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest

from tests.console.harness import RecordingConversations
from tests.store.conftest import FixedClock
from tests.store.test_handoff_queue import MONDAY_10, NUMBER, rome
from urp.core.db import Database
from urp.core.settings import Settings
from urp.handoff.chat import (
    CLAIMED_INTENT,
    MEDIA_KEY,
    OPERATOR_MESSAGE_KEY,
    OPERATOR_NAME_KEY,
    RELEASED_INTENT,
    REMINDER_INTENT,
    RESOLVED_INTENT,
    ChatUnavailableError,
    DeliveryError,
    HandoffChat,
)
from urp.handoff.operators import Operator, OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.records import HandoffStateError


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_10.astimezone(UTC))


@pytest.fixture
def rasa() -> RecordingConversations:
    return RecordingConversations()


@pytest.fixture
def service(database: Database, settings: Settings, clock: FixedClock) -> HandoffService:
    return HandoffService(database, settings, clock=clock)


@pytest.fixture
def chat(service: HandoffService, rasa: RecordingConversations) -> HandoffChat:
    return HandoffChat(service, rasa)


@pytest.fixture
def mario(database: Database) -> Operator:
    return OperatorService(database).add("mario", "Mario Rossi", "password-di-prova", "operator")


@pytest.fixture
def anna(database: Database) -> Operator:
    return OperatorService(database).add("anna", "Anna Bianchi", "password-di-prova", "operator")


@pytest.fixture
def held(chat: HandoffChat, service: HandoffService, clock: FixedClock, mario: Operator) -> int:
    """A handoff Mario has claimed (the call to Rasa recorded)."""
    handoff_id = opened(service, clock)
    assert chat.claim(handoff_id, mario)
    return handoff_id


def opened(service: HandoffService, clock: FixedClock) -> int:
    before = clock.now - timedelta(seconds=30)
    handoff, _ = service.open(
        NUMBER,
        "callback",
        "unclear",
        [("citizen", "boh", before), ("bot", "Non ho capito", before)],
    )
    return handoff.id


def event(kind: str, text: str | None, clock: FixedClock, **extra: Any) -> dict[str, Any]:
    return {
        "event": kind,
        "sender_id": NUMBER,
        "text": text,
        "timestamp": (clock.now + timedelta(seconds=1)).timestamp(),
        **extra,
    }


def test_claim_tells_the_citizen_who_answers_and_pauses_the_bot(
    chat: HandoffChat,
    service: HandoffService,
    clock: FixedClock,
    rasa: RecordingConversations,
    mario,
    anna,
) -> None:
    handoff_id = opened(service, clock)
    assert chat.claim(handoff_id, mario) is True
    assert rasa.calls == [("trigger", NUMBER, CLAIMED_INTENT, {"handoff_operator": "Mario"})]
    assert chat.get(handoff_id).operator == "mario"
    assert chat.claim(handoff_id, anna) is False  # Mario got there first
    assert len(rasa.calls) == 1


def test_claim_is_undone_when_rasa_cannot_pause_the_bot(
    chat: HandoffChat,
    service: HandoffService,
    clock: FixedClock,
    rasa: RecordingConversations,
    mario,
) -> None:
    handoff_id = opened(service, clock)
    rasa.down = True
    with pytest.raises(ChatUnavailableError):
        chat.claim(handoff_id, mario)
    assert chat.get(handoff_id).status == "pending"
    assert chat.get(handoff_id).operator is None


def test_a_reply_reaches_the_citizen_and_is_marked_delivered(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, held: int
) -> None:
    handoff_id = held
    message = chat.reply(handoff_id, mario, "Buongiorno, mi dica pure.")
    assert message.delivered
    assert rasa.calls[-1] == ("say", NUMBER, "Buongiorno, mi dica pure.")
    assert rasa.metadata[-1] == {
        OPERATOR_MESSAGE_KEY: message.id,
        "operator": "mario",
        OPERATOR_NAME_KEY: "Mario",
    }
    stored = chat.transcript(handoff_id)[-1]
    assert (stored.author, stored.text, stored.delivered) == (
        "operator",
        "Buongiorno, mi dica pure.",
        True,
    )


def test_a_reply_rasa_did_not_take_is_kept_and_can_be_sent_again(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, held: int
) -> None:
    handoff_id = held
    rasa.down = True
    with pytest.raises(DeliveryError) as failure:
        chat.reply(handoff_id, mario, "Le scrivo subito.")
    kept = chat.transcript(handoff_id)[-1]
    assert kept.id == failure.value.message.id
    assert (kept.text, kept.delivered) == ("Le scrivo subito.", False)
    rasa.down = False
    assert chat.retry(kept.id, mario).delivered
    assert chat.transcript(handoff_id)[-1].delivered
    assert [c[0] for c in rasa.calls] == ["trigger", "say"]


def test_the_background_job_sends_undelivered_replies_again_in_order(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, held: int
) -> None:
    rasa.down = True
    for text in ("Prima risposta.", "Seconda risposta."):
        with pytest.raises(DeliveryError):
            chat.reply(held, mario, text)
        clock.advance(seconds=5)
    assert chat.redeliver() == 0  # still down: nothing lost, nothing sent
    rasa.down = False
    assert chat.redeliver() == 2
    assert rasa.calls[-2:] == [
        ("say", NUMBER, "Prima risposta."),
        ("say", NUMBER, "Seconda risposta."),
    ]
    assert all(m.delivered for m in chat.transcript(held))
    assert chat.redeliver() == 0  # never twice


def test_replies_older_than_a_day_are_left_to_the_operator(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, held: int
) -> None:
    rasa.down = True
    with pytest.raises(DeliveryError):
        chat.reply(held, mario, "Risposta di ieri.")
    clock.advance(hours=25)
    rasa.down = False
    assert chat.redeliver() == 0
    assert chat.transcript(held)[-1].delivered is False


def test_only_the_holder_can_retry_a_reply(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, anna, held: int
) -> None:
    handoff_id = held
    rasa.down = True
    with pytest.raises(DeliveryError) as failure:
        chat.reply(handoff_id, mario, "Un attimo.")
    rasa.down = False
    with pytest.raises(HandoffStateError):
        chat.retry(failure.value.message.id, anna)


def test_resolve_gives_the_chat_back_to_the_bot_which_says_so(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, held: int
) -> None:
    handoff_id = held
    resolved = chat.resolve(handoff_id, mario)
    assert resolved.status == "resolved"
    assert rasa.calls[1:] == [("resume", NUMBER), ("trigger", NUMBER, RESOLVED_INTENT, {})]
    assert chat.queue() == []


def test_resolve_with_rasa_down_leaves_the_chat_as_it_was(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, held: int
) -> None:
    handoff_id = held
    rasa.down = True
    with pytest.raises(ChatUnavailableError):
        chat.resolve(handoff_id, mario)
    assert chat.get(handoff_id).status == "assigned"


def test_nobody_resolves_or_releases_a_chat_another_operator_holds(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, anna, held: int
) -> None:
    handoff_id = held
    with pytest.raises(HandoffStateError):
        chat.resolve(handoff_id, anna)
    with pytest.raises(HandoffStateError):
        chat.release(handoff_id, anna)
    assert [c[0] for c in rasa.calls] == ["trigger"]  # never resumed
    assert chat.get(handoff_id).status == "assigned"


def test_a_pending_chat_resolved_is_not_resumed(
    chat: HandoffChat,
    service: HandoffService,
    clock: FixedClock,
    rasa: RecordingConversations,
    mario,
) -> None:
    handoff_id = opened(service, clock)
    chat.resolve(handoff_id, mario)  # answered by phone, say
    assert rasa.calls == [("trigger", NUMBER, RESOLVED_INTENT, {})]


def test_release_puts_the_chat_back_in_the_queue(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, anna, held: int
) -> None:
    handoff_id = held
    released = chat.release(handoff_id, mario)
    assert (released.status, released.operator) == ("pending", None)
    assert rasa.calls[1:] == [("resume", NUMBER), ("trigger", NUMBER, RELEASED_INTENT, {})]
    assert chat.claim(handoff_id, anna)


def test_citizen_and_bot_messages_after_the_handoff_join_the_transcript(
    chat: HandoffChat, service: HandoffService, clock: FixedClock
) -> None:
    handoff_id = opened(service, clock)
    before = event("user", "boh", clock, timestamp=(clock.now - timedelta(seconds=30)).timestamp())
    assert chat.record(before) is None  # already in the transcript the bot handed over
    assert chat.record(event("user", "è per la residenza di mia madre", clock))
    assert chat.record(event("bot", "La tua richiesta è già in coda", clock))
    operator = event("bot", "Buongiorno", clock, metadata={OPERATOR_MESSAGE_KEY: 7})
    assert chat.record(operator) is None  # the console stored it already
    trigger = event(
        "user", "EXTERNAL: EXTERNAL_handoff_reminder", clock, metadata={"is_external": True}
    )
    assert chat.record(trigger) is None
    assert chat.record({**event("user", "ciao", clock), "sender_id": "altro"}) is None
    assert chat.record(event("action", None, clock, name="action_listen")) is None
    lines = [(m.author, m.text) for m in chat.transcript(handoff_id)]
    assert lines == [
        ("citizen", "boh"),
        ("bot", "Non ho capito"),
        ("citizen", "è per la residenza di mia madre"),
        ("bot", "La tua richiesta è già in coda"),
    ]


def test_many_events_at_once_reach_only_the_handed_over_transcripts_in_order(
    chat: HandoffChat, service: HandoffService, clock: FixedClock
) -> None:
    """What the event broker's worker does with the events waiting for it."""
    handoff_id = opened(service, clock)
    others = [{**event("user", f"ciao {n}", clock), "sender_id": f"altro-{n}"} for n in range(5)]
    events = [
        others[0],
        event("user", "è per la residenza", clock),
        *others[1:3],
        event("bot", "Un operatore ti risponderà", clock),
        event("bot", "Buongiorno", clock, metadata={OPERATOR_MESSAGE_KEY: 7}),
        *others[3:],
        event("user", "grazie", clock),
    ]
    recorded = chat.record_all(events)
    assert [m.text for m in recorded] == [
        "è per la residenza",
        "Un operatore ti risponderà",
        "grazie",
    ]
    lines = [(m.author, m.text) for m in chat.transcript(handoff_id)][2:]
    assert lines == [
        ("citizen", "è per la residenza"),
        ("bot", "Un operatore ti risponderà"),
        ("citizen", "grazie"),
    ]
    assert chat.record_all(others) == []
    assert chat.record_all([]) == []


def test_photos_and_positions_are_kept_as_such(
    chat: HandoffChat, service: HandoffService, clock: FixedClock
) -> None:
    handoff_id = opened(service, clock)
    photo = [{"entity": "photo_url", "value": "https://media.example.org/foto.jpg"}]
    position = [
        {"entity": "latitude", "value": 43.6158},
        {"entity": "longitude", "value": 13.5189},
    ]
    chat.record(event("user", "/report_problem", clock, parse_data={"entities": photo}))
    chat.record(event("user", "/report_problem", clock, parse_data={"entities": position}))
    chat.record(event("user", "", clock))  # nothing to show: not recorded
    captioned = {MEDIA_KEY: {"type": "image", "url": "https://media.example.org/buca.jpg"}}
    chat.record(event("user", "la buca in via Marconi", clock, metadata=captioned))
    audio = {MEDIA_KEY: {"type": "audio", "url": "https://media.example.org/voce.ogg"}}
    chat.record(event("user", "/EXTERNAL_unsupported_message", clock, metadata=audio))
    photo_line, position_line, caption_line, audio_line = chat.transcript(handoff_id)[2:]
    assert (photo_line.text, photo_line.media_url) == (None, "https://media.example.org/foto.jpg")
    assert (position_line.latitude, position_line.longitude) == (43.6158, 13.5189)
    assert (caption_line.text, caption_line.media_url) == (
        "la buca in via Marconi",
        "https://media.example.org/buca.jpg",
    )
    assert (audio_line.text, audio_line.media_url) == ("[messaggio vocale]", None)


def test_torna_al_bot_while_an_operator_holds_the_chat_closes_it(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, held: int
) -> None:
    handoff_id = held
    chat.record(event("user", "Torna al bot!", clock))
    assert chat.get(handoff_id).status == "resolved"
    assert rasa.calls[1:] == [("resume", NUMBER), ("trigger", NUMBER, RESOLVED_INTENT, {})]
    assert chat.transcript(handoff_id)[-1].text == "Torna al bot!"


def test_a_sentence_with_torna_al_bot_in_it_does_not_close_the_chat(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, mario, held: int
) -> None:
    handoff_id = held
    chat.record(event("user", "se non sa rispondere torna al bot?", clock))
    assert chat.get(handoff_id).status == "assigned"


def test_sweep_reminds_the_waiting_and_releases_idle_chats_telling_them(
    chat: HandoffChat,
    service: HandoffService,
    clock: FixedClock,
    rasa: RecordingConversations,
    mario,
) -> None:
    waiting = opened(service, clock)
    clock.now = rome(23, 12, 30).astimezone(UTC)
    second, _ = service.open("393330000009", "whatsapp", "request")
    chat.claim(second.id, mario)
    rasa.calls.clear()
    clock.now = rome(25, 10).astimezone(UTC)  # two days later, in hours
    result = chat.sweep()
    assert [h.id for h in result.remind] == [waiting]
    assert [h.id for h in result.released] == [second.id]
    assert rasa.calls == [
        ("resume", "393330000009"),  # the bot answers again before the chat is queued
        ("trigger", NUMBER, REMINDER_INTENT, {}),
        ("trigger", "393330000009", RELEASED_INTENT, {}),
    ]


def test_an_idle_chat_stays_with_its_operator_while_rasa_is_unreachable(
    chat: HandoffChat, clock: FixedClock, rasa: RecordingConversations, held: int
) -> None:
    clock.advance(minutes=31)
    rasa.down = True
    assert chat.sweep().released == ()
    assert chat.get(held).status == "assigned"  # not queued with the bot still paused
    rasa.down = False
    assert [h.id for h in chat.sweep().released] == [held]


def test_idle_chats_can_be_closed_instead(
    database: Database, settings: Settings, clock: FixedClock, rasa: RecordingConversations, mario
) -> None:
    service = HandoffService(database, settings, clock=clock, idle_action="resolve")
    chat = HandoffChat(service, rasa)
    handoff, _ = service.open(NUMBER, "whatsapp", "request")
    chat.claim(handoff.id, mario)
    clock.advance(minutes=31)
    result = chat.sweep()
    assert [h.id for h in result.resolved] == [handoff.id] and not result.released
    assert chat.get(handoff.id).status == "resolved"
    assert rasa.calls[-2:] == [("resume", NUMBER), ("trigger", NUMBER, RESOLVED_INTENT, {})]
