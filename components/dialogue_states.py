"""A conversation's dialogue states, computed once per turn for all the policies.

To predict the next action, each policy (memoization, rules, TED) asks the conversation
for its dialogue states, and Rasa 3.6 rebuilds them each time by replaying every event of
the session on fresh copies of the tracker: the same work three or four times for every
prediction, a tenth of a message's cost on the Rasa server (docs/performance.md).

Here :meth:`DialogueStateTracker.past_states` keeps its answers on the tracker, for as long
as the tracker has the same events (same number, same last event) and the same domain;
each caller gets its own copy, since Rasa's featurizers change the states they receive.
The states themselves are Rasa's. Training trackers keep their own cache, untouched.

The rule policy then looks for the rules that match those states by testing every rule
against every turn, again for each prediction. Which rules match depends on nothing but
the states and the rules, so each rule policy keeps the answers for the last 4096 distinct
histories it has seen (:func:`possible_rule_keys`); the rule it then picks, and everything
it does with loops and fallbacks, is Rasa's.

Installed by importing the ``components`` package, which the model's pipeline does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.trackers import DialogueStateTracker

CACHE = "_urp_past_states"
RULE_KEYS = "_urp_rule_keys"
RULE_KEYS_KEPT = 4096
_rasas_past_states = DialogueStateTracker.past_states
_rasas_possible_keys = RulePolicy._get_possible_keys


def states_key(states: list[State]) -> str:
    """The states as a dict key: their ``repr``, made in C. The states are plain strings,
    numbers and tuples in dicts, so two different histories never share a key; the same
    history with its dicts built in another order would only be computed once more."""
    return repr(states)


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
        states = cached[3][key] = _rasas_past_states(
            self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
        )
    # {part: {feature: value}}: values are strings and tuples, the dicts are what changes.
    return [{part: dict(features) for part, features in state.items()} for state in states]


def possible_rule_keys(self: RulePolicy, lookup: dict[str, str], states: list[State]) -> set[str]:
    """Rasa's ``RulePolicy._get_possible_keys``, remembered per rule table and states."""
    kept = self.__dict__.get(RULE_KEYS)
    if kept is None:
        kept = self.__dict__[RULE_KEYS] = OrderedDict()
    key = (id(lookup), states_key(states))
    found = kept.get(key)
    if found is None or found[0] is not lookup:
        found = kept[key] = (lookup, frozenset(_rasas_possible_keys(self, lookup, states)))
        if len(kept) > RULE_KEYS_KEPT:
            kept.popitem(last=False)
    else:
        kept.move_to_end(key)
    return set(found[1])


def install() -> None:
    """Share the dialogue states and the matching rules in this process (idempotent)."""
    DialogueStateTracker.past_states = past_states  # type: ignore[method-assign]
    RulePolicy._get_possible_keys = possible_rule_keys  # type: ignore[method-assign]
