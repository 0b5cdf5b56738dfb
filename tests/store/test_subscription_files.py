"""Export (labels and dates; numbers only on request, audited) and import of office sheets."""

from __future__ import annotations

import csv
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook

from tests.store.conftest import FixedClock, raw_rows
from urp.core.db import Database
from urp.core.spreadsheets import FileFormatError
from urp.subscription.files import (
    parse_date,
    parse_label,
    read_import,
    whatsapp_number,
    write_export,
)
from urp.subscription.subscribers import ImportRow, SkipReason, SubscriberService

ROME = ZoneInfo("Europe/Rome")
ACTIVE_NUMBER = "393330000001"
LEFT_NUMBER = "393330000002"


@pytest.fixture
def register(service: SubscriberService, clock: FixedClock) -> SubscriberService:
    """Two subscribers: one active, one who left."""
    clock.now = datetime(2024, 3, 5, 9, 15, tzinfo=UTC)
    service.subscribe("whatsapp", ACTIVE_NUMBER, "Iscrivimi", "2024-01")
    service.subscribe("whatsapp", LEFT_NUMBER, "Iscrivimi", "2024-01")
    clock.now = datetime(2024, 4, 1, 16, tzinfo=UTC)
    service.unsubscribe("whatsapp", LEFT_NUMBER)
    return service


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file, delimiter=";"))


def read_xlsx(path: Path) -> list[list[object]]:
    workbook = load_workbook(path, read_only=True)
    rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows


# -- export -----------------------------------------------------------------------------


def test_export_csv_has_labels_and_dates_without_numbers(
    register: SubscriberService, database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "iscritti.csv"
    write_export(path, register.export_rows(), ROME, with_numbers=False)
    assert read_csv(path) == [
        ["etichetta", "stato", "iscrizione", "cancellazione"],
        ["Numero 0001", "attivo", "05/03/2024 10:15", ""],
        ["Numero 0002", "cancellato", "05/03/2024 10:15", "01/04/2024 18:00"],
    ]
    assert "39333" not in path.read_text(encoding="utf-8-sig")
    assert raw_rows(database, "audit_events") == []


def test_export_xlsx_without_numbers(register: SubscriberService, tmp_path: Path) -> None:
    path = tmp_path / "iscritti.xlsx"
    write_export(path, register.export_rows(), ROME, with_numbers=False)
    assert read_xlsx(path) == [
        ["etichetta", "stato", "iscrizione", "cancellazione"],
        ["Numero 0001", "attivo", datetime(2024, 3, 5, 10, 15), None],
        ["Numero 0002", "cancellato", datetime(2024, 3, 5, 10, 15), datetime(2024, 4, 1, 18)],
    ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_with_numbers_is_audited(
    register: SubscriberService,
    database: Database,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    suffix: str,
) -> None:
    path = tmp_path / f"iscritti{suffix}"
    with caplog.at_level(logging.WARNING, logger="urp.subscription.subscribers"):
        rows = register.export_rows(with_numbers=True, operator="Anna Bianchi", destination="x")
    write_export(path, rows, ROME, with_numbers=True)
    table = read_csv(path) if suffix == ".csv" else read_xlsx(path)
    assert table[0] == ["etichetta", "numero", "stato", "iscrizione", "cancellazione"]
    assert [row[1] for row in table[1:]] == [ACTIVE_NUMBER, "" if suffix == ".csv" else None]
    [audit] = raw_rows(database, "audit_events")
    assert audit["operator"] == "Anna Bianchi"
    assert audit["action"] == "export_numbers"
    assert audit["detail"] == "1 numeri di telefono esportati in x"
    assert "Anna Bianchi" in caplog.text
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert ACTIVE_NUMBER not in caplog.text and ACTIVE_NUMBER not in audit["detail"]


def test_export_with_numbers_needs_an_operator(register: SubscriberService) -> None:
    with pytest.raises(ValueError, match="operator"):
        register.export_rows(with_numbers=True, operator=" ")


def test_export_format_follows_the_extension(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="formato non riconosciuto"):
        write_export(tmp_path / "iscritti.ods", [], ROME, with_numbers=False)


# -- import -----------------------------------------------------------------------------


def test_import_skips_duplicates_and_label_conflicts(
    service: SubscriberService, database: Database, tmp_path: Path
) -> None:
    service.subscribe("whatsapp", "393331111111", "Iscrivimi", "2024-01")  # Numero 0001
    sheet = tmp_path / "iscritti.csv"
    sheet.write_text(
        "Etichetta;Numero;Data\n"
        "Numero 0042;+39 333 222 2222;05/03/2022\n"  # imported
        "Numero 0043;333 1111111;06/03/2022\n"  # number already subscribed via chat
        "Numero 0001;3334444444;07/03/2022\n"  # label of another number
        "44;0039 3332222222;2022-03-08\n"  # same number as row 2
        "Numero 0045;3335555555;31/02/2022\n"  # impossible date
        "Numero 3000;3336666666;2023-01-09T10:30:00+01:00\n",  # imported
        encoding="utf-8",
    )
    rows, unreadable = read_import(sheet, ROME)
    report = service.import_rows(rows, "whatsapp", "precedente")

    assert report.imported == 2
    assert [(s.line, s.label, s.reason) for s in report.skipped] == [
        (3, "Numero 0043", SkipReason.NUMBER_PRESENT),
        (4, "Numero 0001", SkipReason.LABEL_TAKEN),
        (5, "Numero 0044", SkipReason.NUMBER_PRESENT),
    ]
    assert report.skipped[0].detail == "già registrato come Numero 0001"
    assert [(s.line, s.reason) for s in unreadable] == [(6, SkipReason.INVALID)]
    for skipped in (*report.skipped, *unreadable):
        assert "333" not in skipped.detail  # reports never show numbers
    status = service.status("whatsapp", "393332222222")
    assert status.label == "Numero 0042"
    assert status.since == datetime(2022, 3, 4, 23, tzinfo=UTC)  # midnight in Rome
    assert status.topics == ("memo",)
    consents = {c["subscriber_id"]: c for c in raw_rows(database, "consents")}
    assert consents[42]["policy_version"] == "precedente" and consents[42]["message"] is None
    # New subscribers get labels above the highest imported one.
    newcomer = service.subscribe("whatsapp", "393337777777", "Iscrivimi", "2024-01")
    assert newcomer.label == "Numero 3001"


def test_importing_lower_labels_never_moves_the_sequence_back(
    service: SubscriberService,
) -> None:
    when = datetime(2022, 1, 1, tzinfo=UTC)
    service.import_rows([ImportRow(2, 100, "393330000100", when)], "whatsapp", "precedente")
    assert service.subscribe("whatsapp", "393330000101", "Iscrivimi", "x").label == "Numero 0101"
    service.import_rows([ImportRow(2, 50, "393330000050", when)], "whatsapp", "precedente")
    assert service.subscribe("whatsapp", "393330000102", "Iscrivimi", "x").label == "Numero 0102"


def test_import_from_xlsx_with_typed_cells(service: SubscriberService, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Utente", "Telefono", "Data iscrizione"])
    sheet.append(["Utente 00007", 3331234567, datetime(2021, 6, 1, 12, 0)])
    sheet.append([8, "+39 333 7654321", date(2021, 7, 1)])
    sheet.append([None, None, None])
    sheet.append([9.0, 393339999999, "01/08/2021"])
    path = tmp_path / "iscritti.xlsx"
    workbook.save(path)
    rows, unreadable = read_import(path, ROME)
    assert unreadable == []
    assert [(r.line, r.label_number, r.user_id) for r in rows] == [
        (2, 7, "393331234567"),
        (3, 8, "393337654321"),
        (5, 9, "393339999999"),
    ]
    assert rows[0].subscribed_at == datetime(2021, 6, 1, 10, tzinfo=UTC)
    assert service.import_rows(rows, "whatsapp", "precedente").imported == 3


def test_an_exported_sheet_with_numbers_imports_into_another_register(
    register: SubscriberService, tmp_path: Path
) -> None:
    path = tmp_path / "copia.csv"
    rows = register.export_rows(with_numbers=True, operator="Anna Bianchi")
    write_export(path, rows, ROME, with_numbers=True)
    valid, unreadable = read_import(path, ROME)
    assert [(r.label_number, r.user_id) for r in valid] == [(1, ACTIVE_NUMBER)]
    assert [u.line for u in unreadable] == [3]  # the subscriber who left has no number


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "vuoto"),
        ("nome;cognome\nMario;Rossi\n", "etichetta"),
        ("etichetta;numero\n1;3331234567\n", "«data»"),
    ],
)
def test_unreadable_sheets_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "foglio.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FileFormatError, match=message):
        read_import(path, ROME)


