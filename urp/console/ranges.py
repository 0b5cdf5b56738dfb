"""The range of days a statistics page or an export covers: ``?dal=&al=`` (ISO dates, as
the browser's date fields send them), in the municipality's time zone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

MAX_DAYS = 731  # two years: the daily chart stays readable, the query quick
# The tabs of the statistics' pages, shared by their modules.
STAT_PAGES = (
    ("/statistiche/conversazioni", "Conversazioni"),
    ("/statistiche/iscritti", "Iscritti"),
    ("/valutazioni", "Valutazioni"),
    ("/esportazioni", "Esportazioni"),
)


@dataclass(frozen=True)
class DayRange:
    start: date
    end: date
    problem: str | None = None  # why the dates asked for were not used

    @property
    def query(self) -> str:
        return f"dal={self.start.isoformat()}&al={self.end.isoformat()}"

    @property
    def label(self) -> str:
        return f"dal {self.start:%d/%m/%Y} al {self.end:%d/%m/%Y}"


def today(timezone: tzinfo) -> date:
    return datetime.now(timezone).date()


def day_range(query: Mapping[str, str], timezone: tzinfo, default_days: int) -> DayRange:
    """The days asked for, or the last ``default_days`` up to today, with why."""
    end_default = today(timezone)
    start_default = end_default - timedelta(days=default_days - 1)
    raw_start, raw_end = query.get("dal", "").strip(), query.get("al", "").strip()
    if not raw_start and not raw_end:
        return DayRange(start_default, end_default)
    try:
        start = date.fromisoformat(raw_start) if raw_start else start_default
        end = date.fromisoformat(raw_end) if raw_end else end_default
    except ValueError:
        return DayRange(start_default, end_default, "Date non valide: mostro gli ultimi giorni.")
    if end < start:
        return DayRange(
            start_default,
            end_default,
            "La data di fine viene prima dell'inizio: mostro gli ultimi giorni.",
        )
    if (end - start).days + 1 > MAX_DAYS:
        return DayRange(
            end - timedelta(days=MAX_DAYS - 1),
            end,
            "Al massimo due anni alla volta: mostro i due anni fino alla data di fine.",
        )
    return DayRange(start, end)
