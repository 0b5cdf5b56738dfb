"""Weekly opening hours: parsing from settings and Italian wording for citizens."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import time

from urp.core.dates import WEEKDAYS
from urp.core.text import join_italian

DAY_SHORT = ("lun", "mar", "mer", "gio", "ven", "sab", "dom")
_INTERVAL = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})\s*$")


@dataclass(frozen=True, order=True)
class Interval:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Interval:
        match = _INTERVAL.match(text)
        if not match:
            raise ValueError(f"orario non valido {text!r}: usa il formato 09:00-13:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = time(h1, m1), time(h2, m2)
        if end <= start:
            raise ValueError(f"orario non valido {text!r}: la fine precede l'inizio")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


def _clock(value: time) -> str:
    return f"{value.hour}:{value.minute:02d}"


@dataclass(frozen=True)
class WeeklyHours:
    """Opening intervals for each weekday, Monday=0."""

    days: tuple[tuple[Interval, ...], ...]

    @classmethod
    def parse(cls, spec: dict[str, list[str] | str | None]) -> WeeklyHours:
        days: list[list[Interval]] = [[] for _ in range(7)]
        for key, value in spec.items():
            weekday = WEEKDAYS.get(str(key).strip().lower())
            if weekday is None:
                raise ValueError(f"giorno non riconosciuto {key!r}: usa lunedì ... domenica")
            items = [value] if isinstance(value, str) else list(value or [])
            intervals = sorted(Interval.parse(item) for item in items)
            for before, after in itertools.pairwise(intervals):
                if after.start < before.end:
                    raise ValueError(f"orari sovrapposti per {key!r}: {before} e {after}")
            days[weekday] = intervals
        return cls(tuple(tuple(d) for d in days))

    def describe(self) -> str:
        """Italian summary grouping days with the same hours.

        >>> WeeklyHours.parse({"lun": ["9:00-13:00"], "mer": ["9:00-13:00"]}).describe()
        'lun e mer 9:00-13:00'
        """
        groups: dict[tuple[Interval, ...], list[str]] = {}
        for weekday, intervals in enumerate(self.days):
            if intervals:
                groups.setdefault(intervals, []).append(DAY_SHORT[weekday])
        if not groups:
            return "nessun orario di apertura"
        parts = [
            f"{join_italian(days)} {join_italian([str(i) for i in intervals])}"
            for intervals, days in groups.items()
        ]
        return "; ".join(parts)
