"""Bathing: the zones file, upserts, bans by ordinance, finding a zone by its names."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.store.conftest import FixedClock, raw_rows
from urp.core.data_files import DataFileError, UpsertReport
from urp.core.db import Database
from urp.information.bathing import BathingService, UnknownZoneError, Zone, read_zones

ZONES = """\
zones:
  - name: Palombina
    synonyms: [Palombina Vecchia, Palombina Nuova]
    coast: spiaggia di Palombina
    status: allowed
    since: 2026-05-15
  - key: monte-cardeto
    name: Monte Cardeto
    synonyms: Cardeto
    coast: scogliera sotto il Cardeto
    status: banned
    since: 20/08/2026
    ordinance: Ordinanza n. 123/2026
    link: https://www.comune.ancona.gov.it/ordinanze/123-2026
  - name: Scoglio del Trave
    synonyms: [Trave]
    coast: Mezzavalle nord
    status: allowed
"""


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "balneazione.yml"
    path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def bathing(database: Database, clock: FixedClock, tmp_path: Path) -> BathingService:
    service = BathingService(database, clock=clock)
    service.load(read_zones(write(tmp_path, ZONES)))
    return service


def test_a_zones_file_is_read(tmp_path: Path) -> None:
    palombina, cardeto, trave = read_zones(write(tmp_path, ZONES))
    assert palombina == Zone(
        "palombina",
        "Palombina",
        ("Palombina Vecchia", "Palombina Nuova"),
        "spiaggia di Palombina",
        "allowed",
        date(2026, 5, 15),
    )
    assert cardeto.synonyms == ("Cardeto",)
    assert cardeto.since == date(2026, 8, 20) and cardeto.banned
    assert cardeto.ordinance_url == "https://www.comune.ancona.gov.it/ordinanze/123-2026"
    assert trave.key == "scoglio-del-trave" and trave.since is None


@pytest.mark.parametrize(
    ("change", "messages"),
    [
        (("status: banned", "status: vietata"), ["riga 11: «status» deve essere allowed o banned"]),
        (("link: https://www", "link: www"), ["riga 14:", "http(s)://"]),
        (("since: 20/08/2026", "since: agosto"), ["riga 12: «since»: data non valida"]),
        (("    coast: Mezzavalle nord\n", ""), ["riga 15: manca «coast»"]),
        (
            ("name: Scoglio del Trave", "name: Palombina"),
            ["riga 15: zona «palombina» già definita alla riga 2"],
        ),
        (("zones:", "zone:"), ["manca l'elenco «zones»"]),
    ],
)
def test_bad_zone_files_say_where_and_what(
    tmp_path: Path, change: tuple[str, str], messages: list[str]
) -> None:
    with pytest.raises(DataFileError) as error:
        read_zones(write(tmp_path, ZONES.replace(*change)))
    for message in messages:
        assert message in str(error.value)


def test_loading_is_an_upsert_and_idempotent(
    bathing: BathingService, database: Database, tmp_path: Path
) -> None:
    zones = read_zones(write(tmp_path, ZONES))
    assert bathing.load(zones) == UpsertReport(0, 0, 3)
    changed = ZONES.replace("spiaggia di Palombina", "litorale di Palombina")
    only_palombina = read_zones(write(tmp_path, changed))[:1]
    assert bathing.load(only_palombina) == UpsertReport(0, 1, 0)
    assert [z.key for z in bathing.zones()] == ["palombina", "monte-cardeto", "scoglio-del-trave"]
    assert bathing.zones()[0].coast == "litorale di Palombina"
    assert len(raw_rows(database, "bathing_zones")) == 3


def test_zones_keep_the_order_of_the_coast(bathing: BathingService) -> None:
    assert [z.name for z in bathing.zones()] == ["Palombina", "Monte Cardeto", "Scoglio del Trave"]
    assert [z.name for z in bathing.bans()] == ["Monte Cardeto"]


@pytest.mark.parametrize(
    ("words", "key"),
    [
        ("Palombina", "palombina"),
        ("palombina nuova", "palombina"),
        ("CARDETO", "monte-cardeto"),
        ("monte-cardeto", "monte-cardeto"),
        ("trave", "scoglio-del-trave"),
        ("scoglio  del   trave", "scoglio-del-trave"),
        ("la spiaggia di Palombina Vecchia", "palombina"),
        ("sotto il monte cardeto?", "monte-cardeto"),
        ("Portonovo", None),
        ("travertino", None),  # whole words only
        ("", None),
    ],
)
def test_find_zone(bathing: BathingService, words: str, key: str | None) -> None:
    zone = bathing.find_zone(words)
    assert (zone.key if zone else None) == key


def test_a_ban_and_its_lifting(
    bathing: BathingService, clock: FixedClock, database: Database
) -> None:
    banned = bathing.set_status(
        "Trave", "banned", date(2026, 7, 3), "Ordinanza n. 99/2026", "https://c.it/o/99"
    )
    assert banned.banned and banned.since == date(2026, 7, 3)
    assert [z.key for z in bathing.bans()] == ["monte-cardeto", "scoglio-del-trave"]
    clock.advance(days=1)
    reopened = bathing.set_status("Monte Cardeto", "allowed", date(2026, 7, 4))
    assert not reopened.banned
    assert reopened.ordinance is None and reopened.ordinance_url is None  # no stale ordinance
    assert [z.key for z in bathing.bans()] == ["scoglio-del-trave"]
    assert bathing.find_zone("cardeto") == reopened
    updated = {row["key"]: row["updated_at"] for row in raw_rows(database, "bathing_zones")}
    assert updated["monte-cardeto"] > updated["scoglio-del-trave"]


def test_setting_an_unknown_zone_or_status(bathing: BathingService) -> None:
    with pytest.raises(UnknownZoneError):
        bathing.set_status("Sirolo", "banned", date(2026, 7, 3))
    with pytest.raises(ValueError, match="status"):
        bathing.set_status("Trave", "chiusa", date(2026, 7, 3))
