"""The channels' door takes the answer to «Com'è andata con l'operatore?» before the NLU:
the citizen gets the next step on the same channel, Rasa never sees the digit; every other
message passes, and so does everything when the store cannot be read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from channels import gate
from tests.console.harness import RecordingConversations
from urp.core.db import Database
from urp.core.settings import RateLimit
from urp.handoff.queue import HandoffService
from urp.handoff.ratings import ASK_COMMENT, THANKS_COMMENT, THANKS_OFFER, RatingService
from urp.inbound.ratelimit import RateLimiter

NUMBER = "393331234567"
WEB_SESSION = "f0e1d2c3"


@pytest.fixture
def ratings(database: Database) -> Iterator[RatingService]:
    service = RatingService(database)
    gate.use_ratings(service)
    gate.use_limiter(RateLimiter(RateLimit(burst=50, per_minute=60)))
    try:
        yield service
    finally:
        gate.use_ratings(None)
        gate.use_limiter(None)


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
    gate.use_ratings(RatingService(Database("postgresql://nessuno@127.0.0.1:1/urp")))
    gate.use_limiter(RateLimiter(RateLimit(burst=50, per_minute=60)))
    try:
        received, replies = say("5", "whatsapp", NUMBER)
    finally:
        gate.use_ratings(None)
        gate.use_limiter(None)
    assert [m.text for m in received] == ["5"] and replies == []
