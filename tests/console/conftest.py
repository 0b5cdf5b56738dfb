"""Console fixtures: the real app on a free port, on SQLite and PostgreSQL (the store's
fixtures), a recording fake of Rasa, three accounts and one handed-over chat."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.console.harness import (
    PASSWORD,
    PHONE,
    Browser,
    RecordingConversations,
    ShiftedClock,
    served,
    transcript_line,
)
from tests.store.conftest import database, postgres_url, settings, sqlite_template  # noqa: F401
from urp.console.access import ConsoleAccess
from urp.console.app import create_app
from urp.db import Database
from urp.handoff_chat import HandoffChat
from urp.handoffs import Handoff, HandoffService
from urp.operators import OperatorService
from urp.quick_replies import QuickReply, QuickReplyService
from urp.settings import Settings

QUICK_REPLY = QuickReply(
    "Piattaforma segnalazioni", "Può segnalare il guasto su segnala.comune.it."
)


@dataclass
class World:
    base: str
    database: Database
    handoffs: HandoffService
    operators: OperatorService
    rasa: RecordingConversations
    clock: ShiftedClock
    handoff: Handoff

    def browser(self) -> Browser:
        return Browser(self.base)

    def logged_in(self, username: str) -> Browser:
        browser = self.browser()
        assert browser.log_in(username).url == browser.url("/")
        return browser


@pytest.fixture
def world(database: Database, settings: Settings) -> Iterator[World]:  # noqa: F811
    operators = OperatorService(database)
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    operators.add("lucia.bianchi", "Lucia Bianchi", PASSWORD, "operator")
    operators.add("tina.verdi", "Tina Verdi", PASSWORD, "trainer")
    QuickReplyService(database).load([QUICK_REPLY])
    handoffs = HandoffService(database, settings)
    handoff, _ = handoffs.open(
        PHONE,
        "whatsapp",
        "request",
        [
            transcript_line("citizen", "Vorrei parlare con una persona", 6),
            transcript_line("bot", "Ti passo a un operatore dell'URP.", 5),
        ],
    )
    rasa = RecordingConversations()
    clock = ShiftedClock()
    app = create_app(
        HandoffChat(handoffs, rasa),
        operators,
        QuickReplyService(database),
        settings,
        ConsoleAccess(database, operators, clock=clock),
        secure_cookies=False,
        sweep_interval=None,
    )
    with served(app) as base:
        yield World(base, database, handoffs, operators, rasa, clock, handoff)
