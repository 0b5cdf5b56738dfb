"""Contributions: grants, bonuses and calls ("bandi"), the catalogue the office keeps, and
what matches a question.

A contribution is open from its opening date to its closing date (both included; no closing date:
until further notice), upcoming before it opens or while its date is only expected
("dopo metà gennaio"), closed afterwards. A citizen's words match a contribution through its title
and keywords, ignoring case, accents and word endings ("affitti" finds "affitto").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path

from sqlalchemy import select

from urp.core.clock import Clock, utc_now
from urp.core.data_files import (
    Change,
    Located,
    Problems,
    UpsertReport,
    day_value,
    link_value,
    read_keyed_list,
    slug,
    text_value,
    words_value,
)
from urp.core.db import Database
from urp.core.models import Contribution as ContributionRow
from urp.core.text import fold

# Words compare by their first letters: "affitti"/"affitto", "scolastici"/"scolastico".
STEM_LENGTH = 5
VOWELS = frozenset("aeiou")
# Words that say nothing about which contribution is meant: every question has them.
IGNORED_WORDS = frozenset({
    "bando", "bandi", "contributo", "contributi", "bonus", "domanda", "domande", "richiesta",
    "sostegno", "aiuto", "aiuti", "agevolazione", "agevolazioni", "comune", "anno",
    "informazioni", "info", "quando", "come", "dove", "cosa", "quale", "quali", "esce",
    "escono", "apre", "aprono", "aperto", "aperti", "aperta", "scade", "scadenza", "fare",
    "vorrei", "sapere", "posso", "puoi", "avere", "chi", "per", "del", "della", "delle", "dei",
    "degli", "dal", "dalla", "alla", "alle", "allo", "nel", "nella", "nei", "con", "una", "uno",
    "che", "non", "sono", "sul", "sulla", "tra", "fra", "gli", "mio", "mia", "miei",
})  # fmt: skip


def stem(word: str) -> str:
    """The first letters of a folded word; a short word loses its final vowel instead, so
    that "libri"/"libro" and "nido"/"nidi" compare equal too."""
    if len(word) > STEM_LENGTH:
        return word[:STEM_LENGTH]
    return word[:-1] if len(word) > 3 and word[-1] in VOWELS else word


IGNORED_STEMS = frozenset(stem(word) for word in IGNORED_WORDS)


class ContributionState(Enum):
    OPEN = "open"
    UPCOMING = "upcoming"
    CLOSED = "closed"


@dataclass(frozen=True)
class Contribution:
    key: str  # "contributo-affitto-2026"
    title: str
    eligible: str  # who can apply
    opens_on: date | None
    closes_on: date | None  # None: open until further notice
    expected: str | None  # when an upcoming contribution without a date should open
    link: str
    keywords: tuple[str, ...] = ()

    def state(self, today: date) -> ContributionState:
        if self.opens_on is None or self.opens_on > today:
            return ContributionState.UPCOMING
        if self.closes_on is not None and self.closes_on < today:
            return ContributionState.CLOSED
        return ContributionState.OPEN

    def stems(self) -> frozenset[str]:
        return stems(" ".join((self.title, *self.keywords)))


@dataclass(frozen=True)
class ContributionMatch:
    """The contributions a citizen's words name, by state (closed ones too: "it closed on ...")."""

    open: tuple[Contribution, ...]
    upcoming: tuple[Contribution, ...]
    closed: tuple[Contribution, ...]

    @property
    def found(self) -> bool:
        return bool(self.open or self.upcoming or self.closed)


def stems(text: str) -> frozenset[str]:
    """The words that can tell contributions apart, cut to their first letters."""
    words = re.findall(r"[a-z0-9]+", fold(text))
    found = {stem(word) for word in words if len(word) >= 3}
    return frozenset(found - IGNORED_STEMS)


