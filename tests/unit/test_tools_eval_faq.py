"""`make eval-faq` on a tiny knowledge base: the counting, the tuning and the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from urp.core.settings import FaqSettings
from urp.faq.confidence import ConfidenceModel
from urp.faq.entries import FaqEntry, write_faq_file
from urp.faq.search import ANSWER, NONE, SUGGESTIONS, FaqAnswer, FaqMatch
from urp.tools.eval_faq import (
    HEADING,
    Asked,
    Case,
    Judged,
    JudgedAsked,
    Probe,
    Tally,
    asked_outcomes,
    fit,
    judge,
    load_cases,
    main,
    probe_outcomes,
    replace_section,
    score,
    score_rule,
    synthetic_entries,
    tune,
)

ENTRIES = [
    FaqEntry("tari-pagamento", ("come si paga la tari", "pagare la tassa rifiuti"), "Con pagoPA."),
    FaqEntry("biblioteca-orari", ("orari della biblioteca", "quando apre la biblioteca"), "9-19."),
]


def _answer(kind: str, *ids: str) -> FaqAnswer:
    by_id = {e.id: e for e in ENTRIES}
    return FaqAnswer(kind, tuple(FaqMatch(by_id[i], 0.5, by_id[i].title) for i in ids))


def test_a_tally_counts_each_outcome() -> None:
    tally = Tally()
    tari = Case("tari?", "prova", "tari-pagamento")
    tally.add(tari, _answer(ANSWER, "tari-pagamento"))
    tally.add(tari, _answer(ANSWER, "biblioteca-orari"))
    tally.add(tari, _answer(SUGGESTIONS, "biblioteca-orari", "tari-pagamento"))
    tally.add(tari, _answer(SUGGESTIONS, "biblioteca-orari"))
    tally.add(tari, _answer(NONE, "tari-pagamento"))
    assert (tally.right, tally.wrong, tally.suggested, tally.suggested_other, tally.none) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert tally.rate("right") == 0.2
    assert len(tally.errors) == 3  # a suggestion with the right entry is no error


def test_a_question_outside_the_faq_answered_counts_as_wrong() -> None:
    tally = Tally()
    tally.add(Case("piscina?", "prova", None), _answer(ANSWER, "biblioteca-orari"))
    tally.add(Case("piscina?", "prova", None), _answer(NONE))
    assert (tally.wrong, tally.none) == (1, 1)


def _probe(expected: str, best: float, absent: float) -> Probe:
    tari, library = ENTRIES
    return Probe(
        expected,
        (FaqMatch(tari, best, tari.title), FaqMatch(library, 0.1, library.title)),
        (best,),
        (FaqMatch(library, absent, library.title),),
        (absent,),
    )


def test_probes_are_scored_with_the_probabilities() -> None:
    judged = [Judged(_probe("tari-pagamento", 0.6, 0.3), 0.9, 0.5)]
    strict = FaqSettings(answer_threshold=0.95, suggest_threshold=0.2, margin=0.0)
    loose = FaqSettings(answer_threshold=0.5, suggest_threshold=0.2, margin=0.0)
    outcomes = probe_outcomes(judged)
    assert (score(outcomes, strict).right, score(outcomes, strict).suggested) == (0, 1)
    scored = score(outcomes, loose)
    assert (scored.right, scored.negatives_answered, scored.questions) == (1, 1, 1)


def test_the_thresholds_are_the_lowest_within_the_limits() -> None:
    judged = [Judged(_probe("tari-pagamento", 0.6, 0.3), 0.9, 0.1) for _ in range(19)]
    judged.append(Judged(_probe("biblioteca-orari", 0.6, 0.3), 0.7, 0.6))
    tuned = tune(probe_outcomes(judged), FaqSettings(), limit=0.04)
    assert tuned.settings.answer_threshold == 0.71  # answers the wrong one below that
    assert (tuned.right, tuned.wrong, tuned.negatives_answered) == (0.95, 0.0, 0.0)


def test_citizens_questions_are_tuned_by_the_same_search() -> None:
    tari, library = ENTRIES
    found = (FaqMatch(tari, 0.6, tari.title), FaqMatch(library, 0.1, library.title))
    judged = [JudgedAsked(Asked("tari-pagamento", found, (0.6,)), 0.9) for _ in range(10)]
    # A question no entry answers, as sure as the right ones: answering it costs 1 in 2.
    judged.append(JudgedAsked(Asked(None, found, (0.6,)), 0.8))
    judged.append(JudgedAsked(Asked(None, found, (0.2,)), 0.1))
    tuned = tune(asked_outcomes(judged), FaqSettings(), limit=0.04)
    assert tuned.settings.answer_threshold == 0.81
    assert (tuned.right, tuned.wrong, tuned.negatives_answered, tuned.questions) == (1, 0, 0, 10)
    assert tuned.settings.suggest_threshold == 0.81  # below, «Forse cerchi:» to 1 in 2


def test_without_a_threshold_within_the_limits_nothing_is_answered() -> None:
    judged = [Judged(_probe("biblioteca-orari", 0.6, 0.3), 0.99, 0.99) for _ in range(3)]
    tuned = tune(probe_outcomes(judged), FaqSettings(), limit=0.04)
    assert (tuned.settings.answer_threshold, tuned.right, tuned.wrong) == (1.0, 0.0, 0.0)


def test_the_model_learns_right_from_wrong_and_the_rule_is_kept_for_comparison() -> None:
    probes_ = [_probe("tari-pagamento", 0.3 + i / 100, 0.2 - i / 200) for i in range(40)]
    model = fit(probes_)
    assert len(model.coefficients) == 1  # the tiny probes carry one feature
    assert model.probability(np.asarray([0.7])) > 0.5 > model.probability(np.asarray([0.1]))
    judged = judge({"a": probes_, "b": probes_})
    assert set(judged) == {"a", "b"} and len(judged["a"]) == 40
    right, wrong, absent = score_rule(probes_, 0.5, 0.0, 0.0)
    assert (right, wrong, absent) == (0.5, 0.0, 0.0)


def test_cases_are_read_from_a_list_or_from_named_lists(tmp_path: Path) -> None:
    flat = tmp_path / "flat.yml"
    flat.write_text("- {text: tari, comune: Prova, expected: tari-pagamento}\n")
    named = tmp_path / "named.yml"
    named.write_text(
        "paraphrases:\n- {text: tari, comune: prova, expected: tari-pagamento}\n"
        "unanswerable:\n- {text: piscina, comune: prova}\n"
    )
    assert load_cases(flat) == [Case("tari", "prova", "tari-pagamento")]
    assert [c.expected for c in load_cases(named)] == ["tari-pagamento", None]


def test_synthetic_entries_have_distinct_ids() -> None:
    made = synthetic_entries([*ENTRIES, ENTRIES[0]], 7)
    assert len(made) == 7 == len({e.id for e in made})
    assert made[:2] == ENTRIES


def test_the_section_is_replaced_and_the_rest_kept() -> None:
    report = f"# Report NLU\n\n## Altro\n\ntesto\n\n{HEADING}\n\nvecchio\n\n## Dopo\n\nfine\n"
    updated = replace_section(report, f"{HEADING}\n\nnuovo\n")
    assert (
        updated == f"# Report NLU\n\n## Altro\n\ntesto\n\n{HEADING}\n\nnuovo\n\n## Dopo\n\nfine\n"
    )
    assert replace_section("# Report NLU\n", f"{HEADING}\n") == f"# Report NLU\n\n{HEADING}\n"


def test_main_prints_and_writes_the_section(tmp_path: Path, capsys) -> None:
    (tmp_path / "examples" / "prova").mkdir(parents=True)
    write_faq_file(tmp_path / "examples" / "prova" / "faq.yml", ENTRIES)
    holdout = tmp_path / "holdout.yml"
    holdout.write_text(
        yaml.safe_dump(
            {
                "paraphrases": [
                    {"text": "come pago la tari", "comune": "prova", "expected": "tari-pagamento"}
                ],
                "unanswerable": [{"text": "orari della piscina", "comune": "prova"}],
            }
        )
    )
    report = tmp_path / "nlu-report.md"
    report.write_text("# Report NLU\n\n## Soglia di fallback\n\n0.6\n")
    argv = ["--examples", str(tmp_path / "examples"), "--holdout", str(holdout)]
    argv += ["--lookalikes", str(tmp_path / "none.yml"), "--report", str(report)]
    argv += ["--model", str(tmp_path / "confidence.json")]
    assert main([*argv, "--no-variants", "--latency-entries", "10"]) == 0
    written = report.read_text()
    assert written.startswith("# Report NLU\n\n## Soglia di fallback\n\n0.6\n\n" + HEADING)
    assert "| **parafrasi, totale** | 1 |" in written
    assert "| **fuori dalle FAQ, totale** | 1 |" in written
    assert "### Altri metodi misurati a mano" in written  # what was tried stays on record
    assert HEADING in capsys.readouterr().out
    assert ConfidenceModel.from_json((tmp_path / "confidence.json").read_text())
