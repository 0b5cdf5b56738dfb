"""An acknowledged message is never lost: the real servers killed between Meta's 200 and
the answer, started again, and every message answered once, in order."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.servers import RunningAssistant, start, stop
from tests.simulators.graph_api import (
    APP_SECRET,
    GraphApiSimulator,
    delivery,
    post_delivery,
)
from urp.whatsapp.webhook import SIGNATURE_HEADER

pytestmark = pytest.mark.e2e


@pytest.fixture
def graph() -> Iterator[GraphApiSimulator]:
    simulator = GraphApiSimulator()
    yield simulator
    simulator.close()


def webhook(assistant: RunningAssistant) -> str:
    return f"{assistant.url}/webhooks/whatsapp/webhook"


def waiting(assistant: RunningAssistant) -> list[str]:
    """The messages acknowledged and not handled yet, in the assistant's store."""
    with sqlite3.connect(assistant.database_url.removeprefix("sqlite:///")) as db:
        rows = db.execute("SELECT message_id FROM inbound_deliveries ORDER BY id").fetchall()
    return [row[0] for row in rows]


def held_at_meta(graph: GraphApiSimulator, citizen: str) -> bool:
    """An answer to ``citizen`` reached the Graph API, which holds it unanswered."""
    return any(r["json"].get("to") == citizen for r in list(graph.requests))


def until(condition, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_messages_acknowledged_before_a_sigkill_are_answered_once_after_the_restart(
    tmp_path: Path, graph: GraphApiSimulator
) -> None:
    environment = {**graph.environment(), "URP_HASH_SALT": "ack-" + secrets.token_hex(16)}
    citizen = "393330000301"
    greeting = delivery(citizen, {"type": "text", "text": {"body": "ciao"}})
    question = delivery(citizen, {"type": "text", "text": {"body": "farmacia di turno oggi"}})
    ids = [p["entry"][0]["changes"][0]["value"]["messages"][0]["id"] for p in (greeting, question)]
    assistant = start(tmp_path, **environment)
    try:
        graph.fail_next("timeout", to=citizen)  # the first answer hangs at Meta's door
        assert post_delivery(webhook(assistant), greeting) == 200
        until(lambda: held_at_meta(graph, citizen), "the answer never left")
        assert post_delivery(webhook(assistant), question) == 200  # waits its turn
    finally:
        os.killpg(assistant.process.pid, signal.SIGKILL)  # a crash, not a stop
        assistant.process.wait()
    assert graph.sent(citizen) == []  # nothing answered yet
    assert waiting(assistant) == ids  # both acknowledged, both kept

    assistant = start(tmp_path, **environment)  # same store, same conversations
    try:
        graph.wait_for(citizen, 2, timeout=300)  # once the dead holder's lease runs out
        until(lambda: not waiting(assistant), "the messages stayed in the inbox")
        time.sleep(3)
        answers = graph.sent(citizen)
        assert len(answers) == 2, answers
        first, second = (json.dumps(a, ensure_ascii=False) for a in answers)
        assert "Comune di Ancona" in first and "Farmaci" in second  # in order
        log = assistant.log.read_text(encoding="utf-8", errors="replace")
        assert citizen not in log
        # Bad input is refused, never a 500.
        assert post_signed(webhook(assistant), b"{}", "sha256=\u00e9") == 401
        nested = b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 50_000
        nested += b"]" * 50_000 + b"}"
        assert 400 <= post_delivery(webhook(assistant), None, raw=nested, secret=APP_SECRET) < 500
    finally:
        stop(assistant)


def post_signed(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header(SIGNATURE_HEADER, signature)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
