"""The pharmacies on duty (actions.pharmacy) on the shipped example data, with a fixed clock."""

from __future__ import annotations

from actions.pharmacy import ActionPharmacyShift
from tests.unit.conversation import run, says, slots


def test_pharmacies_on_duty_tonight(ancona_office, at) -> None:
    at(2026, 11, 22, 21, 0)
    events, messages = run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="stanotte"))
    result = slots(events)
    assert messages == []
    assert result["pharmacy_outcome"] == "found"
    assert result["info_day"] == "stanotte"
    assert "• *Farmacia" in result["info_details"]
    assert "tel." in result["info_details"]


def test_pharmacies_on_a_holiday_and_a_weekend(ancona_office, at) -> None:
    at(2026, 11, 22, 10, 0)
    result = slots(run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="Ferragosto"))[0])
    assert result["pharmacy_outcome"] == "found"
    assert result["info_day"] == "domenica 15 agosto 2027"
    at(2026, 11, 25, 10, 0)
    weekend = slots(
        run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="questo weekend"))[0]
    )
    assert "sabato 28 novembre:" in weekend["info_details"]
    assert "domenica 29 novembre:" in weekend["info_details"]


def test_pharmacies_in_an_area_or_elsewhere(ancona_office, at) -> None:
    at(2026, 11, 22, 10, 0)
    result = slots(
        run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="oggi", area="Montesicuro"))[0]
    )
    assert result["pharmacy_outcome"] == "found_elsewhere"
    assert result["info_area"] == "Montesicuro"


def test_pharmacies_without_data_or_with_an_unreadable_date(ancona_office, at) -> None:
    at(2026, 11, 22, 10, 0)
    result = slots(run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="3/11/2031"))[0])
    assert {"pharmacy_outcome": "no_data", "info_day": "lunedì 3 novembre 2031"}.items() <= (
        result.items()
    )
    result = slots(run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="31/02"))[0])
    assert result["pharmacy_outcome"] == "unknown_date"
