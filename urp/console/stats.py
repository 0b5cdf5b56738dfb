"""The figures of the office, as pages: what needed ``urp handoffs stats`` and
``urp subscribers stats`` at the command line, with charts.

- «Conversazioni» (``/statistiche/conversazioni``): the chats handed to the office in a
  range of days, by day and by hour of the day, the waiting time (request to claim) and
  the handling time (claim to resolution), median and 90th percentile, by channel;
- «Iscritti» (``/statistiche/iscritti``): the subscribers month by month, new, left and
  active at the end of the month (the spreadsheet Ancona kept), and by topic;
- «Valutazioni» (``/valutazioni``): the citizens' ratings of the chats with an operator,
  the average per week or month, how many, and their comments.

Counts and times only: no phone number is ever read for these pages. Operators and admins
see them; every chart is an accessible SVG (:mod:`urp.console.charts`) beside its table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from urp.console.charts import Series, bar_chart, peak_sentence
from urp.console.ranges import STAT_PAGES, day_range
from urp.console.shell import Shell
from urp.core.clock import utc_now
from urp.core.db import Database
from urp.handoff.ratings import MONTHS, RatingService
from urp.handoff.stats import HandoffFigures, channel_label
from urp.subscription.stats import SubscriberStats, subscriber_stats

WEEKDAYS = ("lun", "mar", "mer", "gio", "ven", "sab", "dom")


def month_label(month: str) -> str:
    """ "2026-03" -> "mar 2026"."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1][:3]} {year}"


def minutes_label(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.0f} min"
    return f"{value / 60:.1f} h".replace(".", ",")


class StatsPages:
    """Handlers of ``/statistiche/...`` and ``/valutazioni``."""

    def __init__(self, shell: Shell, database: Database) -> None:
        self.shell = shell
        self.database = database
        self.figures = HandoffFigures(database)
        self.ratings = RatingService(database)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/statistiche", self.index)
        app.router.add_get("/statistiche/conversazioni", self.handoffs_page)
        app.router.add_get("/statistiche/iscritti", self.subscribers_page)
        app.router.add_get("/valutazioni", self.ratings_page)

    def render(self, request: web.Request, session: Any, template: str, **values: Any) -> Any:
        return self.shell.render(
            template, request, session, stat_pages=STAT_PAGES, here=request.path, **values
        )

    async def index(self, request: web.Request) -> web.StreamResponse:
        await self.shell.require(request)
        raise web.HTTPSeeOther("/statistiche/conversazioni")

    async def handoffs_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        timezone = self.shell.settings.timezone
        days = day_range(request.query, timezone, 30)
        report = await asyncio.to_thread(self.figures.report, days.start, days.end, timezone)
        day_labels = [f"{d:%d/%m}" for d, _ in report.days]
        day_values = [n for _, n in report.days]
        long_labels = [f"{WEEKDAYS[d.weekday()]} {d:%d/%m/%Y}" for d, _ in report.days]
        hour_labels = [f"{h}" for h in range(24)]
        return self.render(
            request,
            session,
            "stats_handoffs.html",
            days=days,
            report=report,
            day_rows=list(zip(long_labels, day_values, strict=True)),
            minutes=minutes_label,
            day_chart=bar_chart(
                "Conversazioni passate all'URP, per giorno",
                day_labels,
                [Series("Conversazioni", day_values, "serie-1")],
                summary=peak_sentence(long_labels, day_values, "conversazioni"),
            ),
            hour_chart=bar_chart(
                "Conversazioni per ora della richiesta",
                hour_labels,
                [Series("Conversazioni", report.hours, "serie-1")],
                summary=peak_sentence(
                    [f"tra le {h} e le {h + 1}" for h in range(24)],
                    report.hours,
                    "conversazioni",
                ),
                every=3,
            ),
        )

    async def subscribers_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        stats = await asyncio.to_thread(self._subscriber_stats)
        labels = [month_label(m.month) for m in stats.months]
        new = [m.new for m in stats.months]
        left = [m.cancelled for m in stats.months]
        active = [m.active for m in stats.months]
        growth = (
            f"Da {labels[0]} a {labels[-1]}: {sum(new)} nuove iscrizioni, {sum(left)} "
            f"cancellazioni, {active[-1]} iscritti attivi alla fine."
            if labels
            else "Nessun iscritto finora."
        )
        return self.render(
            request,
            session,
            "stats_subscribers.html",
            stats=stats,
            month_rows=list(zip(labels, stats.months, strict=True)),
            growth_chart=bar_chart(
                "Nuovi iscritti e cancellazioni, per mese",
                labels,
                [Series("Nuovi", new, "serie-1"), Series("Cancellati", left, "serie-2")],
                summary=growth,
            ),
            total_chart=bar_chart(
                "Iscritti attivi a fine mese",
                labels,
                [Series("Iscritti attivi", active, "serie-3")],
                summary=peak_sentence(labels, active, "iscritti attivi"),
            ),
        )

    def _subscriber_stats(self) -> SubscriberStats:
        settings = self.shell.settings
        with self.database.transaction() as session:
            return subscriber_stats(
                session, settings.subscription.topics, utc_now(), settings.timezone
            )

    async def ratings_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        timezone = self.shell.settings.timezone
        by = "month" if request.query.get("per") == "mese" else "week"
        days = day_range(request.query, timezone, 365 if by == "month" else 84)
        report = await asyncio.to_thread(self.ratings.report, days.start, days.end, timezone, by=by)
        labels = [p.label for p in report.periods]
        short = [
            month_label(f"{p.start:%Y-%m}") if by == "month" else f"{p.start:%d/%m}"
            for p in report.periods
        ]
        averages = [p.average or 0 for p in report.periods]
        return self.render(
            request,
            session,
            "ratings.html",
            days=days,
            by=by,
            report=report,
            when=lambda at: f"{at.astimezone(timezone):%d/%m/%Y %H:%M}",
            channel=channel_label,
            average_chart=bar_chart(
                "Voto medio (da 1 a 5), per " + ("mese" if by == "month" else "settimana"),
                short,
                [Series("Voto medio", averages, "serie-1")],
                summary=_ratings_summary(labels, report.periods),
                top=5,
            ),
        )


def _ratings_summary(labels: Sequence[str], periods: Sequence[Any]) -> str:
    rated = [(label, p) for label, p in zip(labels, periods, strict=True) if p.count]
    if not rated:
        return "Nessuna valutazione nel periodo."
    best = max(rated, key=lambda item: item[1].average)
    total = sum(p.count for _, p in rated)
    return (
        f"{total} valutazioni. La media più alta: {best[1].average:.1f} ".replace(".", ",")
        + f"su 5, {best[0]}."
    )
