"""The NLU regression gate of `make test`, and the comparison `make eval-nlu` prints.

The trained model (models/urp.tar.gz) parses the held-out set (tests/nlu/holdout.yml)
in process, scored as in docs/nlu-report.md (a fallback counts as a miss). The gate
fails when macro-F1 drops by more than :data:`MAX_DROP` from the committed baseline,
docs/nlu-baseline.json, and says which intents got worse.

The baseline changes only on purpose: ``make nlu-baseline`` writes it from the current
model, and it is committed together with the report of ``make eval-nlu``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from urp.core.settings import PROJECT_ROOT
from urp.tools.holdout import HOLDOUT, MODEL, intent_scores, predict_holdout

BASELINE = PROJECT_ROOT / "docs" / "nlu-baseline.json"
MAX_DROP = 0.02
# A per-intent change smaller than this is noise, not news.
NOTICEABLE = 0.005


@dataclass(frozen=True)
class Change:
    intent: str
    before: float | None  # None: an intent the baseline did not have
    after: float | None  # None: an intent no longer in the held-out set

    @property
    def delta(self) -> float:
        return (self.after or 0.0) - (self.before or 0.0)


@dataclass(frozen=True)
class Comparison:
    macro_before: float
    macro_after: float
    accuracy_before: float
    accuracy_after: float
    changes: list[Change]

    @property
    def drop(self) -> float:
        return round(self.macro_before - self.macro_after, 6)

    @property
    def better(self) -> list[Change]:
        return sorted((c for c in self.changes if c.delta >= NOTICEABLE), key=lambda c: -c.delta)

    @property
    def worse(self) -> list[Change]:
        return sorted((c for c in self.changes if c.delta <= -NOTICEABLE), key=lambda c: c.delta)


def baseline_of(scores: dict[str, Any]) -> dict[str, Any]:
    """What the baseline file keeps of a held-out evaluation (:func:`intent_scores`)."""
    return {
        "date": date.today().isoformat(),
        "macro_f1": round(scores["macro_f1"], 4),
        "accuracy": round(scores["accuracy"], 4),
        "per_intent": {
            intent: {key: round(value, 4) for key, value in s.items()}
            for intent, s in scores["per_intent"].items()
        },
    }


def compare(baseline: dict[str, Any], scores: dict[str, Any]) -> Comparison:
    before = {i: s["f1"] for i, s in baseline["per_intent"].items()}
    after = {i: s["f1"] for i, s in scores["per_intent"].items()}
    changes = [Change(i, before.get(i), after.get(i)) for i in sorted(before.keys() | after.keys())]
    return Comparison(
        baseline["macro_f1"], scores["macro_f1"], baseline["accuracy"], scores["accuracy"], changes
    )


def _signed(value: float) -> str:
    return f"{round(value, 3) + 0.0:+.3f}"  # never "-0.000"


def _f1(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render(comparison: Comparison, title: str) -> str:
    c = comparison
    lines = [
        title,
        f"  macro-F1: {c.macro_before:.3f} → {c.macro_after:.3f} "
        f"({_signed(c.macro_after - c.macro_before)})",
        f"  accuracy: {c.accuracy_before:.3f} → {c.accuracy_after:.3f} "
        f"({_signed(c.accuracy_after - c.accuracy_before)})",
    ]
    for label, changes in (("Migliorati", c.better), ("Peggiorati", c.worse)):
        lines.append(f"  {label}: {'nessuno' if not changes else ''}".rstrip())
        lines += [
            f"    {ch.intent}: F1 {_f1(ch.before)} → {_f1(ch.after)} ({_signed(ch.delta)})"
            for ch in changes
        ]
    return "\n".join(lines)


def verdict(comparison: Comparison, max_drop: float = MAX_DROP) -> tuple[bool, str]:
    """Whether the gate passes, and what to tell whoever ran it."""
    if comparison.drop > max_drop:
        return False, (
            f"NLU PEGGIORATO: la macro-F1 sul test set separato è scesa di {comparison.drop:.3f}"
            f" (massimo consentito {max_drop}). Guarda gli intent peggiorati qui sopra e gli"
            " esempi aggiunti di recente; se il calo è voluto, aggiorna il riferimento con"
            " `make nlu-baseline` e fallo approvare insieme al report (`make eval-nlu`)."
        )
    return True, (
        f"NLU ok: macro-F1 {comparison.macro_after:.3f}, riferimento "
        f"{comparison.macro_before:.3f} (calo massimo consentito {max_drop})."
    )


def read_baseline(path: Path = BASELINE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def committed_baseline(path: Path = BASELINE) -> dict[str, Any]:
    """The baseline of the last commit (the working copy where there is no git)."""
    relative = path.resolve().relative_to(PROJECT_ROOT)
    try:
        shown = subprocess.run(
            ["git", "show", f"HEAD:{relative.as_posix()}"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(shown.stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError):
        return read_baseline(path)


def held_out_scores(model: Path, holdout: Path) -> dict[str, Any]:
    return intent_scores(predict_holdout(model, holdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--holdout", type=Path, default=HOLDOUT)
    parser.add_argument("--max-drop", type=float, default=MAX_DROP)
    parser.add_argument(
        "--update",
        action="store_true",
        help="scrive il riferimento dal modello attuale (da fare apposta, col report)",
    )
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"Modello {args.model} mancante: esegui `make train`.", file=sys.stderr)
        return 2
    started = time.monotonic()
    scores = held_out_scores(args.model, args.holdout)
    elapsed = time.monotonic() - started
    if args.update:
        args.baseline.write_text(
            json.dumps(baseline_of(scores), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(
            f"Riferimento NLU aggiornato in {args.baseline}: macro-F1 {scores['macro_f1']:.3f}."
            " Fallo approvare insieme a docs/nlu-report.md."
        )
        return 0
    if not args.baseline.exists():
        print(
            f"Riferimento {args.baseline} mancante: crealo con `make nlu-baseline`.",
            file=sys.stderr,
        )
        return 2
    comparison = compare(read_baseline(args.baseline), scores)
    print(render(comparison, f"Test set separato rispetto al riferimento ({args.baseline.name}):"))
    passed, message = verdict(comparison, args.max_drop)
    count = sum(s["support"] for s in scores["per_intent"].values())
    print(f"{message} ({count} messaggi in {elapsed:.0f} s)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
