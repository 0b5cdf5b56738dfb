"""The FAQ search: Italian text, honest confidence, the live index behind the actions."""

from __future__ import annotations

import logging
import threading

import pytest

from urp.core.settings import FaqSettings, SettingsError, parse_settings
from urp.faq.confidence import FEATURES, ConfidenceModel, default_model
from urp.faq.entries import FaqEntry
from urp.faq.search import (
    ANSWER,
    NONE,
    SUGGESTIONS,
    FaqIndex,
    FaqMatch,
    LiveFaqIndex,
    Weights,
    decide,
)
from urp.faq.text import Synonyms, normalise, stem, stop_words, words
from urp.nlu import embeddings

ENTRIES = [
    FaqEntry(
        "tari-pagamento",
        ("Come si paga la TARI?", "dove pago la tassa sui rifiuti", "scadenze della tari"),
        "La *TARI* si paga con l'avviso pagoPA, online o in banca.",
        "https://www.comune.example.it/tari",
        "tributi",
    ),
    FaqEntry(
        "cie-richiesta",
        ("Come si fa la carta d'identità elettronica?", "rinnovo della carta d'identità"),
        "La *CIE* si chiede all'anagrafe su appuntamento: porta una fototessera.",
        topic="anagrafe",
    ),
    FaqEntry(
        "biblioteca-orari",
        ("Quali sono gli orari della biblioteca?", "quando apre la biblioteca comunale"),
        "La biblioteca è aperta dal lunedì al sabato, dalle 9 alle 19.",
        topic="cultura",
    ),
    FaqEntry(
        "certificati-anagrafici",
        ("Come ottengo un certificato di residenza?", "certificato di stato di famiglia"),
        "I certificati anagrafici si scaricano online con SPID o si chiedono allo sportello.",
        topic="anagrafe",
    ),
]
SETTINGS = FaqSettings(synonyms={"tari": ("tassa rifiuti", "tassa sui rifiuti")})


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex.build(ENTRIES, SETTINGS)


# --- Italian text --------------------------------------------------------------------------


def test_accents_and_their_absence_are_the_same_word() -> None:
    assert normalise("Perché la città è chiusa?") == normalise("perche la citta e chiusa")
    assert normalise("perche' la citta' e' chiusa") == normalise("perché la città è chiusa")


def test_elisions_are_split_and_the_article_dropped() -> None:
    assert words("dell'anagrafe") == ["dell", "anagrafe"]
    assert normalise("orari dell'anagrafe") == normalise("orari anagrafe")
    assert normalise("l’ufficio") == normalise("ufficio")


def test_plurals_gender_and_verb_forms_meet() -> None:
    assert stem("pagamenti") == stem("pagamento")
    assert stem("pagare") == stem("paga") == stem("pagato") == stem("pagata") == stem("pago")
    assert stem("iscriversi") == stem("iscrivere")
    assert stem("rinnovarla") == stem("rinnovare") == stem("rinnovo")
    assert stem("farmacia") == stem("farmacie")
    assert stem("banca") == stem("banche")
    assert stem("2026") == "2026"
    assert stem("parla") != stem("pare")  # a short verb is not an infinitive with a pronoun


def test_stop_words_and_courtesies_are_dropped_but_question_words_stay() -> None:
    assert normalise("Buongiorno, vorrei sapere se è possibile, grazie mille") == "possibil"
    assert normalise("ciao") == ""
    assert {"dove", "quando", "quanto", "via", "casa"}.isdisjoint(stop_words())
    assert "della" in stop_words()


def test_synonyms_work_both_ways() -> None:
    synonyms = Synonyms({"tari": ["tassa rifiuti", "tassa sui rifiuti"], "cie": [
        "carta d'identità elettronica", "carta di identità"]})  # fmt: skip
    assert normalise("pagare la tari", synonyms) == normalise("pagare la tassa rifiuti", synonyms)
    assert normalise("le tasse sui rifiuti", synonyms) == normalise("tari")
    assert normalise("Carta d'identità elettronica smarrita", synonyms) == normalise("cie smarrita")
    assert normalise("rifiuti ingombranti", synonyms) == normalise("rifiuti ingombranti")
    assert not Synonyms({})


