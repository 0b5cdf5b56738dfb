"""The trainers' pages over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.console.harness import World, console_world
from tests.store.conftest import SALT, raw_rows
from tests.unit.review_log import LOG, WHATSAPP, training_copy
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import Settings
from urp.nlu.data import read_examples
from urp.review.inbox import ReviewCollector
from urp.review.store import ReviewStore
from urp.review.training import TrainingData

FARMACIA = "la farmacia del porto fa la notte?"


def fill_inbox(database: Database) -> ReviewStore:
    store = ReviewStore(database, UserHasher(SALT.encode()))
    collector = ReviewCollector()
    store.record(s for event in LOG for s in collector.feed(event))
    return store


@pytest.fixture
def training(tmp_path: Path) -> TrainingData:
    return training_copy(tmp_path / "checkout")


@pytest.fixture
def world(database: Database, settings: Settings, training: TrainingData) -> Iterator[World]:
    fill_inbox(database)
    with console_world(database, settings, training=training) as world:
        yield world


def item_id(database: Database, text: str) -> int:
    return next(r["id"] for r in raw_rows(database, "review_items") if r["text"] == text)


def test_the_trainer_sees_the_masked_inbox_grouped(world: World) -> None:
    browser = world.logged_in("tina.verdi")
    page = browser.page("/formazione")
    assert page.status_code == 200
    assert "Casella dei formatori" in page.text
    assert "<strong>5</strong> da rivedere" in page.text
    assert "mi chiamo [nome], il gattile di via Flaminia [civico] è aperto? [telefono]" in page.text
    assert "Gruppo 1: 2 messaggi" in page.text
    assert "non capito, incerto tra due intent" in page.text
    for personal in ("Mario", "Rossi", "4567", "anna@example", WHATSAPP):
        assert personal not in page.text
    # Never a conversation: no transcript of the handed-over chat, no operator's reply.
    assert "Vorrei parlare con una persona" not in page.text
    assert "Polizia Locale" not in page.text
    # The suggestion is preselected, with what the intent means.
    assert (
        '<option value="ask_pharmacy_shift" selected>ask_pharmacy_shift (farmacie di turno)'
        in page.text
    )
    # The navigation leads here from the landing page.
    landing = browser.page("/")
    assert 'href="/formazione"' in landing.text


def test_label_an_item_and_it_leaves_the_inbox(world: World, training: TrainingData) -> None:
    browser = world.logged_in("tina.verdi")
    number = item_id(world.database, FARMACIA)
    page = browser.submit(
        f"/formazione/{number}",
        "/formazione",
        testo=FARMACIA,
        intent="ask_pharmacy_shift",
        azione="aggiungi",
    )
    assert page.url == browser.url("/formazione")
    assert "Aggiunto come esempio di ask_pharmacy_shift in data/nlu/pharmacy.yml" in page.text
    assert f'id="messaggio-{number}"' not in page.text
    assert "<strong>4</strong> da rivedere · 1 aggiunto agli esempi · 0 scartati" in page.text
    assert FARMACIA in [ex.plain for ex in read_examples(training.nlu_dir / "pharmacy.yml")]
    audit = [(a["operator"], a["action"]) for a in raw_rows(world.database, "audit_events")]
    assert ("tina.verdi", "review_added") in audit


def test_a_duplicate_is_refused_and_stays_in_the_inbox(
    world: World, training: TrainingData
) -> None:
    browser = world.logged_in("tina.verdi")
    number = item_id(world.database, FARMACIA)
    before = (training.nlu_dir / "smalltalk.yml").read_text(encoding="utf-8")
    page = browser.submit(
        f"/formazione/{number}",
        "/formazione",
        testo="grazie mille",
        intent="thank",
        azione="aggiungi",
    )
    assert "Esempio non aggiunto. Esempio già presente in smalltalk.yml" in page.text
    assert f'id="messaggio-{number}"' in page.text
    assert (training.nlu_dir / "smalltalk.yml").read_text(encoding="utf-8") == before


def test_out_of_scope_and_discard(world: World, training: TrainingData) -> None:
    browser = world.logged_in("tina.verdi")
    dog = item_id(world.database, "il cane del vicino abbaia tutta la notte")
    page = browser.submit(
        f"/formazione/{dog}",
        "/formazione",
        testo="il cane del vicino abbaia tutta la notte",
        intent="greet",
        azione="fuori_ambito",
    )
    assert "esempio di out_of_scope in data/nlu/out_of_scope.yml" in page.text
    mail = item_id(world.database, "scrivetemi la mail a [email]")
    page = browser.submit(f"/formazione/{mail}", "/formazione", azione="scarta")
    assert "Messaggio scartato." in page.text
    assert "<strong>3</strong> da rivedere · 1 aggiunto agli esempi · 1 scartato" in page.text
    again = browser.submit(f"/formazione/{mail}", "/formazione", azione="scarta")
    assert "è già stato deciso" in again.text


def test_the_export_is_rasa_nlu_yaml(world: World) -> None:
    browser = world.logged_in("tina.verdi")
    response = browser.get(browser.url("/formazione/esporta"), timeout=120)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    content = yaml.safe_load(response.text)
    assert content["version"] == "3.1"
    assert {block["intent"] for block in content["nlu"]} >= {"ask_pharmacy_shift"}


def test_operators_are_not_let_in_and_forms_need_the_token(world: World) -> None:
    operator = world.logged_in("mario.rossi")
    assert operator.page("/formazione").status_code == 403
    assert operator.page("/formazione/esporta").status_code == 403
    assert "Casella dei formatori" not in operator.page("/").text
    number = item_id(world.database, FARMACIA)
    trainer = world.logged_in("tina.verdi")
    forged = trainer.post(
        trainer.url(f"/formazione/{number}"),
        data={"csrf_token": "forged", "azione": "scarta"},
        timeout=120,
    )
    assert forged.status_code == 403
    anonymous = world.browser().page("/formazione")
    assert anonymous.url.startswith(world.base + "/login")
    assert [r["status"] for r in raw_rows(world.database, "review_items")].count("open") == 5


def test_an_admin_may_train(world: World) -> None:
    world.operators.add("ada.neri", "Ada Neri", "password-di-prova", "admin")
    admin = world.logged_in("ada.neri")
    page = admin.page("/formazione")
    assert page.status_code == 200 and 'href="/formazione"' in page.text


@pytest.mark.parametrize("action", ["aggiungi", "fuori_ambito"])
def test_an_emptied_text_is_refused_not_replaced_by_the_original(
    world: World, training: TrainingData, action: str
) -> None:
    browser = world.logged_in("tina.verdi")
    number = item_id(world.database, FARMACIA)
    files = {path.name: path.read_text(encoding="utf-8") for path in training.nlu_dir.glob("*.yml")}
    page = browser.submit(
        f"/formazione/{number}",
        "/formazione",
        testo="   ",
        intent="ask_pharmacy_shift",
        azione=action,
    )
    assert "Esempio non aggiunto: il testo è vuoto." in page.text
    assert f'id="messaggio-{number}"' in page.text
    assert "<strong>5</strong> da rivedere" in page.text
    assert {
        path.name: path.read_text(encoding="utf-8") for path in training.nlu_dir.glob("*.yml")
    } == files
