"""The action server's answers checked against Rasa's schema, compiled once.

Rasa 3.6 checks every answer of the action server with ``jsonschema.validate``, which
first checks the schema itself against JSON Schema's meta-schema and builds a new
validator: about 40 ms of CPU for each custom action, on the Rasa server's only core, the
largest single cost of a message (docs/performance.md). Here the schema is checked and
compiled once per process; each answer is then checked in about 1 ms, with the same
schema, the same rules and the same error (:meth:`RemoteAction._validate_action_result`'s
message included).

That 1 ms is still mostly the events' ``oneOf``: each event is tried against all 23 kinds
of event, and the 22 that do not match leave an error each. Since every kind is told apart
by its ``event`` name (a ``const``), an event is valid for the ``oneOf`` exactly when it is
valid for its own kind: a good answer is checked against that one kind only
(:func:`passes`). An answer that fails there, or has an event of no known kind, goes
through the whole schema, for the very error Rasa gives.

Replaces Rasa 3.6's ``RemoteAction._validate_action_result``, process-wide; installed by
:func:`rasa_patches.install_all`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

from rasa_patches.replacement import Replacement


@cache
def action_result_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    kind = validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


@cache
def _by_event_kind() -> tuple[Validator, dict[str, Validator]] | None:
    """The answer without its events' ``oneOf``, and each kind of event on its own; None if
    Rasa's schema is not shaped as this expects (then every answer takes the whole schema)."""
    schema = RemoteAction.action_response_format_spec()
    kind = validator_for(schema)
    try:
        events = schema["properties"]["events"]
        event = events["items"]
        common = {key: value for key, value in event.items() if key != "oneOf"}
        kinds = {one["properties"]["event"]["const"]: one for one in event["oneOf"]}
    except (KeyError, TypeError):
        return None
    if len(kinds) != len(event["oneOf"]):
        return None  # two alternatives for one name: the oneOf needs them all
    without_events = {
        **schema,
        "properties": {**schema["properties"], "events": {**events, "items": {}}},
    }
    return kind(without_events), {
        name: kind({"allOf": [common, one]}) for name, one in kinds.items()
    }


def passes(result: Any) -> bool:
    """True when the answer is valid; False when it may not be (the whole schema says)."""
    compiled = _by_event_kind()
    if compiled is None:
        return False
    answer, kinds = compiled
    if not answer.is_valid(result):
        return False
    for event in result.get("events") or ():
        name = event.get("event") if isinstance(event, dict) else None
        one = kinds.get(name) if isinstance(name, str) else None
        if one is None or not one.is_valid(event):
            return False
    return True


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """What ``jsonschema.validate`` does, without compiling the schema again."""
    if passes(result):
        return True
    error = best_match(action_result_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


PATCH = Replacement(RemoteAction, "_validate_action_result", validate_action_result)
