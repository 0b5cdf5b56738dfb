"""The console and the web chat (issue 26): a web reply is «consegnato» only when the
citizen's widget has it, and says so live; the web citizen sees the operator typing."""

from __future__ import annotations

import html
import re

import pytest

from tests.console.harness import PASSWORD, PHONE, Browser, World, served
from tests.console.test_console import Events, claim
from tests.store.conftest import SALT, cli_env, url_of  # noqa: F401
from tests.store.test_cli import run
from tests.store.test_handoff_cli import RasaStub
from urp.console.handoffs import TYPING_SIGNAL
from urp.console.server import build_app
from urp.core.db import Database
from urp.core.settings import Settings
from urp.handoff.chat import HandoffChat
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService
from urp.handoff.rasa_api import RasaConversations
from urp.handoff.records import Handoff
from urp.widget.outbox import WebOutbox

WEB = "socketio:0f1e2d3c4b5a69788796a5b4c3d2e1f0"
STREAM = re.compile(r'data-stream="([^"]+)"')
LABEL = re.compile(r'<span class="(delivered|awaiting|undelivered)">([^<]+)</span>')


def web_chat(world: World) -> Handoff:
    handoff, _ = world.handoffs.open(WEB, "socketio", "request")
    return handoff


def stream_of(browser: Browser, handoff_id: int) -> str:
    """The live stream the chat's page opens."""
    found = STREAM.search(browser.page(f"/handoffs/{handoff_id}").text)
    assert found, "the chat's page has no live stream"
    return html.unescape(found.group(1))


def labels(browser: Browser, handoff_id: int) -> list[str]:
    return [label for _, label in LABEL.findall(browser.page(f"/handoffs/{handoff_id}").text)]


def reply(browser: Browser, handoff_id: int, text: str) -> str:
    here = f"/handoffs/{handoff_id}"
    return browser.submit(f"{here}/reply", here, text=text).text


# -- delivery -----------------------------------------------------------------------------------


def test_a_web_reply_waits_for_the_widget_and_the_page_learns_it_arrived(world: World) -> None:
    chat = web_chat(world)
    mario = world.logged_in("mario.rossi")
    claim(mario, chat.id)
    page = reply(mario, chat.id, "Ecco il modulo.")
    assert labels(mario, chat.id) == ["in attesa che il cittadino torni"]
    assert "Riprova" not in page  # nothing to retry: the web chat keeps it
    [answer] = [m for m in world.handoffs.messages(chat.id) if m.author == "operator"]
    assert not answer.delivered

    events = Events(mario, stream_of(mario, chat.id))
    try:
        first = events.wait_for(lambda name, data: name == "delivery")
        assert (first["id"], first["status"]) == (answer.id, "awaiting")
        # The citizen comes back: their widget acknowledges what it shows.
        [kept] = WebOutbox(world.database).after(WEB, 0)
        WebOutbox(world.database).acknowledge(WEB, kept.id)
        data = events.wait_for(
            lambda name, data: (
                name == "delivery" and data["id"] == answer.id and data["status"] == "delivered"
            )
        )
        assert data["html"].strip() == '<span class="delivered">consegnato</span>'
    finally:
        events.close()
    assert labels(mario, chat.id) == ["consegnato"]
    assert [name for name, data in events.events if name == "delivery"] == ["delivery"] * 2


