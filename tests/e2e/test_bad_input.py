"""Bad input on the REST channel, against the real Rasa and action server: 4xx, never 500,
and a polite answer to whatever a citizen can type."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from tests.e2e.servers import RunningAssistant

pytestmark = pytest.mark.e2e

DOMAIN = yaml.safe_load(Path("domain.yml").read_text(encoding="utf-8"))


def response_text(name: str) -> str:
    return DOMAIN["responses"][name][0]["text"]


def post(assistant: RunningAssistant, body: bytes, method: str = "POST") -> tuple[int, object]:
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/rest/webhook",
        data=body if method == "POST" else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def say(assistant: RunningAssistant, sender: str, message: object) -> list[dict]:
    status, replies = post(assistant, json.dumps({"sender": sender, "message": message}).encode())
    assert status == 200, replies
    assert isinstance(replies, list)
    return replies


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8",
        b'{"sender": "a", "message": ',
        b"[1, 2]",
        b'"just a string"',
        b'{"message": "ciao"}',
        b'{"sender": 12, "message": "ciao"}',
        b'{"sender": "a", "message": ["ciao"]}',
        b'{"sender": "a"}',
        b'{"sender": "a", "message": "ciao", "metadata": "x"}',
        b"",
    ],
)
def test_malformed_bodies_get_400(assistant: RunningAssistant, body: bytes) -> None:
    status, error = post(assistant, body)
    assert status == 400, error


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/webhooks/callback/webhook"])
def test_deeply_nested_json_gets_400(assistant: RunningAssistant, path: str) -> None:
    # Deeper than json's recursion, within the 64 KB: a RecursionError was a 500.
    status = assistant_post(assistant, path, b"[" * 60_000)
    assert status == 400


def assistant_post(assistant: RunningAssistant, path: str, body: bytes) -> int:
    request = urllib.request.Request(
        f"{assistant.url}{path}", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_an_oversized_body_gets_413(assistant: RunningAssistant) -> None:
    body = json.dumps({"sender": "a", "message": "x" * 70_000}).encode()
    assert post(assistant, body)[0] == 413


def test_an_unknown_method_gets_a_4xx(assistant: RunningAssistant) -> None:
    assert post(assistant, b"", method="PUT")[0] == 405
    assert post(assistant, b"", method="DELETE")[0] == 405


@pytest.mark.parametrize("message", ["", "   \n\t ", "\x00\x07\x1b\x9b"])
def test_nothing_readable_gets_a_polite_answer(assistant: RunningAssistant, message: str) -> None:
    replies = say(assistant, uuid.uuid4().hex, message)
    # A new conversation: the AI disclosure heads the first reply (channels/gate.py).
    opening = response_text("utter_ai_disclosure")
    assert [r["text"] for r in replies] == [
        f"{opening}\n{response_text('utter_unsupported_message')}"
    ]


@pytest.mark.parametrize("message", ["a" * 20_000, "orari anagrafe " * 1300, "😀🙏🎉", "ciao\x00"])
def test_odd_messages_are_answered(assistant: RunningAssistant, message: str) -> None:
    replies = say(assistant, uuid.uuid4().hex, message)
    assert replies and all(r.get("text") or r.get("buttons") or r.get("custom") for r in replies)


def test_a_flood_gets_one_notice_and_other_citizens_are_unaffected(
    assistant: RunningAssistant,
) -> None:
    flooder = uuid.uuid4().hex
    notice = response_text("utter_rate_limited")
    answers = [say(assistant, flooder, "ciao") for _ in range(45)]
    texts = [r.get("text") for replies in answers for r in replies]
    assert texts.count(notice) == 1
    assert [] in answers  # the rest of the flood is dropped, not answered
    replies = say(assistant, uuid.uuid4().hex, "ciao")
    assert replies and notice not in [r.get("text") for r in replies]


def _status(url: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_console_answers_4xx_to_bad_forms(assistant: RunningAssistant) -> None:
    login = f"{assistant.console_url}/login"
    form = "application/x-www-form-urlencoded"
    assert _status(login, b"username=\xff\xfe&password=x", form) == 400
    assert _status(login, b"x" * (3 * 1024 * 1024), form) == 413
    assert 400 <= _status(login, b"\xff{", "multipart/form-data; boundary=z") < 500


GARBAGE = [b"\xff\xfe\x00 non UTF-8", b'{"sender": "a", "message": ', b"[1, 2]", b'{"text": 5}']


@pytest.mark.parametrize("body", GARBAGE, ids=["utf8", "truncated", "list", "number"])
def test_every_http_endpoint_answers_4xx_to_garbage(
    assistant: RunningAssistant, body: bytes
) -> None:
    token = f"?token={assistant.token}"
    endpoints = [
        ("POST", f"{assistant.url}/model/parse{token}"),
        ("POST", f"{assistant.url}/conversations/prova/messages{token}"),
        ("POST", f"{assistant.url}/conversations/prova/trigger_intent{token}"),
        ("POST", f"{assistant.url}/conversations/prova/tracker/events{token}"),
        ("PUT", f"{assistant.url}/conversations/prova/tracker/events{token}"),
        ("POST", f"{assistant.url}/model/test/intents{token}"),
        ("POST", f"{assistant.url}/webhooks/callback/webhook"),
        ("POST", f"{assistant.url}/webhooks/rest/webhook"),
        ("POST", f"{assistant.url}/webhooks/whatsapp/webhook"),
        ("POST", f"{assistant.url}/webhooks/twilio/webhook"),
        ("POST", f"{assistant.url}/socket.io/?EIO=4&transport=polling"),
        ("POST", f"http://127.0.0.1:{assistant.actions_port}/webhook"),
        ("POST", f"{assistant.console_url}/login"),
        ("POST", f"{assistant.widget_url}/"),
    ]
    statuses = {}
    for method, url in endpoints:
        request = urllib.request.Request(
            url, data=body, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                statuses[url] = answer.status
        except urllib.error.HTTPError as error:
            statuses[url] = error.code
    assert {url: s for url, s in statuses.items() if not 400 <= s < 500} == {}
    # The assistant is still fine.
    assert say(assistant, uuid.uuid4().hex, "ciao")


def test_a_huge_message_to_the_api_gets_413(assistant: RunningAssistant) -> None:
    body = json.dumps({"text": "x" * 2_000_000}).encode()
    url = f"{assistant.url}/model/parse?token={assistant.token}"
    assert _status(url, body, "application/json") == 413


def test_no_citizen_words_in_the_log(assistant: RunningAssistant) -> None:
    words = "la mia vicina Gianna Zanzibarotti ha perso il gatto"
    sender = "393471112233"
    say(assistant, sender, words)
    say(assistant, sender, "farmacia di turno oggi")
    log = assistant.log.read_text(encoding="utf-8", errors="replace")
    assert "Zanzibarotti" not in log
    assert sender not in log
