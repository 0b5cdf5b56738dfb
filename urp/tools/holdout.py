"""The held-out set scored by the trained model, as the deployed assistant behaves.

Shared by `make eval-nlu` (:mod:`urp.tools.eval_nlu`, the full report) and the gate of
`make test` (:mod:`urp.tools.nlu_gate`): both score tests/nlu/holdout.yml, which is never
trained on, the same way. A message below the fallback threshold counts as a miss.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from urp.core.settings import PROJECT_ROOT
from urp.nlu.data import read_examples

HOLDOUT = PROJECT_ROOT / "tests" / "nlu" / "holdout.yml"
MODEL = PROJECT_ROOT / "models" / "urp.tar.gz"
FALLBACK_INTENT = "nlu_fallback"


@dataclass
class Prediction:
    text: str
    expected: str
    predicted: str  # as deployed: nlu_fallback below the threshold
    top_intent: str  # the classifier's best guess
    confidence: float
    # Made unclear whatever its confidence (keyboard mash, pasted code: components/gibberish.py).
    forced: bool = False


async def _predict(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def predict_holdout(model: Path, holdout: Path = HOLDOUT) -> list[Prediction]:
    examples = read_examples(holdout)
    parsed = asyncio.run(_predict(model, [ex.plain for ex in examples]))
    predictions = []
    for example, result in zip(examples, parsed, strict=True):
        ranking = [r for r in result["intent_ranking"] if r["name"] != FALLBACK_INTENT]
        predictions.append(
            Prediction(
                text=example.plain,
                expected=example.intent,
                predicted=result["intent"]["name"],
                top_intent=ranking[0]["name"] if ranking else FALLBACK_INTENT,
                confidence=float(ranking[0]["confidence"]) if ranking else 0.0,
                forced=result["intent"].get("name") == FALLBACK_INTENT
                and result["intent"].get("confidence") == 1.0,
            )
        )
    return predictions


def intent_scores(predictions: list[Prediction]) -> dict[str, Any]:
    from sklearn.metrics import classification_report

    labels = sorted({p.expected for p in predictions})
    report = classification_report(
        [p.expected for p in predictions],
        [p.predicted for p in predictions],
        labels=labels,
        output_dict=True,
        zero_division=0,
    )
    accuracy = sum(p.expected == p.predicted for p in predictions) / len(predictions)
    return {
        "accuracy": accuracy,
        "macro_f1": report["macro avg"]["f1-score"],
        "per_intent": {
            label: {
                "precision": report[label]["precision"],
                "recall": report[label]["recall"],
                "f1": report[label]["f1-score"],
                "support": int(report[label]["support"]),
            }
            for label in labels
        },
        "fallbacks": sum(p.predicted == FALLBACK_INTENT for p in predictions),
    }
