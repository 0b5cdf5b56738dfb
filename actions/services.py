"""The services the actions use, built once per action server on first use."""

from __future__ import annotations

from functools import lru_cache

from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import current_settings
from urp.handoff.queue import HandoffService
from urp.information.bathing import BathingService
from urp.information.contributions import ContributionService
from urp.information.memo import MemoService
from urp.information.pharmacy import PharmacyService
from urp.information.reports import ReportService
from urp.subscription.subscribers import SubscriberService


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


def contribution_service() -> ContributionService:
    return ContributionService(database())


def report_service() -> ReportService:
    settings = current_settings()
    return ReportService(database(), settings.reporting_code_prefix, settings.timezone)


def handoff_service() -> HandoffService:
    return HandoffService(database(), current_settings())
