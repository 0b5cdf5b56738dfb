"""The rules matching a conversation's states, remembered per rule table and history
(rasa_patches/rule_matches.py)."""

from __future__ import annotations

import pytest
from rasa.core.policies.rule_policy import RulePolicy

import rasa_patches
from rasa_patches import rule_matches


@pytest.fixture(autouse=True)
def patched() -> None:
    rasa_patches.install_all({})  # every patch, whatever the shell says


def test_installed_for_every_rule_policy() -> None:
    assert RulePolicy._get_possible_keys is rule_matches.possible_rule_keys


def test_matching_rules_are_looked_up_once_per_table_and_states(monkeypatch) -> None:
    looked_up = []

    def rasas(self, lookup, states):
        looked_up.append((id(lookup), len(states)))
        return {key for key in lookup if key.startswith(str(len(states)))}

    monkeypatch.setattr(rule_matches, "_rasas_possible_keys", rasas)
    assert RulePolicy._get_possible_keys is rule_matches.possible_rule_keys
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


def test_only_the_latest_histories_are_kept(monkeypatch) -> None:
    monkeypatch.setattr(rule_matches, "RULE_KEYS_KEPT", 2)
    monkeypatch.setattr(rule_matches, "_rasas_possible_keys", lambda self, lookup, states: set())
    policy = RulePolicy.__new__(RulePolicy)
    rules = {"1a": "x"}
    for intent in ("greet", "goodbye", "thank"):
        policy._get_possible_keys(rules, [{"user": {"intent": intent}}])
    kept = policy.__dict__[rule_matches.RULE_KEYS]
    assert len(kept) == 2
    assert all("greet" not in key[1] for key in kept)
