from __future__ import annotations

from datetime import time

import pytest

from urp.core.hours import Interval, WeeklyHours


def test_days_with_the_same_hours_are_grouped_in_week_order() -> None:
    hours = WeeklyHours.parse(
        {
            "venerdi": ["09:00-13:00"],
            "lunedì": "9.00-13.00",
            "martedì": ["15:00-17:00", "09:00-13:00"],
        }
    )
    assert hours.describe() == "lun e ven 9:00-13:00; mar 9:00-13:00 e 15:00-17:00"


def test_intervals_are_sorted_and_parsed() -> None:
    hours = WeeklyHours.parse({"gio": ["15:00-17:30", "08:30-13:00"]})
    assert hours.days[3] == (Interval(time(8, 30), time(13)), Interval(time(15), time(17, 30)))


def test_no_hours_at_all_is_said_plainly() -> None:
    assert WeeklyHours.parse({}).describe() == "nessun orario di apertura"


@pytest.mark.parametrize("text", ["", "9-13", "25:00-26:00", "13:00-13:00", "mattina"])
def test_bad_intervals_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        Interval.parse(text)
