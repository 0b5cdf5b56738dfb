"""The operators' console over real HTTP: logins, sessions, CSRF, the chat's steps."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.console.harness import PASSWORD, PHONE, QUICK_REPLY, Browser, World, served
from tests.store.conftest import raw_rows
from urp.console.access import ConsoleAccess
from urp.console.app import create_app
from urp.console.server import ConsoleConfigError, session_idle
from urp.core.models import ASSIGNED, PENDING, RESOLVED
from urp.handoff.chat import CLAIMED_INTENT, RELEASED_INTENT, RESOLVED_INTENT, HandoffChat
from urp.handoff.quick_replies import QuickReplyService


def audit(world: World, action: str) -> list[dict[str, Any]]:
    return [row for row in raw_rows(world.database, "audit_events") if row["action"] == action]


def claim(browser: Browser, handoff_id: int) -> requests.Response:
    return browser.submit(f"/handoffs/{handoff_id}/claim")


# -- logging in --------------------------------------------------------------------------


def test_an_operator_logs_in_sees_the_queue_and_logs_out(world: World) -> None:
    browser = world.browser()
    page = browser.log_in("Mario.Rossi")
    assert page.url == browser.url("/")
    assert f"Conversazione n. {world.handoff.id}" in page.text
    assert "chiede un operatore" in page.text and "WhatsApp" in page.text
    assert "Prendi in carico" in page.text
    assert [row["operator"] for row in audit(world, "login")] == ["mario.rossi"]
    (session,) = raw_rows(world.database, "console_sessions")
    token = browser.cookies["urp_session"]
    assert token not in json.dumps(session, default=str)  # only its hash is stored

    browser.submit("/logout")
    assert raw_rows(world.database, "console_sessions") == []
    replay = Browser(world.base)
    replay.cookies.set("urp_session", token)
    assert replay.page("/").url.startswith(browser.url("/login"))


def test_a_wrong_password_is_refused_and_audited_without_the_password(world: World) -> None:
    browser = world.browser()
    page = browser.log_in("mario.rossi", "sbagliata-davvero")
    assert page.status_code == 401
    assert "Nome utente o password non corretti" in page.text
    assert "urp_session" not in browser.cookies
    (failed,) = audit(world, "login_failed")
    assert failed["operator"] == "mario.rossi"
    assert "sbagliata" not in json.dumps(raw_rows(world.database, "audit_events"), default=str)


def test_five_failures_block_the_username_for_fifteen_minutes(world: World) -> None:
    browser = world.browser()
    for _ in range(5):
        assert browser.log_in("mario.rossi", "sbagliata-davvero").status_code == 401
    blocked = browser.log_in("mario.rossi")  # even the right password
    assert blocked.status_code == 429
    assert "Troppi tentativi" in blocked.text
    assert "urp_session" not in browser.cookies
    assert len(audit(world, "login_failed")) == 5  # blocked attempts count no further
    # Another username is not blocked; the same one is again welcome after the block.
    assert world.browser().log_in("lucia.bianchi").status_code == 200
    world.clock.advance(minutes=14)
    assert browser.log_in("mario.rossi").status_code == 429
    world.clock.advance(minutes=2)
    assert browser.log_in("mario.rossi").url == browser.url("/")


def test_the_login_form_needs_its_csrf_cookie(world: World) -> None:
    page = requests.post(
        world.base + "/login",
        data={"csrf_token": "forged", "username": "mario.rossi", "password": PASSWORD},
        timeout=120,
    )
    assert page.status_code == 403
    assert "urp_session" not in page.cookies
    assert audit(world, "login") == []


def test_a_session_ends_after_eight_idle_hours_not_while_in_use(world: World) -> None:
    browser = world.logged_in("mario.rossi")
    world.clock.advance(hours=7)
    assert browser.page("/").url == browser.url("/")
    world.clock.advance(hours=4)  # 11 hours after login, 4 after the last request
    assert browser.page("/").url == browser.url("/")
    world.clock.advance(hours=8, minutes=1)
    page = browser.page("/")
    assert page.url == browser.url("/login?motivo=scaduta")
    assert "La sessione è scaduta" in page.text


def test_a_disabled_operator_is_logged_out(world: World) -> None:
    browser = world.logged_in("mario.rossi")
    world.operators.disable("mario.rossi")
    assert browser.page("/").url.startswith(browser.url("/login"))


def test_a_trainer_logs_in_but_the_chats_are_for_operators(world: World) -> None:
    browser = world.logged_in("tina.verdi")
    page = browser.page("/")
    assert page.status_code == 403
    assert "riservate agli operatori" in page.text
    assert "Conversazione n." not in page.text
    assert browser.page(f"/handoffs/{world.handoff.id}").status_code == 403
    response = browser.post(
        browser.url(f"/handoffs/{world.handoff.id}/claim"), data={}, timeout=120
    )
    assert response.status_code == 403
    assert world.handoffs.get(world.handoff.id).status == PENDING
    stream = browser.get(browser.url("/api/stream"), timeout=120)
    assert stream.status_code == 403


# -- CSRF and errors ---------------------------------------------------------------------


def test_a_post_without_the_csrf_token_changes_nothing(world: World) -> None:
    browser = world.logged_in("mario.rossi")
    for data in ({}, {"csrf_token": "forged"}):
        response = browser.post(
            browser.url(f"/handoffs/{world.handoff.id}/claim"), data=data, timeout=120
        )
        assert response.status_code == 403
        assert "Pagina scaduta" in response.text
    assert world.handoffs.get(world.handoff.id).status == PENDING
    assert world.rasa.calls == []
    assert audit(world, "handoff_claim") == []


def test_an_unknown_chat_is_a_polite_page(world: World) -> None:
    browser = world.logged_in("mario.rossi")
    page = browser.page("/handoffs/999")
    assert page.status_code == 404
    assert "Pagina non trovata" in page.text and "Traceback" not in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_health(world: World) -> None:
    response = requests.get(world.base + "/health", timeout=120)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


# -- the chat's steps --------------------------------------------------------------------


def test_claim_and_a_second_operators_claim_is_refused(world: World) -> None:
    mario, lucia = world.logged_in("mario.rossi"), world.logged_in("lucia.bianchi")
    lucia_csrf = lucia.csrf()  # her queue page, before Mario claims
    page = claim(mario, world.handoff.id)
    assert page.url == mario.url(f"/handoffs/{world.handoff.id}")
    assert "La conversazione è affidata a te" in page.text
    assert world.rasa.calls == [("trigger", PHONE, CLAIMED_INTENT, {"handoff_operator": "Mario"})]
    late = lucia.post(
        lucia.url(f"/handoffs/{world.handoff.id}/claim"),
        data={"csrf_token": lucia_csrf},
        timeout=120,
    )
    assert "già presa un altro operatore" in late.text
    held = world.handoffs.get(world.handoff.id)
    assert (held.status, held.operator) == (ASSIGNED, "mario.rossi")
    assert "La sta seguendo Mario Rossi" in lucia.page(f"/handoffs/{world.handoff.id}").text


def test_a_reply_reaches_the_citizen_and_is_marked_delivered(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    page = mario.submit(f"{chat}/reply", chat, text="Buongiorno, sono Mario dell'URP.")
    assert page.url == mario.url(chat)
    assert world.rasa.calls[-1] == ("say", PHONE, "Buongiorno, sono Mario dell'URP.")
    message = world.handoffs.messages(world.handoff.id)[-1]
    assert (message.author, message.operator, message.delivered) == (
        "operator",
        "mario.rossi",
        True,
    )
    assert "Buongiorno, sono Mario dell&#39;URP." in page.text
    assert "consegnato" in page.text and "non consegnato" not in page.text


def test_a_quick_reply_is_sent_without_javascript(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    assert QUICK_REPLY.title in mario.page(chat).text
    mario.submit(f"{chat}/reply", chat, text="", quick_reply=QUICK_REPLY.title)
    assert world.rasa.calls[-1] == ("say", PHONE, QUICK_REPLY.text)
    mario.submit(f"{chat}/reply", chat, text="Gentile signora,", quick_reply=QUICK_REPLY.title)
    assert world.rasa.calls[-1] == ("say", PHONE, f"Gentile signora,\n\n{QUICK_REPLY.text}")


def test_an_empty_reply_is_refused_with_a_message(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    page = mario.submit(f"{chat}/reply", chat, text="   ")
    assert "Scrivi il testo della risposta" in page.text
    assert [call[0] for call in world.rasa.calls] == ["trigger"]


def test_rasa_down_keeps_the_reply_undelivered_and_retry_sends_it(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    world.rasa.down = True
    page = mario.submit(f"{chat}/reply", chat, text="Le rispondo subito.")
    assert "Risposta salvata ma non consegnata" in page.text
    assert "non consegnato" in page.text and "Riprova" in page.text
    message = world.handoffs.messages(world.handoff.id)[-1]
    assert (message.text, message.delivered) == ("Le rispondo subito.", False)

    world.rasa.down = False
    page = mario.submit(f"{chat}/messages/{message.id}/retry", chat)
    assert "Risposta consegnata" in page.text
    assert world.rasa.calls[-1] == ("say", PHONE, "Le rispondo subito.")
    assert world.handoffs.messages(world.handoff.id)[-1].delivered
    assert "Riprova" not in page.text


def test_claim_with_rasa_down_leaves_the_chat_in_the_queue(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    world.rasa.down = True
    page = claim(mario, world.handoff.id)
    assert page.url == mario.url("/")
    assert "non è raggiungibile" in page.text
    assert world.handoffs.get(world.handoff.id).status == PENDING


def test_release_puts_the_chat_back_in_the_queue(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    page = mario.submit(f"{chat}/release", chat)
    assert page.url == mario.url("/")
    assert f"Conversazione n. {world.handoff.id} rimessa in coda" in page.text
    assert world.handoffs.get(world.handoff.id).status == PENDING
    assert world.rasa.calls[-2:] == [("resume", PHONE), ("trigger", PHONE, RELEASED_INTENT, {})]


def test_another_operator_cannot_release_or_resolve_a_held_chat(world: World) -> None:
    mario, lucia = world.logged_in("mario.rossi"), world.logged_in("lucia.bianchi")
    claim(mario, world.handoff.id)
    csrf = lucia.csrf()
    chat = f"/handoffs/{world.handoff.id}"
    assert "Chiudi la conversazione" not in lucia.page(chat).text
    for step in ("release", "resolve", "reply"):
        page = lucia.post(
            lucia.url(f"{chat}/{step}"), data={"csrf_token": csrf, "text": "ciao"}, timeout=120
        )
        assert "un altro operatore" in page.text or "non è assegnata" in page.text
    assert world.handoffs.get(world.handoff.id).operator == "mario.rossi"


def test_a_colleague_may_read_a_held_chat_but_not_write_in_it(world: World) -> None:
    """Colleagues cover for each other: Lucia reads Mario's chat, only Mario answers it."""
    mario, lucia = world.logged_in("mario.rossi"), world.logged_in("lucia.bianchi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    world.rasa.down = True
    mario.submit(f"{chat}/reply", chat, text="Le rispondo subito.")
    world.rasa.down = False
    message = world.handoffs.messages(world.handoff.id)[-1]
    page = lucia.page(chat)
    assert page.status_code == 200
    assert "Vorrei parlare con una persona" in page.text and "Le rispondo subito." in page.text
    assert "puoi leggerla, ma solo chi la segue può rispondere" in page.text
    for form in ("/reply", "/retry", "/claim", "/release", "/resolve"):
        assert f'{form}"' not in page.text
    csrf = lucia.csrf(chat)
    for path in (f"{chat}/reply", f"{chat}/messages/{message.id}/retry"):
        refused = lucia.post(
            lucia.url(path), data={"csrf_token": csrf, "text": "Ci penso io."}, timeout=120
        )
        assert "non è assegnata" in refused.text
    assert [m.text for m in world.handoffs.messages(world.handoff.id)][-1] == message.text
    assert not world.handoffs.messages(world.handoff.id)[-1].delivered
    assert [call for call in world.rasa.calls if call[0] == "say"] == []


def test_resolve_closes_the_chat_and_it_leaves_the_queue(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    page = mario.submit(f"{chat}/resolve", chat)
    assert page.url == mario.url("/")
    assert "chiusa: risponde di nuovo l&#39;assistente" in page.text
    assert "Nessuna conversazione in coda" in page.text
    assert f"Conversazione n. {world.handoff.id}</a>" not in page.text
    assert world.handoffs.get(world.handoff.id).status == RESOLVED
    assert world.rasa.calls[-2:] == [("resume", PHONE), ("trigger", PHONE, RESOLVED_INTENT, {})]


# -- accounts: the password, the admins' page ---------------------------------------------


def test_an_operator_changes_the_password_and_the_other_sessions_end(world: World) -> None:
    here, elsewhere = world.logged_in("mario.rossi"), world.logged_in("mario.rossi")
    page = here.page("/account")
    assert "Cambia la password" in page.text and "Puoi pubblicare memo ed emergenze" in page.text
    new = "una-nuova-password"
    wrong = here.submit("/account/password", "/account", current="no", new=new, repeat=new)
    assert "La password attuale non è corretta." in wrong.text
    typo = here.submit("/account/password", "/account", current=PASSWORD, new=new, repeat="x")
    assert "non coincidono" in typo.text
    short = here.submit("/account/password", "/account", current=PASSWORD, new="c", repeat="c")
    assert "almeno 10 caratteri" in short.text
    assert elsewhere.page("/").url == elsewhere.url("/")  # nothing changed so far
    done = here.submit("/account/password", "/account", current=PASSWORD, new=new, repeat=new)
    assert "Password cambiata" in done.text
    assert here.page("/").url == here.url("/")
    assert elsewhere.page("/").url.startswith(elsewhere.url("/login"))
    assert world.browser().log_in("mario.rossi").status_code == 401
    assert world.browser().log_in("mario.rossi", new).url == world.base + "/"
    assert [row["operator"] for row in audit(world, "password_changed")] == ["mario.rossi"]
    # A trainer has an account page too (no chats needed to change a password).
    assert world.logged_in("tina.verdi").page("/account").status_code == 200


def test_an_admin_resets_a_password_and_the_sessions_end(world: World) -> None:
    world.operators.add("anna.admin", "Anna Conti", PASSWORD, "admin")
    mario, admin = world.logged_in("mario.rossi"), world.logged_in("anna.admin")
    listing = admin.page("/operators")
    assert listing.status_code == 200 and "Mario Rossi" in listing.text
    assert "sì, da amministratore" in listing.text
    new = "password-da-admin"
    page = admin.submit("/operators/mario.rossi/password", "/operators", new=new, repeat=new)
    assert "Nuova password per Mario Rossi: le sue sessioni sono state chiuse." in page.text
    assert mario.page("/").url.startswith(mario.url("/login"))
    assert world.browser().log_in("mario.rossi", new).url == world.base + "/account"
    assert [(r["operator"], r["detail"]) for r in audit(world, "password_reset")] == [
        ("anna.admin", "operatore mario.rossi")
    ]
    lucia = world.logged_in("lucia.bianchi")
    assert lucia.page("/operators").status_code == 403
    refused = lucia.post(
        lucia.url("/operators/mario.rossi/password"),
        data={"csrf_token": lucia.csrf(), "new": "presa-in-giro", "repeat": "presa-in-giro"},
        timeout=120,
    )
    assert refused.status_code == 403
    assert world.browser().log_in("mario.rossi", new).url == world.base + "/account"
    missing = admin.submit("/operators/nessuno/password", "/operators", new=new, repeat=new)
    assert missing.status_code == 404


# -- the transcript and live updates -----------------------------------------------------


def test_the_transcript_shows_photos_positions_and_names(world: World) -> None:
    world.handoffs.add_message(
        world.handoff.id, "citizen", None, media_url="https://media.example.org/buca.jpg"
    )
    world.handoffs.add_message(
        world.handoff.id, "citizen", None, latitude=43.6158, longitude=13.5189
    )
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    page = mario.submit(f"{chat}/reply", chat, text="Grazie della foto.")
    assert '<img class="message-photo" src="https://media.example.org/buca.jpg"' in page.text
    assert "https://www.openstreetmap.org/?mlat=43.615800&amp;mlon=13.518900" in page.text
    assert "43.615800, 13.518900" in page.text
    assert "Cittadino" in page.text and "Assistente" in page.text and "Mario Rossi" in page.text


class Events:
    """Reads a Server-Sent Events stream in a thread; the test waits for the one it wants."""

    def __init__(self, browser: Browser, path: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        url = urlsplit(browser.base)
        self._connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
        self._connection.request("GET", path, headers={"Cookie": cookies})
        self._response = self._connection.getresponse()
        assert self._response.getheader("Content-Type", "").startswith("text/event-stream")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        name = None
        # The test ends the stream by shutting the socket down: the read then fails.
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            for raw in self._response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name:
                    self.events.append((name, json.loads(line[6:])))

    def wait_for(self, wanted: Any, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, data in list(self.events):
                if wanted(name, data):
                    return data
            time.sleep(0.05)
        raise AssertionError(f"no such event in {self.events}")

    def close(self) -> None:
        # Shutting the socket down wakes the reader at once (closing alone would not).
        if self._connection.sock is not None:
            self._connection.sock.shutdown(socket.SHUT_RDWR)
        self._reader.join(10)
        self._connection.close()


def test_the_stream_reports_a_new_citizen_message(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    claim(mario, world.handoff.id)
    last = world.handoffs.messages(world.handoff.id)[-1].id
    events = Events(mario, f"/api/stream?handoff={world.handoff.id}&after={last}")
    try:
        world.handoffs.add_message(world.handoff.id, "citizen", "C'è una buca in via Roma")
        data = events.wait_for(lambda name, data: name == "message")
        assert data["author"] == "citizen"
        assert "C&#39;è una buca in via Roma" in data["html"]
        assert data["id"] > last
        world.handoffs.release(world.handoff.id)  # the sweep, say
        state = events.wait_for(lambda name, data: name == "state")
        assert state["status"] == PENDING
    finally:
        events.close()
    assert all(PHONE not in json.dumps(data) for _, data in events.events)


def test_the_queue_stream_reports_a_new_chat(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    events = Events(mario, "/api/stream")
    try:
        assert events.wait_for(lambda name, data: name == "queue")["count"] == 1
        second, _ = world.handoffs.open("+393339999999", "socketio", "appointment")
        data = events.wait_for(lambda name, data: name == "queue" and data["count"] == 2)
        assert f"Conversazione n. {second.id}" in data["html"] and "appuntamento" in data["html"]
        assert "Prendi in carico" in data["html"]
    finally:
        events.close()


def test_the_stream_needs_a_session(world: World) -> None:
    response = requests.get(world.base + "/api/stream", timeout=120)
    assert response.status_code == 401


def test_no_phone_number_in_any_page(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    pages = [mario.page("/").text, mario.page(chat).text]
    claim(mario, world.handoff.id)
    pages.append(mario.submit(f"{chat}/reply", chat, text="Buongiorno").text)
    pages.append(mario.page("/").text)
    digits = PHONE.lstrip("+")
    assert all(digits not in page and digits[2:] not in page for page in pages)


def test_secure_cookies_behind_https(world: World, settings: Any) -> None:
    app = create_app(
        HandoffChat(world.handoffs, world.rasa),
        world.operators,
        QuickReplyService(world.database),
        settings,
        ConsoleAccess(world.database, world.operators),
        secure_cookies=True,
        sweep_interval=None,
    )
    with served(app) as base:
        response = requests.get(base + "/login", timeout=120)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-urp_login_csrf=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    plain = requests.get(world.base + "/login", timeout=120).headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain


def test_the_background_sweep_runs_again_after_an_error(world: World, settings: Any) -> None:
    class FlakyChat(HandoffChat):
        sweeps = 0

        def sweep(self) -> Any:
            FlakyChat.sweeps += 1
            if FlakyChat.sweeps == 1:
                raise RuntimeError("database hiccup")
            return super().sweep()

    app = create_app(
        FlakyChat(world.handoffs, world.rasa),
        world.operators,
        QuickReplyService(world.database),
        settings,
        ConsoleAccess(world.database, world.operators),
        secure_cookies=False,
        sweep_interval=0.05,
    )
    with served(app) as base:
        deadline = time.monotonic() + 10
        while FlakyChat.sweeps < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert requests.get(base + "/health", timeout=120).status_code == 200
    assert FlakyChat.sweeps >= 3


def test_the_session_idle_time_comes_from_the_environment() -> None:
    assert session_idle({}) == timedelta(hours=8)
    assert session_idle({"URP_CONSOLE_SESSION_HOURS": "1.5"}) == timedelta(minutes=90)
    for wrong in ("0", "-3", "otto", "1000"):
        with pytest.raises(ConsoleConfigError):
            session_idle({"URP_CONSOLE_SESSION_HOURS": wrong})
