"""TED answering from memory: the model runs once per distinct dialogue state, and what
comes back is what the model said, as a new prediction each time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.featurizers.single_state_featurizer import SingleStateFeaturizer
from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

from components.ted import CachedTEDPolicy
from rasa_patches.rule_matches import states_key
from tests.unit.test_tools_validate import ROOT

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def runs(monkeypatch) -> list[str]:
    """TED's own prediction, replaced by one that tells which run it was."""
    calls: list[str] = []

    def model(self, tracker, domain, rule_only_data=None, precomputations=None, **kwargs):
        calls.append(tracker.sender_id)
        scores = [0.0] * len(domain.action_names_or_texts)
        scores[len(calls)] = 1.0
        return self._prediction(scores, diagnostic_data={"run": len(calls)})

    monkeypatch.setattr(TEDPolicy, "predict_action_probabilities", model)
    return calls


def policy(tmp_path: Path, **config: Any) -> CachedTEDPolicy:
    return CachedTEDPolicy(
        {**CachedTEDPolicy.get_default_config(), "max_history": 5, **config},
        LocalModelStorage(tmp_path),
        Resource("ted"),
        ExecutionContext(GraphSchema({}), "test"),
        model=object(),  # TED's model is only run through predict_action_probabilities
        featurizer=MaxHistoryTrackerFeaturizer(SingleStateFeaturizer(), max_history=5),
        fake_features={},
    )


def asking(sender: str, intent: str, **slots: Any) -> DialogueStateTracker:
    events = [ActionExecuted("action_listen")]
    events += [SlotSet(name, value) for name, value in slots.items()]
    events += [UserUttered(f"messaggio di {sender}", {"name": intent, "confidence": 1.0})]
    return DialogueStateTracker.from_events(sender, events, DOMAIN.slots)


def test_the_same_states_run_the_model_once(tmp_path: Path, runs: list[str]) -> None:
    ted = policy(tmp_path)
    first = ted.predict_action_probabilities(asking("anna", "ask_pharmacy_shift"), DOMAIN)
    again = ted.predict_action_probabilities(asking("bruno", "ask_pharmacy_shift"), DOMAIN)
    assert runs == ["anna"]  # other words, same intent and slots: same states
    assert isinstance(again, PolicyPrediction) and again is not first
    assert again.probabilities == first.probabilities
    assert again.diagnostic_data == {"run": 1}
    assert again.policy_name == first.policy_name


def test_other_states_run_the_model(tmp_path: Path, runs: list[str]) -> None:
    ted = policy(tmp_path)
    ted.predict_action_probabilities(asking("anna", "ask_pharmacy_shift"), DOMAIN)
    ted.predict_action_probabilities(asking("bruno", "ask_bathing_status"), DOMAIN)
    ted.predict_action_probabilities(
        asking("carla", "ask_pharmacy_shift", last_service="pharmacy"), DOMAIN
    )
    assert runs == ["anna", "bruno", "carla"]


def test_only_the_latest_states_are_kept(tmp_path: Path, runs: list[str]) -> None:
    ted = policy(tmp_path, cache_size=2)
    for sender, intent in [("a", "greet"), ("b", "thank"), ("c", "goodbye"), ("d", "greet")]:
        ted.predict_action_probabilities(asking(sender, intent), DOMAIN)
    ted.predict_action_probabilities(asking("e", "goodbye"), DOMAIN)
    assert runs == ["a", "b", "c", "d"]  # "greet" was forgotten, "goodbye" was not


def test_text_read_by_ted_or_no_cache_runs_the_model_each_time(
    tmp_path: Path, runs: list[str]
) -> None:
    end_to_end = policy(tmp_path)
    end_to_end.fake_features = {TEXT: []}
    no_cache = policy(tmp_path, cache_size=0)
    for ted in (end_to_end, no_cache):
        for sender in ("a", "b"):
            ted.predict_action_probabilities(asking(sender, "greet"), DOMAIN)
    assert runs == ["a", "b", "a", "b"]


def test_states_key_tells_histories_apart() -> None:
    one = [{"user": {"intent": "greet", "entities": ("date",)}, "slots": {"x": (1.0,)}}]
    same = [{"user": {"intent": "greet", "entities": ("date",)}, "slots": {"x": (1.0,)}}]
    assert states_key(one) == states_key(same)
    assert states_key(one) != states_key([{"user": {"intent": "thank"}}])
    assert states_key(one) != states_key([*one, *one])
    assert states_key([{"slots": {"x": (1.0,)}}]) != states_key([{"slots": {"x": ("1.0",)}}])
