"""The intent classifier of config.yml: :mod:`urp.nlu.linear` inside Rasa's pipeline.

Reads the message's text (it has its own n-gram features and sentence embedding), so it
needs no featuriser before it. The message's sentence embedding goes out in the parse data
(``embedding``, 520 characters), for the FAQ search of the action server. The model is
stored with skops, which loads only scikit-learn's own types.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from urp.nlu import embeddings, linear

RANKING_LENGTH = 10
MODEL_FILE = "linear_intents.skops"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(GraphComponent):
    """Words and character n-grams (TF-IDF) and a sentence embedding, a calibrated linear SVM."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        defaults = linear.LinearConfig()
        return {
            "word_ngrams": list(defaults.word_ngrams),
            "char_ngrams": list(defaults.char_ngrams),
            "c": defaults.c,
            "calibration_folds": defaults.calibration_folds,
            "embeddings": defaults.embeddings,
            "spelling": defaults.spelling,
            "random_state": defaults.random_state,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Any = None,
    ) -> None:
        self._config = linear.LinearConfig.from_dict(config)
        self._storage = model_storage
        self._resource = resource
        self._model = model
        self._reads_meaning = self._config.embeddings > 0

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            return self._resource
        self._model = linear.train(
            [m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples], self._config
        )
        import skops.io as sio

        with self._storage.write_to(self._resource) as directory:
            sio.dump(self._model, directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                path = directory / MODEL_FILE
                model = sio.load(path, trusted=_trusted(sio.get_untrusted_types(file=path)))
        except (ValueError, FileNotFoundError):
            model = None  # trained without data: every message stays unclassified
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        rankings = linear.rank(self._model, [m.get(TEXT) or "" for m in messages])
        for message, ranking in zip(messages, rankings, strict=True):
            top = [{"name": name, "confidence": p} for name, p in ranking[:RANKING_LENGTH]]
            message.set(INTENT, top[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, top, add_to_output=True)
        if self._reads_meaning:
            # Already computed by the classifier (remembered by text): the action server's
            # FAQ search reads it from the parse data instead of computing it again.
            vectors = embeddings.encode([m.get(TEXT) or "" for m in messages])
            for message, vector in zip(messages, vectors, strict=True):
                message.set(embeddings.EMBEDDING_KEY, embeddings.pack(vector), add_to_output=True)
        return messages


# The functions of ours a model file may name: the sentence embedding's and the spelling's
# hooks.
OWN_FUNCTIONS = ("urp.nlu.embeddings.features", "urp.core.spelling.corrected")


def _trusted(types: list[str]) -> list[str]:
    """Only scikit-learn's, numpy's and scipy's types, and our hooks, may be loaded."""
    unknown = [
        t
        for t in types
        if not t.startswith(("sklearn.", "numpy.", "scipy.")) and t not in OWN_FUNCTIONS
    ]
    if unknown:
        raise ValueError(f"tipi non attesi nel modello: {unknown}")
    return types
