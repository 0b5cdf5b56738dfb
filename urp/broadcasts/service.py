"""Broadcasts: the memo and emergency messages sent to the subscribers of some topics.

A broadcast is a job with one row per recipient, created with one ``INSERT ... SELECT``
of the active WhatsApp subscribers who follow any of its topics. Phone numbers are never
copied into these tables: a row's number is read from the register when its turn comes,
so whoever unsubscribed (or dropped the topics) in the meantime is skipped.

This module is the operators' side: starting a memo's or an emergency's broadcast,
cancelling and resuming it, its reports. How workers send each recipient exactly one
message is :mod:`urp.broadcasts.delivery`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import String, cast, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from urp.broadcasts.delivery import LIMIT, LIMIT_WINDOW, META_SKIPS, BroadcastDelivery
from urp.core.errors import OperatorError
from urp.core.models import (
    ACTIVE,
    CANCELLED,
    COMPLETED,
    EMERGENCY_BROADCAST,
    MEMO_BROADCAST,
    PAUSED,
    RUNNING,
    AuditEvent,
    Broadcast,
    BroadcastRecipient,
    Subscriber,
    SubscriberTopic,
    UTCDateTime,
)
from urp.core.models import Memo as MemoRow
from urp.core.settings import MessageTemplate, WhatsAppPrices
from urp.core.text import split_message
from urp.information.memo import Memo, MemoService, format_memo
from urp.whatsapp.graph import TEMPLATE_PARAMETER_MAX

CHANNEL = "whatsapp"
DEFAULT_RATE = 20.0  # messages per second: the Cloud API's lowest tier allows more
MEMO_PRIORITY = 0
EMERGENCY_PRIORITY = 100
BROADCAST_PUBLISHED = "broadcast_published"  # audit actions
BROADCAST_CANCELLED = "broadcast_cancelled"
BROADCAST_RESUMED = "broadcast_resumed"
# The templates of whatsapp.templates a broadcast uses outside the window, by kind: an
# emergency its own (a utility template, where Meta approved one), else the memo's.
MEMO_TEMPLATE = "memo"
EMERGENCY_TEMPLATE = "emergency"
WINDOW_BATCH = 500  # citizens looked up at once: under SQLite's limit of bound values


class BroadcastError(OperatorError, ValueError):
    """A broadcast that cannot be started, cancelled or resumed (told to the operator)."""


@dataclass(frozen=True)
class Failure:
    code: int | None
    reason: str
    count: int


@dataclass(frozen=True)
class BroadcastReport:
    id: int
    kind: str
    topics: tuple[str, ...]
    priority: int
    status: str
    rate: float
    created_at: datetime
    finished_at: datetime | None
    created_by: str
    messages: int  # per recipient, free-form
    counts: Mapping[str, int]  # recipients by row status
    failures: tuple[Failure, ...] = ()
    # Paused by the worker: Meta's code and words (an account or policy error).
    paused_code: int | None = None
    paused_reason: str | None = None
    paused_at: datetime | None = None
    skipped_by_meta: int = 0  # skipped rows Meta chose not to deliver (131049, 131050)
    # Pending rows waiting for Meta's messaging limit, when the first of them go, and when
    # the last should (at the limit's pace: one limit's worth every 24 hours).
    waiting_for_limit: int = 0
    resumes_at: datetime | None = None
    finishes_at: datetime | None = None
    # Templates Meta accepted: the paid messages (free-form ones inside the window are free).
    paid_messages: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Rows that reached an end: everything but pending and sending."""
        return self.total - self.counts.get("pending", 0) - self.counts.get("sending", 0)


@dataclass(frozen=True)
class BroadcastEstimate:
    """What a broadcast would send and cost if published now, for the office to decide.

    Those who wrote within 24 hours get the messages free-form, free; the others one
    template each, paid at its category's price (Meta's rules since July 2025). An
    estimate: citizens may write, or leave, before their turn comes.
    """

    inside: int  # recipients inside the 24-hour window: free-form messages
    outside: int  # recipients outside it: one template each
    category: str | None  # of the template; None: none configured, the outside get nothing
    paid_messages: int
    cost: float
    currency: str
    # Outside recipients beyond what Meta's messaging limit lets go now: they wait a day.
    waiting_for_limit: int = 0

    @property
    def recipients(self) -> int:
        return self.inside + self.outside


