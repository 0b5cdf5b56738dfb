"""A handed-over chat end to end on the store side, with Rasa's API recorded.

What the console does (claim, reply, release, resolve), what the sweep does, and what the
Rasa server's events add to the transcript, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest

from tests.store.conftest import FixedClock
from tests.store.desk import Desk
from tests.store.test_handoff_queue import NUMBER, rome
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
def anna(database: Database) -> Operator:
    return OperatorService(database).add("anna", "Anna Bianchi", "password-di-prova", "operator")


@pytest.fixture
def held(desk: Desk) -> int:
    """A handoff Mario has claimed (the call to Rasa recorded)."""
    handoff_id = opened(desk)
    assert desk.chat.claim(handoff_id, desk.mario)
    return handoff_id


def opened(desk: Desk) -> int:
    before = desk.clock.now - timedelta(seconds=30)
    handoff, _ = desk.service.open(
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


def test_claim_tells_the_citizen_who_answers_and_pauses_the_bot(desk: Desk, anna: Operator) -> None:
    handoff_id = opened(desk)
    assert desk.chat.claim(handoff_id, desk.mario) is True
    assert desk.rasa.calls == [("trigger", NUMBER, CLAIMED_INTENT, {"handoff_operator": "Mario"})]
    assert desk.chat.get(handoff_id).operator == "mario"
    assert desk.chat.claim(handoff_id, anna) is False  # Mario got there first
    assert len(desk.rasa.calls) == 1


def test_claim_is_undone_when_rasa_cannot_pause_the_bot(desk: Desk) -> None:
    handoff_id = opened(desk)
    desk.rasa.down = True
    with pytest.raises(ChatUnavailableError):
        desk.chat.claim(handoff_id, desk.mario)
    assert desk.chat.get(handoff_id).status == "pending"
    assert desk.chat.get(handoff_id).operator is None


def test_a_reply_reaches_the_citizen_and_is_marked_delivered(desk: Desk, held: int) -> None:
    handoff_id = held
    message = desk.chat.reply(handoff_id, desk.mario, "Buongiorno, mi dica pure.")
    assert message.delivered
    assert desk.rasa.calls[-1] == ("say", NUMBER, "Buongiorno, mi dica pure.")
    assert desk.rasa.metadata[-1] == {
        OPERATOR_MESSAGE_KEY: message.id,
        "operator": "mario",
        OPERATOR_NAME_KEY: "Mario",
    }
    stored = desk.chat.transcript(handoff_id)[-1]
    assert (stored.author, stored.text, stored.delivered) == (
        "operator",
        "Buongiorno, mi dica pure.",
        True,
    )


def test_a_reply_rasa_did_not_take_is_kept_and_can_be_sent_again(desk: Desk, held: int) -> None:
    handoff_id = held
    desk.rasa.down = True
    with pytest.raises(DeliveryError) as failure:
        desk.chat.reply(handoff_id, desk.mario, "Le scrivo subito.")
    kept = desk.chat.transcript(handoff_id)[-1]
    assert kept.id == failure.value.message.id
    assert (kept.text, kept.delivered) == ("Le scrivo subito.", False)
    desk.rasa.down = False
    assert desk.chat.retry(kept.id, desk.mario).delivered
    assert desk.chat.transcript(handoff_id)[-1].delivered
    assert [c[0] for c in desk.rasa.calls] == ["trigger", "say"]


def test_the_background_job_sends_undelivered_replies_again_in_order(desk: Desk, held: int) -> None:
    desk.rasa.down = True
    for text in ("Prima risposta.", "Seconda risposta."):
        with pytest.raises(DeliveryError):
            desk.chat.reply(held, desk.mario, text)
        desk.clock.advance(seconds=5)
    assert desk.chat.redeliver() == 0  # still down: nothing lost, nothing sent
    desk.rasa.down = False
    assert desk.chat.redeliver() == 2
    assert desk.rasa.calls[-2:] == [
        ("say", NUMBER, "Prima risposta."),
        ("say", NUMBER, "Seconda risposta."),
    ]
    assert all(m.delivered for m in desk.chat.transcript(held))
    assert desk.chat.redeliver() == 0  # never twice


def test_replies_older_than_a_day_are_left_to_the_operator(desk: Desk, held: int) -> None:
    desk.rasa.down = True
    with pytest.raises(DeliveryError):
        desk.chat.reply(held, desk.mario, "Risposta di ieri.")
    desk.clock.advance(hours=25)
    desk.rasa.down = False
    assert desk.chat.redeliver() == 0
    assert desk.chat.transcript(held)[-1].delivered is False


def test_only_the_holder_can_retry_a_reply(desk: Desk, anna: Operator, held: int) -> None:
    handoff_id = held
    desk.rasa.down = True
    with pytest.raises(DeliveryError) as failure:
        desk.chat.reply(handoff_id, desk.mario, "Un attimo.")
    desk.rasa.down = False
    with pytest.raises(HandoffStateError):
        desk.chat.retry(failure.value.message.id, anna)


def test_resolve_gives_the_chat_back_to_the_bot_which_says_so(desk: Desk, held: int) -> None:
    handoff_id = held
    resolved = desk.chat.resolve(handoff_id, desk.mario)
    assert resolved.status == "resolved"
    assert desk.rasa.calls[1:] == [("resume", NUMBER), ("trigger", NUMBER, RESOLVED_INTENT, {})]
    assert desk.chat.queue() == []


def test_resolve_with_rasa_down_leaves_the_chat_as_it_was(desk: Desk, held: int) -> None:
    handoff_id = held
    desk.rasa.down = True
    with pytest.raises(ChatUnavailableError):
        desk.chat.resolve(handoff_id, desk.mario)
    assert desk.chat.get(handoff_id).status == "assigned"


def test_nobody_resolves_or_releases_a_chat_another_operator_holds(
    desk: Desk, anna: Operator, held: int
) -> None:
    handoff_id = held
    with pytest.raises(HandoffStateError):
        desk.chat.resolve(handoff_id, anna)
    with pytest.raises(HandoffStateError):
        desk.chat.release(handoff_id, anna)
    assert [c[0] for c in desk.rasa.calls] == ["trigger"]  # never resumed
    assert desk.chat.get(handoff_id).status == "assigned"


def test_a_pending_chat_resolved_is_not_resumed(desk: Desk) -> None:
    handoff_id = opened(desk)
    desk.chat.resolve(handoff_id, desk.mario)  # answered by phone, say
    assert desk.rasa.calls == [("trigger", NUMBER, RESOLVED_INTENT, {})]


def test_release_puts_the_chat_back_in_the_queue(desk: Desk, anna: Operator, held: int) -> None:
    handoff_id = held
    released = desk.chat.release(handoff_id, desk.mario)
    assert (released.status, released.operator) == ("pending", None)
    assert desk.rasa.calls[1:] == [("resume", NUMBER), ("trigger", NUMBER, RELEASED_INTENT, {})]
    assert desk.chat.claim(handoff_id, anna)


def test_citizen_and_bot_messages_after_the_handoff_join_the_transcript(desk: Desk) -> None:
    handoff_id = opened(desk)
    before = event(
        "user", "boh", desk.clock, timestamp=(desk.clock.now - timedelta(seconds=30)).timestamp()
    )
    assert desk.chat.record(before) is None  # already in the transcript the bot handed over
    assert desk.chat.record(event("user", "è per la residenza di mia madre", desk.clock))
    assert desk.chat.record(event("bot", "La tua richiesta è già in coda", desk.clock))
    operator = event("bot", "Buongiorno", desk.clock, metadata={OPERATOR_MESSAGE_KEY: 7})
    assert desk.chat.record(operator) is None  # the console stored it already
    trigger = event(
        "user", "EXTERNAL: EXTERNAL_handoff_reminder", desk.clock, metadata={"is_external": True}
    )
    assert desk.chat.record(trigger) is None
    assert desk.chat.record({**event("user", "ciao", desk.clock), "sender_id": "altro"}) is None
    assert desk.chat.record(event("action", None, desk.clock, name="action_listen")) is None
    lines = [(m.author, m.text) for m in desk.chat.transcript(handoff_id)]
    assert lines == [
        ("citizen", "boh"),
        ("bot", "Non ho capito"),
        ("citizen", "è per la residenza di mia madre"),
        ("bot", "La tua richiesta è già in coda"),
    ]


def test_many_events_at_once_reach_only_the_handed_over_transcripts_in_order(desk: Desk) -> None:
    """What the event broker's worker does with the events waiting for it."""
    handoff_id = opened(desk)
    others = [
        {**event("user", f"ciao {n}", desk.clock), "sender_id": f"altro-{n}"} for n in range(5)
    ]
    events = [
        others[0],
        event("user", "è per la residenza", desk.clock),
        *others[1:3],
        event("bot", "Un operatore ti risponderà", desk.clock),
        event("bot", "Buongiorno", desk.clock, metadata={OPERATOR_MESSAGE_KEY: 7}),
        *others[3:],
        event("user", "grazie", desk.clock),
    ]
    recorded = desk.chat.record_all(events)
    assert [m.text for m in recorded] == [
        "è per la residenza",
        "Un operatore ti risponderà",
        "grazie",
    ]
    lines = [(m.author, m.text) for m in desk.chat.transcript(handoff_id)][2:]
    assert lines == [
        ("citizen", "è per la residenza"),
        ("bot", "Un operatore ti risponderà"),
        ("citizen", "grazie"),
    ]
    assert desk.chat.record_all(others) == []
    assert desk.chat.record_all([]) == []


