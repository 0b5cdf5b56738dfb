from __future__ import annotations

from pathlib import Path

from urp.tools.validate import form_questions, problems

ROOT = Path(__file__).resolve().parents[2]
UNUSED = "UserWarning: The utterance '{}' is not used in any story or rule."


def test_only_the_form_questions_are_tolerated() -> None:
    tolerated = form_questions(ROOT / "domain.yml")
    assert "utter_ask_report_description" in tolerated
    output = "\n".join(
        [
            UNUSED.format("utter_ask_report_location"),
            UNUSED.format("utter_greet"),
            "INFO rasa.validator - Validating intents...",
            "UserWarning: Issue found in 'data/rules/x.yml': unknown intent",
        ]
    )
    assert problems(output, tolerated) == [
        UNUSED.format("utter_greet"),
        "UserWarning: Issue found in 'data/rules/x.yml': unknown intent",
    ]
