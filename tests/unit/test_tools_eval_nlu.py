"""The arithmetic behind docs/nlu-report.md, on made-up predictions."""

from __future__ import annotations

from urp.tools.eval_nlu import recommended_threshold, threshold_table
from urp.tools.holdout import Prediction, intent_scores


def p(expected: str, top: str, confidence: float, threshold: float = 0.5) -> Prediction:
    predicted = top if confidence >= threshold else "nlu_fallback"
    return Prediction("testo", expected, predicted, top, confidence)


PREDICTIONS = [
    p("greet", "greet", 0.99),
    p("greet", "greet", 0.45),  # right, but below 0.5: a fallback
    p("thank", "affirm", 0.40),  # wrong, caught by the fallback
    p("thank", "thank", 0.90),
    p("affirm", "thank", 0.95),  # wrong with high confidence
]


def test_a_fallback_counts_as_a_miss() -> None:
    scores = intent_scores(PREDICTIONS)
    assert scores["accuracy"] == 2 / 5
    assert scores["fallbacks"] == 2
    assert scores["per_intent"]["greet"]["recall"] == 0.5


def test_threshold_table() -> None:
    rows = {r["threshold"]: r for r in threshold_table(PREDICTIONS)}
    assert rows[0.3]["fallback_rate"] == 0.0
    assert rows[0.3]["accuracy_as_deployed"] == 3 / 5
    assert rows[0.5]["errors_caught"] == 1 / 2
    assert rows[0.8]["fallback_rate"] == 2 / 5


def test_recommended_threshold_is_the_highest_within_a_point_of_the_best() -> None:
    rows = [
        {"threshold": 0.3, "accuracy_as_deployed": 0.950},
        {"threshold": 0.5, "accuracy_as_deployed": 0.945},
        {"threshold": 0.7, "accuracy_as_deployed": 0.930},
    ]
    assert recommended_threshold(rows) == 0.5


def test_a_rewrite_of_the_report_keeps_the_faq_section(tmp_path) -> None:
    from urp.tools.eval_nlu import kept_sections

    report = tmp_path / "nlu-report.md"
    report.write_text(
        "# Report\n\n## Intent\nvecchio\n\n## Base di conoscenza (FAQ)\ncifre\n\n## Altro\nx\n",
        encoding="utf-8",
    )
    assert kept_sections(report) == "\n## Base di conoscenza (FAQ)\ncifre\n\n"
    assert kept_sections(tmp_path / "missing.md") == ""
