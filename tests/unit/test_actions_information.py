"""The information actions on the shipped example data, with a fixed clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import clock, services
from actions.bathing import ActionBathingStatus
from actions.contributions import ActionContributions
from actions.memo import ActionLatestMemo
from actions.pharmacy import ActionPharmacyShift
from actions.reports import ActionReportMode, ActionSubmitReport, ValidateReportForm
from tests.unit.conversation import DOMAIN, run, tracker
from urp.core.db import upgrade
from urp.core.settings import load_settings
from urp.examples import load_examples

ROME = ZoneInfo("Europe/Rome")
ROOT = Path(__file__).resolve().parents[2]


def _load(monkeypatch, tmp_path, settings_file: str) -> None:
    monkeypatch.setenv("URP_SETTINGS", settings_file)
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path / 'urp.core.db'}")
    monkeypatch.setenv("URP_HASH_SALT", "sale-di-prova-abbastanza-lungo")
    services.database.cache_clear()
    services.user_hasher.cache_clear()
    database = services.database()
    upgrade(database)
    settings = load_settings(settings_file)
    load_examples(database, settings, settings.example_data)


@pytest.fixture
def ancona(tmp_path, monkeypatch) -> Iterator[None]:
    _load(monkeypatch, tmp_path, "settings/ancona.yml")
    yield
    services.database().dispose()
    services.database.cache_clear()
    clock.now_override = None


@pytest.fixture
def arezzo(tmp_path, monkeypatch) -> Iterator[None]:
    _load(monkeypatch, tmp_path, "settings/arezzo.yml")
    yield
    services.database().dispose()
    services.database.cache_clear()
    clock.now_override = None


def at(*args: int) -> None:
    clock.now_override = datetime(*args, tzinfo=ROME)


def says(intent: str, text: str = "", **entities: str):
    event = {
        "event": "user",
        "text": text or f"/{intent}",
        "input_channel": "rest",
        "parse_data": {
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [{"entity": k, "value": v} for k, v in entities.items()],
        },
    }
    return tracker(event)


def slots(events) -> dict:
    return {e["name"]: e["value"] for e in events}


def test_pharmacies_on_duty_tonight(ancona) -> None:
    at(2026, 11, 22, 21, 0)
    events, messages = run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="stanotte"))
    result = slots(events)
    assert messages == []
    assert result["pharmacy_outcome"] == "found"
    assert result["info_day"] == "stanotte"
    assert "• *Farmacia" in result["info_details"]
    assert "tel." in result["info_details"]


def test_pharmacies_on_a_holiday_and_a_weekend(ancona) -> None:
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


def test_pharmacies_in_an_area_or_elsewhere(ancona) -> None:
    at(2026, 11, 22, 10, 0)
    result = slots(
        run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="oggi", area="Montesicuro"))[0]
    )
    assert result["pharmacy_outcome"] == "found_elsewhere"
    assert result["info_area"] == "Montesicuro"


def test_pharmacies_without_data_or_with_an_unreadable_date(ancona) -> None:
    at(2026, 11, 22, 10, 0)
    result = slots(run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="3/11/2031"))[0])
    assert {"pharmacy_outcome": "no_data", "info_day": "lunedì 3 novembre 2031"}.items() <= (
        result.items()
    )
    result = slots(run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="31/02"))[0])
    assert result["pharmacy_outcome"] == "unknown_date"


def test_bathing_in_season(ancona) -> None:
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


def test_bathing_out_of_season_and_without_sea(ancona, monkeypatch) -> None:
    at(2026, 11, 22, 10, 0)
    result = slots(run(ActionBathingStatus(), says("ask_bathing_status", zone="Passetto"))[0])
    assert result["bathing_outcome"] == "out_of_season"
    assert result["info_day"] == "15 maggio 2027"
    monkeypatch.setenv("URP_SETTINGS", "settings/arezzo.yml")
    result = slots(run(ActionBathingStatus(), says("ask_bathing_status"))[0])
    assert result["bathing_outcome"] == "no_bathing_waters"


def test_calls_open_upcoming_closed_and_none(ancona) -> None:
    at(2026, 11, 22, 10, 0)
    rent = slots(run(ActionContributions(), says("ask_contributions", grant_topic="affitto"))[0])
    assert rent["calls_outcome"] == "open"
    assert "scade il 31 dicembre 2026" in rent["info_details"]
    books = slots(
        run(ActionContributions(), says("ask_contributions", grant_topic="libri di testo"))[0]
    )
    assert books["calls_outcome"] == "upcoming"
    assert "apertura prevista" in books["info_details"]
    quake = slots(run(ActionContributions(), says("ask_contributions", grant_topic="terremoto"))[0])
    assert quake["calls_outcome"] == "closed"
    nothing = slots(run(ActionContributions(), says("ask_contributions", grant_topic="giovani"))[0])
    assert nothing["calls_outcome"] == "none_matching"
    assert "Contributo per l'affitto 2026" in nothing["info_details"]
    listing = slots(run(ActionContributions(), says("ask_contributions", "ci sono bandi?"))[0])
    assert listing["calls_outcome"] == "open_list"
    funeral = says("ask_contributions", "il comune rimborsa le spese funerarie?")
    unknown = slots(run(ActionContributions(), funeral)[0])
    assert unknown["calls_outcome"] == "none_matching"
    assert unknown["info_topic"] == "questo argomento"
    rent_words = slots(
        run(ActionContributions(), says("ask_contributions", "aiuti per gli affitti?"))[0]
    )
    assert rent_words["calls_outcome"] == "open"
    assert rent_words["info_topic"] == "affitto"


def test_the_memo_is_sent_in_whatsapp_format(ancona) -> None:
    at(2026, 11, 22, 10, 0)
    events, messages = run(ActionLatestMemo(), says("ask_latest_memo"))
    assert slots(events) == {"memo_outcome": "sent"}
    assert messages[0]["text"].startswith("*MEMO COMUNE DI ANCONA*")
    assert all(len(m["text"]) < 4096 for m in messages)


def test_arezzo_answers_with_arezzo_data(arezzo) -> None:
    at(2026, 11, 22, 21, 0)
    _, messages = run(ActionLatestMemo(), says("ask_latest_memo"))
    assert messages[0]["text"].startswith("*INFO DAL COMUNE DI AREZZO*")
    result = slots(run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="stanotte"))[0])
    assert result["pharmacy_outcome"] == "found"
    calls = slots(run(ActionContributions(), says("ask_contributions", "ci sono bandi?"))[0])
    assert calls["calls_outcome"] == "open_list"


def test_reports_follow_the_mode_in_the_settings(ancona, monkeypatch, tmp_path) -> None:
    assert slots(run(ActionReportMode(), tracker())[0]) == {"reporting_mode": "redirect"}
    collect = tmp_path / "collect.yml"
    shipped = (ROOT / "settings" / "ancona.yml").read_text(encoding="utf-8")
    collect.write_text(shipped.replace("mode: redirect", "mode: collect"), encoding="utf-8")
    monkeypatch.setenv("URP_SETTINGS", str(collect))
    assert slots(run(ActionReportMode(), tracker())[0]) == {"reporting_mode": "collect"}


def test_a_collected_report_gets_a_protocol_code(ancona) -> None:
    at(2026, 11, 22, 10, 0)
    form = tracker(
        {"event": "user", "text": "no", "input_channel": "rest"},
        slots={
            "report_description": "lampione spento",
            "report_location": "via Flaminia 12",
            "report_photo": "nessuna",
        },
    )
    events, _ = run(ActionSubmitReport(), form)
    result = slots(events)
    assert result["report_outcome"] == "submitted"
    assert result["report_code"].startswith("SEG-2026-")
    assert result["report_description"] is None  # the form starts afresh next time


def test_a_shared_position_fills_the_place() -> None:
    message = says("report_problem", latitude="43.6158", longitude="13.5189")
    extracted = asyncio.run(
        ValidateReportForm().extract_report_location(CollectingDispatcher(), message, DOMAIN)
    )
    assert extracted == {"report_location": "posizione 43.615800, 13.518900"}


def test_a_follow_up_keeps_what_it_does_not_change(ancona) -> None:
    at(2026, 11, 22, 10, 0)
    first = slots(
        run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="stanotte", area="Piano"))[0]
    )
    assert first["last_service"] == "pharmacy"
    assert first["asked_entities"] == {"date": ["stanotte"], "area": ["Piano"]}
    follow_up = {
        "event": "user",
        "text": "e domani a Torrette?",
        "parse_data": {
            "intent": {"name": "follow_up", "confidence": 1.0},
            "entities": [{"entity": "zone", "value": "Torrette"}],
        },
    }
    second = slots(
        run(
            ActionPharmacyShift(),
            tracker(follow_up, slots={"asked_entities": first["asked_entities"]}),
        )[0]
    )
    # The place changed (zone replaces area), the date stayed.
    assert second["asked_entities"] == {"date": ["stanotte"], "zone": ["Torrette"]}
    assert second["info_day"] == "stanotte"


def test_yes_to_a_call_notification_follows_the_calls_topic(ancona) -> None:
    from actions.subscription import ActionSubscribe

    at(2026, 11, 22, 10, 0)
    offer = slots(
        run(ActionContributions(), says("ask_contributions", grant_topic="libri di testo"))[0]
    )
    assert offer["offered_topic"] == "bandi"
    yes = {
        "event": "user",
        "text": "sì",
        "input_channel": "rest",
        "parse_data": {"intent": {"name": "affirm", "confidence": 1.0}, "entities": []},
    }
    result = slots(run(ActionSubscribe(), tracker(yes, slots={"offered_topic": "bandi"}))[0])
    assert result["subscription_outcome"] == "created"
    assert "«bandi e contributi»" in result["subscription_topics"]
