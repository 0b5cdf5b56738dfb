"""The review inbox from a conversation log: which messages, masked, de-duplicated, grouped."""

from __future__ import annotations

import pytest

from tests.unit.review_log import LOG, WEB, WHATSAPP, action, user
from urp.review.inbox import ReviewCollector, group, inbox_from_events
from urp.review.masking import mask


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "mi chiamo Mario Rossi, abito in via Garibaldi 12, cell 333 123 4567, "
            "mail mario.rossi@example.it",
            "mi chiamo [nome], abito in via Garibaldi [civico], cell [telefono], mail [email]",
        ),
        ("Sono Anna Bianchi e vorrei iscrivermi", "Sono [nome] e vorrei iscrivermi"),
        ("il mio nome è giulia verdi ho bisogno", "il mio nome è [nome] ho bisogno"),
        ("la sig.ra Verdi ha chiamato", "la sig.ra [nome] ha chiamato"),
        ("Cordiali saluti, Luca Neri", "Cordiali saluti, [nome]"),
        ("buca in piazza Cavour n. 3/b", "buca in piazza Cavour n. [civico]"),
        ("Via delle Grazie 14 lampione rotto", "Via delle Grazie [civico] lampione rotto"),
        ("chiamatemi al +39 071 222 3344", "chiamatemi al [telefono]"),
        ("oppure 3331234567 grazie", "oppure [telefono] grazie"),
        ("codice fiscale RSSMRA80A01A271X", "codice fiscale [codice fiscale]"),
        ("pratica 1234567 del comune", "pratica [numero] del comune"),
        ("iban IT60X0542811101000000123456 grazie", "iban [iban] grazie"),
        ("IBAN: IT60 X054 2811 1010 0000 0123 456", "IBAN: [iban]"),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sono mario rossi e vorrei un appuntamento", "sono [nome] e vorrei un appuntamento"),
        ("ciao sono giulia, il lampione è rotto", "ciao sono [nome], il lampione è rotto"),
        ("io sono luca e ho un problema", "io sono [nome] e ho un problema"),
        ("mi chiamo giulia", "mi chiamo [nome]"),
        ("cordiali saluti mario rossi", "cordiali saluti [nome]"),
        ("il mio numero è 333 123 4567", "il mio numero è [telefono]"),
        ("cell 333-123-4567 grazie", "cell [telefono] grazie"),
        ("chiamami al 333 - 123 - 4567", "chiamami al [telefono]"),
        ("+39 333 1234567", "[telefono]"),
        ("(+39) 333 1234567", "[telefono]"),
        ("0039 333 1234567 dopo le 18", "[telefono] dopo le 18"),
        ("+39 (0)71 222 3344", "[telefono]"),
    ],
)
def test_lowercase_names_and_spaced_or_dashed_numbers_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "sono stanco di aspettare",
        "sono felice del servizio",
        "sono di Ancona",
        "sono le 10, siete aperti?",
        "aperto dal 03/12/2024 - 05/12/2024",
        "orari 8.30 - 12.30",
        "sono iscritto da anni",
        "SONO ISCRITTO, CANCELLATEMI",
        "il 12/03/2024 alle 9 siete aperti?",
        "Sono Iscritto al memo",
        "la farmacia di turno in via Roma?",
        "ho 3 figli e 2 cani",
        "ok23 ciao come stai oggi",
    ],
)
def test_what_is_not_personal_stays(text: str) -> None:
    assert mask(text) == text


def test_a_log_with_fallbacks_makes_the_expected_inbox() -> None:
    items = inbox_from_events(LOG)
    found = {item.text: (item.suggested_intent, item.reasons, item.occurrences) for item in items}
    assert found == {
        "mi chiamo [nome], il gattile di via Flaminia [civico] è aperto? [telefono]": (
            "ask_opening_hours",
            ("fallback", "ambiguous"),
            2,  # Mario and Anna wrote the same words once masked
        ),
        "la farmacia del porto fa la notte?": ("ask_pharmacy_shift", ("low_confidence",), 2),
        "scrivetemi la mail a [email]": ("subscribe", ("ambiguous",), 1),
        "devo rinnovare la carta d'identità": ("ask_opening_hours", ("handoff",), 1),
        "il cane del vicino abbaia tutta la notte": ("report_problem", ("operator",), 1),
    }
    # Most frequent first, and nothing personal anywhere.
    assert [i.occurrences for i in items] == [2, 2, 1, 1, 1]
    everything = repr(items)
    for personal in ("Mario", "Rossi", "Anna", "Bianchi", "4567", "@example", WHATSAPP, WEB):
        assert personal not in everything
    # The suggestion is the best real intent, never nlu_fallback.
    assert items[0].confidence == 0.41


def test_a_deliberate_handoff_is_not_a_misunderstanding() -> None:
    texts = {item.text for item in inbox_from_events(LOG)}
    assert "voglio parlare con un operatore" not in texts
    assert "/affirm" not in texts and "EXTERNAL_handoff_claimed" not in texts


def test_a_later_handoff_adds_a_reason_without_counting_the_message_twice() -> None:
    events = [
        user(WEB, 1.0, "ma il cimitero?", [("ask_opening_hours", 0.7), ("out_of_scope", 0.2)]),
        action(WEB, 2.0, "action_handoff"),
    ]
    collector = ReviewCollector()
    first, second = (collector.feed(event) for event in events)
    assert [s.reasons for s in first] == [frozenset({"low_confidence"})]
    assert [(s.reasons, s.new) for s in second] == [
        (frozenset({"low_confidence", "handoff"}), False)
    ]
    [item] = inbox_from_events(events)
    assert item.occurrences == 1 and item.reasons == ("low_confidence", "handoff")


def test_similar_messages_are_grouped_with_the_majority_suggestion() -> None:
    events = [
        user(WEB, 1.0, "a che ora apre il cimitero?", [("ask_opening_hours", 0.5), ("x", 0.4)]),
        user(WEB, 2.0, "a che ora apre il cimitero", [("ask_opening_hours", 0.5), ("x", 0.4)]),
        user(WEB, 3.0, "a che ora apre il cimiterooo", [("out_of_scope", 0.5), ("x", 0.4)]),
        user(WEB, 4.0, "quando passa la nettezza urbana", [("report_problem", 0.5), ("x", 0.4)]),
    ]
    groups = group(inbox_from_events(events))
    # The first two are the same words (punctuation apart): one item seen twice.
    assert [[i.occurrences for i in g.items] for g in groups] == [[2, 1], [1]]
    assert groups[0].suggested_intent == "ask_opening_hours"
    assert groups[0].occurrences == 3


def test_memory_is_bounded() -> None:
    collector = ReviewCollector(memory=2)
    for n in range(5):
        collector.feed(user(f"chat-{n}", float(n), "ciao", [("greet", 0.99)]))
    # The oldest conversation is forgotten: its handoff adds nothing.
    assert collector.feed(action("chat-0", 9.0, "action_handoff")) == []
