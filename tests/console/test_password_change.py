"""A password an admin chose (a new account, «nuova password temporanea», a reset, the
command line) is changed at the first login: until then the operator sees only «Il tuo
account», every other page sends them there, and no form, API or stream acts on a chat."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.console.harness import PASSWORD, Browser, World, console_world
from tests.store.conftest import SALT
from tests.unit.review_log import training_copy
from urp.broadcasts.service import BroadcastService
from urp.console.access import ConsoleAccess
from urp.console.app import create_app
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.models import PENDING
from urp.core.settings import Settings
from urp.handoff.chat import HandoffChat
from urp.handoff.quick_replies import QuickReplyService
from urp.information.memo import MemoService
from urp.review.store import ReviewStore
from urp.whatsapp.store import WhatsAppStore

ADMIN = "ada.neri"
TEMPORARY = re.compile(r'<p class="password-temporanea"><code>([^<]+)</code></p>')
CHOOSE = "Scegli una nuova password per continuare"
NEW_PASSWORD = "una-password-tutta-mia"
# Where a flagged session may still go: its account, its password, out.
ALLOWED = {"/login", "/logout", "/account", "/account/password", "/health"}
# The console's sections in the menu (mario.rossi: an operator who may publish).
SECTIONS = ("/", "/storico", "/broadcasts", "/risposte-rapide", "/statistiche")
MENU = re.compile(r'<nav aria-label="Sezioni della console"[^>]*>(.*?)</nav>', re.S)


@pytest.fixture
def world(database: Database, settings: Settings, tmp_path: Path) -> Iterator[World]:
    training = training_copy(tmp_path / "checkout")
    with console_world(database, settings, training=training) as world:
        yield world


@pytest.fixture
def ada(world: World) -> Browser:
    world.operators.add(ADMIN, "Ada Neri", PASSWORD, "admin")
    return world.logged_in(ADMIN)


def flagged(world: World, username: str) -> bool:
    account = world.operators.get(username)
    assert account is not None
    return account.must_change_password


def change_password(browser: Browser, current: str, new: str = NEW_PASSWORD) -> requests.Response:
    return browser.submit("/account/password", "/account", current=current, new=new, repeat=new)


def test_a_new_operator_chooses_a_password_before_seeing_the_queue(
    world: World, ada: Browser
) -> None:
    added = ada.submit(
        "/operators", "/operators", username="gino.blu", name="Gino Blu", role="operator"
    )
    temporary = TEMPORARY.search(added.text)
    assert temporary, added.text
    assert "al primo accesso" in added.text  # the admin knows it will have to be changed
    assert flagged(world, "gino.blu")

    gino = world.browser()
    landed = gino.log_in("gino.blu", temporary.group(1))
    assert landed.url == gino.url("/account")
    assert CHOOSE in landed.text
    assert "Conversazione n." not in landed.text
    # Any other page: back to «Il tuo account», with the same words.
    queue = gino.page("/")
    assert queue.url == gino.url("/account") and CHOOSE in queue.text
    assert gino.page(f"/handoffs/{world.handoff.id}").url == gino.url("/account")

    # The new password must differ from the one the admin knows.
    same = change_password(gino, temporary.group(1), temporary.group(1))
    assert "diversa da quella temporanea" in same.text and flagged(world, "gino.blu")
    done = change_password(gino, temporary.group(1))
    assert done.url == gino.url("/account") and "Password cambiata" in done.text
    assert not flagged(world, "gino.blu")
    assert gino.page("/").url == gino.url("/")
    assert "Conversazione n." in gino.page("/").text


def test_a_flagged_session_cannot_act_on_a_chat(world: World, ada: Browser) -> None:
    page = ada.submit("/operators/mario.rossi/temporary", "/operators")
    temporary = TEMPORARY.search(page.text)
    assert temporary and flagged(world, "mario.rossi")
    mario = world.browser()
    assert mario.log_in("mario.rossi", temporary.group(1)).url == mario.url("/account")
    csrf = mario.csrf("/account")
    for action in ("claim", "reply", "typing", "notes", "resolve", "release"):
        refused = mario.post(
            mario.url(f"/handoffs/{world.handoff.id}/{action}"),
            data={"csrf_token": csrf, "text": "Buongiorno", "typing": "1"},
            allow_redirects=False,
            timeout=30,
        )
        assert refused.status_code == 403, action
        assert CHOOSE in refused.text
    stream = mario.get(mario.url("/api/stream"), timeout=30)
    assert stream.status_code == 403
    handoff = world.handoffs.get(world.handoff.id)
    assert handoff is not None and handoff.status == PENDING
    assert handoff.operator is None
    assert not world.rasa.calls and not world.typing.signals
    # Logging out is always possible.
    out = mario.post(
        mario.url("/logout"), data={"csrf_token": csrf}, allow_redirects=True, timeout=30
    )
    assert out.url == mario.url("/login?motivo=uscita")


def test_every_console_route_waits_for_the_new_password(
    world: World, ada: Browser, database: Database, settings: Settings, tmp_path: Path
) -> None:
    """Each route of the app, GET, HEAD and POST: a page sends to «Il tuo account», the rest
    is refused. A route added later is covered without touching this test."""
    hasher = UserHasher(SALT.encode())
    app = create_app(
        HandoffChat(world.handoffs, world.rasa),
        world.operators,
        QuickReplyService(database),
        settings,
        ConsoleAccess(database, world.operators),
        secure_cookies=False,
        sweep_interval=None,
        broadcasts=BroadcastService(database, WhatsAppStore(database, hasher)),
        memos=MemoService(database),
        review=ReviewStore(database, hasher),
        training=training_copy(tmp_path / "routes"),
    )
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method in ("GET", "HEAD", "POST")
    }
    world.operators.reset_password("lucia.bianchi", "temporanea-di-ada", by=ADMIN)
    lucia = world.browser()
    assert lucia.log_in("lucia.bianchi", "temporanea-di-ada").url == lucia.url("/account")
    csrf = lucia.csrf("/account")
    checked = 0
    for method, canonical in sorted(routes):
        if canonical in ALLOWED or canonical.startswith("/static"):
            continue
        path = re.sub(
            r"\{([a-z_]+)[^}]*\}",
            # Two digits: a FAQ entry's id has at least two characters.
            lambda m: "mario.rossi" if m.group(1) == "username" else str(world.handoff.id).zfill(2),
            canonical,
        )
        answer = lucia.request(
            method,
            lucia.url(path),
            data={"csrf_token": csrf} if method == "POST" else None,
            allow_redirects=False,
            timeout=30,
        )
        if method == "POST" or path.startswith("/api/"):
            assert answer.status_code == 403, (method, path)
        else:
            assert answer.status_code == 303, (method, path)
            assert answer.headers["Location"] == "/account", (method, path)
        checked += 1
    assert checked > 30
    # The account itself is served, and the password form works.
    assert lucia.page("/account").status_code == 200
    change_password(lucia, "temporanea-di-ada")
    assert lucia.page("/").url == lucia.url("/")


def menu_links(page: requests.Response) -> list[str]:
    menu = MENU.search(page.text)
    return re.findall(r'href="([^"]+)"', menu.group(1)) if menu else []


def test_the_menu_shows_no_section_until_the_new_password(world: World) -> None:
    """Every section's link would lead back to «Il tuo account»: only the account itself
    and «Esci» are offered, and the menu comes back with the new password."""
    world.operators.reset_password("mario.rossi", "temporanea-di-ada", by=ADMIN)
    mario = world.browser()
    account = mario.log_in("mario.rossi", "temporanea-di-ada")
    assert account.url == mario.url("/account") and CHOOSE in account.text
    assert menu_links(account) == []
    assert 'href="/account"' in account.text and 'action="/logout"' in account.text
    done = change_password(mario, "temporanea-di-ada")
    assert "Password cambiata" in done.text
    assert menu_links(done) == list(SECTIONS)


def test_a_reset_by_an_admin_is_temporary_too(world: World, ada: Browser) -> None:
    page = ada.submit(
        "/operators/mario.rossi/password",
        "/operators",
        new="scelta-da-ada-1",
        repeat="scelta-da-ada-1",
    )
    assert "Nuova password per Mario Rossi" in page.text and flagged(world, "mario.rossi")
    mario = world.browser()
    assert mario.log_in("mario.rossi", "scelta-da-ada-1").url == mario.url("/account")


def test_an_operator_with_their_own_password_is_not_asked(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    assert CHOOSE not in mario.page("/account").text
    assert not flagged(world, "mario.rossi")
