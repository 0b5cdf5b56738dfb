"""Grants and calls: the catalogue file, open/upcoming/closed, matching a citizen's words."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.store.conftest import FixedClock, raw_rows
from urp.core.data_files import DataFileError, UpsertReport
from urp.core.db import Database
from urp.information.contributions import (
    Contribution,
    ContributionService,
    ContributionState,
    read_contributions,
    stems,
)

TODAY = date(2026, 11, 22)
CATALOGUE = """\
calls:
  - title: Contributo per i libri di testo 2026/2027
    eligible: famiglie con figli alle medie e alle superiori
    expected: dopo la metà di gennaio
    link: https://c.it/bandi/libri
    keywords: [libri di testo, buoni libro]
  - key: affitto-2026
    title: Contributo per l'affitto 2026
    eligible: famiglie in affitto con ISEE fino a 17.000 euro
    opens_on: 2026-10-15
    closes_on: 31/12/2026
    link: https://c.it/bandi/affitto
    keywords: [affitto, canone di locazione]
  - title: Contributi per i danni del terremoto
    eligible: proprietari di case danneggiate
    opens_on: 2023-03-01
    closes_on: 2024-03-31
    link: https://c.it/bandi/sisma
    keywords: [terremoto, sisma]
  - title: Borse di studio per master
    eligible: laureati under 35
    opens_on: 2026-11-02
    closes_on: 2027-01-31
    link: https://c.it/bandi/master
    keywords: [borse di studio, master]
  - title: Centri estivi 2027
    eligible: famiglie con figli dai 3 ai 14 anni
    opens_on: 2027-04-15
    link: https://c.it/bandi/centri-estivi
    keywords: centri estivi
  - title: Bonus bollette
    eligible: famiglie con ISEE fino a 12.000 euro
    opens_on: 2026-10-01
    link: https://c.it/bandi/bollette
    keywords: [bollette, utenze, caro energia]
