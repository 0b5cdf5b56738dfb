"""The citizen rates a chat with an operator: asked once at the resolution, answered with a
bare 1-5 or a button, then maybe a comment; nothing else is ever taken as an answer. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from tests.store.desk import Desk
from tests.store.test_handoff_queue import MONDAY_10, NUMBER, OTHER
from urp.core.db import Database
from urp.core.models import HandoffRating
from urp.handoff.chat import RESOLVED_INTENT
from urp.handoff.rasa_api import RasaUnavailableError
from urp.handoff.ratings import (
    ASK_COMMENT,
    QUESTION,
    THANKS_COMMENT,
    THANKS_NO_COMMENT,
    THANKS_OFFER,
    stars_in,
)

ROME_TZ = MONDAY_10.tzinfo


def test_resolving_a_chat_the_operator_answered_asks_for_a_rating_with_five_buttons(
    desk: Desk,
) -> None:
    desk.resolved_chat()
    assert desk.rasa.calls[-2:] == [
        ("trigger", NUMBER, RESOLVED_INTENT, {}),
        ("say", NUMBER, QUESTION),
    ]
    buttons = desk.rasa.metadata[-1]["buttons"]
    assert [b["payload"] for b in buttons] == ["1", "2", "3", "4", "5"]
    assert all(len(b["title"]) <= 24 for b in buttons)  # a WhatsApp list row's limit
    assert QUESTION.startswith("Com'è andata con l'operatore? Dai un voto da 1 a 5")


def test_a_chat_closed_without_a_word_from_the_operator_asks_nothing(desk: Desk) -> None:
    desk.resolved_chat(reply=False)
    assert [call for call in desk.rasa.calls if call[0] == "say"] == []


def test_stars_then_a_comment_are_recorded_against_the_chat(desk: Desk, database: Database) -> None:
    handoff_id = desk.resolved_chat()
    desk.clock.advance(minutes=2)
    offer = desk.ratings.answer(NUMBER, "4")
    assert offer is not None and offer.text == THANKS_OFFER
    assert [b["title"] for b in offer.buttons] == ["Scrivi un commento", "No, grazie"]
    assert desk.ratings.answer(NUMBER, "Scrivi un commento").text == ASK_COMMENT  # type: ignore[union-attr]
    thanks = desk.ratings.answer(NUMBER, "Gentilissimi, risposta chiara e veloce")
    assert thanks is not None and thanks.text == THANKS_COMMENT
    # Nothing more is awaited: the next message is the assistant's again.
    assert desk.ratings.answer(NUMBER, "5") is None
    with database.transaction() as session:
        row = session.query(HandoffRating).one()
        assert (row.handoff_id, row.stars) == (handoff_id, 4)
        assert row.comment == "Gentilissimi, risposta chiara e veloce"
        assert row.pending_conversation is None  # the number leaves the row
    report = desk.ratings.report(date(2026, 11, 1), date(2026, 11, 30), ROME_TZ)
    assert (report.asked, report.rated, report.average) == (1, 1, 4.0)
    assert report.distribution == {1: 0, 2: 0, 3: 0, 4: 1, 5: 0}
    assert [c.text for c in report.comments] == ["Gentilissimi, risposta chiara e veloce"]
    assert report.comments[0].channel == "whatsapp"


def test_no_comment_thanks_and_ends(desk: Desk) -> None:
    desk.resolved_chat()
    assert desk.ratings.answer(NUMBER, "5 · Molto bene") is not None  # the list row's title
    assert desk.ratings.answer(NUMBER, "No, grazie").text == THANKS_NO_COMMENT  # type: ignore[union-attr]
    assert desk.ratings.answer(NUMBER, "Qualcosa da dire") is None


def test_other_messages_pass_and_the_stars_still_wait_for_24_hours(desk: Desk) -> None:
    desk.resolved_chat()
    for text in ("grazie mille", "ho 3 figli, c'è un bonus?", "15", "5 euro", "sì"):
        assert desk.ratings.answer(NUMBER, text) is None, text
    assert desk.ratings.answer(OTHER, "5") is None  # another citizen's conversation
    desk.clock.advance(hours=23)
    assert desk.ratings.answer(NUMBER, "3 stelle") is not None


def test_the_question_expires_after_24_hours(desk: Desk) -> None:
    desk.resolved_chat()
    desk.clock.advance(hours=24, seconds=1)
    assert desk.ratings.answer(NUMBER, "5") is None
    assert desk.ratings.report(date(2026, 11, 1), date(2026, 11, 30), ROME_TZ).rated == 0


def test_after_the_stars_only_the_very_next_message_can_ask_to_comment(desk: Desk) -> None:
    desk.resolved_chat()
    assert desk.ratings.answer(NUMBER, "2") is not None
    assert desk.ratings.answer(NUMBER, "orari dell'anagrafe?") is None  # a new question
    assert desk.ratings.answer(NUMBER, "Scrivi un commento") is None
    assert desk.ratings.report(date(2026, 11, 1), date(2026, 11, 30), ROME_TZ).average == 2.0


def test_a_photo_or_a_button_is_not_a_comment(desk: Desk) -> None:
    desk.resolved_chat()
    desk.ratings.answer(NUMBER, "5")
    desk.ratings.answer(NUMBER, "sì")
    assert desk.ratings.answer(NUMBER, '/report_problem{"photo_url": "https://x.it/a.jpg"}') is None
    assert desk.ratings.report(date(2026, 11, 1), date(2026, 11, 30), ROME_TZ).comments == []


def test_nothing_stays_pending_if_the_question_cannot_be_sent(desk: Desk) -> None:
    handoff, _ = desk.service.open(NUMBER, "whatsapp", "request")
    desk.chat.claim(handoff.id, desk.mario)
    desk.chat.reply(handoff.id, desk.mario, "Fatto.")
    asked = desk.ratings.ask_after(handoff.id, NUMBER, True, _Down())
    assert not asked
    assert desk.ratings.answer(NUMBER, "5") is None


class _Down:
    def say(self, *args: object, **kwargs: object) -> None:
        raise RasaUnavailableError("server Rasa non raggiungibile (test)")


def test_the_average_per_week_and_per_month(desk: Desk) -> None:
    for stars in ("5", "3"):
        desk.resolved_chat()
        desk.ratings.answer(NUMBER, stars)
        desk.clock.advance(days=8)
    weeks = desk.ratings.report(date(2026, 11, 23), date(2026, 12, 6), ROME_TZ)
    assert [(p.label, p.count, p.average) for p in weeks.periods] == [
        ("settimana del 23/11/2026", 1, 5.0),
        ("settimana del 30/11/2026", 1, 3.0),
    ]
    months = desk.ratings.report(date(2026, 11, 1), date(2026, 12, 31), ROME_TZ, by="month")
    assert [(p.label, p.count, p.average) for p in months.periods] == [
        ("novembre 2026", 1, 5.0),
        ("dicembre 2026", 1, 3.0),
    ]
    assert months.average == 4.0 and months.response_rate == 100


@pytest.mark.parametrize(
    ("text", "stars"),
    [
        ("5", 5),
        (" 1 ", 1),
        ("4/5", 4),
        ("3 su 5", 3),
        ("2 stelle", 2),
        ("Voto 4", 4),
        ("5!", 5),
        ("⭐⭐⭐", 3),
        ("4 · Bene", 4),
        ("0", None),
        ("6", None),
        ("15", None),
        ("5 euro", None),
        ("tre", None),
        ("", None),
    ],
)
def test_what_counts_as_stars(text: str, stars: int | None) -> None:
    assert stars_in(text) == stars


def test_a_second_resolution_of_the_same_conversation_replaces_the_pending_question(
    desk: Desk,
) -> None:
    desk.resolved_chat()
    desk.clock.advance(minutes=30)
    desk.resolved_chat()
    assert desk.ratings.answer(NUMBER, "4") is not None
    assert desk.ratings.answer(NUMBER, "No, grazie") is not None
    assert desk.ratings.answer(NUMBER, "4") is None  # the first question went with the second
    report = desk.ratings.report(date(2026, 11, 1), date(2026, 11, 30), ROME_TZ)
    assert (report.asked, report.rated) == (2, 1)
