"""The example office data shipped for Ancona and Arezzo loads and says what it should."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from tests.store.conftest import raw_rows
from urp.core.data_files import DataFileError
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT, Settings, load_settings
from urp.core.text import MESSAGE_LIMIT
from urp.examples import ExampleLoad, load_examples
from urp.faq.entries import read_faq_file
from urp.information.bathing import BathingService
from urp.information.contributions import ContributionService, ContributionState
from urp.information.memo import MemoService, format_memo
from urp.information.pharmacy import PharmacyService

TODAY = date(2026, 11, 22)
FIRST_DAY, LAST_DAY = date(2026, 11, 1), date(2027, 12, 31)
ANCONA_FAQ = read_faq_file(PROJECT_ROOT / "settings" / "examples" / "ancona" / "faq.yml")


def settings_of(name: str) -> Settings:
    return load_settings(PROJECT_ROOT / "settings" / f"{name}.yml")


def load(database: Database, settings: Settings) -> ExampleLoad:
    assert settings.example_data is not None
    return load_examples(database, settings, settings.example_data)


def gazetteer_zones() -> dict[str, set[str]]:
    """Canonical beach names of data/nlu/gazetteers.yml and their synonyms."""
    data = yaml.safe_load((PROJECT_ROOT / "data" / "nlu" / "gazetteers.yml").read_text())
    [lookup] = [item for item in data["nlu"] if item.get("lookup") == "zone"]
    names = {line[2:].strip() for line in lookup["examples"].splitlines() if line.strip()}
    synonyms = {
        item["synonym"]: {line[2:].strip() for line in item["examples"].splitlines() if line}
        for item in data["nlu"]
        if "synonym" in item and item["synonym"] in names
    }
    every_synonym = set().union(*synonyms.values())
    return {name: synonyms.get(name, set()) for name in names - every_synonym}


@pytest.mark.parametrize("name", ["ancona", "arezzo"])
def test_every_day_has_pharmacies_on_duty_and_in_support(database: Database, name: str) -> None:
    load(database, settings_of(name))
    shifts = PharmacyService(database).shifts_between(FIRST_DAY, LAST_DAY)
    by_day: dict[date, list[str]] = {}
    for shift in shifts:
        by_day.setdefault(shift.day, []).append(shift.role)
    assert len(by_day) == (LAST_DAY - FIRST_DAY).days + 1
    for roles in by_day.values():
        assert roles.count("appoggio") == 1 and 1 <= roles.count("turno") <= 2


def test_ancona(database: Database) -> None:
    settings = settings_of("ancona")
    assert load(database, settings) == ExampleLoad(
        PROJECT_ROOT / "settings" / "examples" / "ancona", 1, 925, 10, 6, 5, len(ANCONA_FAQ)
    )
    memo = MemoService(database).current(TODAY)
    assert memo is not None and memo.published_on == date(2026, 11, 20)
    assert memo.header == "MEMO COMUNE DI ANCONA" == settings.memo_header
    assert len(memo.items) == 5
    assert all(item.title == item.title.upper() for item in memo.items)
    assert all(item.link.startswith("https://www.comune.ancona.gov.it/") for item in memo.items)
    assert len(format_memo(memo)) == 1 and len(format_memo(memo)[0]) < MESSAGE_LIMIT

    pharmacies = PharmacyService(database)
    for day in (TODAY, date(2027, 8, 15)):
        shifts = pharmacies.shifts_between(day, day)
        assert shifts and shifts[0].on_duty, day
    weekend = pharmacies.shifts_between(date(2026, 11, 21), date(2026, 11, 22))
    [pharmacy_item] = [item for item in memo.items if "FARMACIE" in item.title]
    assert all(shift.name in pharmacy_item.text for shift in weekend)  # the memo agrees
    assert set(pharmacies.areas()) <= {
        "Centro", "Piano", "Adriatico", "Torrette", "Collemarino", "Pinocchio",
        "Brecce Bianche", "Posatora", "Tavernelle",
    }  # fmt: skip

    bathing = BathingService(database)
    assert {z.name: set(z.synonyms) for z in bathing.zones()} == gazetteer_zones()
    bans = bathing.bans()
    assert 2 <= len(bans) <= 3
    assert all(z.ordinance and z.ordinance.startswith("Ordinanza n.") for z in bans)
    assert all(z.ordinance_url and z.since for z in bans)
    assert bathing.find_zone("Trave") is not None

    calls = ContributionService(database)
    states = {call.key: call.state(TODAY) for call in calls.contributions()}
    assert list(states.values()).count(ContributionState.OPEN) == 3
    assert calls.match("libri scolastici", TODAY).upcoming[0].expected
    assert calls.match("affitti", TODAY).open[0].closes_on == date(2026, 12, 31)
    assert calls.match("terremoto", TODAY).closed
    assert calls.match("borse di studio per un master", TODAY).open
    assert calls.match("centri estivi", TODAY).upcoming[0].opens_on > TODAY
    assert calls.match("bonus bollette", TODAY).open


def test_arezzo(database: Database) -> None:
    settings = settings_of("arezzo")
    loaded = load(database, settings)
    assert (loaded.memos, loaded.zones, loaded.contributions, loaded.quick_replies) == (1, 0, 4, 4)
    memo = MemoService(database).current(TODAY)
    assert memo is not None and memo.header == "INFO DAL COMUNE DI AREZZO"
    assert set(PharmacyService(database).areas()) == {
        "Centro", "Saione", "Pescaiola", "Tortaia", "Giotto", "Indicatore", "San Leo", "Olmo",
    }  # fmt: skip
    assert BathingService(database).zones() == []
    assert ContributionService(database).match("buoni libro", TODAY).upcoming


def test_loading_twice_changes_nothing(database: Database) -> None:
    settings = settings_of("ancona")
    load(database, settings)
    before = {table: raw_rows(database, table) for table in ("memo_items", "calls")}
    shifts = len(raw_rows(database, "pharmacy_shifts"))
    load(database, settings)
    assert {table: raw_rows(database, table) for table in before} == before
    assert len(raw_rows(database, "pharmacy_shifts")) == shifts
    assert len(raw_rows(database, "memos")) == 1


def test_a_bad_file_stops_everything_before_writing(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "esempi"
    folder.mkdir()
    source = PROJECT_ROOT / "settings" / "examples" / "ancona"
    for name in ("memo-2026-11-20.yml", "farmacie.csv", "balneazione.yml"):
        (folder / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "bandi.yml").write_text("calls:\n  - title: senza link\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bandi\.yml"):
        load_examples(database, settings_of("ancona"), folder)
    assert raw_rows(database, "pharmacy_shifts") == [] and raw_rows(database, "memos") == []


@pytest.mark.parametrize(
    ("files", "message"),
    [((), "nessun file memo"), (("memo-1.yml",), "manca farmacie.csv")],
)
def test_an_incomplete_folder(
    database: Database, tmp_path: Path, files: tuple[str, ...], message: str
) -> None:
    for name in files:
        (tmp_path / name).write_text("", encoding="utf-8")
    with pytest.raises(DataFileError, match=message):
        load_examples(database, settings_of("ancona"), tmp_path)
    with pytest.raises(DataFileError, match="non esiste"):
        load_examples(database, settings_of("ancona"), tmp_path / "manca")
