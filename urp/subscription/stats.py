"""The register's figures: totals, month by month, by topic (``urp subscribers stats``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from urp.core.models import ACTIVE, CANCELLED, Consent, Subscriber, SubscriberTopic
from urp.core.settings import Topic


@dataclass(frozen=True)
class MonthStats:
    month: str  # "2024-03", in the municipality's time zone
    new: int  # subscriptions started (returning subscribers included)
    cancelled: int
    net: int
    active: int  # at the end of the month


@dataclass(frozen=True)
class TopicStats:
    key: str
    label: str
    subscribers: int


@dataclass(frozen=True)
class SubscriberStats:
    active: int
    cancelled: int
    months: tuple[MonthStats, ...]
    topics: tuple[TopicStats, ...]


def subscriber_stats(
    session: Session, topics: Mapping[str, Topic], now: datetime, timezone: tzinfo
) -> SubscriberStats:
    """Totals, month by month (in ``timezone``) since the first subscription, by topic."""
    counts = dict(
        session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)).all()
    )
    first = session.execute(select(func.min(Consent.given_at))).scalar_one()
    months = _months(session, first, now, timezone) if first else ()
    by_topic = dict(
        session.execute(
            select(SubscriberTopic.topic, func.count()).group_by(SubscriberTopic.topic)
        ).all()
    )
    followers = [
        TopicStats(key, topic.label, by_topic.pop(key, 0)) for key, topic in topics.items()
    ]
    # Topics no longer in the settings still have followers until they change topics.
    followers += [TopicStats(key, key, count) for key, count in sorted(by_topic.items())]
    return SubscriberStats(
        counts.get(ACTIVE, 0), counts.get(CANCELLED, 0), months, tuple(followers)
    )


def _months(
    session: Session, first: datetime, now: datetime, timezone: tzinfo
) -> tuple[MonthStats, ...]:
    start = first.astimezone(timezone)
    end = now.astimezone(timezone)
    year, month = start.year, start.month
    active = 0
    months = []
    while (year, month) <= (end.year, end.month):
        following = (year + month // 12, month % 12 + 1)
        lower = _month_start(year, month, timezone)
        upper = _month_start(*following, timezone)
        new = _count(session, Consent.given_at, lower, upper)
        cancelled = _count(session, Consent.withdrawn_at, lower, upper)
        active += new - cancelled
        months.append(MonthStats(f"{year}-{month:02d}", new, cancelled, new - cancelled, active))
        year, month = following
    return tuple(months)


def _count(session: Session, column: Any, lower: datetime, upper: datetime) -> int:
    # One indexed range count per month: cheap on both databases, and month boundaries
    # in local time need no date functions that differ between SQLite and PostgreSQL.
    return session.execute(select(func.count()).where(column >= lower, column < upper)).scalar_one()


def _month_start(year: int, month: int, timezone: tzinfo) -> datetime:
    return datetime(year, month, 1, tzinfo=timezone).astimezone(UTC)
