"""Quick replies: ready answers the office keeps for its operators.

The office writes them in a YAML file (``risposte-rapide.yml``), in the order the console
shows them; loading the file makes the store match it: new titles are added, changed
texts updated, titles no longer in the file removed. An admin or operator can also add,
change, reorder and delete them one by one in the console («Risposte rapide»).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from urp.core.data_files import Located, Problems, read_keyed_list, text_value
from urp.core.db import Database
from urp.core.errors import OperatorError
from urp.core.models import QuickReply as QuickReplyRow

TITLE_LENGTH = 100
# WhatsApp takes 4096 characters; a quick reply is meant to be short.
TEXT_LENGTH = 1000


class QuickReplyError(OperatorError, ValueError):
    """A quick reply that cannot be saved: the message says why, in Italian."""


class UnknownQuickReplyError(OperatorError, LookupError):
    """No quick reply has that id (deleted meanwhile)."""


@dataclass(frozen=True)
class QuickReply:
    title: str  # what the operator picks: "Piattaforma segnalazioni"
    text: str  # what the citizen receives
    id: int | None = field(default=None, compare=False)  # in the store; None in a file

    @property
    def key(self) -> str:
        return self.title


@dataclass(frozen=True)
class QuickReplyLoad:
    created: int
    updated: int
    unchanged: int
    removed: int


def read_quick_replies(path: Path) -> list[QuickReply]:
    """The ``quick_replies`` list of a YAML file, every problem reported with its line."""

    def read_item(entry: Located, problems: Problems) -> QuickReply | None:
        title = text_value(entry, "title", problems, max_length=TITLE_LENGTH)
        text = text_value(entry, "text", problems, max_length=TEXT_LENGTH)
        return QuickReply(title, text) if title and text else None

    return read_keyed_list(
        path,
        "quick_replies",
        read_item,
        lambda title, line: f"la risposta «{title}» è già alla riga {line}",
    )


class QuickReplyService:
    def __init__(self, database: Database) -> None:
        self._db = database

    def load(self, replies: Sequence[QuickReply]) -> QuickReplyLoad:
        """Make the store hold exactly ``replies``, in this order."""
        created = updated = unchanged = 0
        titles = [reply.title for reply in replies]
        with self._db.transaction(write=True) as session:
            removed = session.execute(
                delete(QuickReplyRow).where(QuickReplyRow.title.not_in(titles))
            ).rowcount
            rows = {row.title: row for row in session.execute(select(QuickReplyRow)).scalars()}
            for position, reply in enumerate(replies, start=1):
                row = rows.get(reply.title)
                if row is None:
                    session.add(
                        QuickReplyRow(title=reply.title, text=reply.text, position=position)
                    )
                    created += 1
                elif (row.text, row.position) != (reply.text, position):
                    row.text, row.position = reply.text, position
                    updated += 1
                else:
                    unchanged += 1
        return QuickReplyLoad(created, updated, unchanged, removed)

    def list(self) -> tuple[QuickReply, ...]:
        """The quick replies in the office's order."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(QuickReplyRow).order_by(QuickReplyRow.position, QuickReplyRow.title)
            ).scalars()
            return tuple(QuickReply(row.title, row.text, row.id) for row in rows)

    def get(self, reply_id: int) -> QuickReply:
        with self._db.transaction() as session:
            row = session.get(QuickReplyRow, reply_id)
            if row is None:
                raise UnknownQuickReplyError(f"nessuna risposta rapida ha id {reply_id}")
            return QuickReply(row.title, row.text, row.id)

    def add(self, title: str, text: str) -> QuickReply:
        """A new quick reply, last in the list."""
        title, text = _checked(title, text)
        with self._db.transaction(write=True) as session:
            _title_free(session, title)
            last = session.execute(select(func.max(QuickReplyRow.position))).scalar() or 0
            row = QuickReplyRow(title=title, text=text, position=last + 1)
            session.add(row)
            session.flush()
            return QuickReply(row.title, row.text, row.id)

    def update(self, reply_id: int, title: str, text: str) -> QuickReply:
        title, text = _checked(title, text)
        with self._db.transaction(write=True) as session:
            row = _row(session, reply_id)
            if title != row.title:
                _title_free(session, title)
            row.title, row.text = title, text
            return QuickReply(row.title, row.text, row.id)

    def delete(self, reply_id: int) -> QuickReply:
        with self._db.transaction(write=True) as session:
            row = _row(session, reply_id)
            removed = QuickReply(row.title, row.text, row.id)
            session.delete(row)
            return removed

    def move(self, reply_id: int, steps: int) -> None:
        """Move a quick reply ``steps`` places (-1: up one), and number them all 1, 2, ..."""
        with self._db.transaction(write=True) as session:
            rows = list(
                session.execute(
                    select(QuickReplyRow).order_by(QuickReplyRow.position, QuickReplyRow.title)
                ).scalars()
            )
            index = next((i for i, row in enumerate(rows) if row.id == reply_id), None)
            if index is None:
                raise UnknownQuickReplyError(f"nessuna risposta rapida ha id {reply_id}")
            moved = rows.pop(index)
            rows.insert(max(0, min(len(rows), index + steps)), moved)
            for position, row in enumerate(rows, start=1):
                row.position = position


def _checked(title: str, text: str) -> tuple[str, str]:
    title, text = title.strip(), text.strip()
    if not title or len(title) > TITLE_LENGTH:
        raise QuickReplyError(f"il titolo deve avere da 1 a {TITLE_LENGTH} caratteri")
    if not text or len(text) > TEXT_LENGTH:
        raise QuickReplyError(f"il testo deve avere da 1 a {TEXT_LENGTH} caratteri")
    return title, text


def _title_free(session: Session, title: str) -> None:
    taken = session.execute(
        select(QuickReplyRow.id).where(QuickReplyRow.title == title)
    ).scalar_one_or_none()
    if taken is not None:
        raise QuickReplyError(f"esiste già una risposta rapida «{title}»")


def _row(session: Session, reply_id: int) -> QuickReplyRow:
    row = session.get(QuickReplyRow, reply_id)
    if row is None:
        raise UnknownQuickReplyError(f"nessuna risposta rapida ha id {reply_id}")
    return row
