"""Reading Rasa NLU YAML files without Rasa: examples, entities, normalised text.

Shared by the data checks in the test suite and by the trainers' tools.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from urp.core.text import fold

_ANNOTATION = re.compile(
    r"\[([^\]]+)\]\((\w+)(?::[^)]*)?\)|\[([^\]]+)\]\{[^}]*\"entity\":\s*\"(\w+)\"[^}]*\}"
)


_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~«»“”‘’…]")
# Two examples of one intent this similar differ only by a typo or a comma; shorter
# ones are different answers ("si dai" / "si vai").
NEAR_DUPLICATE_RATIO = 0.92
NEAR_DUPLICATE_MIN_LENGTH = 12


@dataclass(frozen=True)
class Example:
    intent: str
    text: str  # with the annotations of the file
    source: Path

    @property
    def plain(self) -> str:
        """The message as the citizen wrote it (annotations removed)."""
        return _ANNOTATION.sub(lambda m: m.group(1) or m.group(3), self.text)

    @property
    def entities(self) -> list[tuple[str, str]]:
        """``(entity, value)`` pairs annotated in the example."""
        return [
            (m.group(2) or m.group(4), m.group(1) or m.group(3))
            for m in _ANNOTATION.finditer(self.text)
        ]


def read_examples(path: Path) -> list[Example]:
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: list[Example] = []
    for item in content.get("nlu", []):
        if "intent" not in item:
            continue
        for line in str(item.get("examples", "")).splitlines():
            stripped = line.strip()
            if stripped.startswith("- "):
                examples.append(Example(item["intent"], stripped[2:].strip(), path))
    return examples


def normalise(text: str) -> str:
    """Lowercase, no accents, no punctuation, single spaces: for comparisons.

    Emoji stay: "👍" and "🙏" are different messages.
    """
    return fold(_PUNCTUATION.sub(" ", text))


def near_duplicate(a: str, b: str) -> bool:
    """Two normalised texts that differ only by a few characters (typos, punctuation)."""
    if min(len(a), len(b)) < NEAR_DUPLICATE_MIN_LENGTH:
        return False
    matcher = difflib.SequenceMatcher(None, a, b)
    return (
        matcher.real_quick_ratio() > NEAR_DUPLICATE_RATIO and matcher.ratio() > NEAR_DUPLICATE_RATIO
    )
