"""`make eval-faq`: how well the FAQ search answers, on questions it has never seen.

1. Tuning, on the examples' own questions only (settings/examples/<comune>/faq.yml):
   each question is asked of an index built without it (leave-one-question-out: it
   should get its entry), and of the index without its whole entry (it should get no
   answer). On those the confidence model is fitted (urp/faq/confidence.py, written to
   confidence.json next to it); each Comune is judged by the model fitted on the others,
   and the lowest probability that answers at most ``TUNING_LIMIT`` wrong ones and of the
   entry-less questions is printed: that is how the defaults of FaqSettings are chosen.
   The weights of the score are compared the same way, and with the score rule used before.
2. Held out, never used for retrieval nor tuning: tests/faq/holdout.yml (paraphrases as
   citizens write them, and questions no entry answers) and tests/faq/lookalikes.yml
   (questions that look like one of our services but that the FAQ answers), scored with
   the thresholds of each Comune's settings file, per Comune and in total.
3. Latency of one lookup with 1,000 entries (copies of the examples).

Prints a table and rewrites the «## Base di conoscenza (FAQ)» section of
docs/nlu-report.md, leaving the rest of the file as it is.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from urp.core.settings import PROJECT_ROOT, FaqSettings, SettingsError, load_settings
from urp.faq.confidence import FEATURES, MODEL_FILE, ConfidenceModel
from urp.faq.entries import FaqEntry, read_faq_file
from urp.faq.search import ANSWER, SUGGESTIONS, FaqAnswer, FaqIndex, FaqMatch, Weights, decide
from urp.nlu import embeddings

EXAMPLES = PROJECT_ROOT / "settings" / "examples"
HOLDOUT = PROJECT_ROOT / "tests" / "faq" / "holdout.yml"
TUNING = PROJECT_ROOT / "tests" / "faq" / "tuning.yml"
LOOKALIKES = PROJECT_ROOT / "tests" / "faq" / "lookalikes.yml"
REPORT = PROJECT_ROOT / "docs" / "nlu-report.md"
HEADING = "## Base di conoscenza (FAQ)"
LATENCY_ENTRIES = 1000
TUNING_LIMIT = 0.04  # wrong answers, and answered questions without an entry (goal 0.05: a margin)
SUGGESTION_LIMIT = 0.2  # questions without their entry offered «Forse cerchi:»
GRID = tuple(round(x, 3) for x in np.arange(0.05, 0.991, 0.01))  # probabilities
SCORE_GRID = tuple(round(x, 3) for x in np.arange(0.1, 0.91, 0.025))  # the rule before
MARGINS = (0.0, 0.025, 0.05, 0.075, 0.1, 0.15)
REGULARISATION = 1.0  # C of the logistic regression
# A tuning question (written as citizens write) weighs as this many probes (the examples'
# own questions, cleaner than citizens'). Measured on the tuning set, each Comune judged by
# the model fitted on the other: right answers 0.352 (1), 0.402 (3), 0.490 (10), 0.484
# (30), 0.479 (100), at the same limits.
ASKED_WEIGHT = 10.0
# The probes read the features only: any model will do while they are computed.
MODEL = ConfidenceModel(tuple(0.0 for _ in FEATURES), 0.0)
VARIANTS: dict[str, tuple[str, Weights]] = {
    "domande": ("la domanda più vicina", Weights(centroid=0, answer=0, question=1)),
    "centroide": ("il centroide delle domande", Weights(answer=0)),
    "centroide+risposta": (
        "centroide delle domande e testo della risposta; metà del punteggio il significato",
        Weights(),
    ),
    "tutto": ("domanda più vicina, centroide e risposta", Weights(question=1)),
    "solo-parole": ("centroide e risposta, solo radici", Weights(words=1)),
    "solo-ngrammi": ("centroide e risposta, solo n-grammi", Weights(words=0)),
    "senza-significato": (
        "centroide e risposta, senza l'embedding della frase (il metodo di prima)",
        Weights(meaning=0),
    ),
    "solo-significato": ("solo l'embedding della frase", Weights(meaning=1)),
}
CHOSEN = "centroide+risposta"


@dataclass(frozen=True)
class Case:
    text: str
    comune: str
    expected: str | None  # the entry id, None: no entry answers it


@dataclass
class Tally:
    """Outcomes of a set of questions: with an expected entry, or with none."""

    total: int = 0
    right: int = 0  # the expected entry as the answer
    wrong: int = 0  # another entry as the answer
    suggested: int = 0  # «Forse cerchi:» with the expected entry among the choices
    suggested_other: int = 0  # «Forse cerchi:» without it
    none: int = 0
    errors: list[tuple[Case, FaqAnswer]] = field(default_factory=list)

    def add(self, case: Case, answer: FaqAnswer) -> None:
        self.total += 1
        ids = [m.entry.id for m in answer.matches]
        if answer.kind == ANSWER:
            if ids[0] == case.expected:
                self.right += 1
                return
            self.wrong += 1
        elif answer.kind == SUGGESTIONS:
            if case.expected is not None and case.expected in ids:
                self.suggested += 1
                return
            self.suggested_other += 1
        else:
            self.none += 1
        self.errors.append((case, answer))

    def rate(self, name: str) -> float:
        return getattr(self, name) / self.total if self.total else 0.0


@dataclass(frozen=True)
class Tuned:
    settings: FaqSettings
    right: float
    wrong: float
    negatives_answered: float
    suggested: float
    questions: int  # with an entry


def load_cases(path: Path) -> list[Case]:
    """``[{text, comune, expected}]``: a list, or the lists under the file's keys.

    An item without ``expected`` is a question no entry answers.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if isinstance(data, dict):
        data = [item for value in data.values() if isinstance(value, list) for item in value]
    return [
        Case(str(item["text"]), str(item["comune"]).lower(), item.get("expected")) for item in data
    ]


