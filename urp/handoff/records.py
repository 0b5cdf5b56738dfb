"""A handoff and its messages as values, and the row operations both the queue's sides
and its sweep share: closing, releasing, the audit."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from urp.core.errors import OperatorError
from urp.core.models import ASSIGNED, MESSAGE_AUTHORS, OPEN_STATUSES, PENDING, RESOLVED, AuditEvent
from urp.core.models import Handoff as HandoffRow
from urp.core.models import HandoffMessage as MessageRow
from urp.core.models import Operator as OperatorRow
from urp.handoff.operators import Operator

logger = logging.getLogger(__name__)

CLAIM_ACTION = "handoff_claim"
REPLY_ACTION = "handoff_reply"
RESOLVE_ACTION = "handoff_resolve"
RELEASE_ACTION = "handoff_release"
ASSIGN_ACTION = "handoff_assign"  # a pending chat given to a colleague
TRANSFER_ACTION = "handoff_transfer"  # a held chat passed on to a colleague
NOTE_ACTION = "handoff_note"
OPERATOR = "operator"
# Who closed a handoff when no operator did: the audit's "operator" column.
CITIZEN_ACTOR = "cittadino"
SWEEP_ACTOR = "sistema"


class UnknownHandoffError(OperatorError, LookupError):
    """No handoff has that id."""


class HandoffStateError(OperatorError, ValueError):
    """The handoff is not in a state that allows this (resolved, or held by someone else)."""


@dataclass(frozen=True)
class Handoff:
    id: int
    # The phone number on WhatsApp: kept out of repr so that it never reaches a log line.
    conversation_id: str = field(repr=False)
    channel: str
    status: str  # "pending", "assigned", "resolved"
    reason: str
    out_of_hours: bool
    operator: str | None  # username of who holds (or resolved) it
    created_at: datetime
    assigned_at: datetime | None
    resolved_at: datetime | None
    last_activity_at: datetime
    reminded_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class QueuedHandoff:
    handoff: Handoff
    waiting: timedelta  # from the request to the claim, or to now while pending
    last_message: str | None = None  # the citizen's last words, as written (mask to show)


@dataclass(frozen=True)
class Message:
    id: int
    handoff_id: int
    at: datetime
    author: str  # "citizen", "bot", "operator"
    operator: str | None  # username, for the operator's messages
    text: str | None
    media_url: str | None
    latitude: float | None
    longitude: float | None
    delivered: bool  # an operator's reply reached the citizen (on the web: their widget has it)
    # Sent to a web citizen who is not connected: kept until their widget confirms it.
    awaiting_citizen: bool = False


def may_resolve(handoff: Handoff, operator: Operator) -> bool:
    """Whether ``operator`` may close or release it: not a chat another operator holds."""
    return (
        handoff.status != ASSIGNED
        or handoff.operator == operator.username
        or operator.role == "admin"
    )


def check_author(author: str) -> None:
    if author not in MESSAGE_AUTHORS:
        raise ValueError(f"unknown message author: {author}")


def message_of(row: MessageRow, username: str | None) -> Message:
    return Message(
        row.id,
        row.handoff_id,
        row.at,
        row.author,
        username,
        row.text,
        row.media_url,
        row.latitude,
        row.longitude,
        row.delivered,
    )


def handoff_of(session: Session, row: HandoffRow) -> Handoff:
    """The row as the value the bot, the console and the command line get."""
    username = None
    if row.operator_id is not None:
        username = session.execute(
            select(OperatorRow.username).where(OperatorRow.id == row.operator_id)
        ).scalar_one()
    return Handoff(
        row.id,
        row.conversation_id,
        row.channel,
        row.status,
        row.reason,
        row.out_of_hours,
        username,
        row.created_at,
        row.assigned_at,
        row.resolved_at,
        row.last_activity_at,
        row.reminded_at,
    )


def close(row: HandoffRow, now: datetime) -> None:
    """Resolve the row: the chat goes back to the bot."""
    row.status = RESOLVED
    row.resolved_at = now
    row.last_activity_at = now


def release(
    session: Session,
    handoff_id: int,
    now: datetime,
    *,
    idle_since: datetime | None = None,
) -> bool:
    """Put an assigned handoff back in the queue; False if it was not assigned, or if
    someone wrote in it after ``idle_since`` (the sweep's condition)."""
    query = update(HandoffRow).where(HandoffRow.id == handoff_id, HandoffRow.status == ASSIGNED)
    if idle_since is not None:  # the sweep: only if nobody wrote in the meantime
        query = query.where(HandoffRow.last_activity_at <= idle_since)
    released = session.execute(
        query.values(status=PENDING, operator_id=None, assigned_at=None, last_activity_at=now)
    ).rowcount
    if released:
        logger.info("handoff %s released to the queue", handoff_id)
    return bool(released)


def audit(
    session: Session,
    actor: str,
    action: str,
    handoff_id: int,
    at: datetime,
    extra: str = "",
) -> None:
    """Who did what to which handoff, and when: never the words, never the number."""
    detail = f"conversazione {handoff_id}" + (f", {extra}" if extra else "")
    session.add(
        AuditEvent(at=at, operator=actor, action=action, detail=detail, handoff_id=handoff_id)
    )