def test_a_reply_sent_again_by_the_background_job_turns_delivered_live(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    claim(mario, world.handoff.id)
    world.rasa.down = True
    assert "non consegnata" in reply(mario, world.handoff.id, "Le scrivo il numero dell'ufficio.")
    assert labels(mario, world.handoff.id) == ["non consegnato"]
    stream = stream_of(mario, world.handoff.id)
    assert "unsettled=" in stream
    events = Events(mario, stream)
    try:
        assert events.wait_for(lambda name, data: name == "delivery")["status"] == "undelivered"
        world.rasa.down = False
        assert HandoffChat(world.handoffs, world.rasa).redeliver() == 1
        data = events.wait_for(
            lambda name, data: name == "delivery" and data["status"] == "delivered"
        )
        assert "consegnato" in data["html"]
    finally:
        events.close()


def test_the_stream_tells_a_chat_only_of_its_own_replies(world: World) -> None:
    other = web_chat(world)
    lucia = world.logged_in("lucia.bianchi")
    claim(lucia, other.id)
    reply(lucia, other.id, "Risposta nell'altra chat.")
    [theirs] = [m for m in world.handoffs.messages(other.id) if m.author == "operator"]
    mario = world.logged_in("mario.rossi")
    claim(mario, world.handoff.id)
    last = world.handoffs.messages(world.handoff.id)[-1].id
    events = Events(
        mario, f"/api/stream?handoff={world.handoff.id}&after={last}&unsettled={theirs.id}"
    )
    try:
        world.handoffs.add_message(world.handoff.id, "citizen", "Ci sei?")
        events.wait_for(lambda name, data: name == "message")
    finally:
        events.close()
    assert [name for name, _ in events.events if name == "delivery"] == []


@pytest.mark.parametrize("unsettled", ["abc", "1,,x", ",".join(["1"] * 501)])
def test_the_stream_refuses_a_bad_list_of_replies(world: World, unsettled: str) -> None:
    mario = world.logged_in("mario.rossi")
    response = mario.get(
        mario.url(f"/api/stream?handoff={world.handoff.id}&unsettled={unsettled}"), timeout=60
    )
    assert response.status_code == 400


# -- the operator typing -------------------------------------------------------------------------


def typing(browser: Browser, handoff_id: int, value: str, token: str | None = None):
    data = {"typing": value}
    if token is not None:
        data["csrf_token"] = token
    return browser.post(
        browser.url(f"/handoffs/{handoff_id}/typing"), data=data, allow_redirects=False, timeout=60
    )


def test_the_holder_s_typing_reaches_the_web_citizen_with_their_first_name(world: World) -> None:
    chat = web_chat(world)
    mario = world.logged_in("mario.rossi")
    claim(mario, chat.id)
    page = mario.page(f"/handoffs/{chat.id}").text
    assert f'data-typing="/handoffs/{chat.id}/typing"' in page
    token = mario.csrf(f"/handoffs/{chat.id}")

    assert typing(mario, chat.id, "1", token).status_code == 204
    assert typing(mario, chat.id, "0", token).status_code == 204
    assert world.typing.signals == [(WEB, "Mario", True), (WEB, "Mario", False)]


def test_only_the_holder_signals_typing_and_only_with_a_valid_form(world: World) -> None:
    chat = web_chat(world)
    mario = world.logged_in("mario.rossi")
    lucia = world.logged_in("lucia.bianchi")
    mario_token = mario.csrf(f"/handoffs/{chat.id}")
    assert typing(mario, chat.id, "1", mario_token).status_code == 403  # nobody holds it yet
    claim(lucia, chat.id)
    assert typing(mario, chat.id, "1", mario_token).status_code == 403  # Lucia holds it
    assert "data-typing" not in mario.page(f"/handoffs/{chat.id}").text

    token = lucia.csrf(f"/handoffs/{chat.id}")
    assert typing(lucia, chat.id, "1").status_code == 403  # no CSRF token
    assert typing(lucia, chat.id, "1", "contraffatto").status_code == 403
    assert typing(lucia, chat.id, "forse", token).status_code == 400
    assert typing(lucia, 999_999, "1", token).status_code == 404
    anonymous = world.browser()
    answer = typing(anonymous, chat.id, "1", token)
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert world.typing.signals == []
    assert typing(lucia, chat.id, "1", token).status_code == 204
    assert world.typing.signals == [(WEB, "Lucia", True)]


def test_a_whatsapp_chat_has_no_typing_indicator(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    claim(mario, world.handoff.id)
    page = mario.page(f"/handoffs/{world.handoff.id}").text
    assert 'id="reply-form"' in page and "data-typing" not in page
    assert PHONE.lstrip("+") not in page


# -- the server, as `make run` starts it ---------------------------------------------------------


def test_the_server_wires_the_outbox_and_the_typing_signal(
    database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("URP_DB_URL", url_of(database))
    monkeypatch.setenv("URP_HASH_SALT", SALT)
    monkeypatch.setenv("URP_RASA_URL", "http://127.0.0.1:9")  # never reached here
    monkeypatch.setenv("RASA_JWT_SECRET", "segreto-di-prova")
    app = build_app()
    signal = app[TYPING_SIGNAL]
    assert isinstance(signal, RasaConversations)  # the console's one Rasa client
    assert signal.typing_url == "http://127.0.0.1:9/webhooks/socketio/typing"

    giulia = OperatorService(database).add("giulia", "Giulia Neri", PASSWORD, "operator")
    handoffs = HandoffService(database, settings)
    chat, _ = handoffs.open(WEB, "socketio", "request")
    assert handoffs.claim(chat.id, giulia)
    answer = handoffs.operator_reply(chat.id, giulia, "Ecco il modulo.")
    WebOutbox(database).store(WEB, {"text": "Ecco il modulo."}, handoff_message_id=answer.id)
    with served(app) as base:
        browser = Browser(base)
        assert browser.log_in("giulia").url == browser.url("/")
        assert labels(browser, chat.id) == ["in attesa che il cittadino torni"]


def test_the_command_line_sweep_leaves_web_replies_to_the_web_chat(
    cli_env: Database,  # noqa: F811
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rasa = RasaStub()
    monkeypatch.setenv("URP_RASA_URL", rasa.url)
    monkeypatch.setenv("RASA_JWT_SECRET", "segreto-di-prova")
    giulia = OperatorService(cli_env).add("giulia", "Giulia Neri", PASSWORD, "operator")
    handoffs = HandoffService(cli_env, settings)
    chat, _ = handoffs.open(WEB, "socketio", "request")
    assert handoffs.claim(chat.id, giulia)
    answer = handoffs.operator_reply(chat.id, giulia, "Ecco il modulo.")
    WebOutbox(cli_env).store(WEB, {"text": "Ecco il modulo."}, handoff_message_id=answer.id)
    try:
        code, out, _ = run(capsys, "handoffs", "sweep")
    finally:
        rasa.close()
    # Kept for the citizen: not sent a second time, and not «consegnato» until they have it.
    assert code == 0 and out.endswith("Risposte degli operatori rimandate: 0\n")
    assert rasa.paths == []
    assert handoffs.message(answer.id).delivered is False