def comuni(examples: Path = EXAMPLES) -> dict[str, list[FaqEntry]]:
    """Each example Comune with a faq.yml, and its entries."""
    return {
        folder.name: read_faq_file(folder / "faq.yml")
        for folder in sorted(examples.iterdir())
        if (folder / "faq.yml").is_file()
    }


def faq_settings(comune: str) -> FaqSettings:
    try:
        return load_settings(PROJECT_ROOT / "settings" / f"{comune}.yml").faq
    except SettingsError:
        return FaqSettings()


# --- tuning on the examples' own questions ------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A question asked of the index without it, and of the index without its entry."""

    expected: str
    matches: tuple[FaqMatch, ...]  # from the index without the question
    vector: tuple[float, ...]  # the confidence features of that search
    absent: tuple[FaqMatch, ...]  # from the index without the question's whole entry
    absent_vector: tuple[float, ...]


def probes(entries: Sequence[FaqEntry], settings: FaqSettings, weights: Weights) -> list[Probe]:
    """Every question of every entry with two or more: leave it out, and leave its entry out."""
    found = []
    for number, entry in enumerate(entries):
        if len(entry.questions) < 2:
            continue
        without = FaqIndex([*entries[:number], *entries[number + 1 :]], settings, weights, MODEL)
        for question in entry.questions:
            others = tuple(q for q in entry.questions if q != question)
            reduced = [*entries[:number], replace(entry, questions=others), *entries[number + 1 :]]
            matches, vector = FaqIndex(reduced, settings, weights, MODEL).assess(question)
            absent, absent_vector = without.assess(question)
            found.append(
                Probe(entry.id, tuple(matches), tuple(vector), tuple(absent), tuple(absent_vector))
            )
    return found


@dataclass(frozen=True)
class Asked:
    """A question of the tuning set asked of its Comune's whole index."""

    expected: str | None  # None: no entry answers it
    matches: tuple[FaqMatch, ...]
    vector: tuple[float, ...]

    @property
    def right(self) -> bool:
        return bool(self.matches) and self.matches[0].entry.id == self.expected


def ask(cases: Sequence[Case], indexes: dict[str, FaqIndex]) -> dict[str, list[Asked]]:
    """The tuning questions per Comune, with what the index found and the features."""
    found: dict[str, list[Asked]] = {comune: [] for comune in indexes}
    for case in cases:
        index = indexes.get(case.comune)
        if index is not None:
            matches, vector = index.assess(case.text)
            found[case.comune].append(Asked(case.expected, tuple(matches), tuple(vector)))
    return found


