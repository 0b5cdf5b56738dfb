"""The training data a trainer edits, checked the way a reviewer would."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from urp.nlu.data import Example, near_duplicate, normalise, read_examples
from urp.nlu.spacy_pipeline import load_gazetteers

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "data" / "nlu"
HOLDOUT = ROOT / "tests" / "nlu" / "holdout.yml"
CONTRACT_INTENTS = {
    "subscribe", "unsubscribe", "ask_opening_hours", "ask_pharmacy_shift",
    "ask_bathing_status", "ask_contributions", "report_problem", "ask_latest_memo",
    "request_operator", "book_appointment", "wrong_contact", "abuse", "ask_privacy_policy",
    "bot_challenge", "greet", "goodbye", "thank", "affirm", "deny", "out_of_scope",
}  # fmt: skip
MIN_TRAINING = 40
MIN_HOLDOUT = 10


def training_examples() -> list[Example]:
    return [ex for path in sorted(NLU_DIR.glob("*.yml")) for ex in read_examples(path)]


TRAINING = training_examples()
HOLDOUT_EXAMPLES = read_examples(HOLDOUT)
GAZETTEERS = {
    entity: {normalise(v) for v in values}
    for entity, values in load_gazetteers(NLU_DIR / "gazetteers.yml").items()
}


DOMAIN_INTENTS = set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])
# What citizens say: not the external intents the console injects (trigger_intent).
# Not said by citizens: the console's external intents and the FAQ's button intent.
NLU_INTENTS = {
    intent
    for intent in DOMAIN_INTENTS
    if not intent.startswith("EXTERNAL_") and intent != "choose_faq"
}


def test_domain_declares_every_contract_intent() -> None:
    assert DOMAIN_INTENTS >= CONTRACT_INTENTS


@pytest.mark.parametrize("intent", sorted(NLU_INTENTS))
def test_every_intent_has_enough_training_examples(intent: str) -> None:
    count = sum(1 for ex in TRAINING if ex.intent == intent)
    assert count >= MIN_TRAINING, f"{intent}: {count} examples"


def test_each_intent_lives_in_one_topic_file() -> None:
    files: dict[str, set[str]] = defaultdict(set)
    for ex in TRAINING:
        files[ex.intent].add(ex.source.name)
    assert {intent: names for intent, names in files.items() if len(names) > 1} == {}


def test_no_example_appears_twice() -> None:
    counts = Counter(normalise(ex.plain) for ex in TRAINING)
    assert [text for text, n in counts.items() if n > 1] == []


def _near_duplicates(examples: list[Example]) -> list[tuple[str, str]]:
    """Pairs of one intent that differ only by a few characters (typos, punctuation)."""
    pairs = []
    by_intent: dict[str, list[str]] = defaultdict(list)
    for ex in examples:
        by_intent[ex.intent].append(normalise(ex.plain))
    for texts in by_intent.values():
        pairs += [(a, b) for a, b in itertools.combinations(texts, 2) if near_duplicate(a, b)]
    return pairs


def test_no_near_duplicates_in_training_data() -> None:
    assert _near_duplicates(TRAINING) == []


def test_annotated_values_come_from_the_gazetteers() -> None:
    unknown = [
        (ex.source.name, entity, value)
        for ex in TRAINING + HOLDOUT_EXAMPLES
        for entity, value in ex.entities
        if entity != "date" and normalise(value) not in GAZETTEERS.get(entity, set())
    ]
    assert unknown == []


def test_holdout_covers_every_intent() -> None:
    counts = Counter(ex.intent for ex in HOLDOUT_EXAMPLES)
    assert {i: counts[i] for i in NLU_INTENTS if counts[i] < MIN_HOLDOUT} == {}


def test_holdout_is_never_trained_on() -> None:
    trained = {normalise(ex.plain) for ex in TRAINING}
    assert [ex.plain for ex in HOLDOUT_EXAMPLES if normalise(ex.plain) in trained] == []


def test_examples_are_single_messages() -> None:
    assert [ex.text for ex in TRAINING if not ex.plain.strip() or "\n" in ex.plain] == []


def test_data_reflects_how_citizens_write() -> None:
    """Spot check of the WhatsApp register across the whole training set."""
    texts = [ex.plain for ex in TRAINING]
    lower = [t.lower() for t in texts]
    assert sum(bool(re.search(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]", t)) for t in texts) >= 30
    assert sum(bool(re.search(r"\b(x|nn|cmq|xke|xché|grz|pls)\b", t)) for t in lower) >= 20
    assert sum(t == t.upper() and any(c.isalpha() for c in t) for t in texts) >= 10
    assert sum(len(t) > 150 for t in texts) >= 40
    assert sum(len(t.split()) == 1 for t in texts) >= 30
