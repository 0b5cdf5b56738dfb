"""Unclear messages (actions.fallback): the second one in a row earns the offer of a person."""

from __future__ import annotations

from rasa_sdk.events import SlotSet

from actions.fallback import ActionCountUnclear
from tests.unit.conversation import bot, run, session_started, tracker, user


def test_first_unclear_message_does_not_offer_a_person_yet() -> None:
    conversation = tracker(
        session_started(), user("greet"), bot("utter_greet"), user("nlu_fallback")
    )
    events, messages = run(ActionCountUnclear(), conversation)
    assert events == [SlotSet("operator_offered", False), SlotSet("faq_outcome", None)]
    assert messages == []  # the reply is chosen by the rules


def test_second_unclear_message_in_a_row_offers_a_person() -> None:
    conversation = tracker(
        session_started(),
        user("nlu_fallback"),
        bot("utter_ask_rephrase"),
        user("nlu_fallback"),
    )
    events, _ = run(ActionCountUnclear(), conversation)
    assert events == [SlotSet("operator_offered", True), SlotSet("faq_outcome", None)]


def test_unclear_messages_not_in_a_row_do_not_offer_a_person() -> None:
    conversation = tracker(
        session_started(),
        user("nlu_fallback"),
        bot("utter_ask_rephrase"),
        user("ask_opening_hours"),
        bot("utter_opening_hours"),
        user("nlu_fallback"),
    )
    events, _ = run(ActionCountUnclear(), conversation)
    assert events == [SlotSet("operator_offered", False), SlotSet("faq_outcome", None)]


def test_unclear_messages_of_a_previous_session_do_not_count() -> None:
    conversation = tracker(user("nlu_fallback"), session_started(), user("nlu_fallback"))
    events, _ = run(ActionCountUnclear(), conversation)
    assert events == [SlotSet("operator_offered", False), SlotSet("faq_outcome", None)]


def test_an_unclear_message_the_faq_answered_does_not_count() -> None:
    answered = {"event": "slot", "name": "faq_outcome", "value": "answer"}
    conversation = tracker(
        session_started(),
        user("nlu_fallback"),
        bot("action_count_unclear"),
        answered,
        user("nlu_fallback"),
    )
    events, _ = run(ActionCountUnclear(), conversation)
    assert events == [SlotSet("operator_offered", False), SlotSet("faq_outcome", None)]
