"""Every message to a web citizen is kept until their widget has it (issue 26, item 1), on
SQLite and PostgreSQL: in order, each once, «consegnato» only when acknowledged."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest

from tests.console.harness import RecordingConversations
from tests.store.conftest import (  # noqa: F401
    FixedClock,
    database,
    postgres_url,
    settings,
    sqlite_template,
)
from urp.core.db import Database
from urp.core.settings import Settings
from urp.handoff.chat import HandoffChat
from urp.handoff.operators import Operator, OperatorService
from urp.handoff.queue import HandoffService
from urp.widget.outbox import ACKNOWLEDGED_KEPT, TAG_KEY, WebOutbox

START = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)  # a Monday evening: the URP is closed


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def outbox(database: Database, clock: FixedClock) -> WebOutbox:  # noqa: F811
    return WebOutbox(database, clock=clock)


def web_conversation() -> str:
    return f"socketio:{uuid.uuid4().hex}"


def texts(messages: Sequence[Any]) -> list[str]:
    return [message.payload["text"] for message in messages]


def test_messages_come_back_in_order_each_naming_the_one_before(outbox: WebOutbox) -> None:
    conversation, other = web_conversation(), web_conversation()
    first = outbox.store(conversation, {"text": "uno", TAG_KEY: {"author": "bot"}})
    outbox.store(other, {"text": "altrove"})
    second = outbox.store(conversation, {"text": "due"})

    assert first.previous_id is None and second.previous_id == first.id
    assert second.wire() == {"text": "due", TAG_KEY: {"id": second.id, "previous": first.id}}
    assert first.wire()[TAG_KEY] == {"author": "bot", "id": first.id, "previous": 0}
    assert texts(outbox.after(conversation, 0)) == ["uno", "due"]
    assert texts(outbox.after(conversation, first.id)) == ["due"]
    assert outbox.after(conversation, second.id) == []


def test_an_acknowledgement_covers_every_message_up_to_its_id(outbox: WebOutbox) -> None:
    conversation = web_conversation()
    ids = [outbox.store(conversation, {"text": str(n)}).id for n in range(3)]

    assert outbox.acknowledge(conversation, ids[1]) == 2
    assert outbox.acknowledge(conversation, ids[1]) == 0  # said twice: nothing new
    assert outbox.acknowledge(web_conversation(), ids[2]) == 0  # another conversation's
    assert outbox.acknowledge(conversation, ids[2]) == 1


def test_acknowledged_messages_go_after_a_day_the_others_with_the_conversation(
    outbox: WebOutbox, clock: FixedClock
) -> None:
    conversation = web_conversation()
    read = outbox.store(conversation, {"text": "letto"})
    unread = outbox.store(conversation, {"text": "non letto"})
    outbox.acknowledge(conversation, read.id)

    clock.advance(days=ACKNOWLEDGED_KEPT.days, seconds=1)
    assert outbox.purge(timedelta(days=30)) == 1
    assert texts(outbox.after(conversation, 0)) == ["non letto"]

    clock.advance(days=30)
    assert outbox.purge(timedelta(days=30)) == 1
    # Ids never go back: a widget that saw the last one takes the next one as new.
    later = outbox.store(conversation, {"text": "dopo"})
    assert later.id > unread.id and later.previous_id is None


def test_erasing_a_conversation_forgets_its_messages(outbox: WebOutbox) -> None:
    conversation, other = web_conversation(), web_conversation()
    outbox.store(conversation, {"text": "uno"})
    outbox.store(other, {"text": "altro"})
    assert outbox.erase(conversation) == 1
    assert outbox.after(conversation, 0) == [] and len(outbox.after(other, 0)) == 1


# -- an operator's reply, from the console to a widget that is not there ----------------------


class HeldChat(NamedTuple):
    chat: HandoffChat
    channel: RecordingConversations
    handoff_id: int
    conversation: str


@pytest.fixture
def service(
    database: Database,  # noqa: F811
    settings: Settings,  # noqa: F811
    clock: FixedClock,
) -> HandoffService:
    return HandoffService(database, settings, clock=clock)


@pytest.fixture
def giulia(database: Database) -> Operator:  # noqa: F811
    return OperatorService(database).add("giulia", "Giulia Neri", "password-di-prova", "operator")


@pytest.fixture
def held(service: HandoffService, outbox: WebOutbox, giulia: Operator) -> HeldChat:
    """A web chat Giulia holds; Rasa's HTTP API with the web channel behind it keeps what
    she says in the outbox, as channels/socketio.py keeps it, for a browser not connected."""
    channel = RecordingConversations(web_outbox=outbox)
    chat = HandoffChat(service, channel, receipts=outbox)
    conversation = web_conversation()
    handoff, _ = service.open(conversation, "socketio", "request")
    assert chat.claim(handoff.id, giulia)
    return HeldChat(chat, channel, handoff.id, conversation)


def test_a_reply_is_delivered_only_when_the_widget_has_it(
    held: HeldChat, giulia: Operator, clock: FixedClock, outbox: WebOutbox
) -> None:
    chat, channel, handoff_id, conversation = held

    sent = chat.reply(handoff_id, giulia, "Ecco il modulo.\n\nTi serve altro?")
    assert not sent.delivered and sent.awaiting_citizen
    [shown] = [m for m in chat.transcript(handoff_id) if m.author == "operator"]
    assert not shown.delivered and shown.awaiting_citizen
    # The operator's first name goes with the reply, for the widget («Giulia · URP»).
    assert channel.metadata[-1]["urp_operator_name"] == "Giulia"

    # Neither the background redelivery nor «Riprova» sends it twice: the web chat has it.
    says = len(channel.calls)
    clock.advance(minutes=5)
    assert chat.redeliver() == 0
    assert chat.retry(shown.id, giulia).awaiting_citizen
    assert len(channel.calls) == says
    assert len(outbox.after(conversation, 0)) == 1

    # The citizen comes back: their widget acknowledges it, on whichever replica.
    [kept] = outbox.after(conversation, 0)
    outbox.acknowledge(conversation, kept.id)
    [shown] = [m for m in chat.transcript(handoff_id) if m.author == "operator"]
    assert shown.delivered and not shown.awaiting_citizen


def test_a_reply_sent_twice_is_kept_once(
    held: HeldChat, giulia: Operator, outbox: WebOutbox
) -> None:
    chat, _, handoff_id, conversation = held
    sent = chat.reply(handoff_id, giulia, "Ciao")
    again = outbox.store(conversation, {"text": "Ciao"}, handoff_message_id=sent.id)
    assert [m.id for m in outbox.after(conversation, 0)] == [again.id]
    assert outbox.waiting([sent.id, sent.id + 1000]) == {sent.id}


def test_without_the_web_chat_a_reply_taken_by_rasa_is_delivered(
    service: HandoffService, giulia: Operator, outbox: WebOutbox
) -> None:
    chat = HandoffChat(service, RecordingConversations(), receipts=outbox)
    handoff, _ = service.open("+393331234567", "whatsapp", "request")
    assert chat.claim(handoff.id, giulia)
    sent = chat.reply(handoff.id, giulia, "Ciao")
    assert sent.delivered and not sent.awaiting_citizen
