"""Reports of problems in town (actions.reports): redirect or collect, the form, the code."""

from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher

from actions.reports import ActionReportMode, ActionSubmitReport, ValidateReportForm
from tests.unit.conversation import DOMAIN, ROOT, run, says, slots, tracker


def test_reports_follow_the_mode_in_the_settings(ancona_office, monkeypatch, tmp_path) -> None:
    assert slots(run(ActionReportMode(), tracker())[0]) == {"reporting_mode": "redirect"}
    collect = tmp_path / "collect.yml"
    shipped = (ROOT / "settings" / "ancona.yml").read_text(encoding="utf-8")
    collect.write_text(shipped.replace("mode: redirect", "mode: collect"), encoding="utf-8")
    monkeypatch.setenv("URP_SETTINGS", str(collect))
    assert slots(run(ActionReportMode(), tracker())[0]) == {"reporting_mode": "collect"}


def test_a_collected_report_gets_a_protocol_code(ancona_office, at) -> None:
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
