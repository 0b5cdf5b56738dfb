"""The channels' door takes the answer to «Com'è andata con l'operatore?» before the NLU:
the citizen gets the next step on the same channel, Rasa never sees the digit; every other
message passes, and so does everything when the store cannot be read. A conversation just
found without a pending rating is not looked up again for a few seconds, yet a rating just
asked by the console (another process, which cannot tell that memory) is recognised at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sqlalchemy import event
from sqlalchemy.engine import Engine

from channels import gate
from tests.console.harness import RecordingConversations
from urp.core.clock import utc_now
from urp.core.db import Database
from urp.core.models import HandoffRating
from urp.core.settings import RateLimit
from urp.handoff.queue import HandoffService
from urp.handoff.ratings import (
    ASK_COMMENT,
    NO_PENDING_TTL,
    STARS_TTL,
    THANKS_COMMENT,
    THANKS_NO_COMMENT,
    THANKS_OFFER,
    NoPendingCache,
    RatingService,
)
from urp.inbound.ratelimit import RateLimiter

NUMBER = "393331234567"
OTHER_NUMBER = "393339876543"
WEB_SESSION = "f0e1d2c3"


@contextmanager
def at_the_door(service: RatingService) -> Iterator[RatingService]:
    """``service`` as the channels' door's ratings (a generous rate limit) for a while."""
    gate.use_ratings(service)
    gate.use_limiter(RateLimiter(RateLimit(burst=50, per_minute=60)))
    try:
        yield service
    finally:
        gate.use_ratings(None)
        gate.use_limiter(None)


@pytest.fixture
def ratings(database: Database) -> Iterator[RatingService]:
    with at_the_door(RatingService(database)) as service:
        yield service


def asked(database: Database, settings: Any, ratings: RatingService, conversation: str) -> None:
    """A chat of ``conversation`` resolved by an operator who wrote in it: the question sent."""
    handoff, _ = HandoffService(database, settings).open(conversation, "whatsapp", "request")
    assert ratings.ask_after(handoff.id, conversation, True, RecordingConversations())


def say(text: str, channel: str, sender: str) -> tuple[list[UserMessage], list[dict[str, Any]]]:
    """The citizen writes: what reached Rasa, and what the door answered itself."""
    received: list[UserMessage] = []
    output = CollectingOutputChannel()

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)

    assert asyncio.run(gate.admit(on_new_message, text, output, sender, input_channel=channel))
    return received, output.messages


def test_a_whatsapp_citizen_rates_and_comments_without_the_nlu(
    database: Database, settings: Any, ratings: RatingService
) -> None:
    asked(database, settings, ratings, NUMBER)
    received, replies = say("5", "whatsapp", NUMBER)
    assert received == []
    assert replies[0]["text"] == THANKS_OFFER
    assert [b["title"] for b in replies[0]["buttons"]] == ["Scrivi un commento", "No, grazie"]
    received, replies = say("Scrivi un commento", "whatsapp", NUMBER)
    assert received == [] and [r["text"] for r in replies] == [ASK_COMMENT]
    received, replies = say("Molto gentili, grazie", "whatsapp", NUMBER)
    assert received == [] and replies[0]["text"] == THANKS_COMMENT
    received, _ = say("5", "whatsapp", NUMBER)
    assert [m.text for m in received] == ["5"]  # nothing awaited any more: the assistant's


def test_the_web_chat_answer_is_found_under_its_channel_namespace(
    database: Database, settings: Any, ratings: RatingService
) -> None:
    asked(database, settings, ratings, f"socketio:{WEB_SESSION}")
    received, replies = say("4", "socketio", WEB_SESSION)
    assert received == [] and replies[0]["text"] == THANKS_OFFER
    # Someone else's digit on the REST channel, even with the same sender, is not an answer.
    received, _ = say("4", "rest", WEB_SESSION)
    assert [m.text for m in received] == ["4"]


def test_other_messages_pass_while_the_rating_waits(
    database: Database, settings: Any, ratings: RatingService
) -> None:
    asked(database, settings, ratings, NUMBER)
    received, replies = say("orari dell'anagrafe?", "whatsapp", NUMBER)
    assert [m.text for m in received] == ["orari dell'anagrafe?"] and replies == []
    received, replies = say("3", "whatsapp", NUMBER)
    assert received == [] and replies[0]["text"] == THANKS_OFFER


def test_every_message_passes_when_the_store_cannot_be_read() -> None:
    with at_the_door(RatingService(Database("postgresql://nessuno@127.0.0.1:1/urp"))):
        received, replies = say("5", "whatsapp", NUMBER)
    assert [m.text for m in received] == ["5"] and replies == []


# -- the short memory of «no rating pending» -------------------------------------------------


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def remembering(database: Database, ticks: Ticks) -> Iterator[RatingService]:
    """The door's ratings as the channels build them: with the memory of «no rating»."""
    with at_the_door(RatingService(database, no_pending=NoPendingCache(clock=ticks))) as service:
        yield service


