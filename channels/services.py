"""What the channels share in one Rasa process: one database engine, one store."""

from __future__ import annotations

from functools import lru_cache

from urp.db import Database
from urp.privacy import UserHasher
from urp.whatsapp.store import WhatsAppStore


@lru_cache(maxsize=1)
def whatsapp_store() -> WhatsAppStore:
    """Built on first use, not at the server's start (the webhook may never be called)."""
    return WhatsAppStore(Database.from_environment(), UserHasher.from_environment())
