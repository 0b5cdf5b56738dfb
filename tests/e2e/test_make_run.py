"""`make run` on a fresh checkout: the real Rasa server and action server, over HTTP."""

from __future__ import annotations

import pytest

from channels.gate import conversation_id
from tests.e2e.servers import port_open, start, stop

pytestmark = pytest.mark.e2e


def texts(replies) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def test_answers_a_greeting_in_italian_with_the_municipality_facts(assistant) -> None:
    replies = assistant.chat("cittadino-1", "ciao")
    assert replies, "no reply"
    assert "Comune di Ancona" in texts(replies)
    assert "assistente" in texts(replies)


def test_prints_how_to_chat(assistant) -> None:
    output = assistant.log.read_text(encoding="utf-8")
    assert f"curl -s localhost:{assistant.rasa_port}/webhooks/rest/webhook" in output
    assert "make shell" in output


def test_http_api_needs_the_token(assistant) -> None:
    body = {"text": "farmacia di turno stanotte"}
    assert assistant.request("/model/parse", body)[0] == 401
    status, parsed = assistant.request("/model/parse", body, token=assistant.token)
    assert status == 200
    assert parsed["intent"]["name"] == "ask_pharmacy_shift"
    assert {"entity": "date", "value": "stanotte"}.items() <= parsed["entities"][0].items()


def test_second_unclear_message_hands_over_then_back_to_the_bot(assistant) -> None:
    first = assistant.chat("cittadino-2", "/nlu_fallback")
    assert "altre parole" in texts(first)
    second = texts(assistant.chat("cittadino-2", "/nlu_fallback"))
    assert "non riesco proprio a capire" in second
    # In service hours or not, the request is queued for an operator.
    assert "Ti passo a un operatore" in second or "La tua richiesta è in coda" in second
    assert "già in coda" in texts(assistant.chat("cittadino-2", "voglio un operatore"))
    assert "ho annullato la richiesta" in texts(assistant.chat("cittadino-2", "torna al bot"))


def test_repeated_abuse_is_warned_then_flagged(assistant) -> None:
    assert "rispettosi" in texts(assistant.chat("cittadino-3", "/abuse"))
    assert "segnalato" in texts(assistant.chat("cittadino-3", "/abuse"))
    conversation = conversation_id("rest", "cittadino-3")  # the REST channel's namespace
    status, tracker = assistant.request(
        f"/conversations/{conversation}/tracker", token=assistant.token
    )
    assert status == 200 and tracker["slots"]["abuse_flagged"] is True


def test_information_services_answer_from_the_example_data(assistant) -> None:
    # Explicit dates and facts that do not depend on the day the test runs.
    pharmacies = texts(assistant.chat("cittadino-4", "farmacie di turno il 15/08/2027?"))
    assert "Farmacie di turno" in pharmacies and "• *Farmacia" in pharmacies
    office = texts(assistant.chat("cittadino-4", "orari dell'ufficio anagrafe"))
    assert "Ufficio anagrafe" in office and "Largo XXIV Maggio 1" in office
    memo = texts(assistant.chat("cittadino-4", "non mi è arrivato il memo"))
    assert "*MEMO COMUNE DI ANCONA*" in memo
    calls = texts(assistant.chat("cittadino-4", "ci sono contributi per l'affitto?"))
    assert "Contributo per l'affitto 2026" in calls
    report = texts(assistant.chat("cittadino-4", "c'è una buca enorme in via Flaminia"))
    assert "https://www.comune.ancona.gov.it/segnalazioni" in report


def test_ctrl_c_stops_every_server(tmp_path) -> None:
    running = start(tmp_path)
    ports = (running.rasa_port, running.actions_port, running.console_port, running.widget_port)
    assert all(map(port_open, ports))
    assert running.ctrl_c() == 0
    assert not any(map(port_open, ports))
    assert "Fermato." in running.log.read_text(encoding="utf-8")


def test_another_municipality_by_changing_only_urp_settings(tmp_path) -> None:
    running = start(tmp_path, URP_SETTINGS="settings/arezzo.yml")
    try:
        replies = running.chat("cittadino-ar", "ciao")
        assert "Comune di Arezzo" in texts(replies)
        hours = texts(running.chat("cittadino-ar", "siete aperti adesso?"))
        assert "URP: " in hours and "0575 377 000" in hours
        office = texts(running.chat("cittadino-ar", "orari dell'ufficio anagrafe"))
        assert "Piazza Amintore Fanfani 2" in office
        memo = texts(running.chat("cittadino-ar", "mi rimandate l'ultimo memo?"))
        assert "*INFO DAL COMUNE DI AREZZO*" in memo
    finally:
        stop(running)
