"""A broadcast's recipients through their states: claimed, sent, confirmed by Meta.

Workers (:mod:`urp.broadcasts.worker`) claim small batches of pending rows, highest
priority first, so that an emergency overtakes a memo being sent within one batch.

**Exactly one message per recipient**, with workers that may be killed or run twice:

1. A claim moves rows from ``pending`` to ``sending`` with a lease, in one transaction
   (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the writer's lock). Only the holder of
   a live lease sends, and it stops sending a row before the lease runs out.
2. Every message carries ``<send_key>:<part>`` as ``biz_opaque_callback_data``, which Meta
   echoes in its statuses: :meth:`BroadcastDelivery.record_status` moves ``parts_sent``
   forward for each part Meta reports, whoever sent it.
3. A request answered with a 5xx, or not answered at all, has an uncertain fate: Meta
   may have taken the message before failing, and its Cloud API has no idempotency key.
   It is never repeated within the send (:attr:`urp.whatsapp.sending.SendError.uncertain`): the
   worker gives the row up, still ``sending``, and releases its lease. As soon as Meta's
   statuses report every part, the row is ``sent`` (and the channel's delivery record
   for that message is written, since the worker never learnt its id).
4. A row still ``sending`` when its lease (or its release) plus a grace period have
   passed belonged to a worker that died, or gave it up. By then Meta's statuses for
   what it accepted have arrived, so the row resumes from ``parts_sent``: the parts Meta
   confirmed are never sent again, the others are sent (once) by the next claim. After
   :data:`MAX_ATTEMPTS` claims without Meta's word the row is ``failed``, with the reason
   :data:`UNCERTAIN` («esito incerto»).

The one case this cannot settle is a message Meta accepted whose statuses reach us only
after the grace period (the webhook down for longer than that): it would be sent twice.
The grace period is therefore generous (10 minutes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, exists, func, literal, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.models import (
    ACTIVE,
    COMPLETED,
    RUNNING,
    Broadcast,
    BroadcastRecipient,
    Subscriber,
    SubscriberTopic,
    UTCDateTime,
    WhatsAppOutbound,
)
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import StatusUpdate

LEASE = timedelta(minutes=5)  # far longer than one recipient's retries take
GRACE = timedelta(minutes=10)  # how long Meta's statuses may take to reach the webhook
MAX_ATTEMPTS = 3  # claims of one row that end in 429, 5xx or silence before it fails
REASON_MAX = 255
UNCERTAIN = "esito incerto: Meta non ha confermato l'invio"
# Statuses a recipient's row moves through once sent; "failed" may come at any time.
_DELIVERY_RANK = {"sent": 0, "delivered": 1, "read": 2}


@dataclass(frozen=True)
class Claimed:
    """A recipient's row a worker holds until ``lease_until``: what to send and to whom."""

    row_id: int
    broadcast_id: int
    send_key: str
    user_id: str  # the phone number, from the register: never logged
    messages: tuple[str, ...]  # free-form, or the template's parameter for each message
    via_template: bool
    parts_sent: int
    attempts: int
    rate: float
    lease_until: datetime


@dataclass(frozen=True)
class Outcome:
    """What became of a claimed row. ``status``: sent, failed, pending (given back to be
    claimed again) or sending (fate unknown: left to the reconciliation of expired leases)."""

    row_id: int
    status: str
    parts_sent: int
    wamid: str | None = None  # of the first message
    error_code: int | None = None
    error_reason: str | None = None
    # The claim (its attempt number) a "sending" outcome gives up: the row's lease is
    # released, unless another claim has taken the row since.
    attempt: int | None = None


