"""After a chat with an operator the citizen rates it, with the real processes of `make run`:
the question arrives with its five buttons when the operator resolves the chat, the digit
and the comment are answered by the channels' door (never by the NLU), and the console's
«Valutazioni» page shows them. The citizen writes on Rasa's callback channel."""

from __future__ import annotations

import time

import pytest

from tests.e2e.console_client import add_operator, csrf, log_in, newest_handoff, says
from tests.e2e.servers import CallbackReceiver, RunningAssistant

pytestmark = pytest.mark.e2e

CITIZEN = "393330005566"
PASSWORD = "password-operatrice-e2e"


def test_the_citizen_rates_the_chat_and_the_office_reads_it(
    assistant: RunningAssistant, callback: CallbackReceiver
) -> None:
    add_operator(assistant, "rita.neri", "Rita Neri", PASSWORD)
    says(assistant, CITIZEN, "/request_operator")
    callback.wait_for(CITIZEN, 1)

    console, queue = log_in(assistant, "rita.neri", PASSWORD)
    handoff_id = newest_handoff(queue)
    time.sleep(2)  # every reply to the request has arrived
    seen = len(callback.texts_for(CITIZEN))
    chat_url = f"{assistant.console_url}/handoffs/{handoff_id}"
    claimed = console.post(f"{chat_url}/claim", data={"csrf_token": csrf(queue)}, timeout=30)
    assert claimed.status_code == 200
    page = console.post(
        f"{chat_url}/reply",
        data={"text": "Ecco il link al modulo.", "csrf_token": csrf(claimed)},
        timeout=30,
    )
    resolved = console.post(f"{chat_url}/resolve", data={"csrf_token": csrf(page)}, timeout=30)
    assert resolved.status_code == 200

    texts = callback.wait_for(CITIZEN, seen + 4)
    assert "ora ti risponde di nuovo l'assistente" in texts[seen + 2]
    assert texts[seen + 3].startswith("Com'è andata con l'operatore?")
    question = [m for m in callback.messages if m.get("recipient_id") == CITIZEN][seen + 3]
    assert [b["payload"] for b in question["buttons"]] == ["1", "2", "3", "4", "5"]

    says(assistant, CITIZEN, "4")
    assert callback.wait_for(CITIZEN, seen + 5)[seen + 4].startswith("Grazie del voto!")
    says(assistant, CITIZEN, "Scrivi un commento")
    assert "lo leggerà l'ufficio" in callback.wait_for(CITIZEN, seen + 6)[seen + 5]
    says(assistant, CITIZEN, "Rita è stata gentilissima")
    assert "l'ho passato all'ufficio" in callback.wait_for(CITIZEN, seen + 7)[seen + 6]

    ratings = console.get(f"{assistant.console_url}/valutazioni", timeout=30)
    assert "Rita è stata gentilissima" in ratings.text
    assert CITIZEN not in ratings.text

    # Nothing is awaited any more: the assistant answers again.
    says(assistant, CITIZEN, "ciao")
    assert "Comune di Ancona" in callback.wait_for(CITIZEN, seen + 8)[seen + 7]
