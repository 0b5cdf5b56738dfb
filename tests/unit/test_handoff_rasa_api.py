"""The console and the handoff recorder call Rasa's API with a JWT in a header, never with
the API's secret in a URL (URLs end up in access logs, proxies and error messages); so does
the console's typing signal to the web chat's channel."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.e2e.servers import free_port
from urp.handoff.rasa_api import RasaConversations
from urp.widget.typing import TYPING_ROUTE

TOKEN = "token-del-gestore-da-non-vedere"
JWT_SECRET = "segreto-jwt-di-prova-lungo-32-byte-almeno"


class FakeRasa:
    """Records the target (path and query) and the headers of every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.requests.append(
                    {"target": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({}).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    server = FakeRasa()
    yield server
    server.close()


def test_every_call_carries_a_jwt_header_and_no_secret_in_the_url(rasa: FakeRasa) -> None:
    conversations = RasaConversations.from_environment(
        {
            "URP_RASA_URL": f"http://127.0.0.1:{rasa.port}",
            "RASA_AUTH_TOKEN": TOKEN,  # the deployer's, for their own tools
            "RASA_JWT_SECRET": JWT_SECRET,
        }
    )
    conversations.pause("393331234567")
    conversations.say("393331234567", "Buongiorno, sono Anna dell'URP.")
    conversations.trigger("393331234567", "EXTERNAL_handoff_closed")
    assert len(rasa.requests) == 3
    for request in rasa.requests:
        assert TOKEN not in request["target"]
        assert "token=" not in request["target"]
        scheme, credentials = request["headers"]["Authorization"].split(" ")
        claims = jwt.decode(credentials, JWT_SECRET, algorithms=["HS256"])
        assert scheme == "Bearer" and claims["user"]["role"] == "admin"


def test_without_a_jwt_secret_it_refuses_to_be_built() -> None:
    with pytest.raises(ValueError, match="RASA_JWT_SECRET"):
        RasaConversations.from_environment({"RASA_AUTH_TOKEN": TOKEN})


def test_the_typing_signal_reaches_the_web_chat_s_endpoint_with_the_same_jwt(
    rasa: FakeRasa,
) -> None:
    conversations = RasaConversations(f"http://127.0.0.1:{rasa.port}/", jwt_secret=JWT_SECRET)
    web = "socketio:0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert conversations.typing(web, "Giulia")
    assert conversations.typing(web, "Giulia", active=False)
    # Only a web conversation has an indicator: nothing is sent for the others.
    assert not conversations.typing("393331234567", "Giulia")
    assert not conversations.typing("rest:socketio:abc", "Giulia")
    assert [r["target"] for r in rasa.requests] == ["/webhooks/socketio" + TYPING_ROUTE] * 2
    assert [r["body"] for r in rasa.requests] == [
        {"conversation_id": web, "name": "Giulia", "typing": True},
        {"conversation_id": web, "name": "Giulia", "typing": False},
    ]
    for request in rasa.requests:
        scheme, credentials = request["headers"]["Authorization"].split(" ")
        claims = jwt.decode(credentials, JWT_SECRET, algorithms=["HS256"])
        assert scheme == "Bearer" and claims["user"]["role"] == "admin"


def test_an_unreachable_server_only_loses_the_indicator() -> None:
    conversations = RasaConversations(f"http://127.0.0.1:{free_port()}", jwt_secret=JWT_SECRET)
    assert conversations.typing("socketio:abc", "Giulia") is False  # no exception
