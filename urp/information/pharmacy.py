"""Pharmacies on duty: the shift calendar the office loads from a CSV file.

Each row is one pharmacy on one day, "turno" (on duty) or "appoggio" (support), with its
area and, when it is not the whole day, its hours ("8:30-20:00", "notturno"). Loading a
file replaces the shifts of the days it contains, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import delete, select

from urp.core.data_files import Problems, parse_day, read_csv
from urp.core.db import Database
from urp.core.models import ON_DUTY, SUPPORT, PharmacyShift
from urp.core.text import fold

ROLES = (ON_DUTY, SUPPORT)
# Header names accepted for each column (compared folded).
COLUMNS = {
    "data": ("data", "giorno", "date"),
    "farmacia": ("farmacia", "nome", "name"),
    "indirizzo": ("indirizzo", "address"),
    "telefono": ("telefono", "tel", "tel.", "phone"),
    "ruolo": ("ruolo", "tipo", "role"),
    "zona": ("zona", "quartiere", "area"),
    "orario": ("orario", "orari", "hours"),
}


@dataclass(frozen=True)
class Shift:
    day: date
    name: str
    address: str
    phone: str
    role: str  # "turno" (on duty) or "appoggio" (support)
    area: str
    hours: str | None = None  # None: the whole day

    @property
    def on_duty(self) -> bool:
        return self.role == ON_DUTY


@dataclass(frozen=True)
class ShiftLoad:
    shifts: int  # loaded
    days: int
    first: date
    last: date
    replaced: int  # shifts of those days that were in the store before


class PharmacyService:
    """The shift calendar: load a file, shifts of a period (and area), the areas."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def load(self, shifts: Sequence[Shift]) -> ShiftLoad:
        """Replace, atomically, the shifts of every day that ``shifts`` covers."""
        if not shifts:
            raise ValueError("no shifts to load")
        days = sorted({shift.day for shift in shifts})
        with self._db.transaction(write=True) as session:
            replaced = 0
            for first, last in _runs(days):
                replaced += session.execute(
                    delete(PharmacyShift)
                    .where(PharmacyShift.day.between(first, last))
                    .execution_options(synchronize_session=False)  # nothing loaded to sync
                ).rowcount
            session.add_all(
                PharmacyShift(
                    day=s.day,
                    name=s.name,
                    address=s.address,
                    phone=s.phone,
                    role=s.role,
                    area=s.area,
                    hours=s.hours,
                )
                for s in shifts
            )
        return ShiftLoad(len(shifts), len(days), days[0], days[-1], replaced)

    def shifts_between(self, start: date, end: date, area: str | None = None) -> list[Shift]:
        """Shifts from ``start`` to ``end`` (both included): by day, on duty first, by name.

        ``area`` ("Piano", "pinocchio") matches the pharmacy's area, or a part of its
        address, ignoring case and accents.
        """
        with self._db.transaction() as session:
            rows = session.execute(
                select(PharmacyShift).where(PharmacyShift.day.between(start, end))
            ).scalars()
            shifts = [
                Shift(r.day, r.name, r.address, r.phone, r.role, r.area, r.hours) for r in rows
            ]
        if area is not None:
            wanted = fold(area)
            shifts = [s for s in shifts if wanted == fold(s.area) or wanted in fold(s.address)]
        return sorted(shifts, key=lambda s: (s.day, not s.on_duty, fold(s.name)))

    def areas(self) -> list[str]:
        """The areas in the calendar, alphabetical, once each however they are spelled."""
        with self._db.transaction() as session:
            names = session.execute(select(PharmacyShift.area).distinct()).scalars().all()
        unique: dict[str, str] = {}
        for name in sorted(names):
            unique.setdefault(fold(name), name)
        return sorted(unique.values(), key=fold)


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs: a year of shifts is one range to delete."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def read_shifts(path: Path) -> list[Shift]:
    """The shifts of a CSV file (columns data;farmacia;indirizzo;telefono;ruolo;zona;orario).

    Separator ``;`` or ``,``; dates dd/mm/yyyy or yyyy-mm-dd; ``orario`` may be empty or
    missing. Raises :class:`~urp.core.data_files.DataFileError` listing every bad line.
    """
    problems = Problems(path)
    shifts: list[Shift] = []
    seen: dict[tuple[date, str], int] = {}
    for line, row in read_csv(path, COLUMNS, optional=("orario",)):
        day = parse_day(row["data"])
        role = fold(row["ruolo"])
        if day is None:
            problems.add(line, f"data non valida {row['data']!r} (gg/mm/aaaa o aaaa-mm-gg)")
        if role not in ROLES:
            problems.add(line, f"ruolo {row['ruolo']!r} non valido: usa «turno» o «appoggio»")
        missing = [c for c in ("farmacia", "indirizzo", "telefono", "zona") if not row[c]]
        if missing:
            problems.add(line, f"manca {', '.join(f'«{c}»' for c in missing)}")
        if len(row["telefono"]) > 64:
            problems.add(line, "«telefono» supera i 64 caratteri")
        if day is None or role not in ROLES or missing:
            continue
        key = (day, fold(row["farmacia"]))
        if key in seen:
            problems.add(
                line,
                f"{row['farmacia']} compare due volte il {day:%d/%m/%Y} (vedi riga {seen[key]})",
            )
            continue
        seen[key] = line
        shifts.append(
            Shift(
                day,
                row["farmacia"],
                row["indirizzo"],
                row["telefono"],
                role,
                row["zona"],
                row.get("orario") or None,
            )
        )
    if not shifts and not problems:
        problems.add(None, "nessun turno nel file")
    problems.raise_if_any()
    return shifts
