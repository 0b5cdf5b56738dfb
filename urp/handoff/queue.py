"""Conversations handed over to the office: the queue, claiming, replies, resolution.

A handoff is pending (waiting for an operator), assigned (an operator holds the chat) or
resolved. All the state lives in the database, so any replica of the bot and any console
instance see the same queue, and races are settled there:

- a conversation has at most one open handoff (a partial unique index); opening is
  ``INSERT ... ON CONFLICT DO NOTHING`` and then a read, so two replicas handing over the
  same chat at once end in one handoff;
- claiming is one ``UPDATE ... WHERE status = 'pending'``: of two operators clicking
  together, exactly one gets the chat.

The conversation id is Rasa's sender id, the phone number on WhatsApp: it is never logged,
never in an audit row and not in a handoff's ``repr``. Audit rows say who answered which
handoff and when, never the words.

Beside it: the values and shared row operations (:mod:`urp.handoff.records`), the
timeouts (:mod:`urp.handoff.sweep`), the daily figures (:mod:`urp.handoff.stats`) and the
transcript handed over by the bot (:mod:`urp.handoff.transcript`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.data_files import is_web_link
from urp.core.db import Database
from urp.core.models import ASSIGNED, HANDOFF_REASONS, OPEN_STATUSES, PENDING
from urp.core.models import Handoff as HandoffRow
from urp.core.models import HandoffMessage as MessageRow
from urp.core.models import Operator as OperatorRow
from urp.core.settings import IDLE_ACTIONS, Settings
from urp.handoff.history import HandoffHistory
from urp.handoff.operators import Operator
from urp.handoff.records import (
    CITIZEN_ACTOR,
    CLAIM_ACTION,
    OPERATOR,
    RELEASE_ACTION,
    REPLY_ACTION,
    RESOLVE_ACTION,
    Handoff,
    HandoffStateError,
    Message,
    QueuedHandoff,
    UnknownHandoffError,
    audit,
    check_author,
    close,
    handoff_of,
    may_resolve,
    message_of,
    release,
)
from urp.handoff.stats import DayStats, day_stats
from urp.handoff.sweep import SweepResult, sweep
from urp.handoff.teamwork import Teamwork
from urp.handoff.transcript import TranscriptLine
from urp.information.opening_hours import OpeningCalendar

logger = logging.getLogger(__name__)

OPEN_ATTEMPTS = 3


class HandoffService:
    """The handoffs of one database, with the URP's service hours."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        remind_after: timedelta | None = None,
        release_after: timedelta | None = None,
        idle_action: str | None = None,
    ) -> None:
        self._db = database
        self._calendar = OpeningCalendar.for_service(settings)
        self._clock = clock
        timing = settings.handoff
        self._remind_after = remind_after or timing.remind_after
        self._release_after = release_after or timing.release_after
        self._idle_action = idle_action or timing.idle_action
        if self._idle_action not in IDLE_ACTIONS:
            raise ValueError(f"unknown idle action: {self._idle_action}")
        # Operators working together (assign, transfer, notes, trail) and the history.
        self.teamwork = Teamwork(database, clock=clock)
        self.history = HandoffHistory(database)

    # -- the bot's side ------------------------------------------------------------------

    def open(
        self,
        conversation_id: str,
        channel: str,
        reason: str,
        transcript: Sequence[TranscriptLine] = (),
    ) -> tuple[Handoff, bool]:
        """The conversation's open handoff, created with ``transcript`` if there was none.

        Returns the handoff and whether this call created it; an existing open handoff is
        returned as it is (the transcript is then not added again).
        """
        if not 1 <= len(conversation_id) <= 128 or not 1 <= len(channel) <= 32:
            raise ValueError("conversation id and channel must be 1-128 and 1-32 characters")
        if reason not in HANDOFF_REASONS:
            raise ValueError(f"unknown handoff reason: {reason}")
        for author, _, at in transcript:
            check_author(author)
            if at.tzinfo is None:
                raise ValueError("transcript times must be timezone-aware")
        now = self._clock()
        insert = (
            self._db.upsert_insert(HandoffRow)
            .values(
                conversation_id=conversation_id,
                channel=channel,
                status=PENDING,
                reason=reason,
                out_of_hours=not self._calendar.is_open(now),
                created_at=now,
                last_activity_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[HandoffRow.conversation_id],
                index_where=HandoffRow.status.in_(OPEN_STATUSES),
            )
        )
        with self._db.transaction(write=True) as session:
            for _ in range(OPEN_ATTEMPTS):
                created = session.execute(insert).rowcount == 1
                row = self._open_row(session, conversation_id)
                if row is not None:
                    break
                # PostgreSQL, read committed: the handoff we collided with was resolved
                # before our read. The next insert finds the place free.
            else:
                raise HandoffStateError("la conversazione è stata chiusa e riaperta più volte")
            if created:
                session.add_all(
                    MessageRow(handoff_id=row.id, at=at, author=author, text=text, delivered=True)
                    for author, text, at in transcript
                )
                logger.info("handoff %s opened (%s, %s)", row.id, channel, reason)
            return handoff_of(session, row), created

    def for_conversation(self, conversation_id: str) -> Handoff | None:
        """The conversation's open handoff: while assigned, the bot stays silent."""
        with self._db.transaction() as session:
            row = self._open_row(session, conversation_id)
            return handoff_of(session, row) if row else None

    def open_conversations(self, conversation_ids: Collection[str]) -> set[str]:
        """Which of these conversations have an open handoff: one query for them all."""
        if not conversation_ids:
            return set()
        with self._db.transaction() as session:
            return set(
                session.execute(
                    select(HandoffRow.conversation_id).where(
                        HandoffRow.conversation_id.in_(list(conversation_ids)),
                        HandoffRow.status.in_(OPEN_STATUSES),
                    )
                ).scalars()
            )

    def add_message(
        self,
        handoff_id: int,
        author: str,
        text: str | None,
        operator: Operator | None = None,
        media_url: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> Message:
        """Append a message to an open handoff's transcript (citizen and bot: delivered)."""
        with self._db.transaction(write=True) as session:
            row = self._locked_open(session, handoff_id)
            return self._append(
                session, row, author, text, operator, media_url, latitude, longitude
            )

    def mark_delivered(self, message_id: int) -> None:
        """The channel confirmed that an operator's reply reached the citizen."""
        with self._db.transaction(write=True) as session:
            session.execute(
                update(MessageRow).where(MessageRow.id == message_id).values(delivered=True)
            )

    # -- the console's side ----------------------------------------------------------------

    def queue(self) -> list[QueuedHandoff]:
        """Open handoffs: at opening those queued while closed first, then oldest first;
        each with the citizen's last written message."""
        now = self._clock()
        service_open = self._calendar.is_open(now)
        with self._db.transaction() as session:
            rows = session.execute(
                select(HandoffRow).where(HandoffRow.status.in_(OPEN_STATUSES))
            ).scalars()
            handoffs = [handoff_of(session, row) for row in rows]
            last = self._last_citizen_messages(session, [h.id for h in handoffs])

        def order(handoff: Handoff) -> tuple[bool, datetime, int]:
            first = service_open and handoff.out_of_hours and handoff.status == PENDING
            return (not first, handoff.created_at, handoff.id)

        return [
            QueuedHandoff(h, (h.assigned_at or now) - h.created_at, last.get(h.id))
            for h in sorted(handoffs, key=order)
        ]

    def get(self, handoff_id: int) -> Handoff | None:
        with self._db.transaction() as session:
            row = session.get(HandoffRow, handoff_id)
            return handoff_of(session, row) if row else None

    def messages(self, handoff_id: int, after_id: int = 0) -> list[Message]:
        """The transcript, oldest first; with ``after_id``, only the messages after that one."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(MessageRow, OperatorRow.username)
                .outerjoin(OperatorRow, MessageRow.operator_id == OperatorRow.id)
                .where(MessageRow.handoff_id == handoff_id, MessageRow.id > after_id)
                .order_by(MessageRow.at, MessageRow.id)
            ).all()
            return [message_of(row, username) for row, username in rows]

    def undelivered(self, since: datetime) -> list[Message]:
        """Operators' replies since ``since`` that did not reach the citizen of a chat still
        held, oldest first."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(MessageRow, OperatorRow.username)
                .join(HandoffRow, MessageRow.handoff_id == HandoffRow.id)
                .outerjoin(OperatorRow, MessageRow.operator_id == OperatorRow.id)
                .where(
                    MessageRow.author == OPERATOR,
                    MessageRow.delivered.is_(False),
                    MessageRow.at >= since,
                    HandoffRow.status == ASSIGNED,
                )
                .order_by(MessageRow.at, MessageRow.id)
            ).all()
            return [message_of(row, username) for row, username in rows]

    def message(self, message_id: int) -> Message | None:
        with self._db.transaction() as session:
            row = session.execute(
                select(MessageRow, OperatorRow.username)
                .outerjoin(OperatorRow, MessageRow.operator_id == OperatorRow.id)
                .where(MessageRow.id == message_id)
            ).one_or_none()
            return message_of(*row) if row else None

    def claim(self, handoff_id: int, operator: Operator) -> bool:
        """Take a pending handoff; False if it was no longer pending (someone got there first)."""
        now = self._clock()
        with self._db.transaction(write=True) as session:
            self._require_active(session, operator)
            claimed = session.execute(
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id, HandoffRow.status == PENDING)
                .values(
                    status=ASSIGNED, operator_id=operator.id, assigned_at=now, last_activity_at=now
                )
            ).rowcount
            if not claimed:
                if session.get(HandoffRow, handoff_id) is None:
                    raise UnknownHandoffError(
                        f"nessuna conversazione passata all'URP ha id {handoff_id}"
                    )
                return False
            audit(session, operator.username, CLAIM_ACTION, handoff_id, now)
            return True

    def operator_reply(self, handoff_id: int, operator: Operator, text: str) -> Message:
        """The assigned operator's answer, to be sent to the citizen (not delivered yet)."""
        if not text.strip():
            raise ValueError("an operator's reply needs some text")
        with self._db.transaction(write=True) as session:
            self._require_active(session, operator)
            row = self._locked_open(session, handoff_id)
            if row.status != ASSIGNED or row.operator_id != operator.id:
                raise HandoffStateError(
                    f"la conversazione {handoff_id} non è assegnata a {operator.username}"
                )
            message = self._append(session, row, OPERATOR, text, operator, None, None, None)
            # Who answered which handoff and when: the words stay in the transcript only.
            audit(
                session,
                operator.username,
                REPLY_ACTION,
                handoff_id,
                message.at,
                f"messaggio {message.id}",
            )
            return message

    def resolve(self, handoff_id: int, operator: Operator) -> Handoff:
        """Close a handoff: the chat goes back to the bot. Only its holder (or an admin)."""
        now = self._clock()
        with self._db.transaction(write=True) as session:
            self._require_active(session, operator)
            row = self._locked_open(session, handoff_id)
            if not may_resolve(handoff_of(session, row), operator):
                raise HandoffStateError(
                    f"la conversazione {handoff_id} è assegnata a un altro operatore"
                )
            if row.operator_id is None:
                row.operator_id = operator.id
            close(row, now)
            audit(session, operator.username, RESOLVE_ACTION, handoff_id, now)
            logger.info("handoff %s resolved", handoff_id)
            return handoff_of(session, row)

    def release(self, handoff_id: int, operator: Operator | None = None) -> bool:
        """Put an assigned handoff back in the queue; False if it was not assigned.

        With ``operator``, only its holder (or an admin) may, and the audit says who.
        """
        now = self._clock()
        with self._db.transaction(write=True) as session:
            if operator is not None:
                self._require_active(session, operator)
                row = self._locked_open(session, handoff_id)
                if not may_resolve(handoff_of(session, row), operator):
                    raise HandoffStateError(
                        f"la conversazione {handoff_id} è assegnata a un altro operatore"
                    )
            released = release(session, handoff_id, now)
            if released and operator is not None:
                audit(session, operator.username, RELEASE_ACTION, handoff_id, now)
            return released

    def close_by_citizen(self, handoff_id: int) -> Handoff | None:
        """The citizen went back to the bot ("torna al bot"): None if already closed."""
        now = self._clock()
        with self._db.transaction(write=True) as session:
            try:
                row = self._locked_open(session, handoff_id)
            except HandoffStateError:
                return None
            close(row, now)
            audit(session, CITIZEN_ACTOR, RESOLVE_ACTION, handoff_id, now)
            logger.info("handoff %s closed by the citizen", handoff_id)
            return handoff_of(session, row)

    # -- timeouts and statistics -----------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def idle(self, now: datetime) -> list[Handoff]:
        """Assigned handoffs nobody wrote in for longer than ``release_after``."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(HandoffRow).where(
                    HandoffRow.status == ASSIGNED,
                    HandoffRow.last_activity_at <= now - self._release_after,
                )
            ).scalars()
            return [handoff_of(session, row) for row in rows]

    def sweep(self, now: datetime | None = None, keep: Collection[int] = ()) -> SweepResult:
        """Reminders to send and idle chats to release (:func:`urp.handoff.sweep.sweep`)."""
        with self._db.transaction(write=True) as session:
            result = sweep(
                session,
                self._calendar,
                now or self._clock(),
                remind_after=self._remind_after,
                release_after=self._release_after,
                idle_action=self._idle_action,
                keep=keep,
            )
        if result.remind or result.released or result.resolved:
            logger.info(
                "handoff sweep: %d to remind, %d released, %d resolved",
                len(result.remind),
                len(result.released),
                len(result.resolved),
            )
        return result

    def stats(self, timezone: tzinfo) -> list[DayStats]:
        """Per day of request (in ``timezone``): how many, wait and resolution times."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(HandoffRow.created_at, HandoffRow.assigned_at, HandoffRow.resolved_at)
            ).all()
        return day_stats(rows, timezone)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _last_citizen_messages(session: Session, handoff_ids: list[int]) -> dict[int, str]:
        """Handoff id -> the citizen's latest message with words, one query for them all."""
        if not handoff_ids:
            return {}
        latest = (
            select(func.max(MessageRow.id))
            .where(
                MessageRow.handoff_id.in_(handoff_ids),
                MessageRow.author == "citizen",
                MessageRow.text.is_not(None),
            )
            .group_by(MessageRow.handoff_id)
        )
        rows = session.execute(
            select(MessageRow.handoff_id, MessageRow.text).where(MessageRow.id.in_(latest))
        )
        return {handoff_id: text for handoff_id, text in rows}

    def _open_row(self, session: Session, conversation_id: str) -> HandoffRow | None:
        return session.execute(
            select(HandoffRow).where(
                HandoffRow.conversation_id == conversation_id,
                HandoffRow.status.in_(OPEN_STATUSES),
            )
        ).scalar_one_or_none()

    def _locked_open(self, session: Session, handoff_id: int) -> HandoffRow:
        # FOR UPDATE on PostgreSQL: a resolve and a reply at once see each other's outcome
        # (SQLite writers already take turns, and ignore the clause).
        row = session.execute(
            select(HandoffRow).where(HandoffRow.id == handoff_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise UnknownHandoffError(f"nessuna conversazione passata all'URP ha id {handoff_id}")
        if row.status not in OPEN_STATUSES:
            raise HandoffStateError(f"la conversazione {handoff_id} è già stata chiusa")
        return row

    def _append(
        self,
        session: Session,
        row: HandoffRow,
        author: str,
        text: str | None,
        operator: Operator | None,
        media_url: str | None,
        latitude: float | None,
        longitude: float | None,
    ) -> Message:
        check_author(author)
        text = (text or "").strip() or None
        if (author == OPERATOR) != (operator is not None):
            raise ValueError("an operator's message needs the operator, and only it")
        if (latitude is None) != (longitude is None):
            raise ValueError("latitude and longitude go together")
        if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError(f"not a position on Earth: {latitude}, {longitude}")
        if media_url is not None and not is_web_link(media_url):
            raise ValueError("the media must be a web address")
        if text is None and media_url is None and latitude is None:
            raise ValueError("a message needs text, a photo or a position")
        now = self._clock()
        message = MessageRow(
            handoff_id=row.id,
            at=now,
            author=author,
            operator_id=operator.id if operator else None,
            text=text,
            media_url=media_url,
            latitude=latitude,
            longitude=longitude,
            # Citizen and bot messages are already in the chat; a reply still has to go.
            delivered=author != OPERATOR,
        )
        session.add(message)
        row.last_activity_at = now
        session.flush()  # the message id, for the audit row
        return message_of(message, operator.username if operator else None)

    def _require_active(self, session: Session, operator: Operator) -> None:
        # The console may hold an Operator from before the account was disabled.
        active = session.execute(
            select(OperatorRow.active).where(OperatorRow.id == operator.id)
        ).scalar_one_or_none()
        if not active:
            raise HandoffStateError(f"l'operatore {operator.username} non è attivo")