class ContributionService:
    """The catalogue: load a file, list contributions, open and upcoming ones, match a question."""

    def __init__(self, database: Database, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock

    def load(self, contributions: Sequence[Contribution]) -> UpsertReport:
        """Add or update contributions by key; contributions not in the file stay as they are."""
        counts = dict.fromkeys(Change, 0)
        with self._db.transaction(write=True) as session:
            for contribution in contributions:
                row = session.get(ContributionRow, contribution.key)
                if row is None:
                    row = ContributionRow(key=contribution.key)
                    session.add(row)
                    change = Change.CREATED
                elif _contribution(row) == contribution:
                    counts[Change.UNCHANGED] += 1
                    continue
                else:
                    change = Change.UPDATED
                row.title = contribution.title
                row.eligible = contribution.eligible
                row.opens_on = contribution.opens_on
                row.closes_on = contribution.closes_on
                row.expected = contribution.expected
                row.link = contribution.link
                row.keywords = list(contribution.keywords)
                row.updated_at = self._clock()
                counts[change] += 1
        return UpsertReport(
            counts[Change.CREATED], counts[Change.UPDATED], counts[Change.UNCHANGED]
        )

    def contributions(self) -> list[Contribution]:
        """The whole catalogue, by title."""
        with self._db.transaction() as session:
            rows = session.execute(select(ContributionRow)).scalars()
            return sorted((_contribution(row) for row in rows), key=lambda c: fold(c.title))

    def open_contributions(self, today: date) -> list[Contribution]:
        """Calls one can apply to ``today``, those closing soonest first."""
        return _by_closing(
            [c for c in self.contributions() if c.state(today) == ContributionState.OPEN]
        )

    def upcoming_contributions(self, today: date) -> list[Contribution]:
        """Calls not open yet, those with a date first, soonest first."""
        return _by_opening(
            [c for c in self.contributions() if c.state(today) == ContributionState.UPCOMING]
        )

    def match(self, words: str, today: date) -> ContributionMatch:
        """The contributions whose title or keywords share a word with ``words``."""
        wanted = stems(words)
        found = [
            contribution for contribution in self.contributions() if wanted & contribution.stems()
        ]
        by_state = {
            state: [c for c in found if c.state(today) == state] for state in ContributionState
        }
        return ContributionMatch(
            tuple(_by_closing(by_state[ContributionState.OPEN])),
            tuple(_by_opening(by_state[ContributionState.UPCOMING])),
            tuple(
                sorted(
                    by_state[ContributionState.CLOSED],
                    key=lambda c: c.closes_on or date.min,
                    reverse=True,
                )
            ),
        )


def _by_closing(contributions: Iterable[Contribution]) -> list[Contribution]:
    return sorted(
        contributions, key=lambda c: (c.closes_on is None, c.closes_on or date.max, fold(c.title))
    )


def _by_opening(contributions: Iterable[Contribution]) -> list[Contribution]:
    return sorted(
        contributions, key=lambda c: (c.opens_on is None, c.opens_on or date.max, fold(c.title))
    )


def _contribution(row: ContributionRow) -> Contribution:
    return Contribution(
        row.key,
        row.title,
        row.eligible,
        row.opens_on,
        row.closes_on,
        row.expected,
        row.link,
        tuple(row.keywords),
    )


# -- file --------------------------------------------------------------------------------


def read_contributions(path: Path) -> list[Contribution]:
    """Contributions from YAML: the list ``calls`` (the office's file format), each with title, optional key (default from the title),
    eligible, opens_on, closes_on, expected, link, keywords.

    A contribution needs ``opens_on`` or, while the date is unknown, ``expected``. Raises
    :class:`~urp.core.data_files.DataFileError` listing every problem with its line.
    """
    return read_keyed_list(
        path,
        "calls",
        _read_contribution,
        lambda key, line: f"bando «{key}» già definito alla riga {line}",
    )


def _read_contribution(entry: Located, problems: Problems) -> Contribution | None:
    title = text_value(entry, "title", problems)
    key = text_value(entry, "key", problems, required=False)
    eligible = text_value(entry, "eligible", problems)
    opens_on = day_value(entry, "opens_on", problems, required=False)
    closes_on = day_value(entry, "closes_on", problems, required=False)
    expected = text_value(entry, "expected", problems, required=False)
    link = link_value(entry, "link", problems)
    keywords = words_value(entry, "keywords", problems)
    if entry.get("opens_on") in (None, "") and expected is None:
        problems.add(
            entry.line,
            "indica «opens_on» oppure, se la data non è ancora nota, «expected» (es. «a gennaio»)",
        )
        return None
    if opens_on and closes_on and closes_on < opens_on:
        problems.add(entry.line_of("closes_on"), "«closes_on» precede «opens_on»")
        return None
    if title is None or eligible is None or link is None:
        return None
    key = slug(key or title)[:100]
    if not key:
        problems.add(entry.line, "la chiave del bando deve contenere lettere o cifre")
        return None
    return Contribution(key, title, eligible, opens_on, closes_on, expected, link, keywords)
