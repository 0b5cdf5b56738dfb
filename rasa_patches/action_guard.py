"""When the action server is down, slow or failing, the citizen gets an apology and a person.

Rasa 3.6 waits up to five minutes for a custom action and, when it fails, logs the error
and says nothing: the citizen is left without an answer. Here every custom action
(:class:`rasa.core.actions.action.RemoteAction`) is given at most ``URP_ACTION_TIMEOUT``
seconds (default 15); when it times out or fails, the conversation is queued for an
operator with its transcript (reason ``action_failed``) and the citizen reads
``utter_actions_down_handoff``, or ``utter_actions_down`` when the store cannot take the
handoff either. Rasa then listens again: the next message is handled normally, so the
conversation continues as soon as the action server is back.

A form's rejection (``ActionExecutionRejection``) is not a failure and passes through.

Replaces Rasa 3.6's ``RemoteAction.run``, process-wide, so that it covers whichever channel
the conversation comes from; installed by :func:`rasa_patches.install_all`. Switched off
(``URP_RASA_PATCHES_OFF=action_guard``), a citizen whose action fails gets no answer and
no operator, as with Rasa alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
from functools import lru_cache
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActiveLoop, BotUttered, Event, FollowupAction, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_patches.replacement import Replacement
from urp.core.db import Database
from urp.core.settings import current_settings
from urp.handoff.queue import HandoffService
from urp.handoff.transcript import transcript_from_events

logger = logging.getLogger(__name__)

TIMEOUT_ENV = "URP_ACTION_TIMEOUT"
DEFAULT_TIMEOUT = 15.0
HANDOFF_RESPONSE = "utter_actions_down_handoff"
APOLOGY_RESPONSE = "utter_actions_down"
RESPONSES = frozenset({HANDOFF_RESPONSE, APOLOGY_RESPONSE})
REASON = "action_failed"

_unguarded_run = RemoteAction.run


def action_timeout() -> float:
    """``URP_ACTION_TIMEOUT`` in seconds; odd values: the default."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


@lru_cache(maxsize=1)
def database() -> Database:
    """The store the handoffs go to (``URP_DB_URL``), opened at the first failure: most
    processes never need it, and the patch depends on no channel."""
    return Database.from_environment()


def open_handoff(tracker: DialogueStateTracker) -> bool:
    """Queue the conversation for an operator; whether the store took it."""
    events = [event.as_dict() for event in tracker.events]
    try:
        HandoffService(database(), current_settings()).open(
            tracker.sender_id,
            tracker.get_latest_input_channel() or "rest",
            REASON,
            transcript_from_events(events),
        )
    except Exception:
        logger.exception("Coda degli operatori non disponibile: nessun passaggio all'URP")
        return False
    return True


async def guarded_run(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> list[Event]:
    try:
        return await asyncio.wait_for(
            _unguarded_run(self, output_channel, nlg, tracker, domain), action_timeout()
        )
    except ActionExecutionRejection:
        raise
    except Exception as error:
        # The error's type only: its text may carry the tracker, and so the citizen's words.
        logger.error("L'azione %s non è riuscita (%s)", self.name(), type(error).__name__)
    queued = await asyncio.to_thread(open_handoff, tracker)
    response = HANDOFF_RESPONSE if queued else APOLOGY_RESPONSE
    draft = await nlg.generate(
        response, tracker, output_channel.name(), **current_settings().facts()
    )
    events: list[Event] = []
    if tracker.active_loop_name:
        # A form half filled would take the next messages as its answers.
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
    if draft:
        events.append(BotUttered(draft.get("text"), metadata={"utter_action": response}))
    # Listen again: no policy should go on from an action that never ran.
    return [*events, FollowupAction(ACTION_LISTEN_NAME)]


PATCH = Replacement(RemoteAction, "run", guarded_run)
