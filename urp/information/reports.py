"""Reports collected in the chat (reporting mode "collect"), each with a protocol code.

The code is ``{prefix}-{year}-{number:06d}`` ("SEG-2026-000123"): the number restarts
every year (in the municipality's time zone) and comes from a per-year counter row,
incremented by an atomic upsert inside the report's write transaction. Two reports created
at the same moment, by threads or processes, get distinct consecutive numbers.

The citizen's number is stored only so that an operator can answer: it is not part of
:class:`Report`, so no list or export can show it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.data_files import is_web_link
from urp.core.db import Database
from urp.core.models import REPORT_STATUSES, ReportCounter
from urp.core.models import Report as ReportRow
from urp.core.spreadsheets import file_format

NEW = "new"
STATUS_LABELS = {"new": "nuova", "in_progress": "in lavorazione", "closed": "chiusa"}
EXPORT_HEADER = ("codice", "data", "descrizione", "indirizzo", "coordinate", "foto", "stato")
DATE_FORMAT = "%d/%m/%Y %H:%M"
# A spreadsheet runs a cell starting with these as a formula: citizens' words never are.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class UnknownReportError(LookupError):
    """No report has that code."""


@dataclass(frozen=True)
class Report:
    code: str  # "SEG-2026-000123"
    created_at: datetime
    channel: str
    description: str
    address: str | None
    latitude: float | None
    longitude: float | None
    photo_url: str | None
    status: str  # "new", "in_progress", "closed"

    @property
    def coordinates(self) -> str:
        """ "43.617500, 13.518900", or empty without a position."""
        if self.latitude is None or self.longitude is None:
            return ""
        return f"{self.latitude:.6f}, {self.longitude:.6f}"


class ReportService:
    """Create reports with their protocol code, list them, change their status."""

    def __init__(
        self, database: Database, code_prefix: str, timezone: tzinfo, *, clock: Clock = utc_now
    ) -> None:
        self._db = database
        self._prefix = code_prefix
        self._timezone = timezone
        self._clock = clock

    def create(
        self,
        channel: str,
        user_id: str,
        description: str,
        address: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        photo_url: str | None = None,
    ) -> Report:
        """Record a new report and give it the next protocol code of the year."""
        description = description.strip()
        address = (address or "").strip() or None
        if not description:
            raise ValueError("a report needs a description")
        if not 1 <= len(channel) <= 32 or not 1 <= len(user_id) <= 128:
            raise ValueError("channel and user id must be 1-32 and 1-128 characters")
        if (latitude is None) != (longitude is None):
            raise ValueError("latitude and longitude go together")
        if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError(f"not a position on Earth: {latitude}, {longitude}")
        if photo_url is not None and not is_web_link(photo_url):
            raise ValueError("the photo must be a web address")
        now = self._clock()
        year = now.astimezone(self._timezone).year
        with self._db.transaction(write=True) as session:
            number = self._next_number(session, year)
            row = ReportRow(
                code=f"{self._prefix}-{year}-{number:06d}",
                year=year,
                number=number,
                created_at=now,
                channel=channel,
                user_id=user_id,
                description=description,
                address=address,
                latitude=latitude,
                longitude=longitude,
                photo_url=photo_url,
                status=NEW,
            )
            session.add(row)
            return _report(row)

    def reports(self, status: str | None = None) -> list[Report]:
        """Reports, newest first; only those with ``status`` if given."""
        query = select(ReportRow).order_by(ReportRow.created_at.desc(), ReportRow.id.desc())
        if status is not None:
            query = query.where(ReportRow.status == _checked(status))
        with self._db.transaction() as session:
            return [_report(row) for row in session.execute(query).scalars()]

    def set_status(self, code: str, status: str) -> Report:
        """Move a report to ``status`` (an operator took it over, or closed it)."""
        with self._db.transaction(write=True) as session:
            row = session.execute(
                select(ReportRow).where(func.upper(ReportRow.code) == code.strip().upper())
            ).scalar_one_or_none()
            if row is None:
                raise UnknownReportError(code)
            row.status = _checked(status)
            return _report(row)

    def _next_number(self, session: Session, year: int) -> int:
        # One statement creates the year's counter or increments it: on PostgreSQL the row
        # stays locked until commit, so a concurrent report waits and takes the next number;
        # SQLite writers are already one at a time (BEGIN IMMEDIATE in urp.core.db).
        upsert = (
            self._db.upsert_insert(ReportCounter)
            .values(year=year, last=1)
            .on_conflict_do_update(
                index_elements=[ReportCounter.year], set_={"last": ReportCounter.last + 1}
            )
        )
        if self._db.dialect == "postgresql":
            return session.execute(upsert.returning(ReportCounter.last)).scalar_one()
        session.execute(upsert)  # SQLAlchemy 1.4 has no RETURNING for SQLite
        return session.execute(
            select(ReportCounter.last).where(ReportCounter.year == year)
        ).scalar_one()


def _checked(status: str) -> str:
    if status not in REPORT_STATUSES:
        raise ValueError(f"unknown report status: {status}")
    return status


def _report(row: ReportRow) -> Report:
    return Report(
        row.code,
        row.created_at,
        row.channel,
        row.description,
        row.address,
        row.latitude,
        row.longitude,
        row.photo_url,
        row.status,
    )


def write_reports(path: Path, reports: Sequence[Report], timezone: tzinfo) -> None:
    """Export to ``.csv`` (``;``, for Italian spreadsheets) or ``.xlsx``: never numbers."""
    suffix = file_format(path)

    def cells(report: Report) -> list[Any]:
        return [
            report.code,
            # Spreadsheet cells carry no time zone: the municipality's wall-clock time.
            report.created_at.astimezone(timezone).replace(tzinfo=None),
            report.description,
            report.address or "",
            report.coordinates,
            report.photo_url or "",
            STATUS_LABELS[report.status],
        ]

    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file, delimiter=";")
            writer.writerow(EXPORT_HEADER)
            for report in reports:
                row = cells(report)
                row[1] = row[1].strftime(DATE_FORMAT)
                # The apostrophe is how spreadsheets mark a cell as plain text.
                writer.writerow(f"'{v}" if v.startswith(FORMULA_STARTS) else v for v in row)
        return
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Segnalazioni"
    sheet.append(EXPORT_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for report in reports:
        sheet.append(cells(report))
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # openpyxl took a citizen's "=..." for a formula
                cell.data_type = "s"
    widths = {"codice": 18, "data": 17, "descrizione": 60, "indirizzo": 30, "coordinate": 24}
    for column, name in zip(sheet.iter_cols(min_row=1), EXPORT_HEADER, strict=True):
        sheet.column_dimensions[column[0].column_letter].width = widths.get(name, 14)
        if name == "data":
            for cell in column[1:]:
                cell.number_format = "dd/mm/yyyy hh:mm"
    sheet.freeze_panes = "A2"
    workbook.save(path)
