"""The services the actions use, built once per action server on first use."""

from __future__ import annotations

from functools import lru_cache

from urp.bathing import BathingService
from urp.calls import CallService
from urp.db import Database
from urp.handoffs import HandoffService
from urp.memos import MemoService
from urp.pharmacies import PharmacyService
from urp.privacy import UserHasher
from urp.reports import ReportService
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


def memo_service() -> MemoService:
    return MemoService(database())


def pharmacy_service() -> PharmacyService:
    return PharmacyService(database())


def bathing_service() -> BathingService:
    return BathingService(database())


def call_service() -> CallService:
    return CallService(database())


def report_service() -> ReportService:
    settings = current_settings()
    return ReportService(database(), settings.reporting_code_prefix, settings.timezone)


def handoff_service() -> HandoffService:
    return HandoffService(database(), current_settings())
