"""The handoffs per day: how many, how long citizens waited, how long until resolved."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

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
