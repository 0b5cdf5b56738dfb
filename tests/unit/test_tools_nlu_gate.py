"""The NLU regression gate: a deliberately bad training change makes it fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from urp.tools import nlu_gate
from urp.tools.holdout import Prediction, intent_scores
from urp.tools.nlu_gate import baseline_of, compare, render, verdict

INTENTS = ("affirm", "deny", "greet", "thank", "goodbye")


def predictions(wrong: dict[str, str] | None = None, misses: int = 0) -> list[Prediction]:
    """Ten held-out messages per intent; ``wrong`` maps an intent to what it is taken for."""
    wrong = wrong or {}
    result = []
    for intent in INTENTS:
        for n in range(10):
            predicted = wrong.get(intent, intent)
            if intent == "greet" and n < misses:
                predicted = "nlu_fallback"
            result.append(Prediction(f"{intent} {n}", intent, predicted, predicted, 0.9))
    return result


GOOD = intent_scores(predictions())
BASELINE = baseline_of(GOOD)


def test_a_bad_training_change_fails_the_gate() -> None:
    # Someone labels every "grazie" as "affirm": thank is lost, affirm gets polluted.
    bad = intent_scores(predictions({"thank": "affirm"}))
    comparison = compare(BASELINE, bad)
    passed, message = verdict(comparison)
    assert not passed
    assert "NLU PEGGIORATO" in message and "make nlu-baseline" in message
    assert [c.intent for c in comparison.worse] == ["thank", "affirm"]
    report = render(comparison, "Test set separato:")
    assert "thank: F1 1.000 → 0.000 (-1.000)" in report
    assert "Migliorati: nessuno" in report


def test_the_same_model_passes() -> None:
    passed, message = verdict(compare(BASELINE, GOOD))
    assert passed and message.startswith("NLU ok: macro-F1 1.000")
    assert "(+0.000)" in render(compare(BASELINE, GOOD), "")


def test_a_drop_within_the_tolerance_passes_and_beyond_it_fails() -> None:
    one_miss = compare(BASELINE, intent_scores(predictions(misses=1)))
    assert 0 < one_miss.drop <= 0.02 and verdict(one_miss)[0]
    three_misses = compare(BASELINE, intent_scores(predictions(misses=3)))
    assert three_misses.drop > 0.02 and not verdict(three_misses)[0]


def test_an_improvement_is_reported() -> None:
    worse_baseline = baseline_of(intent_scores(predictions(misses=3)))
    comparison = compare(worse_baseline, GOOD)
    assert [c.intent for c in comparison.better] == ["greet"]
    assert verdict(comparison)[0]


def run_gate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scores: dict[str, Any], *args: str
) -> int:
    model = tmp_path / "urp.tar.gz"
    model.write_bytes(b"")
    monkeypatch.setattr(nlu_gate, "held_out_scores", lambda model, holdout: scores)
    return nlu_gate.main(["--model", str(model), "--baseline", str(tmp_path / "b.json"), *args])


def test_the_command_updates_the_baseline_on_purpose_and_then_guards_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_gate(monkeypatch, tmp_path, GOOD) == 2  # no baseline yet
    assert "make nlu-baseline" in capsys.readouterr().err
    assert run_gate(monkeypatch, tmp_path, GOOD, "--update") == 0
    assert json.loads((tmp_path / "b.json").read_text())["macro_f1"] == 1.0
    assert run_gate(monkeypatch, tmp_path, GOOD) == 0
    bad = intent_scores(predictions({"thank": "affirm"}))
    assert run_gate(monkeypatch, tmp_path, bad) == 1
    out = capsys.readouterr().out
    assert "Peggiorati:" in out and "thank" in out and "NLU PEGGIORATO" in out


def test_the_committed_baseline_is_a_real_evaluation() -> None:
    baseline = nlu_gate.read_baseline()
    assert 0.5 < baseline["macro_f1"] <= 1.0
    assert sum(s["support"] for s in baseline["per_intent"].values()) >= 200
