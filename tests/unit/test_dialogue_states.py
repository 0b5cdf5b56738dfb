"""The dialogue states shared by the policies: always what Rasa computes, turn after
turn, whatever a caller does to its copy."""

from __future__ import annotations

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

import components  # noqa: F401  (installs the shared states, as loading the model does)
from components.dialogue_states import _rasas_past_states, past_states
from tests.unit.test_validate import ROOT

DOMAIN = Domain.load(str(ROOT / "domain.yml"))
RULE_ONLY = {"slots": ["operator_offered"], "loops": []}
ARGUMENTS = [
    {},
    {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY},
    {"omit_unset_slots": True},
]
CONVERSATION = [
    ActionExecuted("action_listen"),
    UserUttered("segnalo un lampione spento", {"name": "report_problem", "confidence": 0.9}),
    ActionExecuted("action_report_mode"),
    SlotSet("reporting_mode", "collect"),
    ActionExecuted("report_form"),
    ActiveLoop("report_form"),
    SlotSet("requested_slot", "report_description"),
    BotUttered("Descrivi il problema"),
    ActionExecuted("action_listen"),
    UserUttered("orari?", {"name": "ask_opening_hours", "confidence": 0.95}),
    ActionExecuted("action_opening_hours"),
    SlotSet("hours_outcome", "open_now"),
    ActionExecuted("utter_hours_open_now"),
]


def test_installed_for_every_conversation() -> None:
    assert DialogueStateTracker.past_states is past_states


def test_the_same_states_as_rasa_after_every_event() -> None:
    tracker = DialogueStateTracker("cittadino", DOMAIN.slots)
    for event in CONVERSATION:
        tracker.update(event)
        for arguments in ARGUMENTS:
            expected = _rasas_past_states(tracker, DOMAIN, **arguments)
            assert tracker.past_states(DOMAIN, **arguments) == expected
            assert tracker.past_states(DOMAIN, **arguments) == expected  # from memory


def test_a_copy_changed_by_a_featurizer_changes_nothing_else() -> None:
    tracker = DialogueStateTracker.from_events("cittadino", CONVERSATION, DOMAIN.slots)
    first = tracker.past_states(DOMAIN)
    expected = _rasas_past_states(tracker, DOMAIN)
    for state in first:
        state.pop("slots", None)
        for features in state.values():
            features.clear()
    assert tracker.past_states(DOMAIN) == expected


def test_another_domain_or_conversation_is_not_taken_from_memory() -> None:
    tracker = DialogueStateTracker.from_events("a", CONVERSATION, DOMAIN.slots)
    tracker.past_states(DOMAIN)
    smaller = Domain.from_dict({"intents": ["report_problem", "ask_opening_hours"]})
    assert tracker.past_states(smaller) == _rasas_past_states(tracker, smaller)
    other = DialogueStateTracker.from_events("b", CONVERSATION[:5], DOMAIN.slots)
    assert other.past_states(DOMAIN) == _rasas_past_states(other, DOMAIN)
    empty = DialogueStateTracker("vuoto", DOMAIN.slots)
    assert empty.past_states(DOMAIN) == _rasas_past_states(empty, DOMAIN)


def test_matching_rules_are_looked_up_once_per_table_and_states(monkeypatch) -> None:
    from rasa.core.policies.rule_policy import RulePolicy

    from components import dialogue_states

    looked_up = []

    def rasas(self, lookup, states):
        looked_up.append((id(lookup), len(states)))
        return {key for key in lookup if key.startswith(str(len(states)))}

    monkeypatch.setattr(dialogue_states, "_rasas_possible_keys", rasas)
    assert RulePolicy._get_possible_keys is dialogue_states.possible_rule_keys
    policy = RulePolicy.__new__(RulePolicy)  # only the lookup is used
    rules, unhappy = {"1a": "x", "2b": "y"}, {"1c": "z"}
    one = [{"user": {"intent": "greet"}}]
    two = [*one, {"prev_action": {"action_name": "utter_greet"}}]

    found = policy._get_possible_keys(rules, one)
    assert found == {"1a"}
    found.add("changed by the caller")
    assert policy._get_possible_keys(rules, [{"user": {"intent": "greet"}}]) == {"1a"}
    assert policy._get_possible_keys(unhappy, one) == {"1c"}
    assert policy._get_possible_keys(rules, two) == {"2b"}
    assert looked_up == [(id(rules), 1), (id(unhappy), 1), (id(rules), 2)]


def test_the_states_are_computed_once_per_turn(monkeypatch) -> None:
    from components import dialogue_states

    computed = []

    def rasas(self, domain, *arguments):
        computed.append(len(self.events))
        return _rasas_past_states(self, domain, *arguments)

    monkeypatch.setattr(dialogue_states, "_rasas_past_states", rasas)
    tracker = DialogueStateTracker.from_events("cittadino", CONVERSATION[:5], DOMAIN.slots)
    for _ in range(3):
        tracker.past_states(DOMAIN)
    tracker.update(CONVERSATION[5])
    tracker.past_states(DOMAIN)
    tracker.past_states(DOMAIN, ignore_rule_only_turns=True, rule_only_data=RULE_ONLY)
    assert computed == [5, 6, 6]
