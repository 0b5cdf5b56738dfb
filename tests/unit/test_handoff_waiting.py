"""While a chat waits for an operator (urp.handoff.waiting): when the bot says the message
was added to the request, and when it stays quiet."""

from __future__ import annotations

from datetime import timedelta

from urp.handoff.waiting import ADDED, ADDED_QUIETLY, NOTE_SLOT, note

T0 = 1764000000.0


def message(at: float, text: str = "dettagli") -> dict:
    return {"event": "user", "text": text, "timestamp": at}


def noted(at: float, value: str | None) -> dict:
    return {"event": "slot", "name": NOTE_SLOT, "value": value, "timestamp": at}


def action(at: float, name: str) -> dict:
    return {"event": "action", "name": name, "timestamp": at}


def test_the_first_detail_after_the_queue_message_is_acknowledged() -> None:
    events = [
        message(T0, "voglio un operatore"),
        action(T0, "action_handoff"),
        action(T0, "utter_handoff_queued"),
        message(T0 + 20),
    ]
    assert note(events) == ADDED
    assert note([message(T0)]) == ADDED  # nothing before it


def test_details_in_a_row_are_acknowledged_once() -> None:
    events = [message(T0), noted(T0, ADDED), message(T0 + 30)]
    assert note(events) == ADDED_QUIETLY
    events += [noted(T0 + 30, ADDED_QUIETLY), message(T0 + 60)]
    assert note(events) == ADDED_QUIETLY


def test_after_a_pause_the_citizen_is_told_again() -> None:
    events = [message(T0), noted(T0, ADDED), message(T0 + 60), noted(T0 + 60, ADDED_QUIETLY)]
    assert note([*events, message(T0 + 9 * 60)]) == ADDED_QUIETLY
    # Ten minutes after the last «L'ho aggiunto», whatever came quietly in between.
    assert note([*events, message(T0 + 10 * 60)]) == ADDED
    assert note([*events, message(T0 + 120)], say_again_after=timedelta(minutes=1)) == ADDED


def test_after_an_answer_the_next_detail_is_acknowledged_again() -> None:
    events = [
        message(T0),
        noted(T0, ADDED),
        message(T0 + 10, "orari anagrafe"),
        action(T0 + 10, "action_opening_hours"),
        action(T0 + 10, "utter_hours_open_now"),
        message(T0 + 20),
    ]
    assert note(events) == ADDED
    # A note cleared by an answer of the FAQ is no note either.
    events = [message(T0), noted(T0, ADDED), message(T0 + 5), noted(T0 + 5, None)]
    assert note([*events, message(T0 + 10)]) == ADDED


def test_without_timestamps_the_bot_rather_says_it() -> None:
    events = [{"event": "user"}, {"event": "slot", "name": NOTE_SLOT, "value": ADDED}]
    assert note([*events, {"event": "user"}]) == ADDED
