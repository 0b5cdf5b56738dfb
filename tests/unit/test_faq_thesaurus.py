"""The built-in thesaurus: citizens' words meet the office's, and a bad group never loads
(:mod:`urp.faq.thesaurus`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from urp.faq.text import Analysis, Synonyms
from urp.faq.thesaurus import ThesaurusError, default_groups, load_groups, parse_groups


@pytest.fixture(scope="module")
def synonyms() -> Synonyms:
    return Synonyms(default_groups())


def stems(text: str, synonyms: Synonyms) -> set[str]:
    return set(Analysis.of(text, synonyms).stems.split())


# --- The shipped file --------------------------------------------------------------------


def test_the_shipped_thesaurus_loads_and_covers_the_municipal_subjects() -> None:
    groups = default_groups()
    assert 120 <= len(groups) <= 200
    assert all(key and phrases for key, phrases in groups.items())
    for key in ("tari", "imu", "cie", "rifiuti", "polizia locale", "cimitero", "mensa"):
        assert key in groups


def test_every_call_gets_its_own_copy() -> None:
    default_groups()["tari"].append("tassa sbagliata")
    del default_groups()["imu"]
    assert "tassa sbagliata" not in default_groups()["tari"]
    assert "imu" in default_groups()


def test_every_phrase_reads_as_its_group_word(synonyms: Synonyms) -> None:
    """Also what the loader cannot see alone: no group undoes another one."""
    for key, phrases in default_groups().items():
        expected = Analysis.of(key, synonyms).stems
        for phrase in phrases:
            assert Analysis.of(phrase, synonyms).stems == expected, (key, phrase)


@pytest.mark.parametrize(
    ("citizen", "office"),
    [
        ("pagare la spazzatura", "pagare i rifiuti"),
        ("come pago la tassa sulla monnezza?", "Come si paga la TARI"),
        ("ho perso la carta d'identità", "smarrimento della CIE"),
        ("il pulmino della scuola", "trasporto scolastico"),
        ("il bimbo all'asilo nido", "il bambino al nido"),
        ("orari dei vigili urbani", "orari della polizia locale"),
        ("il pass per la zona a traffico limitato", "permesso ZTL"),
        ("i mobili vecchi all'isola ecologica", "ingombranti al centro di raccolta"),
        ("la luce votiva al camposanto", "lampade votive del cimitero"),
        ("la sosta a pagamento", "le strisce blu"),
        ("mi sono trasferito, cambio di indirizzo", "trasloco e cambio di residenza"),
    ],
)
def test_citizens_words_meet_the_offices(citizen: str, office: str, synonyms: Synonyms) -> None:
    assert stems(citizen, synonyms) == stems(office, synonyms)


def test_the_brief_example_is_the_same_analysis(synonyms: Synonyms) -> None:
    assert Analysis.of("pagare la spazzatura", synonyms) == Analysis.of(
        "pagare i rifiuti", synonyms
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("IMU", "TARI"),
        ("residenza", "domicilio"),
        ("certificato", "autocertificazione"),
        ("documento d'identità", "carta d'identità"),
        ("condono", "sanatoria"),
        ("scuola materna", "asilo nido"),
        ("unione civile", "matrimonio"),
    ],
)
def test_what_the_office_keeps_apart_stays_apart(one: str, other: str, synonyms: Synonyms) -> None:
    assert stems(one, synonyms) != stems(other, synonyms)


def test_longer_phrases_are_not_undone_by_shorter_ones(synonyms: Synonyms) -> None:
    assert stems("vigili del fuoco", synonyms) == stems("pompieri", synonyms)
    assert "poliz" not in stems("vigili del fuoco", synonyms)
    assert stems("bollettino meteo", synonyms) == stems("allerta meteo", synonyms)
    assert stems("passo carrabile", synonyms) == {"pass", "carrabil"}


# --- The checks --------------------------------------------------------------------------


def test_a_good_mapping_is_returned_trimmed() -> None:
    assert parse_groups({" tari ": [" tassa rifiuti "]}) == {"tari": ["tassa rifiuti"]}


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        ["tari", "tassa rifiuti"],
        {True: ["vero"]},  # «yes:» or «on:» unquoted in YAML
        {"": ["tassa rifiuti"]},
        {"tari": []},
        {"tari": "tassa rifiuti"},
        {"tari": ["tassa rifiuti", ""]},
        {"tari": ["tassa rifiuti", None]},
    ],
)
def test_malformed_groups_are_refused(data: object) -> None:
    with pytest.raises(ThesaurusError):
        parse_groups(data)


def test_a_phrase_of_stop_words_only_is_refused() -> None:
    with pytest.raises(ThesaurusError, match="solo parole vuote"):
        parse_groups({"convivenza": ["di fatto"]})


def test_the_same_phrase_in_two_groups_is_refused_even_when_written_otherwise() -> None:
    with pytest.raises(ThesaurusError, match="stessa frase"):
        parse_groups({"tari": ["tassa rifiuti"], "imu": ["tasse sui rifiuti"]})
    with pytest.raises(ThesaurusError, match="stessa frase"):
        parse_groups({"tari": ["tassa rifiuti", "la tassa dei rifiuti"]})
    with pytest.raises(ThesaurusError, match="stessa frase"):
        parse_groups({"tari": ["imu"], "imu": ["imposta municipale"]})


def test_a_key_that_another_group_would_rewrite_is_refused() -> None:
    with pytest.raises(ThesaurusError, match="vigili del fuoco"):
        parse_groups({"polizia locale": ["vigili"], "vigili del fuoco": ["pompieri"]})
    with pytest.raises(ThesaurusError, match="raccolta differenziata"):
        parse_groups({"raccolta differenziata": ["differenziata"]})


def test_a_key_may_contain_another_groups_key() -> None:
    groups = {"tributi": ["tasse comunali"], "ufficio tributi": ["ufficio tasse"]}
    assert parse_groups(groups) == groups


def test_a_file_is_read_and_its_errors_name_it(tmp_path: Path) -> None:
    good = tmp_path / "thesaurus.yml"
    good.write_text("tari:\n  - tassa rifiuti\n", encoding="utf-8")
    assert load_groups(good) == {"tari": ["tassa rifiuti"]}
    broken = tmp_path / "rotto.yml"
    broken.write_text("tari: [tassa rifiuti\n", encoding="utf-8")
    with pytest.raises(ThesaurusError, match=r"rotto\.yml"):
        load_groups(broken)
    empty = tmp_path / "vuoto.yml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ThesaurusError, match=r"vuoto\.yml"):
        load_groups(empty)
