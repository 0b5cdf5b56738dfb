"""FAQ entries and the office's file of them: a YAML list of entries with exactly the keys
``id``, ``questions``, ``answer`` and, optionally, ``link`` and ``topic``.

The file is checked as a whole: every problem is reported at once, each with the file and
the entry («faq.yml, voce 3 (tari-pagamento): ...»), and nothing is loaded until the
file is right. :func:`write_faq_file` writes the same format back, so that exporting and
importing again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from urp.core.errors import OperatorError
from urp.core.models import FAQ_STATUSES
from urp.core.text import fold

STATUSES = FAQ_STATUSES
DRAFT, PUBLISHED, RETIRED = STATUSES
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
ID_LENGTH = 64
# One phone screen of WhatsApp text.
ANSWER_LIMIT = 700
TOPIC_LENGTH = 64
REQUIRED_KEYS = ("id", "questions", "answer")
OPTIONAL_KEYS = ("link", "topic")
KEYS = REQUIRED_KEYS + OPTIONAL_KEYS


@dataclass(frozen=True)
class FaqEntry:
    """One answer of the office and the ways citizens ask for it."""

    id: str  # slug: [a-z0-9][a-z0-9-]{1,63}
    questions: tuple[str, ...]  # at least one; the first is the title
    answer: str  # WhatsApp-formatted (*bold*, • bullets), at most ANSWER_LIMIT characters
    link: str | None = None  # https://... the Comune's page
    topic: str | None = None
    status: str = PUBLISHED
    updated_by: str | None = None
    updated_at: datetime | None = None  # aware UTC

    @property
    def title(self) -> str:
        return self.questions[0]

    def same_content(self, other: FaqEntry) -> bool:
        """Equal but for who changed it and when: importing it again changes nothing."""
        return (self.id, self.questions, self.answer, self.link, self.topic, self.status) == (
            other.id,
            other.questions,
            other.answer,
            other.link,
            other.topic,
            other.status,
        )


class FaqFileError(OperatorError):
    """An FAQ file that cannot be imported: ``problems`` lists every one, each with the
    file and the entry."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        header = "1 errore" if count == 1 else f"{count} errori"
        super().__init__(f"{header}, nessuna voce importata\n  " + "\n  ".join(self.problems))


class FaqEntryError(OperatorError, ValueError):
    """An entry the store refuses (from the console or a caller): ``problems`` says why."""

    def __init__(self, entry_id: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"voce «{entry_id}»: " + "; ".join(self.problems))


def question_key(question: str) -> str:
    """How two questions compare: case, accents, punctuation and spacing ignored."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(question)))


def id_problem(entry_id: str) -> str | None:
    if ID_PATTERN.fullmatch(entry_id):
        return None
    return (
        f"l'«id» «{entry_id}» non va bene: usa da 2 a {ID_LENGTH} tra lettere minuscole "
        "senza accenti, cifre e trattini, iniziando con una lettera o una cifra "
        "(es. «tari-pagamento»)"
    )


def link_problem(link: str) -> str | None:
    parts = urlsplit(link)
    if parts.scheme != "https" or not parts.netloc or re.search(r"\s", link):
        return f"il «link» deve essere un indirizzo https://..., non «{link}»"
    return None


def entry_problems(entry: FaqEntry, *, draft_answer_length: bool = False) -> list[str]:
    """What is wrong with an entry, in Italian (empty: it can be stored).

    ``draft_answer_length``: a draft may still be too long (an operator's reply waiting
    for a trainer to shorten it); it is checked again when it is published.
    """
    problems = []
    if problem := id_problem(entry.id):
        problems.append(problem)
    problems += questions_problems(entry.questions)
    problems += answer_problems(entry.answer, check_length=not draft_answer_length)
    if entry.link is not None and (problem := link_problem(entry.link)):
        problems.append(problem)
    if entry.topic is not None and (problem := topic_problem(entry.topic)):
        problems.append(problem)
    if entry.status not in STATUSES:
        problems.append(f"stato sconosciuto «{entry.status}» (ammessi: {', '.join(STATUSES)})")
    return problems


def questions_problems(questions: Sequence[str]) -> list[str]:
    if not questions:
        return ["serve almeno una domanda in «questions»"]
    problems = []
    seen: set[str] = set()
    for number, question in enumerate(questions, start=1):
        key = question_key(question)
        if not question.strip():
            problems.append(f"la domanda {number} è vuota")
        elif not key:
            problems.append(f"la domanda {number} non contiene parole")
        elif key in seen:
            problems.append(f"la domanda «{question}» è ripetuta")
        seen.add(key)
    return problems


def answer_problems(answer: str, *, check_length: bool = True) -> list[str]:
    if not answer.strip():
        return ["manca la risposta («answer»)"]
    if check_length and len(answer) > ANSWER_LIMIT:
        return [
            f"la risposta ha {len(answer)} caratteri: al massimo {ANSWER_LIMIT}, "
            "perché stia in una schermata del telefono"
        ]
    return []


def topic_problem(topic: str) -> str | None:
    if not topic.strip():
        return "il «topic» è vuoto: toglilo o scrivi l'argomento"
    if len(topic) > TOPIC_LENGTH:
        return f"il «topic» supera i {TOPIC_LENGTH} caratteri"
    return None


# -- the office's file ---------------------------------------------------------------------


def read_faq_file(path: Path) -> list[FaqEntry]:
    """The entries of an FAQ file, all published; raises :class:`FaqFileError` with every
    problem of the file."""
    name = path.name
    data = _load_yaml(path)
    if data is None:
        raise FaqFileError([f"{name}: il file è vuoto (serve un elenco di voci)"])
    if not isinstance(data, list):
        raise FaqFileError(
            [f"{name}: il file deve essere un elenco di voci (ogni voce inizia con «- id: ...»)"]
        )
    entries: list[FaqEntry] = []
    problems: list[str] = []
    first_number: dict[str, int] = {}
    for number, item in enumerate(data, start=1):
        entry, found = _read_entry(item)
        label = _entry_id(item)
        where = f"{name}, voce {number}" + (f" ({label})" if label else "")
        problems += [f"{where}: {problem}" for problem in found]
        if label is not None:
            if label in first_number:
                problems.append(f"{where}: l'«id» è già usato dalla voce {first_number[label]}")
            else:
                first_number[label] = number
        if entry is not None and not found:
            entries.append(entry)
    if problems:
        raise FaqFileError(problems)
    return entries


def write_faq_file(path: Path, entries: Sequence[FaqEntry]) -> None:
    """The entries in the format of :func:`read_faq_file` (status and history are not part
    of it: the file is what the office publishes)."""
    items = []
    for entry in entries:
        item: dict[str, Any] = {
            "id": entry.id,
            "questions": list(entry.questions),
            "answer": entry.answer,
        }
        if entry.link is not None:
            item["link"] = entry.link
        if entry.topic is not None:
            item["topic"] = entry.topic
        items.append(item)
    text = yaml.dump(
        items, Dumper=_FaqDumper, allow_unicode=True, sort_keys=False, width=100, indent=2
    )
    path.write_text(text if items else "[]\n", encoding="utf-8")


class _FaqDumper(yaml.SafeDumper):
    """Answers on several lines as literal blocks, as the office would write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # "questions:\n  - ..." rather than PyYAML's "questions:\n- ...".
        super().increase_indent(flow, False)


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FaqDumper.add_representer(str, _represent_text)


