"""The console as a team's inbox in Chromium (issue 26): arrival alerts (title, sound,
notification, mute), a note and a transfer by keyboard, the history; axe and no sideways
scrolling at 1280 and 320 px."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.browser.checks import serious_violations, too_wide
from tests.console.harness import PASSWORD, PHONE, World
from urp.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "results" / "browser"
# What the page's alerts did: notifications shown, sounds played, permission asked.
RECORDERS = """
window.__notices = [];
window.__played = [];
window.__asked = 0;
window.__permission = "default";
window.Notification = class {
  constructor(title, options) { window.__notices.push({ title: title, body: options.body }); }
  addEventListener() {}
  static get permission() { return window.__permission; }
  static requestPermission() {
    window.__asked += 1;
    window.__permission = "granted";
    return Promise.resolve("granted");
  }
};
HTMLMediaElement.prototype.play = function () {
  window.__played.push(this.src);
  return Promise.resolve();
};
"""


def logged_in(browser: Browser, world: World, username: str, **context: Any) -> Page:
    context.setdefault("viewport", {"width": 1280, "height": 900})
    page = browser.new_context(locale="it-IT", **context).new_page()
    page.add_init_script(RECORDERS)
    page.set_default_timeout(15_000)
    page.goto(world.base + "/login")
    page.get_by_label("Nome utente").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url(world.base + "/")
    return page


def test_a_new_chat_rings_notifies_and_counts_in_the_title(world: World, browser: Browser) -> None:
    page = logged_in(browser, world, "mario.rossi")
    expect(page).to_have_title("(1) Coda · Sportello URP · Comune di Ancona")
    # Permission is asked on the operator's click only.
    assert page.evaluate("window.__asked") == 0
    page.get_by_role("button", name="Attiva le notifiche del browser").click()
    expect(page.get_by_text("Notifiche del browser attive.")).to_be_visible()
    expect(page.get_by_role("button", name="Attiva le notifiche del browser")).to_be_hidden()
    assert page.evaluate("window.__asked") == 1
    assert page.evaluate("window.__played") == []  # what was there on load rings nothing

    second, _ = world.handoffs.open("socketio:abc", "socketio", "request")
    expect(page).to_have_title("(2) Coda · Sportello URP · Comune di Ancona")
    page.wait_for_function("window.__played.length === 1")
    assert page.evaluate("window.__played")[0].endswith("/static/arrivo.wav")
    assert page.evaluate("window.__notices") == [
        {"title": "Nuova conversazione in coda", "body": f"Conversazione n. {second.id} · Web"}
    ]

    # Muted by keyboard, and still muted after a reload: no sound, the notification stays.
    sound = page.get_by_label("Suono quando arriva una conversazione")
    sound.focus()
    page.keyboard.press("Space")
    expect(sound).not_to_be_checked()
    page.reload()
    expect(page.get_by_label("Suono quando arriva una conversazione")).not_to_be_checked()
    expect(page).to_have_title("(2) Coda · Sportello URP · Comune di Ancona")
    page.evaluate("window.__permission = 'granted'")
    third, _ = world.handoffs.open("socketio:def", "socketio", "request")
    expect(page).to_have_title("(3) Coda · Sportello URP · Comune di Ancona")
    page.wait_for_function("window.__notices.length === 1")
    assert page.evaluate("window.__played") == []
    assert page.evaluate("window.__notices")[0]["body"] == f"Conversazione n. {third.id} · Web"
    # Claimed, a chat no longer waits: the count goes down.
    world.handoffs.claim(second.id, world.operators.get("lucia.bianchi"))
    expect(page).to_have_title("(2) Coda · Sportello URP · Comune di Ancona")
    sound_file = requests.get(world.base + "/static/arrivo.wav", timeout=30)
    assert sound_file.ok and sound_file.headers["Content-Type"].startswith("audio/")
    assert len(sound_file.content) < 5000


def test_a_note_and_a_transfer_by_keyboard_then_the_history(world: World, browser: Browser) -> None:
    handoff = world.handoff
    world.handoffs.add_message(handoff.id, "citizen", "Mi chiamo Anna Neri, è per la TARI")
    page = logged_in(browser, world, "mario.rossi")
    row = page.get_by_role("row", name=f"Conversazione n. {handoff.id}")
    expect(row).to_contain_text("«Mi chiamo [nome], è per la TARI»")
    expect(row).to_contain_text("in attesa da")
    row.get_by_role("button", name="Prendi in carico").click()
    expect(page.get_by_text("La conversazione è affidata a te")).to_be_visible()

    page.get_by_label("Nota interna", exact=True).fill("Ha già pagato la prima rata.")
    page.get_by_role("button", name="Aggiungi la nota").press("Enter")
    note = page.locator(".message-note").last
    expect(note).to_contain_text("Nota interna di Mario Rossi")
    expect(note).to_contain_text("(non arriva al cittadino)")
    expect(note).to_contain_text("Ha già pagato la prima rata.")
    assert [call for call in world.rasa.calls if call[0] == "say"] == []

    page.get_by_label("Collega", exact=True).select_option(label="Lucia Bianchi")
    page.get_by_label("Messaggio per il collega (facoltativo)").fill("Ti lascio la TARI.")
    page.get_by_role("button", name="Passa la conversazione").press("Enter")
    expect(page.locator(".alert-success")).to_contain_text(
        f"Conversazione n. {handoff.id} passata a Lucia Bianchi."
    )
    assert world.handoffs.get(handoff.id).operator == "lucia.bianchi"

    lucia = logged_in(browser, world, "lucia.bianchi")
    lucia.goto(f"{world.base}/handoffs/{handoff.id}")
    expect(lucia.get_by_text("La conversazione è affidata a te")).to_be_visible()
    expect(lucia.locator(".message-note").last).to_contain_text(
        "Nota interna di Mario Rossi per Lucia Bianchi"
    )
    trail = lucia.get_by_role("list", name="Chi ha fatto cosa")
    expect(trail).to_contain_text("Mario Rossi l'ha passata a Lucia Bianchi")
    # Mario's new note reaches Lucia's open page by itself.
    world.handoffs.teamwork.add_note(
        handoff.id, world.operators.get("mario.rossi"), "Chiamala dopo le 15."
    )
    expect(lucia.locator(".message-note").last).to_contain_text("Chiamala dopo le 15.")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    lucia.screenshot(path=str(SCREENSHOTS / "console-chat-team.png"), full_page=True)

    lucia.get_by_role("link", name="Storico").click()
    lucia.get_by_label("Cerca", exact=True).fill("tari")
    lucia.get_by_label("Cerca", exact=True).press("Enter")
    expect(lucia.get_by_role("status")).to_have_text("1 conversazione.")
    expect(lucia.get_by_role("row", name=f"Conversazione n. {handoff.id}")).to_contain_text(
        "Lucia Bianchi"
    )
    lucia.screenshot(path=str(SCREENSHOTS / "console-storico.png"), full_page=True)
    assert PHONE.lstrip("+") not in lucia.content()


@pytest.mark.parametrize("width", [1280, 320])
def test_the_team_pages_pass_axe_and_fit_the_screen(
    world: World, browser: Browser, width: int
) -> None:
    world.handoffs.add_message(world.handoff.id, "citizen", "Una domanda " + "lunghissima " * 20)
    mario = world.operators.get("mario.rossi")
    world.handoffs.claim(world.handoff.id, mario)
    world.handoffs.teamwork.add_note(world.handoff.id, mario, "Nota " + "molto lunga " * 30)
    page = logged_in(browser, world, "mario.rossi", viewport={"width": width, "height": 800})
    problems = {}
    for path in ("/", f"/handoffs/{world.handoff.id}", "/storico", "/storico?q=domanda"):
        page.goto(world.base + path)
        page.wait_for_load_state("load")
        if (widths := too_wide(page)) is not None:
            problems[path] = widths
        if violations := serious_violations(page):
            problems[path] = violations
    assert problems == {}, f"{width} px: {problems}"
