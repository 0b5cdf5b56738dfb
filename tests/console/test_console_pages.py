"""The pages that replace the command line: operators and permissions, quick replies,
statistics with charts, exports and the citizens' ratings, over real HTTP."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.console.harness import PASSWORD, PHONE, Browser, World
from urp.core.models import AuditEvent
from urp.core.settings import Settings
from urp.handoff.operators import OperatorService
from urp.handoff.quick_replies import QuickReplyService
from urp.handoff.ratings import QUESTION, RatingService

ADMIN = "ada.neri"
TEMPORARY = re.compile(r'<p class="password-temporanea"><code>([^<]+)</code></p>')


@pytest.fixture
def ada(world: World) -> Browser:
    world.operators.add(ADMIN, "Ada Neri", PASSWORD, "admin")
    return world.logged_in(ADMIN)


def audited(world: World, action: str) -> list[AuditEvent]:
    with world.database.transaction() as session:
        return list(
            session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars()
        )


def rows(response_text: str) -> list[list[str]]:
    assert response_text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(response_text[1:]), delimiter=";"))


# -- operators ---------------------------------------------------------------------------------


def test_an_admin_adds_an_operator_who_logs_in_with_the_temporary_password(
    world: World, ada: Browser
) -> None:
    page = ada.submit(
        "/operators", "/operators", username="Gino.Blu", name="Gino Blu", role="operator"
    )
    assert "Operatore aggiunto" in page.text and "gino.blu" in page.text
    password = TEMPORARY.search(page.text)
    assert password, page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert world.browser().log_in("gino.blu", password.group(1)).url.endswith("/account")
    assert [e.detail for e in audited(world, "operator_added")] == ["operatore gino.blu (operator)"]
    # The same username again: refused, said why.
    again = ada.submit(
        "/operators", "/operators", username="gino.blu", name="Gino Blu", role="operator"
    )
    assert "Esiste già un operatore" in again.text


def test_an_admin_disables_and_enables_an_account_and_changes_its_role(
    world: World, ada: Browser
) -> None:
    mario = world.logged_in("mario.rossi")
    page = ada.submit("/operators/mario.rossi/active", "/operators", active="0")
    assert "Mario Rossi è disattivato" in page.text
    assert "/login" in mario.page("/").url  # the open session ended
    assert world.browser().log_in("mario.rossi").url.endswith("/login")
    ada.submit("/operators/mario.rossi/active", "/operators", active="1")
    assert world.browser().log_in("mario.rossi").url.endswith("/")
    page = ada.submit("/operators/mario.rossi/role", "/operators", role="trainer")
    assert "Mario Rossi ora è formatore." in page.text
    assert world.operators.get("mario.rossi").role == "trainer"  # type: ignore[union-attr]
    assert len(audited(world, "operator_disabled")) == len(audited(world, "role_changed")) == 1


def test_an_admin_cannot_lock_themselves_out(world: World, ada: Browser) -> None:
    page = ada.submit(f"/operators/{ADMIN}/active", "/operators", active="0")
    assert "Non puoi disattivare il tuo account." in page.text
    page = ada.submit(f"/operators/{ADMIN}/role", "/operators", role="operator")
    assert "Non puoi togliere a te stesso il ruolo" in page.text
    assert world.operators.get(ADMIN).role == "admin"  # type: ignore[union-attr]


def test_a_temporary_password_ends_the_sessions_of_the_account(world: World, ada: Browser) -> None:
    lucia = world.logged_in("lucia.bianchi")
    page = ada.submit("/operators/lucia.bianchi/temporary", "/operators")
    password = TEMPORARY.search(page.text)
    assert password and "Le sessioni di Lucia Bianchi sono state chiuse" in page.text
    assert "/login" in lucia.page("/").url
    assert world.browser().log_in("lucia.bianchi", password.group(1)).url.endswith("/account")


def test_only_admins_manage_accounts(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    csrf = mario.csrf("/")
    for path in ("/operators", "/operators/lucia.bianchi/active", "/operators/lucia.bianchi/role"):
        refused = mario.post(
            mario.url(path),
            data={"csrf_token": csrf, "username": "x.y.z", "name": "X", "role": "admin"},
            timeout=30,
        )
        assert refused.status_code == 403, path
    assert OperatorService(world.database).get("x.y.z") is None


# -- quick replies -----------------------------------------------------------------------------


def test_operators_add_edit_reorder_and_delete_quick_replies(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    page = mario.submit(
        "/risposte-rapide",
        "/risposte-rapide",
        title="Orari anagrafe",
        text="L'anagrafe è aperta dal lunedì al venerdì, 9-12.",
    )
    assert "Risposta rapida «Orari anagrafe» aggiunta in fondo." in page.text
    replies = QuickReplyService(world.database)
    added = replies.list()[-1]
    assert [r.title for r in replies.list()] == ["Piattaforma segnalazioni", "Orari anagrafe"]
    mario.submit(f"/risposte-rapide/{added.id}/sposta", "/risposte-rapide", direzione="su")
    assert [r.title for r in replies.list()] == ["Orari anagrafe", "Piattaforma segnalazioni"]
    edit = f"/risposte-rapide/{added.id}"
    assert "Modifica «Orari anagrafe»" in mario.page(edit).text
    mario.submit(edit, edit, title="Orari dell'anagrafe", text="Dal lunedì al venerdì, 9-12.")
    assert replies.get(added.id).title == "Orari dell'anagrafe"
    # The compose box of a chat offers it.
    chat = f"/handoffs/{world.handoff.id}"
    assert "Orari dell&#39;anagrafe" in mario.submit(f"{chat}/claim", chat).text
    duplicate = mario.submit(
        "/risposte-rapide", "/risposte-rapide", title="Piattaforma segnalazioni", text="x"
    )
    assert "Esiste già una risposta rapida" in duplicate.text
    empty = mario.submit("/risposte-rapide", "/risposte-rapide", title=" ", text="x")
    assert "il titolo deve avere" in empty.text.lower()
    page = mario.submit(f"/risposte-rapide/{added.id}/elimina", "/risposte-rapide")
    assert "eliminata" in page.text
    assert [r.title for r in replies.list()] == ["Piattaforma segnalazioni"]


def test_a_trainer_does_not_see_quick_replies_nor_statistics(world: World) -> None:
    browser = world.browser()
    browser.log_in("tina.verdi")
    for path in ("/risposte-rapide", "/statistiche/conversazioni", "/valutazioni"):
        assert browser.page(path).status_code == 403, path


# -- statistics, ratings and exports ------------------------------------------------------------


def rated_chat(world: World, stars: str, comment: str | None = None) -> None:
    """Mario answers the chat and resolves it; the citizen rates it."""
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    mario.submit(f"{chat}/claim", chat)
    mario.submit(f"{chat}/reply", chat, text="Le ho mandato il modulo.")
    mario.submit(f"{chat}/resolve", chat)
    assert ("say", PHONE, QUESTION) in world.rasa.calls
    ratings = RatingService(world.database)
    assert ratings.answer(PHONE, stars) is not None
    if comment:
        ratings.answer(PHONE, "Scrivi un commento")
        ratings.answer(PHONE, comment)


def test_the_handoff_statistics_have_charts_tables_and_no_phone_number(world: World) -> None:
    rated_chat(world, "5")
    mario = world.logged_in("mario.rossi")
    page = mario.page("/statistiche")
    assert page.url.endswith("/statistiche/conversazioni")
    assert "<strong>1</strong> conversazioni" in page.text
    assert page.text.count('<svg class="grafico"') == 2
    assert 'role="img"' in page.text and "<desc" in page.text
    assert '<th scope="row">WhatsApp</th>' in page.text
    assert PHONE not in page.text
    wrong = mario.page("/statistiche/conversazioni?dal=2026-12-10&al=2026-12-01")
    assert "La data di fine viene prima dell&#39;inizio" in wrong.text


def test_the_subscriber_statistics_show_the_monthly_growth(world: World) -> None:
    page = world.logged_in("mario.rossi").page("/statistiche/iscritti")
    assert "Crescita mese per mese" in page.text
    assert "Nessun iscritto finora." in page.text
    assert page.text.count('<svg class="grafico"') == 2


def test_the_ratings_page_shows_the_average_and_the_comments(world: World) -> None:
    rated_chat(world, "4", "Risposta chiara, grazie")
    page = world.logged_in("mario.rossi").page("/valutazioni?per=mese")
    assert "4,0 su 5" in page.text
    assert "1 su 1 chat (100%)" in page.text
    assert "Risposta chiara, grazie" in page.text
    assert f"{date.today():%Y}" in page.text


def test_exports_without_numbers_for_operators_with_numbers_only_for_an_audited_admin(
    world: World, ada: Browser
) -> None:
    rated_chat(world, "3")
    mario = world.logged_in("mario.rossi")
    plain = mario.submit("/esportazioni/conversazioni.csv", "/esportazioni")
    assert plain.headers["Content-Type"].startswith("text/csv")
    table = rows(plain.text)
    assert table[0][:3] == ["numero", "canale", "stato"] and table[0][-1] == "voto"
    assert table[1][1:3] == ["WhatsApp", "chiusa"] and table[1][-1] == "3"
    assert PHONE not in plain.text
    refused = mario.post(
        mario.url("/esportazioni/conversazioni.csv"),
        data={"csrf_token": mario.csrf("/esportazioni"), "numeri": "1"},
        timeout=30,
    )
    assert refused.status_code == 403
    assert "Includi i numeri di telefono" not in mario.page("/esportazioni").text
    assert "Includi i numeri di telefono" in ada.page("/esportazioni").text
    numbers = ada.submit("/esportazioni/conversazioni.csv", "/esportazioni", numeri="1")
    # "+39...": written as text, never read as a formula.
    assert rows(numbers.text)[1][-1] == "'" + PHONE
    [event] = audited(world, "export_handoff_numbers")
    assert event.operator == ADMIN and event.detail.startswith("1 conversazioni con il numero")


def test_the_statistics_files(world: World, settings: Settings) -> None:
    rated_chat(world, "5")
    mario = world.logged_in("mario.rossi")
    # The office's day, not the machine's: from 23:00 UTC it is already tomorrow in Rome.
    today = datetime.now(settings.timezone).date()
    daily = rows(mario.page("/esportazioni/conversazioni-per-giorno.csv").text)
    assert daily[0] == ["giorno", "conversazioni"] and daily[-1] == [f"{today:%d/%m/%Y}", "1"]
    times = rows(mario.page("/esportazioni/tempi-per-canale.csv").text)
    assert [row[0] for row in times[1:]] == ["Tutti i canali", "WhatsApp"]
    ratings = rows(mario.page("/esportazioni/valutazioni.csv?per=mese").text)
    assert ratings[-1][2:] == ["1", "5,0"]
    assert rows(mario.page("/esportazioni/iscritti-per-mese.csv").text) == [
        ["mese", "nuovi", "cancellati", "saldo", "attivi a fine mese"]
    ]
