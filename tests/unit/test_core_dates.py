"""Italian date phrases, resolved against fixed clocks in Rome."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from urp.core.dates import (
    DAY_PARTS,
    HOLIDAY_NAMES,
    MONTH_NAMES,
    RELATIVE_DAYS,
    WEEKDAY_NAMES,
    WEEKEND_PHRASES,
    DateSpan,
    format_date,
    format_day,
    format_time,
    resolve,
)

ROME = ZoneInfo("Europe/Rome")
ROOT = Path(__file__).resolve().parents[2]
THURSDAY = datetime(2026, 11, 19, 12, 59, tzinfo=ROME)
SATURDAY = datetime(2026, 11, 21, 10, 0, tzinfo=ROME)
SUNDAY = datetime(2026, 11, 22, 10, 0, tzinfo=ROME)


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ROME)


def whole_day(day: date) -> DateSpan:
    return DateSpan(at(day), at(day + timedelta(days=1)), day)


def part_of(day: date, part: str, start: int, end: int) -> DateSpan:
    return DateSpan(at(day, start), at(day) + timedelta(hours=end), day, part=part)


def test_now_is_a_moment() -> None:
    for phrase in ("adesso", "ora", "Adesso?", "  ORA! "):
        assert resolve(phrase, THURSDAY) == DateSpan(
            THURSDAY, THURSDAY, date(2026, 11, 19), moment=True
        )


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("oggi", whole_day(date(2026, 11, 19))),
        ("domani", whole_day(date(2026, 11, 20))),
        ("dopodomani", whole_day(date(2026, 11, 21))),
        ("dopo domani", whole_day(date(2026, 11, 21))),
        ("stamattina", part_of(date(2026, 11, 19), "mattina", 6, 13)),
        ("stamani", part_of(date(2026, 11, 19), "mattina", 6, 13)),
        ("stasera", part_of(date(2026, 11, 19), "sera", 18, 24)),
        ("stanotte", part_of(date(2026, 11, 19), "notte", 20, 32)),
        ("domattina", part_of(date(2026, 11, 20), "mattina", 6, 13)),
        ("oggi pomeriggio", part_of(date(2026, 11, 19), "pomeriggio", 13, 19)),
        ("domani mattina", part_of(date(2026, 11, 20), "mattina", 6, 13)),
        ("domani mattino", part_of(date(2026, 11, 20), "mattina", 6, 13)),
        ("domani sera", part_of(date(2026, 11, 20), "sera", 18, 24)),
        ("domani notte", part_of(date(2026, 11, 20), "notte", 20, 32)),
        ("dopodomani pomeriggio", part_of(date(2026, 11, 21), "pomeriggio", 13, 19)),
        ("questa sera", part_of(date(2026, 11, 19), "sera", 18, 24)),
        ("questo pomeriggio", part_of(date(2026, 11, 19), "pomeriggio", 13, 19)),
        ("questa notte", part_of(date(2026, 11, 19), "notte", 20, 32)),
        # A named part wins over the one a word implies; "adesso" + part is today's.
        ("stasera notte", part_of(date(2026, 11, 19), "notte", 20, 32)),
        ("adesso pomeriggio", part_of(date(2026, 11, 19), "pomeriggio", 13, 19)),
    ],
)
def test_relative_days_and_parts_of_the_day(phrase: str, expected: DateSpan) -> None:
    assert resolve(phrase, THURSDAY) == expected


def test_tonight_asked_in_the_small_hours_is_the_night_in_progress() -> None:
    small_hours = datetime(2026, 11, 19, 3, 30, tzinfo=ROME)
    night = DateSpan(small_hours, at(date(2026, 11, 19), 8), date(2026, 11, 19), part="notte")
    assert resolve("stanotte", small_hours) == night
    assert resolve("stanotte", datetime(2026, 11, 19, 6, 0, tzinfo=ROME)) == part_of(
        date(2026, 11, 19), "notte", 20, 32
    )


@pytest.mark.parametrize(
    ("phrase", "now", "expected"),
    [
        ("giovedì", THURSDAY, date(2026, 11, 19)),  # today included
        ("giovedi", THURSDAY, date(2026, 11, 19)),
        ("GIOVEDÍ", THURSDAY, date(2026, 11, 19)),
        ("giovedì prossimo", THURSDAY, date(2026, 11, 26)),
        ("prossimo giovedì", THURSDAY, date(2026, 11, 26)),
        ("venerdì", THURSDAY, date(2026, 11, 20)),
        ("venerdì prossimo", THURSDAY, date(2026, 11, 20)),  # the coming one
        ("lunedì", THURSDAY, date(2026, 11, 23)),
        ("mercoledì", THURSDAY, date(2026, 11, 25)),
        ("sabato", SATURDAY, date(2026, 11, 21)),
        ("questo sabato", SATURDAY, date(2026, 11, 21)),
        ("sabato prossimo", SATURDAY, date(2026, 11, 28)),
        ("prossimo sabato", SATURDAY, date(2026, 11, 28)),
        ("domenica", SUNDAY, date(2026, 11, 22)),
        ("domenica prossima", SUNDAY, date(2026, 11, 29)),
        ("prossima domenica", SATURDAY, date(2026, 11, 22)),
        ("di sabato", THURSDAY, date(2026, 11, 21)),
        ("il sabato.", THURSDAY, date(2026, 11, 21)),
    ],
)
def test_weekdays_are_the_next_occurrence(phrase: str, now: datetime, expected: date) -> None:
    assert resolve(phrase, now) == whole_day(expected)


def test_weekday_with_a_part_of_the_day() -> None:
    assert resolve("giovedì pomeriggio", THURSDAY) == part_of(
        date(2026, 11, 19), "pomeriggio", 13, 19
    )
    assert resolve("lunedi mattina", THURSDAY) == part_of(date(2026, 11, 23), "mattina", 6, 13)
    assert resolve("prossima domenica sera", SUNDAY) == part_of(date(2026, 11, 29), "sera", 18, 24)


@pytest.mark.parametrize("phrase", [*WEEKEND_PHRASES, "questo weekend", "nel fine settimana"])
def test_weekend_from_a_weekday_is_the_coming_saturday_and_sunday(phrase: str) -> None:
    saturday = date(2026, 11, 21)
    assert resolve(phrase, THURSDAY) == DateSpan(at(saturday), at(date(2026, 11, 23)), saturday)


def test_weekend_on_saturday_and_on_sunday_is_the_current_one() -> None:
    monday = at(date(2026, 11, 23))
    assert resolve("weekend", SATURDAY) == DateSpan(
        at(date(2026, 11, 21)), monday, date(2026, 11, 21)
    )
    assert resolve("fine settimana", SUNDAY) == DateSpan(
        at(date(2026, 11, 22)), monday, date(2026, 11, 22)
    )


def test_the_weekend_of_the_spring_clock_change_is_an_hour_shorter() -> None:
    friday = datetime(2026, 3, 27, 10, 0, tzinfo=ROME)
    span = resolve("weekend", friday)
    assert span is not None
    assert span.start.utcoffset() == timedelta(hours=1)
    assert span.end.utcoffset() == timedelta(hours=2)
    assert span.end.astimezone(UTC) - span.start.astimezone(UTC) == timedelta(hours=47)
    evening = resolve("domenica sera", friday)
    assert evening is not None
    assert evening.start.astimezone(UTC) == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("8 ottobre", date(2027, 10, 8)),  # long past this year
        ("1 maggio", date(2027, 5, 1)),
        ("primo maggio", date(2027, 5, 1)),
        ("1° maggio", date(2027, 5, 1)),
        ("1º maggio", date(2027, 5, 1)),
        ("15 agosto 2027", date(2027, 8, 15)),
        ("8 dicembre", date(2026, 12, 8)),
        ("l'8 dicembre", date(2026, 12, 8)),
        ("il 12 novembre", date(2026, 11, 12)),  # 7 days ago: still this year's
        ("11 novembre", date(2027, 11, 11)),  # 8 days ago: next year's
        ("giovedì 26 novembre", date(2026, 11, 26)),
        ("29 febbraio", date(2028, 2, 29)),  # the next year that has it
        ("12/08", date(2027, 8, 12)),
        ("12-8", date(2027, 8, 12)),
        ("12.08", date(2027, 8, 12)),
        ("24/12", date(2026, 12, 24)),
        ("3/11/2026", date(2026, 11, 3)),
        ("3/11/26", date(2026, 11, 3)),
        ("per il 3 / 11 / 27!", date(2027, 11, 3)),
    ],
)
def test_dates_with_day_and_month(phrase: str, expected: date) -> None:
    assert resolve(phrase, THURSDAY) == whole_day(expected)


@pytest.mark.parametrize(
    "phrase", ["31/02", "30 febbraio", "29/02/2027", "0 maggio", "12/13", "", "boh", "lunedì 3"]
)
def test_what_is_not_a_date_is_none(phrase: str) -> None:
    assert resolve(phrase, THURSDAY) is None


@pytest.mark.parametrize(
    ("phrase", "now", "expected"),
    [
        ("capodanno", THURSDAY, date(2027, 1, 1)),
        ("capodanno", datetime(2026, 1, 5, 9, tzinfo=ROME), date(2026, 1, 1)),
        ("capodanno", datetime(2026, 1, 9, 9, tzinfo=ROME), date(2027, 1, 1)),
        ("epifania", THURSDAY, date(2027, 1, 6)),
        ("la befana", THURSDAY, date(2027, 1, 6)),
        ("pasqua", THURSDAY, date(2027, 3, 28)),
        ("a Pasquetta", THURSDAY, date(2027, 3, 29)),
        ("Lunedì dell’Angelo", THURSDAY, date(2027, 3, 29)),
        ("pasquetta", datetime(2026, 4, 10, 9, tzinfo=ROME), date(2026, 4, 6)),
        ("festa della liberazione", THURSDAY, date(2027, 4, 25)),
        ("festa dei lavoratori", THURSDAY, date(2027, 5, 1)),
        ("festa della repubblica", THURSDAY, date(2027, 6, 2)),
        ("a ferragosto", THURSDAY, date(2027, 8, 15)),
        ("ognissanti", THURSDAY, date(2027, 11, 1)),
        ("tutti i santi", datetime(2026, 10, 30, 9, tzinfo=ROME), date(2026, 11, 1)),
        ("immacolata", THURSDAY, date(2026, 12, 8)),
        ("la vigilia di Natale", THURSDAY, date(2026, 12, 24)),
        ("per natale", THURSDAY, date(2026, 12, 25)),
        ("natale 2027", THURSDAY, date(2027, 12, 25)),
        ("santo stefano", THURSDAY, date(2026, 12, 26)),
        ("san silvestro", THURSDAY, date(2026, 12, 31)),
    ],
)
def test_holidays_by_name(phrase: str, now: datetime, expected: date) -> None:
    assert resolve(phrase, now) == whole_day(expected)


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError):
        resolve("oggi", datetime(2026, 11, 19, 12, 0))


def test_spans_are_in_the_clock_timezone() -> None:
    span = resolve("domani", THURSDAY.astimezone(UTC))
    assert span is not None
    assert span.start == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def vocabulary_phrases() -> list[str]:
    """What the entity ruler can mark as a date, built from the same vocabulary."""
    phrases = list(RELATIVE_DAYS)
    phrases += [f"{word} {part}" for word in RELATIVE_DAYS[:-1] for part in DAY_PARTS]
    for name in WEEKDAY_NAMES:
        for form in (
            "{}",
            "questo {}",
            "questa {}",
            "prossimo {}",
            "{} prossimo",
            "prossima {} prossima",
        ):
            phrases.append(form.format(name))
            phrases += [f"{form.format(name)} {part}" for part in DAY_PARTS]
    phrases += HOLIDAY_NAMES
    phrases += [*WEEKEND_PHRASES, *(f"questo {p}" for p in WEEKEND_PHRASES)]
    phrases += [f"{n} {month}" for n in ("1", "01", "primo", "1°", "28") for month in MONTH_NAMES]
    phrases += [f"15 {month} 2027" for month in MONTH_NAMES]
    phrases += ["12/08", "1.1", "31-12-2026", "3/11/26", "09/9"]
    return phrases


# The last clock: the small hours of the spring clock change, a Sunday.
@pytest.mark.parametrize(
    "now", [THURSDAY, SATURDAY, SUNDAY, datetime(2026, 3, 29, 1, 30, tzinfo=ROME)]
)
def test_every_phrase_of_the_vocabulary_resolves(now: datetime) -> None:
    for phrase in vocabulary_phrases():
        span = resolve(phrase, now)
        assert span is not None, phrase
        assert span.start <= span.end, phrase
        assert resolve(phrase.upper(), now) == span, phrase


def test_what_the_entity_ruler_marks_resolves() -> None:
    """The real pipeline's date entities, read back by the resolver."""
    from urp.nlu.spacy_pipeline import build

    nlp = build(ROOT / "data" / "nlu" / "gazetteers.yml")
    text = (
        "aperti adesso, oggi pomeriggio, stanotte, giovedì prossimo mattina, questo weekend, "
        "il 1° maggio, il 3/11/26, lunedì dell'angelo, a natale e l'8 ottobre 2027?"
    )
    found = [e.text for e in nlp(text.lower()).ents if e.label_ == "date"]
    assert len(found) == 10
    assert all(resolve(phrase, THURSDAY) is not None for phrase in found), found


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 19), "oggi"),
        (date(2026, 11, 20), "domani"),
        (date(2026, 11, 21), "dopodomani"),
        (date(2026, 11, 26), "giovedì 26 novembre"),
        (date(2026, 12, 1), "martedì 1º dicembre"),
        (date(2027, 1, 6), "mercoledì 6 gennaio 2027"),
        (date(2026, 11, 18), "mercoledì 18 novembre"),
    ],
)
def test_days_are_named_for_citizens(day: date, expected: str) -> None:
    assert format_day(day, date(2026, 11, 19)) == expected


def test_times_and_long_dates() -> None:
    assert format_time(time(9)) == "9:00"
    assert format_time(time(15, 30)) == "15:30"
    assert format_date(date(2026, 3, 1)) == "1º marzo 2026"
