"""The replies citizens read: every placeholder filled, short, in correct Italian."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from urp.console.training import INTENT_MEANINGS
from urp.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
# Action names: an action with settings (send_domain) is a mapping of one key.
ACTIONS = [a if isinstance(a, str) else next(iter(a)) for a in DOMAIN["actions"]]
TEXTS = [
    (name, variant["text"])
    for name, variants in DOMAIN["responses"].items()
    for variant in variants
    if "text" in variant
]
# Longest reply that still reads on a phone without scrolling much.
MAX_CHARS = 420
# Common misspellings and the formal "Lei" register (we use the friendly "tu").
FORBIDDEN = [
    r"perchè", r"\bpò\b", r"qual'è", r"\bsè\b", r"\bnè\b", r"\bE'\b", r"\bpuo'\b",
    r"\bLei\b", r"\bSua\b", r"\bLa preghiamo\b", r"\bpotrebbe\b",
]  # fmt: skip


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_placeholders_are_slots(name: str, text: str) -> None:
    slots = set(DOMAIN["slots"])
    assert set(re.findall(r"\{(\w+)\}", text)) <= slots


def test_every_fact_placeholder_is_provided_by_the_settings() -> None:
    facts = set(load_settings().facts())
    used = {p for _, text in TEXTS for p in re.findall(r"\{(urp_\w+)\}", text)}
    assert used <= facts


# The longest values the other slots take in practice.
SAMPLE_SLOTS = {
    "subscription_topics": "«memo settimanale», «emergenze e allerte» e «eventi e manifestazioni»",
    "subscription_since": "30 settembre 2026",
    "known_topics": "«memo settimanale», «emergenze e allerte», «eventi e manifestazioni», "
    "«viabilità e trasporti», «bandi e contributi» e «balneazione»",
}


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_replies_are_short_enough_for_a_phone(name: str, text: str) -> None:
    # Other slots: a typical value; lists of records (info_details) are the office's data,
    # so only the words around them count here.
    typical = {slot: "giovedì 26 novembre alle 9:00" for slot in DOMAIN["slots"]}
    typical["info_details"] = ""
    filled = text.format(**{**typical, **load_settings().facts(), **SAMPLE_SLOTS})
    assert len(filled) <= MAX_CHARS, f"{name}: {len(filled)} caratteri"


@pytest.mark.parametrize(("name", "text"), TEXTS)
def test_italian_spelling_and_register(name: str, text: str) -> None:
    assert [p for p in FORBIDDEN if re.search(p, text)] == []


@pytest.mark.parametrize(("name", "text"), [(n, t) for n, t in TEXTS if "{info_details}" in t])
def test_a_list_of_records_starts_on_its_own_line(name: str, text: str) -> None:
    """The records are bullet lines («• *Libri di testo* — ...»): after a colon they start
    a new line, or on WhatsApp the first bullet runs into the sentence before it. (A list
    inside a sentence, «le zone controllate sono: A, B.», ends with its full stop.)"""
    assert not re.search(r": \{info_details\}(\n|$)", text)


def test_no_municipality_facts_written_in_the_domain() -> None:
    raw = (ROOT / "domain.yml").read_text(encoding="utf-8")
    for settings_file in (ROOT / "settings").glob("*.yml"):
        settings = load_settings(settings_file)
        for value in (settings.municipality, settings.urp_phone, settings.website):
            assert value not in raw, f"{value} è un dato del Comune: va nelle impostazioni"


def test_every_custom_action_is_implemented() -> None:
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    declared = {a for a in ACTIONS if a.startswith("action_")}
    assert declared <= set(executor.actions)


def test_only_the_actions_that_read_the_domain_receive_it() -> None:
    """endpoints enable Rasa's selective domain: an action whose code reads ``domain``
    must say send_domain in domain.yml, or it would read an empty one."""
    import inspect

    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig
    from rasa_sdk.executor import ActionExecutor

    for endpoints in ("endpoints.yml", "endpoints.prod.yml"):
        config = yaml.safe_load((ROOT / endpoints).read_text())["action_endpoint"]
        assert config["enable_selective_domain"] is True
    domain = Domain.load(str(ROOT / "domain.yml"))
    endpoint = EndpointConfig("http://azioni", enable_selective_domain=True)
    tracker = DialogueStateTracker("cittadino", domain.slots)
    executor = ActionExecutor()
    executor.register_package("actions")
    readers = set()
    for name, run in executor.actions.items():
        if not run.__module__.startswith("actions."):
            continue  # rasa-sdk's own run (forms): the validate_ actions get the domain
        # The body of run, below its signature.
        body = re.split(r"\)\s*->[^\n]*:\n", inspect.getsource(run), maxsplit=1)[1]
        if re.search(r"\bdomain\b", body):
            readers.add(name)
    assert "action_session_start" in readers
    for name in executor.actions:
        sent = "domain" in RemoteAction(name, endpoint)._action_call_format(tracker, domain)
        assert sent == (name in readers or name.startswith("validate_")), name
    assert "domain" not in RemoteAction("action_pharmacy_shift", endpoint)._action_call_format(
        tracker, domain
    )


def test_every_intent_a_citizen_can_mean_has_a_label_for_the_trainers() -> None:
    """The trainers' inbox names intents by meaning; a new intent without one would show
    its bare code to people who are not programmers."""
    citizen_intents = {i for i in DOMAIN["intents"] if not i.startswith("EXTERNAL_")}
    assert citizen_intents == set(INTENT_MEANINGS)
