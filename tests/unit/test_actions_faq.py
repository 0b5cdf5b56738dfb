"""The office's FAQ in the dialogue (actions.faq): an answer with its link, «Forse cerchi:»
with buttons, nothing, a store that fails, a button chosen, and the service actions that
leave a question to the FAQ (the library's hours are not the URP's)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from actions import faq as faq_actions
from actions import services
from actions.contributions import ActionContributions
from actions.fallback import ActionCountUnclear
from actions.faq import ActionFaq, ActionFaqChoice, button_title, shorten, suggestion_buttons
from actions.memo import ActionLatestMemo
from actions.opening_hours import ActionOpeningHours
from tests.unit.conversation import run, says, slots
from urp.core.db import Database
from urp.core.settings import FaqSettings
from urp.faq.entries import FaqEntry
from urp.faq.search import FaqMatch, LiveFaqIndex
from urp.faq.store import FaqService
from urp.inbound.cleaning import Shortcuts, clean
from urp.nlu import embeddings

TARI = FaqEntry(
    id="tari-pagamento",
    questions=(
        "Come si paga la TARI?",
        "pagare la tassa rifiuti",
        "dove trovo il modello F24 della tari",
        "scadenze della tari",
        "come pago la tassa sui rifiuti",
        "posso pagare la tari online",
    ),
    answer="La *TARI* si paga con il modello F24 che ricevi a casa, in due rate.",
    link="https://www.comune.example.it/tari",
    topic="tributi",
)
LIBRARY = FaqEntry(
    id="biblioteca-orari",
    questions=(
        "Quali sono gli orari della biblioteca comunale?",
        "quando apre la biblioteca",
        "orari biblioteca",
        "la biblioteca è aperta il sabato?",
        "a che ora chiude la biblioteca",
        "orario prestito libri",
    ),
    answer="La biblioteca comunale è aperta dal lunedì al sabato, 9-19.",
    link="https://www.comune.example.it/biblioteca",
    topic="cultura",
)
CIE = FaqEntry(
    id="carta-identita",
    questions=(
        "Come si richiede la carta d'identità elettronica?",
        "rinnovo carta di identità",
        "CIE scaduta cosa faccio",
        "appuntamento per la carta d'identità",
        "quanto costa la carta d'identità",
        "documenti per la carta d'identità",
    ),
    answer="La carta d'identità elettronica si chiede all'anagrafe, su appuntamento.",
    topic="anagrafe",
)


@pytest.fixture
def office_faq(monkeypatch, actions_store: Database) -> Iterator[FaqService]:
    """Ancona's settings, and three entries in the store; every check reaches the store."""
    monkeypatch.setenv("URP_SETTINGS", "settings/ancona.yml")
    monkeypatch.setenv("URP_FAQ_RECHECK_SECONDS", "0")
    service = FaqService(actions_store)
    service.import_entries([TARI, LIBRARY, CIE], by="prova")
    services.forget_faq_index()
    yield service
    services.forget_faq_index()


def thresholds(monkeypatch, answer: float, suggest: float) -> None:
    """The real index on the store, sure only from ``answer`` (a suggestion from ``suggest``)."""
    settings = FaqSettings(answer_threshold=answer, suggest_threshold=suggest, margin=0.0)
    index = LiveFaqIndex(FaqService(services.database()), settings, recheck=0)
    monkeypatch.setattr(faq_actions, "faq_index", lambda: index)


def asks(text: str, intent: str = "out_of_scope", **entities: str) -> Any:
    return says(intent, text, **entities)


def chooses(entry_id: str) -> Any:
    return says("choose_faq", f'/choose_faq{{"faq_id": "{entry_id}"}}', faq_id=entry_id)


# --- out of scope: answer, suggestions, none ------------------------------------------------


def test_a_question_of_the_faq_gets_the_office_s_answer_and_link(office_faq) -> None:
    events, messages = run(ActionFaq(), asks("come si paga la tari?"))
    assert slots(events) == {"faq_outcome": "answer", "faq_id": "tari-pagamento"}
    assert [m["text"] for m in messages] == [
        "La *TARI* si paga con il modello F24 che ricevi a casa, in due rate.\n"
        "👉 https://www.comune.example.it/tari"
    ]


def test_the_meaning_the_nlu_computed_is_read_not_computed_again(office_faq, monkeypatch) -> None:
    question = "come si paga la tari?"
    conversation = asks(question)
    (vector,) = embeddings.encode([question])
    conversation.latest_message[embeddings.EMBEDDING_KEY] = embeddings.pack(vector)
    services.faq_index().index()  # built: the entries' questions are embedded
    computed: list[list[str]] = []
    real = embeddings.encode
    monkeypatch.setattr(embeddings, "encode", lambda texts: computed.append(texts) or real(texts))
    events, _ = run(ActionFaq(), conversation)
    assert slots(events) == {"faq_outcome": "answer", "faq_id": "tari-pagamento"}
    assert not [texts for texts in computed if question in texts]


