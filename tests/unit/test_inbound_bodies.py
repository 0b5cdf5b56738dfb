"""Which bodies the servers refuse with 400 before Rasa's handlers would answer 500."""

from __future__ import annotations

import pytest

from urp.inbound.bodies import MAX_MESSAGE_BODY, body_problem, too_large


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/model/parse", b"\xff\xfe"),
        ("/model/parse", b'{"text": '),
        ("/model/parse", b"[1, 2]"),
        ("/model/parse", b'"ciao"'),
        ("/model/parse", b'{"text": 5}'),
        ("/model/parse", b""),
        ("/conversations/abc/messages", b'{"text": "ciao", "sender": ["user"]}'),
        ("/conversations/abc/trigger_intent", b'{"name": null}'),
        ("/conversations/abc/tracker/events", b"[1, 2]"),
        ("/conversations/abc/tracker/events", b"not json"),
        ("/webhooks/callback/webhook", b"[]"),
        ("/webhook", b'{"next_action": 3}'),
        ("/model/test/intents", b"[1]"),
        ("/model/test/intents", b"\xff"),
        ("/model/test/intents", b'{"text": 5}'),
        ("/model/test/intents", b"just words"),
        ("/model/test/stories", b"nlu: []"),
        ("/model/train", b"[unclosed"),
    ],
)
def test_garbage_is_refused_with_a_reason(path: str, body: bytes) -> None:
    problem = body_problem("POST", path, body)
    assert problem  # a reason, in Italian, for the 400


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/model/parse", b'{"text": "farmacia di turno"}'),
        ("POST", "/conversations/abc/messages", b'{"text": "ciao", "sender": "user"}'),
        ("POST", "/conversations/abc/tracker/events", b'[{"event": "bot", "text": "x"}]'),
        ("PUT", "/conversations/abc/tracker/events", b'{"event": "pause"}'),
        ("POST", "/model/test/intents", b"nlu:\n- intent: greet\n  examples: |\n    - ciao\n"),
        ("POST", "/webhooks/whatsapp/webhook", b"signed raw body, checked by the channel"),
        ("GET", "/model/parse", b""),
    ],
)
def test_good_bodies_and_other_endpoints_pass(method: str, path: str, body: bytes) -> None:
    assert body_problem(method, path, body) is None


def test_only_messages_far_too_large_are_refused() -> None:
    big = MAX_MESSAGE_BODY + 1
    assert too_large("POST", "/model/parse", big)
    assert too_large("POST", "/conversations/abc/messages", big)
    assert not too_large("POST", "/model/parse", MAX_MESSAGE_BODY)
    assert not too_large("POST", "/webhook", big * 10)  # whole trackers, for the actions
    assert not too_large("GET", "/model/parse", big)


def test_the_action_server_parses_the_tracker_once() -> None:
    """The middleware's JSON is handed to rasa-sdk (``request.json``), not parsed again."""
    import asyncio
    import json
    from types import SimpleNamespace

    from actions import _refuse_bad_bodies

    body = json.dumps({"next_action": "action_latest_memo", "tracker": {"events": []}}).encode()
    request = SimpleNamespace(
        method="POST", path="/webhook", body=body, headers={}, parsed_json=None
    )
    assert asyncio.run(_refuse_bad_bodies(request)) is None
    assert request.parsed_json == json.loads(body)
    refused = SimpleNamespace(
        method="POST", path="/webhook", body=b"[]", headers={}, parsed_json=None
    )
    assert asyncio.run(_refuse_bad_bodies(refused)).status == 400
    assert refused.parsed_json is None


@pytest.mark.parametrize(
    "path",
    [
        "/model/parse",
        "/conversations/abc/tracker/events",
        "/webhook",
        "/model/train",
        "/model/test/intents",
    ],
)
@pytest.mark.parametrize("opening", [b"[", b'{"a":', b"- "])
def test_deeply_nested_bodies_are_refused_not_a_crash(path: str, opening: bytes) -> None:
    """100,000 levels exhaust the parsers' recursion: a 400 with a reason, never a 500."""
    assert body_problem("POST", path, opening * 100_000)