def training_set(
    probes_: Sequence[Probe], asked: Sequence[Asked] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Features and outcomes: the best entry without the question right (1) or wrong (0);
    any entry without the question's own entry wrong (0); a tuning question's best entry
    right (1) or wrong (0), and any entry for a question no entry answers (0)."""
    rows = [p.vector for p in probes_] + [p.absent_vector for p in probes_]
    right = [bool(p.matches) and p.matches[0].entry.id == p.expected for p in probes_]
    rows += [a.vector for a in asked]
    outcomes = right + [False] * len(probes_) + [a.right for a in asked]
    return np.asarray(rows, dtype=float), np.asarray(outcomes, dtype=int)


def fit(
    probes_: Sequence[Probe],
    c: float = REGULARISATION,
    asked: Sequence[Asked] = (),
    outsiders: Sequence[Asked] = (),
) -> ConfidenceModel:
    """A logistic regression on standardised features, folded back to raw coefficients.

    ``asked``: tuning questions (they weigh ``ASKED_WEIGHT``); ``outsiders``: questions
    asked of a small FAQ without their entry (:func:`small_faqs`)."""
    features, outcomes = training_set(probes_, [*asked, *outsiders])
    if len(set(outcomes.tolist())) < 2:
        return ConfidenceModel(tuple(0.0 for _ in FEATURES), 0.0)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    weights = np.r_[
        np.ones(2 * len(probes_)), np.full(len(asked), ASKED_WEIGHT), np.ones(len(outsiders))
    ]
    model = LogisticRegression(C=c, max_iter=1000).fit(
        (features - mean) / scale, outcomes, sample_weight=weights
    )
    coefficients = model.coef_[0] / scale
    intercept = float(model.intercept_[0] - np.dot(coefficients, mean))
    return ConfidenceModel(tuple(float(x) for x in coefficients), intercept)


# An office's FAQ may be small, where every word is rare and a question about the pool
# meets only the library's hours: the confidence model also learns from small FAQs drawn
# from the examples (their own probes), and from the questions of the entries left out,
# asked of them (no entry answers those). Measured on the tuning set: right answers 0.490
# without, 0.479 with; «orari della piscina comunale» against a FAQ of four entries that
# has only the library's hours: probability 0.98 without (an answer), 0.80 with.
SMALL_FAQ_SIZES = (4, 6, 8, 12, 16)
SMALL_FAQ_DRAWS = 3  # of each size
SMALL_FAQ_OUTSIDERS = 40  # questions of left-out entries asked of each small FAQ
SMALL_FAQ_SEED = 7


@dataclass(frozen=True)
class SmallFaqs:
    probes: list[Probe]
    outsiders: list[Asked]


def small_faqs(
    entries: Sequence[FaqEntry], settings: FaqSettings, weights: Weights, seed: int = SMALL_FAQ_SEED
) -> SmallFaqs:
    """Small FAQs drawn from ``entries``: their probes, and the left-out questions."""
    rng = random.Random(seed)
    found, outsiders = [], []
    for size in SMALL_FAQ_SIZES:
        if size >= len(entries):
            continue
        for _ in range(SMALL_FAQ_DRAWS):
            chosen = rng.sample(list(entries), size)
            found += probes(chosen, settings, weights)
            index = FaqIndex(chosen, settings, weights, MODEL)
            ids = {entry.id for entry in chosen}
            left_out = [q for entry in entries if entry.id not in ids for q in entry.questions]
            for question in rng.sample(left_out, min(SMALL_FAQ_OUTSIDERS, len(left_out))):
                matches, vector = index.assess(question)
                outsiders.append(Asked(None, tuple(matches), tuple(vector)))
    return SmallFaqs(found, outsiders)


def small_probes(small: dict[str, SmallFaqs], comune: str) -> list[Probe]:
    return small[comune].probes if comune in small else []


@dataclass(frozen=True)
class Judged:
    """A probe with the probabilities of a model that never saw its Comune."""

    probe: Probe
    confidence: float
    absent_confidence: float


def judge(per_comune: dict[str, list[Probe]], c: float = REGULARISATION) -> dict[str, list[Judged]]:
    """Each Comune's probes judged by the model fitted on the other Comuni (on its own if it
    is the only one): the thresholds are then chosen as for an office never seen."""
    judged = {}
    for comune, probes_ in per_comune.items():
        others = [p for other, ps in per_comune.items() if other != comune for p in ps]
        model = fit(others or probes_, c)
        judged[comune] = [
            Judged(
                p,
                model.probability(np.asarray(p.vector)),
                model.probability(np.asarray(p.absent_vector)),
            )
            for p in probes_
        ]
    return judged


def probe_outcomes(judged: Sequence[Judged]) -> list[Outcome]:
    """Each probe twice: with its entry in the index, and without it (no entry answers)."""
    return [
        outcome
        for j in judged
        for outcome in (
            Outcome(j.probe.matches, j.confidence, j.probe.expected),
            Outcome(j.probe.absent, j.absent_confidence, None),
        )
    ]


# --- tuning on citizens' questions (tests/faq/tuning.yml) ---------------------------------


@dataclass(frozen=True)
class JudgedAsked:
    """A tuning question with the probability of a model that never saw its Comune."""

    asked: Asked
    confidence: float


def judge_asked(
    probes_: dict[str, list[Probe]],
    asked: dict[str, list[Asked]],
    c: float = REGULARISATION,
    small: dict[str, SmallFaqs] | None = None,
) -> dict[str, list[JudgedAsked]]:
    """Each Comune's tuning questions judged by the model fitted on the other Comuni's
    probes, small FAQs and tuning questions: the thresholds are chosen as for an office
    never seen."""
    small = small or {}
    judged = {}
    for comune, questions in asked.items():
        others = [o for o in probes_ if o != comune]
        other_probes = [p for o in others for p in [*probes_[o], *small_probes(small, o)]]
        other_asked = [a for o, qs in asked.items() if o != comune for a in qs]
        outsiders = [a for o in others if o in small for a in small[o].outsiders]
        if not other_probes and not other_asked:
            other_probes, other_asked = probes_.get(comune, []), questions
        model = fit(other_probes, c, other_asked, outsiders)
        judged[comune] = [
            JudgedAsked(a, model.probability(np.asarray(a.vector))) for a in questions
        ]
    return judged


def asked_outcomes(judged: Sequence[JudgedAsked]) -> list[Outcome]:
    return [Outcome(j.asked.matches, j.confidence, j.asked.expected) for j in judged]


# --- one threshold search for both kinds of question ---------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A question as the thresholds see it: what the index found, the model's probability
    that the first is right, and the entry that answers it (None: no entry does)."""

    matches: tuple[FaqMatch, ...]
    confidence: float
    expected: str | None


