"""When the URP and the offices are open: weekly hours minus holidays and closures.

Answers questions like "siete aperti adesso / domani / giovedì pomeriggio / a Natale?"
from a :class:`~urp.core.dates.DateSpan`, with everything the reply needs to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter

from urp.core.dates import DateSpan
from urp.core.hours import WeeklyHours
from urp.core.settings import Closure, Office, Settings
from urp.core.text import join_italian

# An opening interval on a given day, start included, end excluded.
Opening = tuple[datetime, datetime]
AnswerKind = Literal["open_now", "closed_now", "open_on_day", "closed_on_day"]

SEARCH_DAYS = 400  # how far ahead to look for the next opening: a year and some slack
# holidays 0.86 knows Italian names only as "it_IT": "it" silently falls back to English.
HOLIDAY_LANGUAGE = "it_IT"


@dataclass(frozen=True)
class OpeningAnswer:
    """What to tell a citizen asking whether the service is open at some time.

    - ``open_now``: open at the moment asked; ``intervals`` holds the current interval,
      ``until`` its end.
    - ``closed_now``: closed at the moment asked; ``reason`` if today is a holiday or a
      closure, ``next_opening`` the next one.
    - ``open_on_day``: ``intervals`` are that day's openings overlapping the hours asked
      (a part of the day keeps only those).
    - ``closed_on_day``: nothing open in the hours asked; ``reason`` if the day is a
      holiday or a closure, ``next_opening`` the first opening from the start of the span.
    """

    kind: AnswerKind
    day: date
    intervals: tuple[Opening, ...] = ()
    until: datetime | None = None
    reason: str | None = None
    next_opening: datetime | None = None


class OpeningCalendar:
    """Weekly hours, the province's public holidays (patron included) and closures."""

    def __init__(
        self,
        hours: WeeklyHours,
        province_code: str,
        closures: tuple[Closure, ...],
        timezone: ZoneInfo,
    ) -> None:
        self.hours = hours
        self.province_code = province_code
        self.closures = closures
        self.timezone = timezone
        try:
            # The subdivision is the province: its patron saint's day is a holiday too.
            self._holidays = holidays.Italy(subdiv=province_code, language=HOLIDAY_LANGUAGE)
        except NotImplementedError as error:
            raise ValueError(f"sigla di provincia sconosciuta: {province_code!r}") from error

    @classmethod
    def for_service(cls, settings: Settings) -> OpeningCalendar:
        """The URP's own service hours (chat and phone with an operator)."""
        return cls(
            settings.service_hours, settings.province_code, settings.closures, settings.timezone
        )

    @classmethod
    def for_office(cls, office: Office, settings: Settings) -> OpeningCalendar:
        """An office's hours, with the municipality's holidays and closures."""
        return cls(office.hours, settings.province_code, settings.closures, settings.timezone)

    def closed_reason(self, day: date) -> str | None:
        """The holiday or closure that closes ``day``, in Italian; None on a normal day."""
        names = self._holidays.get_list(day)
        if not names and day == easter(day.year):
            # The package leaves out Easter Sunday (always a Sunday), citizens do not.
            names = ["Pasqua"]
        if names:
            return join_italian(names)
        for closure in self.closures:
            if closure.start <= day <= closure.end:
                return closure.reason
        return None

    def intervals_on(self, day: date) -> tuple[Opening, ...]:
        """The openings of ``day`` as local datetimes; none on holidays and closures."""
        if self.closed_reason(day) is not None:
            return ()
        return tuple(
            (
                datetime.combine(day, interval.start, tzinfo=self.timezone),
                datetime.combine(day, interval.end, tzinfo=self.timezone),
            )
            for interval in self.hours.days[day.weekday()]
        )

    def current_interval(self, at: datetime) -> Opening | None:
        """The opening ``at`` falls in (start included, end excluded), if any."""
        local = at.astimezone(self.timezone)
        for start, end in self.intervals_on(local.date()):
            if start <= local < end:
                return start, end
        return None

    def is_open(self, at: datetime) -> bool:
        return self.current_interval(at) is not None

    def next_opening(self, after: datetime) -> datetime | None:
        """The next time the service opens: a start at ``after`` counts only if closed then.

        While open, the current interval's start is not "the next opening": the answer is
        the following one. None when nothing opens in the next :data:`SEARCH_DAYS` days.
        """
        return self._first_start(after, inclusive=not self.is_open(after))

    def _first_start(self, after: datetime, *, inclusive: bool) -> datetime | None:
        local = after.astimezone(self.timezone)
        for offset in range(SEARCH_DAYS + 1):
            for start, _ in self.intervals_on(local.date() + timedelta(days=offset)):
                if start > local or (inclusive and start == local):
                    return start
        return None

    def answer(self, span: DateSpan, now: datetime) -> OpeningAnswer:
        """Whether the service is open in ``span``, as seen at ``now``.

        A moment ("adesso") is answered at ``now``. Otherwise the first day of the span
        with openings overlapping it is answered (several days only for the weekend);
        when there is none, the span's day is closed and ``next_opening`` is the first
        opening from the span's start. Days already past are answered the same way.
        """
        if span.moment:
            local = now.astimezone(self.timezone)
            current = self.current_interval(local)
            if current is not None:
                return OpeningAnswer("open_now", local.date(), (current,), until=current[1])
            return OpeningAnswer(
                "closed_now",
                local.date(),
                reason=self.closed_reason(local.date()),
                next_opening=self.next_opening(local),
            )
        for day in self._days(span):
            overlapping = tuple(
                (start, end)
                for start, end in self.intervals_on(day)
                if start < span.end and end > span.start
            )
            if overlapping:
                return OpeningAnswer("open_on_day", day, overlapping)
        return OpeningAnswer(
            "closed_on_day",
            span.day,
            reason=self.closed_reason(span.day),
            next_opening=self._first_start(span.start, inclusive=True),
        )

    def _days(self, span: DateSpan) -> list[date]:
        """The calendar days a span touches, from its first (a night reaches the next)."""
        first = span.start.astimezone(self.timezone).date()
        last = (span.end - timedelta(microseconds=1)).astimezone(self.timezone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
