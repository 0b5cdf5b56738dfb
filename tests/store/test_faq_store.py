"""The FAQ in the store (:mod:`urp.faq.store`), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from threading import Barrier
from typing import Any

import pytest

from tests.store.conftest import START, FixedClock, raw_rows
from tests.store.races import in_threads
from urp.core.db import Database
from urp.faq.entries import ANSWER_LIMIT, DRAFT, PUBLISHED, RETIRED, FaqEntry, FaqEntryError
from urp.faq.store import FaqImport, FaqService

EVERY = (DRAFT, PUBLISHED, RETIRED)
TARI = FaqEntry(
    id="tari-pagamento",
    questions=("Come si paga la TARI?", "Dove pago la tassa sui rifiuti?"),
    answer="La *TARI* si paga con l'avviso pagoPA.\n• online\n• in banca",
    link="https://www.comune.esempio.it/tari",
    topic="tributi",
)
CIE = FaqEntry(
    id="cie",
    questions=("Come faccio la carta d'identità elettronica?",),
    answer="Prenota allo sportello anagrafe.",
    topic="anagrafe",
)
LIBRARY = FaqEntry(
    id="biblioteca-orari", questions=("Orari della biblioteca?",), answer="Dalle 9 alle 19."
)


@pytest.fixture
def faq(database: Database, clock: FixedClock) -> FaqService:
    return FaqService(database, clock=clock)


def content(entries: list[FaqEntry]) -> list[tuple[Any, ...]]:
    return [(e.id, e.questions, e.answer, e.link, e.topic, e.status) for e in entries]


def test_import_adds_then_changes_nothing(faq: FaqService, clock: FixedClock) -> None:
    assert faq.import_entries([TARI, CIE, LIBRARY], by="mario") == FaqImport(3, 0, 0)
    # By topic, entries without one last, then by id.
    assert content(faq.entries()) == content([CIE, TARI, LIBRARY])
    stored = faq.get("tari-pagamento")
    assert stored is not None and stored.same_content(TARI)
    assert (stored.updated_by, stored.updated_at) == ("mario", START)
    assert stored.updated_at is not None and stored.updated_at.utcoffset() == timedelta(0)
    revision = faq.revision()

    clock.advance(hours=1)
    assert faq.import_entries([TARI, CIE, LIBRARY], by="luigi") == FaqImport(0, 0, 3)
    stored = faq.get("tari-pagamento")
    assert stored is not None and (stored.updated_by, stored.updated_at) == ("mario", START)
    assert faq.revision() == revision


def test_an_entry_with_the_same_id_is_replaced(
    faq: FaqService, database: Database, clock: FixedClock
) -> None:
    faq.import_entries([TARI, CIE], by="mario")
    clock.advance(minutes=5)
    new_tari = replace(
        TARI, questions=("Quando scade la TARI?",), answer="Il 16 giugno.", link=None
    )
    assert faq.import_entries([new_tari, LIBRARY], by="luigi") == FaqImport(1, 1, 0)
    stored = faq.get("tari-pagamento")
    assert stored is not None and stored.same_content(new_tari)
    assert (stored.updated_by, stored.updated_at) == ("luigi", START + timedelta(minutes=5))
    assert faq.get("cie") is not None  # entries not in the file stay
    questions = [row for row in raw_rows(database, "faq_questions") if row["entry_id"] == TARI.id]
    assert [(q["position"], q["text"]) for q in questions] == [(1, "Quando scade la TARI?")]
    [row] = [row for row in raw_rows(database, "faq_entries") if row["id"] == TARI.id]
    assert row["created_at"] is not None and row["version"] == 2


def test_the_revision_changes_with_every_change_even_at_the_same_instant(
    faq: FaqService,
) -> None:
    seen = [faq.revision()]

    def changed() -> bool:
        seen.append(faq.revision())
        return seen[-1] not in seen[:-1]

    faq.import_entries([TARI, CIE], by="mario")  # the clock never moves in this test
    assert changed()
    faq.import_entries([replace(TARI, answer="Con pagoPA.")], by="mario")
    assert changed()
    faq.retire("cie", by="mario")
    assert changed()
    faq.retire("cie", by="mario")  # already retired: nothing happens
    assert not changed()
    faq.publish("cie", by="mario")
    assert changed()
    faq.save(replace(LIBRARY, topic="cultura"), by="anna")
    assert changed()
    faq.save(replace(LIBRARY, topic="cultura"), by="anna")
    assert not changed()
    faq.add_draft("Dov'è il mercato?", "In piazza.", by="anna")
    assert changed()
    faq.import_entries([replace(TARI, answer="Con pagoPA."), CIE], by="x")
    assert not changed()


def test_retire_and_publish(faq: FaqService, clock: FixedClock) -> None:
    faq.import_entries([TARI, CIE], by="mario")
    clock.advance(minutes=1)
    faq.retire("tari-pagamento", by="anna")
    assert [e.id for e in faq.entries()] == ["cie"]
    retired = faq.get("tari-pagamento")
    assert retired is not None and retired.status == RETIRED and retired.updated_by == "anna"
    assert [e.id for e in faq.entries((RETIRED,))] == ["tari-pagamento"]
    faq.publish("tari-pagamento", by="mario")
    assert [e.id for e in faq.entries()] == ["cie", "tari-pagamento"]
    with pytest.raises(FaqEntryError, match="la voce non esiste"):
        faq.retire("manca", by="anna")
    with pytest.raises(FaqEntryError, match="la voce non esiste"):
        faq.publish("manca", by="anna")


def test_importing_a_retired_entry_publishes_it_again(faq: FaqService) -> None:
    faq.import_entries([TARI], by="mario")
    faq.retire(TARI.id, by="anna")
    assert faq.import_entries([TARI], by="mario") == FaqImport(0, 1, 0)
    assert [e.id for e in faq.entries()] == [TARI.id]


def test_drafts_from_operators(faq: FaqService, clock: FixedClock) -> None:
    faq.import_entries([TARI], by="mario")
    first = faq.add_draft("  Come si paga la TARI  ", "Con l'F24.", by="anna", topic=" tributi ")
    assert first.id == "come-si-paga-la-tari" and first.status == DRAFT
    assert (first.questions, first.topic, first.updated_by) == (
        ("Come si paga la TARI",),
        "tributi",
        "anna",
    )
    second = faq.add_draft("Come si paga la TARI?", "Con pagoPA.", by="anna")
    third = faq.add_draft("come si paga la tari!", "In banca.", by="anna")
    assert (second.id, third.id) == ("come-si-paga-la-tari-2", "come-si-paga-la-tari-3")
    long = faq.add_draft(
        "Buongiorno, volevo sapere se la biblioteca comunale di via Roma è aperta anche "
        "la domenica pomeriggio",
        "x" * (ANSWER_LIMIT + 50),  # a long reply waits for a trainer to shorten it
        by="anna",
    )
    assert long.id == "buongiorno-volevo-sapere-se-la-biblioteca"
    assert len(long.id) <= 48
    assert faq.add_draft("È?", "Sì.", by="anna").id == "faq"
    # Drafts are not answered, nor listed unless asked for.
    assert [e.id for e in faq.entries()] == [TARI.id]
    assert len(faq.entries((DRAFT,))) == 5
    faq.publish("come-si-paga-la-tari-2", by="mario")
    assert [e.id for e in faq.entries()] == [TARI.id, "come-si-paga-la-tari-2"]  # no topic: last
    with pytest.raises(FaqEntryError, match="al massimo 700"):
        faq.publish(long.id, by="mario")  # too long for one screen: not published
    assert faq.get(long.id).status == DRAFT  # type: ignore[union-attr]
    with pytest.raises(FaqEntryError, match="manca la risposta"):
        faq.add_draft("Domanda", "  ", by="anna")
    with pytest.raises(FaqEntryError, match="non contiene parole"):
        faq.add_draft("???", "Sì.", by="anna")


def test_save_checks_the_entry(faq: FaqService) -> None:
    saved = faq.save(TARI, by="anna")
    assert saved.same_content(TARI) and saved.updated_by == "anna"
    with pytest.raises(FaqEntryError) as raised:
        faq.save(replace(TARI, link="http://x.it", questions=()), by="anna")
    assert raised.value.problems == [
        "serve almeno una domanda in «questions»",
        "il «link» deve essere un indirizzo https://..., non «http://x.it»",
    ]
    assert faq.get(TARI.id).same_content(TARI)  # type: ignore[union-attr]


def test_an_invalid_import_writes_nothing(faq: FaqService) -> None:
    with pytest.raises(FaqEntryError):
        faq.import_entries([TARI, replace(CIE, answer="")], by="mario")
    with pytest.raises(FaqEntryError, match="ripetuto"):
        faq.import_entries([TARI, TARI], by="mario")
    assert faq.entries(EVERY) == []


def test_search_text_ignores_case_and_accents(faq: FaqService) -> None:
    faq.import_entries([TARI, CIE, LIBRARY], by="mario")
    faq.add_draft("Orari del mercato", "Il sabato.", by="anna")
    assert [e.id for e in faq.search_text("IDENTITA")] == ["cie"]
    assert [e.id for e in faq.search_text("tari pagopa")] == ["tari-pagamento"]
    assert [e.id for e in faq.search_text("orari")] == ["biblioteca-orari"]
    assert [e.id for e in faq.search_text("orari", (DRAFT, PUBLISHED))] == [
        "biblioteca-orari",
        "orari-del-mercato",
    ]
    assert len(faq.search_text("")) == 3
    with pytest.raises(ValueError, match="unknown FAQ statuses"):
        faq.entries(("archived",))


def test_two_imports_at_once_end_as_one_after_the_other(database: Database) -> None:
    """Each import is whole: the FAQ ends as one file or the other, never a mixture."""
    ids = [f"voce-{number:02d}" for number in range(40)]

    def version(label: str) -> list[FaqEntry]:
        return [
            FaqEntry(id=i, questions=(f"{label} {i}?", f"altra {i}"), answer=f"{label} {i}.")
            for i in ids
        ]

    files = {"prima": version("prima"), "seconda": version("seconda")}
    labels = iter(files)

    def work(barrier: Barrier) -> list[tuple[str, FaqImport]]:
        label = next(labels)
        service = FaqService(database, clock=FixedClock(START))
        barrier.wait()
        return [(label, service.import_entries(files[label], by=label))]

    results = dict(in_threads(work))
    assert sorted(results.values(), key=lambda r: r.added) == [
        FaqImport(0, 40, 0),
        FaqImport(40, 0, 0),
    ]
    last = next(label for label, result in results.items() if result.replaced == 40)
    stored = FaqService(database).entries()
    assert content(stored) == content(files[last])
    assert {e.updated_by for e in stored} == {last}
    assert len(raw_rows(database, "faq_questions")) == 80