# --- search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("come si paga la tari?", "tari-pagamento"),
        ("COME SI PAGA LA TARÌ", "tari-pagamento"),
        ("pagamento tassa rifiuti", "tari-pagamento"),  # the synonym, the other way
        ("orari biblioteca", "biblioteca-orari"),
        ("a che ora apre la bibliotca", "biblioteca-orari"),  # a typo
        ("certifcato di residensa", "certificati-anagrafici"),  # two typos
        ("rinnovare la carta di identita", "cie-richiesta"),  # verb form, no accent
        ("mi serve una fototessera per la cie?", "cie-richiesta"),  # words of the answer
    ],
)
def test_the_right_entry_comes_first(index: FaqIndex, text: str, expected: str) -> None:
    matches = index.search(text)
    assert matches[0].entry.id == expected
    assert 0 <= matches[-1].score <= matches[0].score <= 1


def test_the_question_shown_is_the_closest_of_the_entry(index: FaqIndex) -> None:
    assert index.search("scadenze tari")[0].question == "scadenze della tari"


def test_search_returns_distinct_entries_best_first(index: FaqIndex) -> None:
    matches = index.search("certificato carta d'identità anagrafe", limit=10)
    ids = [m.entry.id for m in matches]
    assert len(ids) == len(set(ids)) == len(ENTRIES)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_an_exact_question_is_answered(index: FaqIndex) -> None:
    answer = index.answer("Come si paga la TARI?")
    assert answer.kind == ANSWER
    assert [m.entry.id for m in answer.matches] == ["tari-pagamento"]


def test_unknown_words_lower_the_score_instead_of_vanishing(index: FaqIndex) -> None:
    known = index.search("orari biblioteca")[0].score
    other = index.search("orari piscina")[0].score
    assert other < known / 2
    assert index.answer("orari della piscina comunale").kind != ANSWER


def test_nothing_to_search_is_no_answer(index: FaqIndex) -> None:
    assert index.answer("buongiorno grazie").kind == NONE
    assert index.answer("").kind == NONE
    empty = FaqIndex.build([], SETTINGS)
    assert empty.search("tari") == []
    assert empty.answer("tari") == decide([], 0.0, SETTINGS)


# --- honest confidence ---------------------------------------------------------------------


def _matches(*scores: float) -> list[FaqMatch]:
    return [FaqMatch(ENTRIES[n], score, ENTRIES[n].questions[0]) for n, score in enumerate(scores)]


CONFIDENCE = FaqSettings(answer_threshold=0.8, suggest_threshold=0.3, margin=0.0)


def test_a_probable_answer_is_given_alone() -> None:
    answer = decide(_matches(0.8, 0.6, 0.2), 0.9, CONFIDENCE)
    assert answer.kind == ANSWER and len(answer.matches) == 1
    assert answer.best is not None and answer.best.entry.id == "tari-pagamento"
    assert answer.confidence == 0.9


def test_a_doubtful_one_offers_the_entries_close_to_the_best() -> None:
    answer = decide(_matches(0.8, 0.75, 0.61, 0.59), 0.5, CONFIDENCE)
    assert answer.kind == SUGGESTIONS
    assert [m.score for m in answer.matches] == [0.8, 0.75, 0.61]  # at least 3/4 of the best
    assert [m.score for m in decide(_matches(0.4, 0.2), 0.5, CONFIDENCE).matches] == [0.4]


def test_an_improbable_one_is_none_with_the_best_for_reports() -> None:
    answer = decide(_matches(0.9, 0.2, 0.1, 0.05), 0.29, CONFIDENCE)
    assert answer.kind == NONE
    assert len(answer.matches) == 3
    assert decide(_matches(0.0), 0.99, CONFIDENCE).kind == NONE  # nothing in common


def test_the_margin_is_an_extra_guard_of_the_office() -> None:
    strict = FaqSettings(answer_threshold=0.8, suggest_threshold=0.3, margin=0.1)
    assert decide(_matches(0.8, 0.75), 0.95, strict).kind == SUGGESTIONS
    assert decide(_matches(0.8), 0.95, strict).kind == ANSWER  # a single entry leads by all