def test_photos_and_positions_are_kept_as_such(desk: Desk) -> None:
    handoff_id = opened(desk)
    photo = [{"entity": "photo_url", "value": "https://media.example.org/foto.jpg"}]
    position = [
        {"entity": "latitude", "value": 43.6158},
        {"entity": "longitude", "value": 13.5189},
    ]
    desk.chat.record(event("user", "/report_problem", desk.clock, parse_data={"entities": photo}))
    desk.chat.record(
        event("user", "/report_problem", desk.clock, parse_data={"entities": position})
    )
    desk.chat.record(event("user", "", desk.clock))  # nothing to show: not recorded
    captioned = {MEDIA_KEY: {"type": "image", "url": "https://media.example.org/buca.jpg"}}
    desk.chat.record(event("user", "la buca in via Marconi", desk.clock, metadata=captioned))
    audio = {MEDIA_KEY: {"type": "audio", "url": "https://media.example.org/voce.ogg"}}
    desk.chat.record(event("user", "/EXTERNAL_unsupported_message", desk.clock, metadata=audio))
    photo_line, position_line, caption_line, audio_line = desk.chat.transcript(handoff_id)[2:]
    assert (photo_line.text, photo_line.media_url) == (None, "https://media.example.org/foto.jpg")
    assert (position_line.latitude, position_line.longitude) == (43.6158, 13.5189)
    assert (caption_line.text, caption_line.media_url) == (
        "la buca in via Marconi",
        "https://media.example.org/buca.jpg",
    )
    assert (audio_line.text, audio_line.media_url) == ("[messaggio vocale]", None)


