"""Quick replies: ready answers the office keeps for its operators.

The office writes them in a YAML file (``risposte-rapide.yml``), in the order the console
shows them; loading the file makes the store match it: new titles are added, changed
texts updated, titles no longer in the file removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select

from urp.core.data_files import Located, Problems, read_keyed_list, text_value
from urp.core.db import Database
from urp.core.models import QuickReply as QuickReplyRow

TITLE_LENGTH = 100
# WhatsApp takes 4096 characters; a quick reply is meant to be short.
TEXT_LENGTH = 1000


@dataclass(frozen=True)
class QuickReply:
    title: str  # what the operator picks: "Piattaforma segnalazioni"
    text: str  # what the citizen receives

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
            return tuple(QuickReply(row.title, row.text) for row in rows)
