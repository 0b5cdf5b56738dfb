"""What the channels share in one Rasa process: one database engine, one store.

Built on first use, not at the server's start (a webhook may never be called), except
for a configured WhatsApp or Twilio channel, whose inbox worker starts with the server.
"""

from __future__ import annotations

from functools import lru_cache

from urp.broadcasts.service import BroadcastService
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.subscription.consents import ConsentLog
from urp.whatsapp.inbox import Inbox
from urp.whatsapp.store import WhatsAppStore


@lru_cache(maxsize=1)
def database() -> Database:
    return Database.from_environment()


@lru_cache(maxsize=1)
def whatsapp_store() -> WhatsAppStore:
    return WhatsAppStore(database(), UserHasher.from_environment())


@lru_cache(maxsize=1)
def inbox() -> Inbox:
    """The messages acknowledged to Meta and Twilio, kept until Rasa has handled them."""
    return Inbox(database(), whatsapp_store(), UserHasher.from_environment())


@lru_cache(maxsize=1)
def broadcast_service() -> BroadcastService:
    """Meta's statuses of broadcast messages update their recipients' rows."""
    return BroadcastService(database(), whatsapp_store())


@lru_cache(maxsize=1)
def consent_log() -> ConsentLog:
    """Meta's marketing opt-outs (the user_preferences webhook) go to the consent log."""
    return ConsentLog(database(), UserHasher.from_environment())