def score(outcomes: Sequence[Outcome], settings: FaqSettings) -> Tuned:
    """Right, wrong and suggested over the questions with an entry; answered over those
    without one."""
    right = wrong = suggested = positives = answered = negatives = 0
    for outcome in outcomes:
        answer = decide(list(outcome.matches), outcome.confidence, settings)
        if outcome.expected is None:
            negatives += 1
            answered += answer.kind == ANSWER
            continue
        positives += 1
        if answer.kind == ANSWER:
            right += answer.matches[0].entry.id == outcome.expected
            wrong += answer.matches[0].entry.id != outcome.expected
        elif answer.kind == SUGGESTIONS:
            suggested += any(m.entry.id == outcome.expected for m in answer.matches)
    p, n = positives or 1, negatives or 1
    return Tuned(settings, right / p, wrong / p, answered / n, suggested / p, positives)


def tune(outcomes: Sequence[Outcome], base: FaqSettings, limit: float = TUNING_LIMIT) -> Tuned:
    """The lowest answer probability within ``limit`` of wrong answers and of answered
    questions no entry answers (none: never answer); then the lowest suggestion probability
    that offers «Forse cerchi:» to at most ``SUGGESTION_LIMIT`` of those."""
    best = score(outcomes, replace(base, answer_threshold=1.0, suggest_threshold=1.0))
    for answer_threshold in GRID:
        settings = replace(
            base,
            answer_threshold=answer_threshold,
            suggest_threshold=min(base.suggest_threshold, answer_threshold),
        )
        tuned = score(outcomes, settings)
        if tuned.wrong <= limit and tuned.negatives_answered <= limit:
            best = tuned
            break
    negatives = [o for o in outcomes if o.expected is None]
    for suggest in GRID:
        if suggest > best.settings.answer_threshold:
            break
        settings = replace(best.settings, suggest_threshold=suggest)
        kinds = [decide(list(o.matches), o.confidence, settings).kind for o in negatives]
        if kinds.count(SUGGESTIONS) / (len(kinds) or 1) <= SUGGESTION_LIMIT:
            return score(outcomes, settings)
    return best


def score_rule(
    probes_: Sequence[Probe], answer: float, margin: float, suggest: float
) -> tuple[float, float, float]:
    """The rule before the model, for comparison: right, wrong and absent answered when
    the best score must reach ``answer`` and lead the second by ``margin``."""

    def answers(matches: Sequence[FaqMatch]) -> bool:
        if not matches or matches[0].score < max(answer, suggest):
            return False
        second = matches[1].score if len(matches) > 1 else 0.0
        return matches[0].score - second >= margin

    n = len(probes_) or 1
    right = sum(answers(p.matches) and p.matches[0].entry.id == p.expected for p in probes_)
    wrong = sum(answers(p.matches) and p.matches[0].entry.id != p.expected for p in probes_)
    absent = sum(answers(p.absent) for p in probes_)
    return right / n, wrong / n, absent / n


def tune_rule(probes_: Sequence[Probe], limit: float = TUNING_LIMIT) -> tuple[float, ...]:
    """The best score rule within ``limit``: (answer, margin, right, wrong, absent)."""
    best = (1.0, 0.0, 0.0, 0.0, 0.0)
    for answer in SCORE_GRID:
        for margin in MARGINS:
            right, wrong, absent = score_rule(probes_, answer, margin, 0.0)
            if wrong <= limit and absent <= limit and right > best[2]:
                best = (answer, margin, right, wrong, absent)
    return best


# --- held-out sets ------------------------------------------------------------------------


def evaluate(cases: Sequence[Case], indexes: dict[str, FaqIndex]) -> tuple[dict[str, Tally], Tally]:
    """Per Comune and in total."""
    per: dict[str, Tally] = {}
    total = Tally()
    for case in cases:
        index = indexes.get(case.comune)
        if index is None:
            continue
        answer = index.answer(case.text)
        per.setdefault(case.comune, Tally()).add(case, answer)
        total.add(case, answer)
    return per, total


def synthetic_entries(entries: Sequence[FaqEntry], size: int) -> list[FaqEntry]:
    """``size`` entries with distinct ids: the examples, then copies with an extra word."""
    made: dict[str, FaqEntry] = {}
    copy = 0
    while len(made) < size and entries:
        for entry in entries:
            if len(made) >= size:
                break
            tag = f"zona{copy}"
            copied = replace(
                entry,
                id=f"{entry.id[:50]}-{copy}",
                questions=tuple(f"{q} {tag}" for q in entry.questions),
                answer=f"{entry.answer} {tag}",
            )
            chosen = entry if copy == 0 and entry.id not in made else copied
            made.setdefault(chosen.id, chosen)
        copy += 1
    return list(made.values())