@pytest.fixture
def lookups() -> Iterator[list[str]]:
    """The reads of the ratings' table, as they reach the database."""
    seen: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "handoff_ratings" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def passed(text: str, sender: str = NUMBER) -> bool:
    """Whether the citizen's message went on to the assistant, untouched."""
    received, replies = say(text, "whatsapp", sender)
    return [m.text for m in received] == [text] and replies == []


def test_messages_without_a_rating_do_not_read_the_store_each_time(
    remembering: RatingService, lookups: list[str], ticks: Ticks
) -> None:
    assert passed("ciao")
    assert len(lookups) == 1
    ticks.now += NO_PENDING_TTL / 2
    assert passed("orari dell'anagrafe?") and passed("e domani?")
    assert len(lookups) == 1
    assert passed("ciao", OTHER_NUMBER)  # each conversation has its own answer
    assert len(lookups) == 2
    ticks.now += NO_PENDING_TTL  # a few seconds later: another replica may have asked
    assert passed("grazie")
    assert len(lookups) == 3


def test_a_rating_is_recognised_right_after_it_is_asked(
    database: Database,
    settings: Any,
    remembering: RatingService,
    lookups: list[str],
) -> None:
    """Nothing tells the memory that the console asked: the stars are read all the same, and
    the rating found makes it forget the conversation, so the next steps are read too."""
    assert passed("grazie, arrivederci")  # just looked up: no rating pending
    before = len(lookups)
    asked(database, settings, RatingService(database), NUMBER)  # the console's own service
    assert passed("un'ultima cosa: orari dell'anagrafe?")  # not stars: the memory may answer
    assert len(lookups) == before
    received, replies = say("5", "whatsapp", NUMBER)
    assert received == [] and replies[0]["text"] == THANKS_OFFER
    received, replies = say("Scrivi un commento", "whatsapp", NUMBER)
    assert received == [] and [r["text"] for r in replies] == [ASK_COMMENT]
    received, replies = say("Molto gentili", "whatsapp", NUMBER)
    assert received == [] and replies[0]["text"] == THANKS_COMMENT
    assert passed("5")  # nothing awaited any more


def test_a_rating_asked_by_another_process_is_recognised_at_once(
    database: Database, settings: Any, remembering: RatingService
) -> None:
    """The console is another process: nothing tells this memory. The question awaits the
    stars first, and a message that can be stars always reads the store."""
    assert passed("grazie, arrivederci")
    handoff, _ = HandoffService(database, settings).open(NUMBER, "whatsapp", "request")
    now = utc_now()
    with database.transaction(write=True) as session:
        session.add(
            HandoffRating(
                handoff_id=handoff.id,
                asked_at=now,
                pending_conversation=NUMBER,
                awaiting="stars",
                pending_until=now + STARS_TTL,
            )
        )
    received, replies = say("4", "whatsapp", NUMBER)
    assert received == [] and replies[0]["text"] == THANKS_OFFER
    received, replies = say("No, grazie", "whatsapp", NUMBER)
    assert received == [] and [r["text"] for r in replies] == [THANKS_NO_COMMENT]


def test_the_memory_stays_small(ticks: Ticks) -> None:
    memory = NoPendingCache(clock=ticks, capacity=3)
    for conversation in ("a", "b", "c"):
        memory.remember(conversation)
    ticks.now += NO_PENDING_TTL  # all expired
    memory.remember("d")
    assert "d" in memory and "a" not in memory and len(memory) == 1
