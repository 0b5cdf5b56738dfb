"""Which HTTP request bodies the servers refuse before they reach Rasa's handlers.

Rasa 3.6's HTTP API, its callback channel and rasa-sdk's action server answer 500 to a
JSON body of the wrong shape (a list where an object is expected, a number for a text)
and sometimes to one that is not JSON at all. :func:`body_problem` says what is wrong with
a body, in Italian, so that the servers' middleware (channels/http_guard.py on the Rasa
server, actions/__init__.py on the action server) answers 400 instead. The webhooks that
check a signature on the raw body (WhatsApp, Twilio) and socket.io read their bodies
themselves and are not looked at here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

# Endpoints whose body must be a JSON object, and the fields that must then be texts.
_OBJECT = re.compile(
    r"^/(model/parse|conversations/[^/]+/(messages|trigger_intent|execute|predict)"
    r"|webhooks/callback/webhook|webhook)/?$"
)
# Endpoints that take events: an object or a list of objects.
_EVENTS = re.compile(r"^/conversations/[^/]+/tracker/events/?$")
# Endpoints that take training data or stories, in YAML (or Rasa's JSON): the key the
# data must have at the top, None for any mapping.
_TRAINING_DATA = {
    "/model/test/intents": ("nlu", "rasa_nlu_data"),
    "/model/test/stories": ("stories",),
    "/model/train": None,
}
_TEXT_FIELDS = ("text", "sender", "name", "message", "next_action", "sender_id")
NESTED_TOO_DEEP = "il corpo ha troppi livelli annidati"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
# A message for the bot is a few KB at most: above this, 413 before anything parses it.
# (The action server's /webhook carries whole trackers and the events endpoints whole
# conversations: not limited here.)
MAX_MESSAGE_BODY = 1024 * 1024
_MESSAGES = re.compile(
    r"^/(model/parse|conversations/[^/]+/(messages|trigger_intent)|webhooks/callback/webhook)/?$"
)


def too_large(method: str, path: str, size: int) -> bool:
    """Whether the body is above what the endpoint takes (answered with 413)."""
    return (
        method.upper() in WRITE_METHODS and size > MAX_MESSAGE_BODY and bool(_MESSAGES.match(path))
    )


class _NotJson(ValueError):
    pass


def body_problem(method: str, path: str, body: bytes) -> str | None:
    """Why this body cannot be served (answered with 400), or None."""
    return checked_body(method, path, body)[0]


def checked_body(method: str, path: str, body: bytes) -> tuple[str | None, Any]:
    """What :func:`body_problem` says, and the JSON it parsed to say it (None if none):
    a server can hand it on instead of parsing the body again."""
    if method.upper() not in WRITE_METHODS:
        return None, None
    try:
        return _shape_problem(path, body)
    except _NotJson as error:
        return str(error), None


def _shape_problem(path: str, body: bytes) -> tuple[str | None, Any]:
    if _OBJECT.match(path):
        data = _json(body)
        if not isinstance(data, dict):
            return "il corpo deve essere un oggetto JSON", None
        wrong = [f for f in _TEXT_FIELDS if f in data and not isinstance(data[f], str)]
        return (f"'{wrong[0]}' deve essere un testo", None) if wrong else (None, data)
    if _EVENTS.match(path):
        data = _json(body)
        events = data if isinstance(data, list) else [data]
        if not all(isinstance(event, dict) for event in events):
            return "gli eventi devono essere oggetti JSON", None
        return None, data
    if path.rstrip("/") in _TRAINING_DATA:
        return _training_data_problem(_TRAINING_DATA[path.rstrip("/")], body), None
    return None, None


def _training_data_problem(keys: tuple[str, ...] | None, body: bytes) -> str | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "il corpo non è UTF-8 valido"
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError:
        return "il corpo non è YAML o JSON valido"
    except RecursionError:  # nested deeper than the parser's recursion goes
        return NESTED_TOO_DEEP
    if not isinstance(data, dict):
        return "il corpo deve essere una mappa di dati di addestramento"
    if keys and not any(key in data for key in keys):
        return f"mancano i dati: serve la chiave '{keys[0]}'"
    return None


def _json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _NotJson("il corpo non è UTF-8 valido") from error
    try:
        return json.loads(text)
    except ValueError as error:
        raise _NotJson("il corpo non è JSON valido") from error
    except RecursionError as error:  # e.g. 100,000 '[': the parser's stack, not a 500
        raise _NotJson(NESTED_TOO_DEEP) from error