def latency(
    entries: Sequence[FaqEntry],
    settings: FaqSettings,
    texts: Sequence[str],
    size: int = LATENCY_ENTRIES,
) -> dict:
    made = synthetic_entries(entries, size)
    start = time.perf_counter()
    index = FaqIndex.build(made, settings)
    build = time.perf_counter() - start
    # Built again, as after an edit: the questions' embeddings are remembered.
    start = time.perf_counter()
    FaqIndex.build(made, settings)
    rebuild = time.perf_counter() - start
    # The message's embedding comes from the NLU, in the parse data (actions/faq.py).
    vectors = embeddings.encode(list(texts))
    times = []
    for text, vector in zip(texts, vectors, strict=True):
        start = time.perf_counter()
        index.answer(text, vector)
        times.append((time.perf_counter() - start) * 1000)
    ordered = sorted(times)
    return {
        "entries": len(index),
        "build_s": build,
        "rebuild_s": rebuild,
        "p50_ms": statistics.median(times),
        "p95_ms": ordered[max(0, int(0.95 * len(ordered)) - 1)],
    }


# --- report -------------------------------------------------------------------------------

# Measured once by hand on the tuning set, each Comune judged by the model fitted on the
# other, with the same limits as the table above (the rows marked «prima» on the method
# used before the sentence embedding; their packages are not in the lock, so `make
# eval-faq` cannot redo them).
TRIED = [
    "### Altri metodi misurati a mano (7 dicembre 2026)",
    "",
    "Sul tuning set, come la tabella delle soglie qui sopra (ogni Comune giudicato dal"
    " modello addestrato sull'altro, stessi limiti); il test set separato non è stato usato.",
    "",
    "| metodo | giuste (tuning, tutti) | costo |",
    "| --- | ---: | --- |",
    "| prima: radici e n-grammi; una domanda del tuning pesa quanto una degli esempi | 0.321 | — |",
    "| prima, più multilingual-e5-small solo come caratteristiche del modello di fiducia"
    " | 0.360 | 11 ms un messaggio breve e 54 ms uno lungo, se il server delle azioni lo"
    " calcola da sé |",
    "| e5 metà del punteggio e tre caratteristiche; stesso peso alle domande del tuning"
    " | 0.352 | — |",
    "| lo stesso, una domanda del tuning pesa 10 (3: 0.402; 30: 0.484; 100: 0.479) | 0.490 | — |",
    "| **in uso**: lo stesso, e il modello impara anche da FAQ piccole estratte dagli"
    " esempi | **0.435** | il vettore arriva dall'NLU; le domande delle voci si codificano"
    " una volta (tempi qui sopra) |",
    "| lo stesso, e i refusi delle parole delle FAQ corretti prima della ricerca"
    " (urp.core.spelling: una parola che né le FAQ né il dizionario italiano di wordfreq"
    " conoscono, a una lettera da una parola delle FAQ) | 0.442 (soglia 0.92; a mano,"
    " correggendo solo le domande del tuning: 0.479) | wordfreq"
    " 3.0.3: 57 MB installati, 50 MB di memoria; voce giusta prima 0.938 invece di 0.927,"
    " ma il modello è più sicuro anche delle domande senza voce e la soglia sale |",
    "| lo stesso, e il messaggio corretto codificato di nuovo da e5 | a mano: 0.479 | 7-11 ms"
    " ogni messaggio con un refuso |",
    "| lo stesso, col dizionario di spacy-lookups-data invece di wordfreq | a mano: 0.492 |"
    " corregge"
    " parole vere che il dizionario non ha: Jesi → mesi, oggi → ogni, secchio → vecchio |",
    "| modello di fiducia: gradient boosting (HistGradientBoosting, 4 combinazioni) invece"
    " della regressione logistica | 0.330-0.363 | — |",
    "| modello di fiducia: regressione logistica su 10 caratteristiche invece di 17 | 0.343 | — |",
    "| prima, più wordllama 0.4.0.post1 (embedding statici, soprattutto inglesi) | 0.341 |"
    " +59 MB; chiede numpy ≥ 2 e pydantic ≥ 2, incompatibili con Rasa 3.6 |",
    "| prima, più simplemma 1.1.2: lemma prima della radice | 0.314 | +80 MB |",
    "| prima, più similarità massima con le domande della voce e distacco | 0.325 | — |",
    "| prima, più parole coperte dalle domande della voce o solo dalla risposta | 0.312 | — |",
    "| prima, regolarizzazione C = 0.1 / 10 (in uso 1) | 0.305 / 0.321 | — |",
    "",
    "Voce giusta al primo posto sul tuning set (Ancona / Arezzo): radici e n-grammi 0.818 /"
    " 0.878; e5 da solo (domanda più vicina e centroide) 0.862 / 0.857; metà e metà 0.920 /"
    " 0.935.",
    "",
    "Perché non basta ancora: alla soglia scelta le parafrasi hanno 0.000 risposte"
    " sbagliate; il limite sono le domande senza voce dello stesso argomento («quanto costa"
    " un loculo» contro la voce sugli orari dei cimiteri, la cui risposta nomina i loculi,"
    " «lo scuolabus fa anche le uscite didattiche?» contro l'iscrizione allo scuolabus),"
    " che nessuna caratteristica misurata separa bene dalle parafrasi. Sono queste a fissare"
    " la soglia della risposta: sotto di lei la voce giusta arriva comunque fra i"
    " suggerimenti «Forse cerchi:».",
    "",
    "Le FAQ piccole costano 0.055 di giuste sul tuning set, e le valgono: senza, una FAQ di"
    " quattro voci con i soli orari della biblioteca rispondeva a «orari della piscina"
    " comunale» con quelli della biblioteca (probabilità 0.98); con, offre la voce fra i"
    " suggerimenti. L'ufficio che importa le sue FAQ non è detto che ne abbia tante quante"
    " gli esempi.",
    "",
]


