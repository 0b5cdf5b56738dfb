"""An operator's day in Chromium (issue 26), from login to a resolved chat with a note, a
transfer and a rating, by keyboard and mouse only: an admin adds a colleague, takes a
citizen's chat from the queue, answers with a quick reply, leaves a note and passes the chat
on; the colleague logs in with the temporary password, lands on «Il tuo account» and must
change it before seeing the queue, then answers and closes; the
citizen rates the chat (through :meth:`RatingService.answer`, as the channels' gate does);
the admin reads the rating, the chat's trail and finds it in the history. axe finds no
serious or critical violation on any page visited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.checks import serious_violations
from tests.console.harness import PASSWORD, PHONE, QUICK_REPLY, World, transcript_line
from urp.core.clock import utc_now
from urp.core.settings import Settings
from urp.handoff.queue import HandoffService
from urp.handoff.ratings import (
    ASK_COMMENT,
    QUESTION,
    THANKS_COMMENT,
    THANKS_OFFER,
    RatingService,
)

pytestmark = pytest.mark.browser

ADMIN, ADMIN_NAME = "ada.neri", "Ada Neri"
COLLEAGUE, COLLEAGUE_NAME = "paolo.gialli", "Paolo Gialli"
NEW_PASSWORD = "una-password-tutta-mia"
CITIZEN = "+393339876543"
QUESTION_TEXT = "Il mio passaporto è scaduto: come lo rinnovo?"
NOTE = "Ha già l'appuntamento in Questura, serve solo la lista dei documenti."
HANDOVER = "Te la lascio: i passaporti li segui tu."
COMMENT = "Gentilissimi, mi hanno spiegato tutto."


def new_page(browser: Browser) -> Page:
    """A browser window of its own (cookies included), at a desk's width."""
    context = browser.new_context(locale="it-IT", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def log_in(page: Page, base: str, username: str, password: str, landing: str = "/") -> None:
    page.goto(base + "/login")
    accessible(page)
    page.get_by_label("Nome utente").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(base + landing)


def accessible(page: Page) -> None:
    """No serious or critical axe violation on the page as it is now."""
    page.wait_for_load_state("load")
    assert serious_violations(page) == [], page.url


def test_from_login_to_a_rated_chat_with_a_note_and_a_transfer(
    world: World, browser: Browser, settings: Settings
) -> None:
    world.operators.add(ADMIN, ADMIN_NAME, PASSWORD, "admin")
    # A citizen has been waiting for 12 minutes on WhatsApp.
    twelve_minutes_ago = HandoffService(
        world.database, settings, clock=lambda: utc_now() - timedelta(minutes=12)
    )
    handoff, _ = twelve_minutes_ago.open(
        CITIZEN,
        "whatsapp",
        "request",
        [
            transcript_line("citizen", "Vorrei parlare con una persona", 13),
            transcript_line("bot", "Ti passo a un operatore dell'URP.", 12),
        ],
    )
    world.handoffs.add_message(handoff.id, "citizen", QUESTION_TEXT)
    chat_url = f"{world.base}/handoffs/{handoff.id}"

    # -- the admin adds a colleague: the temporary password is shown once ----------------
    ada = new_page(browser)
    log_in(ada, world.base, ADMIN, PASSWORD)
    ada.get_by_role("link", name="Operatori", exact=True).click()
    expect(ada.get_by_role("heading", name="Operatori")).to_be_visible()
    accessible(ada)
    ada.get_by_label("Nome e cognome").fill(COLLEAGUE_NAME)
    ada.get_by_label("Nome utente").fill(COLLEAGUE)
    ada.get_by_label("Ruolo", exact=True).select_option(label="operatore")
    ada.get_by_role("button", name="Aggiungi l'operatore").click()
    expect(ada.get_by_role("heading", name="Operatore aggiunto")).to_be_visible()
    accessible(ada)
    temporary = ada.locator(".password-temporanea code").inner_text()
    assert len(temporary) >= 10
    ada.get_by_role("link", name="Torna agli operatori").click()
    expect(ada.locator(f'tr[data-operator="{COLLEAGUE}"]')).to_contain_text("mai entrato")
    assert temporary not in ada.content()

    # -- the queue: channel, waiting time and the citizen's last message ------------------
    ada.get_by_role("link", name="Conversazioni", exact=True).click()
    row = ada.get_by_role("row", name=f"Conversazione n. {handoff.id}")
    expect(row).to_contain_text("WhatsApp")
    expect(row).to_contain_text(re.compile(r"in attesa da 1[2-4] min"))
    expect(row).to_contain_text(f"«{QUESTION_TEXT}»")
    accessible(ada)
    assert CITIZEN.lstrip("+") not in ada.content()
    row.get_by_role("button", name="Prendi in carico").click()
    ada.wait_for_url(chat_url)
    expect(ada.get_by_text("La conversazione è affidata a te")).to_be_visible()
    expect(ada.locator(".message-citizen").last).to_contain_text(QUESTION_TEXT)
    accessible(ada)

    # A reply with a quick reply, sent with Ctrl+Enter.
    ada.get_by_label("La tua risposta al cittadino").fill("Buongiorno, ci penso io.")
    ada.get_by_label("Risposta rapida").select_option(label=QUICK_REPLY.title)
    reply = f"Buongiorno, ci penso io.\n\n{QUICK_REPLY.text}"
    expect(ada.get_by_label("La tua risposta al cittadino")).to_have_value(reply)
    ada.get_by_label("La tua risposta al cittadino").press("Control+Enter")
    answer = ada.locator(".message-operator").last
    expect(answer).to_contain_text(QUICK_REPLY.text)
    expect(answer).to_contain_text("consegnato")
    assert ("say", CITIZEN, reply) in world.rasa.calls

    # An internal note, which the citizen never gets.
    ada.get_by_label("Nota interna", exact=True).fill(NOTE)
    ada.get_by_role("button", name="Aggiungi la nota").click()
    expect(ada.locator(".alert-success")).to_contain_text("Nota interna aggiunta")
    note = ada.locator(".message-note").last
    expect(note).to_contain_text(f"Nota interna di {ADMIN_NAME}")
    expect(note).to_contain_text(NOTE)
    assert not [call for call in world.rasa.calls if NOTE in str(call)]
    accessible(ada)

    # The transfer to the new colleague, with a word for them.
    ada.get_by_label("Collega", exact=True).select_option(label=COLLEAGUE_NAME)
    ada.get_by_label("Messaggio per il collega (facoltativo)").fill(HANDOVER)
    ada.get_by_role("button", name="Passa la conversazione").click()
    ada.wait_for_url(world.base + "/")
    expect(ada.locator(".alert-success")).to_contain_text(
        f"Conversazione n. {handoff.id} passata a {COLLEAGUE_NAME}."
    )
    expect(ada.get_by_role("row", name=f"Conversazione n. {handoff.id}")).to_contain_text(
        COLLEAGUE_NAME
    )
    accessible(ada)

    # -- the colleague: first login with the temporary password, then their own ----------
    paolo = new_page(browser)
    log_in(paolo, world.base, COLLEAGUE, temporary, landing="/account")
    expect(paolo.get_by_role("heading", name="Il tuo account")).to_be_visible()
    expect(paolo.get_by_role("alert")).to_contain_text("Scegli una nuova password per continuare")
    accessible(paolo)
    # The queue waits for the new password: «Conversazioni» leads back here.
    paolo.goto(world.base + "/")
    paolo.wait_for_url(world.base + "/account")
    assert QUESTION_TEXT not in paolo.content()
    paolo.get_by_label("Password attuale").fill(temporary)
    paolo.get_by_label("Nuova password", exact=True).fill(NEW_PASSWORD)
    paolo.get_by_label("Ripeti la nuova password").fill(NEW_PASSWORD)
    paolo.get_by_role("button", name="Cambia la password").click()
    expect(paolo.locator(".alert-success")).to_contain_text("Ora puoi usare la console")
    expect(paolo.get_by_role("alert")).to_have_count(0)
    assert world.operators.authenticate(COLLEAGUE, NEW_PASSWORD) is not None
    assert world.operators.authenticate(COLLEAGUE, temporary) is None

    paolo.get_by_role("link", name="Conversazioni", exact=True).click()
    paolo.get_by_role("link", name=f"Rispondi alla conversazione n. {handoff.id}").click()
    paolo.wait_for_url(chat_url)
    expect(paolo.get_by_text("La conversazione è affidata a te")).to_be_visible()
    notes = paolo.locator(".message-note")
    expect(notes.filter(has_text=NOTE)).to_contain_text(f"Nota interna di {ADMIN_NAME}")
    expect(notes.filter(has_text=HANDOVER)).to_contain_text(
        f"Nota interna di {ADMIN_NAME} per {COLLEAGUE_NAME}"
    )
    expect(paolo.locator(".message-operator").first).to_contain_text(QUICK_REPLY.text)
    accessible(paolo)
    paolo.get_by_label("La tua risposta al cittadino").fill(
        "Porti la vecchia copia e due foto: a presto!"
    )
    paolo.get_by_role("button", name="Invia").click()
    expect(paolo.locator(".message-operator").last).to_contain_text("due foto")
    expect(paolo.locator(".message-operator").last).to_contain_text("consegnato")
    paolo.get_by_role("button", name="Chiudi la conversazione").click()
    paolo.wait_for_url(world.base + "/")
    expect(paolo.locator(".alert-success")).to_contain_text(f"Conversazione n. {handoff.id} chiusa")
    expect(paolo.get_by_role("row", name=f"Conversazione n. {handoff.id}")).to_have_count(0)
    accessible(paolo)
    # The citizen is asked for a rating, on their channel.
    assert ("say", CITIZEN, QUESTION) in world.rasa.calls

    # -- the citizen answers, as the channels' gate hands the replies over ----------------
    ratings = RatingService(world.database)
    assert ratings.answer(handoff.conversation_id, "5").text == THANKS_OFFER
    assert ratings.answer(handoff.conversation_id, "Scrivi un commento").text == ASK_COMMENT
    assert ratings.answer(handoff.conversation_id, COMMENT).text == THANKS_COMMENT

    # -- the admin reads the rating, then the chat's trail from the history ---------------
    ada.get_by_role("link", name="Statistiche", exact=True).click()
    accessible(ada)
    ada.get_by_role("navigation", name="Statistiche").get_by_role(
        "link", name="Valutazioni"
    ).click()
    expect(ada.get_by_role("heading", name="Valutazioni dei cittadini")).to_be_visible()
    expect(ada.locator(".riepilogo")).to_contain_text("5,0 su 5")
    expect(ada.locator(".riepilogo")).to_contain_text("1 su 1 chat (100%)")
    comment = ada.locator(".commenti li").filter(has_text=COMMENT)
    expect(comment).to_contain_text("5 su 5")
    expect(comment).to_contain_text("WhatsApp")
    accessible(ada)

    ada.get_by_role("link", name="Storico", exact=True).click()
    search = ada.get_by_label("Cerca", exact=True)
    search.fill("passaporto")
    search.press("Enter")
    expect(ada.get_by_role("status")).to_have_text("1 conversazione.")
    found = ada.get_by_role("row", name=f"Conversazione n. {handoff.id}")
    expect(found).to_contain_text(COLLEAGUE_NAME)
    expect(found).to_contain_text("WhatsApp")
    accessible(ada)
    found.get_by_role("link", name=f"Conversazione n. {handoff.id}").click()
    ada.wait_for_url(chat_url)
    expect(ada.get_by_text("Conversazione chiusa")).to_be_visible()
    steps = ada.get_by_role("list", name="Chi ha fatto cosa").get_by_role("listitem")
    expect(steps).to_have_count(8)
    expect(steps).to_contain_text(
        [
            "L'assistente l'ha passata all'URP",
            f"{ADMIN_NAME} l'ha presa in carico",
            f"{ADMIN_NAME} ha risposto al cittadino",
            f"{ADMIN_NAME} ha scritto una nota interna",
            f"{ADMIN_NAME} l'ha passata a {COLLEAGUE_NAME}",
            f"{ADMIN_NAME} ha scritto una nota interna",  # the word for the colleague
            f"{COLLEAGUE_NAME} ha risposto al cittadino",
            f"{COLLEAGUE_NAME} l'ha chiusa",
        ]
    )
    accessible(ada)
    assert PHONE.lstrip("+") not in ada.content()
    assert CITIZEN.lstrip("+") not in ada.content()
