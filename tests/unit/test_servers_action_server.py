"""The action server listens on the loopback interface and runs actions only for the Rasa
server, which knows the shared secret (servers/action_server.py).

The real launcher, started as `make run` starts it, on a free port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from servers import action_server
from tests.e2e.servers import ROOT, free_port, listening_addresses

SECRET = "segreto-condiviso-di-prova"
# What an attacker would send: a tracker asking to subscribe a number (forged consent).
FORGED = {
    "next_action": "action_subscribe",
    "sender_id": "393331234567",
    "tracker": {"sender_id": "393331234567", "slots": {}, "latest_message": {}, "events": []},
    "domain": {},
    "version": "3.6.21",
}


@dataclass
class Started:
    process: subprocess.Popen
    port: int

    def call(
        self, method: str, path: str, body: bytes | None = None, secret: str | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method
        )
        request.add_header("Content-Type", "application/json")
        if secret is not None:
            request.add_header(action_server.SECRET_HEADER, secret)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def launch(port: int, **env: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("URP_ACTION")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servers.action_server",
            "--actions",
            "actions",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={**environment, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def started(tmp_path: Path, **env: str) -> Iterator[Started]:
    port = free_port()
    process = launch(port, URP_DB_URL=f"sqlite:///{tmp_path / 'urp.db'}", **env)
    running = Started(process, port)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if running.call("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "action server not started"
            time.sleep(0.3)
        yield running
    finally:
        process.terminate()
        process.communicate(timeout=60)


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    yield from started(tmp_path_factory.mktemp("actions"), URP_ACTION_SECRET=SECRET)


def test_it_listens_only_on_the_loopback_interface(actions: Started) -> None:
    assert listening_addresses(actions.port) == {"127.0.0.1"}


def test_forged_calls_without_the_secret_are_refused(actions: Started) -> None:
    forged = json.dumps(FORGED).encode()
    assert actions.call("POST", "/webhook", forged)[0] == 401
    assert actions.call("POST", "/webhook", forged, secret="indovinato")[0] == 401
    assert actions.call("POST", "/webhook", forged, secret=SECRET[:-1])[0] == 401
    assert actions.call("GET", "/actions")[0] == 401
    assert actions.call("GET", "/actions", secret="")[0] == 401
    # Refused before the body is read: no parser sees an attacker's 100,000 levels.
    assert actions.call("POST", "/webhook", b"[" * 100_000)[0] == 401


def test_the_rasa_server_with_the_secret_is_served(actions: Started) -> None:
    status, body = actions.call("GET", "/actions", secret=SECRET)
    assert status == 200
    assert {"name": "action_subscribe"} in json.loads(body)
    assert actions.call("GET", "/health")[0] == 200  # the balancers' check, open
    # The body guard still answers garbage from the Rasa server with 400, not 500.
    assert actions.call("POST", "/webhook", b"[]", secret=SECRET)[0] == 400


def test_without_a_secret_it_does_not_start(tmp_path: Path) -> None:
    process = launch(free_port(), URP_DB_URL=f"sqlite:///{tmp_path / 'urp.db'}")
    output = process.communicate(timeout=300)[0]
    assert process.returncode != 0
    assert "URP_ACTION_SECRET" in output and "non avviato" in output


def test_the_deployer_chooses_another_interface(tmp_path: Path) -> None:
    for running in started(tmp_path, URP_ACTION_SECRET=SECRET, URP_ACTIONS_HOST="0.0.0.0"):
        assert listening_addresses(running.port) == {"0.0.0.0"}
        assert running.call("GET", "/actions")[0] == 401