def _row(label: str, tally: Tally) -> str:
    return (
        f"| {label} | {tally.total} | {tally.rate('right'):.3f} | {tally.rate('wrong'):.3f} "
        f"| {tally.rate('suggested'):.3f} | {tally.rate('suggested_other'):.3f} "
        f"| {tally.rate('none'):.3f} |"
    )


def _negative_row(label: str, tally: Tally) -> str:
    answered = tally.rate("wrong")
    return (
        f"| {label} | {tally.total} | **{answered:.3f}** | {tally.rate('suggested_other'):.3f} "
        f"| {tally.rate('none'):.3f} |"
    )


@dataclass(frozen=True)
class TuningResult:
    """The thresholds chosen on the tuning set: per Comune and pooled."""

    per_comune: dict[str, Tuned]
    pooled: Tuned
    sizes: dict[str, tuple[int, int]]  # questions with an entry, and without


@dataclass(frozen=True)
class Variant:
    """One way of scoring, tuned: per Comune and pooled, and the score rule for comparison."""

    per_comune: dict[str, Tuned]
    pooled: Tuned
    rule: tuple[float, ...]  # tune_rule on the same questions, pooled


def tune_variant(per_comune: dict[str, list[Probe]], base: FaqSettings) -> Variant:
    judged = judge(per_comune)
    everything = [j for js in judged.values() for j in js]
    return Variant(
        {c: tune(probe_outcomes(js), base) for c, js in judged.items()},
        tune(probe_outcomes(everything), base),
        tune_rule([p for ps in per_comune.values() for p in ps]),
    )


