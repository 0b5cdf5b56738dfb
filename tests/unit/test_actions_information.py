"""What every information action shares (actions.information): the office's data named by
the settings file, and follow-up questions that keep what they do not change."""

from __future__ import annotations

from actions.contributions import ActionContributions
from actions.memo import ActionLatestMemo
from actions.pharmacy import ActionPharmacyShift
from tests.unit.conversation import run, says, slots, tracker


def test_arezzo_answers_with_arezzo_data(arezzo_office, at) -> None:
    at(2026, 11, 22, 21, 0)
    _, messages = run(ActionLatestMemo(), says("ask_latest_memo"))
    assert messages[0]["text"].startswith("*INFO DAL COMUNE DI AREZZO*")
    result = slots(run(ActionPharmacyShift(), says("ask_pharmacy_shift", date="stanotte"))[0])
    assert result["pharmacy_outcome"] == "found"
    contributions = slots(
        run(ActionContributions(), says("ask_contributions", "ci sono bandi?"))[0]
    )
    assert contributions["calls_outcome"] == "open_list"


def test_a_follow_up_keeps_what_it_does_not_change(ancona_office, at) -> None:
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
