"""Opening hours, holidays and closures of the shipped examples, against fixed clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from urp.core.dates import resolve
from urp.core.hours import WeeklyHours
from urp.core.settings import Closure, Settings, load_settings
from urp.information.opening_hours import OpeningAnswer, OpeningCalendar

ROME = ZoneInfo("Europe/Rome")
ROOT = Path(__file__).resolve().parents[2]
THURSDAY = datetime(2026, 11, 19, 12, 59, tzinfo=ROME)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ROME)


def hours(day: date, *spans: tuple[int, int]) -> tuple[tuple[datetime, datetime], ...]:
    return tuple((at(day, start), at(day, end)) for start, end in spans)


@pytest.fixture(scope="module")
def ancona() -> Settings:
    return load_settings(ROOT / "settings" / "ancona.yml")


@pytest.fixture(scope="module")
def arezzo() -> Settings:
    return load_settings(ROOT / "settings" / "arezzo.yml")


@pytest.fixture(scope="module")
def urp(ancona: Settings) -> OpeningCalendar:
    return OpeningCalendar.for_service(ancona)


def ask(calendar: OpeningCalendar, phrase: str, now: datetime) -> OpeningAnswer:
    span = resolve(phrase, now)
    assert span is not None, phrase
    return calendar.answer(span, now)


def test_open_now_until_the_end_of_the_interval(urp: OpeningCalendar) -> None:
    day = date(2026, 11, 19)
    assert ask(urp, "adesso", THURSDAY) == OpeningAnswer(
        "open_now", day, hours(day, (9, 13)), until=at(day, 13)
    )


def test_closed_at_the_stroke_of_one_and_open_again_in_the_afternoon(
    urp: OpeningCalendar,
) -> None:
    one_pm = at(date(2026, 11, 19), 13)
    assert ask(urp, "ora", one_pm) == OpeningAnswer(
        "closed_now", date(2026, 11, 19), next_opening=at(date(2026, 11, 19), 15)
    )


@pytest.mark.parametrize(
    ("now", "next_opening"),
    [
        (at(date(2026, 11, 20), 13), at(date(2026, 11, 23), 9)),  # Friday afternoon
        (at(date(2026, 11, 21), 10), at(date(2026, 11, 23), 9)),  # Saturday
        (at(date(2026, 11, 22), 10), at(date(2026, 11, 23), 9)),  # Sunday
        (at(date(2026, 11, 23), 8, 59), at(date(2026, 11, 23), 9)),  # Monday, just before
    ],
)
def test_closed_now_says_when_it_opens(
    urp: OpeningCalendar, now: datetime, next_opening: datetime
) -> None:
    assert ask(urp, "adesso", now) == OpeningAnswer(
        "closed_now", now.date(), next_opening=next_opening
    )


def test_closed_now_for_a_holiday_or_a_closure_says_why(urp: OpeningCalendar) -> None:
    christmas = at(date(2026, 12, 25), 10)
    assert ask(urp, "adesso", christmas) == OpeningAnswer(
        "closed_now", christmas.date(), reason="Natale", next_opening=at(date(2026, 12, 28), 9)
    )
    new_years_eve = at(date(2026, 12, 31), 10)
    assert ask(urp, "adesso", new_years_eve) == OpeningAnswer(
        "closed_now",
        new_years_eve.date(),
        reason="chiusura di fine anno degli uffici",
        next_opening=at(date(2027, 1, 4), 9),  # after Capodanno and the weekend
    )


def test_the_moment_is_answered_in_the_municipality_timezone(urp: OpeningCalendar) -> None:
    answer = ask(urp, "adesso", THURSDAY.astimezone(UTC))
    assert answer.kind == "open_now"
    assert answer.until == at(date(2026, 11, 19), 13)


@pytest.mark.parametrize(
    ("phrase", "day", "spans"),
    [
        ("oggi", date(2026, 11, 19), [(9, 13), (15, 17)]),
        ("domani", date(2026, 11, 20), [(9, 13)]),
        ("stamattina", date(2026, 11, 19), [(9, 13)]),
        ("giovedì pomeriggio", date(2026, 11, 19), [(15, 17)]),
        ("martedì prossimo pomeriggio", date(2026, 11, 24), [(15, 17)]),
        ("lunedì mattina", date(2026, 11, 23), [(9, 13)]),
        ("3/12", date(2026, 12, 3), [(9, 13), (15, 17)]),
    ],
)
def test_open_on_day_lists_the_hours_asked(
    urp: OpeningCalendar, phrase: str, day: date, spans: list[tuple[int, int]]
) -> None:
    assert ask(urp, phrase, THURSDAY) == OpeningAnswer("open_on_day", day, hours(day, *spans))


@pytest.mark.parametrize(
    ("phrase", "day", "reason", "next_opening"),
    [
        ("stasera", date(2026, 11, 19), None, at(date(2026, 11, 20), 9)),
        ("lunedì pomeriggio", date(2026, 11, 23), None, at(date(2026, 11, 24), 9)),
        ("sabato", date(2026, 11, 21), None, at(date(2026, 11, 23), 9)),
        ("domenica sera", date(2026, 11, 22), None, at(date(2026, 11, 23), 9)),
        ("weekend", date(2026, 11, 21), None, at(date(2026, 11, 23), 9)),
        ("8 dicembre", date(2026, 12, 8), "Immacolata Concezione", at(date(2026, 12, 9), 9)),
        (
            "vigilia di natale",
            date(2026, 12, 24),
            "chiusura natalizia degli uffici",
            at(date(2026, 12, 28), 9),  # after Christmas, Santo Stefano and the Sunday
        ),
        ("natale", date(2026, 12, 25), "Natale", at(date(2026, 12, 28), 9)),
        ("santo stefano", date(2026, 12, 26), "Santo Stefano", at(date(2026, 12, 28), 9)),
        ("capodanno", date(2027, 1, 1), "Capodanno", at(date(2027, 1, 4), 9)),
    ],
)
def test_closed_on_day_says_why_and_when_it_opens(
    urp: OpeningCalendar,
    phrase: str,
    day: date,
    reason: str | None,
    next_opening: datetime,
) -> None:
    assert ask(urp, phrase, THURSDAY) == OpeningAnswer(
        "closed_on_day", day, reason=reason, next_opening=next_opening
    )


def test_easter_monday_in_the_week_of_the_clock_change(urp: OpeningCalendar) -> None:
    friday = at(date(2027, 3, 26), 12)
    answer = ask(urp, "pasquetta", friday)
    assert answer == OpeningAnswer(
        "closed_on_day",
        date(2027, 3, 29),
        reason="Lunedì dell'Angelo",
        next_opening=at(date(2027, 3, 30), 9),
    )
    assert answer.next_opening is not None
    assert answer.next_opening.utcoffset() == timedelta(hours=2)  # summer time by then
    assert ask(urp, "pasqua", friday).reason == "Pasqua"
    assert ask(urp, "adesso", friday).until == at(date(2027, 3, 26), 13)


def test_hours_follow_the_wall_clock_across_the_change(urp: OpeningCalendar) -> None:
    ((before, _),) = urp.intervals_on(date(2026, 3, 27))
    ((after, _),) = urp.intervals_on(date(2026, 3, 30))
    assert before.astimezone(UTC).hour == 8
    assert after.astimezone(UTC).hour == 7
    assert urp.next_opening(at(date(2026, 3, 27), 14)) == after


def test_the_patron_saint_closes_only_his_own_city(ancona: Settings, arezzo: Settings) -> None:
    in_ancona = OpeningCalendar.for_service(ancona)
    in_arezzo = OpeningCalendar.for_service(arezzo)
    april = at(date(2026, 4, 20), 10)
    assert ask(in_ancona, "4 maggio", april) == OpeningAnswer(
        "closed_on_day",
        date(2026, 5, 4),
        reason="San Ciriaco",
        next_opening=at(date(2026, 5, 5), 9),
    )
    assert ask(in_arezzo, "4 maggio", april).kind == "open_on_day"
    august = at(date(2026, 8, 3), 10)
    assert ask(in_arezzo, "7/8", august) == OpeningAnswer(
        "closed_on_day",
        date(2026, 8, 7),
        reason="San Donato d'Arezzo",
        next_opening=at(date(2026, 8, 10), 8, 30),
    )
    assert ask(in_ancona, "7/8", august) == OpeningAnswer(
        "open_on_day", date(2026, 8, 7), hours(date(2026, 8, 7), (9, 13))
    )


def test_each_municipality_has_its_own_closures(arezzo: Settings) -> None:
    in_arezzo = OpeningCalendar.for_service(arezzo)
    assert in_arezzo.closed_reason(date(2026, 12, 24)) == "chiusura natalizia degli uffici"
    assert in_arezzo.closed_reason(date(2026, 12, 31)) is None
    assert in_arezzo.is_open(at(date(2026, 12, 31), 12, 59))


def test_a_closure_over_several_days() -> None:
    calendar = OpeningCalendar(
        WeeklyHours.parse({"lunedì": ["09:00-12:00"], "venerdì": ["09:00-12:00"]}),
        "AN",
        (Closure(date(2026, 8, 10), date(2026, 8, 21), "chiusura estiva"),),
        ROME,
    )
    assert calendar.closed_reason(date(2026, 8, 17)) == "chiusura estiva"
    assert calendar.intervals_on(date(2026, 8, 21)) == ()
    # Ferragosto is a Saturday; the closure ends on Friday 21st.
    assert calendar.next_opening(at(date(2026, 8, 7), 12)) == at(date(2026, 8, 24), 9)


def test_holiday_names_are_italian(urp: OpeningCalendar) -> None:
    assert urp.closed_reason(date(2026, 11, 1)) == "Giorno dell'unità nazionale e Ognissanti"
    assert urp.closed_reason(date(2026, 4, 25)) == "Anniversario della Liberazione"
    assert urp.closed_reason(date(2026, 4, 5)) == "Pasqua"
    assert urp.closed_reason(date(2026, 11, 19)) is None
    assert urp.intervals_on(date(2026, 11, 22)) == ()  # Sunday: no hours, no reason


def test_an_office_has_its_own_hours(ancona: Settings) -> None:
    registry = OpeningCalendar.for_office(ancona.offices["anagrafe"], ancona)
    assert ask(registry, "adesso", at(date(2026, 11, 19), 12, 45)) == OpeningAnswer(
        "closed_now", date(2026, 11, 19), next_opening=at(date(2026, 11, 19), 15)
    )
    assert registry.closed_reason(date(2026, 12, 24)) == "chiusura natalizia degli uffici"


def test_the_weekend_answers_its_first_open_day(ancona: Settings, arezzo: Settings) -> None:
    police = OpeningCalendar.for_office(ancona.offices["polizia locale"], ancona)
    saturday = date(2026, 11, 21)
    assert ask(police, "fine settimana", THURSDAY) == OpeningAnswer(
        "open_on_day", saturday, hours(saturday, (8, 12))
    )
    # On Sunday only Sunday is left of the weekend.
    assert ask(police, "weekend", at(date(2026, 11, 22), 10)) == OpeningAnswer(
        "closed_on_day", date(2026, 11, 22), next_opening=at(date(2026, 11, 23), 8)
    )
    # A day already under way is answered all the same.
    registry = OpeningCalendar.for_office(arezzo.offices["anagrafe"], arezzo)
    assert ask(registry, "weekend", at(saturday, 15)) == OpeningAnswer(
        "open_on_day", saturday, hours(saturday, (9, 12))
    )


def test_tonight_in_the_small_hours_opens_in_the_morning(ancona: Settings) -> None:
    police = OpeningCalendar.for_office(ancona.offices["polizia locale"], ancona)
    small_hours = at(date(2026, 11, 19), 3, 30)
    assert ask(police, "stanotte", small_hours) == OpeningAnswer(
        "closed_on_day", date(2026, 11, 19), next_opening=at(date(2026, 11, 19), 8)
    )


def test_next_opening_skips_the_interval_in_progress(urp: OpeningCalendar) -> None:
    monday = date(2026, 11, 23)
    assert urp.next_opening(at(monday, 9)) == at(date(2026, 11, 24), 9)
    assert urp.next_opening(at(monday, 8, 59)) == at(monday, 9)
    assert urp.current_interval(at(monday, 9)) == (at(monday, 9), at(monday, 13))
    assert urp.current_interval(at(monday, 13)) is None
    assert urp.is_open(at(monday, 12, 59))
    assert not urp.is_open(at(monday, 13))


def test_no_hours_at_all_never_opens() -> None:
    calendar = OpeningCalendar(WeeklyHours.parse({}), "AR", (), ROME)
    assert calendar.next_opening(THURSDAY) is None
    assert ask(calendar, "domani", THURSDAY) == OpeningAnswer("closed_on_day", date(2026, 11, 20))


def test_an_unknown_province_is_refused() -> None:
    with pytest.raises(ValueError, match="provincia"):
        OpeningCalendar(WeeklyHours.parse({}), "XX", (), ROME)