def render(
    variants: dict[str, Variant],
    settings: dict[str, FaqSettings],
    positives: tuple[dict[str, Tally], Tally],
    negatives: tuple[dict[str, Tally], Tally],
    lookalikes: tuple[dict[str, Tally], Tally],
    timing: dict,
    tuning: TuningResult | None = None,
) -> str:
    lines = [
        HEADING,
        "",
        f"Generato da `make eval-faq` il {date.today().isoformat()}: non modificarlo a mano.",
        "",
        "### Scelta del metodo (solo sulle domande degli esempi)",
        "",
        "Ogni domanda di settings/examples/<comune>/faq.yml è cercata nell'indice costruito"
        " senza di lei (deve trovare la sua voce) e nell'indice senza la sua voce (non deve"
        " avere una risposta). Queste prove, con le domande del tuning set qui sotto (che"
        f" pesano {ASKED_WEIGHT:g} volte tanto) e con FAQ piccole estratte dagli esempi"
        f" ({', '.join(map(str, SMALL_FAQ_SIZES))} voci: le loro prove, e le domande delle"
        " voci rimaste fuori, che non devono avere risposta), addestrano il modello di"
        " fiducia (regressione logistica su punteggi, distacco dalla seconda voce, copertura"
        " delle parole, significato: urp/faq/confidence.py). Metà del punteggio di una voce è"
        " il significato (l'embedding della frase dell'NLU, multilingual-e5-small), tranne"
        " dove la variante dice altro. Per confrontare i"
        " metodi, ogni Comune è giudicato dal modello addestrato sugli altri, come un ufficio"
        f" mai visto, alla probabilità più bassa con al massimo {TUNING_LIMIT:.0%} di risposte"
        " sbagliate e di risposte senza la voce giusta. Il thesaurus comune"
        " (urp/faq/thesaurus.yml) e i sinonimi dell'ufficio valgono in tutte le varianti.",
        "",
        "| variante | comune | domande | giuste | sbagliate | suggerita | senza la voce, con"
        " risposta | soglia risposta | soglia suggerimenti |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, variant in variants.items():
        marker = f"**{name}**" if name == CHOSEN else name
        for comune, t in [*variant.per_comune.items(), ("tutti", variant.pooled)]:
            lines.append(
                f"| {marker} | {comune} | {t.questions} | {t.right:.3f} | {t.wrong:.3f} "
                f"| {t.suggested:.3f} | {t.negatives_answered:.3f} "
                f"| {t.settings.answer_threshold} | {t.settings.suggest_threshold} |"
            )
    if tuning is not None:
        lines += [
            "",
            "### Soglie scelte sulle domande dei cittadini (tests/faq/tuning.yml)",
            "",
            "Il tuning set è scritto come scrivono i cittadini, a parte dal test set: domande"
            " con la loro voce e domande a cui nessuna voce risponde. Il modello di fiducia è"
            " addestrato sulle domande degli esempi e su queste; qui ogni Comune è giudicato"
            " dal modello addestrato sugli altri. Soglia della risposta: la probabilità più"
            f" bassa con al massimo {TUNING_LIMIT:.0%} di risposte sbagliate e di risposte a"
            " domande senza voce; suggerimenti a non più del"
            f" {SUGGESTION_LIMIT:.0%} delle domande senza voce.",
            "",
            "| comune | con voce | senza voce | giuste | sbagliate | suggerita | senza voce,"
            " con risposta | soglia risposta | soglia suggerimenti |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        rows = [*tuning.per_comune.items(), ("tutti", tuning.pooled)]
        for comune, t in rows:
            with_entry, without = (
                tuning.sizes[comune]
                if comune in tuning.sizes
                else tuple(map(sum, zip(*tuning.sizes.values(), strict=True)))
            )
            lines.append(
                f"| {comune} | {with_entry} | {without} | {t.right:.3f} | {t.wrong:.3f} "
                f"| {t.suggested:.3f} | {t.negatives_answered:.3f} "
                f"| {t.settings.answer_threshold} | {t.settings.suggest_threshold} |"
            )
    chosen = variants[CHOSEN]
    answer, margin, right, wrong, absent = chosen.rule
    lines += [
        "",
        f"Per confronto, la sola soglia sul punteggio (metodo in uso, tutti i Comuni, stessi"
        f" limiti): punteggio ≥ {answer} e margine ≥ {margin} danno giuste {right:.3f},"
        f" sbagliate {wrong:.3f}, senza la voce con risposta {absent:.3f}; il modello"
        f" {chosen.pooled.right:.3f}, {chosen.pooled.wrong:.3f},"
        f" {chosen.pooled.negatives_answered:.3f}.",
        "",
        f"Metodo in uso: **{CHOSEN}** ({VARIANTS[CHOSEN][0]}). Soglie in uso (probabilità"
        " del modello, dalle impostazioni di ogni Comune, sezione `faq:`): "
        + "; ".join(
            f"{c} risposta {s.answer_threshold}, suggerimenti {s.suggest_threshold},"
            f" margine {s.margin}"
            for c, s in settings.items()
        )
        + ".",
        "",
        "### Test set separato (tests/faq/, mai usato per la ricerca né per le soglie)",
        "",
        "Domande con una voce che risponde: giusta = quella voce come risposta; sbagliata ="
        " un'altra voce come risposta; suggerita = «Forse cerchi:» con la voce giusta fra le"
        " scelte.",
        "",
        "| insieme | domande | giuste | sbagliate | suggerita | suggerimenti senza la giusta"
        " | nessuna risposta |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, (per, total) in (("parafrasi", positives), ("sosia dei servizi", lookalikes)):
        lines += [_row(f"{label}, {c}", t) for c, t in per.items()]
        lines.append(_row(f"**{label}, totale**", total))
    lines += [
        "",
        "Domande a cui nessuna voce risponde: quante ricevono comunque una risposta.",
        "",
        "| insieme | domande | con una risposta | con suggerimenti | nessuna risposta |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    per, total = negatives
    lines += [_negative_row(f"fuori dalle FAQ, {c}", t) for c, t in per.items()]
    lines.append(_negative_row("**fuori dalle FAQ, totale**", total))
    lines += [
        "",
        f"### Tempi ({timing['entries']} voci)",
        "",
        f"- costruzione dell'indice: {timing['build_s']:.1f} s la prima volta (l'embedding di"
        f" ogni domanda, nel thread che il server delle azioni avvia all'accensione);"
        f" {timing['rebuild_s']:.2f} s dopo una modifica (gli embedding già calcolati restano)",
        f"- una ricerca, con l'embedding del messaggio che arriva dall'NLU: p50"
        f" {timing['p50_ms']:.2f} ms, p95 **{timing['p95_ms']:.2f} ms**",
        "",
        "Obiettivi: giuste ≥ 0.85 e sbagliate ≤ 0.05 sulle parafrasi, risposte fuori dalle FAQ"
        " ≤ 0.05, p95 ≤ 5 ms con 1.000 voci.",
        "",
        *TRIED,
        "### Risposte sbagliate sul test set separato",
        "",
        "Le sole che fanno danno: una voce data come risposta a chi chiedeva altro (le domande"
        " senza risposta o con suggerimenti passano all'operatore come oggi).",
        "",
    ]
    errors = [
        (case, answer)
        for _, tally in (positives, lookalikes, negatives)
        for case, answer in tally.errors
        if answer.kind == ANSWER
    ]
    if errors:
        lines += ["| messaggio | comune | atteso | voci (punteggio) |", "| --- | --- | --- | --- |"]
        for case, answer in errors:
            found = ", ".join(f"{m.entry.id} ({m.score:.2f})" for m in answer.matches)
            text = case.text.replace("|", "/").replace("\n", " ")
            lines.append(f"| {text} | {case.comune} | {case.expected or '—'} | {found} |")
    else:
        lines.append("Nessuna.")
    return "\n".join(lines) + "\n"


def replace_section(report: str, section: str, heading: str = HEADING) -> str:
    """``report`` with the section under ``heading`` (to the next ``## ``) replaced."""
    lines = report.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        joined = report.rstrip("\n")
        return (joined + "\n\n" if joined else "") + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    after = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + after if after else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=EXAMPLES)
    parser.add_argument("--holdout", type=Path, default=HOLDOUT)
    parser.add_argument("--lookalikes", type=Path, default=LOOKALIKES)
    parser.add_argument("--tuning", type=Path, default=TUNING)
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    parser.add_argument("--no-write", action="store_true", help="stampa soltanto")
    parser.add_argument("--latency-entries", type=int, default=LATENCY_ENTRIES)
    parser.add_argument(
        "--no-variants", action="store_true", help="solo il metodo in uso (più veloce)"
    )
    args = parser.parse_args(argv)

    examples = comuni(args.examples)
    if not examples:
        print(f"Nessun faq.yml in {args.examples}", file=sys.stderr)
        return 2
    settings = {comune: faq_settings(comune) for comune in examples}
    names = [CHOSEN] if args.no_variants else list(VARIANTS)
    variants: dict[str, Variant] = {}
    for name in names:
        per_comune = {
            comune: probes(entries, settings[comune], VARIANTS[name][1])
            for comune, entries in examples.items()
        }
        variants[name] = tune_variant(per_comune, FaqSettings())
        if name == CHOSEN:
            chosen_probes = per_comune
    tuning_cases = load_cases(args.tuning) if args.tuning.exists() else []
    probing = {c: FaqIndex(e, settings[c], VARIANTS[CHOSEN][1], MODEL) for c, e in examples.items()}
    asked = ask(tuning_cases, probing)
    tuning: TuningResult | None = None
    small = {c: small_faqs(e, settings[c], VARIANTS[CHOSEN][1]) for c, e in examples.items()}
    if tuning_cases:
        judged = judge_asked(chosen_probes, asked, small=small)
        tuning = TuningResult(
            {c: tune(asked_outcomes(js), FaqSettings()) for c, js in judged.items()},
            tune(asked_outcomes([j for js in judged.values() for j in js]), FaqSettings()),
            {
                c: (sum(a.expected is not None for a in qs), sum(a.expected is None for a in qs))
                for c, qs in asked.items()
            },
        )
    model = fit(
        [p for c, ps in chosen_probes.items() for p in [*ps, *small_probes(small, c)]],
        asked=[a for qs in asked.values() for a in qs],
        outsiders=[a for found in small.values() for a in found.outsiders],
    )
    if not args.no_write:
        args.model.write_text(model.to_json(), encoding="utf-8")
    indexes = {c: FaqIndex(e, settings[c], model=model) for c, e in examples.items()}
    cases = load_cases(args.holdout) if args.holdout.exists() else []
    positives = evaluate([c for c in cases if c.expected is not None], indexes)
    negatives = evaluate([c for c in cases if c.expected is None], indexes)
    lookalikes = evaluate(load_cases(args.lookalikes) if args.lookalikes.exists() else [], indexes)
    everything = [entry for entries in examples.values() for entry in entries]
    texts = [c.text for c in cases] or [q for e in everything for q in e.questions]
    first = next(iter(settings.values()))
    timing = latency(everything, first, texts, args.latency_entries)
    pooled = (tuning.pooled if tuning else variants[CHOSEN].pooled).settings
    print(
        f"Soglie misurate: answer_threshold {pooled.answer_threshold},"
        f" suggest_threshold {pooled.suggest_threshold}",
        file=sys.stderr,
    )
    section = render(variants, settings, positives, negatives, lookalikes, timing, tuning)
    print(section)
    if not args.no_write:
        existing = args.report.read_text(encoding="utf-8") if args.report.exists() else ""
        args.report.write_text(replace_section(existing, section), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
