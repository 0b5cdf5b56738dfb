"""«Cancella i miei dati» (actions.privacy) as a conversation, against a real SQLite store."""

from __future__ import annotations

import pytest

from actions import services
from actions.privacy import ActionEraseMyData
from actions.subscription import ActionSubscribe
from tests.unit.conversation import run, tracker, user
from urp.broadcasts.delivery import Outcome
from urp.broadcasts.service import BroadcastService
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.whatsapp.store import WhatsAppStore

NUMBER = "393331234567"


@pytest.fixture(autouse=True)
def store(actions_store: Database) -> Database:
    return actions_store


def says(intent: str, text: str):
    return tracker({**user(intent, text), "input_channel": "whatsapp"}, sender_id=NUMBER)


def test_a_confirmed_erasure_leaves_no_subscription(store: Database) -> None:
    run(ActionSubscribe(), says("subscribe", "Iscrivimi"))
    events, messages = run(ActionEraseMyData(), says("affirm", "sì"))
    assert events == [
        {"event": "slot", "timestamp": None, "name": "erase_outcome", "value": "erased"}
    ]
    assert messages == []  # the rule says it (utter_erase_done)
    events, _ = run(ActionSubscribe(), says("subscribe", "Iscrivimi"))
    outcome = next(e["value"] for e in events if e["name"] == "subscription_outcome")
    assert outcome == "created"  # a new subscriber, not someone recognised


def test_a_citizen_who_received_a_broadcast_hears_that_the_data_is_gone(store: Database) -> None:
    """Issue 22: the broadcast rows let the citizen go, and the report still counts."""
    run(ActionSubscribe(), says("subscribe", "Iscrivimi"))
    hasher = UserHasher(b"sale-di-prova-abbastanza-lungo")
    broadcasts = BroadcastService(store, WhatsAppStore(store, hasher))
    broadcast = broadcasts.start_emergency("memo", "Allerta meteo", created_by="Anna")
    broadcasts.record([Outcome(c.row_id, "sent", 1, wamid="wamid.x") for c in broadcasts.claim(5)])

    events, _ = run(ActionEraseMyData(), says("affirm", "sì"))

    assert events == [
        {"event": "slot", "timestamp": None, "name": "erase_outcome", "value": "erased"}
    ]
    assert broadcasts.report(broadcast).counts == {"sent": 1}


def test_the_store_down_is_said(monkeypatch) -> None:
    monkeypatch.setenv("URP_DB_URL", "postgresql://nessuno@127.0.0.1:1/urp")
    services.database.cache_clear()
    events, _ = run(ActionEraseMyData(), says("affirm", "sì"))
    assert events[-1]["value"] == "unavailable"
