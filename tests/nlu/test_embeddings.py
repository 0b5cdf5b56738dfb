"""The sentence embedding: meaning across words and languages, bounded cost, safe to load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.linear import _trusted
from urp.nlu import embeddings, linear
from urp.tools.check_install import has_avx2


def _cosine(a: str, b: str) -> float:
    x, y = embeddings.encode([a, b])
    return float(x @ y)


def test_the_same_request_in_other_words_or_languages_is_close() -> None:
    request = "cancellate tutti i miei dati personali"
    assert _cosine(request, "remove all data about me") > _cosine(request, "farmacia di turno")
    assert _cosine(request, "dimenticate il mio numero") > _cosine(request, "orari del municipio")


def test_rows_are_unit_vectors_in_order_even_for_empty_or_odd_text() -> None:
    rows = embeddings.encode(["", "🤣🤣", "ciao", "ciao"])
    assert rows.shape == (4, embeddings.DIMENSIONS)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
    assert np.array_equal(rows[2], rows[3])


def test_a_very_long_message_costs_as_much_as_its_beginning() -> None:
    start = "buongiorno vorrei sapere quali farmacie sono di turno stanotte " * 20
    long = start + "x" * 5000
    (clipped,) = embeddings.encode([start[: embeddings.MAX_CHARACTERS]])
    (whole,) = embeddings.encode([long])
    assert np.array_equal(clipped, whole)


def test_the_classifier_understands_a_language_it_was_not_trained_on() -> None:
    examples = {
        "unsubscribe": ["cancellami", "toglimi dalla lista", "non voglio più messaggi"],
        "ask_pharmacy_shift": ["farmacia di turno", "farmacie aperte stanotte"],
        "greet": ["ciao", "buongiorno", "salve"],
    }
    texts = [t for ts in examples.values() for t in ts]
    intents = [i for i, ts in examples.items() for _ in ts]
    # Messages the n-grams alone get wrong: they share no word with the examples.
    probes = {
        "hello there": "greet",
        "I need medicine tonight, who is open?": "ask_pharmacy_shift",
        "unsubscribe me": "unsubscribe",
    }

    def top(config: linear.LinearConfig) -> dict[str, str]:
        model = linear.train(texts, intents, config)
        rankings = linear.rank(model, list(probes))
        return {text: ranking[0][0] for text, ranking in zip(probes, rankings, strict=True)}

    assert top(linear.LinearConfig(calibration_folds=2)) == probes
    assert top(linear.LinearConfig(calibration_folds=2, embeddings=0.0)) != probes


def test_only_the_embedding_hook_of_ours_may_be_loaded_from_a_model_file() -> None:
    assert _trusted(["urp.nlu.embeddings.features"]) == ["urp.nlu.embeddings.features"]
    with pytest.raises(ValueError, match="tipi non attesi"):
        _trusted(["urp.nlu.embeddings.encode"])


@pytest.mark.parametrize(
    ("machine", "flags", "expected"),
    [
        ("x86_64", "flags : fpu sse2 avx avx2 fma", True),
        ("x86_64", "flags : fpu sse2 avx", False),
        ("aarch64", "Features : fp asimd", False),
    ],
)
def test_install_check_tells_a_processor_without_avx2(
    tmp_path: Path, machine: str, flags: str, expected: bool
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(flags + "\n")
    assert has_avx2(machine, cpuinfo) is expected


def test_a_packed_vector_travels_in_the_parse_data_and_comes_back() -> None:
    (vector,) = embeddings.encode(["come si paga la tari?"])
    packed = embeddings.pack(vector)
    assert isinstance(packed, str) and len(packed) == 520
    back = embeddings.unpack(packed)
    assert back is not None and float(back @ vector) > 0.999
    assert np.linalg.norm(back) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "odd",
    [None, 42, "", "non è base64!", "QUJD", "A" * 10_000, ["x"], embeddings.pack(np.zeros(384))],
)
def test_anything_but_a_packed_vector_is_refused(odd: object) -> None:
    assert embeddings.unpack(odd) is None