# --- the confidence model ------------------------------------------------------------------


def test_the_shipped_model_reads_the_features_of_the_code() -> None:
    model = default_model()
    assert len(model.coefficients) == len(FEATURES)
    assert ConfidenceModel.from_json(model.to_json()) == model
    with pytest.raises(ValueError, match="caratteristiche"):
        ConfidenceModel.from_json('{"features": ["top"], "coefficients": [1], "intercept": 0}')


def test_the_features_are_free_of_the_faq_s_size(index: FaqIndex) -> None:
    vector = index.assess("come si paga la tari")[1]
    assert vector.shape == (len(FEATURES),)
    named = dict(zip(FEATURES, vector, strict=True))
    assert 0 < named["top"] <= 1 and 0 <= named["ratio"] <= 1 and named["agree"] == 1
    assert named["known"] == pytest.approx(1.0) and named["covered"] == pytest.approx(1.0)
    assert index.assess("orari della piscina")[1][FEATURES.index("known")] < 1
    empty = FaqIndex.build([], SETTINGS)
    assert not empty.assess("tari")[1].any()


def test_confidence_is_high_for_a_clear_question_and_low_for_a_stranger(index: FaqIndex) -> None:
    assert index.answer("come si paga la tari?").confidence >= SETTINGS.answer_threshold
    assert index.answer("quanto costa un loculo al cimitero").confidence < 0.1


def test_a_model_can_be_given_to_the_index() -> None:
    never = ConfidenceModel(tuple(0.0 for _ in FEATURES), -50.0)
    index = FaqIndex(ENTRIES, SETTINGS, model=never)
    assert index.answer("Come si paga la TARI?").kind == NONE


# --- settings ------------------------------------------------------------------------------


def _settings(faq: object) -> dict:
    return {
        "municipality": {"name": "Prova", "province_code": "AN", "website": "https://x.it"},
        "urp": {"phone": "1", "email": "u@x.it", "service_hours": {"lunedì": ["09:00-12:00"]}},
        "privacy": {"policy_url": "https://x.it/p", "policy_version": "1"},
        "reporting": {"platform_url": "https://x.it/s"},
        "pharmacies": {"fallback_contact": "1500"},
        "faq": faq,
    }


def test_the_faq_section_is_optional_with_measured_defaults(tmp_path) -> None:
    settings = parse_settings(_settings(None), tmp_path / "s.yml")
    assert settings.faq == FaqSettings()
    assert settings.faq.suggest_threshold < settings.faq.answer_threshold


def test_the_faq_section_is_read(tmp_path) -> None:
    faq = {"answer_threshold": 0.6, "suggest_threshold": 0.4, "margin": 0, "synonyms": {
        "cie": ["carta d'identità"]}}  # fmt: skip
    settings = parse_settings(_settings(faq), tmp_path / "s.yml").faq
    assert (settings.answer_threshold, settings.suggest_threshold, settings.margin) == (
        0.6,
        0.4,
        0.0,
    )
    assert settings.synonyms == {"cie": ("carta d'identità",)}


