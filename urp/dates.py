"""Italian date vocabulary shared by the NLU pipeline and the date resolver.

The entity ruler of the project's spaCy pipeline is built from these words, so what the
NLU marks as a ``date`` is exactly what the resolver can read.
"""

from __future__ import annotations

from datetime import date

# Weekday names (with and without the accent citizens often drop) -> Monday=0 ... Sunday=6.
WEEKDAYS: dict[str, int] = {
    "lunedì": 0, "lunedi": 0, "lunedí": 0, "lun": 0,
    "martedì": 1, "martedi": 1, "martedí": 1, "mar": 1,
    "mercoledì": 2, "mercoledi": 2, "mercoledí": 2, "mer": 2,
    "giovedì": 3, "giovedi": 3, "giovedí": 3, "gio": 3,
    "venerdì": 4, "venerdi": 4, "venerdí": 4, "ven": 4,
    "sabato": 5, "sab": 5,
    "domenica": 6, "dom": 6,
}  # fmt: skip

# Abbreviations are ambiguous in free text ("mar" is also the sea): the ruler only uses
# the full names; the schedule parser in settings accepts the short ones.
WEEKDAY_NAMES: tuple[str, ...] = tuple(name for name in WEEKDAYS if len(name) > 3)

MONTHS: dict[str, int] = {
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6,
    "luglio": 7, "agosto": 8, "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12,
    "gen": 1, "feb": 2, "mar": 3, "apr": 4, "mag": 5, "giu": 6,
    "lug": 7, "ago": 8, "set": 9, "ott": 10, "nov": 11, "dic": 12,
}  # fmt: skip

MONTH_NAMES: tuple[str, ...] = tuple(name for name in MONTHS if len(name) > 3)

# Parts of the day that may follow a day ("giovedì pomeriggio", "domani mattina").
DAY_PARTS: tuple[str, ...] = ("mattina", "mattino", "pomeriggio", "sera", "notte")

# Words that name a day relative to today.
RELATIVE_DAYS: tuple[str, ...] = (
    "oggi", "domani", "dopodomani", "stasera", "stanotte", "stamattina", "stamani",
    "domattina", "adesso", "ora",
)  # fmt: skip

WEEKEND_PHRASES: tuple[str, ...] = (
    "weekend", "week end", "week-end", "fine settimana", "finesettimana",
)  # fmt: skip

# Fixed-date and movable holidays citizens name instead of a date.
HOLIDAY_NAMES: tuple[str, ...] = (
    "capodanno", "epifania", "befana", "pasqua", "pasquetta", "lunedì dell'angelo",
    "festa della liberazione", "festa dei lavoratori", "primo maggio",
    "festa della repubblica", "ferragosto", "ognissanti", "tutti i santi",
    "immacolata", "vigilia di natale", "natale", "santo stefano", "san silvestro",
)  # fmt: skip


def format_date(day: date) -> str:
    """Italian long date: ``3 marzo 2026`` (``1º`` for the first of the month)."""
    number = "1º" if day.day == 1 else str(day.day)
    return f"{number} {MONTH_NAMES[day.month - 1]} {day.year}"
