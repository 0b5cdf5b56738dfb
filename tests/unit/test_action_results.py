"""The action server's answers, checked with the schema compiled once: what Rasa's own
check accepts passes, what it refuses is refused with the same error."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import channels  # noqa: F401  (installs the check, as the Rasa server does)
from channels.action_results import action_result_validator, validate_action_result

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
