"""The handoffs' timeouts: reminding citizens who wait, releasing chats left idle.

Run every minute or so by the console (and by ``urp handoff sweep``), possibly by several
processes at once: each reminder and each release is a conditional update, so one
sweeper only handles each handoff.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from urp.core.models import ASSIGNED, PENDING
from urp.core.models import Handoff as HandoffRow
from urp.handoff.records import (
    RESOLVE_ACTION,
    SWEEP_ACTOR,
    Handoff,
    audit,
    close,
    handoff_of,
    release,
)
from urp.information.opening_hours import OpeningCalendar


@dataclass(frozen=True)
class SweepResult:
    remind: tuple[Handoff, ...]  # tell these citizens again that an operator will answer
    released: tuple[Handoff, ...]  # back in the queue: their operator was idle too long
    resolved: tuple[Handoff, ...] = ()  # closed instead, with idle_action "resolve"


def sweep(
    session: Session,
    calendar: OpeningCalendar,
    now: datetime,
    *,
    remind_after: timedelta,
    release_after: timedelta,
    idle_action: str,
    keep: Collection[int] = (),
) -> SweepResult:
    """Reminders to send and idle chats to release, each handled by one sweeper only.

    While the service is open, pending handoffs not reminded yet are reminded once:
    those queued while closed (it is open now), and those waiting longer than
    ``remind_after``. Assigned handoffs idle longer than ``release_after`` go back to
    the queue (or are closed), at any hour, but those in ``keep``.
    """
    remind: list[Handoff] = []
    released: list[Handoff] = []
    resolved: list[Handoff] = []
    if calendar.is_open(now):
        candidates = (
            session.execute(
                select(HandoffRow.id).where(
                    HandoffRow.status == PENDING,
                    HandoffRow.reminded_at.is_(None),
                    or_(
                        HandoffRow.out_of_hours,
                        HandoffRow.created_at <= now - remind_after,
                    ),
                )
            )
            .scalars()
            .all()
        )
        for handoff_id in candidates:
            # Conditional again: of two sweepers, only one reminds each citizen.
            if session.execute(
                update(HandoffRow)
                .where(
                    HandoffRow.id == handoff_id,
                    HandoffRow.status == PENDING,
                    HandoffRow.reminded_at.is_(None),
                )
                .values(reminded_at=now)
            ).rowcount:
                remind.append(handoff_of(session, session.get(HandoffRow, handoff_id)))
    idle = (
        session.execute(
            select(HandoffRow.id).where(
                HandoffRow.status == ASSIGNED,
                HandoffRow.last_activity_at <= now - release_after,
                HandoffRow.id.not_in(list(keep)),
            )
        )
        .scalars()
        .all()
    )
    for handoff_id in idle:
        if not release(session, handoff_id, now, idle_since=now - release_after):
            continue
        row = session.get(HandoffRow, handoff_id)
        if idle_action == "resolve":
            close(row, now)
            audit(session, SWEEP_ACTOR, RESOLVE_ACTION, handoff_id, now, "inattiva")
            resolved.append(handoff_of(session, row))
        else:
            released.append(handoff_of(session, row))
    return SweepResult(tuple(remind), tuple(released), tuple(resolved))
