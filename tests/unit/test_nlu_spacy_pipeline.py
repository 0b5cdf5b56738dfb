"""The project's own Italian spaCy pipeline: tokens, lemmas and gazetteer entities."""

from __future__ import annotations

from pathlib import Path

import pytest

from urp.nlu.spacy_pipeline import build, build_to_disk

ROOT = Path(__file__).resolve().parents[2]
GAZETTEERS = ROOT / "data" / "nlu" / "gazetteers.yml"


@pytest.fixture(scope="module")
def nlp():
    return build(GAZETTEERS)


def ents(nlp, text: str) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in nlp(text.lower()).ents]


def test_italian_elisions_are_split(nlp) -> None:
    assert [t.text for t in nlp("dell'ufficio l'anagrafe quand'è")][:2] == ["dell'", "ufficio"]
    assert "l'" in [t.text for t in nlp("l'anagrafe")]


def test_lookup_lemmas(nlp) -> None:
    lemmas = {t.text: t.lemma_ for t in nlp("farmacie aperte è orari")}
    assert lemmas["farmacie"] == "farmacia"
    assert lemmas["è"] == "essere"
    assert lemmas["orari"] == "orario"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("farmacia di turno stanotte a Torrette", [("stanotte", "date"), ("torrette", "zone")]),
        ("siete aperti giovedì pomeriggio?", [("giovedì pomeriggio", "date")]),
        ("e sabato prossimo?", [("sabato prossimo", "date")]),
        (
            "orari ufficio anagrafe domani mattina",
            [("ufficio anagrafe", "office"), ("domani mattina", "date")],
        ),
        (
            "bando libri di testo dall'8 ottobre 2026",
            [("libri di testo", "grant_topic"), ("8 ottobre 2026", "date")],
        ),
        ("aperti il 12/08 e a Ferragosto?", [("12/08", "date"), ("ferragosto", "date")]),
        ("cosa c'è questo weekend", [("questo weekend", "date")]),
        ("iscrivimi alle allerte", [("allerte", "topic")]),
        ("grazie mille, gentilissimi", []),
    ],
)
def test_entity_ruler(nlp, text, expected) -> None:
    assert ents(nlp, text) == expected


def test_pipeline_saved_to_disk_loads_with_spacy(tmp_path) -> None:
    import spacy

    out = build_to_disk(GAZETTEERS, tmp_path / "it_urp")
    loaded = spacy.load(out)
    assert loaded.pipe_names == ["lemmatizer", "entity_ruler"]
    assert spacy.info(str(out))["name"] == "it_urp"
