from __future__ import annotations

from pathlib import Path

import yaml

from actions.session import DISCLOSURE_RESPONSE
from rasa_patches import action_guard
from urp.inbound.ratelimit import NOTICE_RESPONSE
from urp.tools.validate import OUTSIDE_DIALOGUE, form_questions, problems

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


def test_external_intents_without_examples_are_tolerated_and_no_other_intent() -> None:
    missing = "UserWarning: The intent '{}' is listed in the domain file, but is not found in the NLU training data."
    output = "\n".join(
        [
            missing.format("EXTERNAL_handoff_claimed"),
            missing.format("choose_faq"),
            missing.format("back_to_bot"),
        ]
    )
    assert problems(output, set()) == [missing.format("back_to_bot")]


def test_the_channels_own_notice_is_tolerated_and_must_exist_in_the_domain() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert set(domain["responses"]) >= OUTSIDE_DIALOGUE
    assert {NOTICE_RESPONSE, DISCLOSURE_RESPONSE} | action_guard.RESPONSES == OUTSIDE_DIALOGUE
    output = UNUSED.format("utter_rate_limited")
    assert problems(output, OUTSIDE_DIALOGUE) == []
    assert problems(output, form_questions(ROOT / "domain.yml")) == [output]
