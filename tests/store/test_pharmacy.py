"""Pharmacies on duty: the CSV calendar, loading by days, shifts of a period and an area."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from tests.store.conftest import raw_rows
from urp.core.data_files import DataFileError
from urp.core.db import Database
from urp.information.pharmacy import PharmacyService, Shift, read_shifts

CALENDAR = """\
data;farmacia;indirizzo;telefono;ruolo;zona;orario
21/11/2026;Farmacia Adriatica;Via Giordano Bruno 31;071 207 415;turno;Adriatico;
21/11/2026;Farmacia Tavernelle;Via Ranieri 54;071 286 071;appoggio;Tavernelle;9:00-13:00
22/11/2026;Farmacia Torrette;Via Flaminia 346;071 888 302;turno;Torrette;8:30-20:00
22/11/2026;Farmacia delle Brecce;Via Brecce Bianche 70;071 280 933;TURNO;Brecce Bianche;notturno
22/11/2026;Farmacia del Corso;Corso Garibaldi 98;071 203 118;appoggio;Centro;9:00-13:00
"""


def write(tmp_path: Path, content: str, name: str = "farmacie.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def shift(day: int, name: str, role: str = "turno", area: str = "Centro") -> Shift:
    return Shift(date(2026, 11, day), name, f"Via {name} 1", "071 000", role, area)


@pytest.fixture
def pharmacies(database: Database) -> PharmacyService:
    return PharmacyService(database)


# -- file --------------------------------------------------------------------------------


def test_a_calendar_is_read(tmp_path: Path) -> None:
    shifts = read_shifts(write(tmp_path, CALENDAR))
    assert len(shifts) == 5
    assert shifts[0] == Shift(
        date(2026, 11, 21),
        "Farmacia Adriatica",
        "Via Giordano Bruno 31",
        "071 207 415",
        "turno",
        "Adriatico",
        None,
    )
    assert shifts[3].role == "turno" and shifts[3].hours == "notturno"


def test_commas_iso_dates_quotes_and_no_hours_column(tmp_path: Path) -> None:
    content = (
        "Data,Farmacia,Indirizzo,Telefono,Ruolo,Zona\n"
        '2026-11-21,Farmacia Adriatica,"Via Giordano Bruno, 31",071 207 415,turno,Adriatico\n'
    )
    [read] = read_shifts(write(tmp_path, content))
    assert read.day == date(2026, 11, 21)
    assert read.address == "Via Giordano Bruno, 31"
    assert read.hours is None


def test_line_numbers_count_quoted_line_breaks(tmp_path: Path) -> None:
    content = (
        "data,farmacia,indirizzo,telefono,ruolo,zona\n"
        '2026-11-21,Farmacia Adriatica,"Via Giordano Bruno 31\n(angolo via Marconi)",071,turno,Adriatico\n'
        "2026-11-21,Farmacia X,Via X,071,aperta,Centro\n"
    )
    with pytest.raises(DataFileError, match="riga 4: ruolo 'aperta'"):
        read_shifts(write(tmp_path, content))


def test_a_windows_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "farmacie.csv"
    path.write_bytes(CALENDAR.replace("Adriatica", "Università").encode("cp1252"))
    assert read_shifts(path)[0].name == "Farmacia Università"


def test_bad_rows_are_all_reported_with_their_line(tmp_path: Path) -> None:
    content = CALENDAR + (
        "31/11/2026;Farmacia X;Via X;071;turno;Centro;\n"
        "23/11/2026;Farmacia Y;Via Y;071;di guardia;Centro;\n"
        "23/11/2026;;Via Z;;turno;Centro;\n"
        "22/11/2026;Farmacia Torrette;Via Flaminia 346;071;appoggio;Torrette;\n"
    )
    with pytest.raises(DataFileError) as error:
        read_shifts(write(tmp_path, content))
    assert str(error.value).splitlines() == [
        "farmacie.csv: 4 errori, nessun dato caricato",
        "  riga 7: data non valida '31/11/2026' (gg/mm/aaaa o aaaa-mm-gg)",
        "  riga 8: ruolo 'di guardia' non valido: usa «turno» o «appoggio»",
        "  riga 9: manca «farmacia», «telefono»",
        "  riga 10: Farmacia Torrette compare due volte il 22/11/2026 (vedi riga 4)",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("data;farmacia;indirizzo;telefono;zona\n", "riga 1: manca la colonna «ruolo»"),
        ("", "il file è vuoto"),
        ("data;farmacia;indirizzo;telefono;ruolo;zona\n", "nessun turno nel file"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        read_shifts(write(tmp_path, content))


# -- store -------------------------------------------------------------------------------


def test_shifts_are_ordered_by_day_then_on_duty_then_name(
    pharmacies: PharmacyService, tmp_path: Path
) -> None:
    pharmacies.load(read_shifts(write(tmp_path, CALENDAR)))
    shifts = pharmacies.shifts_between(date(2026, 11, 21), date(2026, 11, 22))
    assert [(s.day.day, s.role, s.name) for s in shifts] == [
        (21, "turno", "Farmacia Adriatica"),
        (21, "appoggio", "Farmacia Tavernelle"),
        (22, "turno", "Farmacia delle Brecce"),
        (22, "turno", "Farmacia Torrette"),
        (22, "appoggio", "Farmacia del Corso"),
    ]
    assert shifts[0].on_duty and not shifts[1].on_duty
    assert pharmacies.shifts_between(date(2026, 11, 22), date(2026, 11, 22))[0].day.day == 22
    assert pharmacies.shifts_between(date(2026, 11, 23), date(2026, 11, 30)) == []


@pytest.mark.parametrize(
    ("area", "names"),
    [
        ("brecce bianche", ["Farmacia delle Brecce"]),
        ("BRÉCCE BIANCHE", ["Farmacia delle Brecce"]),
        ("Flaminia", ["Farmacia Torrette"]),  # a street of the address
        ("centro", ["Farmacia del Corso"]),
        ("Brecce", ["Farmacia delle Brecce"]),  # part of the address, not of another area
        ("Posatora", []),
    ],
)
def test_an_area_matches_the_area_or_the_address(
    pharmacies: PharmacyService, tmp_path: Path, area: str, names: list[str]
) -> None:
    pharmacies.load(read_shifts(write(tmp_path, CALENDAR)))
    shifts = pharmacies.shifts_between(date(2026, 11, 21), date(2026, 11, 22), area)
    assert [s.name for s in shifts] == names


def test_areas(pharmacies: PharmacyService) -> None:
    pharmacies.load([shift(1, "A", area="Piano"), shift(1, "B", area="centro")])
    pharmacies.load([shift(2, "C", area="Centro"), shift(2, "D", area="Àrchi")])
    assert pharmacies.areas() == ["Àrchi", "Centro", "Piano"]


def test_loading_replaces_only_the_days_in_the_file(
    pharmacies: PharmacyService, database: Database
) -> None:
    first = pharmacies.load([shift(1, "A"), shift(2, "B"), shift(3, "C"), shift(5, "E")])
    assert (first.shifts, first.days, first.replaced) == (4, 4, 0)
    assert (first.first, first.last) == (date(2026, 11, 1), date(2026, 11, 5))
    second = pharmacies.load([shift(2, "B2"), shift(3, "C2", "appoggio"), shift(4, "D")])
    assert second.replaced == 2
    names = [s.name for s in pharmacies.shifts_between(date(2026, 11, 1), date(2026, 11, 30))]
    assert names == ["A", "B2", "C2", "D", "E"]
    assert len(raw_rows(database, "pharmacy_shifts")) == 5


def test_loading_the_same_file_twice_changes_nothing(
    pharmacies: PharmacyService, database: Database, tmp_path: Path
) -> None:
    shifts = read_shifts(write(tmp_path, CALENDAR))
    pharmacies.load(shifts)
    before = pharmacies.shifts_between(date(2026, 1, 1), date(2026, 12, 31))
    assert pharmacies.load(shifts).replaced == 5
    assert pharmacies.shifts_between(date(2026, 1, 1), date(2026, 12, 31)) == before
    assert len(raw_rows(database, "pharmacy_shifts")) == 5


def test_a_failed_load_leaves_the_calendar_as_it_was(pharmacies: PharmacyService) -> None:
    pharmacies.load([shift(1, "A"), shift(2, "B")])
    with pytest.raises(IntegrityError):
        pharmacies.load([shift(1, "N"), shift(2, "M"), shift(2, "M")])  # one pharmacy twice
    names = [s.name for s in pharmacies.shifts_between(date(2026, 11, 1), date(2026, 11, 2))]
    assert names == ["A", "B"]
