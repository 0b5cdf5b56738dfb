"""The two spreadsheet formats the office exchanges with the assistant: CSV and XLSX.

The format follows the file extension, for every file a feature writes or reads (the
subscriber register, the reports): one check, one message for the operator.
"""

from __future__ import annotations

from pathlib import Path

from urp.core.errors import OperatorError

FORMATS = (".csv", ".xlsx")


class FileFormatError(OperatorError, ValueError):
    """The file cannot be read or written as one of the office's spreadsheets."""


def file_format(path: Path) -> str:
    """``.csv`` or ``.xlsx`` from the file name, else :class:`FileFormatError`."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise FileFormatError(f"{path.name}: formato non riconosciuto, usa .csv o .xlsx")
    return suffix
