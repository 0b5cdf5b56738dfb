"""A labelled example lands in its intent's topic file; duplicates and contradictions don't."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.review_log import training_copy
from urp.core.settings import PROJECT_ROOT
from urp.nlu.data import read_examples
from urp.review.training import ExampleRefusedError, TrainingData


@pytest.fixture
def data(tmp_path: Path) -> TrainingData:
    return training_copy(tmp_path)


def test_an_example_goes_to_the_file_of_its_intent(data: TrainingData) -> None:
    before = {p.name: p.read_text(encoding="utf-8") for p in data.files()}
    added = data.add("ask_pharmacy_shift", "la farmacia del porto stanotte fa il turno?")
    assert added.path == data.nlu_dir / "pharmacy.yml"
    examples = read_examples(added.path)
    assert any(ex.intent == "ask_pharmacy_shift" and ex.plain == added.text for ex in examples)
    # Only that file changed, by one line, and the YAML still reads the same otherwise.
    after = {p.name: p.read_text(encoding="utf-8") for p in data.files()}
    assert [name for name in before if before[name] != after[name]] == ["pharmacy.yml"]
    new_lines = set(after["pharmacy.yml"].splitlines()) - set(before["pharmacy.yml"].splitlines())
    assert new_lines == {"    - la farmacia del porto stanotte fa il turno?"}
    assert len(examples) == len(read_examples(PROJECT_ROOT / "data" / "nlu" / "pharmacy.yml")) + 1


def test_an_example_of_a_middle_intent_stays_in_its_block(data: TrainingData) -> None:
    # smalltalk.yml holds several intents: the example joins "thank", not the last block.
    added = data.add("thank", "vi ringrazio tantissimo per la pazienza di stamattina")
    thanks = [ex.plain for ex in read_examples(added.path) if ex.intent == "thank"]
    assert thanks[-1] == "vi ringrazio tantissimo per la pazienza di stamattina"


def test_an_exact_duplicate_is_refused(data: TrainingData) -> None:
    data.add("ask_pharmacy_shift", "la farmacia del porto stanotte fa il turno?")
    before = (data.nlu_dir / "pharmacy.yml").read_text(encoding="utf-8")
    with pytest.raises(ExampleRefusedError, match=r"già presente in pharmacy\.yml"):
        data.add("ask_pharmacy_shift", "La farmacia del porto, stanotte, fa il turno")
    assert (data.nlu_dir / "pharmacy.yml").read_text(encoding="utf-8") == before


def test_a_near_duplicate_is_refused(data: TrainingData) -> None:
    data.add("ask_pharmacy_shift", "la farmacia del porto stanotte fa il turno?")
    with pytest.raises(ExampleRefusedError, match="quasi uguale"):
        data.add("ask_pharmacy_shift", "la farmacia del porto stanote fa il turno?")


def test_an_example_that_teaches_another_intent_is_refused(data: TrainingData) -> None:
    with pytest.raises(ExampleRefusedError, match="Contraddice l'intent thank"):
        data.add("greet", "grazie mille")


def test_the_held_out_set_is_never_trained_on(data: TrainingData) -> None:
    held = read_examples(data.holdout)[0]
    with pytest.raises(ExampleRefusedError, match="test set separato"):
        data.add(held.intent, held.plain)


@pytest.mark.parametrize(
    ("intent", "text", "reason"),
    [
        ("ask_parking", "dove parcheggio?", "non esiste"),
        ("greet", "   ", "vuoto"),
        ("ask_bathing_status", "si fa il bagno a [Copacabana](zone) oggi?", "gazetteer"),
    ],
)
def test_other_refusals(data: TrainingData, intent: str, text: str, reason: str) -> None:
    with pytest.raises(ExampleRefusedError, match=reason):
        data.add(intent, text)


def test_annotated_entities_from_the_gazetteers_are_welcome(data: TrainingData) -> None:
    added = data.add(
        "ask_pharmacy_shift", "quale farmacia fa il turno [domani](date) mattina presto?"
    )
    assert ("date", "domani") in [e for ex in read_examples(added.path) for e in ex.entities]
