"""Reading the conversation so far from a tracker (no Action classes here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rasa_sdk import Tracker

from urp.handoff import transcript


def session_events(tracker: Tracker) -> list[dict[str, Any]]:
    """Events since the current session started."""
    return list(transcript.session_events(tracker.events))


def _user_intents(tracker: Tracker) -> Iterator[str | None]:
    for event in session_events(tracker):
        if event.get("event") == "user":
            yield (event.get("parse_data") or {}).get("intent", {}).get("name")


def session_intent_count(tracker: Tracker, intent: str) -> int:
    """How many user messages of this session carry ``intent``."""
    return sum(1 for name in _user_intents(tracker) if name == intent)


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    """Values of ``entity`` in the latest message, in order, without repeats."""
    values = [
        str(e.get("value", ""))
        for e in tracker.latest_message.get("entities", [])
        if e.get("entity") == entity and e.get("value")
    ]
    return list(dict.fromkeys(values))


FOLLOW_UP_INTENT = "follow_up"
# Entities that replace each other in a follow-up: "e a Torrette?" drops the old area too.
ENTITY_GROUPS = ({"date"}, {"area", "zone"}, {"office"}, {"grant_topic"}, {"topic"})


def question_entities(tracker: Tracker) -> dict[str, list[str]]:
    """The entities of the question being answered.

    For a follow-up ("e domani?") the previous question's entities (slot
    ``asked_entities``) stay, except those the follow-up replaces.
    """
    latest: dict[str, list[str]] = {}
    for entity in tracker.latest_message.get("entities", []):
        if entity.get("value"):
            values = latest.setdefault(str(entity.get("entity")), [])
            if str(entity["value"]) not in values:
                values.append(str(entity["value"]))
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent != FOLLOW_UP_INTENT:
        return latest
    merged = dict(tracker.get_slot("asked_entities") or {})
    for group in ENTITY_GROUPS:
        if group & latest.keys():
            for name in group:
                merged.pop(name, None)
    return {**merged, **latest}
