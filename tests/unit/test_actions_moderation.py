"""Abuse (actions.moderation): a warning first, then a flag for an operator, logged blind."""

from __future__ import annotations

from rasa_sdk.events import SlotSet

from actions.moderation import ActionCheckAbuse
from tests.unit.conversation import bot, run, session_started, tracker, user


def test_first_abuse_is_not_flagged() -> None:
    events, messages = run(ActionCheckAbuse(), tracker(session_started(), user("abuse")))
    assert events == [SlotSet("abuse_flagged", False)]
    assert messages == []


def test_repeated_abuse_is_flagged_for_an_operator(caplog) -> None:
    conversation = tracker(
        session_started(),
        user("abuse", "siete dei ladri"),
        bot("utter_abuse_warning"),
        user("ask_opening_hours"),
        user("abuse", "vergognatevi"),
    )
    events, _ = run(ActionCheckAbuse(), conversation)
    assert events == [SlotSet("abuse_flagged", True)]
    assert "segnalata" in caplog.text
    # Neither the message nor the sender id (a phone number on WhatsApp) is logged.
    assert "ladri" not in caplog.text
    assert all("test" not in record.getMessage() for record in caplog.records)


def test_a_flag_stays_until_an_operator_clears_it() -> None:
    conversation = tracker(session_started(), user("abuse"), slots={"abuse_flagged": True})
    events, _ = run(ActionCheckAbuse(), conversation)
    assert events == [SlotSet("abuse_flagged", True)]
