"""The held-out set measures generalisation only if it is not the training data reworded.

Every held-out message is kept far from every training example: the character 3-grams
they share, over all the 3-grams of both (Jaccard), stay below :data:`CEILING`. Messages
shorter than :data:`SHORT` characters («sì», «buonasera») can only be told apart by being
different messages, so for them the rule is that no training example is the same message.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from urp.nlu.data import Example, normalise, read_examples

ROOT = Path(__file__).resolve().parents[2]
HOLDOUT = read_examples(ROOT / "tests" / "nlu" / "holdout.yml")
TRAINING = [
    ex for path in sorted((ROOT / "data" / "nlu").glob("*.yml")) for ex in read_examples(path)
]
CEILING = 0.6
SHORT = 12
MIN_PER_INTENT = 30


def trigrams(text: str) -> frozenset[str]:
    padded = f" {normalise(text)} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


TRAINING_GRAMS = [(ex.plain, trigrams(ex.plain)) for ex in TRAINING]
TRAINED = {normalise(ex.plain) for ex in TRAINING}


def closest(example: Example) -> tuple[float, str]:
    grams = trigrams(example.plain)
    return max((jaccard(grams, g), text) for text, g in TRAINING_GRAMS)


def test_jaccard_of_trigrams() -> None:
    assert jaccard(trigrams("grazie mille"), trigrams("Grazie, mille!")) == 1.0
    assert jaccard(trigrams("buongiorno"), trigrams("farmacia di turno")) < 0.2


def test_no_held_out_message_is_a_near_copy_of_a_training_example() -> None:
    near = []
    for example in HOLDOUT:
        if len(normalise(example.plain)) < SHORT:
            if normalise(example.plain) in TRAINED:
                near.append((example.plain, 1.0, example.plain))
            continue
        score, text = closest(example)
        if score >= CEILING:
            near.append((example.plain, round(score, 2), text))
    assert near == []


def test_every_intent_has_enough_held_out_messages() -> None:
    counts = Counter(ex.intent for ex in HOLDOUT)
    trained_intents = {ex.intent for ex in TRAINING}
    assert {i: counts[i] for i in trained_intents if counts[i] < MIN_PER_INTENT} == {}


@pytest.mark.parametrize(
    ("intent", "other"),
    [
        ("subscribe", "unsubscribe"),
        ("subscribe", "ask_subscription_status"),
        ("ask_privacy_policy", "erase_my_data"),
        ("abuse", "out_of_scope"),
        ("nlu_fallback", "out_of_scope"),
    ],
)
def test_hard_contrasts_are_held_out_side_by_side(intent: str, other: str) -> None:
    counts = Counter(ex.intent for ex in HOLDOUT)
    assert counts[intent] >= MIN_PER_INTENT and counts[other] >= MIN_PER_INTENT


def test_the_misses_citizens_found_are_trained() -> None:
    """The messages of issue 27 that went wrong are now taught (not held out)."""
    taught = {
        "posso registrarmi per ricevere le news del comune?": "subscribe",
        "attivate il servizio su questo numero": "subscribe",
        "che fine fanno i miei dati?": "ask_privacy_policy",
        "chi tratta i miei dati se mi iscrivo?": "ask_privacy_policy",
        "avvisi di oggi": "ask_latest_memo",
        "che schifo di amministrazione": "abuse",
        "grazie": "thank",
    }
    intents = {normalise(ex.plain): ex.intent for ex in TRAINING}
    assert {text: intents.get(normalise(text)) for text in taught} == taught