def test_an_entry_without_a_link_is_its_answer_alone(office_faq) -> None:
    events, messages = run(ActionFaq(), asks("come si richiede la carta d'identità elettronica?"))
    assert slots(events)["faq_id"] == "carta-identita"
    assert [m["text"] for m in messages] == [CIE.answer]


def test_an_edited_entry_is_answered_at_the_next_question(office_faq) -> None:
    run(ActionFaq(), asks("come si paga la tari?"))
    edited = FaqEntry(**{**TARI.__dict__, "answer": "Dal 2027 la TARI si paga con pagoPA."})
    office_faq.import_entries([edited], by="prova")
    _, messages = run(ActionFaq(), asks("come si paga la tari?"))
    assert messages[0]["text"].startswith("Dal 2027 la TARI si paga con pagoPA.")


def test_an_uncertain_question_gets_buttons_never_an_answer(office_faq, monkeypatch) -> None:
    thresholds(monkeypatch, answer=1.01, suggest=0.01)
    question = "orari della biblioteca o pagare la tari?"
    expected = faq_actions.faq_index().answer(question).matches
    events, messages = run(ActionFaq(), asks(question))
    assert slots(events) == {"faq_outcome": "suggestions", "faq_id": None}
    [message] = messages
    assert message["text"] == "Forse cerchi:"
    buttons = message["buttons"]
    assert 1 <= len(buttons) <= 3
    assert [b["payload"] for b in buttons] == [
        f'/choose_faq{{"faq_id": "{m.entry.id}"}}' for m in expected
    ]
    assert buttons[0]["payload"] == '/choose_faq{"faq_id": "biblioteca-orari"}'
    assert all(len(b["title"]) <= 20 for b in buttons)
    assert len({b["title"] for b in buttons}) == len(buttons)


def test_the_buttons_pass_the_channels_gate(office_faq, monkeypatch) -> None:
    from channels.gate import shortcuts

    thresholds(monkeypatch, answer=1.01, suggest=0.01)
    _, messages = run(ActionFaq(), asks("orari della biblioteca o pagare la tari?"))
    for button in messages[0]["buttons"]:
        for signed in (True, False):
            assert clean(button["payload"], shortcuts=shortcuts(signed)).text == button["payload"]


def test_nothing_in_the_faq_leaves_the_reply_to_the_rules(office_faq, monkeypatch) -> None:
    thresholds(monkeypatch, answer=0.99, suggest=0.98)
    events, messages = run(ActionFaq(), asks("qual è la capitale della Francia?"))
    assert slots(events) == {"faq_outcome": "none", "faq_id": None}
    assert messages == []


def test_a_button_s_payload_is_not_a_question(office_faq) -> None:
    events, messages = run(ActionFaq(), asks("/out_of_scope"))
    assert slots(events)["faq_outcome"] == "none"
    assert messages == []


def test_an_empty_faq_answers_nothing(monkeypatch, actions_store) -> None:
    monkeypatch.setenv("URP_SETTINGS", "settings/ancona.yml")
    services.forget_faq_index()
    events, messages = run(ActionFaq(), asks("come si paga la tari?"))
    assert slots(events)["faq_outcome"] == "none" and messages == []
    services.forget_faq_index()


def test_a_store_that_fails_gets_an_apology_and_the_offer_of_a_person(
    office_faq, monkeypatch
) -> None:
    def down() -> LiveFaqIndex:
        raise OperationalError("SELECT 1", {}, Exception("connessione rifiutata"))

    monkeypatch.setattr(faq_actions, "faq_index", down)
    events, messages = run(ActionFaq(), asks("come si paga la tari?"))
    assert slots(events) == {"faq_outcome": "unavailable"}
    assert messages == []
    events, _ = run(ActionFaqChoice(), chooses("tari-pagamento"))
    assert slots(events)["faq_outcome"] == "answer"  # the choice reads the store itself


def test_a_chosen_entry_when_the_store_fails(office_faq, monkeypatch) -> None:
    class Broken(FaqService):
        def get(self, entry_id: str) -> FaqEntry | None:
            raise OperationalError("SELECT 1", {}, Exception("connessione rifiutata"))

    monkeypatch.setattr(faq_actions, "FaqService", Broken)
    events, messages = run(ActionFaqChoice(), chooses("tari-pagamento"))
    assert slots(events) == {"faq_outcome": "unavailable"} and messages == []


