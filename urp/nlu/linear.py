"""The intent classifier: a linear model on n-grams and a sentence embedding.

Citizens write with typos, without accents, in SMS style and in dialect: character n-grams
inside each word («iscriv», «cancel», «farmac») carry what the words alone miss, and words
and word pairs carry the rest («non voglio», «di turno»). Both are weighted by TF-IDF
(sublinear counts: a word said three times is not three times the evidence). Beside them a
multilingual sentence embedding (:mod:`urp.nlu.embeddings`) carries what the message means
when it shares no word with the training examples, in Italian or in another language. A
linear support vector machine scores all of it, calibrated into probabilities so that the
fallback threshold means what it says. Chosen by measurement against DIET and against the
n-grams alone (docs/nlu-report.md); it trains in well under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LinearConfig:
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 4)
    # Regularisation of the SVM: smaller is smoother.
    c: float = 1.0
    # Folds of the probability calibration (each trains one SVM).
    calibration_folds: int = 3
    # Weight of the sentence embedding beside the n-grams (:mod:`urp.nlu.embeddings`);
    # 0 leaves it out. Chosen by cross-validation in docs/nlu-report.md.
    embeddings: float = 3.0
    # Typos of the training examples' words corrected before the features
    # (:mod:`urp.core.spelling`); measured in docs/nlu-report.md.
    spelling: bool = False
    random_state: int = 2026

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> LinearConfig:
        return cls(
            word_ngrams=tuple(config.get("word_ngrams", cls.word_ngrams)),  # type: ignore[arg-type]
            char_ngrams=tuple(config.get("char_ngrams", cls.char_ngrams)),  # type: ignore[arg-type]
            c=float(config.get("c", cls.c)),
            calibration_folds=int(config.get("calibration_folds", cls.calibration_folds)),
            embeddings=float(config.get("embeddings", cls.embeddings)),
            spelling=bool(config.get("spelling", cls.spelling)),
            random_state=int(config.get("random_state", cls.random_state)),
        )


def build(config: LinearConfig, vocabulary: tuple[str, ...] = ()) -> Any:
    """An untrained scikit-learn pipeline: text in, calibrated intent probabilities out.

    ``vocabulary``: the words typos are corrected to, with ``config.spelling``."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import LinearSVC

    from urp.core.spelling import corrected
    from urp.nlu import embeddings

    meaning = (
        [FunctionTransformer(embeddings.features, kw_args={"weight": config.embeddings})]
        if config.embeddings > 0
        else []
    )
    features = make_union(
        # Lowercase and without accents: citizens often type none.
        TfidfVectorizer(strip_accents="unicode", ngram_range=config.word_ngrams, sublinear_tf=True),
        TfidfVectorizer(
            strip_accents="unicode",
            analyzer="char_wb",
            ngram_range=config.char_ngrams,
            sublinear_tf=True,
        ),
        *meaning,
    )
    svm = LinearSVC(C=config.c, random_state=config.random_state)
    spelling = (
        [FunctionTransformer(corrected, kw_args={"vocabulary": vocabulary})]
        if config.spelling
        else []
    )
    return make_pipeline(
        *spelling,
        features,
        CalibratedClassifierCV(svm, cv=config.calibration_folds, method="sigmoid"),
    )


def train(texts: list[str], intents: list[str], config: LinearConfig) -> Any:
    import numpy as np

    from urp.core.spelling import vocabulary

    model = build(config, vocabulary(texts) if config.spelling else ())
    # An array, not a list: scikit-learn 1.1's calibration counts examples per class with ==.
    model.fit(texts, np.asarray(intents))
    return model


def rank(model: Any, texts: list[str]) -> list[list[tuple[str, float]]]:
    """For each text, every intent with its probability, the most likely first."""
    probabilities = model.predict_proba(texts)
    classes = [str(c) for c in model.classes_]
    return [
        sorted(zip(classes, map(float, row), strict=True), key=lambda pair: -pair[1])
        for row in probabilities
    ]
