"""Italian the office can sign: articulated prepositions are one word («agli iscritti»),
also when a sentence is put together in code."""

from __future__ import annotations

import re
from pathlib import Path

from urp.core.settings import PROJECT_ROOT

# «a gli», «da gli», «su gli» written out, and a string that starts with the article, to be
# glued after a preposition in code (how «inviarlo a » + «gli iscritti» reached operators).
SPLIT_PREPOSITION = re.compile(r"\b(a|da|di|in|su) gli\b")
GLUED = re.compile(r"""["']gli iscritt""")
SOURCES = ("urp/console", "urp/widget", "actions", "channels")
SUFFIXES = {".py", ".html", ".js"}


def texts() -> list[Path]:
    paths = [PROJECT_ROOT / "domain.yml"]
    for folder in SOURCES:
        paths += [
            path
            for path in (PROJECT_ROOT / folder).rglob("*")
            if path.suffix in SUFFIXES and "vendor" not in path.parts
        ]
    return paths


def test_no_split_preposition_in_what_people_read() -> None:
    found = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for path in texts()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SPLIT_PREPOSITION.search(line) or GLUED.search(line)
    ]
    assert found == []
