"""Start the assistant the way `make run` does, on free ports, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Sportello URP è pronto."


def processes_below(root: int) -> dict[int, str]:
    """Every process below ``root``, with its command line."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
        commands[int(entry.name)] = command
    found: dict[int, str] = {}
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found[child] = commands.get(child, "")
            pending.append(child)
    return found


def listening_addresses(port: int) -> set[str]:
    """The local addresses a socket listens on at TCP ``port`` (the kernel's tables)."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)  # 32-bit words in the host's (little) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, words))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class RunningAssistant:
    process: subprocess.Popen
    rasa_port: int
    actions_port: int
    console_port: int
    widget_port: int
    token: str  # the deployer's RASA_AUTH_TOKEN, for ?token= (the console uses the JWT)
    jwt_secret: str  # RASA_JWT_SECRET
    action_secret: str  # URP_ACTION_SECRET, shared by the Rasa server and the action server
    log: Path
    environment: dict[str, str]  # what run.sh was started with

    @property
    def database_url(self) -> str:
        return self.environment["URP_DB_URL"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    @property
    def widget_url(self) -> str:
        return f"http://127.0.0.1:{self.widget_port}"

    def urp(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """The `urp` command line with the assistant's database, salt and channels."""
        return subprocess.run(
            [str(ROOT / ".venv" / "bin" / "urp"), *args],
            env={**self.environment, **env},
            capture_output=True,
            text=True,
            check=True,
        )

    def request(self, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        url = self.url + path + (f"?token={token}" if token else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            return error.code, None
        try:
            return response.status, json.loads(body or b"null")
        except ValueError:
            return response.status, body.decode()  # the callback channel answers "success"

    def chat(self, sender: str, message: str) -> list[dict[str, Any]]:
        status, replies = self.request(
            "/webhooks/rest/webhook", {"sender": sender, "message": message}
        )
        assert status == 200, status
        return replies

    def ctrl_c(self, timeout: float = 60) -> int:
        """What a terminal does on Ctrl-C: SIGINT to the whole process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)


def start(tmp_path: Path, script: str = "run.sh", **env: str) -> RunningAssistant:
    """``scripts/<script>`` (run.sh is `make run`, run-prod.sh `make run-prod`) on free ports."""
    rasa_port, actions_port = free_port(), free_port()
    console_port, widget_port = free_port(), free_port()
    token = "e2e-" + os.urandom(8).hex()
    jwt_secret = "e2e-jwt-" + os.urandom(16).hex()
    action_secret = "e2e-actions-" + os.urandom(16).hex()
    log = tmp_path / "run.log"
    environment = {
        **os.environ,
        "URP_RASA_PORT": str(rasa_port),
        "URP_ACTIONS_PORT": str(actions_port),
        "URP_CONSOLE_PORT": str(console_port),
        "URP_WIDGET_PORT": str(widget_port),
        "RASA_AUTH_TOKEN": token,
        "RASA_JWT_SECRET": jwt_secret,
        "URP_ACTION_SECRET": action_secret,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Never the developer's own register.
        "URP_DB_URL": f"sqlite:///{tmp_path / 'urp.db'}",
        "URP_TRACKER_DB": str(tmp_path / "rasa-tracker.db"),
        "URP_HASH_SALT": "e2e-" + os.urandom(16).hex(),
        **env,
    }
    if "URP_ACTION_ENDPOINT" not in env:  # else a test puts something in between
        environment.pop("URP_ACTION_ENDPOINT", None)
    if "URP_ACTIONS_HOST" not in env:  # the profiles' default, whatever the developer's
        environment.pop("URP_ACTIONS_HOST", None)
    process = subprocess.Popen(
        [str(ROOT / "scripts" / script)],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = RunningAssistant(
        process,
        rasa_port,
        actions_port,
        console_port,
        widget_port,
        token,
        jwt_secret,
        action_secret,
        log,
        environment,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if READY_LINE in log.read_text(encoding="utf-8", errors="replace"):
            return running
        if process.poll() is not None:
            break
        time.sleep(1)
    stop(running)
    raise RuntimeError(f"{script} did not start:\n" + log.read_text(errors="replace")[-4000:])


def stop(running: RunningAssistant) -> None:
    if running.process.poll() is None:
        try:
            running.ctrl_c()
        except subprocess.TimeoutExpired:
            os.killpg(running.process.pid, signal.SIGKILL)
            running.process.wait()


class CallbackReceiver:
    """What Rasa's callback channel POSTs to the integrator: the bot's messages, in order."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.port = free_port()
        self.messages: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._arrived:
                    receiver.messages.append(json.loads(body or b"{}"))
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def texts_for(self, recipient: str) -> list[str]:
        with self._arrived:
            return [m.get("text", "") for m in self.messages if m.get("recipient_id") == recipient]

    def wait_for(self, recipient: str, count: int, timeout: float = 60) -> list[str]:
        """The first ``count`` texts sent to ``recipient``, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.texts_for(recipient)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{count} messages expected, got {self.texts_for(recipient)}"
                    )
                self._arrived.wait(left)
            return self.texts_for(recipient)[:count]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
