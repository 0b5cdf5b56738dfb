"""Operators working together on a chat: assigning, transferring, internal notes, the trail.

- **assign**: any operator gives a pending chat to a colleague (as if the colleague had
  claimed it: one ``UPDATE ... WHERE status = 'pending'``, so a claim at the same moment
  wins or loses cleanly);
- **transfer**: whoever holds a chat (or an admin) passes it on to a colleague, with an
  optional message for them;
- **notes**: what operators write for each other on a chat, never sent to the citizen,
  kept with the handoff (a transfer's message is a note addressed to the colleague);
- **the trail**: who did what to a chat and when, read from the audit log
  (``audit_events.handoff_id``), where every step of the console is written anyway.

The citizen is told nothing here: the chat's Rasa side (pausing the bot when a pending
chat is assigned) is :meth:`urp.handoff.chat.HandoffChat.assign`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.models import ASSIGNED, OPEN_STATUSES, PENDING, AuditEvent
from urp.core.models import Handoff as HandoffRow
from urp.core.models import HandoffNote as NoteRow
from urp.core.models import Operator as OperatorRow
from urp.handoff.operators import Operator, normalize_username
from urp.handoff.records import (
    ASSIGN_ACTION,
    NOTE_ACTION,
    TRANSFER_ACTION,
    Handoff,
    HandoffStateError,
    UnknownHandoffError,
    audit,
    handoff_of,
    may_resolve,
)

MAX_NOTE_LENGTH = 2000
# Who may hold a chat: the same roles as the console's chat pages.
HOLDER_ROLES = ("operator", "admin")


@dataclass(frozen=True)
class Note:
    id: int
    handoff_id: int
    at: datetime
    author: str  # username
    addressee: str | None  # username: a transfer's message to the colleague
    text: str


@dataclass(frozen=True)
class TrailEntry:
    """One step of a chat's audit trail: ``actor`` is a username, «cittadino» or «sistema»."""

    at: datetime
    actor: str
    action: str  # "handoff_claim", "handoff_reply", ... (urp.handoff.records)
    detail: str


