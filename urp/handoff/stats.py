"""The handoffs per day: how many, how long citizens waited, how long until resolved.

For the console (:class:`HandoffFigures`): over a range of days, the handoffs by day, by
hour of the day and by channel, with the waiting and handling times (median and 90th
percentile), and the rows of the export. Counts and times only: the conversation id (the
phone number on WhatsApp) is read only for an export that explicitly asks for it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select

from urp.core.db import Database
from urp.core.models import Handoff as HandoffTable
from urp.core.models import Operator as OperatorTable

# When each handoff was requested, claimed (if it was) and resolved (if it was).
Request = tuple[datetime, datetime | None, datetime | None]


@dataclass(frozen=True)
class DayStats:
    day: str  # "2026-11-23", in the municipality's time zone
    handoffs: int
    assigned: int  # of which claimed by an operator
    resolved: int
    wait_median: float | None  # minutes from the request to the claim
    wait_p90: float | None
    resolution_median: float | None  # minutes from the request to the resolution
    resolution_p90: float | None


def day_stats(requests: Iterable[Request], timezone: tzinfo) -> list[DayStats]:
    """Per day of request (in ``timezone``): how many, wait and resolution times."""
    days: dict[str, list[Request]] = {}
    for created, assigned, resolved in requests:
        days.setdefault(created.astimezone(timezone).date().isoformat(), []).append(
            (created, assigned, resolved)
        )
    result = []
    for day in sorted(days):
        waits = [_minutes(a - c) for c, a, _ in days[day] if a is not None]
        resolutions = [_minutes(r - c) for c, _, r in days[day] if r is not None]
        result.append(
            DayStats(
                day,
                len(days[day]),
                len(waits),
                len(resolutions),
                _median(waits),
                _p90(waits),
                _median(resolutions),
                _p90(resolutions),
            )
        )
    return result


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile: a time some request actually waited."""
    if not values:
        return None
    return round(sorted(values)[math.ceil(0.9 * len(values)) - 1], 1)


# -- the console's statistics and exports, over a range of days ------------------------------


@dataclass(frozen=True)
class Times:
    """How many handoffs, and their times in minutes: waiting (request to claim) and
    handling (claim to resolution)."""

    label: str  # the channel's name, or "Tutti i canali"
    handoffs: int
    resolved: int
    wait_median: float | None
    wait_p90: float | None
    handling_median: float | None
    handling_p90: float | None


@dataclass(frozen=True)
class HandoffReport:
    start: date
    end: date
    days: list[tuple[date, int]]  # every day of the range, with its handoffs
    hours: list[int]  # handoffs by hour of the request, 0-23, in the municipality's time
    overall: Times
    channels: list[Times]  # by channel, busiest first

    @property
    def total(self) -> int:
        return self.overall.handoffs


@dataclass(frozen=True)
class HandoffRow:
    """A handoff as the export writes it: times and who, never the words."""

    id: int
    channel: str
    status: str
    reason: str
    out_of_hours: bool
    created_at: datetime
    assigned_at: datetime | None
    resolved_at: datetime | None
    operator: str | None
    conversation_id: str  # the phone number on WhatsApp: written only on explicit request


CHANNEL_LABELS = {
    "whatsapp": "WhatsApp",
    "twilio": "WhatsApp (Twilio)",
    "socketio": "Chat del sito",
    "rest": "REST",
    "callback": "Callback",
}


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def day_bounds(start: date, end: date, timezone: tzinfo) -> tuple[datetime, datetime]:
    """From midnight of ``start`` to midnight after ``end``, in ``timezone``."""
    lower = datetime.combine(start, time(), timezone)
    return lower, datetime.combine(end + timedelta(days=1), time(), timezone)


class HandoffFigures:
    """The handoffs of one database, counted for the console."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def rows(self, start: date, end: date, timezone: tzinfo) -> list[HandoffRow]:
        """The handoffs requested from ``start`` to ``end`` (days in ``timezone``), oldest first."""
        lower, upper = day_bounds(start, end, timezone)
        with self._db.transaction() as session:
            found = session.execute(
                select(HandoffTable, OperatorTable.username)
                .outerjoin(OperatorTable, OperatorTable.id == HandoffTable.operator_id)
                .where(HandoffTable.created_at >= lower, HandoffTable.created_at < upper)
                .order_by(HandoffTable.created_at, HandoffTable.id)
            ).all()
            return [
                HandoffRow(
                    h.id,
                    h.channel,
                    h.status,
                    h.reason,
                    bool(h.out_of_hours),
                    h.created_at,
                    h.assigned_at,
                    h.resolved_at,
                    username,
                    h.conversation_id,
                )
                for h, username in found
            ]

    def report(self, start: date, end: date, timezone: tzinfo) -> HandoffReport:
        rows = self.rows(start, end, timezone)
        per_day: dict[date, int] = {}
        hours = [0] * 24
        by_channel: dict[str, list[HandoffRow]] = {}
        for row in rows:
            local = row.created_at.astimezone(timezone)
            per_day[local.date()] = per_day.get(local.date(), 0) + 1
            hours[local.hour] += 1
            by_channel.setdefault(row.channel, []).append(row)
        days = [
            (start + timedelta(days=n), per_day.get(start + timedelta(days=n), 0))
            for n in range((end - start).days + 1)
        ]
        channels = sorted(
            (_times(channel_label(name), group) for name, group in by_channel.items()),
            key=lambda times: (-times.handoffs, times.label),
        )
        return HandoffReport(start, end, days, hours, _times("Tutti i canali", rows), channels)


def _times(label: str, rows: list[HandoffRow]) -> Times:
    waits = [_minutes(r.assigned_at - r.created_at) for r in rows if r.assigned_at is not None]
    handling = [
        _minutes(r.resolved_at - r.assigned_at)
        for r in rows
        if r.assigned_at is not None and r.resolved_at is not None
    ]
    return Times(
        label,
        len(rows),
        sum(r.resolved_at is not None for r in rows),
        _median(waits),
        _p90(waits),
        _median(handling),
        _p90(handling),
    )