def _load_yaml(path: Path) -> Any:
    name = path.name
    if not path.is_file():
        raise FaqFileError([f"{path}: il file non esiste"])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise FaqFileError([f"{name}: il file non è in UTF-8 ({error.reason})"]) from error
    except OSError as error:
        raise FaqFileError([f"{name}: impossibile leggere il file ({error})"]) from error
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f", riga {mark.line + 1}" if mark else ""
        raise FaqFileError([f"{name}{where}: YAML non valido ({error.problem})"]) from error
    except yaml.YAMLError as error:
        raise FaqFileError([f"{name}: YAML non valido ({error})"]) from error


def _entry_id(item: Any) -> str | None:
    """The entry's id as written, to name it in messages (None: missing or not a text)."""
    if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip():
        return item["id"].strip()
    return None


def _read_entry(item: Any) -> tuple[FaqEntry | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"ogni voce deve essere una mappa con le chiavi {', '.join(REQUIRED_KEYS)}"]
    problems = []
    unknown = [str(key) for key in item if key not in KEYS]
    if unknown:
        problems.append(
            "chiav"
            + ("e sconosciuta " if len(unknown) == 1 else "i sconosciute ")
            + ", ".join(f"«{key}»" for key in unknown)
            + f" (ammesse: {', '.join(KEYS)})"
        )
    problems += [f"manca «{key}»" for key in REQUIRED_KEYS if item.get(key) is None]

    entry_id = item.get("id")
    if entry_id is not None:
        if not isinstance(entry_id, str):
            problems.append(f"l'«id» deve essere un testo, non «{entry_id}»")
        elif problem := id_problem(entry_id.strip()):
            problems.append(problem)

    questions: list[str] = []
    raw_questions = item.get("questions")
    if raw_questions is not None:
        if not isinstance(raw_questions, list):
            problems.append(
                "«questions» deve essere un elenco di domande (righe che iniziano con «- »)"
            )
        elif not raw_questions:
            problems.append("serve almeno una domanda in «questions»")
        else:
            for number, question in enumerate(raw_questions, start=1):
                if isinstance(question, str):
                    questions.append(" ".join(question.split()))
                elif question is None:
                    questions.append("")
                else:
                    problems.append(f"la domanda {number} deve essere un testo")
            problems += questions_problems(questions)

    answer = item.get("answer")
    if answer is not None:
        if not isinstance(answer, str):
            problems.append("la risposta («answer») deve essere un testo")
        else:
            answer = answer.strip()
            problems += answer_problems(answer)

    link = item.get("link")
    if link is not None and link != "":
        if not isinstance(link, str):
            problems.append("il «link» deve essere un indirizzo https://...")
        else:
            link = link.strip()
            if problem := link_problem(link):
                problems.append(problem)

    topic = item.get("topic")
    if topic is not None:
        if not isinstance(topic, str):
            problems.append("il «topic» deve essere un testo")
        else:
            topic = " ".join(topic.split())
            if problem := topic_problem(topic):
                problems.append(problem)

    if problems:
        return None, problems
    return FaqEntry(
        id=entry_id.strip(),
        questions=tuple(questions),
        answer=answer,
        link=link or None,
        topic=topic,
    ), []
