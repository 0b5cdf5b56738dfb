"""Build trackers that read like conversations, and run actions against them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[2]
DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def user(intent: str, text: str | None = None, confidence: float = 0.9) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text if text is not None else f"/{intent}",
        "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": []},
    }


def bot(action: str) -> dict[str, Any]:
    return {"event": "action", "name": action}


def session_started() -> dict[str, Any]:
    return {"event": "session_started"}


def tracker(
    *events: dict[str, Any], slots: dict[str, Any] | None = None, sender_id: str = "test"
) -> Tracker:
    latest = next((e for e in reversed(events) if e["event"] == "user"), None)
    return Tracker(
        sender_id=sender_id,
        slots=slots or {},
        # As Rasa sends it: the parse data with the message text.
        latest_message={**(latest or {}).get("parse_data", {}), "text": (latest or {}).get("text")},
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


def says(intent: str, text: str = "", **entities: str) -> Tracker:
    """A citizen on the REST channel asks ``intent`` with these entities, fully confident."""
    event = {
        "event": "user",
        "text": text or f"/{intent}",
        "input_channel": "rest",
        "parse_data": {
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [{"entity": k, "value": v} for k, v in entities.items()],
        },
    }
    return tracker(event)


def run(action: Action, conversation: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run ``action``; return (events it returned, messages it sent)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, conversation, DOMAIN))
    return events, dispatcher.messages


def slots(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The slots an action set, by name (other events left out)."""
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}
