"""Who writes to a web citizen, as the widget shows it (issue 26, item 3).

Every ``bot_uttered`` of the web chat carries a tag under ``urp``:

- ``author``: ``"operator"`` for a reply an operator wrote in the console, else ``"bot"``;
- ``name``: the operator's first name («Giulia · URP»), for their replies and for the
  message that says they took the chat;
- ``handoff``: what the request to the URP is from this message on, for the widget's
  header: ``"pending"`` (in the queue), ``"assigned"`` (an operator answers) or ``"none"``.

The bot's messages say it through the response they come from (Rasa's ``utter_action``);
an operator's reply through the metadata the console gives it (:mod:`urp.handoff.chat`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from urp.core.db import Database
from urp.core.models import ASSIGNED
from urp.core.models import Handoff as HandoffRow
from urp.core.models import Operator as OperatorRow
from urp.handoff.chat import OPERATOR_MESSAGE_KEY, OPERATOR_NAME_KEY, first_name

RESPONSE_KEY = "utter_action"  # the response a bot message comes from (Rasa's metadata)
CLAIMED_RESPONSE = "utter_handoff_claimed"
PENDING, ASSIGNED_STATE, NONE = "pending", "assigned", "none"
# The request's state after each response of the handoff (data/rules/handoff.yml).
HANDOFF_STATES = {
    "utter_handoff_queued": PENDING,
    "utter_handoff_queued_closed": PENDING,
    "utter_book_appointment": PENDING,
    "utter_book_appointment_closed": PENDING,
    "utter_handoff_already_queued": PENDING,
    "utter_handoff_reminder": PENDING,
    "utter_handoff_released": PENDING,
    "utter_actions_down_handoff": PENDING,
    CLAIMED_RESPONSE: ASSIGNED_STATE,
    "utter_handoff_resolved": NONE,
    "utter_handoff_cancelled": NONE,
    "utter_handoff_not_queued": NONE,
}
MAX_NAME = 40  # the widget shows no longer name


def operator_message_id(metadata: Mapping[str, Any]) -> int | None:
    """The transcript id of an operator's reply (None: the bot's message)."""
    value = metadata.get(OPERATOR_MESSAGE_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def needs_operator_name(metadata: Mapping[str, Any]) -> bool:
    """Whether the tag wants the name of who holds the chat, and the metadata lacks it."""
    if operator_message_id(metadata) is not None:
        return not _name(metadata.get(OPERATOR_NAME_KEY))
    return metadata.get(RESPONSE_KEY) == CLAIMED_RESPONSE


def author_tag(metadata: Mapping[str, Any], holder: str | None = None) -> dict[str, str]:
    """The ``urp`` tag of a message with this metadata; ``holder`` is the first name of
    the operator who holds the chat, when known."""
    if operator_message_id(metadata) is not None:
        tag = {"author": "operator", "handoff": ASSIGNED_STATE}
        name = _name(metadata.get(OPERATOR_NAME_KEY)) or _name(holder)
    else:
        tag = {"author": "bot"}
        state = HANDOFF_STATES.get(str(metadata.get(RESPONSE_KEY)))
        if state is not None:
            tag["handoff"] = state
        name = _name(holder) if state == ASSIGNED_STATE else ""
    if name:
        tag["name"] = name
    return tag


def holder_first_name(database: Database, conversation_id: str) -> str | None:
    """The first name of the operator who holds the conversation's chat, if one does."""
    with database.transaction() as session:
        display_name = session.execute(
            select(OperatorRow.display_name)
            .join(HandoffRow, HandoffRow.operator_id == OperatorRow.id)
            .where(HandoffRow.conversation_id == conversation_id, HandoffRow.status == ASSIGNED)
        ).scalar_one_or_none()
    return first_name(display_name) if display_name else None


def _name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    return name if len(name) <= MAX_NAME else ""
