"""How likely the best entry is the right answer: a tiny logistic model on the evidence.

A single threshold on the score answers too little (a paraphrase with other words scores
low even when its entry is clearly first) or too much (a question about something the FAQ
does not cover still meets an entry of the same subject). The model reads what tells the
two apart, all of it free of the size and the wording of a particular FAQ: the scores of
the best two entries and how far apart they are, how the best one stands out among all
the entries, whether the words and the character n-grams agree on it, how much of the
message the index knows, how much of it the best entry covers (and of the entry, the
message), how long the message is, and what the sentence embedding thinks of the best
entry (its score, its lead, whether it agrees).

The coefficients are in confidence.json next to this module, fitted by ``make eval-faq``
(:mod:`urp.tools.eval_faq`) on the examples' own questions, each asked of the index
without it (its entry first is a right answer, another a wrong one) and of the index
without its whole entry (any answer is wrong); the same on small FAQs drawn from the
examples, with the questions of the entries left out; and on the tuning set's questions,
written as citizens write. The answer and suggestion thresholds of
:class:`urp.core.settings.FaqSettings` are probabilities of this model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).with_name("confidence.json")

FEATURES = (
    "top",  # score of the best entry, in [0, 1]
    "gap",  # its lead on the second
    "ratio",  # second / best: 1 when they tie
    "third",  # third / best: how crowded the top is (never the mean of all the entries,
    # which depends on how many there are)
    "words",  # the best entry's score in the stems' space alone
    "letters",  # ... and in the character n-grams' space alone
    "agree",  # 1 when both spaces put the same entry first
    "known",  # share (rarity-weighted) of the message's stems the index has seen
    "known_letters",  # the same for its character n-grams: typos of known words stay known
    "covered",  # share (rarity-weighted) of the message's stems found in the best entry
    "covered_letters",  # the same for its character n-grams
    "missing",  # the heaviest single stem of the message that the best entry lacks
    "covering",  # share of the best entry's own stems (its questions' centroid) in the message
    "length",  # log(1 + content words of the message)
    "meaning",  # the best entry's score in the sentence embedding alone, in [0, 1]
    "meaning_gap",  # ... its lead there on the best other entry
    "meaning_agree",  # 1 when the sentence embedding puts the same entry first
)


@dataclass(frozen=True)
class Evidence:
    """What the index saw of one message: every entry's score and the rest of the features."""

    scores: np.ndarray  # every entry's score, combined as the ranking uses it
    words: np.ndarray  # every entry's score in the stems' space, in [0, 1]
    letters: np.ndarray  # ... in the character n-grams' space
    known: float
    known_letters: float
    covered: float  # of the best entry (by ``scores``)
    covered_letters: float
    missing: float
    covering: float
    length: int  # content words of the message
    meaning: np.ndarray  # every entry's score in the sentence embedding, in [0, 1]


def features(evidence: Evidence) -> np.ndarray:
    """The vector of :data:`FEATURES` for one message (zeros when there is no entry)."""
    scores = evidence.scores
    if not len(scores):
        return np.zeros(len(FEATURES))
    order = np.argsort(-scores, kind="stable")[:3]
    best = int(order[0])
    top = float(scores[best])
    second = float(scores[order[1]]) if len(scores) > 1 else 0.0
    third = float(scores[order[2]]) if len(scores) > 2 else 0.0
    agree = float(
        int(np.argmax(evidence.words)) == int(np.argmax(evidence.letters)) == best and top > 0
    )
    return np.array(
        [
            top,
            top - second,
            second / top if top > 0 else 1.0,
            third / top if top > 0 else 1.0,
            float(evidence.words[best]),
            float(evidence.letters[best]),
            agree,
            evidence.known,
            evidence.known_letters,
            evidence.covered,
            evidence.covered_letters,
            evidence.missing,
            evidence.covering,
            math.log1p(evidence.length),
            float(evidence.meaning[best]),
            float(evidence.meaning[best] - np.delete(evidence.meaning, best).max(initial=0.0)),
            float(int(np.argmax(evidence.meaning)) == best and evidence.meaning[best] > 0),
        ]
    )


@dataclass(frozen=True)
class ConfidenceModel:
    """P(the best entry is right) = sigmoid(intercept + coefficients · features)."""

    coefficients: tuple[float, ...]
    intercept: float

    def probability(self, vector: np.ndarray) -> float:
        z = self.intercept + float(np.dot(self.coefficients, vector))
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_json(self) -> str:
        data = {
            "features": list(FEATURES),
            "coefficients": [round(c, 6) for c in self.coefficients],
            "intercept": round(self.intercept, 6),
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ConfidenceModel:
        data = json.loads(text)
        if data.get("features") != list(FEATURES):
            raise ValueError("confidence.json: le caratteristiche non sono quelle del codice")
        return cls(tuple(float(c) for c in data["coefficients"]), float(data["intercept"]))


@lru_cache(maxsize=1)
def default_model() -> ConfidenceModel:
    """The model fitted by ``make eval-faq``, shipped next to this module."""
    return ConfidenceModel.from_json(MODEL_FILE.read_text(encoding="utf-8"))
