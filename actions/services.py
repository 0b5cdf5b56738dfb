"""The services the actions use, built once per action server on first use."""

from __future__ import annotations

from functools import lru_cache

from urp.db import Database
from urp.privacy import UserHasher
from urp.settings import current_settings
from urp.subscribers import SubscriberService


@lru_cache(maxsize=1)
def database() -> Database:
    return Database.from_environment()


@lru_cache(maxsize=1)
def user_hasher() -> UserHasher:
    return UserHasher.from_environment()


def subscriber_service() -> SubscriberService:
    """A service bound to the current settings (topics may change without a restart)."""
    return SubscriberService(database(), current_settings().subscription, user_hasher())