class BroadcastService(BroadcastDelivery):
    """Broadcast jobs and their recipients in one database: the operators' side here, the
    workers' and the webhook's inherited from :class:`BroadcastDelivery`."""

    # -- starting ----------------------------------------------------------------------------

    def start_memo(
        self,
        memo: Memo,
        default_topic: str,
        *,
        created_by: str,
        rate: float = DEFAULT_RATE,
        again: bool = False,
    ) -> int:
        """Broadcast a stored memo to the followers of the default topic or of its items'.

        A memo already broadcast (and not cancelled) is refused unless ``again``.
        """
        topics = memo_topics(memo, default_topic)
        with self._db.transaction(write=True) as session:
            memo_id = session.execute(
                select(MemoRow.id).where(MemoRow.published_on == memo.published_on)
            ).scalar_one_or_none()
            if memo_id is None:
                raise BroadcastError(f"il memo del {memo.published_on:%d/%m/%Y} non è pubblicato")
            earlier = session.execute(
                select(Broadcast.id).where(
                    Broadcast.memo_id == memo_id, Broadcast.status != CANCELLED
                )
            ).scalar()
            if earlier is not None and not again:
                raise BroadcastError(
                    f"il memo del {memo.published_on:%d/%m/%Y} è già stato inviato "
                    f"(invio {earlier}): per inviarlo di nuovo scegli «invia di nuovo» (--again)"
                )
            return self._create(
                session,
                kind=MEMO_BROADCAST,
                topics=topics,
                priority=MEMO_PRIORITY,
                memo_id=memo_id,
                messages=format_memo(memo),
                template_messages=format_memo(memo, TEMPLATE_PARAMETER_MAX),
                rate=rate,
                created_by=created_by,
            )

    def start_emergency(
        self, topic: str, text: str, *, created_by: str, rate: float = DEFAULT_RATE
    ) -> int:
        """An emergency message to the followers of ``topic``, ahead of any memo."""
        if not text.strip():
            raise BroadcastError("il testo del messaggio è vuoto")
        messages, template_messages = emergency_messages(text)
        with self._db.transaction(write=True) as session:
            return self._create(
                session,
                kind=EMERGENCY_BROADCAST,
                topics=(topic,),
                priority=EMERGENCY_PRIORITY,
                memo_id=None,
                messages=messages,
                template_messages=template_messages,
                rate=rate,
                created_by=created_by,
            )

    def _create(
        self,
        session: Session,
        *,
        kind: str,
        topics: Sequence[str],
        priority: int,
        memo_id: int | None,
        messages: list[str],
        template_messages: list[str],
        rate: float,
        created_by: str,
    ) -> int:
        if rate <= 0:
            raise BroadcastError("la velocità di invio deve essere positiva")
        now = self._clock()
        job = Broadcast(
            kind=kind,
            topics=list(topics),
            priority=priority,
            memo_id=memo_id,
            messages=messages,
            template_messages=template_messages,
            status=RUNNING,
            rate=rate,
            created_at=now,
            created_by=created_by[:128],
        )
        session.add(job)
        session.flush()
        # A random part makes keys unique across databases too: Meta echoes them back.
        prefix = f"b{job.id}.{secrets.token_hex(4)}."
        recipients = select(
            literal(job.id),
            Subscriber.id,
            literal("pending"),
            literal(prefix) + cast(Subscriber.id, String),
            literal(0),
            literal(0),
            literal(now, UTCDateTime),
        ).where(*_audience(topics))
        # In label order: rows are claimed by id, so the oldest subscribers come first.
        recipients = recipients.order_by(Subscriber.id)
        columns = ("broadcast_id", "subscriber_id", "status", "send_key", "parts_sent",
                   "attempts", "updated_at")  # fmt: skip
        session.execute(insert(BroadcastRecipient).from_select(columns, recipients))
        # Who published what, to whom: in the audit as well as on the job itself.
        what = f"invio {job.id}: {kind}, temi {', '.join(topics)}"
        session.add(_audit(now, created_by, BROADCAST_PUBLISHED, what))
        return int(job.id)

    def audience(self, topics: Sequence[str]) -> int:
        """How many subscribers a broadcast to ``topics`` would reach now."""
        with self._db.transaction() as session:
            return int(
                session.execute(
                    select(func.count()).select_from(Subscriber).where(*_audience(topics))
                ).scalar_one()
            )

    def estimate(
        self,
        topics: Sequence[str],
        *,
        template: MessageTemplate | None,
        prices: WhatsAppPrices,
        messages: int = 1,
        templates_each: int = 1,
        messaging_limit: int | None = None,
    ) -> BroadcastEstimate:
        """Recipients inside and outside the window of a broadcast to ``topics`` of
        ``messages`` free-form messages, with ``templates_each`` messages of ``template``
        outside it (a memo: one; a long emergency: as many as Meta's cap on a template's
        parameter needs); its cost.

        ``messaging_limit``: Meta's, for a service built without it (the console's reads
        the settings anew at each request); else the service's own.
        """
        limit = messaging_limit if messaging_limit is not None else self.messaging_limit
        now = self._clock()
        with self._db.transaction() as session:
            users = [
                user_id
                for user_id in session.execute(
                    select(Subscriber.user_id).where(*_audience(topics))
                ).scalars()
                if user_id
            ]
            inside = 0
            for start in range(0, len(users), WINDOW_BATCH):
                batch = users[start : start + WINDOW_BATCH]
                inside += len(self._whatsapp.in_window_many(session, batch))
            used = session.execute(
                select(func.count(func.distinct(BroadcastRecipient.subscriber_id))).where(
                    BroadcastRecipient.template_at >= now - LIMIT_WINDOW
                )
            ).scalar_one()
        outside = len(users) - inside
        paid = outside * templates_each if template is not None else 0
        cost = inside * messages * prices.per_message("service")
        if template is not None:
            cost += paid * prices.per_message(template.category)
        waiting = 0
        if template is not None and limit is not None:
            waiting = max(0, outside - max(0, limit - used))
        return BroadcastEstimate(
            inside=inside,
            outside=outside,
            category=template.category if template is not None else None,
            paid_messages=paid,
            cost=round(cost, 4),
            currency=prices.currency,
            waiting_for_limit=waiting,
        )

    # -- cancel and resume -------------------------------------------------------------------

    def cancel(self, broadcast_id: int, *, by: str | None = None) -> None:
        """Stop a running broadcast: pending rows wait, messages in flight finish."""
        self._move(broadcast_id, RUNNING, CANCELLED, "solo un invio in corso si può annullare", by)

    def resume(self, broadcast_id: int, *, by: str | None = None) -> None:
        """Go on with a cancelled or paused broadcast from where it stopped."""
        self._move(
            broadcast_id,
            (CANCELLED, PAUSED),
            RUNNING,
            "solo un invio annullato o sospeso si può riprendere",
            by,
        )

    def _move(
        self,
        broadcast_id: int,
        source: str | tuple[str, ...],
        target: str,
        refusal: str,
        by: str | None,
    ) -> None:
        sources = (source,) if isinstance(source, str) else source
        with self._db.transaction(write=True) as session:
            status = session.execute(
                select(Broadcast.status).where(Broadcast.id == broadcast_id)
            ).scalar_one_or_none()
            if status is None:
                raise BroadcastError(f"l'invio {broadcast_id} non esiste")
            if status not in sources:
                raise BroadcastError(
                    f"{refusal} (l'invio {broadcast_id} è {STATUS_LABELS[status]})"
                )
            session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(
                    status=target,
                    finished_at=self._clock() if target != RUNNING else None,
                    **(
                        {"paused_code": None, "paused_reason": None, "paused_at": None}
                        if target == RUNNING
                        else {}
                    ),
                )
            )
            if by is not None:
                action = BROADCAST_CANCELLED if target == CANCELLED else BROADCAST_RESUMED
                session.add(_audit(self._clock(), by, action, f"invio {broadcast_id}"))

    # -- reports -----------------------------------------------------------------------------

    def report(self, broadcast_id: int) -> BroadcastReport:
        with self._db.transaction() as session:
            job = session.get(Broadcast, broadcast_id)
            if job is None:
                raise BroadcastError(f"l'invio {broadcast_id} non esiste")
            failures = session.execute(
                select(BroadcastRecipient.error_code, BroadcastRecipient.error_reason, func.count())
                .where(
                    BroadcastRecipient.broadcast_id == broadcast_id,
                    BroadcastRecipient.status == "failed",
                )
                .group_by(BroadcastRecipient.error_code, BroadcastRecipient.error_reason)
                .order_by(func.count().desc())
            ).all()
            skipped_by_meta = session.execute(
                select(func.count()).where(
                    BroadcastRecipient.broadcast_id == broadcast_id,
                    BroadcastRecipient.status == "skipped",
                    BroadcastRecipient.error_code.in_(META_SKIPS),
                )
            ).scalar_one()
            waiting, resumes_at = session.execute(
                select(func.count(), func.min(BroadcastRecipient.not_before)).where(
                    BroadcastRecipient.broadcast_id == broadcast_id,
                    BroadcastRecipient.status == "pending",
                    BroadcastRecipient.wait_reason == LIMIT,
                )
            ).one()
            paid = session.execute(
                select(func.coalesce(func.sum(BroadcastRecipient.parts_sent), 0)).where(
                    BroadcastRecipient.broadcast_id == broadcast_id,
                    BroadcastRecipient.via_template.is_(True),
                )
            ).scalar_one()
            report = self._report(
                job,
                self._counts(session, [broadcast_id]).get(broadcast_id, {}),
                tuple(Failure(code, reason or "", count) for code, reason, count in failures),
            )
        finishes_at = None
        if waiting and resumes_at is not None and self.messaging_limit:
            # One limit's worth goes every 24 hours, the first when resumes_at comes.
            finishes_at = resumes_at + LIMIT_WINDOW * ((waiting - 1) // self.messaging_limit)
        return replace(
            report,
            skipped_by_meta=skipped_by_meta,
            waiting_for_limit=waiting,
            resumes_at=resumes_at,
            finishes_at=finishes_at,
            paid_messages=int(paid),
        )

    def reports(self, limit: int = 20) -> list[BroadcastReport]:
        """The latest broadcasts, newest first, with their counts."""
        with self._db.transaction() as session:
            jobs = list(
                session.execute(
                    select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
                ).scalars()
            )
            counts = self._counts(session, [job.id for job in jobs])
            return [self._report(job, counts.get(job.id, {})) for job in jobs]

    def running(self) -> list[int]:
        with self._db.transaction() as session:
            return list(
                session.execute(
                    select(Broadcast.id).where(Broadcast.status == RUNNING).order_by(Broadcast.id)
                ).scalars()
            )

    @staticmethod
    def _counts(session: Session, ids: Sequence[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {}
        if not ids:
            return counts
        rows = session.execute(
            select(BroadcastRecipient.broadcast_id, BroadcastRecipient.status, func.count())
            .where(BroadcastRecipient.broadcast_id.in_(ids))
            .group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.status)
        )
        for broadcast_id, status, count in rows:
            counts.setdefault(broadcast_id, {})[status] = count
        return counts

    @staticmethod
    def _report(
        job: Broadcast, counts: Mapping[str, int], failures: tuple[Failure, ...] = ()
    ) -> BroadcastReport:
        return BroadcastReport(
            id=job.id,
            kind=job.kind,
            topics=tuple(job.topics),
            priority=job.priority,
            status=job.status,
            rate=job.rate,
            created_at=job.created_at,
            finished_at=job.finished_at,
            created_by=job.created_by,
            messages=len(job.messages),
            counts=dict(counts),
            failures=failures,
            paused_code=job.paused_code,
            paused_reason=job.paused_reason,
            paused_at=job.paused_at,
        )


# For operators: the command line and the console say these.
STATUS_LABELS = {
    RUNNING: "in corso",
    CANCELLED: "annullato",
    COMPLETED: "concluso",
    PAUSED: "sospeso",
}


def emergency_messages(text: str) -> tuple[list[str], list[str]]:
    """An emergency's free-form messages, and its template's (Meta caps a parameter)."""
    return split_message(text.strip()), split_message(text.strip(), TEMPLATE_PARAMETER_MAX)


def broadcast_template(
    templates: Mapping[str, MessageTemplate], kind: str
) -> MessageTemplate | None:
    """The template a broadcast of ``kind`` sends outside the window: an emergency's own
    (whatsapp.templates.emergency, a utility one where Meta allows), else the memo's."""
    if kind == EMERGENCY_BROADCAST and EMERGENCY_TEMPLATE in templates:
        return templates[EMERGENCY_TEMPLATE]
    return templates.get(MEMO_TEMPLATE)


def memo_topics(memo: Memo, default_topic: str) -> tuple[str, ...]:
    """A memo goes to the followers of the default topic and of its items' topics."""
    return tuple(dict.fromkeys([default_topic, *(i.topic for i in memo.items if i.topic)]))


def publish_memo(
    memos: MemoService,
    broadcasts: BroadcastService,
    memo: Memo,
    *,
    today: date,
    default_topic: str,
    created_by: str,
    rate: float = DEFAULT_RATE,
    again: bool = False,
) -> int:
    """Store ``memo`` as the current one and start its broadcast (``urp memo publish`` and
    the console). Refused for a memo dated after ``today`` or older than the current one."""
    if memo.published_on > today:
        raise BroadcastError(
            f"il memo è del {memo.published_on:%d/%m/%Y}, non ancora in corso: "
            "pubblicalo quel giorno"
        )
    current = memos.current(today)
    if current is not None and current.published_on > memo.published_on:
        raise BroadcastError(f"c'è già un memo più recente, del {current.published_on:%d/%m/%Y}")
    memos.publish(memo)
    return broadcasts.start_memo(memo, default_topic, created_by=created_by, rate=rate, again=again)


def _audit(at: datetime, by: str, action: str, detail: str) -> AuditEvent:
    return AuditEvent(at=at, operator=by[:128], action=action, detail=detail)


def _audience(topics: Sequence[str]) -> tuple[ColumnElement[bool], ...]:
    """Who a broadcast to ``topics`` is for: active WhatsApp subscribers following any."""
    follows = exists().where(
        SubscriberTopic.subscriber_id == Subscriber.id, SubscriberTopic.topic.in_(topics)
    )
    return (Subscriber.status == ACTIVE, Subscriber.channel == CHANNEL, follows)