class BroadcastDelivery:
    """The workers' and the webhook's side of the broadcasts in one database.

    :class:`urp.broadcasts.service.BroadcastService` adds the operators' side (start,
    cancel, resume, reports): one object, shared by the worker, the console and the
    WhatsApp channel.
    """

    def __init__(
        self,
        database: Database,
        whatsapp: WhatsAppStore,
        *,
        clock: Clock = utc_now,
        lease: timedelta = LEASE,
        grace: timedelta = GRACE,
    ) -> None:
        self._db = database
        self._whatsapp = whatsapp
        self._clock = clock
        self._lease = lease
        self._grace = grace

    def claim(self, limit: int) -> list[Claimed]:
        """Up to ``limit`` pending rows of the highest-priority running broadcast.

        On the way, rows whose subscriber left or dropped the topics become ``skipped``,
        expired leases are reconciled, and broadcasts with nothing left are completed.
        """
        now = self._clock()
        with self._db.transaction(write=True) as session:
            jobs = session.execute(
                select(Broadcast)
                .where(Broadcast.status == RUNNING)
                .order_by(Broadcast.priority.desc(), Broadcast.id)
            ).scalars()
            for job in jobs:
                self._reconcile(session, job, now)
                claimed = self._claim_rows(session, job, limit, now)
                if claimed:
                    return claimed
                if not self._open_rows(session, job.id):
                    job.status = COMPLETED
                    job.finished_at = now
        return []

    def settle(self) -> bool:
        """Complete the running broadcasts with nothing left; whether any still has work
        (rows pending, or in flight under a lease)."""
        now = self._clock()
        with self._db.transaction(write=True) as session:
            busy = False
            for job in session.execute(
                select(Broadcast).where(Broadcast.status == RUNNING)
            ).scalars():
                if self._open_rows(session, job.id):
                    busy = True
                else:
                    job.status = COMPLETED
                    job.finished_at = now
            return busy

    def cancelled_among(self, broadcast_ids: Iterable[int]) -> set[int]:
        """Which of these broadcasts are no longer running (cancelled meanwhile)."""
        ids = set(broadcast_ids)
        if not ids:
            return set()
        with self._db.transaction() as session:
            return set(
                session.execute(
                    select(Broadcast.id).where(Broadcast.id.in_(ids), Broadcast.status != RUNNING)
                ).scalars()
            )

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """Write what the worker's requests achieved, in one transaction."""
        by_status: dict[str, list[dict[str, object]]] = {}
        for outcome in outcomes:
            by_status.setdefault(outcome.status, []).append(
                {
                    "row_id": outcome.row_id,
                    "parts": outcome.parts_sent,
                    "wamid": outcome.wamid,
                    "code": outcome.error_code,
                    "reason": (outcome.error_reason or None) and outcome.error_reason[:REASON_MAX],
                    "attempt": outcome.attempt,
                }
            )
        if not by_status:
            return
        now = self._clock()
        table = BroadcastRecipient.__table__
        with self._db.transaction(write=True) as session:
            for status, values in by_status.items():
                changes: dict[str, object] = {
                    "parts_sent": _greatest(table.c.parts_sent, "parts"),
                    "wamid": func.coalesce(table.c.wamid, _bind("wamid")),
                    "updated_at": now,
                }
                if status == "sending":
                    # Given up by its holder, no request in flight: the grace period for
                    # Meta's statuses starts now, not when the lease would have ended.
                    released = table.c.attempts == _bind("attempt")
                    changes["lease_until"] = case(
                        (released, literal(now, UTCDateTime)), else_=table.c.lease_until
                    )
                else:
                    changes |= {"status": status, "lease_until": None}
                if status == "failed":
                    changes |= {"error_code": _bind("code"), "error_reason": _bind("reason")}
                # A result that comes back after its row was reconciled still counts: it
                # spares the recipient a second message.
                session.execute(
                    update(table)
                    .where(
                        table.c.id == _bind("row_id"),
                        # Not IN: SQLAlchemy 1.4 expands IN, which executemany refuses.
                        or_(table.c.status == "sending", table.c.status == "pending"),
                    )
                    .values(changes),
                    values,
                )

    def record_status(self, status_update: StatusUpdate) -> bool:
        """A status from Meta's webhook; False if it is not about a broadcast message.

        The WhatsApp channel calls this beside :meth:`WhatsAppStore.status` for every
        status. Matched by the callback data we sent (``<send_key>:<part>``), else by the
        first message's wamid. A row whose every part Meta reported is ``sent`` at once,
        whether or not its worker heard Meta's answer; a message whose answer the worker
        never got (a 5xx, a timeout) gets its delivery record here.
        """
        key, part = _callback(status_update.callback_data)
        table = BroadcastRecipient.__table__
        where = table.c.send_key == key if key else table.c.wamid == status_update.message_id
        if key is None and not self._exists(where):
            return False  # the channel's other messages: no write lock for them
        unrecorded: tuple[str, str, str] | None = None
        with self._db.transaction(write=True) as session:
            query = select(
                table.c.id,
                table.c.broadcast_id,
                table.c.status,
                table.c.parts_sent,
                table.c.via_template,
                table.c.subscriber_id,
            ).where(where)
            if self._db.dialect == "postgresql":
                query = query.with_for_update()
            row = session.execute(query).first()
            if row is None:
                return False
            status = row.status
            changes: dict[str, object] = {"updated_at": self._clock()}
            if status in ("pending", "sending"):
                # Meta has this part, whoever sent it: never send it again.
                changes["parts_sent"] = max(row.parts_sent, part + 1)
                if part == 0:
                    changes["wamid"] = status_update.message_id
                if changes["parts_sent"] >= self._parts(session, row.broadcast_id, row):
                    status = "sent"
                    changes |= {"status": status, "lease_until": None}
            if key is not None:
                unrecorded = self._unrecorded(session, status_update.message_id, row)
            if status_update.status == "failed":
                changes |= {
                    "status": "failed",
                    "lease_until": None,
                    "error_code": status_update.error_code,
                    "error_reason": (status_update.error_title or "non consegnato")[:REASON_MAX],
                }
            elif (
                part == 0
                and status in _DELIVERY_RANK
                and _DELIVERY_RANK.get(status_update.status, -1) > _DELIVERY_RANK[status]
            ):
                changes["status"] = status_update.status
            session.execute(update(table).where(table.c.id == row.id).values(changes))
        if unrecorded is not None:
            # After the commit: the store writes in its own transaction. Idempotent, so a
            # worker's late record of the same message changes nothing.
            self._whatsapp.sent_many([unrecorded])
            self._whatsapp.status(status_update)
        return True

    @staticmethod
    def _parts(session: Session, broadcast_id: int, row: Row) -> int:
        """How many messages the row's recipient gets (free-form or by template)."""
        messages, template_messages = session.execute(
            select(Broadcast.messages, Broadcast.template_messages).where(
                Broadcast.id == broadcast_id
            )
        ).one()
        return len(template_messages if row.via_template else messages)

    @staticmethod
    def _unrecorded(session: Session, wamid: str, row: Row) -> tuple[str, str, str] | None:
        """The delivery record to write for a message the channel does not know yet."""
        if session.get(WhatsAppOutbound, wamid) is not None:
            return None
        user_id = session.execute(
            select(Subscriber.user_id).where(Subscriber.id == row.subscriber_id)
        ).scalar_one_or_none()
        if not user_id:
            return None  # erased meanwhile: nothing to keep about them
        return wamid, user_id, "template" if row.via_template else "text"

    # -- internals ---------------------------------------------------------------------------

    def _claim_rows(
        self, session: Session, job: Broadcast, limit: int, now: datetime
    ) -> list[Claimed]:
        table = BroadcastRecipient.__table__
        candidates = (
            select(table.c.id)
            .where(table.c.broadcast_id == job.id, table.c.status == "pending")
            .order_by(table.c.id)
            .limit(limit)
        )
        if self._db.dialect == "postgresql":
            # Two workers take disjoint batches instead of queueing on the same rows.
            candidates = candidates.with_for_update(skip_locked=True)
        ids = list(session.execute(candidates).scalars())
        if not ids:
            return []
        follows = (
            exists()
            .where(
                SubscriberTopic.subscriber_id == Subscriber.id,
                SubscriberTopic.topic.in_(job.topics),
            )
            .correlate(Subscriber)
        )
        rows = session.execute(
            select(
                table.c.id,
                table.c.send_key,
                table.c.via_template,
                table.c.parts_sent,
                table.c.attempts,
                Subscriber.user_id,
            )
            .join(Subscriber, Subscriber.id == table.c.subscriber_id)
            .where(table.c.id.in_(ids), Subscriber.status == ACTIVE, follows)
        ).all()
        reachable = {row.id for row in rows if row.user_id}
        gone = [row_id for row_id in ids if row_id not in reachable]
        if gone:
            session.execute(
                update(table)
                .where(table.c.id.in_(gone))
                .values(status="skipped", updated_at=now, lease_until=None)
            )
        rows = [row for row in rows if row.id in reachable]
        undecided = [row.user_id for row in rows if row.via_template is None]
        in_window = self._whatsapp.in_window_many(session, undecided)
        lease_until = now + self._lease
        claimed = []
        for row in rows:
            via_template = (
                row.via_template if row.via_template is not None else row.user_id not in in_window
            )
            messages = job.template_messages if via_template else job.messages
            claimed.append(
                Claimed(
                    row_id=row.id,
                    broadcast_id=job.id,
                    send_key=row.send_key,
                    user_id=row.user_id,
                    messages=tuple(messages),
                    via_template=via_template,
                    parts_sent=row.parts_sent,
                    attempts=row.attempts + 1,
                    rate=job.rate,
                    lease_until=lease_until,
                )
            )
        if claimed:
            session.execute(
                update(table)
                .where(table.c.id == _bind("row_id"))
                .values(
                    status="sending",
                    via_template=_bind("via_template"),
                    attempts=table.c.attempts + 1,
                    lease_until=lease_until,
                    updated_at=now,
                ),
                [{"row_id": c.row_id, "via_template": c.via_template} for c in claimed],
            )
        return claimed

    def _reconcile(self, session: Session, job: Broadcast, now: datetime) -> None:
        """Rows of a dead worker, or given up: finished if Meta reported all their parts,
        else pending, or failed after :data:`MAX_ATTEMPTS` claims without Meta's word."""
        table = BroadcastRecipient.__table__
        expired = (
            table.c.broadcast_id == job.id,
            table.c.status == "sending",
            table.c.lease_until < now - self._grace,
        )
        complete = case(
            (table.c.via_template.is_(True), table.c.parts_sent >= len(job.template_messages)),
            else_=table.c.parts_sent >= len(job.messages),
        )
        exhausted = table.c.attempts >= MAX_ATTEMPTS
        session.execute(
            update(table)
            .where(*expired)
            .values(
                status=case((complete, "sent"), (exhausted, "failed"), else_="pending"),
                error_reason=case(
                    (complete, table.c.error_reason),
                    (exhausted, UNCERTAIN),
                    else_=table.c.error_reason,
                ),
                lease_until=None,
                updated_at=now,
            )
        )

    def _exists(self, where: ColumnElement[bool]) -> bool:
        with self._db.transaction() as session:
            return bool(session.execute(select(exists().where(where))).scalar())

    @staticmethod
    def _open_rows(session: Session, broadcast_id: int) -> bool:
        return bool(
            session.execute(
                select(
                    exists().where(
                        BroadcastRecipient.broadcast_id == broadcast_id,
                        BroadcastRecipient.status.in_(("pending", "sending")),
                    )
                )
            ).scalar()
        )


def _bind(name: str) -> ColumnElement[object]:
    return bindparam(name)


def _greatest(column: ColumnElement[int], name: str) -> ColumnElement[int]:
    # GREATEST exists on PostgreSQL only; SQLite's two-argument MAX is a different name.
    return case((column > _bind(name), column), else_=_bind(name))


def _callback(data: str | None) -> tuple[str | None, int]:
    """``"<send_key>:<part>"`` as we sent it; (None, 0) for anything else."""
    key, _, part = (data or "").rpartition(":")
    if not key or not part.isdigit():
        return None, 0
    return key, int(part)
