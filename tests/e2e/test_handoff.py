"""A chat handed to an operator and back, with the real processes of `make run`.

The citizen writes on Rasa's callback channel (the bot's messages are POSTed to a
receiver, as to an integrator); the operator uses the console over HTTP, as a browser
would: login form, CSRF tokens, claim, reply, resolve.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.console_client import add_operator, csrf, log_in, newest_handoff, says
from tests.e2e.servers import CallbackReceiver, RunningAssistant

pytestmark = pytest.mark.e2e

CITIZEN = "393330001122"
HANG = 600  # seconds: a loaded machine is slow, a broken test hangs
PASSWORD = "password-operatore-e2e"


def test_an_operator_takes_the_chat_answers_and_gives_it_back(
    assistant: RunningAssistant, callback: CallbackReceiver
) -> None:
    add_operator(assistant, "mario.rossi", "Mario Rossi", PASSWORD)
    # Two unclear messages in a row: the chat goes to the office's queue.
    says(assistant, CITIZEN, "/nlu_fallback")
    assert "altre parole" in callback.wait_for(CITIZEN, 1)[0]
    says(assistant, CITIZEN, "/nlu_fallback")
    handed_over = "\n".join(callback.wait_for(CITIZEN, 3)[1:])
    assert "non riesco proprio a capire" in handed_over
    assert "Ti passo a un operatore" in handed_over or "è in coda" in handed_over

    console, queue = log_in(assistant, "mario.rossi", PASSWORD)
    assert CITIZEN not in queue.text  # the phone number never reaches the console
    handoff_id = newest_handoff(queue)
    assert f"Conversazione n. {handoff_id}" in queue.text

    chat_url = f"{assistant.console_url}/handoffs/{handoff_id}"
    claimed = console.post(f"{chat_url}/claim", data={"csrf_token": csrf(queue)}, timeout=30)
    assert claimed.status_code == 200
    assert "Ciao, sono Mario dell'URP" in callback.wait_for(CITIZEN, 4)[3]

    reply = "Buongiorno, sono Mario dell'URP: mi scrive cosa le serve?"
    page = console.post(
        f"{chat_url}/reply", data={"text": reply, "csrf_token": csrf(claimed)}, timeout=30
    )
    assert page.status_code == 200
    assert callback.wait_for(CITIZEN, 5)[4] == reply

    # While the operator holds the chat, the bot is silent and the console gets the words.
    says(assistant, CITIZEN, "devo cambiare la residenza di mia madre")
    deadline = time.monotonic() + HANG
    while "residenza di mia madre" not in console.get(chat_url, timeout=30).text:
        assert time.monotonic() < deadline, "the citizen's message never reached the console"
        time.sleep(0.5)
    time.sleep(2)
    assert len(callback.texts_for(CITIZEN)) == 5

    page = console.get(chat_url, timeout=30)
    resolved = console.post(f"{chat_url}/resolve", data={"csrf_token": csrf(page)}, timeout=30)
    assert resolved.status_code == 200
    assert "ora ti risponde di nuovo l'assistente" in callback.wait_for(CITIZEN, 6)[5]
    assert callback.wait_for(CITIZEN, 7)[6].startswith("Com'è andata con l'operatore?")
    queue = console.get(assistant.console_url, timeout=30)
    assert f'href="/handoffs/{handoff_id}"' not in queue.text

    # The bot answers again.
    says(assistant, CITIZEN, "ciao")
    assert "Comune di Ancona" in callback.wait_for(CITIZEN, 8)[7]
