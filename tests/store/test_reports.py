"""Reports collected in the chat: protocol codes (also under concurrency), list, export.

The citizen's number is stored for the operator's answer and shown nowhere.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.store.conftest import FixedClock, raw_rows, url_of
from tests.store.races import WORKERS, in_processes, in_threads
from urp.core.db import Database
from urp.information.reports import Report, ReportService, UnknownReportError, write_reports

ROME = ZoneInfo("Europe/Rome")
NUMBER = "393331234567"
PER_WORKER = 10


@pytest.fixture
def reports(database: Database, clock: FixedClock) -> ReportService:
    clock.now = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    return ReportService(database, "SEG", ROME, clock=clock)


def test_a_report_gets_a_protocol_code(reports: ReportService, database: Database) -> None:
    report = reports.create(
        "whatsapp",
        NUMBER,
        "  Erba alta come alberi sul sentiero  ",
        "Via del Conero 12",
        43.5923,
        13.5571,
        "https://media.example.it/foto/1.jpg",
    )
    assert report == Report(
        "SEG-2026-000001",
        datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
        "whatsapp",
        "Erba alta come alberi sul sentiero",
        "Via del Conero 12",
        43.5923,
        13.5571,
        "https://media.example.it/foto/1.jpg",
        "new",
    )
    assert report.coordinates == "43.592300, 13.557100"
    [row] = raw_rows(database, "reports")
    assert row["user_id"] == NUMBER  # kept only for the operator's answer
    assert reports.create("whatsapp", NUMBER, "Lampione spento").code == "SEG-2026-000002"


def test_numbers_restart_each_year_in_local_time(reports: ReportService, clock: FixedClock) -> None:
    clock.now = datetime(2026, 12, 31, 22, 59, tzinfo=UTC)  # 23:59 in Rome
    assert reports.create("whatsapp", NUMBER, "a").code == "SEG-2026-000001"
    clock.now = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)  # midnight in Rome
    assert reports.create("whatsapp", NUMBER, "b").code == "SEG-2027-000001"
    assert reports.create("whatsapp", NUMBER, "c").code == "SEG-2027-000002"
    clock.now = datetime(2026, 12, 31, 12, tzinfo=UTC)  # a late arrival for 2026
    assert reports.create("whatsapp", NUMBER, "d").code == "SEG-2026-000002"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"description": " "}, "description"),
        ({"latitude": 43.6}, "together"),
        ({"latitude": 143.6, "longitude": 13.5}, "position"),
        ({"photo_url": "file:///etc/passwd"}, "photo"),
        ({"channel": ""}, "channel"),
    ],
)
def test_invalid_reports_are_refused(
    reports: ReportService, database: Database, arguments: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {"channel": "whatsapp", "user_id": NUMBER, "description": "buca"}
    with pytest.raises(ValueError, match=message):
        reports.create(**(values | arguments))
    assert raw_rows(database, "reports") == []
    assert raw_rows(database, "report_counters") == []


def test_list_by_status_and_change_status(reports: ReportService, clock: FixedClock) -> None:
    first = reports.create("whatsapp", NUMBER, "buca in via Roma")
    clock.advance(minutes=5)
    second = reports.create("web", "sessione-42", "rifiuti abbandonati", "Piazza Cavour")
    assert [r.code for r in reports.reports()] == [second.code, first.code]  # newest first
    assert reports.set_status("seg-2026-000001", "in_progress").status == "in_progress"
    assert [r.code for r in reports.reports("new")] == [second.code]
    assert [r.code for r in reports.reports("in_progress")] == [first.code]
    assert reports.reports("closed") == []
    with pytest.raises(UnknownReportError):
        reports.set_status("SEG-2026-999999", "closed")
    with pytest.raises(ValueError, match="status"):
        reports.set_status(first.code, "archiviata")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_exports_never_contain_the_number(
    reports: ReportService, tmp_path: Path, suffix: str
) -> None:
    reports.create("whatsapp", NUMBER, "Buca profonda", "Via Roma 1", 43.6, 13.5, "https://f.it/1")
    reports.create("whatsapp", NUMBER, '=HYPERLINK("http://x")')  # a citizen's "formula"
    path = tmp_path / f"segnalazioni{suffix}"
    write_reports(path, reports.reports(), ROME)
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as file:
            table: list[list[Any]] = list(csv.reader(file, delimiter=";"))
        assert table[2] == [
            "SEG-2026-000001",
            "22/11/2026 10:30",
            "Buca profonda",
            "Via Roma 1",
            "43.600000, 13.500000",
            "https://f.it/1",
            "nuova",
        ]
        assert table[1][2] == '\'=HYPERLINK("http://x")'
        assert NUMBER not in path.read_text(encoding="utf-8-sig")
    else:
        workbook = load_workbook(path)
        table = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
        assert table[2][:2] == ["SEG-2026-000001", datetime(2026, 11, 22, 10, 30)]
        assert workbook.worksheets[0]["C2"].data_type == "s"  # text, not a formula
        assert not any(NUMBER in str(cell) for row in table for cell in row)
    assert table[0] == [
        "codice",
        "data",
        "descrizione",
        "indirizzo",
        "coordinate",
        "foto",
        "stato",
    ]


# -- concurrency -------------------------------------------------------------------------


def _create_many(service: ReportService, barrier: Any) -> list[str]:
    barrier.wait()
    return [service.create("whatsapp", NUMBER, f"buca {n}").code for n in range(PER_WORKER)]


def _create_in_process(url: str, barrier: Any, results: Any) -> None:
    database = Database(url)
    results.put(_create_many(ReportService(database, "SEG", ROME), barrier))
    database.dispose()


def _check_codes(database: Database, codes: list[str]) -> None:
    year = datetime.now(ROME).year
    expected = {f"SEG-{year}-{n:06d}" for n in range(1, WORKERS * PER_WORKER + 1)}
    assert len(codes) == len(set(codes)) == WORKERS * PER_WORKER
    assert set(codes) == expected
    assert {row["code"] for row in raw_rows(database, "reports")} == expected


def test_two_threads_creating_reports_get_distinct_codes(database: Database) -> None:
    service = ReportService(database, "SEG", ROME)
    _check_codes(database, in_threads(lambda barrier: _create_many(service, barrier)))


def test_two_processes_creating_reports_get_distinct_codes(database: Database) -> None:
    _check_codes(database, in_processes(_create_in_process, (url_of(database),)))
