"""The operator's side of the end-to-end chats: added with `urp operators add`, then the
console over HTTP as a browser would use it (login form, CSRF tokens); and the citizen
writing on Rasa's callback channel."""

from __future__ import annotations

import re

import requests

from tests.e2e.servers import RunningAssistant

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def says(assistant: RunningAssistant, citizen: str, text: str) -> None:
    """The citizen writes on Rasa's callback channel."""
    status, _ = assistant.request(
        "/webhooks/callback/webhook", {"sender": citizen, "message": text}
    )
    assert status == 200


def csrf(page: requests.Response) -> str:
    match = _CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def add_operator(assistant: RunningAssistant, username: str, name: str, password: str) -> None:
    """An operator with a password of their own (not a temporary one to change)."""
    added = assistant.urp(
        "operators", "add", username, "--name", name, "--definitiva",
        URP_OPERATOR_PASSWORD=password,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def log_in(
    assistant: RunningAssistant, username: str, password: str
) -> tuple[requests.Session, requests.Response]:
    """The operator's browser session on the console, and the queue it lands on."""
    console = requests.Session()
    login = console.get(f"{assistant.console_url}/login", timeout=30)
    assert login.status_code == 200
    queue = console.post(
        f"{assistant.console_url}/login",
        data={"username": username, "password": password, "csrf_token": csrf(login)},
        timeout=30,
    )
    assert queue.status_code == 200
    return console, queue


def newest_handoff(queue: requests.Response) -> int:
    """The id of the latest chat in the console's queue."""
    return max(map(int, re.findall(r'href="/handoffs/(\d+)"', queue.text)))
