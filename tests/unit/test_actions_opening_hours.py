"""Opening hours, with a fixed clock."""

from __future__ import annotations

from actions.opening_hours import ActionOpeningHours
from tests.unit.conversation import run, tracker


def asks(*entities: tuple[str, str]):
    event = {
        "event": "user",
        "text": "orari?",
        "parse_data": {
            "intent": {"name": "ask_opening_hours", "confidence": 1.0},
            "entities": [{"entity": e, "value": v} for e, v in entities],
        },
    }
    return tracker(event)


def slots(action, conversation) -> dict:
    events, messages = run(action, conversation)
    assert messages == []  # the rules choose the reply
    return {e["name"]: e["value"] for e in events}


def test_open_now_says_until_when(at) -> None:
    at(2026, 11, 24, 10, 0)  # Tuesday
    result = slots(ActionOpeningHours(), asks())
    assert result["hours_outcome"] == "open_now"
    assert result["info_until"] == "13:00"
    assert result["info_subject"] == "URP"
    assert "071 222 2222" in result["info_contact"]


def test_closed_now_gives_the_next_opening(at) -> None:
    at(2026, 11, 24, 13, 0)  # Tuesday, exactly at closing time
    result = slots(ActionOpeningHours(), asks(("date", "adesso")))
    assert result["hours_outcome"] == "closed_now"
    assert result["info_next_opening"] == "oggi alle 15:00"
    assert result["info_reason"] == ""


def test_a_part_of_a_day(at) -> None:
    at(2026, 11, 23, 10, 0)  # Monday
    result = slots(ActionOpeningHours(), asks(("date", "giovedì pomeriggio")))
    assert result["hours_outcome"] == "open_on_day"
    assert result["info_day"] == "giovedì 26 novembre"
    assert result["info_details"] == "15:00-17:00"


def test_a_holiday_is_closed_with_its_name(at) -> None:
    at(2026, 11, 24, 10, 0)
    result = slots(ActionOpeningHours(), asks(("date", "Natale")))
    assert result["hours_outcome"] == "closed_on_day"
    assert result["info_reason"] == " (Natale)"
    assert result["info_next_opening"] == "lunedì 28 dicembre alle 9:00"


def test_an_office_without_a_date_gets_its_week(at) -> None:
    at(2026, 11, 24, 10, 0)
    result = slots(ActionOpeningHours(), asks(("office", "ufficio anagrafe")))
    assert result["hours_outcome"] == "office_week"
    assert result["info_subject"] == "Ufficio anagrafe"
    assert result["info_details"].startswith("lun, mer e ven 8:30-12:30")
    assert "Largo XXIV Maggio 1" in result["info_contact"]


def test_an_office_on_a_day(at) -> None:
    at(2026, 11, 24, 10, 0)
    result = slots(ActionOpeningHours(), asks(("office", "vigili"), ("date", "sabato")))
    assert result["hours_outcome"] == "open_on_day"
    assert result["info_subject"] == "Polizia locale"
    assert result["info_details"] == "8:00-12:00"


def test_an_unknown_office_lists_the_known_ones(at) -> None:
    at(2026, 11, 24, 10, 0)
    result = slots(ActionOpeningHours(), asks(("office", "biblioteca")))
    assert result["hours_outcome"] == "unknown_office"
    assert "Ufficio anagrafe" in result["info_details"]


def test_arezzo_hours_come_from_arezzo_settings(at, monkeypatch) -> None:
    monkeypatch.setenv("URP_SETTINGS", "settings/arezzo.yml")
    at(2026, 11, 24, 12, 45)
    result = slots(ActionOpeningHours(), asks())
    assert result["hours_outcome"] == "open_now"
    assert result["info_until"] == "13:00"
    assert "0575 377 000" in result["info_contact"]
