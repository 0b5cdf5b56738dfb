"""The intent classifier: trained on a few examples, stored, loaded, ranking intents."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.linear import LinearIntentClassifier, _trusted
from urp.nlu import embeddings, linear

EXAMPLES = {
    "subscribe": ["iscrivimi", "voglio iscrivermi", "mi iscrivo agli avvisi", "aggiungimi"],
    "unsubscribe": ["cancellami", "toglimi dalla lista", "non voglio più messaggi", "basta"],
    "ask_pharmacy_shift": ["farmacia di turno", "farmacie aperte", "che farmacia è aperta"],
}


def _training_data() -> TrainingData:
    return TrainingData(
        [
            Message(data={TEXT: text, INTENT: intent})
            for intent, texts in EXAMPLES.items()
            for text in texts
        ]
    )


def test_typos_and_missing_accents_still_find_the_intent() -> None:
    texts = [t for ts in EXAMPLES.values() for t in ts]
    intents = [i for i, ts in EXAMPLES.items() for _ in ts]
    model = linear.train(texts, intents, linear.LinearConfig())
    ranking = linear.rank(model, ["farmacie di turnoo", "iscrivetemi", "cancellatemi pls"])
    assert [r[0][0] for r in ranking] == ["ask_pharmacy_shift", "subscribe", "unsubscribe"]
    assert sum(p for _, p in ranking[0]) == pytest.approx(1.0)


def test_trained_stored_loaded_and_used_in_the_pipeline(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("linear")
    context = ExecutionContext(GraphSchema({}), "test")
    config = LinearIntentClassifier.get_default_config()
    LinearIntentClassifier.create(config, storage, resource, context).train(_training_data())

    loaded = LinearIntentClassifier.load(config, storage, resource, context)
    (message,) = loaded.process([Message(data={TEXT: "mi cancellate dalla lista?"})])
    assert message.get(INTENT)["name"] == "unsubscribe"
    ranking = message.get(INTENT_RANKING_KEY)
    assert ranking[0]["name"] == "unsubscribe" and len(ranking) == 3
    # The message's meaning goes out in the parse data, for the FAQ of the action server.
    output = message.as_dict(only_output_properties=True)
    (expected,) = embeddings.encode(["mi cancellate dalla lista?"])
    assert embeddings.unpack(output[embeddings.EMBEDDING_KEY]) @ expected > 0.999


def test_a_model_file_with_foreign_types_is_refused() -> None:
    assert _trusted(["sklearn.svm._classes.LinearSVC"]) == ["sklearn.svm._classes.LinearSVC"]
    with pytest.raises(ValueError, match="tipi non attesi"):
        _trusted(["os.system"])


def test_with_spelling_the_model_stores_its_words_and_reads_typos_as_them(
    tmp_path: Path,
) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("linear")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**LinearIntentClassifier.get_default_config(), "spelling": True}
    LinearIntentClassifier.create(config, storage, resource, context).train(_training_data())

    loaded = LinearIntentClassifier.load(config, storage, resource, context)
    corrector = loaded._model.steps[0][1]
    # «farmacai» (two letters swapped) is read as the training examples' «farmacia».
    assert corrector.transform(["farmacai di turno"]) == ["farmacia di turno"]
    (message,) = loaded.process([Message(data={TEXT: "farmacai aperte"})])
    assert message.get(INTENT)["name"] == "ask_pharmacy_shift"