def test_a_broken_xlsx_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "rotto.xlsx"
    broken.write_text("non sono un foglio Excel", encoding="utf-8")
    with pytest.raises(FileFormatError, match="Excel"):
        read_import(broken, ROME)
    with pytest.raises(FileFormatError, match="non esiste"):
        read_import(tmp_path / "manca.csv", ROME)


def test_a_legacy_windows_csv_with_commas_is_read(tmp_path: Path) -> None:
    path = tmp_path / "vecchio.csv"
    content = "Etichetta,Numero,Data,Città\nNumero 12,3331234567,3/1/2020,Ancona\n"
    path.write_bytes(content.encode("cp1252"))
    rows, _ = read_import(path, ROME)
    assert [(r.label_number, r.subscribed_at) for r in rows] == [
        (12, datetime(2020, 1, 3, tzinfo=ROME))
    ]


# -- cell parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Utente 00042", 42),
        ("Numero 1234", 1234),
        ("42", 42),
        (42, 42),
        (42.0, 42),
        ("N. 7", 7),
        (" numero 0009 ", 9),
        ("0", None),
        ("Utente", None),
        ("42a", None),
        ("", None),
        (None, None),
        ("99999999999", None),
    ],
)
def test_parse_label(value: object, expected: int | None) -> None:
    assert parse_label(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("05/03/2024", datetime(2024, 3, 5, tzinfo=ROME)),
        ("5/3/2024 14:30", datetime(2024, 3, 5, 14, 30, tzinfo=ROME)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=ROME)),
        ("2024-03-05T10:00:00+00:00", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        (date(2024, 3, 5), datetime(2024, 3, 5, tzinfo=ROME)),
        (datetime(2024, 3, 5, 8), datetime(2024, 3, 5, 8, tzinfo=ROME)),
        ("31/02/2024", None),
        ("marzo 2024", None),
        (None, None),
    ],
)
def test_parse_date(value: object, expected: datetime | None) -> None:
    assert parse_date(value, ROME) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+39 333 123 4567", "393331234567"),
        ("0039 333-123-4567", "393331234567"),
        ("333 1234567", "393331234567"),
        ("393331234567", "393331234567"),
        (3331234567, "393331234567"),
        (393331234567.0, "393331234567"),
        ("071 222 2222", "390712222222"),
        ("+44 7911 123456", "447911123456"),
        ("333", None),
        ("chiamami", None),
        ("", None),
        (None, None),
    ],
)
def test_whatsapp_number(value: object, expected: str | None) -> None:
    assert whatsapp_number(value) == expected
