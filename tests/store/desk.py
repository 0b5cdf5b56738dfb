"""The URP's side of a handed-over chat for the store tests (the ``desk`` fixture of
tests/store/conftest.py): the queue, the chat with Rasa's API recorded, the ratings, a
clock the test moves and Mario, the operator. Monday 23 November 2026, 10:00 in Ancona."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from tests.console.harness import RecordingConversations
from tests.store.conftest import FixedClock
from tests.store.test_handoff_queue import MONDAY_10, NUMBER
from urp.core.db import Database
from urp.core.settings import Settings
from urp.handoff.chat import HandoffChat
from urp.handoff.operators import Operator, OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.ratings import RatingService


@dataclass
class Desk:
    """The queue, the chat (Rasa's API recorded, ratings asked at the resolution), the
    ratings, the clock and Mario, the operator."""

    service: HandoffService
    chat: HandoffChat
    ratings: RatingService
    rasa: RecordingConversations
    clock: FixedClock
    mario: Operator

    def resolved_chat(self, *, reply: bool = True) -> int:
        """A chat with NUMBER claimed by Mario, answered (``reply``) and resolved."""
        handoff, _ = self.service.open(NUMBER, "whatsapp", "request")
        assert self.chat.claim(handoff.id, self.mario)
        if reply:
            self.chat.reply(handoff.id, self.mario, "Ecco il modulo che cercava.")
        self.chat.resolve(handoff.id, self.mario)
        return handoff.id


def open_desk(database: Database, settings: Settings) -> Desk:
    """A desk on ``database``, its clock at MONDAY_10 and Mario among the operators."""
    clock = FixedClock(MONDAY_10.astimezone(UTC))
    service = HandoffService(database, settings, clock=clock)
    rasa = RecordingConversations()
    ratings = RatingService(database, clock=clock)
    mario = OperatorService(database).add("mario", "Mario Rossi", "password-di-prova", "operator")
    chat = HandoffChat(service, rasa, ratings=ratings)
    return Desk(service, chat, ratings, rasa, clock, mario)
