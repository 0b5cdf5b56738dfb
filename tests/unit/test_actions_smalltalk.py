"""Session start, unclear messages and abuse, as conversations."""

from __future__ import annotations

from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions.fallback import ActionCountUnclear
from actions.moderation import ActionCheckAbuse
from actions.session import ActionSessionStart
from tests.unit.conversation import bot, run, session_started, tracker, user


def test_session_start_loads_the_municipality_facts() -> None:
    events, messages = run(ActionSessionStart(), tracker())
    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")
    assert SlotSet("urp_comune", "Comune di Ancona") in events
    assert SlotSet("urp_policy_url", "https://www.comune.ancona.gov.it/whatsapp-privacy") in events
    assert messages == []


def test_session_start_follows_the_settings_file(monkeypatch) -> None:
    monkeypatch.setenv("URP_SETTINGS", "settings/arezzo.yml")
    events, _ = run(ActionSessionStart(), tracker())
    assert SlotSet("urp_comune", "Comune di Arezzo") in events
    assert SlotSet("urp_hours", "lun, mar, mer, gio e ven 8:30-13:00") in events


def test_session_start_carries_over_conversation_slots_but_refreshes_facts() -> None:
    old = tracker(
        slots={"abuse_flagged": True, "urp_comune": "Comune di Prima", "operator_offered": None}
    )
    events, _ = run(ActionSessionStart(), old)
    assert SlotSet("abuse_flagged", True) in events
    assert SlotSet("urp_comune", "Comune di Prima") not in events
    assert not any(e.get("name") == "operator_offered" for e in events)


def test_first_unclear_message_does_not_offer_a_person_yet() -> None:
    conversation = tracker(
        session_started(), user("greet"), bot("utter_greet"), user("nlu_fallback")
    )
    events, messages = run(ActionCountUnclear(), conversation)
    assert events == [SlotSet("operator_offered", False)]
    assert messages == []  # the reply is chosen by the rules


def test_second_unclear_message_in_a_row_offers_a_person() -> None:
    conversation = tracker(
        session_started(),
        user("nlu_fallback"),
        bot("utter_ask_rephrase"),
        user("nlu_fallback"),
    )
    events, _ = run(ActionCountUnclear(), conversation)
    assert events == [SlotSet("operator_offered", True)]


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
    assert events == [SlotSet("operator_offered", False)]


def test_unclear_messages_of_a_previous_session_do_not_count() -> None:
    conversation = tracker(user("nlu_fallback"), session_started(), user("nlu_fallback"))
    events, _ = run(ActionCountUnclear(), conversation)
    assert events == [SlotSet("operator_offered", False)]


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
