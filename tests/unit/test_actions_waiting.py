"""While the chat waits for an operator (actions.waiting, used by action_faq and
action_count_unclear): the citizen's details are added to the request, never «di questo
non mi occupo»; a question the FAQ can answer still gets its answer. Against a real store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions import services
from actions.fallback import ActionCountUnclear, unclear_streak
from actions.faq import ActionFaq
from tests.unit.conversation import run, slots, tracker
from tests.unit.test_actions_faq import CIE, LIBRARY, TARI
from urp.core.db import Database
from urp.core.settings import load_settings
from urp.faq.store import FaqService
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService

CITIZEN = "socketio:" + "ab" * 16
T0 = 1764000000.0
DETAIL = "mia madre ha novant'anni e la pratica della pensione è ferma da marzo"


@pytest.fixture
def handoffs(monkeypatch, actions_store: Database) -> Iterator[HandoffService]:
    """Ancona's settings, the office's FAQ, and the citizen's chat in the operators' queue."""
    monkeypatch.setenv("URP_SETTINGS", "settings/ancona.yml")
    monkeypatch.setenv("URP_FAQ_RECHECK_SECONDS", "0")
    FaqService(actions_store).import_entries([TARI, LIBRARY, CIE], by="prova")
    services.forget_faq_index()
    service = HandoffService(actions_store, load_settings())
    service.open(CITIZEN, "socketio", "request")
    yield service
    services.forget_faq_index()


def user(intent: str, text: str, at: float) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "timestamp": at,
        "input_channel": "socketio",
        "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": []},
    }


def slot(name: str, value: Any, at: float) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value, "timestamp": at}


def conversation(*events: dict[str, Any], note: str | None = None) -> Tracker:
    """The chat after «scrivi pure i dettagli»: the request, the bot's reply, ``events``."""
    queued = [
        user("request_operator", "voglio parlare con una persona", T0 - 60),
        {"event": "action", "name": "action_handoff", "timestamp": T0 - 60},
        {"event": "action", "name": "utter_handoff_queued", "timestamp": T0 - 60},
    ]
    return tracker(*queued, *events, slots={"handoff_note": note}, sender_id=CITIZEN)


def test_a_detail_is_added_to_the_request_not_out_of_scope(handoffs) -> None:
    events, messages = run(ActionFaq(), conversation(user("out_of_scope", DETAIL, T0)))
    assert slots(events) == {"faq_outcome": None, "faq_id": None, "handoff_note": "added"}
    assert messages == []  # the rules say «L'ho aggiunto alla tua richiesta»


def test_details_in_a_row_are_acknowledged_once(handoffs) -> None:
    first = user("out_of_scope", DETAIL, T0)
    second = user("nlu_fallback", "il numero di pratica è 1234/2026", T0 + 40)
    events, messages = run(
        ActionCountUnclear(),
        conversation(first, slot("handoff_note", "added", T0), second, note="added"),
    )
    assert slots(events) == {
        "operator_offered": None,
        "faq_outcome": None,
        "faq_id": None,
        "handoff_note": "added_quietly",
    }
    assert messages == []


def test_an_unclear_detail_is_added_and_never_counts_towards_a_second_handoff(handoffs) -> None:
    events, _ = run(ActionCountUnclear(), conversation(user("nlu_fallback", "boh", T0)))
    assert slots(events)["handoff_note"] == "added"
    assert slots(events)["operator_offered"] is None
    later = conversation(
        user("nlu_fallback", "boh", T0),
        slot("handoff_note", "added", T0),
        user("nlu_fallback", "uffa", T0 + 5),
        slot("handoff_note", "added_quietly", T0 + 5),
        user("nlu_fallback", "mah", T0 + 10),
    )
    assert unclear_streak(later) == 1


def test_a_question_the_faq_answers_still_gets_its_answer(handoffs) -> None:
    asked = conversation(user("out_of_scope", "come si paga la tari?", T0), note="added")
    events, messages = run(ActionFaq(), asked)
    assert slots(events) == {"faq_outcome": "answer", "faq_id": TARI.id, "handoff_note": None}
    assert "F24" in messages[0]["text"]


def test_once_an_operator_holds_the_chat_or_it_is_closed_the_bot_answers_as_usual(
    handoffs, actions_store: Database
) -> None:
    mario = OperatorService(actions_store).add(
        "mario", "Mario Rossi", "password-di-prova", "operator"
    )
    [queued] = handoffs.queue()
    handoffs.claim(queued.handoff.id, mario)
    events, _ = run(ActionFaq(), conversation(user("out_of_scope", DETAIL, T0)))
    assert slots(events)["faq_outcome"] == "none"
    handoffs.resolve(queued.handoff.id, mario)
    events, _ = run(ActionFaq(), conversation(user("out_of_scope", DETAIL, T0), note="added"))
    # The note of the waiting time is cleared: «di questo non mi occupo» is true again.
    assert slots(events) == {"faq_outcome": "none", "faq_id": None, "handoff_note": None}


def test_without_a_handoff_nothing_changes(actions_store: Database, monkeypatch) -> None:
    monkeypatch.setenv("URP_SETTINGS", "settings/ancona.yml")
    services.forget_faq_index()
    events, _ = run(ActionCountUnclear(), conversation(user("nlu_fallback", "boh", T0)))
    assert slots(events) == {"operator_offered": False, "faq_outcome": None}
    services.forget_faq_index()
