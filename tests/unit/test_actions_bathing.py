"""Bathing waters (actions.bathing) on the shipped example data, with a fixed clock."""

from __future__ import annotations

from actions.bathing import ActionBathingStatus
from tests.unit.conversation import run, says, slots


def test_bathing_in_season(ancona_office, at) -> None:
    at(2026, 9, 10, 10, 0)
    result = slots(run(ActionBathingStatus(), says("ask_bathing_status", zone="Trave"))[0])
    assert result["bathing_outcome"] == "zone_allowed"
    assert result["info_subject"] == "Scoglio del Trave"
    banned = slots(run(ActionBathingStatus(), says("ask_bathing_status", zone="torrette"))[0])
    assert banned["bathing_outcome"] == "zone_banned"
    assert banned["info_reason"] == "Ordinanza n. 131/2026"
    summary = slots(run(ActionBathingStatus(), says("ask_bathing_status"))[0])
    assert summary["bathing_outcome"] == "bans"
    assert "*Torrette*" in summary["info_details"]
    unknown = slots(run(ActionBathingStatus(), says("ask_bathing_status", zone="Rimini"))[0])
    assert unknown["bathing_outcome"] == "unknown_zone"
    assert "Portonovo" in unknown["info_details"]


def test_bathing_out_of_season_and_without_sea(ancona_office, at, monkeypatch) -> None:
    at(2026, 11, 22, 10, 0)
    result = slots(run(ActionBathingStatus(), says("ask_bathing_status", zone="Passetto"))[0])
    assert result["bathing_outcome"] == "out_of_season"
    assert result["info_day"] == "15 maggio 2027"
    monkeypatch.setenv("URP_SETTINGS", "settings/arezzo.yml")
    result = slots(run(ActionBathingStatus(), says("ask_bathing_status"))[0])
    assert result["bathing_outcome"] == "no_bathing_waters"
