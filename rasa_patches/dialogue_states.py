"""A conversation's dialogue states, computed once per turn for all the policies.

To predict the next action, each policy (memoization, rules, TED) asks the conversation
for its dialogue states, and Rasa 3.6 rebuilds them each time by replaying every event of
the session on fresh copies of the tracker: the same work three or four times for every
prediction, a tenth of a message's cost on the Rasa server (docs/performance.md).

Here :meth:`DialogueStateTracker.past_states` keeps its answers on the tracker, for as long
as the tracker has the same events (same number, same last event) and the same domain;
each caller gets its own copy, since Rasa's featurizers change the states they receive.
Training trackers keep their own cache, untouched.

When the tracker gets new events, the replay goes on from where it stopped rather than from
the first event of the session (:class:`_Replay`): the state before an action depends only
on the events applied before it, so the states of the turns already replayed stay as they
were. Rasa's ``applied_events`` decides which events count, as in Rasa; when the new list
does not begin with the events already replayed (an event undone, a form's step that
replaces the previous one, a restart), the replay starts again from the first. The states
are Rasa's, computed by Rasa's own functions in Rasa's order.

Replaces Rasa 3.6's ``DialogueStateTracker.past_states``, process-wide; installed by
:func:`rasa_patches.install_all`. The rules matching those states are remembered by
:mod:`rasa_patches.rule_matches`, a patch of its own.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State, SubState
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_patches.replacement import Replacement

CACHE = "_urp_past_states"
REPLAYS = "_urp_replays"
_rasas_past_states = DialogueStateTracker.past_states


def _frozen(rule_only_data: dict[str, Any] | None) -> Hashable:
    if rule_only_data is None:
        return None
    return tuple(sorted((key, tuple(value)) for key, value in rule_only_data.items()))


def past_states(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Rasa's ``past_states``, remembered until the tracker gets another event."""
    if not self.events:
        return _rasas_past_states(
            self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
        )
    last = self.events[-1]
    cached = self.__dict__.get(CACHE)
    if (
        cached is None
        or cached[0] is not domain
        or cached[1] != len(self.events)
        or cached[2] is not last
    ):
        cached = None
    if cached is None:
        cached = self.__dict__[CACHE] = (domain, len(self.events), last, {})
    key = (omit_unset_slots, ignore_rule_only_turns, _frozen(rule_only_data))
    states = cached[3].get(key)
    if states is None:
        states = cached[3][key] = _replayed_states(
            self, domain, key, omit_unset_slots, ignore_rule_only_turns, rule_only_data
        )
    # {part: {feature: value}}: values are strings and tuples, the dicts are what changes.
    return [{part: dict(features) for part, features in state.items()} for state in states]


class _Replay:
    """Rasa's ``Domain.states_for_tracker_history``, stopped after the events applied so far.

    ``tracker`` is the copy the events are replayed on (Rasa's ``generate_all_prior_trackers``
    does the same on a fresh copy each time); ``states`` are those of the turns before each
    action already applied; the other fields are the variables of Rasa's loop.
    """

    def __init__(
        self,
        conversation: DialogueStateTracker,
        domain: Domain,
        omit_unset_slots: bool,
        ignore_rule_only_turns: bool,
        rule_only_data: dict[str, Any] | None,
    ) -> None:
        self.domain = domain
        self.omit_unset_slots, self.ignore_rule_only_turns = (
            omit_unset_slots,
            ignore_rule_only_turns,
        )
        self.rule_only_data = rule_only_data
        self.applied: list[Event] = []
        self.tracker = conversation.init_copy()
        self.states: list[State] = []
        self.last_ml_action_sub_state: SubState | None = None
        self.turn_was_hidden = False

    def continues(self, applied: list[Event], domain: Domain) -> bool:
        """Whether ``applied`` begins with the very events replayed so far."""
        done = self.applied
        return (
            self.domain is domain
            and len(applied) >= len(done)
            and all(new is old for new, old in zip(applied, done, strict=False))
        )

    def advance(self, applied: list[Event]) -> list[State]:
        """Apply the events after those already applied; the states of the whole history."""
        for event in applied[len(self.applied) :]:
            if isinstance(event, ActionExecuted):
                self._turn(event.hide_rule_turn, self.states)
            self.tracker.update(event)
        self.applied = list(applied)
        # The turn after the last event: computed for this answer, not kept (Rasa's last yield).
        states = list(self.states)
        kept = (self.last_ml_action_sub_state, self.turn_was_hidden)
        self._turn(False, states)
        self.last_ml_action_sub_state, self.turn_was_hidden = kept
        return states

    def _turn(self, hide_rule_turn: bool, states: list[State]) -> None:
        # The body of Rasa's loop in ``Domain.states_for_tracker_history``, line by line.
        domain, tracker = self.domain, self.tracker
        if self.ignore_rule_only_turns:
            if not self.turn_was_hidden:
                self.last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
            if (
                not tracker.followup_action
                and tracker.latest_action_name != tracker.active_loop_name
            ):
                self.turn_was_hidden = hide_rule_turn
            if self.turn_was_hidden:
                return
        state = domain.get_active_state(tracker, omit_unset_slots=self.omit_unset_slots)
        if self.ignore_rule_only_turns:
            domain._remove_rule_only_features(state, self.rule_only_data)
            if states:
                domain._substitute_rule_only_user_input(state, states[-1])
            if self.last_ml_action_sub_state:
                state[PREVIOUS_ACTION] = self.last_ml_action_sub_state
        states.append(domain._clean_state(state))


def _replayed_states(
    tracker: DialogueStateTracker,
    domain: Domain,
    key: Hashable,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
) -> list[State]:
    """The tracker's past states, replaying only the events it got since the last time.
    One replay per set of arguments; ``key`` is theirs in ``past_states``' cache."""
    replays = tracker.__dict__.setdefault(REPLAYS, {})
    applied = tracker.applied_events()
    replay = replays.get(key)
    if replay is None or not replay.continues(applied, domain):
        replay = replays[key] = _Replay(
            tracker, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
        )
    return replay.advance(applied)


PATCH = Replacement(DialogueStateTracker, "past_states", past_states)
