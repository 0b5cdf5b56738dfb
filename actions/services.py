"""The services the actions use, built once per action server on first use."""

from __future__ import annotations

import os
from functools import lru_cache

from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import FaqSettings, current_settings
from urp.faq.search import LiveFaqIndex
from urp.faq.store import FaqService
from urp.handoff.queue import HandoffService
from urp.information.bathing import BathingService
from urp.information.contributions import ContributionService
from urp.information.memo import MemoService
from urp.information.pharmacy import PharmacyService
from urp.information.reports import ReportService
from urp.subscription.consents import ConsentLog
from urp.subscription.subscribers import SubscriberService

# How often (seconds) the FAQ index asks the store whether an entry changed: an import or a
# console edit is answered by every replica within this time, with no restart.
FAQ_RECHECK_ENV = "URP_FAQ_RECHECK_SECONDS"
FAQ_RECHECK_DEFAULT = 10.0
_faq_index: tuple[FaqSettings, float, LiveFaqIndex] | None = None


@lru_cache(maxsize=1)
def database() -> Database:
    return Database.from_environment()


@lru_cache(maxsize=1)
def user_hasher() -> UserHasher:
    return UserHasher.from_environment()


def subscriber_service() -> SubscriberService:
    """A service bound to the current settings (topics may change without a restart)."""
    return SubscriberService(database(), current_settings().subscription, user_hasher())


def consent_log() -> ConsentLog:
    """Every consent and revocation, for the tests and anyone who must show them."""
    return ConsentLog(database(), user_hasher())


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


def faq_recheck_seconds() -> float:
    """``URP_FAQ_RECHECK_SECONDS``; odd values (not a number, negative): the default, as
    ``URP_ACTION_TIMEOUT`` does."""
    try:
        value = float(os.environ.get(FAQ_RECHECK_ENV) or FAQ_RECHECK_DEFAULT)
    except ValueError:
        return FAQ_RECHECK_DEFAULT
    return value if value >= 0 else FAQ_RECHECK_DEFAULT


def faq_index() -> LiveFaqIndex:
    """The office's FAQ in memory, one per action server: rebuilt by itself when an entry
    changes in the store, and here when the ``faq:`` settings (synonyms, thresholds) do."""
    global _faq_index
    settings = current_settings().faq
    recheck = faq_recheck_seconds()
    if _faq_index is None or _faq_index[:2] != (settings, recheck):
        _faq_index = (settings, recheck, LiveFaqIndex(FaqService(database()), settings, recheck))
    return _faq_index[2]


def forget_faq_index() -> None:
    """Drop the index (tests, or a new store): the next question builds it again."""
    global _faq_index
    _faq_index = None
