"""Italian date vocabulary shared by the NLU pipeline and the date resolver.

The entity ruler of the project's spaCy pipeline is built from these words, so what the
NLU marks as a ``date`` is exactly what :func:`resolve` can read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from dateutil.easter import easter

from urp.core.text import fold

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

# How a weekday is written for citizens, Monday=0.
DAY_NAMES: tuple[str, ...] = (
    "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica",
)  # fmt: skip

MONTHS: dict[str, int] = {
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6,
    "luglio": 7, "agosto": 8, "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12,
    "gen": 1, "feb": 2, "mar": 3, "apr": 4, "mag": 5, "giu": 6,
    "lug": 7, "ago": 8, "set": 9, "ott": 10, "nov": 11, "dic": 12,
}  # fmt: skip

MONTH_NAMES: tuple[str, ...] = tuple(name for name in MONTHS if len(name) > 3)

# Parts of the day that may follow a day ("giovedì pomeriggio", "domani mattina").
DAY_PARTS: tuple[str, ...] = ("mattina", "mattino", "pomeriggio", "sera", "notte")

# The hours each part of the day covers, as (start, end) hours from the day's midnight:
# the night ends the next morning, hence 32 (08:00 of the following day). The afternoon
# runs to 19:00 so that "pomeriggio" also covers offices open until late afternoon.
PART_HOURS: dict[str, tuple[int, int]] = {
    "mattina": (6, 13),
    "pomeriggio": (13, 19),
    "sera": (18, 24),
    "notte": (20, 32),
}
_PART_ALIASES: dict[str, str] = {**{part: part for part in PART_HOURS}, "mattino": "mattina"}

# Words that name a day relative to today ("ora" stays last: the ruler leaves it out,
# being also the noun "hour").
RELATIVE_DAYS: tuple[str, ...] = (
    "oggi", "domani", "dopodomani", "stasera", "stanotte", "stamattina", "stamani",
    "domattina", "adesso", "ora",
)  # fmt: skip

# What each relative word means: days from today and the part of the day it implies;
# None for the moment words ("adesso", "ora"). "stamane" is a common spelling the ruler
# does not need, and "dopo domani" reaches "dopodomani" because spaces are ignored here.
_RELATIVE: dict[str, tuple[int, str | None] | None] = {
    "oggi": (0, None),
    "domani": (1, None),
    "dopodomani": (2, None),
    "stasera": (0, "sera"),
    "stanotte": (0, "notte"),
    "stamattina": (0, "mattina"),
    "stamani": (0, "mattina"),
    "stamane": (0, "mattina"),
    "domattina": (1, "mattina"),
    "adesso": None,
    "ora": None,
}

WEEKEND_PHRASES: tuple[str, ...] = (
    "weekend", "week end", "week-end", "fine settimana", "finesettimana",
)  # fmt: skip


def _fixed(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def _easter_monday(year: int) -> date:
    return easter(year) + timedelta(days=1)


# Fixed-date and movable holidays citizens name instead of a date, with the rule giving
# their day in a year: the names are the ruler's vocabulary, so each one has a rule.
HOLIDAY_DATES: dict[str, Callable[[int], date]] = {
    "capodanno": _fixed(1, 1),
    "epifania": _fixed(1, 6),
    "befana": _fixed(1, 6),
    "pasqua": easter,
    "pasquetta": _easter_monday,
    "lunedì dell'angelo": _easter_monday,
    "festa della liberazione": _fixed(4, 25),
    "festa dei lavoratori": _fixed(5, 1),
    "primo maggio": _fixed(5, 1),
    "festa della repubblica": _fixed(6, 2),
    "ferragosto": _fixed(8, 15),
    "ognissanti": _fixed(11, 1),
    "tutti i santi": _fixed(11, 1),
    "immacolata": _fixed(12, 8),
    "vigilia di natale": _fixed(12, 24),
    "natale": _fixed(12, 25),
    "santo stefano": _fixed(12, 26),
    "san silvestro": _fixed(12, 31),
}

HOLIDAY_NAMES: tuple[str, ...] = tuple(HOLIDAY_DATES)

# A date without a year that fell at most this many days ago still means this year's
# ("com'era il 2 gennaio?" on 5 January), beyond that it means next year's.
RECENT_DAYS = 7


@dataclass(frozen=True)
class DateSpan:
    """The time a citizen's date phrase refers to.

    ``end`` is exclusive; ``day`` is the calendar day meant (to look things up by date);
    ``moment`` is True for "adesso"/"ora", where ``start == end == now``; ``part`` is the
    part of the day named ("mattina", "pomeriggio", "sera", "notte"), if any.
    """

    start: datetime
    end: datetime
    day: date
    moment: bool = False
    part: str | None = None


def _compact(text: str) -> str:
    """A key that ignores spaces, hyphens and apostrophes: "week-end" == "weekend"."""
    return re.sub(r"[\s'\-]", "", text)


_WEEKEND_KEYS = frozenset(_compact(fold(p)) for p in WEEKEND_PHRASES)
_HOLIDAY_KEYS: dict[str, Callable[[int], date]] = {
    _compact(fold(name)): rule for name, rule in HOLIDAY_DATES.items()
}
_RELATIVE_KEYS = {_compact(word): meaning for word, meaning in _RELATIVE.items()}
_WEEKDAY_KEYS: dict[str, int] = {fold(name): n for name, n in WEEKDAYS.items() if len(name) > 3}
_MONTH_KEYS: dict[str, int] = {fold(name): n for name, n in MONTHS.items()}

# Words before a date that do not change it: "il 12/08", "a Natale", "per domani",
# "di sabato", "nel weekend", "questo sabato" (the same as "sabato"), "questa sera".
_LEADING = re.compile(r"^(?:(?:il|la|a|per|di|nel|questa|questo)\s+|l')")
_EDGE_PUNCTUATION = " \t\n.,;:!?¿¡\"'«»“”()[]…"
_WEEKDAY = "|".join(sorted(_WEEKDAY_KEYS, key=len, reverse=True))
_MONTH = "|".join(sorted(_MONTH_KEYS, key=len, reverse=True))
_NUMERIC = re.compile(
    rf"^(?:(?:{_WEEKDAY})\s+)?(\d{{1,2}})\s*[/.\-]\s*(\d{{1,2}})(?:\s*[/.\-]\s*(\d{{4}}|\d{{2}}))?$"
)
# "8 ottobre", "1° maggio", "1º maggio" (folded to "1o"), "primo maggio", "giovedì 26
# novembre 2026": a leading weekday is how dates are written back to citizens.
_DAY_MONTH = re.compile(
    rf"^(?:(?:{_WEEKDAY})\s+)?(\d{{1,2}}|primo)\s*(?:°|o)?\s+({_MONTH})(?:\s+(\d{{4}}))?$"
)
_WEEKDAY_PHRASE = re.compile(rf"^(?:(prossim[oa])\s+)?({_WEEKDAY})(?:\s+(prossim[oa]))?$")
_TRAILING_YEAR = re.compile(r"^(.*\D)\s+(\d{4})$")


def _normalize(phrase: str) -> str:
    text = fold(re.sub(r"[’‘`´]", "'", phrase)).strip(_EDGE_PUNCTUATION)
    while (match := _LEADING.match(text)) and match.end() < len(text):
        text = text[match.end() :].strip()
    return text


def _at(day: date, hour: int, tz: tzinfo | None) -> datetime:
    """Wall-clock ``hour`` counted from ``day``'s midnight (32 is 08:00 the next day)."""
    return datetime.combine(day + timedelta(days=hour // 24), time(hour % 24), tzinfo=tz)


def _upcoming(rule: Callable[[int], date], today: date) -> date | None:
    """The day ``rule`` gives this year, unless long past: then the next year that has it."""
    for year in range(today.year, today.year + 9):  # 9: 29 February skips up to 8 years
        try:
            day = rule(year)
        except ValueError:
            continue
        if year > today.year or (today - day).days <= RECENT_DAYS:
            return day
    return None


MIN_YEAR, MAX_YEAR = 1900, 2200


def _on_year(rule: Callable[[int], date], year: str | None, today: date) -> date | None:
    if year is None:
        return _upcoming(rule, today)
    number = int(year) + 2000 if len(year) == 2 else int(year)
    if not MIN_YEAR <= number <= MAX_YEAR:
        return None  # "31/12/9999" is no date for the URP (and its next day overflows)
    try:
        return rule(number)
    except ValueError:
        return None


def _weekday(text: str, today: date) -> date | None:
    match = _WEEKDAY_PHRASE.match(text)
    if not match:
        return None
    ahead = (_WEEKDAY_KEYS[match.group(2)] - today.weekday()) % 7
    if ahead == 0 and (match.group(1) or match.group(3)):
        ahead = 7  # "sabato prossimo" said on a Saturday: not today, next week's
    return today + timedelta(days=ahead)


def _day(text: str, today: date) -> tuple[date, str | None] | None:
    """The day a phrase without a trailing part of the day names, with its implied part."""
    key = _compact(text)
    if key in _RELATIVE_KEYS:
        offset, part = _RELATIVE_KEYS[key] or (0, None)
        return today + timedelta(days=offset), part
    if match := _TRAILING_YEAR.match(text):
        holiday_text, year = match.groups()
    else:
        holiday_text, year = text, None
    if rule := _HOLIDAY_KEYS.get(_compact(holiday_text)):
        found = _on_year(rule, year, today)
        return (found, None) if found else None
    if found := _weekday(text, today):
        return found, None
    if match := _NUMERIC.match(text):
        day, month, year = match.groups()
        found = _on_year(lambda y: date(y, int(month), int(day)), year, today)
        return (found, None) if found else None
    if match := _DAY_MONTH.match(text):
        number, month_name, year = match.groups()
        day_number = 1 if number == "primo" else int(number)
        month = _MONTH_KEYS[month_name]
        found = _on_year(lambda y: date(y, month, day_number), year, today)
        return (found, None) if found else None
    return None


def _part_span(day: date, part: str, now: datetime) -> DateSpan:
    start_hour, end_hour = PART_HOURS[part]
    if part == "notte" and day == now.date() and now.hour < 6:
        # Asked in the small hours, "stanotte" is the night already under way.
        return DateSpan(now, _at(day, end_hour - 24, now.tzinfo), day, part=part)
    return DateSpan(
        _at(day, start_hour, now.tzinfo), _at(day, end_hour, now.tzinfo), day, part=part
    )


def _weekend(now: datetime) -> DateSpan:
    today = now.date()
    saturday = today - timedelta(days=1) if today.weekday() == 6 else today
    saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    first = max(today, saturday)  # on Sunday only Sunday is left of this weekend
    return DateSpan(
        _at(first, 0, now.tzinfo), _at(saturday + timedelta(days=2), 0, now.tzinfo), first
    )


def resolve(phrase: str, now: datetime) -> DateSpan | None:
    """The time an Italian date phrase refers to, seen from ``now``; None if not a date.

    ``now`` must be timezone-aware: every boundary is a wall-clock time in ``now.tzinfo``.
    Case, accents, spacing and trailing punctuation do not matter, and a leading "il",
    "la", "l'", "a", "per", "di", "nel", "questa" or "questo" is ignored.

    - "oggi", "domani", "dopodomani": the whole day (midnight to midnight).
    - "adesso", "ora": the moment, ``start == end == now``.
    - "stamattina", "stamani" (today), "domattina" (tomorrow): 06:00-13:00;
      "stasera": today 18:00-24:00; "stanotte": today 20:00 to 08:00 tomorrow.
    - A day followed by a part of the day ("oggi pomeriggio", "domani sera",
      "giovedì mattina", "8 ottobre sera"): mattina/mattino 06:00-13:00, pomeriggio
      13:00-19:00, sera 18:00-24:00, notte 20:00 to 08:00 the next day. A part alone
      ("questa sera", "di notte") is today's; after a word that implies one ("stasera
      notte") the named part wins, and "adesso" + part is today's part.
    - Tonight's night asked before 06:00 is the night in progress: ``now`` to 08:00 today.
    - Weekday names, with or without the accent: the next such day, today included;
      "sabato prossimo", "prossimo sabato" and "domenica prossima" skip today (+7 days).
    - "weekend", "week end", "week-end", "fine settimana", "finesettimana": Saturday
      00:00 to Monday 00:00 of this weekend; on Saturday from today, on Sunday only
      Sunday; ``day`` is the first day.
    - A day and a month ("8 ottobre", "primo maggio", "1° maggio", "15 agosto 2027") or
      numbers, day first ("12/08", "12-8", "12.08", "3/11/2026", "3/11/26"), optionally
      after a weekday ("giovedì 26 novembre"), and the holidays in
      :data:`HOLIDAY_NAMES`, optionally with a year ("natale 2027"): the year given;
      without one, this year's day unless it fell more than :data:`RECENT_DAYS` days ago,
      then the next year's (the next leap year for 29 February). A day that does not
      exist ("31/02") is None.
    """
    if now.tzinfo is None:
        raise ValueError("resolve() needs a timezone-aware 'now'")
    text = _normalize(phrase)
    if not text:
        return None
    if _compact(text) in _WEEKEND_KEYS:
        return _weekend(now)
    words = text.split()
    part = _PART_ALIASES.get(words[-1])
    if part is not None:
        words = words[:-1]
    head = " ".join(words)
    today = now.date()
    if not head:
        return _part_span(today, part, now) if part else None
    if part is None and _RELATIVE_KEYS.get(_compact(head), ()) is None:
        return DateSpan(now, now, today, moment=True)
    found = _day(head, today)
    if found is None:
        return None
    day, implied_part = found
    part = part or implied_part
    if part:
        return _part_span(day, part, now)
    return DateSpan(_at(day, 0, now.tzinfo), _at(day, 24, now.tzinfo), day)


def format_date(day: date) -> str:
    """Italian long date: ``3 marzo 2026`` (``1º`` for the first of the month)."""
    number = "1º" if day.day == 1 else str(day.day)
    return f"{number} {MONTH_NAMES[day.month - 1]} {day.year}"


def format_day(day: date, today: date) -> str:
    """How to name ``day`` to a citizen on ``today``.

    >>> format_day(date(2026, 11, 26), date(2026, 11, 20))
    'giovedì 26 novembre'
    >>> format_day(date(2027, 1, 1), date(2026, 12, 30))
    'venerdì 1º gennaio 2027'
    """
    relative = {0: "oggi", 1: "domani", 2: "dopodomani"}.get((day - today).days)
    if relative:
        return relative
    number = "1º" if day.day == 1 else str(day.day)
    year = f" {day.year}" if day.year != today.year else ""
    return f"{DAY_NAMES[day.weekday()]} {number} {MONTH_NAMES[day.month - 1]}{year}"


def format_time(value: time) -> str:
    """Clock time as citizens read it: ``9:00``, ``15:30``."""
    return f"{value.hour}:{value.minute:02d}"