class Teamwork:
    """Assignments, transfers, notes and trails of the handoffs of one database."""

    def __init__(self, database: Database, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock

    def assign(
        self, handoff_id: int, by: Operator, colleague: str, note: str | None = None
    ) -> tuple[Handoff, bool]:
        """Give the chat to ``colleague``: a pending one (any operator may), or a held one
        (its holder or an admin: a transfer). Returns the handoff and whether it was
        pending (then the bot must be paused). ``note`` goes to the colleague."""
        note = _note_text(note) if note and note.strip() else None
        now = self._clock()
        with self._db.transaction(write=True) as session:
            _require_active(session, by)
            target = _holder(session, colleague)
            row = session.execute(
                select(HandoffRow).where(HandoffRow.id == handoff_id).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise UnknownHandoffError(
                    f"nessuna conversazione passata all'URP ha id {handoff_id}"
                )
            if row.status not in OPEN_STATUSES:
                raise HandoffStateError(f"la conversazione {handoff_id} è già stata chiusa")
            if row.operator_id == target.id:
                raise HandoffStateError(
                    f"la conversazione {handoff_id} è già affidata a {target.display_name}"
                )
            was_pending = row.status == PENDING
            if was_pending:
                query = update(HandoffRow).where(
                    HandoffRow.id == handoff_id, HandoffRow.status == PENDING
                )
                values = {"assigned_at": now}
                action, detail = ASSIGN_ACTION, f"a {target.username}"
            else:
                if not may_resolve(handoff_of(session, row), by):
                    raise HandoffStateError(
                        f"la conversazione {handoff_id} è assegnata a un altro operatore"
                    )
                holder = session.get(OperatorRow, row.operator_id)
                query = update(HandoffRow).where(
                    HandoffRow.id == handoff_id,
                    HandoffRow.status == ASSIGNED,
                    HandoffRow.operator_id == row.operator_id,
                )
                values = {}
                action, detail = TRANSFER_ACTION, f"da {holder.username} a {target.username}"
            changed = session.execute(
                query.values(
                    status=ASSIGNED, operator_id=target.id, last_activity_at=now, **values
                ).execution_options(synchronize_session=False)
            ).rowcount
            if not changed:  # a safeguard: the row is locked, or writers take turns
                raise HandoffStateError(f"la conversazione {handoff_id} è cambiata, riprova")
            audit(session, by.username, action, handoff_id, now, detail)
            if note:
                self._add_note(session, handoff_id, by, note, now, target.id)
            session.expire(row)
            return handoff_of(session, row), was_pending

    def add_note(self, handoff_id: int, by: Operator, text: str) -> Note:
        """An internal note on the chat (open or closed), for the operators only."""
        text = _note_text(text)
        now = self._clock()
        with self._db.transaction(write=True) as session:
            _require_active(session, by)
            if session.get(HandoffRow, handoff_id) is None:
                raise UnknownHandoffError(
                    f"nessuna conversazione passata all'URP ha id {handoff_id}"
                )
            return self._add_note(session, handoff_id, by, text, now, None)

    def notes(self, handoff_id: int, after_id: int = 0) -> list[Note]:
        """The chat's notes, oldest first; with ``after_id`` only the later ones."""
        author, addressee = aliased(OperatorRow), aliased(OperatorRow)
        with self._db.transaction() as session:
            rows = session.execute(
                select(NoteRow, author.username, addressee.username)
                .join(author, NoteRow.operator_id == author.id)
                .outerjoin(addressee, NoteRow.addressee_id == addressee.id)
                .where(NoteRow.handoff_id == handoff_id, NoteRow.id > after_id)
                .order_by(NoteRow.at, NoteRow.id)
            ).all()
            return [Note(row.id, row.handoff_id, row.at, by, to, row.text) for row, by, to in rows]

    def trail(self, handoff_id: int) -> list[TrailEntry]:
        """Who did what to the chat and when, oldest first (the audit log's rows)."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(AuditEvent)
                .where(AuditEvent.handoff_id == handoff_id)
                .order_by(AuditEvent.at, AuditEvent.id)
            ).scalars()
            return [TrailEntry(r.at, r.operator, r.action, r.detail) for r in rows]

    def colleagues(self) -> list[Operator]:
        """Who may be given a chat: the active operators and admins, by name."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(OperatorRow)
                .where(OperatorRow.active.is_(True), OperatorRow.role.in_(HOLDER_ROLES))
                .order_by(OperatorRow.display_name, OperatorRow.username)
            ).scalars()
            return [
                Operator(
                    r.id,
                    r.username,
                    r.display_name,
                    r.role,
                    r.active,
                    r.created_at,
                    r.last_login_at,
                    bool(r.can_publish),
                )
                for r in rows
            ]

    @staticmethod
    def _add_note(
        session: Session,
        handoff_id: int,
        by: Operator,
        text: str,
        now: datetime,
        addressee_id: int | None,
    ) -> Note:
        row = NoteRow(
            handoff_id=handoff_id,
            at=now,
            operator_id=by.id,
            addressee_id=addressee_id,
            text=text,
        )
        session.add(row)
        session.flush()
        # The audit says that a note was written, never its words.
        audit(session, by.username, NOTE_ACTION, handoff_id, now, f"nota {row.id}")
        addressee = session.get(OperatorRow, addressee_id) if addressee_id else None
        return Note(
            row.id, handoff_id, now, by.username, addressee.username if addressee else None, text
        )


def _note_text(text: str | None) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise HandoffStateError("scrivi il testo della nota")
    if len(text) > MAX_NOTE_LENGTH:
        raise HandoffStateError(f"la nota supera i {MAX_NOTE_LENGTH} caratteri")
    return text


def _require_active(session: Session, operator: Operator) -> None:
    active = session.execute(
        select(OperatorRow.active).where(OperatorRow.id == operator.id)
    ).scalar_one_or_none()
    if not active or operator.role not in HOLDER_ROLES:
        raise HandoffStateError(f"l'operatore {operator.username} non è attivo")


def _holder(session: Session, username: str) -> OperatorRow:
    row = session.execute(
        select(OperatorRow).where(OperatorRow.username == normalize_username(username))
    ).scalar_one_or_none()
    if row is None or not row.active or row.role not in HOLDER_ROLES:
        raise HandoffStateError(
            f"{username!r} non è un operatore attivo a cui affidare una conversazione"
        )
    return row