# --- a «Forse cerchi:» button chosen ----------------------------------------------------------


def test_a_chosen_entry_is_answered(office_faq) -> None:
    events, messages = run(ActionFaqChoice(), chooses("biblioteca-orari"))
    assert slots(events) == {"faq_outcome": "answer", "faq_id": "biblioteca-orari"}
    assert messages[0]["text"].startswith(LIBRARY.answer)
    assert messages[0]["text"].endswith("👉 https://www.comune.example.it/biblioteca")


@pytest.mark.parametrize("entry_id", ["non-esiste", None])
def test_an_entry_retired_since_the_button_was_sent(office_faq, entry_id) -> None:
    office_faq.retire("tari-pagamento", by="prova")
    conversation = chooses(entry_id or "tari-pagamento")
    if entry_id is None:
        conversation.latest_message["entities"] = []
    events, messages = run(ActionFaqChoice(), conversation)
    assert slots(events) == {"faq_outcome": "none", "faq_id": None} and messages == []
    events, _ = run(ActionFaqChoice(), chooses("tari-pagamento"))
    assert slots(events)["faq_outcome"] == "none"


# --- button titles --------------------------------------------------------------------------


def test_a_long_question_is_cut_between_words() -> None:
    assert shorten("Quali sono gli orari della biblioteca comunale?") == "Quali sono gli…"
    assert shorten("Come si paga la TARI?") == "Come si paga la TARI"
    assert len(shorten("Precisamente-unaparolaunicalunghissima")) == 20


def test_a_title_is_a_real_phrasing_when_one_fits() -> None:
    taken: set[str] = set()
    assert button_title(TARI, taken) == "Come si paga la TARI"
    assert button_title(LIBRARY, taken) == "Orari biblioteca"
    entry = FaqEntry(id="lunga", questions=("Una domanda davvero molto lunga?",), answer="x")
    assert button_title(entry, taken) == "Una domanda davvero…"


def test_two_entries_never_get_the_same_title() -> None:
    twin = FaqEntry(id="tari-scadenze", questions=TARI.questions, answer="Le scadenze.")
    matches = tuple(FaqMatch(e, 0.5, e.questions[0]) for e in (TARI, twin, TARI))
    titles = [b["title"] for b in suggestion_buttons(matches)]
    assert len(set(titles)) == 3 and all(len(t) <= 20 for t in titles)


# --- the service actions leave the FAQ's questions to it -----------------------------------


@pytest.fixture
def ancona_faq(ancona_office, office_faq: FaqService) -> FaqService:
    """Ancona's example data, its FAQ retired but for the three entries of these tests."""
    ours = {TARI.id, LIBRARY.id, CIE.id}
    for entry in office_faq.entries():
        if entry.id not in ours:
            office_faq.retire(entry.id, by="prova")
    return office_faq


def test_the_library_s_hours_come_from_the_faq(ancona_faq, at) -> None:
    at(2026, 11, 25, 10, 0)
    conversation = asks("quali sono gli orari della biblioteca comunale?", "ask_opening_hours")
    events, messages = run(ActionOpeningHours(), conversation)
    assert slots(events) == {
        "hours_outcome": "faq",
        "faq_id": "biblioteca-orari",
        "last_service": None,
    }
    assert messages[0]["text"].startswith(LIBRARY.answer)


def test_an_unknown_office_named_goes_to_the_faq_too(ancona_faq, at) -> None:
    at(2026, 11, 25, 10, 0)
    conversation = asks("orari biblioteca", "ask_opening_hours", office="biblioteca")
    events, _ = run(ActionOpeningHours(), conversation)
    assert slots(events)["hours_outcome"] == "faq"


def test_our_own_hours_stay_with_the_service(ancona_faq, at) -> None:
    at(2026, 11, 25, 10, 0)  # Wednesday morning: the URP is open
    for conversation in (
        asks("siete aperti adesso?", "ask_opening_hours"),
        asks("orari urp", "ask_opening_hours", office="urp"),
        asks("orari anagrafe", "ask_opening_hours", office="anagrafe"),
    ):
        events, messages = run(ActionOpeningHours(), conversation)
        assert slots(events)["hours_outcome"] != "faq"
        assert all(not m.get("text") for m in messages)


def test_an_office_we_do_not_know_and_the_faq_does_not_either(ancona_faq, at) -> None:
    at(2026, 11, 25, 10, 0)
    conversation = asks("orari del cimitero", "ask_opening_hours", office="cimitero")
    events, _ = run(ActionOpeningHours(), conversation)
    assert slots(events)["hours_outcome"] == "unknown_office"


