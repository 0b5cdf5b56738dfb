"""`make eval-nlu`: choose the pipeline by cross-validation, score the held-out set.

1. Cross-validates variants of the shipped pipeline (config.yml as it is, other n-grams;
   with ``--diet`` also the DIET pipeline shipped before, slow) on data/nlu with
   ``rasa test nlu --cross-validation``.
2. Times ``rasa train`` from scratch (no cache) of Rasa's starter bot and of this project,
   one after the other on the same machine: the ratio is what carries from one machine to
   another (the starter bot trains in about 75 s on two idle cores).
3. Scores the model trained in 2 (or ``--model``, with ``--skip-timing``) on
   tests/nlu/holdout.yml, which is never trained on (:mod:`urp.tools.holdout`): intent
   accuracy and per-intent precision, recall and F1 as the deployed assistant behaves (a
   message below the fallback threshold counts as a miss), a confusion matrix PNG, and the
   confidences that justify the fallback threshold.
4. Writes docs/nlu-report.md and results/eval/report.json with exactly what it prints.
5. Prints what got better or worse per intent since the committed baseline
   (docs/nlu-baseline.json, see :mod:`urp.tools.nlu_gate`).
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from urp.core.settings import PROJECT_ROOT
from urp.tools.holdout import FALLBACK_INTENT, MODEL, Prediction, intent_scores, predict_holdout
from urp.tools.nlu_gate import BASELINE, committed_baseline, compare
from urp.tools.nlu_gate import render as render_changes

RESULTS = PROJECT_ROOT / "results" / "eval"
REPORT = PROJECT_ROOT / "docs" / "nlu-report.md"
REPORT_MATRIX = PROJECT_ROOT / "docs" / "nlu-confusion-matrix.png"
# Sections of the report that other tools write (`make eval-faq`): kept as they are.
KEPT_HEADINGS = ("## Base di conoscenza (FAQ)",)
THRESHOLDS = (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8)

Pipeline = list[dict[str, Any]]


def _without_fallback(pipeline: Pipeline) -> Pipeline:
    return [c for c in pipeline if c["name"] != "FallbackClassifier"]


LINEAR = "components.linear.LinearIntentClassifier"


def _linear(**options: Any) -> Callable[[Pipeline], Pipeline]:
    """config.yml's linear classifier with ``options`` changed."""

    def transform(pipeline: Pipeline) -> Pipeline:
        return [{**c, **options} if c["name"] == LINEAR else c for c in pipeline]

    return transform


def _diet(epochs: int) -> Callable[[Pipeline], Pipeline]:
    """The pipeline shipped until December 2026: featurisers and DIET instead of the SVM."""

    def transform(pipeline: Pipeline) -> Pipeline:
        diet: Pipeline = [
            {"name": "RegexFeaturizer", "case_sensitive": False},
            {"name": "LexicalSyntacticFeaturizer"},
            {"name": "CountVectorsFeaturizer", "use_lemma": False},
            {
                "name": "CountVectorsFeaturizer",
                "analyzer": "char_wb",
                "min_ngram": 1,
                "max_ngram": 4,
                "use_lemma": False,
            },
            {
                "name": "DIETClassifier",
                "epochs": epochs,
                "number_of_transformer_layers": 1,
                "transformer_size": 128,
                "entity_recognition": False,
                "constrain_similarities": True,
                "random_seed": 2026,
            },
        ]
        at = next(i for i, c in enumerate(pipeline) if c["name"] == LINEAR)
        return pipeline[:at] + diet + pipeline[at + 1 :]

    return transform


# Each variant is config.yml's pipeline with these choices made explicit, so a variant
# means the same thing whatever config.yml currently ships.
VARIANTS: dict[str, tuple[str, Callable[[Pipeline], Pipeline]]] = {
    "svm": (
        "parole e coppie di parole + n-grammi di caratteri 1-4 + embedding e5 (peso 3),"
        " SVM lineare (config.yml)",
        _linear(word_ngrams=[1, 2], char_ngrams=[1, 4], embeddings=3.0, spelling=False),
    ),
    "svm-e5-peso-2": (
        "come svm, embedding e5 con peso 2",
        _linear(word_ngrams=[1, 2], char_ngrams=[1, 4], embeddings=2.0, spelling=False),
    ),
    "svm-refusi": (
        "come svm, e i refusi delle parole degli esempi corretti prima (dizionario italiano di"
        " wordfreq: urp.core.spelling)",
        _linear(word_ngrams=[1, 2], char_ngrams=[1, 4], embeddings=3.0, spelling=True),
    ),
    "svm-ngrammi": (
        "parole e coppie di parole + n-grammi di caratteri 1-4, senza embedding, SVM lineare"
        " (fino al 7 dicembre 2026)",
        _linear(word_ngrams=[1, 2], char_ngrams=[1, 4], embeddings=0.0, spelling=False),
    ),
}
# Minutes each: only with --diet.
SLOW_VARIANTS: dict[str, tuple[str, Callable[[Pipeline], Pipeline]]] = {
    "diet-100": (
        "parole + n-grammi di caratteri, DIET 100 epoche (fino a dicembre 2026)",
        _diet(100),
    ),
    "diet-40": ("parole + n-grammi di caratteri, DIET 40 epoche", _diet(40)),
}


