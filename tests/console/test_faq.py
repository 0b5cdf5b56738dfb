"""The FAQ's pages over real HTTP, on SQLite and PostgreSQL: trainers list, search, add,
edit, retire and publish entries; operators save their replies as drafts; the questions
the FAQ could not answer are listed by the entry nearest to them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from tests.console.harness import Browser, World, console_world
from tests.store.conftest import SALT, raw_rows
from tests.unit.review_log import WEB, WHATSAPP, training_copy, user
from tests.unit.test_review_faq import SURE, faq_outcome
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import Settings
from urp.faq.entries import ANSWER_LIMIT, FaqEntry
from urp.faq.store import FaqService
from urp.review.inbox import FAQ, ReviewCollector
from urp.review.store import ReviewStore

TARI = FaqEntry(
    id="tari-pagamento",
    questions=(
        "Come si paga la TARI?",
        "pagare tassa rifiuti",
        "dove pago la tari",
        "scadenze della tassa sui rifiuti",
    ),
    answer="La *TARI* si paga con il modello F24 che arriva a casa, in due rate.",
    link="https://www.comune.ancona.gov.it/tari",
    topic="tributi",
)
CIE = FaqEntry(
    id="carta-identita",
    questions=("Come faccio la carta d'identità elettronica?", "rinnovo carta identità"),
    answer="Prenota la *CIE* sull'agenda del Ministero e porta una fototessera.",
    topic="anagrafe",
)
LIBRARY = "a che ora apre la biblioteca comunale? sono Mario Rossi 3331234567"
LIBRARY_MASKED = "a che ora apre la biblioteca comunale? sono [nome] [telefono]"
TARI_QUESTION = "la tassa rifiuti dove la pago"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="versione" value="([^"]*)"')


def fill(database: Database) -> ReviewStore:
    FaqService(database).import_entries([TARI, CIE], by="import")
    review = ReviewStore(database, UserHasher(SALT.encode()))
    collector = ReviewCollector()
    events = [
        user(WHATSAPP, 1.0, LIBRARY, SURE),
        faq_outcome(WHATSAPP, 1.1, "none"),
        user(WEB, 2.0, TARI_QUESTION, SURE),
        faq_outcome(WEB, 2.1, "suggestions"),
        # Unsure, but not an FAQ question: it stays in the trainers' inbox only.
        user(WEB, 3.0, "ma il cimitero?", [("ask_opening_hours", 0.5), ("x", 0.4)]),
    ]
    review.record(s for event in events for s in collector.feed(event))
    return review


@pytest.fixture
def world(database: Database, settings: Settings, tmp_path: Path) -> Iterator[World]:
    fill(database)
    training = training_copy(tmp_path / "checkout")
    with console_world(database, settings, training=training) as world:
        yield world


def post(browser: Browser, path: str, form_page: str, **fields: str) -> requests.Response:
    """A form of ``form_page`` sent as it is on the page (CSRF token and version)."""
    page = browser.page(form_page)
    data = {"csrf_token": CSRF.search(page.text).group(1)}  # type: ignore[union-attr]
    version = VERSION.search(page.text)
    if version:
        data["versione"] = version.group(1)
    return browser.post(browser.url(path), data={**data, **fields}, timeout=30)


def test_the_trainer_lists_and_searches_the_entries(world: World) -> None:
    trainer = world.logged_in("tina.verdi")
    assert 'href="/faq"' in trainer.page("/formazione").text
    page = trainer.page("/faq")
    assert page.status_code == 200
    assert "Come si paga la TARI?" in page.text and "Come faccio la carta" in page.text
    assert "<strong>2</strong> pubblicate · 0 bozze da rivedere · 0 ritirate" in page.text
    assert '<a href="/faq/senza-risposta">2 domande senza risposta</a>' in page.text
    # By text (accents and case ignored), by topic, by status.
    found = trainer.page("/faq?q=IDENTITA")
    assert "carta-identita" in found.text and "tari-pagamento" not in found.text
    found = trainer.page("/faq?tema=tributi")
    assert "tari-pagamento" in found.text and "carta-identita" not in found.text
    assert trainer.page("/faq?stato=draft").text.count("data-faq=") == 0
    assert "Nessuna voce corrisponde alla ricerca" in trainer.page("/faq?q=piscina").text


def test_add_edit_retire_and_publish_again(world: World) -> None:
    trainer = world.logged_in("tina.verdi")
    faq = FaqService(world.database)
    page = post(
        trainer,
        "/faq/nuova",
        "/faq/nuova",
        domande="Orari della biblioteca\r\nquando apre la biblioteca\r\n\r\nbiblioteca aperta sabato",
        risposta="La *Biblioteca Benincasa* è aperta dal lunedì al sabato, 9-19.",
        link="https://www.comune.ancona.gov.it/biblioteca",
        tema="cultura",
        azione="pubblica",
    )
    assert page.url == trainer.url("/faq")
    assert "Voce «Orari della biblioteca» aggiunta e pubblicata" in page.text
    entry = faq.get("orari-della-biblioteca")
    assert entry is not None
    assert entry.questions == (
        "Orari della biblioteca",
        "quando apre la biblioteca",
        "biblioteca aperta sabato",
    )
    assert (entry.status, entry.topic, entry.updated_by) == ("published", "cultura", "tina.verdi")

    edit = trainer.page("/faq/voci/orari-della-biblioteca")
    assert "Orari della biblioteca\nquando apre la biblioteca" in edit.text
    assert f"{len(entry.answer)}</span>/{ANSWER_LIMIT} caratteri" in edit.text
    page = post(
        trainer,
        "/faq/voci/orari-della-biblioteca",
        "/faq/voci/orari-della-biblioteca",
        domande="Orari della biblioteca",
        risposta="Aperta dal lunedì al venerdì, 9-19.",
        link="",
        tema="cultura",
        azione="salva",
    )
    assert "Voce «Orari della biblioteca» salvata e pubblicata" in page.text
    entry = faq.get("orari-della-biblioteca")
    assert entry is not None and entry.answer == "Aperta dal lunedì al venerdì, 9-19."
    assert entry.link is None and entry.status == "published"

    page = post(
        trainer, "/faq/voci/orari-della-biblioteca/ritira", "/faq/voci/orari-della-biblioteca"
    )
    assert "ritirata: l&#39;assistente non la usa più" in page.text
    assert faq.get("orari-della-biblioteca").status == "retired"  # type: ignore[union-attr]
    assert "orari-della-biblioteca" not in trainer.page("/faq").text
    assert "orari-della-biblioteca" in trainer.page("/faq?stato=retired").text

    page = post(
        trainer,
        "/faq/voci/orari-della-biblioteca",
        "/faq/voci/orari-della-biblioteca",
        domande="Orari della biblioteca",
        risposta="Aperta dal lunedì al venerdì, 9-19.",
        azione="pubblica",
    )
    assert faq.get("orari-della-biblioteca").status == "published"  # type: ignore[union-attr]


def test_a_wrong_entry_comes_back_with_what_to_fix(world: World) -> None:
    trainer = world.logged_in("tina.verdi")
    long_answer = "parola " * 120
    page = post(
        trainer,
        "/faq/nuova",
        "/faq/nuova",
        domande="Orari piscina comunale",
        risposta=long_answer,
        link="http://piscina.example.org",
        azione="pubblica",
    )
    assert page.status_code == 400
    assert "La voce non è stata salvata" in page.text
    assert f"La risposta ha {len(long_answer.strip())} caratteri: al massimo 700" in page.text
    assert "deve essere un indirizzo https://" in page.text
    # What was typed stays in the form; the counter says it is too long.
    assert "Orari piscina comunale</textarea>" in page.text
    assert 'form-text text-danger fw-semibold"' in page.text
    assert FaqService(world.database).get("orari-piscina-comunale") is None
    # A long draft is kept: someone will shorten it before publishing.
    page = post(
        trainer,
        "/faq/nuova",
        "/faq/nuova",
        domande="Orari piscina comunale",
        risposta=long_answer,
        id="piscina",
        azione="bozza",
    )
    assert "Voce «Orari piscina comunale» aggiunta (bozza)" in page.text
    page = post(trainer, "/faq/voci/piscina/pubblica", "/faq")
    assert "Voce non pubblicata: la risposta ha" in page.text
    assert FaqService(world.database).get("piscina").status == "draft"  # type: ignore[union-attr]
    # An identifier already used is refused, not overwritten.
    page = post(
        trainer,
        "/faq/nuova",
        "/faq/nuova",
        domande="Altro",
        risposta="Altro.",
        id="tari-pagamento",
        azione="pubblica",
    )
    assert page.status_code == 400 and "Esiste già una voce «tari-pagamento»" in page.text
    assert FaqService(world.database).get("tari-pagamento").answer == TARI.answer  # type: ignore[union-attr]


def test_an_edit_over_someone_elses_is_refused(world: World) -> None:
    trainer = world.logged_in("tina.verdi")
    form = trainer.page("/faq/voci/tari-pagamento")
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    stale = VERSION.search(form.text).group(1)  # type: ignore[union-attr]
    faq = FaqService(world.database)
    faq.save(replace(TARI, answer="Nuova risposta del collega."), by="ada")
    page = trainer.post(
        trainer.url("/faq/voci/tari-pagamento"),
        data={
            "csrf_token": token,
            "versione": stale,
            "domande": "Come si paga la TARI?",
            "risposta": "La mia versione.",
            "azione": "salva",
        },
        timeout=30,
    )
    assert page.status_code == 409
    assert "Nel frattempo ada ha modificato questa voce" in page.text
    assert faq.get("tari-pagamento").answer == "Nuova risposta del collega."  # type: ignore[union-attr]


def test_operators_are_not_let_in_and_forms_need_the_token(world: World) -> None:
    operator = world.logged_in("mario.rossi")
    for path in ("/faq", "/faq/nuova", "/faq/senza-risposta", "/faq/voci/tari-pagamento"):
        assert operator.page(path).status_code == 403, path
    token = CSRF.search(operator.page("/").text).group(1)  # type: ignore[union-attr]
    refused = operator.post(
        operator.url("/faq/voci/tari-pagamento/ritira"), data={"csrf_token": token}, timeout=30
    )
    assert refused.status_code == 403
    assert 'href="/faq"' not in operator.page("/").text

    trainer = world.logged_in("tina.verdi")
    forged = trainer.post(
        trainer.url("/faq/voci/tari-pagamento/ritira"),
        data={"csrf_token": "forged"},
        timeout=30,
    )
    assert forged.status_code == 403 and "Pagina scaduta" in forged.text
    forged = trainer.post(
        trainer.url("/faq/nuova"),
        data={"domande": "Domanda", "risposta": "Risposta.", "azione": "pubblica"},
        timeout=30,
    )
    assert forged.status_code == 403
    faq = FaqService(world.database)
    assert faq.get("tari-pagamento").status == "published"  # type: ignore[union-attr]
    assert faq.get("domanda") is None
    assert world.browser().page("/faq").url.startswith(world.base + "/login")
    assert trainer.page("/faq/voci/non-esiste").status_code == 404


def test_an_operator_reply_becomes_a_masked_draft_a_trainer_publishes(world: World) -> None:
    question = "Buongiorno, sono Giulia Bianchi, il centro estivo quando apre? 3339876543"
    world.handoffs.add_message(world.handoff.id, "citizen", question)
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    mario.submit(f"{chat}/claim", "/")
    answer = (
        "Gentile Sig. Bianchi, il centro estivo apre il 16 giugno: iscrizioni allo 071 222 3344."
    )
    mario.submit(f"{chat}/reply", chat, text=answer)
    reply = world.handoffs.messages(world.handoff.id)[-1]
    page = mario.page(chat)
    assert f'action="{chat}/messages/{reply.id}/faq"' in page.text
    assert "Salva come FAQ (bozza)" in page.text
    # Only next to the operator's replies.
    assert page.text.count("Salva come FAQ (bozza)<span") == 1

    page = mario.submit(f"{chat}/messages/{reply.id}/faq", chat)
    assert page.url == mario.url(f"{chat}#messaggio-{reply.id}")
    masked = "Buongiorno, sono [nome], il centro estivo quando apre? [telefono]"
    assert f"Salvata come bozza FAQ: «{masked}»" in page.text
    [draft] = FaqService(world.database).entries(("draft",))
    assert draft.questions == (masked,)
    # The citizen's name is out of the answer; the office's number stays.
    assert draft.answer == (
        "Gentile Sig. [nome], il centro estivo apre il 16 giugno: iscrizioni allo 071 222 3344."
    )
    assert draft.updated_by == "mario.rossi"
    # Twice is once.
    page = mario.submit(f"{chat}/messages/{reply.id}/faq", chat)
    assert "Questa risposta è già tra le bozze delle FAQ" in page.text
    assert len(FaqService(world.database).entries(("draft",))) == 1
    # A citizen's message is not an answer; a message of another chat is not found.
    citizen = world.handoffs.messages(world.handoff.id)[0]
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    wrong = mario.post(
        mario.url(f"{chat}/messages/{citizen.id}/faq"), data={"csrf_token": token}, timeout=30
    )
    assert wrong.status_code == 404

    trainer = world.logged_in("tina.verdi")
    drafts = trainer.page("/faq?stato=draft")
    assert masked in drafts.text and "Giulia" not in drafts.text
    page = post(trainer, f"/faq/voci/{draft.id}/pubblica", "/faq?stato=draft")
    assert f"Voce «{masked}» pubblicata" in page.text
    assert FaqService(world.database).get(draft.id).status == "published"  # type: ignore[union-attr]
    stored = repr(raw_rows(world.database, "faq_entries"))
    stored += repr(raw_rows(world.database, "faq_questions"))
    for personal in ("Giulia", "Bianchi", "9876543", WHATSAPP):
        assert personal not in stored


def test_no_draft_button_without_the_faq(database: Database, settings: Settings) -> None:
    with console_world(database, settings) as world:
        mario = world.logged_in("mario.rossi")
        chat = f"/handoffs/{world.handoff.id}"
        mario.submit(f"{chat}/claim", "/")
        mario.submit(f"{chat}/reply", chat, text="Le rispondo subito.")
        reply = world.handoffs.messages(world.handoff.id)[-1]
        page = mario.page(chat)
        assert "Salva come FAQ" not in page.text
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        refused = mario.post(
            mario.url(f"{chat}/messages/{reply.id}/faq"), data={"csrf_token": token}, timeout=30
        )
        assert refused.status_code in (404, 405)


def test_questions_the_faq_missed_are_grouped_and_become_entries(world: World) -> None:
    trainer = world.logged_in("tina.verdi")
    # They are in the trainers' inbox too, with their reason.
    inbox = trainer.page("/formazione")
    assert LIBRARY_MASKED in inbox.text and "domanda senza risposta nelle FAQ" in inbox.text
    page = trainer.page("/faq/senza-risposta")
    assert page.status_code == 200
    assert "<strong>2</strong> domande da guardare" in page.text
    assert "Nessuna voce: 1 domanda" in page.text
    assert "Vicine a «Come si paga la TARI?»: 1 domanda" in page.text
    assert LIBRARY_MASKED in page.text and TARI_QUESTION in page.text
    assert "Mario" not in page.text and "3331234567" not in page.text
    assert "ma il cimitero?" not in page.text

    review = ReviewStore(world.database, UserHasher(SALT.encode()))
    ids = {item.text: item.id for item in review.open_items(reason=FAQ)}
    # Near an entry: the question joins it.
    form = trainer.page(f"/faq/voci/tari-pagamento?da={ids[TARI_QUESTION]}")
    assert f"scadenze della tassa sui rifiuti\n{TARI_QUESTION}</textarea>" in form.text
    post(
        trainer,
        "/faq/voci/tari-pagamento",
        f"/faq/voci/tari-pagamento?da={ids[TARI_QUESTION]}",
        domande="\n".join([*TARI.questions, TARI_QUESTION]),
        risposta=TARI.answer,
        link=TARI.link or "",
        tema="tributi",
        da=str(ids[TARI_QUESTION]),
        azione="salva",
    )
    entry = FaqService(world.database).get("tari-pagamento")
    assert entry is not None and entry.questions[-1] == TARI_QUESTION
    # Near none: a new entry from it.
    form = trainer.page(f"/faq/nuova?da={ids[LIBRARY_MASKED]}")
    assert f">{LIBRARY_MASKED}</textarea>" in form.text
    post(
        trainer,
        "/faq/nuova",
        f"/faq/nuova?da={ids[LIBRARY_MASKED]}",
        domande="Orari della biblioteca comunale\na che ora apre la biblioteca comunale?",
        risposta="Aperta dal lunedì al sabato, 9-19.",
        da=str(ids[LIBRARY_MASKED]),
        azione="pubblica",
    )
    page = trainer.page("/faq/senza-risposta")
    assert "<strong>0</strong> domande da guardare" in page.text
    assert review.open_items(reason=FAQ) == []
    decided = {r["text"]: r["decided_by"] for r in raw_rows(world.database, "review_items")}
    assert decided[LIBRARY_MASKED] == decided[TARI_QUESTION] == "tina.verdi"


def test_a_question_can_be_taken_off_the_list(world: World) -> None:
    trainer = world.logged_in("tina.verdi")
    review = ReviewStore(world.database, UserHasher(SALT.encode()))
    number = next(i.id for i in review.open_items(reason=FAQ) if i.text == LIBRARY_MASKED)
    page = post(trainer, f"/faq/senza-risposta/{number}/scarta", "/faq/senza-risposta")
    assert "Domanda tolta dall&#39;elenco" in page.text
    assert f'id="domanda-{number}"' not in page.text
    page = post(trainer, f"/faq/senza-risposta/{number}/scarta", "/faq/senza-risposta")
    assert "è già stato deciso" in page.text
