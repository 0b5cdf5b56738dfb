"""The FAQ in the project's database: import, edit, publish and retire entries, and the
revision every replica polls to rebuild its search index when something changed.

Every change is one transaction. Writers take the FAQ's lock first (SQLite's write lock,
a PostgreSQL advisory lock), so that two imports at once end as one after the other,
never as a mixture of both.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from urp.core.clock import Clock, utc_now
from urp.core.data_files import slug
from urp.core.db import Database
from urp.core.models import FaqEntryRow, FaqMeaning, FaqQuestion
from urp.core.text import fold
from urp.faq.entries import (
    DRAFT,
    ID_PATTERN,
    PUBLISHED,
    RETIRED,
    STATUSES,
    FaqEntry,
    FaqEntryError,
    answer_problems,
    entry_problems,
    questions_problems,
    topic_problem,
)

# pg_advisory_xact_lock's key for FAQ writers ("FAQ" in ASCII).
_ADVISORY_KEY = 0x464151
# A generated id keeps the first words of the question, at most this long before "-2".
_DRAFT_ID_LENGTH = 48
# Question vectors read, written or deleted per statement: IN lists and multi-row inserts
# stay far below SQLite's and PostgreSQL's limits on bound parameters.
MEANINGS_BATCH = 500


@dataclass(frozen=True)
class FaqImport:
    """What an import changed, for the operator."""

    added: int
    replaced: int
    unchanged: int


class FaqService:
    """The office's FAQ entries in the store."""

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock

    # -- writing -----------------------------------------------------------------------------

    def import_entries(self, entries: Sequence[FaqEntry], by: str) -> FaqImport:
        """Add or replace entries by id, in one transaction; an entry equal to the stored
        one is left untouched (its ``updated_at`` too). Entries not given stay as they are.
        """
        problems = []
        seen: set[str] = set()
        for entry in entries:
            problems += [f"{entry.id}: {problem}" for problem in entry_problems(entry)]
            if entry.id in seen:
                problems.append(f"{entry.id}: «id» ripetuto")
            seen.add(entry.id)
        if problems:
            raise FaqEntryError("importazione", problems)
        added = replaced = unchanged = 0
        with self._writing() as session:
            stored = _load(session)  # the whole FAQ: fewer rows than a long IN list
            for entry in entries:
                before = stored.get(entry.id)
                if before is not None and before.same_content(entry):
                    unchanged += 1
                    continue
                self._write(session, entry, by, exists=before is not None)
                if before is None:
                    added += 1
                else:
                    replaced += 1
        return FaqImport(added, replaced, unchanged)

    def save(self, entry: FaqEntry, by: str) -> FaqEntry:
        """Add or replace one entry (the console's form); returns it as stored."""
        problems = entry_problems(entry, draft_answer_length=entry.status == DRAFT)
        if problems:
            raise FaqEntryError(entry.id, problems)
        with self._writing() as session:
            before = _one(session, entry.id)
            if before is not None and before.same_content(entry):
                return before
            self._write(session, entry, by, exists=before is not None)
            return _one(session, entry.id) or entry

    def retire(self, entry_id: str, by: str) -> None:
        """The entry is no longer answered nor listed as published (it is kept)."""
        self._set_status(entry_id, RETIRED, by)

    def publish(self, entry_id: str, by: str) -> None:
        """A draft (or a retired entry) is answered from the next message."""
        self._set_status(entry_id, PUBLISHED, by)

    def add_draft(self, question: str, answer: str, by: str, topic: str | None = None) -> FaqEntry:
        """A draft from an operator's reply to a citizen's (masked) question, with an id
        made from the question and not used yet."""
        question = " ".join(question.split())
        answer = answer.strip()
        topic = " ".join(topic.split()) if topic else None
        problems = questions_problems([question]) + answer_problems(answer, check_length=False)
        if topic is not None and (problem := topic_problem(topic)):
            problems.append(problem)
        if problems:
            raise FaqEntryError("bozza", problems)
        with self._writing() as session:
            draft = FaqEntry(
                _free_id(session, question), (question,), answer, topic=topic, status=DRAFT
            )
            self._write(session, draft, by, exists=False)
            return _one(session, draft.id) or draft

    # -- reading -----------------------------------------------------------------------------

    def entries(self, statuses: Collection[str] = (PUBLISHED,)) -> list[FaqEntry]:
        """The entries in ``statuses``, by topic (entries without one last), then id."""
        _check_statuses(statuses)
        with self._db.transaction() as session:
            found = _load(session, FaqEntryRow.status.in_(list(statuses)))
        return sorted(found.values(), key=lambda e: (e.topic is None, e.topic or "", e.id))

    def get(self, entry_id: str) -> FaqEntry | None:
        with self._db.transaction() as session:
            return _one(session, entry_id)

    def search_text(self, query: str, statuses: Collection[str] = (PUBLISHED,)) -> list[FaqEntry]:
        """Entries whose id, questions, answer, link or topic contain every word of
        ``query`` (case and accents ignored): the console's search box."""
        words = fold(query).split()
        found = []
        for entry in self.entries(statuses):
            haystack = fold(
                " ".join(
                    (entry.id, *entry.questions, entry.answer, entry.link or "", entry.topic or "")
                )
            )
            if all(word in haystack for word in words):
                found.append(entry)
        return found

    def revision(self) -> str:
        """A stamp that changes whenever an entry is added, changed or removed."""
        with self._db.transaction() as session:
            count, versions, last = session.execute(
                select(
                    func.count(FaqEntryRow.id),
                    func.coalesce(func.sum(FaqEntryRow.version), 0),
                    func.max(FaqEntryRow.updated_at),
                )
            ).one()
        return f"{count}:{versions}:{last.isoformat() if last is not None else '-'}"

    # -- the questions' vectors (urp.faq.meanings) --------------------------------------------

    def meanings(self, model: str, hashes: Collection[str]) -> dict[str, bytes]:
        """The stored vectors of ``model`` for these text hashes (those it has)."""
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, bytes] = {}
        with self._db.transaction() as session:
            for start in range(0, len(wanted), MEANINGS_BATCH):
                for key, vector in session.execute(
                    select(FaqMeaning.text_hash, FaqMeaning.vector).where(
                        FaqMeaning.model == model,
                        FaqMeaning.text_hash.in_(wanted[start : start + MEANINGS_BATCH]),
                    )
                ):
                    found[key] = bytes(vector)  # PostgreSQL's driver gives a memoryview
        return found

    def save_meanings(self, model: str, vectors: Mapping[str, bytes]) -> None:
        """Store vectors by text hash; one already stored is kept (two replicas may save
        the same question's vector at once: the same bytes)."""
        rows = [
            {"model": model, "text_hash": key, "vector": value} for key, value in vectors.items()
        ]
        if not rows:
            return
        with self._db.transaction(write=True) as session:
            for start in range(0, len(rows), MEANINGS_BATCH):
                session.execute(
                    self._db.upsert_insert(FaqMeaning.__table__).on_conflict_do_nothing(),
                    rows[start : start + MEANINGS_BATCH],
                )

    def prune_meanings(self, model: str, keep_hashes: Collection[str]) -> int:
        """Delete every vector but ``model``'s for ``keep_hashes`` (other models' too: this
        code reads only ``model``); returns how many were deleted."""
        keep = set(keep_hashes)
        with self._db.transaction(write=True) as session:
            deleted = session.execute(delete(FaqMeaning).where(FaqMeaning.model != model)).rowcount
            stored = session.execute(
                select(FaqMeaning.text_hash).where(FaqMeaning.model == model)
            ).scalars()
            unused = [key for key in stored if key not in keep]
            for start in range(0, len(unused), MEANINGS_BATCH):  # usually one statement
                deleted += session.execute(
                    delete(FaqMeaning).where(
                        FaqMeaning.model == model,
                        FaqMeaning.text_hash.in_(unused[start : start + MEANINGS_BATCH]),
                    )
                ).rowcount
        return deleted

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A write transaction holding the FAQ's lock (see the module's docstring)."""
        with self._db.transaction(write=True) as session:
            if self._db.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
            yield session

    def _set_status(self, entry_id: str, status: str, by: str) -> None:
        with self._writing() as session:
            row = session.get(FaqEntryRow, entry_id)
            if row is None:
                raise FaqEntryError(entry_id, ["la voce non esiste"])
            if row.status == status:
                return
            if status == PUBLISHED:
                entry = _one(session, entry_id)
                problems = entry_problems(replace(entry, status=PUBLISHED)) if entry else []
                if problems:
                    raise FaqEntryError(entry_id, problems)
            row.status = status
            self._touch(row, by)

    def _write(self, session: Session, entry: FaqEntry, by: str, *, exists: bool) -> None:
        now = self._clock()
        if exists:
            row = session.get(FaqEntryRow, entry.id)
            session.execute(FaqQuestion.__table__.delete().where(FaqQuestion.entry_id == entry.id))
        else:
            row = FaqEntryRow(id=entry.id, created_at=now, version=0)
            session.add(row)
        row.answer = entry.answer
        row.link = entry.link
        row.topic = entry.topic
        row.status = entry.status
        self._touch(row, by)
        session.flush()
        session.add_all(
            FaqQuestion(entry_id=entry.id, position=position, text=question)
            for position, question in enumerate(entry.questions, start=1)
        )

    def _touch(self, row: FaqEntryRow, by: str) -> None:
        row.version = (row.version or 0) + 1
        row.updated_at = self._clock()
        row.updated_by = (by or "").strip()[:128] or "sconosciuto"


def _check_statuses(statuses: Collection[str]) -> None:
    unknown = set(statuses) - set(STATUSES)
    if unknown:
        raise ValueError(f"unknown FAQ statuses: {sorted(unknown)}")


def _load(session: Session, *where: ColumnElement[bool]) -> dict[str, FaqEntry]:
    """The entries matching ``where`` (all without it), their questions in order: two
    queries, whatever the number of entries."""
    rows = session.execute(select(FaqEntryRow).where(*where)).scalars()
    by_id = {row.id: row for row in rows}
    questions: dict[str, list[str]] = {entry_id: [] for entry_id in by_id}
    for entry_id, question in session.execute(
        select(FaqQuestion.entry_id, FaqQuestion.text)
        .join(FaqEntryRow, FaqEntryRow.id == FaqQuestion.entry_id)
        .where(*where)
        .order_by(FaqQuestion.entry_id, FaqQuestion.position)
    ):
        if entry_id in questions:  # an entry written between the two reads waits for the next
            questions[entry_id].append(question)
    return {
        entry_id: FaqEntry(
            id=row.id,
            questions=tuple(questions[entry_id]),
            answer=row.answer,
            link=row.link,
            topic=row.topic,
            status=row.status,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
        )
        for entry_id, row in by_id.items()
    }


def _one(session: Session, entry_id: str) -> FaqEntry | None:
    return _load(session, FaqEntryRow.id == entry_id).get(entry_id)


def _free_id(session: Session, question: str) -> str:
    """An id from the question's first words ("come-si-paga-la-tari"), "-2", "-3"... if taken."""
    words = slug(question).split("-")
    base = words[0][:_DRAFT_ID_LENGTH]
    for word in words[1:]:
        if len(base) + 1 + len(word) > _DRAFT_ID_LENGTH:
            break
        base = f"{base}-{word}"
    if not ID_PATTERN.fullmatch(base):
        base = "faq"
    taken = set(
        session.execute(select(FaqEntryRow.id).where(FaqEntryRow.id.like(f"{base}%"))).scalars()
    )
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate
