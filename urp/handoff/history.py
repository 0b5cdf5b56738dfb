"""Every handoff, open and closed, searched and filtered for the console's «Storico».

The filters narrow by the indexed columns first (the day of the request on
``handoffs.created_at``, the state, the channel, the operator on ``handoffs.operator_id``
and ``audit_events``), and the words are looked for only in the messages and notes of the
chats left, each chat's rows found by their ``handoff_id`` index. A page is one query for
the rows and one for the count, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from urp.core.db import Database
from urp.core.models import AuditEvent, HandoffNote
from urp.core.models import Handoff as HandoffRow
from urp.core.models import HandoffMessage as MessageRow
from urp.core.models import Operator as OperatorRow
from urp.handoff.records import CLAIM_ACTION, REPLY_ACTION, Handoff, handoff_of

PER_PAGE = 20
MAX_WORDS_LENGTH = 200


@dataclass(frozen=True)
class HistoryQuery:
    """What the operator looks for; every field may be left empty.

    ``words`` match the text of the messages and of the notes (case-insensitive), or the
    chat's number; ``reasons`` are the handoff reasons whose label matched the words (the
    console knows the labels). ``since`` and ``until`` are days, both included, in the
    municipality's time zone. ``operator`` is a username: the chats they held, claimed or
    answered."""

    words: str = ""
    reasons: Sequence[str] = ()
    since: date | None = None
    until: date | None = None
    statuses: Sequence[str] = ()
    channels: Sequence[str] = ()
    operator: str | None = None
    page: int = 1


@dataclass(frozen=True)
class HistoryPage:
    handoffs: list[Handoff] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1


class HandoffHistory:
    """Search of all the handoffs of one database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def search(
        self, query: HistoryQuery, timezone: tzinfo, *, per_page: int = PER_PAGE
    ) -> HistoryPage:
        """The page ``query.page`` (from 1) of the matching handoffs, newest first."""
        with self._db.transaction() as session:
            conditions = _conditions(session, query, timezone)
            if conditions is None:
                return HistoryPage(page=1)
            total = session.execute(
                select(func.count()).select_from(HandoffRow).where(*conditions)
            ).scalar_one()
            pages = max(1, -(-total // per_page))
            page = min(max(1, query.page), pages)
            rows = session.execute(
                select(HandoffRow)
                .where(*conditions)
                .order_by(HandoffRow.created_at.desc(), HandoffRow.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).scalars()
            return HistoryPage([handoff_of(session, row) for row in rows], total, page, pages)


def _conditions(session: Session, query: HistoryQuery, timezone: tzinfo) -> list | None:
    """The WHERE clauses; None when nothing can match (an unknown operator)."""
    conditions: list = []
    if query.since is not None:
        conditions.append(HandoffRow.created_at >= _start_of(query.since, timezone))
    if query.until is not None:
        conditions.append(
            HandoffRow.created_at < _start_of(query.until + timedelta(days=1), timezone)
        )
    if query.statuses:
        conditions.append(HandoffRow.status.in_(list(query.statuses)))
    if query.channels:
        conditions.append(HandoffRow.channel.in_(list(query.channels)))
    if query.operator:
        operator_id = session.execute(
            select(OperatorRow.id).where(OperatorRow.username == query.operator)
        ).scalar_one_or_none()
        if operator_id is None:
            return None
        took_part = exists().where(
            AuditEvent.handoff_id == HandoffRow.id,
            AuditEvent.operator == query.operator,
            AuditEvent.action.in_((CLAIM_ACTION, REPLY_ACTION)),
        )
        conditions.append(or_(HandoffRow.operator_id == operator_id, took_part))
    words = " ".join(query.words.split())[:MAX_WORDS_LENGTH]
    if words:
        pattern = "%" + _escape_like(words.lower()) + "%"
        matches = [
            exists().where(
                MessageRow.handoff_id == HandoffRow.id,
                func.lower(MessageRow.text).like(pattern, escape="\\"),
            ),
            exists().where(
                HandoffNote.handoff_id == HandoffRow.id,
                func.lower(HandoffNote.text).like(pattern, escape="\\"),
            ),
        ]
        if query.reasons:
            matches.append(HandoffRow.reason.in_(list(query.reasons)))
        number = words.lower().removeprefix("n.").strip()
        if number.isdigit() and len(number) < 10:
            matches.append(HandoffRow.id == int(number))
        conditions.append(or_(*matches))
    return conditions


def _start_of(day: date, timezone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