def test_a_follow_up_stays_with_the_service(ancona_faq, at) -> None:
    at(2026, 11, 25, 10, 0)
    conversation = asks("e gli orari della biblioteca comunale?", "follow_up")
    conversation.slots["asked_entities"] = {}
    events, _ = run(ActionOpeningHours(), conversation)
    assert slots(events)["hours_outcome"] != "faq"


def test_the_faq_answers_for_the_memo_when_it_is_sure(ancona_faq, at) -> None:
    at(2026, 11, 22, 10, 0)
    events, messages = run(ActionLatestMemo(), asks("come si paga la tari?", "ask_latest_memo"))
    assert slots(events) == {
        "memo_outcome": "faq",
        "faq_id": "tari-pagamento",
        "last_service": None,
    }
    assert len(messages) == 1
    events, messages = run(ActionLatestMemo(), asks("mandami il memo", "ask_latest_memo"))
    assert slots(events)["memo_outcome"] == "sent"


def test_an_unclear_message_the_faq_knows_well_is_answered(ancona_faq) -> None:
    events, messages = run(ActionCountUnclear(), asks("come si paga la tari?", "nlu_fallback"))
    assert slots(events) == {
        "operator_offered": None,
        "faq_outcome": "answer",
        "faq_id": "tari-pagamento",
        "last_service": None,
    }
    assert messages[0]["text"].startswith(TARI.answer)
    events, messages = run(ActionCountUnclear(), asks("asdfghjk", "nlu_fallback"))
    assert slots(events) == {"operator_offered": False, "faq_outcome": None}
    assert messages == []


def test_an_unclear_message_the_faq_may_know_gets_suggestions(ancona_faq, monkeypatch) -> None:
    thresholds(monkeypatch, answer=1.01, suggest=0.01)
    question = "orari della biblioteca o pagare la tari?"
    events, messages = run(ActionCountUnclear(), asks(question, "nlu_fallback"))
    assert slots(events) == {"operator_offered": None, "faq_outcome": "suggestions", "faq_id": None}
    assert messages[0]["text"] == "Forse cerchi:" and messages[0]["buttons"]


def test_no_call_on_it_and_the_faq_knows_it(ancona_faq, at) -> None:
    at(2026, 11, 25, 10, 0)
    question = asks("come si richiede la carta d'identità elettronica?", "ask_contributions")
    events, messages = run(ActionContributions(), question)
    assert slots(events)["calls_outcome"] == "faq"
    assert slots(events)["faq_id"] == "carta-identita"
    assert [m["text"] for m in messages] == [CIE.answer]
    events, messages = run(
        ActionContributions(), asks("ci sono bandi aperti?", "ask_contributions")
    )
    assert slots(events)["calls_outcome"] != "faq"


def test_a_faq_that_fails_leaves_the_service_to_answer(ancona_faq, at, monkeypatch) -> None:
    def down() -> LiveFaqIndex:
        raise OperationalError("SELECT 1", {}, Exception("connessione rifiutata"))

    monkeypatch.setattr(faq_actions, "faq_index", down)
    at(2026, 11, 25, 10, 0)
    conversation = asks("quali sono gli orari della biblioteca comunale?", "ask_opening_hours")
    events, _ = run(ActionOpeningHours(), conversation)
    assert slots(events)["hours_outcome"] == "open_now"


# --- the recheck interval --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 10.0), ("2", 2.0), ("0", 0.0), ("-1", 10.0), ("presto", 10.0)]
)
def test_the_recheck_interval_comes_from_the_environment(monkeypatch, value, seconds) -> None:
    if value is None:
        monkeypatch.delenv("URP_FAQ_RECHECK_SECONDS", raising=False)
    else:
        monkeypatch.setenv("URP_FAQ_RECHECK_SECONDS", value)
    assert services.faq_recheck_seconds() == seconds


def test_the_payload_is_what_rasa_reads() -> None:
    payload = suggestion_buttons((FaqMatch(TARI, 0.5, TARI.questions[0]),))[0]["payload"]
    assert json.loads(payload.removeprefix("/choose_faq")) == {"faq_id": "tari-pagamento"}
    assert clean(payload, shortcuts=Shortcuts(choices=True)).text == payload


def test_the_action_server_builds_the_index_before_the_first_question(monkeypatch, caplog) -> None:
    import actions

    built: list[str] = []

    class Index:
        def index(self) -> None:
            built.append("built")

    monkeypatch.setattr(services, "faq_index", lambda: Index())
    actions._warm_faq()
    assert built == ["built"]

    class Down:
        def index(self) -> None:
            raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(services, "faq_index", lambda: Down())
    with caplog.at_level(logging.ERROR):
        actions._warm_faq()  # no exception: the first question tries again
    assert "FAQ non preparate all'avvio" in caplog.text