"""


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "bandi.yml"
    path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def calls(database: Database, clock: FixedClock, tmp_path: Path) -> ContributionService:
    service = ContributionService(database, clock=clock)
    service.load(read_contributions(write(tmp_path, CATALOGUE)))
    return service


def keys(found: tuple[Contribution, ...] | list[Contribution]) -> list[str]:
    return [call.key for call in found]


def test_a_catalogue_is_read(tmp_path: Path) -> None:
    books, rent, *_, camps, bills = read_contributions(write(tmp_path, CATALOGUE))
    assert books == Contribution(
        "contributo-per-i-libri-di-testo-2026-2027",
        "Contributo per i libri di testo 2026/2027",
        "famiglie con figli alle medie e alle superiori",
        None,
        None,
        "dopo la metà di gennaio",
        "https://c.it/bandi/libri",
        ("libri di testo", "buoni libro"),
    )
    assert rent.key == "affitto-2026" and rent.closes_on == date(2026, 12, 31)
    assert camps.keywords == ("centri estivi",)
    assert bills.closes_on is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    expected: dopo la metà di gennaio\n", ""), "riga 2: indica «opens_on» oppure"),
        (("closes_on: 31/12/2026", "closes_on: 2026-10-01"), "riga 11: «closes_on» precede"),
        (("opens_on: 2026-11-02", "opens_on: 2 novembre"), "riga 22: «opens_on»: data non valida"),
        (("link: https://c.it/bandi/sisma", "link: c.it/sisma"), "riga 18: «link» deve essere"),
        (("    eligible: laureati under 35\n", ""), "riga 20: manca «eligible»"),
        (("keywords: [bollette, utenze, caro energia]", "keywords: {a: 1}"), "riga 35: «keywords»"),
        (
            ("title: Bonus bollette", "title: Borse di studio per master"),
            "riga 31: bando «borse-di-studio-per-master» già definito alla riga 20",
        ),
    ],
)
def test_bad_catalogues_say_where_and_what(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with pytest.raises(DataFileError) as error:
        read_contributions(write(tmp_path, CATALOGUE.replace(*change)))
    assert message in str(error.value)


def test_the_state_of_a_call_follows_its_dates() -> None:
    call = Contribution(
        "k", "T", "tutti", date(2026, 11, 2), date(2026, 11, 30), None, "https://c.it"
    )
    assert call.state(date(2026, 11, 1)) == ContributionState.UPCOMING
    assert call.state(date(2026, 11, 2)) == ContributionState.OPEN
    assert call.state(date(2026, 11, 30)) == ContributionState.OPEN
    assert call.state(date(2026, 12, 1)) == ContributionState.CLOSED
    announced = Contribution("k", "T", "tutti", None, None, "a gennaio", "https://c.it")
    assert announced.state(date(2030, 1, 1)) == ContributionState.UPCOMING


def test_open_and_upcoming_calls(calls: ContributionService) -> None:
    # Closing soonest first, open-ended last.
    assert keys(calls.open_contributions(TODAY)) == [
        "affitto-2026",
        "borse-di-studio-per-master",
        "bonus-bollette",
    ]
    # Dated first, then the ones only expected.
    assert keys(calls.upcoming_contributions(TODAY)) == [
        "centri-estivi-2027",
        "contributo-per-i-libri-di-testo-2026-2027",
    ]
    assert keys(calls.open_contributions(date(2027, 5, 1))) == [
        "bonus-bollette",
        "centri-estivi-2027",
    ]


@pytest.mark.parametrize(
    ("words", "open_", "upcoming", "closed"),
    [
        ("affitti", ["affitto-2026"], [], []),
        ("contributo AFFITTO", ["affitto-2026"], [], []),
        (
            "quando esce il bando dei libri scolastici?",
            [],
            ["contributo-per-i-libri-di-testo-2026-2027"],
            [],
        ),
        ("borsa di studio", ["borse-di-studio-per-master"], [], []),
        ("la regione finanzia i master?", ["borse-di-studio-per-master"], [], []),
        ("sisma", [], [], ["contributi-per-i-danni-del-terremoto"]),
        ("centri estivi e bollette", ["bonus-bollette"], ["centri-estivi-2027"], []),
        ("càro energìa", ["bonus-bollette"], [], []),
        ("bandi e contributi del comune", [], [], []),  # names no call
        ("bonus bebè", [], [], []),
    ],
)
def test_match(
    calls: ContributionService,
    words: str,
    open_: list[str],
    upcoming: list[str],
    closed: list[str],
) -> None:
    found = calls.match(words, TODAY)
    assert (keys(found.open), keys(found.upcoming), keys(found.closed)) == (
        open_,
        upcoming,
        closed,
    )
    assert found.found == bool(open_ or upcoming or closed)


def test_stems_ignore_generic_and_short_words() -> None:
    assert stems("Il bando per gli affitti di Ancona") == {"affit", "ancon"}
    assert stems("Libri scolastici") == stems("libro scolastico") == {"libr", "scola"}
    assert stems("borsa, nido, gas") == stems("borse nidi gas") == {"bors", "nid", "gas"}


def test_loading_is_an_upsert_and_idempotent(
    calls: ContributionService, database: Database, clock: FixedClock, tmp_path: Path
) -> None:
    assert calls.load(read_contributions(write(tmp_path, CATALOGUE))) == UpsertReport(0, 0, 6)
    clock.advance(days=1)
    extended = CATALOGUE.replace("closes_on: 31/12/2026", "closes_on: 2027-01-31")
    new = "  - title: Bonus sport\n    eligible: ragazzi\n    opens_on: 2026-09-01\n"
    new += "    link: https://c.it/sport\n"
    assert calls.load(read_contributions(write(tmp_path, extended + new))) == UpsertReport(1, 1, 5)
    assert len(calls.contributions()) == 7
    rows = {row["key"]: row for row in raw_rows(database, "calls")}
    assert rows["affitto-2026"]["updated_at"] > rows["bonus-bollette"]["updated_at"]
    assert calls.match("affitto", date(2027, 1, 20)).open[0].closes_on == date(2027, 1, 31)
