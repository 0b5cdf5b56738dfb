"""Reading the files the office writes (YAML and CSV), with errors that name the line.

Every loader checks the whole file before writing anything: the operator gets the list
of what is wrong, line by line, and the store is left as it was.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

from urp.core.errors import OperatorError
from urp.core.text import fold

ITALIAN_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# Enough to locate the problems without burying the first one.
MAX_REPORTED = 15


class DataFileError(OperatorError, ValueError):
    """A data file cannot be loaded: the message says where and what is wrong."""


class Change(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class UpsertReport:
    """What loading a file changed, for the operator."""

    created: int
    updated: int
    unchanged: int


class Problems:
    """What is wrong in one file, collected to be reported all at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._found: list[tuple[int | None, str]] = []

    def add(self, line: int | None, message: str) -> None:
        self._found.append((line, message))

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_if_any(self) -> None:
        if not self._found:
            return
        lines = [f"riga {line}: {m}" if line else m for line, m in self._found[:MAX_REPORTED]]
        if len(self._found) > MAX_REPORTED:
            lines.append(f"... e altri {len(self._found) - MAX_REPORTED} errori")
        if len(lines) == 1:
            raise DataFileError(f"{self.path.name}, {lines[0]} (nessun dato caricato)")
        raise DataFileError(
            f"{self.path.name}: {len(self._found)} errori, nessun dato caricato\n  "
            + "\n  ".join(lines)
        )


class Located(dict[str, Any]):
    """A YAML mapping that remembers the line of each key, for error messages."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only) whose mappings are :class:`Located`."""


def _located_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    mapping = Located(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _located_mapping)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataFileError(f"{path}: il file non esiste")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet programs on Windows still save CSV in their legacy code page.
        return path.read_text(encoding="cp1252")
    except OSError as error:
        raise DataFileError(f"{path}: impossibile leggere il file ({error})") from error


