"""WhatsApp webhook: verifying, reading and de-duplicating Meta's deliveries.

What the connector does before a message reaches Rasa, per delivery: the HMAC of the body,
parsing, and the insert that drops repeated message ids (SQLite file, one process). The
Graph API is not involved: its speed is Meta's.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from tests.simulators.graph_api import APP_SECRET, delivery
from urp.core.db import Database, upgrade
from urp.core.hashing import UserHasher
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import parse_delivery, sign, signature_is_valid

DELIVERIES = 5000


def main() -> None:
    bodies = [
        json.dumps(
            delivery(f"39333{n:07d}", {"type": "text", "text": {"body": f"ciao {n}"}})
        ).encode()
        for n in range(DELIVERIES)
    ]
    signatures = [sign(body, APP_SECRET) for body in bodies]
    start = time.perf_counter()
    for body, signature in zip(bodies, signatures, strict=True):
        assert signature_is_valid(body, signature, APP_SECRET)
        parse_delivery(body)
    elapsed = time.perf_counter() - start
    print(f"  signature + parsing: {DELIVERIES / elapsed:,.0f} deliveries/s")
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'urp.db'}")
        upgrade(database)
        store = WhatsAppStore(database, UserHasher(b"benchmark-salt-0123456789"))
        ids = [parse_delivery(body).messages[0].message_id for body in bodies]
        start = time.perf_counter()
        for message_id in ids:
            store.first_delivery(message_id)
        elapsed = time.perf_counter() - start
        print(f"  de-duplication insert (SQLite): {DELIVERIES / elapsed:,.0f} messages/s")
        database.dispose()
