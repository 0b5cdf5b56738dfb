"""The action server's answers checked against Rasa's schema, compiled once.

Rasa 3.6 checks every answer of the action server with ``jsonschema.validate``, which
first checks the schema itself against JSON Schema's meta-schema and builds a new
validator: about 40 ms of CPU for each custom action, on the Rasa server's only core, the
largest single cost of a message (docs/performance.md). Here the schema is checked and
compiled once per process; each answer is then checked in about 1 ms, with the same
schema, the same rules and the same error (:meth:`RemoteAction._validate_action_result`'s
message included).

Installed once, by importing the ``channels`` package, like the action guard.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@cache
def action_result_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    kind = validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """What ``jsonschema.validate`` does, without compiling the schema again."""
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


def install() -> None:
    """Check the answers of this process's custom actions with the compiled schema."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
