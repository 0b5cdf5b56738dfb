"""«Esportazioni»: the statistics and the handoffs as CSV files for a spreadsheet.

CSV as a spreadsheet set to Italian opens it: UTF-8 with a BOM, ``;`` between the columns,
a comma in decimals, dates in the municipality's time. A cell that a spreadsheet would
read as a formula (``=``, ``+``, ``-``, ``@`` first) is written as text.

The handoffs' file says who handled each chat, when and how it was rated, never the
words. The conversation id (the phone number on WhatsApp) is added only when an admin ticks
«Includi i numeri di telefono»: that export is recorded in the audit log with the admin's
name and how many numbers left, as ``urp subscribers export --with-numbers`` is.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from aiohttp import web

from urp.console.ranges import STAT_PAGES, DayRange, day_range
from urp.console.shell import Shell
from urp.core.clock import utc_now
from urp.core.db import Database
from urp.core.models import AuditEvent
from urp.handoff.ratings import RatingService
from urp.handoff.stats import HandoffFigures, HandoffRow, channel_label
from urp.subscription.stats import subscriber_stats

logger = logging.getLogger(__name__)

ADMIN = "admin"
EXPORT_HANDOFF_NUMBERS = "export_handoff_numbers"
STATUS_LABELS = {"pending": "in attesa", "assigned": "presa in carico", "resolved": "chiusa"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One CSV cell as an Italian spreadsheet reads it, never as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sì" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> web.Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    response = web.Response(
        body=("\ufeff" + buffer.getvalue()).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _local(moment: datetime | None, timezone: tzinfo) -> str | None:
    return f"{moment.astimezone(timezone):%d/%m/%Y %H:%M}" if moment else None


def _minutes(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() / 60, 1)


class ExportPages:
    """Handlers of ``/esportazioni`` and its files."""

    def __init__(self, shell: Shell, database: Database) -> None:
        self.shell = shell
        self.database = database
        self.figures = HandoffFigures(database)
        self.ratings = RatingService(database)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/esportazioni", self.page)
        app.router.add_get("/esportazioni/conversazioni-per-giorno.csv", self.handoffs_by_day)
        app.router.add_get("/esportazioni/tempi-per-canale.csv", self.times_by_channel)
        app.router.add_get("/esportazioni/iscritti-per-mese.csv", self.subscribers_by_month)
        app.router.add_get("/esportazioni/valutazioni.csv", self.ratings_file)
        app.router.add_post("/esportazioni/conversazioni.csv", self.handoffs_file)

    def _days(self, request: web.Request) -> DayRange:
        return day_range(request.query, self.shell.settings.timezone, 30)

    async def page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        return self.shell.with_flash(
            request,
            session,
            "exports.html",
            days=self._days(request),
            stat_pages=STAT_PAGES,
            here=request.path,
        )

    async def handoffs_by_day(self, request: web.Request) -> web.StreamResponse:
        await self.shell.require(request)
        days = self._days(request)
        report = await asyncio.to_thread(
            self.figures.report, days.start, days.end, self.shell.settings.timezone
        )
        return csv_response(
            f"conversazioni-per-giorno-{days.start}-{days.end}.csv",
            ["giorno", "conversazioni"],
            ((f"{day:%d/%m/%Y}", count) for day, count in report.days),
        )

    async def times_by_channel(self, request: web.Request) -> web.StreamResponse:
        await self.shell.require(request)
        days = self._days(request)
        report = await asyncio.to_thread(
            self.figures.report, days.start, days.end, self.shell.settings.timezone
        )
        return csv_response(
            f"tempi-per-canale-{days.start}-{days.end}.csv",
            [
                "canale",
                "conversazioni",
                "chiuse",
                "attesa mediana (min)",
                "attesa 90% (min)",
                "gestione mediana (min)",
                "gestione 90% (min)",
            ],
            (
                (
                    t.label,
                    t.handoffs,
                    t.resolved,
                    t.wait_median,
                    t.wait_p90,
                    t.handling_median,
                    t.handling_p90,
                )
                for t in [report.overall, *report.channels]
            ),
        )

    async def subscribers_by_month(self, request: web.Request) -> web.StreamResponse:
        await self.shell.require(request)
        settings = self.shell.settings

        def read() -> Any:
            with self.database.transaction() as session:
                return subscriber_stats(
                    session, settings.subscription.topics, utc_now(), settings.timezone
                )

        stats = await asyncio.to_thread(read)
        return csv_response(
            "iscritti-per-mese.csv",
            ["mese", "nuovi", "cancellati", "saldo", "attivi a fine mese"],
            ((m.month, m.new, m.cancelled, m.net, m.active) for m in stats.months),
        )

    async def ratings_file(self, request: web.Request) -> web.StreamResponse:
        await self.shell.require(request)
        days = self._days(request)
        by = "month" if request.query.get("per") == "mese" else "week"
        report = await asyncio.to_thread(
            self.ratings.report, days.start, days.end, self.shell.settings.timezone, by=by
        )
        return csv_response(
            f"valutazioni-{days.start}-{days.end}.csv",
            ["periodo", "inizio", "valutazioni", "voto medio"],
            ((p.label, f"{p.start:%d/%m/%Y}", p.count, p.average) for p in report.periods),
        )

    async def handoffs_file(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        form = await request.post()
        with_numbers = form.get("numeri") == "1"
        if with_numbers and session.operator.role != ADMIN:
            raise web.HTTPForbidden()
        timezone = self.shell.settings.timezone
        days = day_range(
            {"dal": str(form.get("dal") or ""), "al": str(form.get("al") or "")}, timezone, 30
        )
        rows = await asyncio.to_thread(
            self._handoff_rows, days.start, days.end, with_numbers, session.operator.username
        )
        header = [
            "numero",
            "canale",
            "stato",
            "motivo",
            "fuori orario",
            "richiesta",
            "presa in carico",
            "chiusura",
            "attesa (min)",
            "gestione (min)",
            "operatore",
            "voto",
        ]
        stars = await asyncio.to_thread(self.ratings.stars_by_handoff, [r.id for r in rows])
        lines = [
            [
                r.id,
                channel_label(r.channel),
                STATUS_LABELS.get(r.status, r.status),
                r.reason,
                r.out_of_hours,
                _local(r.created_at, timezone),
                _local(r.assigned_at, timezone),
                _local(r.resolved_at, timezone),
                _minutes(r.assigned_at, r.created_at),
                _minutes(r.resolved_at, r.assigned_at),
                r.operator,
                stars.get(r.id),
                *([r.conversation_id] if with_numbers else []),
            ]
            for r in rows
        ]
        suffix = "-con-numeri" if with_numbers else ""
        return csv_response(
            f"conversazioni-{days.start}-{days.end}{suffix}.csv",
            header + (["conversazione (numero di telefono su WhatsApp)"] if with_numbers else []),
            lines,
        )

    def _handoff_rows(
        self, start: date, end: date, with_numbers: bool, username: str
    ) -> list[HandoffRow]:
        rows = self.figures.rows(start, end, self.shell.settings.timezone)
        if with_numbers:
            detail = (
                f"{len(rows)} conversazioni con il numero, dal {start:%d/%m/%Y} al {end:%d/%m/%Y}"
            )
            with self.database.transaction(write=True) as session:
                session.add(
                    AuditEvent(
                        at=utc_now(),
                        operator=username[:128],
                        action=EXPORT_HANDOFF_NUMBERS,
                        detail=detail,
                    )
                )
            logger.warning("Esportazione con numeri richiesta da %s: %s", username, detail)
        return rows
