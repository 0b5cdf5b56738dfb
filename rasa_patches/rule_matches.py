"""The rules that match a conversation's dialogue states, looked up once per history.

To predict, Rasa 3.6's rule policy looks for the rules that match the dialogue states by
testing every rule against every turn, again for each prediction
(``RulePolicy._get_possible_keys``). Which rules match depends on nothing but the states
and the rule table, so each rule policy keeps the answers for the last
:data:`RULE_KEYS_KEPT` distinct histories it has seen (:func:`possible_rule_keys`); the
rule it then picks, and everything it does with loops and fallbacks, is Rasa's. Measured
together with :mod:`rasa_patches.dialogue_states` (docs/performance.md).

Replaces Rasa 3.6's ``RulePolicy._get_possible_keys``, process-wide; installed by
:func:`rasa_patches.install_all`.
"""

from __future__ import annotations

from collections import OrderedDict

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import State

from rasa_patches.replacement import Replacement

RULE_KEYS = "_urp_rule_keys"
RULE_KEYS_KEPT = 4096
_rasas_possible_keys = RulePolicy._get_possible_keys


def states_key(states: list[State]) -> str:
    """The states as a dict key: their ``repr``, made in C. The states are plain strings,
    numbers and tuples in dicts, so two different histories never share a key; the same
    history with its dicts built in another order would only be computed once more.
    components.ted keys its cache the same way (importing this module installs nothing)."""
    return repr(states)


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


PATCH = Replacement(RulePolicy, "_get_possible_keys", possible_rule_keys)
