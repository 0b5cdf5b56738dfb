"""The dialogue states shared by the policies (rasa_patches/dialogue_states.py): always
what Rasa computes, turn after turn, whatever a caller does to its copy."""

from __future__ import annotations

import random

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    Event,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

import rasa_patches
from rasa_patches.dialogue_states import _rasas_past_states, past_states
from tests.unit.test_tools_validate import ROOT

DOMAIN = Domain.load(str(ROOT / "domain.yml"))
RULE_ONLY = {"slots": ["operator_offered"], "loops": ["report_form"]}
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


@pytest.fixture(autouse=True)
def patched() -> None:
    rasa_patches.install_all({})  # every patch, whatever the shell says


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


def test_the_states_are_computed_once_per_turn(monkeypatch) -> None:
    computed = []
    rasas = Domain.get_active_state

    def counted(self, tracker, **arguments):
        computed.append(len(tracker.events))
        return rasas(self, tracker, **arguments)

    monkeypatch.setattr(Domain, "get_active_state", counted)
    tracker = DialogueStateTracker.from_events("cittadino", CONVERSATION[:5], DOMAIN.slots)
    for _ in range(3):
        tracker.past_states(DOMAIN)
    assert len(computed) == 4  # the turn before each of the 3 actions, and the one after
    computed.clear()
    tracker.update(CONVERSATION[5])
    tracker.past_states(DOMAIN)
    tracker.past_states(DOMAIN, ignore_rule_only_turns=True, rule_only_data=RULE_ONLY)
    assert len(computed) == 1 + 4  # the new last turn; the other arguments replay it all


def test_only_the_new_events_are_replayed(monkeypatch) -> None:
    replayed = []
    rasas = DialogueStateTracker.update

    def counted(self, event, domain=None):
        replayed.append(event)
        return rasas(self, event, domain)

    tracker = DialogueStateTracker("cittadino", DOMAIN.slots)
    for event in CONVERSATION[:9]:
        tracker.update(event)
    tracker.past_states(DOMAIN)
    monkeypatch.setattr(DialogueStateTracker, "update", counted)
    for event in CONVERSATION[9:]:
        tracker.update(event)
    expected = _rasas_past_states(tracker, DOMAIN)
    assert len(replayed) == 2 * len(CONVERSATION) - 9  # Rasa replays all of them
    replayed.clear()
    assert tracker.past_states(DOMAIN) == expected
    assert replayed == CONVERSATION[9:]  # the replay kept goes on with the new ones ...
    tracker.past_states(DOMAIN)
    assert replayed == CONVERSATION[9:]  # ... once per turn


def _project_histories() -> list[list]:
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import (
        YAMLStoryReader,
    )

    histories = []
    for folder in ("stories", "rules"):
        for path in sorted((ROOT / "data" / folder).glob("*.yml")):
            for step in YAMLStoryReader(DOMAIN).read_from_file(str(path)):
                histories.append([e for e in step.events if isinstance(e, Event)])
    return histories


def _same_as_rasa_after_every_event(events: list) -> None:
    tracker = DialogueStateTracker("cittadino", DOMAIN.slots)
    for index, event in enumerate(events):
        tracker.update(event)
        for arguments in ARGUMENTS:
            expected = _rasas_past_states(tracker, DOMAIN, **arguments)
            assert tracker.past_states(DOMAIN, **arguments) == expected, (index, arguments)


def test_the_same_states_as_rasa_in_every_story_and_rule_of_the_project() -> None:
    histories = _project_histories()
    assert len(histories) > 50
    assert any(isinstance(e, ActiveLoop) for history in histories for e in history)
    for history in histories:
        _same_as_rasa_after_every_event([ActionExecuted("action_listen"), *history])


def test_the_same_states_as_rasa_whatever_is_undone_or_restarted() -> None:
    """Random histories of events that rewrite what Rasa applies: undone actions and
    messages, a form's steps, loops switched on and off, restarts, new sessions, turns
    hidden by rules, follow-up actions."""
    chance = random.Random(7)
    intents = ["greet", "report_problem", "ask_opening_hours", "affirm", "deny"]
    pool = [
        lambda: ActionExecuted("action_listen"),
        lambda: UserUttered("testo", {"name": chance.choice(intents), "confidence": 0.9}),
        lambda: ActionExecuted("report_form"),
        lambda: ActionExecuted("utter_greet", hide_rule_turn=chance.random() < 0.5),
        lambda: ActionExecuted("action_opening_hours"),
        lambda: ActiveLoop("report_form"),
        lambda: ActiveLoop(None),
        lambda: SlotSet("requested_slot", chance.choice(["report_description", None])),
        lambda: SlotSet("operator_offered", chance.choice([True, False])),
        lambda: BotUttered("Ciao"),
        lambda: UserUtteranceReverted(),
        lambda: ActionReverted(),
        lambda: FollowupAction("utter_greet"),
        lambda: Restarted(),
        lambda: SessionStarted(),
    ]
    weights = [6, 6, 4, 4, 4, 2, 1, 3, 2, 3, 1, 1, 1, 0.3, 0.3]
    for _ in range(60):
        _same_as_rasa_after_every_event([make() for make in chance.choices(pool, weights, k=40)])
