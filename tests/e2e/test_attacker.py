"""An attacker on this machine, against `make run` and `make run-prod`: the action server
refuses forged calls, the HTTP API refuses a large unauthenticated body unread, and no
secret can be read from a process's command line."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import jwt
import pytest
from sqlalchemy import text

from tests.e2e.production import production
from tests.e2e.servers import RunningAssistant, listening_addresses, processes_below
from urp.core.db import Database
from urp.handoff.rasa_api import RasaConversations

pytestmark = pytest.mark.e2e

# Rasa's own call of action_subscribe for a citizen who never asked (forged consent).
NUMBER = "393339990001"
FORGED = {
    "next_action": "action_subscribe",
    "sender_id": NUMBER,
    "tracker": {
        "sender_id": NUMBER,
        "slots": {},
        "latest_message": {"intent": {"name": "subscribe"}, "text": "iscrivimi"},
        "latest_input_channel": "whatsapp",
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    },
    "domain": {},
    "version": "3.6.21",
}
# About 6 MB of training data that a parser would read to its end before finding it broken.
TRAINING_DATA = b"nlu:\n" + b"- intent: greet\n  examples: |\n    - ciao\n" * 150_000
BROKEN_TRAINING_DATA = TRAINING_DATA + b"\n[unclosed"


@dataclass
class Target:
    assistant: RunningAssistant  # its url: the Rasa server, or make run-prod's balancer
    rasa_servers: tuple[str, ...]  # the Rasa servers themselves


@pytest.fixture(scope="module", params=["make run", "make run-prod"])
def target(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Target]:
    if request.param == "make run":
        assistant = request.getfixturevalue("assistant")
        yield Target(assistant, (assistant.url,))
        return
    with production(tmp_path_factory.mktemp("attacker")) as running:
        yield Target(running.assistant, running.replicas)


def status(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def texts(replies: list[dict]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def test_the_action_server_listens_only_on_the_loopback_interface(target: Target) -> None:
    assert listening_addresses(target.assistant.actions_port) == {"127.0.0.1"}


def test_forged_calls_to_the_action_server_are_refused(target: Target) -> None:
    actions = f"http://127.0.0.1:{target.assistant.actions_port}"
    forged = json.dumps(FORGED).encode()
    assert status(f"{actions}/webhook", forged) == 401
    assert status(f"{actions}/webhook", forged, {"X-URP-Action-Secret": "indovinato"}) == 401
    assert status(f"{actions}/actions") == 401
    # Nobody was subscribed; the real conversation, through the Rasa server, still works.
    database = Database(target.assistant.database_url)
    try:
        with database.engine.connect() as connection:
            subscribed = connection.execute(
                text("SELECT count(*) FROM subscribers WHERE user_id = :number"), {"number": NUMBER}
            ).scalar_one()
    finally:
        database.dispose()
    assert subscribed == 0
    assert "wa.me/" in texts(target.assistant.chat("393339990002", "Iscrivimi"))


def test_an_unauthenticated_large_body_is_refused_before_it_is_read(target: Target) -> None:
    """Old behaviour: the whole body parsed (about 7 s a MB, the event loop blocked), then
    400 for the broken end. Now: 401, before any parser."""
    forged = jwt.encode({"user": {"username": "x", "role": "admin"}}, "x" * 32, "HS256")
    for server in target.rasa_servers:
        train = f"{server}/model/train"
        assert status(train, BROKEN_TRAINING_DATA) == 401
        assert status(f"{train}?token=indovinato", BROKEN_TRAINING_DATA) == 401
        assert status(train, BROKEN_TRAINING_DATA, {"Authorization": f"Bearer {forged}"}) == 401
    # Through the balancer too: below 1 MB the replica refuses it; above, nginx (413).
    train = f"{target.assistant.url}/model/train"
    assert status(train, BROKEN_TRAINING_DATA[-900_000:]) == 401
    if target.assistant.url not in target.rasa_servers:
        assert status(train, BROKEN_TRAINING_DATA) == 413


def test_no_secret_on_any_command_line(target: Target) -> None:
    running = target.assistant
    commands = processes_below(running.process.pid)
    assert any("servers.rasa_server" in command for command in commands.values())
    assert any("servers.action_server" in command for command in commands.values())
    for secret in (running.token, running.jwt_secret, running.action_secret):
        assert [c for c in commands.values() if secret in c] == []


def test_the_console_calls_the_api_with_a_jwt_in_a_header(target: Target) -> None:
    """What the console and the broker do (urp/handoff/rasa_api.py), against the real server."""
    running = target.assistant
    RasaConversations.from_environment(running.environment).pause("prova-jwt")
    status, tracker = running.request("/conversations/prova-jwt/tracker", token=running.token)
    assert status == 200 and tracker["paused"] is True
