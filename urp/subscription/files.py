"""Spreadsheets of the register: export to CSV/XLSX, import the offices' own sheets.

The format follows the file extension. Exports are written for Italian spreadsheet
programs (CSV with ``;`` and a BOM, dates as dd/mm/yyyy hh:mm in the municipality's time
zone); imports accept what offices keep today: a label ("Utente 00042", "Numero 1234" or
just 42), a phone number and a date (dd/mm/yyyy or ISO), with a header row.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from urp.core.spreadsheets import FileFormatError, file_format
from urp.core.text import fold
from urp.subscription.subscribers import ExportRow, ImportRow, SkippedRow, SkipReason

# Accepted header names (compared folded: case, accents, "_" and extra spaces ignored).
LABEL_HEADERS = {"label", "etichetta", "utente", "codice"}
NUMBER_HEADERS = {"number", "numero", "telefono", "cellulare", "numero di telefono", "phone"}
DATE_HEADERS = {"date", "data", "data iscrizione", "data di iscrizione", "iscrizione"}
LABEL_PATTERN = re.compile(r"(?:[^\W\d_]+\.?\s*)?(\d{1,10})")
ITALIAN_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
MAX_LABEL = 2**31 - 1  # a 32-bit integer primary key
DATE_FORMAT = "%d/%m/%Y %H:%M"


# -- export -----------------------------------------------------------------------------


def write_export(
    path: Path, rows: Sequence[ExportRow], timezone: tzinfo, *, with_numbers: bool
) -> None:
    """Write labels, status and dates (and the numbers only if ``with_numbers``)."""
    suffix = file_format(path)
    header = ["etichetta", "stato", "iscrizione", "cancellazione"]
    if with_numbers:
        header.insert(1, "numero")

    def cells(row: ExportRow) -> list[Any]:
        values = [
            row.label,
            "attivo" if row.active else "cancellato",
            _local(row.subscribed_at, timezone),
            _local(row.cancelled_at, timezone),
        ]
        if with_numbers:
            values.insert(1, row.number or "")
        return values

    if suffix == ".csv":
        # utf-8-sig and ";": what a spreadsheet program set to Italian opens as columns.
        with path.open("w", encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file, delimiter=";")
            writer.writerow(header)
            for row in rows:
                writer.writerow(
                    v.strftime(DATE_FORMAT) if isinstance(v, datetime) else v for v in cells(row)
                )
        return
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Iscritti"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(cells(row))
    for column, name in zip(sheet.iter_cols(min_row=1), header, strict=True):
        width = 18 if name in {"iscrizione", "cancellazione", "numero"} else 14
        sheet.column_dimensions[column[0].column_letter].width = width
        if name in {"iscrizione", "cancellazione"}:
            for cell in column[1:]:
                cell.number_format = "dd/mm/yyyy hh:mm"
    sheet.freeze_panes = "A2"
    workbook.save(path)


def _local(moment: datetime | None, timezone: tzinfo) -> datetime | None:
    # Spreadsheet cells carry no time zone: write the municipality's wall-clock time.
    return moment.astimezone(timezone).replace(tzinfo=None) if moment else None


# -- import -----------------------------------------------------------------------------


def read_import(path: Path, timezone: tzinfo) -> tuple[list[ImportRow], list[SkippedRow]]:
    """The valid rows of an office's sheet, and the rows that cannot be read (with why)."""
    suffix = file_format(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: il file non esiste")
    records = _csv_records(path) if suffix == ".csv" else _xlsx_records(path)
    try:
        _, header = next(records)
    except StopIteration:
        raise FileFormatError(f"{path.name}: il file è vuoto") from None
    columns = _columns(header, path)
    rows: list[ImportRow] = []
    problems: list[SkippedRow] = []
    for line, values in records:
        label_value, number_value, date_value = (
            values[i] if i < len(values) else None for i in columns
        )
        label_number = parse_label(label_value)
        label = str(label_value).strip() if label_number else None
        user_id = whatsapp_number(number_value)
        subscribed_at = parse_date(date_value, timezone)
        if label_number is None:
            problems.append(SkippedRow(line, None, SkipReason.INVALID, "etichetta non valida"))
        elif user_id is None:
            detail = "numero di telefono mancante o non valido"
            problems.append(SkippedRow(line, label, SkipReason.INVALID, detail))
        elif subscribed_at is None:
            detail = "data mancante o non valida (gg/mm/aaaa o aaaa-mm-gg)"
            problems.append(SkippedRow(line, label, SkipReason.INVALID, detail))
        else:
            rows.append(ImportRow(line, label_number, user_id, subscribed_at))
    return rows, problems


def _columns(header: Sequence[Any], path: Path) -> tuple[int, int, int]:
    names = [fold(str(value or "").replace("_", " ")) for value in header]
    found = []
    for wanted, aliases in (
        ("etichetta", LABEL_HEADERS),
        ("numero", NUMBER_HEADERS),
        ("data", DATE_HEADERS),
    ):
        index = next((i for i, name in enumerate(names) if name in aliases), None)
        if index is None:
            raise FileFormatError(
                f"{path.name}: manca la colonna «{wanted}» nella prima riga "
                f"(nomi accettati: {', '.join(sorted(aliases))})"
            )
        found.append(index)
    return found[0], found[1], found[2]


def _non_empty(rows: Iterable[tuple[int, Sequence[Any]]]) -> Iterator[tuple[int, list[Any]]]:
    for line, values in rows:
        cells = list(values)
        if any(str(v).strip() for v in cells if v is not None):
            yield line, cells


def _csv_records(path: Path) -> Iterator[tuple[int, list[Any]]]:
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet programs on Windows still save CSV in their legacy code page.
        content = path.read_text(encoding="cp1252")
    except OSError as error:
        raise FileFormatError(f"{path}: impossibile leggere il file ({error})") from error
    try:
        dialect: Any = csv.Sniffer().sniff(content.partition("\n")[0], delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(content.splitlines(), dialect)
    return _non_empty(enumerate(reader, start=1))


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[Any]]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise FileFormatError(f"{path.name}: non è un file Excel leggibile ({error})") from error
    sheet = workbook.worksheets[0]
    rows = [list(values) for values in sheet.iter_rows(values_only=True)]
    workbook.close()
    return _non_empty(enumerate(rows, start=1))


def parse_label(value: Any) -> int | None:
    """42 from "Utente 00042", "Numero 42", "N. 42", "42" or 42; None if not a label."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    match = LABEL_PATTERN.fullmatch(str(value if value is not None else "").strip())
    if not match:
        return None
    number = int(match.group(1))
    return number if 0 < number <= MAX_LABEL else None


def parse_date(value: Any, timezone: tzinfo) -> datetime | None:
    """A subscription time from a cell: dd/mm/yyyy [hh:mm], ISO, or a spreadsheet date.

    Without a time zone the date is the municipality's wall-clock time.
    """
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value if value is not None else "").strip()
        match = ITALIAN_DATE.fullmatch(text)
        try:
            if match:
                day, month, year, hour, minute, second = (int(g or 0) for g in match.groups())
                moment = datetime(year, month, day, hour, minute, second)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    return moment.replace(tzinfo=timezone) if moment.tzinfo is None else moment


def whatsapp_number(value: Any) -> str | None:
    """The number as WhatsApp identifies a user: country code and number, digits only.

    "+39 333 123 4567", "0039 3331234567" and "333 1234567" all give "393331234567": a
    number written without a country code is taken as Italian.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = re.sub(r"[\s./()\-]", "", str(value if value is not None else ""))
    international = text.startswith(("+", "00"))
    digits = text.removeprefix("+") if text.startswith("+") else text
    if digits.startswith("00"):
        digits = digits[2:]
    if not re.fullmatch(r"[0-9]{6,15}", digits):
        return None
    if not international and (digits.startswith("0") or (digits[0] == "3" and len(digits) <= 10)):
        digits = "39" + digits
    return digits if 8 <= len(digits) <= 15 else None
