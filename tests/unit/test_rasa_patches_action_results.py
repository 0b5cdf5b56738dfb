"""The action server's answers, checked with the schema compiled once
(rasa_patches/action_results.py): what Rasa's own check accepts passes, what it refuses is
refused with the same error."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import rasa_patches
from rasa_patches.action_results import action_result_validator, validate_action_result

GOOD = {
    "events": [
        {"event": "slot", "timestamp": None, "name": "pharmacy_outcome", "value": "found"},
        {"event": "followup", "name": "action_listen"},
    ],
    "responses": [{"response": "utter_pharmacy_found", "pharmacies": "Farmacia Centrale"}],
}
BAD = [
    {"events": "not a list"},
    {"events": [{"event": "slot", "name": 7}]},
    {"events": [{"no_event": True}]},
    {"responses": ["text"]},
    [],
]


@pytest.fixture(autouse=True)
def patched() -> None:
    rasa_patches.install_all({})  # every patch, whatever the shell says


def test_rasa_uses_it() -> None:
    assert RemoteAction._validate_action_result is validate_action_result


def test_a_good_answer_passes() -> None:
    assert RemoteAction("action_pharmacy_shift", None)._validate_action_result(GOOD)
    assert validate_action_result(None, {"events": [], "responses": []})


@pytest.mark.parametrize("answer", BAD)
def test_a_bad_answer_is_refused_as_rasa_refuses_it(answer) -> None:
    with pytest.raises(jsonschema.ValidationError) as rasas:
        jsonschema.validate(answer, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as ours:
        RemoteAction("action_pharmacy_shift", None)._validate_action_result(answer)
    assert ours.value.message.startswith(rasas.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_compiled_once() -> None:
    assert action_result_validator() is action_result_validator()


def _answers() -> list:
    """Answers good and bad in every way the schema looks at: each kind of event, fields of
    the wrong type, unknown kinds, odd shapes."""
    from rasa.shared.utils.schemas.events import EVENT_SCHEMA

    kinds = [one["properties"]["event"]["const"] for one in EVENT_SCHEMA["oneOf"]]
    events = [{"event": name} for name in kinds]
    events += [
        {"event": "slot", "name": "hours_outcome", "value": None, "timestamp": 1.5},
        {"event": "slot", "name": "hours_outcome"},
        {"event": "slot", "name": 3, "value": "x"},
        {"event": "entities", "entities": [{"entity": "place", "value": "piazza"}]},
        {"event": "entities", "entities": [{"entity": "place"}]},
        {"event": "entities"},
        {"event": "action", "name": "utter_greet", "confidence": "high"},
        {"event": "action", "hide_rule_turn": "yes"},
        {"event": "user", "text": "ciao", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "user", "text": 5},
        {"event": "user", "parse_data": {"response_selector": {"all_retrieval_intents": []}}},
        {"event": "user", "parse_data": {"response_selector": {"faq": {"ranking": "x"}}}},
        {"event": "user", "parse_data": {"entities": [{"value": 1}]}},
        {"event": "bot", "text": "Ciao!", "metadata": "not an object"},
        {"event": "bot", "timestamp": "yesterday"},
        {"event": "unknown_kind"},
        {"event": 7},
        {"event": ["slot"]},
        {"name": "no kind"},
        "slot",
        None,
    ]
    answers: list = [{}, [], "text", None, {"events": []}, {"responses": [{"text": "Ciao"}]}]
    answers += [{"events": [event]} for event in events]
    answers += [{"events": [events[0], event, events[1]], "responses": []} for event in events]
    answers += [{"events": events[:3], "responses": "x"}, {"events": {"event": "slot"}}]
    return answers


def test_an_answer_passes_by_its_events_kinds_exactly_when_rasas_schema_accepts_it() -> None:
    from rasa_patches.action_results import passes

    whole = action_result_validator()
    checked = {True: 0, False: 0}
    for answer in _answers():
        valid = whole.is_valid(answer)
        assert passes(answer) is valid, answer
        checked[valid] += 1
    assert checked[True] > 25 and checked[False] > 25


def test_a_good_answer_is_not_checked_against_every_kind_of_event(monkeypatch) -> None:
    from rasa_patches import action_results

    def not_the_whole_schema():
        raise AssertionError("a good answer went through the whole oneOf")

    monkeypatch.setattr(action_results, "action_result_validator", not_the_whole_schema)
    assert validate_action_result(None, GOOD)