@dataclass
class CrossValidation:
    variant: str
    description: str
    folds: int
    accuracy: float
    macro_f1: float
    weighted_f1: float


def cross_validate(name: str, folds: int) -> CrossValidation:
    description, transform = {**VARIANTS, **SLOW_VARIANTS}[name]
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    config["pipeline"] = transform(_without_fallback(copy.deepcopy(config["pipeline"])))
    config.pop("policies", None)
    out = RESULTS / "cv" / name
    out.mkdir(parents=True, exist_ok=True)
    config_file = out / "config.yml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    subprocess.run(
        [
            str(Path(sys.executable).with_name("rasa")), "test", "nlu",
            "--nlu", str(PROJECT_ROOT / "data" / "nlu"), "--config", str(config_file),
            "--cross-validation", "--folds", str(folds), "--out", str(out),
            "--no-plot", "--no-errors",
        ],
        check=True, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    return CrossValidation(
        variant=name,
        description=description,
        folds=folds,
        accuracy=report["accuracy"],
        macro_f1=report["macro avg"]["f1-score"],
        weighted_f1=report["weighted avg"]["f1-score"],
    )


@dataclass
class TrainingTime:
    starter_seconds: float
    project_seconds: float
    cores: int

    @property
    def ratio(self) -> float:
        return self.project_seconds / self.starter_seconds


