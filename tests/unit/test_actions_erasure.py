"""«Cancella i miei dati» from a citizen whom a broadcast reached: told it is done (issue 22)."""

from __future__ import annotations

from actions.privacy import ActionEraseMyData
from actions.subscription import ActionSubscribe
from tests.unit.conversation import run, tracker, user
from urp.broadcasts.service import BroadcastService, Outcome
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.whatsapp.store import WhatsAppStore

NUMBER = "393331234567"


def says(intent: str, text: str):
    return tracker({**user(intent, text), "input_channel": "whatsapp"}, sender_id=NUMBER)


def test_a_citizen_who_received_a_broadcast_hears_that_the_data_is_gone(
    actions_store: Database,
) -> None:
    run(ActionSubscribe(), says("subscribe", "Iscrivimi"))
    hasher = UserHasher(b"sale-di-prova-abbastanza-lungo")
    broadcasts = BroadcastService(actions_store, WhatsAppStore(actions_store, hasher))
    broadcast = broadcasts.start_emergency("memo", "Allerta meteo", created_by="Anna")
    broadcasts.record([Outcome(c.row_id, "sent", 1, wamid="wamid.x") for c in broadcasts.claim(5)])

    events, _ = run(ActionEraseMyData(), says("affirm", "sì"))

    assert events == [
        {"event": "slot", "timestamp": None, "name": "erase_outcome", "value": "erased"}
    ]
    assert broadcasts.report(broadcast).counts == {"sent": 1}
