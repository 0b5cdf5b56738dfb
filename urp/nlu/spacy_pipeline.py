"""Build the project's small Italian spaCy pipeline.

``it_core_news_sm`` cannot be installed everywhere (and its licence is non-commercial),
so the assistant ships its own: a blank Italian tokenizer, the lookup lemmatizer from
``spacy-lookups-data`` and an entity ruler fed by the gazetteers in
``data/nlu/gazetteers.yml`` plus date patterns built from :mod:`urp.core.dates`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from urp.core import dates

PIPELINE_NAME = "it_urp"
PIPELINE_VERSION = "1.0.0"

Pattern = dict[str, Any]


def load_gazetteers(path: Path) -> dict[str, list[str]]:
    """Return ``{entity: [phrases]}`` from the lookup tables of a Rasa NLU file."""
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    gazetteers: dict[str, list[str]] = {}
    for item in content.get("nlu", []):
        if "lookup" not in item:
            continue
        phrases = [
            line.strip()[2:].strip()
            for line in str(item.get("examples", "")).splitlines()
            if line.strip().startswith("- ")
        ]
        gazetteers.setdefault(item["lookup"], []).extend(p for p in phrases if p)
    return gazetteers


def _in(words: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"LOWER": {"IN": list(words)}}


def date_patterns() -> list[Pattern]:
    """Token and phrase patterns for the Italian date phrases the resolver understands."""
    part = {**_in(dates.DAY_PARTS), "OP": "?"}
    patterns: list[Pattern] = [
        # oggi, domani mattina, stasera ...
        {"label": "date", "pattern": [_in(dates.RELATIVE_DAYS[:-1]), part]},
        # giovedì, questo sabato, domenica prossima, giovedì pomeriggio ...
        {
            "label": "date",
            "pattern": [
                {**_in(("questo", "questa", "prossimo", "prossima")), "OP": "?"},
                _in(dates.WEEKDAY_NAMES),
                {**_in(("prossimo", "prossima")), "OP": "?"},
                part,
            ],
        },
        # 8 ottobre, 1 maggio 2027, primo gennaio
        {
            "label": "date",
            "pattern": [
                {"LOWER": {"REGEX": r"^([0-3]?\d|primo|1°)$"}},
                _in(dates.MONTH_NAMES),
                {"TEXT": {"REGEX": r"^(19|20)\d\d$"}, "OP": "?"},
            ],
        },
        # 12/08, 3/11/2026, 15-8
        {
            "label": "date",
            "pattern": [{"TEXT": {"REGEX": r"^[0-3]?\d[/.-][01]?\d([/.-](\d\d)?\d\d)?$"}}],
        },
    ]
    phrases = [*dates.HOLIDAY_NAMES, *dates.WEEKEND_PHRASES]
    phrases += [f"questo {p}" for p in dates.WEEKEND_PHRASES]
    patterns += [{"label": "date", "pattern": phrase} for phrase in phrases]
    return patterns


def gazetteer_patterns(gazetteers: dict[str, list[str]]) -> list[Pattern]:
    return [
        {"label": entity, "pattern": phrase}
        for entity, phrases in sorted(gazetteers.items())
        for phrase in phrases
    ]


def build(gazetteer_file: Path) -> Any:
    """Return the pipeline (a ``spacy.Language``) without writing it."""
    import spacy

    nlp = spacy.blank("it")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    nlp.initialize()
    ruler.add_patterns(date_patterns() + gazetteer_patterns(load_gazetteers(gazetteer_file)))
    nlp.meta.update(
        {
            "name": PIPELINE_NAME,
            "version": PIPELINE_VERSION,
            "description": "Sportello URP: tokenizer, lemmi (lookup) e gazetteer per l'italiano",
            "license": "MIT (tabelle dei lemmi: spacy-lookups-data)",
        }
    )
    return nlp


def build_to_disk(gazetteer_file: Path, out: Path) -> Path:
    nlp = build(gazetteer_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    return out