@pytest.mark.parametrize(
    ("faq", "message"),
    [
        ({"answer_threshold": 1.5}, "faq.answer_threshold deve essere una probabilità tra 0"),
        ({"margin": "tanto"}, "faq.margin deve essere un numero tra 0 e 1"),
        ({"answer_threshold": 0.3, "suggest_threshold": 0.4}, "supera faq.answer_threshold"),
        ({"synonyms": {"tari": "tassa rifiuti"}}, "a ogni parola una lista di sinonimi"),
        ([1, 2], "'faq' deve essere una mappa"),
    ],
)
def test_wrong_faq_settings_say_what_to_fix(tmp_path, faq: object, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(_settings(faq), tmp_path / "s.yml")


# --- the live index ------------------------------------------------------------------------


class FakeService:
    def __init__(self, entries: list[FaqEntry]) -> None:
        self.published = list(entries)
        self.stamp = "1"
        self.failing = False
        self.revisions = 0
        self.loads = 0

    def revision(self) -> str:
        self.revisions += 1
        if self.failing:
            raise OSError("database is locked")
        return self.stamp

    def entries(self) -> list[FaqEntry]:
        self.loads += 1
        return list(self.published)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_live_index_rebuilds_only_when_the_revision_changes() -> None:
    service, clock = FakeService(ENTRIES[:1]), FakeClock()
    live = LiveFaqIndex(service, SETTINGS, recheck=10.0, clock=clock)  # type: ignore[arg-type]
    assert live.answer("orari della biblioteca").kind == NONE
    assert (service.revisions, service.loads) == (1, 1)

    service.published, service.stamp = list(ENTRIES), "2"
    clock.now += 9.9  # not yet time to ask: the old index answers
    assert live.search("orari della biblioteca")[0].entry.id == "tari-pagamento"
    assert service.revisions == 1

    clock.now += 0.1
    assert live.search("orari della biblioteca")[0].entry.id == "biblioteca-orari"
    assert (service.revisions, service.loads) == (2, 2)

    clock.now += 10
    live.answer("orari della biblioteca")
    assert (service.revisions, service.loads) == (3, 2)  # same revision: no rebuild


def test_a_failing_store_keeps_the_last_index_and_logs_once(caplog) -> None:
    service, clock = FakeService(ENTRIES), FakeClock()
    live = LiveFaqIndex(service, SETTINGS, recheck=1.0, clock=clock)  # type: ignore[arg-type]
    assert live.answer("come si paga la tari").kind == ANSWER
    service.failing = True
    with caplog.at_level(logging.INFO, logger="urp.faq.search"):
        for _ in range(3):
            clock.now += 1
            assert live.answer("come si paga la tari").kind == ANSWER
        failures = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(failures) == 1 and service.revisions == 4
        service.failing, service.stamp = False, "2"
        clock.now += 1
        assert live.answer("come si paga la tari").kind == ANSWER
    assert any("di nuovo" in r.getMessage() for r in caplog.records)
    assert service.loads == 2


def test_a_store_failing_from_the_start_raises_until_it_works() -> None:
    """The action then apologises for a technical problem instead of «non me ne occupo»."""
    service, clock = FakeService(ENTRIES), FakeClock()
    service.failing = True
    live = LiveFaqIndex(service, SETTINGS, recheck=1.0, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(OSError):
        live.answer("come si paga la tari")
    service.failing = False
    assert live.answer("come si paga la tari").kind == ANSWER


def test_the_live_index_answers_from_many_threads_and_builds_once() -> None:
    service = FakeService(ENTRIES)
    live = LiveFaqIndex(service, SETTINGS)  # type: ignore[arg-type]
    results: list[str] = []

    def ask() -> None:
        results.append(live.answer("come si paga la tari").kind)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [ANSWER] * 8
    assert service.loads == 1


def test_the_meaning_finds_an_entry_with_no_word_in_common() -> None:
    """Half of the score is the sentence embedding: words alone miss this one."""
    question = "immondizia: come verso i soldi al comune?"
    words_only = FaqIndex(ENTRIES, SETTINGS, Weights(meaning=0), default_model())
    assert words_only.search(question)[0].entry.id != "tari-pagamento"
    assert FaqIndex(ENTRIES, SETTINGS).search(question)[0].entry.id == "tari-pagamento"


def test_the_nlu_s_vector_gives_the_same_answer_as_the_text(index: FaqIndex) -> None:
    question = "dove pago la tassa dei rifiuti"
    (vector,) = embeddings.encode([question])
    packed = embeddings.unpack(embeddings.pack(vector))
    sent, computed = index.answer(question, packed), index.answer(question)
    assert sent.kind == computed.kind == ANSWER
    assert [m.entry.id for m in sent.matches] == [m.entry.id for m in computed.matches]
    assert sent.confidence == pytest.approx(computed.confidence, abs=0.01)
    # And the vector sent is what the search reads: another message's meaning changes it.
    (elsewhere,) = embeddings.encode(["a che ora apre la biblioteca il sabato"])
    assert index.answer(question, elsewhere).confidence < computed.confidence - 0.05
