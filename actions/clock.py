"""The time the actions reason about: the municipality's local time.

Tests freeze it by setting ``now`` (a timezone-aware datetime) on this module.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

now_override: datetime | None = None


def local_now(timezone: ZoneInfo) -> datetime:
    return (now_override or datetime.now(timezone)).astimezone(timezone)