def _timed_train(args: list[str], cwd: Path, cache: Path) -> float:
    """Seconds of one ``rasa train`` from scratch: its own empty cache, nothing reused."""
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache)}
    started = time.monotonic()
    subprocess.run(
        [str(Path(sys.executable).with_name("rasa")), "train", *args],
        check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started


def training_times(model_dir: Path) -> tuple[TrainingTime, Path]:
    """Rasa's starter bot, then this project, trained from scratch one after the other.

    Returns the times and the project's model (config.yml and data/ as they are now).
    """
    # Rasa's own files, found without importing Rasa (urp imports nothing from it).
    rasa_package = importlib.util.find_spec("rasa")
    if rasa_package is None or rasa_package.origin is None:
        raise RuntimeError("Rasa non è installato: esegui `make install`")
    starter_template = Path(rasa_package.origin).parent / "cli" / "initial_project"
    with tempfile.TemporaryDirectory(prefix="urp-eval-") as scratch:
        work = Path(scratch)
        starter = work / "starter"
        shutil.copytree(starter_template, starter)
        starter_seconds = _timed_train(
            ["--out", str(work / "starter-models")], starter, work / "starter-cache"
        )
        model_dir.mkdir(parents=True, exist_ok=True)
        project_seconds = _timed_train(
            ["--out", str(model_dir), "--fixed-model-name", "urp-eval"],
            PROJECT_ROOT,
            work / "project-cache",
        )
    times = TrainingTime(starter_seconds, project_seconds, os.cpu_count() or 1)
    return times, model_dir / "urp-eval.tar.gz"


def _answered(p: Prediction, threshold: float) -> bool:
    return not p.forced and p.confidence >= threshold


def _right(p: Prediction, threshold: float) -> bool:
    """Whether the assistant does the right thing with ``p`` at ``threshold``: the right
    intent, or asking to rephrase a message that is no message (expected nlu_fallback)."""
    if _answered(p, threshold):
        return p.top_intent == p.expected
    return p.expected == FALLBACK_INTENT


def threshold_table(predictions: list[Prediction]) -> list[dict[str, float]]:
    """What each fallback threshold would do on the held-out set."""
    rows = []
    for threshold in THRESHOLDS:
        answered = [p for p in predictions if _answered(p, threshold)]
        right = sum(_right(p, threshold) for p in predictions)
        wrong_total = sum(p.top_intent != p.expected for p in predictions)
        caught = sum(p.top_intent != p.expected for p in predictions if not _answered(p, threshold))
        rows.append(
            {
                "threshold": threshold,
                "fallback_rate": 1 - len(answered) / len(predictions),
                "accuracy_as_deployed": right / len(predictions),
                "errors_caught": caught / wrong_total if wrong_total else 1.0,
            }
        )
    return rows


def recommended_threshold(rows: list[dict[str, float]], tolerance: float = 0.01) -> float:
    """The highest threshold whose accuracy stays within ``tolerance`` of the best."""
    best = max(r["accuracy_as_deployed"] for r in rows)
    return max(r["threshold"] for r in rows if r["accuracy_as_deployed"] >= best - tolerance)


def confusion_png(predictions: list[Prediction], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = sorted({p.expected for p in predictions} | {p.predicted for p in predictions})
    fig, ax = plt.subplots(figsize=(12, 11))
    ConfusionMatrixDisplay.from_predictions(
        [p.expected for p in predictions],
        [p.predicted for p in predictions],
        labels=labels,
        xticks_rotation="vertical",
        colorbar=False,
        ax=ax,
    )
    ax.set_title("Test set separato: intent attesi (righe) e predetti (colonne)")
    ax.set_xlabel("intent predetto")
    ax.set_ylabel("intent atteso")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _configured_threshold() -> float:
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    return next(c["threshold"] for c in config["pipeline"] if c["name"] == "FallbackClassifier")


def render(
    cv: list[CrossValidation],
    scores: dict[str, Any],
    thresholds: list[dict[str, float]],
    errors: list[Prediction],
    threshold: float,
    times: TrainingTime | None = None,
    model: str = "models/urp.tar.gz",
) -> str:
    lines = [
        "# Report NLU",
        "",
        f"Generato da `make eval-nlu` il {date.today().isoformat()}: non modificarlo a mano.",
        "",
    ]
    if cv:
        lines += [
            f"## Scelta della pipeline (cross-validation a {cv[0].folds} fold su data/nlu)",
            "",
            "| variante | descrizione | accuracy | macro-F1 | weighted-F1 |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {c.variant} | {c.description} | {c.accuracy:.3f} | {c.macro_f1:.3f} "
            f"| {c.weighted_f1:.3f} |"
            for c in cv
        ]
        lines += [
            "",
            "La cross-validation confronta le varianti fra loro: ogni fold si addestra su due"
            " terzi degli esempi e si prova sul resto, che comprende di proposito messaggi di"
            " confine tra intent, lunghi, dialettali e risposte di una parola ambigue. Il"
            " punteggio del prodotto è quello sul test set separato, qui sotto.",
            "",
        ]
    if times:
        lines += [
            "## Tempo di addestramento (`rasa train` da zero, senza cache)",
            "",
            "| cosa | secondi |",
            "| --- | ---: |",
            f"| bot di partenza di Rasa (`rasa init`) | {times.starter_seconds:.0f} |",
            f"| Sportello URP (NLU e dialogo) | {times.project_seconds:.0f} |",
            "",
            f"Misurati uno dopo l'altro sulla stessa macchina ({times.cores} core, condivisa):"
            f" lo Sportello impiega **{times.ratio:.1f} volte** il bot di partenza. Su due core"
            " liberi il bot di partenza si addestra in circa 75 s, quindi lo Sportello in"
            f" circa **{75 * times.ratio / 60:.1f} minuti** (obiettivo: al massimo 3, cioè"
            " 2,4 volte il bot di partenza).",
            "",
        ]
    lines += [
        "## Test set separato (tests/nlu/holdout.yml, mai usato per l'addestramento)",
        "",
        f"Modello: `{model}`, soglia di fallback {threshold}. Un messaggio sotto"
        " soglia (`nlu_fallback`) conta come errore; i messaggi senza senso (tasti a caso,"
        " codice incollato) sono attesi come `nlu_fallback`: la risposta giusta è chiedere"
        " di riformulare. Il test set è scritto a parte, con altre parole e altre situazioni,"
        " e nessun messaggio è vicino a un esempio di addestramento (Jaccard dei trigrammi"
        " di caratteri sotto 0,6: tests/nlu/test_holdout.py): misura come va con cittadini"
        " mai visti.",
        "",
        f"- **accuracy degli intent: {scores['accuracy']:.3f}**",
        f"- **macro-F1: {scores['macro_f1']:.3f}**",
        f"- messaggi andati in fallback: {scores['fallbacks']}",
        "",
        "| intent | precision | recall | F1 | esempi |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        for name, s in scores["per_intent"].items()
    ]
    lines += [
        "",
        "Matrice di confusione: [nlu-confusion-matrix.png](nlu-confusion-matrix.png)"
        " (anche in `results/eval/holdout_confusion_matrix.png`).",
        "",
        "## Soglia di fallback",
        "",
        "Cosa farebbe ogni soglia sul test set separato: quota di messaggi a cui si chiede di"
        " riformulare, accuracy risultante, quota degli errori del classificatore intercettati.",
        "",
        "| soglia | fallback | accuracy | errori intercettati |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['threshold']} | {r['fallback_rate']:.3f} | {r['accuracy_as_deployed']:.3f} "
        f"| {r['errors_caught']:.3f} |"
        for r in thresholds
    ]
    lines += [
        "",
        f"Soglia suggerita da questa tabella: **{recommended_threshold(thresholds)}** (la più"
        " alta che resta entro un punto di accuracy dalla migliore: intercetta più errori"
        f" senza far riformulare chi è stato capito). Soglia in config.yml: **{threshold}**.",
    ]
    lines += ["", "## Errori sul test set separato", ""]
    if errors:
        lines += ["| messaggio | atteso | predetto | confidenza |", "| --- | --- | --- | ---: |"]
        lines += [
            f"| {p.text.replace('|', '/')} | {p.expected} | {p.predicted} | {p.confidence:.2f} |"
            for p in errors
        ]
    else:
        lines.append("Nessuno.")
    return "\n".join(lines) + "\n"


def kept_sections(report: Path) -> str:
    """The sections of ``report`` written by other tools, to put back after a rewrite."""
    if not report.exists():
        return ""
    lines = report.read_text(encoding="utf-8").splitlines(keepends=True)
    kept: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("## "):
            inside = line.rstrip() in KEPT_HEADINGS
        if inside:
            kept.append(line)
    return ("\n" + "".join(kept)) if kept else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--skip-cv", action="store_true", help="solo il test set separato (più veloce)"
    )
    parser.add_argument(
        "--reuse-cv",
        action="store_true",
        help="riusa la cross-validation dell'ultima esecuzione (results/eval/report.json): "
        "per rifare il report dopo un cambio che non tocca i dati, come la soglia",
    )
    parser.add_argument(
        "--diet", action="store_true", help="anche le varianti con DIET (lente: minuti ciascuna)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=[*VARIANTS, *SLOW_VARIANTS],
        help="solo queste varianti nella cross-validation",
    )
    parser.add_argument(
        "--skip-timing",
        action="store_true",
        help="non misura l'addestramento: valuta --model invece di un modello appena addestrato",
    )
    parser.add_argument(
        "--reuse-training",
        action="store_true",
        help="riusa i tempi e il modello dell'ultima esecuzione (results/eval/): per rifare il"
        " report senza riaddestrare",
    )
    parser.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    os.chdir(PROJECT_ROOT)
    RESULTS.mkdir(parents=True, exist_ok=True)

    if args.reuse_cv:
        previous = json.loads((RESULTS / "report.json").read_text(encoding="utf-8"))
        cv = [CrossValidation(**row) for row in previous["cross_validation"]]
    elif args.skip_cv:
        cv = []
    else:
        names = args.variants or [*VARIANTS, *(SLOW_VARIANTS if args.diet else ())]
        cv = [cross_validate(name, args.folds) for name in names]
    times = None
    model = args.model
    if args.reuse_training:
        previous = json.loads((RESULTS / "report.json").read_text(encoding="utf-8"))
        times = TrainingTime(**previous["training"]) if previous.get("training") else None
        model = RESULTS / "models" / "urp-eval.tar.gz"
    elif not args.skip_timing:
        times, model = training_times(RESULTS / "models")
    predictions = predict_holdout(model)
    scores = intent_scores(predictions)
    thresholds = threshold_table(predictions)
    confusion_png(predictions, RESULTS / "holdout_confusion_matrix.png")
    errors = [p for p in predictions if p.predicted != p.expected]
    shown = (
        model.resolve().relative_to(PROJECT_ROOT) if model.is_relative_to(PROJECT_ROOT) else model
    )
    text = render(cv, scores, thresholds, errors, _configured_threshold(), times, str(shown))
    if cv:
        REPORT.write_text(text + kept_sections(REPORT), encoding="utf-8")
        shutil.copyfile(RESULTS / "holdout_confusion_matrix.png", REPORT_MATRIX)
    (RESULTS / "report.json").write_text(
        json.dumps(
            {"cross_validation": [asdict(c) for c in cv], "holdout": scores,
             "thresholds": thresholds, "training": asdict(times) if times else None},
            indent=2,
        ),
        encoding="utf-8",
    )  # fmt: skip
    print(text)
    if BASELINE.exists():
        title = "Rispetto all'ultimo report registrato (docs/nlu-baseline.json nel commit):"
        print(render_changes(compare(committed_baseline(), scores), title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
