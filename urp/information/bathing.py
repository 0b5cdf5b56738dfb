"""Bathing waters: the zones of the coast and whether bathing is allowed in each.

The office loads the zones from a YAML file (names, the words citizens use for them, the
stretch of coast) and changes a zone's status with ``urp bathing set`` when an ordinance
bans bathing or lifts the ban.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy import select

from urp.core.clock import Clock, utc_now
from urp.core.data_files import (
    Change,
    Located,
    Problems,
    UpsertReport,
    day_value,
    link_value,
    read_keyed_list,
    slug,
    text_value,
    words_value,
)
from urp.core.db import Database
from urp.core.models import ALLOWED, BANNED, BathingZone
from urp.core.text import fold

STATUSES = (ALLOWED, BANNED)


class UnknownZoneError(LookupError):
    """No zone has that key, name or synonym."""


@dataclass(frozen=True)
class Zone:
    key: str
    name: str  # "Scoglio del Trave"
    synonyms: tuple[str, ...]  # ("Trave",)
    coast: str  # the stretch of coast, in words
    status: str  # "allowed" or "banned"
    since: date | None = None
    ordinance: str | None = None  # "Ordinanza n. 123/2026"
    ordinance_url: str | None = None

    @property
    def banned(self) -> bool:
        return self.status == BANNED

    def names(self) -> tuple[str, ...]:
        """Every way to name the zone, as compared: key, name, synonyms."""
        return tuple(_words(n) for n in (self.key, self.name, *self.synonyms))


class BathingService:
    """Zones in the store: load a file, set a status, find a zone, list zones and bans."""

    def __init__(self, database: Database, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock

    def load(self, zones: Sequence[Zone]) -> UpsertReport:
        """Add or update zones by key, in the file's order; zones not in the file stay."""
        counts = dict.fromkeys(Change, 0)
        with self._db.transaction(write=True) as session:
            for position, zone in enumerate(zones, start=1):
                row = session.get(BathingZone, zone.key)
                if row is None:
                    row = BathingZone(key=zone.key)
                    session.add(row)
                    change = Change.CREATED
                elif _zone(row) == zone and row.position == position:
                    counts[Change.UNCHANGED] += 1
                    continue
                else:
                    change = Change.UPDATED
                _fill(row, zone)
                row.position = position
                row.updated_at = self._clock()
                counts[change] += 1
        return UpsertReport(
            counts[Change.CREATED], counts[Change.UPDATED], counts[Change.UNCHANGED]
        )

    def set_status(
        self,
        words: str,
        status: str,
        since: date,
        ordinance: str | None = None,
        ordinance_url: str | None = None,
    ) -> Zone:
        """Allow or ban bathing in the zone named by ``words`` from ``since``.

        The ordinance replaces the previous one (none given: none shown).
        """
        if status not in STATUSES:
            raise ValueError(f"unknown bathing status: {status}")
        zone = self.find_zone(words)
        if zone is None:
            raise UnknownZoneError(words)
        updated = replace(
            zone, status=status, since=since, ordinance=ordinance, ordinance_url=ordinance_url
        )
        with self._db.transaction(write=True) as session:
            row = session.get(BathingZone, zone.key)
            _fill(row, updated)
            row.updated_at = self._clock()
        return updated

    def zones(self) -> list[Zone]:
        """Every zone, along the coast (the order of the file)."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(BathingZone).order_by(BathingZone.position, BathingZone.key)
            ).scalars()
            return [_zone(row) for row in rows]

    def bans(self) -> list[Zone]:
        """The zones where bathing is banned."""
        return [zone for zone in self.zones() if zone.banned]

    def find_zone(self, words: str) -> Zone | None:
        """The zone that ``words`` name ("trave", "spiaggia di Portonovo"), if any.

        An exact name, key or synonym wins; otherwise the longest one contained in the
        words, as whole words.
        """
        wanted = _words(words)
        zones = self.zones()
        for zone in zones:
            if wanted in zone.names():
                return zone
        padded = f" {wanted} "
        found = [
            (len(name), zone) for zone in zones for name in zone.names() if f" {name} " in padded
        ]
        return max(found, key=lambda pair: pair[0])[1] if found else None


def _words(text: str) -> str:
    """Folded words only, so that "Scoglio del Trave" and "scoglio-del-trave" compare equal."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def _zone(row: BathingZone) -> Zone:
    return Zone(
        row.key,
        row.name,
        tuple(row.synonyms),
        row.coast,
        row.status,
        row.since,
        row.ordinance,
        row.ordinance_url,
    )


def _fill(row: BathingZone, zone: Zone) -> None:
    row.name = zone.name
    row.synonyms = list(zone.synonyms)
    row.coast = zone.coast
    row.status = zone.status
    row.since = zone.since
    row.ordinance = zone.ordinance
    row.ordinance_url = zone.ordinance_url


# -- file --------------------------------------------------------------------------------


def read_zones(path: Path) -> list[Zone]:
    """Zones from YAML: ``zones``, each with name, optional key (default from the name),
    synonyms, coast, status (allowed/banned), since, ordinance, link.

    Raises :class:`~urp.core.data_files.DataFileError` listing every problem with its line.
    """
    return read_keyed_list(
        path, "zones", _read_zone, lambda key, line: f"zona «{key}» già definita alla riga {line}"
    )


def _read_zone(entry: Located, problems: Problems) -> Zone | None:
    name = text_value(entry, "name", problems)
    key = text_value(entry, "key", problems, required=False, max_length=64)
    coast = text_value(entry, "coast", problems)
    status = text_value(entry, "status", problems)
    if status is not None and status not in STATUSES:
        problems.add(
            entry.line_of("status"), f"«status» deve essere allowed o banned, non {status!r}"
        )
    since = day_value(entry, "since", problems, required=False)
    ordinance = text_value(entry, "ordinance", problems, required=False)
    link = link_value(entry, "link", problems, required=False)
    synonyms = words_value(entry, "synonyms", problems)
    if name is None or coast is None or status not in STATUSES:
        return None
    key = slug(key or name)[:64]
    if not key:
        problems.add(entry.line, "la chiave della zona deve contenere lettere o cifre")
        return None
    return Zone(key, name, synonyms, coast, status, since, ordinance, link)
