"""A trainer's example written into the right ``data/nlu/<topic>.yml``, or refused.

Each intent lives in one topic file (a test checks it), so the example goes to the file
that already holds its intent, appended to that intent's examples with the file's own
indentation; comments and order stay as they are. Refused, with the reason in Italian:

- an intent the assistant does not know (a new intent needs rules and replies: see
  ``docs/guida-formatori.md``);
- an empty or multi-line example;
- an exact or near duplicate of an example of the same intent;
- a contradiction: the same (or nearly the same) words already teach another intent;
- a message of the held-out test set, which must never be trained on;
- an annotated entity value that the gazetteers do not know.

The checks are those of the data tests (:func:`urp.nlu.data.near_duplicate`), so what
is accepted here keeps ``make test`` green.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from urp.core.errors import OperatorError
from urp.core.settings import PROJECT_ROOT
from urp.nlu.data import Example, near_duplicate, normalise, read_examples

DATE_ENTITY = "date"  # filled by the date patterns of the spaCy pipeline, not a gazetteer
GAZETTEERS = "gazetteers.yml"
TRAINING_DIR_VARIABLE = "URP_TRAINING_DIR"


class ExampleRefusedError(OperatorError, ValueError):
    """The example would make the training data worse: the message says why."""


@dataclass(frozen=True)
class Added:
    intent: str
    text: str
    path: Path


def _quote(text: str, limit: int = 80) -> str:
    return f"«{text if len(text) <= limit else text[: limit - 1] + '…'}»"


@dataclass(frozen=True)
class TrainingData:
    """The NLU files a trainer edits, the held-out set and the domain's intents."""

    nlu_dir: Path
    holdout: Path
    domain: Path

    @classmethod
    def from_environment(cls) -> TrainingData:
        """The project's files, or those of the checkout named by ``URP_TRAINING_DIR``."""
        folder = os.environ.get(TRAINING_DIR_VARIABLE)
        return cls.of_project(Path(folder) if folder else PROJECT_ROOT)

    @classmethod
    def of_project(cls, root: Path = PROJECT_ROOT) -> TrainingData:
        return cls(
            root / "data" / "nlu", root / "tests" / "nlu" / "holdout.yml", root / "domain.yml"
        )

    def intents(self) -> list[str]:
        """What citizens can mean: the domain's intents but the console's own triggers."""
        content = yaml.safe_load(self.domain.read_text(encoding="utf-8")) or {}
        names = [i if isinstance(i, str) else next(iter(i)) for i in content.get("intents", [])]
        return sorted(name for name in names if not name.startswith("EXTERNAL_"))

    def files(self) -> list[Path]:
        return sorted(p for p in self.nlu_dir.glob("*.yml") if p.name != GAZETTEERS)

    def examples(self) -> list[Example]:
        return [ex for path in self.files() for ex in read_examples(path)]

    def home(self, intent: str) -> Path | None:
        """The topic file that holds this intent's examples."""
        return next((ex.source for ex in self.examples() if ex.intent == intent), None)

    def problems(self, intent: str, text: str) -> list[str]:
        """Why this example cannot be added (nothing: it can)."""
        if intent not in self.intents():
            return [
                f"L'intent {intent} non esiste: scegli uno di quelli dell'elenco (per un intent "
                "nuovo serve chi sviluppa l'assistente)."
            ]
        example = Example(intent, text, self.nlu_dir)
        plain = normalise(example.plain)
        if not plain:
            return ["L'esempio è vuoto: scrivi il messaggio come lo scriverebbe un cittadino."]
        if "\n" in text or "\r" in text:
            return ["Un esempio è un solo messaggio, su una riga."]
        problems = []
        for other in self.examples():
            other_plain = normalise(other.plain)
            same = other_plain == plain
            if not same and not near_duplicate(plain, other_plain):
                continue
            where = f"{other.source.name}"
            if other.intent == intent:
                kind = "già presente" if same else "quasi uguale a un esempio già presente"
                problems.append(f"Esempio {kind} in {where}: {_quote(other.plain)}.")
            else:
                problems.append(
                    f"Contraddice l'intent {other.intent}: un esempio "
                    f"{'uguale' if same else 'quasi uguale'} insegna già quell'intent "
                    f"({where}: {_quote(other.plain)})."
                )
            break
        for held in read_examples(self.holdout):
            held_plain = normalise(held.plain)
            if held_plain == plain or near_duplicate(plain, held_plain):
                problems.append(
                    "È (quasi) uguale a un messaggio del test set separato "
                    "(tests/nlu/holdout.yml): addestrarci sopra falserebbe il report."
                )
                break
        problems += self._unknown_entities(example)
        return problems

    def _unknown_entities(self, example: Example) -> list[str]:
        from urp.nlu.spacy_pipeline import load_gazetteers

        gazetteers = {
            entity: {normalise(v) for v in values}
            for entity, values in load_gazetteers(self.nlu_dir / GAZETTEERS).items()
        }
        return [
            f"Il valore {_quote(value)} dell'entità {entity} non è nei gazetteer "
            f"(data/nlu/{GAZETTEERS}): aggiungilo lì prima, o togli l'annotazione."
            for entity, value in example.entities
            if entity != DATE_ENTITY and normalise(value) not in gazetteers.get(entity, set())
        ]

    def add(self, intent: str, text: str) -> Added:
        """Append the example to its intent's file; :class:`ExampleRefusedError` if not."""
        text = " ".join(text.split()) if "\n" not in text.strip() else text.strip()
        with self._locked():
            problems = self.problems(intent, text)
            if problems:
                raise ExampleRefusedError(" ".join(problems))
            path = self.home(intent)
            if path is None:
                raise ExampleRefusedError(
                    f"Nessun file di data/nlu contiene l'intent {intent}: va creato da chi "
                    "sviluppa l'assistente."
                )
            original = path.read_text(encoding="utf-8")
            updated = _append_example(original, intent, text)
            _replace(path, updated)
            if not any(ex.intent == intent and ex.text == text for ex in read_examples(path)):
                _replace(path, original)
                raise ExampleRefusedError(
                    f"L'esempio non si è potuto scrivere in {path.name} senza cambiarne il senso."
                )
        return Added(intent, text, path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (two trainers, the console and the CLI)."""
        descriptor = os.open(self.nlu_dir, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock


_INTENT_LINE = re.compile(r"^-\s+intent:\s*(?P<name>\S+)\s*$")
_EXAMPLE_LINE = re.compile(r"^(?P<indent>\s+)- ")


def _append_example(content: str, intent: str, text: str) -> str:
    """The file with ``text`` as the last example of ``intent`` (same indentation)."""
    lines = content.splitlines(keepends=True)
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if (m := _INTENT_LINE.match(line)) and m["name"] == intent
        ),
        None,
    )
    if start is None:
        raise ExampleRefusedError(f"L'intent {intent} non ha un blocco di esempi da estendere.")
    last = None
    indent = "    "
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if _INTENT_LINE.match(line) or (line.strip() and not line.startswith((" ", "\t"))):
            break
        if match := _EXAMPLE_LINE.match(line):
            last, indent = index, match["indent"]
    if last is None:
        raise ExampleRefusedError(f"L'intent {intent} non ha un blocco di esempi da estendere.")
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines.insert(last + 1, f"{indent}- {text}\n")
    return "".join(lines)


def _replace(path: Path, content: str) -> None:
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    draft.write_text(content, encoding="utf-8")
    os.replace(draft, path)
