"""What the bot says on the web and while a chat waits for an operator, with the real
Rasa and action servers of `make run` (issue 26, items 2 and 7).

The citizen writes on the REST channel: like the web chat, a channel the memo never
reaches (its replies are Rasa's "collector" variants, the same words as the web chat's).
Every first reply of a conversation starts with the AI disclosure line.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
import yaml

from channels.gate import conversation_id
from tests.e2e.servers import RunningAssistant
from urp.core.db import Database
from urp.core.settings import load_settings
from urp.handoff.queue import HandoffService

pytestmark = pytest.mark.e2e

DOMAIN = yaml.safe_load(Path("domain.yml").read_text(encoding="utf-8"))
LINK = "https://wa.me/390712222222?text="
DETAILS = (
    "mia madre ha novant'anni e la sua pratica della pensione è ferma da marzo",
    "il numero della pratica è 1234 del 2026",
)


def response_text(name: str) -> str:
    return DOMAIN["responses"][name][0]["text"]


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def citizen(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def test_iscrivimi_on_the_web_gives_the_whatsapp_link_and_subscribes_nobody(
    assistant: RunningAssistant,
) -> None:
    sender = citizen("web")
    reply = texts(assistant.chat(sender, "Iscrivimi"))
    assert reply.startswith(response_text("utter_ai_disclosure"))
    assert LINK + "Iscrivimi" in reply
    assert "Iscrizione fatta" not in reply and "ricevi qui" not in reply
    status = texts(assistant.chat(sender, "/ask_subscription_status"))
    assert LINK + "sono%20iscritto%3F" in status
    assert LINK + "Cancellami" in texts(assistant.chat(sender, "Cancellami"))
    privacy = texts(assistant.chat(sender, "/ask_privacy_policy"))
    assert "messaggi che ci scrivi" in privacy and "il tuo numero" not in privacy
    database = Database(assistant.database_url)
    try:
        with database.engine.connect() as connection:
            channels = connection.exec_driver_sql("SELECT channel FROM subscribers").scalars()
            assert "rest" not in set(channels)
    finally:
        database.dispose()


def test_while_waiting_for_an_operator_the_details_are_added_to_the_request(
    assistant: RunningAssistant,
) -> None:
    sender = citizen("attesa")
    queued = texts(assistant.chat(sender, "/request_operator"))
    assert "scrivi pure i dettagli" in queued
    added = response_text("utter_handoff_note_added")
    first = texts(assistant.chat(sender, DETAILS[0]))
    assert first == added
    assert "non mi occupo" not in first and "non ho capito" not in first
    # The next one, right after: added too, without saying it again.
    assert assistant.chat(sender, DETAILS[1]) == []
    # A question the bot can answer still gets its answer, and the request stays queued.
    hours = texts(assistant.chat(sender, "/ask_opening_hours"))
    assert "URP" in hours and added not in hours
    database = Database(assistant.database_url)
    try:
        handoffs = HandoffService(database, load_settings())
        handoff = handoffs.for_conversation(conversation_id("rest", sender))
        assert handoff is not None and handoff.status == "pending"
        # The operator reads every detail in the transcript, in order (the event broker
        # writes it just after the replies).
        deadline = time.monotonic() + 30
        while True:
            said = [m.text for m in handoffs.messages(handoff.id) if m.author == "citizen"]
            if [text for text in said if text in DETAILS] == list(DETAILS):
                break
            assert time.monotonic() < deadline, said
            time.sleep(0.5)
    finally:
        database.dispose()
