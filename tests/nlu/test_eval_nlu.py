"""What `make eval-nlu` compares and how it scores messages that are no message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from urp.tools.eval_nlu import (
    LINEAR,
    SLOW_VARIANTS,
    VARIANTS,
    TrainingTime,
    render,
    threshold_table,
)
from urp.tools.holdout import Prediction, intent_scores

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]


def test_the_shipped_variant_is_config_yml() -> None:
    _, transform = VARIANTS["svm"]
    assert transform(PIPELINE) == PIPELINE


def test_the_diet_variants_replace_only_the_classifier() -> None:
    _, transform = SLOW_VARIANTS["diet-40"]
    names = [c["name"] for c in transform(PIPELINE)]
    assert LINEAR not in names
    diet = next(c for c in transform(PIPELINE) if c["name"] == "DIETClassifier")
    assert diet["epochs"] == 40
    assert names[0] == "SpacyNLP" and names[-1] == PIPELINE[-1]["name"]


GIBBERISH = [
    # Caught by the gibberish component: right at every threshold.
    Prediction("asdfghjkl", "nlu_fallback", "nlu_fallback", "subscribe", 0.9, forced=True),
    # Missed by it: right only when the threshold sends it to the fallback.
    Prediction("poiuy", "nlu_fallback", "out_of_scope", "out_of_scope", 0.4),
    Prediction("ciao", "greet", "greet", "greet", 0.8),
]


def test_gibberish_is_right_when_the_assistant_asks_to_rephrase() -> None:
    rows = {r["threshold"]: r for r in threshold_table(GIBBERISH)}
    assert rows[0.3]["accuracy_as_deployed"] == 2 / 3
    assert rows[0.5]["accuracy_as_deployed"] == 1.0
    assert rows[0.5]["fallback_rate"] == pytest.approx(2 / 3)


def test_the_report_shows_training_time_beside_the_starter_bot() -> None:
    scores = intent_scores(GIBBERISH)
    text = render([], scores, threshold_table(GIBBERISH), [], 0.3, TrainingTime(80, 160, 2))
    assert "| bot di partenza di Rasa (`rasa init`) | 80 |" in text
    assert "**2.0 volte**" in text
    assert "circa **2.5 minuti**" in text


def test_training_times_train_the_starter_bot_then_the_project(monkeypatch, tmp_path) -> None:
    from urp.tools import eval_nlu

    runs: list[tuple[list[str], Path]] = []

    def timed(args: list[str], cwd: Path, cache: Path) -> float:
        runs.append((args, cwd))
        assert not cache.exists()  # from scratch: an empty cache of its own
        if len(runs) == 1:
            assert (cwd / "data" / "nlu.yml").exists() and (cwd / "config.yml").exists()
        return 90.0 if len(runs) == 1 else 180.0

    monkeypatch.setattr(eval_nlu, "_timed_train", timed)
    times, model = eval_nlu.training_times(tmp_path / "models")
    assert runs[1] == (
        ["--out", str(tmp_path / "models"), "--fixed-model-name", "urp-eval"],
        eval_nlu.PROJECT_ROOT,
    )
    assert times.ratio == 2.0 and model == tmp_path / "models" / "urp-eval.tar.gz"