def test_torna_al_bot_while_an_operator_holds_the_chat_closes_it(desk: Desk, held: int) -> None:
    handoff_id = held
    desk.chat.record(event("user", "Torna al bot!", desk.clock))
    assert desk.chat.get(handoff_id).status == "resolved"
    assert desk.rasa.calls[1:] == [("resume", NUMBER), ("trigger", NUMBER, RESOLVED_INTENT, {})]
    assert desk.chat.transcript(handoff_id)[-1].text == "Torna al bot!"


def test_a_sentence_with_torna_al_bot_in_it_does_not_close_the_chat(desk: Desk, held: int) -> None:
    handoff_id = held
    desk.chat.record(event("user", "se non sa rispondere torna al bot?", desk.clock))
    assert desk.chat.get(handoff_id).status == "assigned"


def test_sweep_reminds_the_waiting_and_releases_idle_chats_telling_them(desk: Desk) -> None:
    waiting = opened(desk)
    desk.clock.now = rome(23, 12, 30).astimezone(UTC)
    second, _ = desk.service.open("393330000009", "whatsapp", "request")
    desk.chat.claim(second.id, desk.mario)
    desk.rasa.calls.clear()
    desk.clock.now = rome(25, 10).astimezone(UTC)  # two days later, in hours
    result = desk.chat.sweep()
    assert [h.id for h in result.remind] == [waiting]
    assert [h.id for h in result.released] == [second.id]
    assert desk.rasa.calls == [
        ("resume", "393330000009"),  # the bot answers again before the chat is queued
        ("trigger", NUMBER, REMINDER_INTENT, {}),
        ("trigger", "393330000009", RELEASED_INTENT, {}),
    ]


def test_an_idle_chat_stays_with_its_operator_while_rasa_is_unreachable(
    desk: Desk, held: int
) -> None:
    desk.clock.advance(minutes=31)
    desk.rasa.down = True
    assert desk.chat.sweep().released == ()
    assert desk.chat.get(held).status == "assigned"  # not queued with the bot still paused
    desk.rasa.down = False
    assert [h.id for h in desk.chat.sweep().released] == [held]


def test_idle_chats_can_be_closed_instead(
    database: Database, settings: Settings, desk: Desk
) -> None:
    service = HandoffService(database, settings, clock=desk.clock, idle_action="resolve")
    chat = HandoffChat(service, desk.rasa)
    handoff, _ = service.open(NUMBER, "whatsapp", "request")
    chat.claim(handoff.id, desk.mario)
    desk.clock.advance(minutes=31)
    result = chat.sweep()
    assert [h.id for h in result.resolved] == [handoff.id] and not result.released
    assert chat.get(handoff.id).status == "resolved"
    assert desk.rasa.calls[-2:] == [("resume", NUMBER), ("trigger", NUMBER, RESOLVED_INTENT, {})]