def read_yaml(path: Path) -> Located:
    """The top-level mapping of a YAML file, each mapping inside knowing its lines."""
    try:
        data = yaml.load(_read_text(path), Loader=_LineLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f", riga {mark.line + 1}" if mark else ""
        raise DataFileError(f"{path.name}{where}: YAML non valido ({error.problem})") from error
    except yaml.YAMLError as error:
        raise DataFileError(f"{path.name}: YAML non valido ({error})") from error
    if not isinstance(data, Located):
        raise DataFileError(f"{path.name}: il file deve contenere una mappa YAML (chiave: valore)")
    return data


def read_csv(
    path: Path, columns: Mapping[str, Sequence[str]], optional: Sequence[str] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a CSV with a header, as ``{column: text}`` with their line numbers.

    ``columns`` maps each column to the header names accepted for it (compared folded);
    the separator is ``;``, ``,`` or a tab, whichever the header line uses.
    """
    content = _read_text(path)
    header = content.partition("\n")[0]
    if not header.strip():
        raise DataFileError(f"{path.name}: il file è vuoto o non ha la riga di intestazione")
    separator = max(";,\t", key=header.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=separator)
    names = [fold(name) for name in next(reader)]
    positions: dict[str, int] = {}
    for column, aliases in columns.items():
        index = next((i for i, name in enumerate(names) if name in aliases), None)
        if index is not None:
            positions[column] = index
        elif column not in optional:
            raise DataFileError(
                f"{path.name}, riga 1: manca la colonna «{column}» nell'intestazione "
                f"(trovate: {', '.join(names) or 'nessuna'})"
            )
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        # line_num counts physical lines: right even after a quoted value with a newline.
        yield (
            reader.line_num,
            {
                column: values[index].strip() if index < len(values) else ""
                for column, index in positions.items()
            },
        )


def parse_day(value: Any) -> date | None:
    """A date from dd/mm/yyyy, ISO yyyy-mm-dd or a YAML date; None if it is none of those."""
    if isinstance(value, datetime):  # YAML reads "2026-11-20 10:00" as a timestamp
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value if value is not None else "").strip()
    try:
        if match := ITALIAN_DAY.fullmatch(text):
            day, month, year = (int(group) for group in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def is_web_link(value: str) -> bool:
    return bool(re.fullmatch(r"https?://[^\s/]+\.[^\s]+", value))


def slug(text: str) -> str:
    """ "Bonus libri di testo 2026" -> "bonus-libri-di-testo-2026"."""
    return "-".join(re.findall(r"[a-z0-9]+", fold(text)))


def text_value(
    mapping: Located,
    key: str,
    problems: Problems,
    *,
    required: bool = True,
    max_length: int | None = None,
) -> str | None:
    """A string field, stripped; reports a missing or too long value to ``problems``."""
    value = mapping.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add(mapping.line_of(key), f"manca «{key}»")
        return None
    if isinstance(value, Mapping | list):
        problems.add(mapping.line_of(key), f"«{key}» deve essere un testo")
        return None
    text = str(value).strip()
    if max_length is not None and len(text) > max_length:
        problems.add(mapping.line_of(key), f"«{key}» supera i {max_length} caratteri")
        return None
    return text


def link_value(
    mapping: Located, key: str, problems: Problems, *, required: bool = True
) -> str | None:
    """A web address field: http:// or https://, no spaces."""
    link = text_value(mapping, key, problems, required=required)
    if link is not None and not is_web_link(link):
        problems.add(
            mapping.line_of(key), f"«{key}» deve essere un indirizzo web http(s)://, non {link!r}"
        )
        return None
    return link


def day_value(
    mapping: Located, key: str, problems: Problems, *, required: bool = True
) -> date | None:
    """A date field: dd/mm/yyyy or yyyy-mm-dd."""
    value = mapping.get(key)
    if value is None or value == "":
        if required:
            problems.add(mapping.line_of(key), f"manca «{key}» (gg/mm/aaaa o aaaa-mm-gg)")
        return None
    day = parse_day(value)
    if day is None:
        problems.add(
            mapping.line_of(key), f"«{key}»: data non valida {value!r} (gg/mm/aaaa o aaaa-mm-gg)"
        )
    return day


def words_value(mapping: Located, key: str, problems: Problems) -> tuple[str, ...]:
    """A list of short texts (synonyms, keywords); a single text is a list of one."""
    value = mapping.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(v, str | int) and str(v).strip() for v in value
    ):
        problems.add(mapping.line_of(key), f"«{key}» deve essere una lista di parole")
        return ()
    return tuple(dict.fromkeys(str(v).strip() for v in value))


def list_value(mapping: Located, key: str, problems: Problems) -> list[Located]:
    """A required, non-empty list of mappings (the items of a memo, the zones, the calls)."""
    value = mapping.get(key)
    if not isinstance(value, list) or not value:
        problems.add(mapping.line_of(key), f"manca l'elenco «{key}»")
        return []
    entries = []
    for index, entry in enumerate(value, start=1):
        if isinstance(entry, Located):
            entries.append(entry)
        else:
            problems.add(mapping.line_of(key), f"«{key}», elemento {index}: deve essere una mappa")
    return entries


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def read_keyed_list(
    path: Path,
    list_key: str,
    read_item: Callable[[Located, Problems], K | None],
    duplicate: Callable[[str, int], str],
) -> list[K]:
    """The items of ``list_key`` in a YAML file, each read by ``read_item``, keys unique.

    ``duplicate(key, first_line)`` words the problem of a key defined twice. Raises
    :class:`DataFileError` listing every problem with its line.
    """
    data = read_yaml(path)
    problems = Problems(path)
    items: list[K] = []
    lines: dict[str, int] = {}
    for entry in list_value(data, list_key, problems):
        item = read_item(entry, problems)
        if item is None:
            continue
        if item.key in lines:
            problems.add(entry.line, duplicate(item.key, lines[item.key]))
            continue
        lines[item.key] = entry.line
        items.append(item)
    problems.raise_if_any()
    return items
