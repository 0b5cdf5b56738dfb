"""Soak: 10,000 messages over 200 conversations on loopback, against the real Rasa and
action server (REST channel). Zero errors (every message answered, no 5xx) and the Rasa
process's memory flat: RSS after the warm-up vs at the end, with a generous bound.

The conversations take turns (round robin, a few at a time), as citizens do: no one of
them reaches the per-sender rate limit. ``URP_SOAK_MESSAGES`` runs a shorter soak.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.servers import RunningAssistant, processes_below

pytestmark = pytest.mark.e2e

MESSAGES = int(os.environ.get("URP_SOAK_MESSAGES", "10000"))
CONVERSATIONS = 200
WARM_UP = CONVERSATIONS * 2
PARALLEL = 4
# What citizens write: information, smalltalk, odd input; no forms left open for long.
TEXTS = [
    "ciao",
    "orari anagrafe",
    "farmacie di turno domani",
    "grazie",
    "😀",
    "si può fare il bagno?",
    "   ",
    "a" * 3000,
    "bandi aperti",
    "come stai?",
]
GROWTH_BOUND = 1.5  # RSS at the end / after the warm-up


def _rasa_pid(assistant: RunningAssistant) -> int:
    for pid, command in processes_below(assistant.process.pid).items():
        parts = command.split()
        if "--model" in parts and "actions" not in parts:
            return pid
    raise AssertionError("processo di Rasa non trovato")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("VmRSS mancante")


def _say(assistant: RunningAssistant, sender: str, text: str) -> int:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            replies = json.loads(answer.read())
    except Exception:  # a 5xx, a reset, a timeout: one error
        return 1
    return 0 if isinstance(replies, list) and replies else 1


def test_soak(assistant: RunningAssistant) -> None:
    senders = [f"soak-{uuid.uuid4().hex}" for _ in range(CONVERSATIONS)]
    plan = [
        (senders[i % CONVERSATIONS], TEXTS[(i // CONVERSATIONS) % len(TEXTS)])
        for i in range(MESSAGES)
    ]
    pid = _rasa_pid(assistant)
    started = time.monotonic()
    with ThreadPoolExecutor(PARALLEL) as pool:
        warm = list(pool.map(lambda m: _say(assistant, *m), plan[:WARM_UP]))
        rss_warm = _rss_mb(pid)
        rest = list(pool.map(lambda m: _say(assistant, *m), plan[WARM_UP:]))
    elapsed = time.monotonic() - started
    rss_end = _rss_mb(pid)
    errors = sum(warm) + sum(rest)
    print(
        f"\nsoak: {MESSAGES} messaggi, {CONVERSATIONS} conversazioni in {elapsed:.0f} s "
        f"({MESSAGES / elapsed:.1f} msg/s), errori {errors}, "
        f"RSS di Rasa {rss_warm:.0f} MB dopo il riscaldamento, {rss_end:.0f} MB alla fine"
    )
    assert errors == 0
    assert rss_end < rss_warm * GROWTH_BOUND
