"""Session start (actions.session): the municipality's facts, carried slots, a held chat."""

from __future__ import annotations

from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions.handoff import ActionHandoff
from actions.session import ActionSessionStart
from tests.unit.conversation import run, tracker, user
from urp.core.db import Database
from urp.core.settings import load_settings
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService

NUMBER = "393331234567"


def test_session_start_loads_the_municipality_facts() -> None:
    events, messages = run(ActionSessionStart(), tracker())
    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")
    assert SlotSet("urp_comune", "Comune di Ancona") in events
    assert SlotSet("urp_policy_url", "https://www.comune.ancona.gov.it/whatsapp-privacy") in events
    # EU AI Act art. 50: every conversation starts by saying who answers (the gate puts it
    # on top of the first reply, tests/unit/test_channels_gate.py).
    assert [m["response"] for m in messages] == ["utter_ai_disclosure"]


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


def test_a_new_session_stays_paused_while_an_operator_holds_the_chat(
    at, actions_store: Database
) -> None:
    at(2026, 11, 25, 9, 30)
    request = {**user("request_operator"), "timestamp": 1764000000, "input_channel": "callback"}
    run(ActionHandoff(), tracker(request, sender_id=NUMBER))
    session = [e["event"] for e in run(ActionSessionStart(), tracker(sender_id=NUMBER))[0]]
    assert "pause" not in session  # pending: the bot still answers
    handoffs = HandoffService(actions_store, load_settings())
    mario = OperatorService(actions_store).add(
        "mario", "Mario Rossi", "password-di-prova", "operator"
    )
    handoffs.claim(handoffs.queue()[0].handoff.id, mario)
    events, messages = run(ActionSessionStart(), tracker(sender_id=NUMBER))
    session = [e["event"] for e in events]
    assert session[0] == "session_started" and session[-1] == "pause"
    assert messages == []  # a person answers: no «assistente automatico» line
