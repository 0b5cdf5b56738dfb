"""Logging in to the console: throttling per account and per address, without races;
sessions with an absolute lifetime; the production profile's cookies and HSTS."""

from __future__ import annotations

import re
import shutil
import string
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

import urp.handoff.operators
from tests.console.harness import PASSWORD, Browser, World
from tests.store.conftest import raw_rows
from urp.console.access import ConsoleAccess
from urp.console.login import client_address
from urp.console.throttle import (
    MAX_ADDRESS_FAILURES,
    MAX_FAILURES,
    LoginThrottledError,
    address_key,
)
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT
from urp.handoff.operators import OperatorService

ATTACKER = "203.0.113.7"


def failures(database: Database) -> list[dict[str, Any]]:
    return [row for row in raw_rows(database, "audit_events") if row["action"] == "login_failed"]


def log_in_from(browser: Browser, address: str, username: str, password: str = PASSWORD) -> Any:
    browser.headers["X-Forwarded-For"] = address  # as nginx, the local proxy, says
    return browser.log_in(username, password)


def test_concurrent_failures_cannot_exceed_the_limit(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty wrong passwords at once: only five are checked, the others refused unchecked.

    Every attempt that gets to scrypt waits there until all the others are either refused
    or waiting too: a check made before any failure was recorded lets them all through.
    """
    operators = OperatorService(database)
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    access = ConsoleAccess(database, operators)
    attempts = 20
    state = {"hashing": 0, "refused": 0}
    changed = threading.Condition()
    scrypt = urp.handoff.operators._scrypt

    def gathered(*args: Any, **kwargs: Any) -> bytes:
        with changed:
            state["hashing"] += 1
            changed.notify_all()
            # Not a timing assertion: the fallback only keeps a broken build from hanging.
            changed.wait_for(lambda: state["hashing"] + state["refused"] >= attempts, 60)
        return scrypt(*args, **kwargs)

    monkeypatch.setattr(urp.handoff.operators, "_scrypt", gathered)
    outcomes: list[str] = []

    def attempt(number: int) -> None:
        try:
            login = access.log_in("mario.rossi", "sbagliata!!", f"198.51.100.{number}")
            outcomes.append("wrong" if login is None else "in")
        except LoginThrottledError:
            with changed:
                state["refused"] += 1
                changed.notify_all()
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(outcomes) == ["refused"] * (attempts - MAX_FAILURES) + ["wrong"] * MAX_FAILURES
    assert len(failures(database)) == MAX_FAILURES
    with pytest.raises(LoginThrottledError):
        access.log_in("mario.rossi", PASSWORD, "192.0.2.1")  # even the right password


def test_an_address_is_blocked_after_twenty_failures_whatever_the_usernames(
    world: World,
) -> None:
    attacker = world.browser()
    for number in range(MAX_ADDRESS_FAILURES):
        assert log_in_from(attacker, ATTACKER, f"utente{number}", "sbagliata!!").status_code == 401
    blocked = log_in_from(attacker, ATTACKER, "mario.rossi")  # a right password, a new name
    assert blocked.status_code == 429 and "da questa rete" in blocked.text
    assert "urp_session" not in attacker.cookies
    assert len(failures(world.database)) == MAX_ADDRESS_FAILURES
    # The account is not blocked: from another address the right password gets in.
    assert log_in_from(world.browser(), "198.51.100.1", "mario.rossi").status_code == 200
    world.clock.advance(minutes=16)
    assert log_in_from(attacker, ATTACKER, "lucia.bianchi").url == attacker.url("/")


def test_the_forwarded_address_is_believed_only_from_the_local_proxy() -> None:
    def address(peer: str, forwarded: str | None) -> str | None:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        request = make_mocked_request("POST", "/login", headers=headers)
        return client_address(request.clone(remote=peer))

    # nginx appends what it saw: whatever the client wrote before it is ignored.
    assert address("127.0.0.1", "10.9.9.9, 203.0.113.7") == ATTACKER
    assert address("::1", ATTACKER) == ATTACKER
    assert address("127.0.0.1", None) == "127.0.0.1"
    assert address("198.51.100.20", "10.9.9.9") == "198.51.100.20"  # no proxy: the peer
    assert address_key("2001:db8:1:2:3:4:5:6") == address_key("2001:db8:1:2:ffff::1")
    assert address_key("::ffff:203.0.113.7") == ATTACKER
    assert address_key("not an address") is None


def test_a_session_ends_twelve_hours_after_login_however_busy(world: World) -> None:
    browser = world.logged_in("mario.rossi")
    for _ in range(5):
        world.clock.advance(hours=2, minutes=20)  # always in use: 11 h 40 min in all
        assert browser.page("/").url == browser.url("/")
    world.clock.advance(minutes=21)
    page = browser.page("/")
    assert page.url == browser.url("/login?motivo=scaduta")
    assert raw_rows(world.database, "console_sessions")[0]["expires_at"] is not None


def render_nginx_conf(prefix: Path) -> str:
    """What scripts/run-prod.sh writes to var/prod/nginx.conf, with its placeholders."""
    template = (PROJECT_ROOT / "scripts" / "nginx-prod.conf.in").read_text(encoding="utf-8")
    return string.Template(template).safe_substitute(
        PREFIX=str(prefix),
        HOST="127.0.0.1",
        RASA_PORT="5005",
        CONSOLE_PORT="5080",
        CONSOLE_INTERNAL_PORT="5081",
        RASA_SERVERS="    server 127.0.0.1:5011;\n",
    )


def test_the_production_profile_sends_secure_cookies_and_hsts(tmp_path: Path) -> None:
    script = (PROJECT_ROOT / "scripts" / "run-prod.sh").read_text(encoding="utf-8")
    assert re.search(r"^export URP_CONSOLE_SECURE_COOKIES=\S*1\S*$", script, re.MULTILINE)
    conf = render_nginx_conf(tmp_path)
    servers = conf.split("  server {")[1:]
    assert len(servers) == 2
    for server in servers:
        # "always": on the error pages too; the browser keeps it only when it came by HTTPS.
        assert re.search(
            r'add_header Strict-Transport-Security "max-age=\d{8,}[^"]*" always;', server
        )
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None:
        pytest.skip("nginx is not installed: the rendered configuration is not checked by it")
    path = tmp_path / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    checked = subprocess.run(
        [nginx, "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
