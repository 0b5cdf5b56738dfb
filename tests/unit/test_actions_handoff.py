"""Handing the chat to a person (actions.handoff), as conversations, against a real SQLite store."""

from __future__ import annotations

import pytest

from actions import services
from actions.handoff import ActionHandoff, ActionHandoffCancel, ActionHandoffPause
from tests.unit.conversation import bot, run, slots, tracker, user
from urp.core.db import Database
from urp.core.settings import load_settings
from urp.handoff.queue import HandoffService

NUMBER = "393331234567"


@pytest.fixture(autouse=True)
def store(actions_store: Database) -> Database:
    return actions_store


def said(*events: dict, sender: str = NUMBER):
    stamped = [{**e, "timestamp": 1764000000 + i} for i, e in enumerate(events)]
    for e in stamped:
        if e["event"] == "user":
            e["input_channel"] = "callback"
    return tracker(*stamped, sender_id=sender)


def queue(store: Database) -> list:
    return HandoffService(store, load_settings()).queue()


def test_a_request_in_service_hours_is_queued_with_what_was_said(at, store) -> None:
    at(2026, 11, 25, 9, 30)  # Wednesday
    conversation = said(
        user("greet", "ciao"),
        {"event": "bot", "text": "Ciao! Sono l'assistente"},
        {**user("EXTERNAL_handoff_resolved", "EXTERNAL: x"), "metadata": {"is_external": True}},
        user("request_operator", "voglio parlare con una persona"),
    )
    events, messages = run(ActionHandoff(), conversation)
    assert slots(events) == {"handoff_outcome": "queued"}
    assert messages == []
    [queued] = queue(store)
    assert (queued.handoff.reason, queued.handoff.channel) == ("request", "callback")
    handoffs = HandoffService(store, load_settings())
    lines = [(m.author, m.text) for m in handoffs.messages(queued.handoff.id)]
    assert lines == [
        ("citizen", "ciao"),
        ("bot", "Ciao! Sono l'assistente"),
        ("citizen", "voglio parlare con una persona"),
    ]


def test_out_of_hours_the_citizen_gets_the_next_opening(at) -> None:
    at(2026, 11, 28, 11, 0)  # Saturday
    events, _ = run(ActionHandoff(), said(user("request_operator")))
    assert slots(events)["handoff_outcome"] == "queued_closed"
    assert slots(events)["info_next_opening"] == "dopodomani alle 9:00"


def test_on_a_holiday_it_says_why_the_office_is_closed(at) -> None:
    at(2026, 12, 8, 10, 0)  # Immacolata, a Tuesday
    result = slots(run(ActionHandoff(), said(user("book_appointment")))[0])
    assert result["handoff_outcome"] == "appointment_closed"
    assert "Immacolata" in result["info_reason"]
    assert result["info_next_opening"] == "domani alle 9:00"


def test_asking_again_does_not_queue_twice(at, store) -> None:
    at(2026, 11, 25, 9, 30)
    run(ActionHandoff(), said(user("nlu_fallback", "asdf")))
    events, _ = run(ActionHandoff(), said(user("request_operator")))
    assert slots(events)["handoff_outcome"] == "already_queued"
    [queued] = queue(store)
    assert queued.handoff.reason == "unclear"


@pytest.mark.parametrize(
    ("offer", "reason"),
    [("utter_service_unavailable", "action_failed"), ("utter_pharmacy_no_data", "no_information")],
)
def test_an_accepted_offer_says_why_it_was_made(at, store, offer, reason) -> None:
    at(2026, 11, 25, 9, 30)
    conversation = said(
        user("ask_pharmacy_shift"), bot(offer), bot("utter_ask_operator"), user("affirm", "sì")
    )
    run(ActionHandoff(), conversation)
    assert queue(store)[0].handoff.reason == reason


def test_repeated_abuse_is_flagged_without_telling_more(at, store) -> None:
    at(2026, 11, 25, 9, 30)
    events, _ = run(ActionHandoff(), said(user("abuse", "siete degli incapaci")))
    assert slots(events) == {"handoff_outcome": "flagged"}
    assert queue(store)[0].handoff.reason == "abuse"


def test_store_down_gives_phone_and_email_instead(monkeypatch, at) -> None:
    at(2026, 11, 25, 9, 30)
    monkeypatch.setenv("URP_DB_URL", "postgresql://nessuno@127.0.0.1:1/urp")
    services.database.cache_clear()
    events, _ = run(ActionHandoff(), said(user("request_operator")))
    assert slots(events) == {"handoff_outcome": "unavailable"}


def test_back_to_bot_cancels_a_pending_request(at, store) -> None:
    at(2026, 11, 25, 9, 30)
    run(ActionHandoff(), said(user("request_operator")))
    events, _ = run(ActionHandoffCancel(), said(user("back_to_bot", "torna al bot")))
    assert slots(events) == {"handoff_outcome": "cancelled"}
    assert queue(store) == []
    events, _ = run(ActionHandoffCancel(), said(user("back_to_bot", "torna al bot")))
    assert slots(events) == {"handoff_outcome": "not_queued"}


def test_pause_leaves_a_half_filled_form() -> None:
    conversation = said(user("request_operator"))
    events, _ = run(ActionHandoffPause(), conversation)
    assert [e["event"] for e in events] == ["pause", "action"]
    assert events[-1]["name"] == "action_listen"
    conversation.active_loop = {"name": "report_form"}
    events, _ = run(ActionHandoffPause(), conversation)
    assert [e["event"] for e in events] == ["active_loop", "slot", "pause", "action"]
