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

**Meta's rules** (:mod:`urp.whatsapp.graph` cites the documentation):

- *Messaging limit*: at most ``messaging_limit`` distinct recipients of business-initiated
  templates in a rolling 24 hours (250 on a new number). A row claimed for a template
  reserves its recipient (``template_at``); when the limit is used up, the rows that need a
  template wait (``wait_reason`` "limit", ``not_before`` when the oldest reservation leaves
  the 24 hours) and the same job sends them then, the highest-priority job first. A
  reservation that sent nothing is given back.
- *Refusals*, by Meta's code, from the Graph API's answer (the worker) or from a failed
  status in the webhook (:meth:`BroadcastDelivery.record_status`): the pair rate limit
  delays the recipient; outside the window the row switches to the template; a recipient
  Meta could not reach (131026) in the last :data:`UNREACHABLE_AFTER` broadcasts, and not
  reached since, is skipped; Meta's marketing cap and opt-out (131049, 131050) make the row
  «saltato da Meta» (skipped, with the code), and memos skip that recipient for 24 hours;
  account and policy errors pause the job (:meth:`BroadcastDelivery.pause`), with Meta's
  words for the operators.

**One paid message per recipient per memo, at most.** Since July 2025 Meta charges each
template message, so a memo never goes out as several templates: outside the window its
recipient gets one (:func:`urp.information.memo.memo_teaser`: what the memo is about, the
link to its web page, the quick-reply button «Leggi il memo»), built here from the memo in
the store whatever the job's ``template_messages`` say (:func:`template_count`). Tapping
the button is the citizen's message, which opens the service window: the WhatsApp channel
asks :meth:`BroadcastDelivery.memo_on_request` for the whole memo and sends it free-form,
which Meta does not charge. Inside the window the memo goes free-form, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, and_, bindparam, case, exists, func, literal, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.models import (
    ACTIVE,
    COMPLETED,
    MEMO_BROADCAST,
    PAUSED,
    RUNNING,
    AuditEvent,
    Broadcast,
    BroadcastRecipient,
    Subscriber,
    SubscriberTopic,
    UTCDateTime,
    WhatsAppOutbound,
)
from urp.information.memo import (
    MEMO_PAYLOAD_PREFIX,
    MemoService,
    memo_teaser,
    memo_url,
)
from urp.information.memo import memo_site as site_from_environment
from urp.whatsapp.graph import (
    DELAY_RECIPIENT,
    MARKETING_CAP,
    MARKETING_STOPPED,
    PAUSE_JOB,
    SKIPPED_BY_META,
    SLOW_DOWN,
    UNDELIVERABLE,
    USE_TEMPLATE,
    error_action,
)
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import StatusUpdate

LEASE = timedelta(minutes=5)  # far longer than one recipient's retries take
GRACE = timedelta(minutes=10)  # how long Meta's statuses may take to reach the webhook
MAX_ATTEMPTS = 3  # claims of one row that end in 429, 5xx or silence before it fails
REASON_MAX = 255
UNCERTAIN = "esito incerto: Meta non ha confermato l'invio"
DAY = timedelta(hours=24)  # Meta's rolling window for the messaging limit and the caps
# A place in the messaging limit is reserved when a row is claimed, but Meta counts from the
# send, which may come up to LEASE later: a reservation holds its place that much longer,
# or ours would free before Meta's (measured: 131048 refusals at the edge, bench_broadcasts_limit).
LIMIT_WINDOW = DAY + LEASE
# A recipient Meta could not reach (131026) in this many broadcasts in a row is skipped.
UNREACHABLE_AFTER = 2
UNREACHABLE = "non raggiungibile su WhatsApp: Meta non ha potuto consegnare gli ultimi invii"
SKIPPED_PREFIX = "saltato da Meta"  # the report's «saltati da Meta»: not failures
META_SKIPS = (MARKETING_CAP, MARKETING_STOPPED)
# A run that sends "until idle" waits for rows delayed by less than this (the pair rate
# limit), not for those that wait hours for the messaging limit.
IDLE_HORIZON = timedelta(minutes=5)
RETRY_DELAY = timedelta(seconds=30)  # a row Meta's webhook reported throttled
# Why a pending row waits (wait_reason): the messaging limit, the pair rate limit, a
# refusal reported by the webhook, the switch to the template.
LIMIT, PAIR, RETRY, WINDOW = "limit", "pair", "retry", "window"
PAUSER = "invio automatico"  # the audit's operator for a pause by the worker
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
    deferrals: int = 0  # times the pair rate limit delayed it: its backoff grows


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
    # A "pending" row waits until then, and why (PAIR: the pair rate limit).
    not_before: datetime | None = None
    wait_reason: str | None = None
    to_template: bool = False  # outside the window after all: the template next time
    refund: bool = False  # the claim does not count among MAX_ATTEMPTS (not the row's fault)


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
        messaging_limit: int | None = None,
        memo_site: str | None = None,
    ) -> None:
        """``messaging_limit``: Meta's limit of distinct recipients of business-initiated
        templates per rolling 24 hours (None: unlimited). ``memo_site``: where the widget's
        site shows the memos, for the template's link (None: ``URP_WIDGET_PUBLIC_URL``)."""
        self._db = database
        self._whatsapp = whatsapp
        self._clock = clock
        self._lease = lease
        self._grace = grace
        self.messaging_limit = messaging_limit
        self.memo_site = memo_site.rstrip("/") if memo_site else site_from_environment()

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
        soon (rows pending, in flight under a lease, or delayed by less than
        :data:`IDLE_HORIZON`): rows waiting hours for the messaging limit do not count."""
        now = self._clock()
        table = BroadcastRecipient.__table__
        with self._db.transaction(write=True) as session:
            busy = False
            for job in session.execute(
                select(Broadcast).where(Broadcast.status == RUNNING)
            ).scalars():
                if not self._open_rows(session, job.id):
                    job.status = COMPLETED
                    job.finished_at = now
                    continue
                soon = exists().where(
                    table.c.broadcast_id == job.id,
                    or_(
                        table.c.status == "sending",
                        and_(
                            table.c.status == "pending",
                            or_(
                                table.c.not_before.is_(None),
                                table.c.not_before <= now + IDLE_HORIZON,
                            ),
                        ),
                    ),
                )
                busy = busy or bool(session.execute(select(soon)).scalar())
            return busy

    def pause(self, broadcast_id: int, code: int | None, reason: str) -> bool:
        """Pause a running broadcast for an account or policy error, with Meta's code and
        words for the operators (audited); False if it was not running."""
        now = self._clock()
        reason = (reason or "errore dell'account WhatsApp")[:REASON_MAX]
        with self._db.transaction(write=True) as session:
            changed = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == RUNNING)
                .values(status=PAUSED, paused_code=code, paused_reason=reason, paused_at=now)
            ).rowcount
            if changed:
                detail = f"invio {broadcast_id} sospeso: {code or ''} {reason}".replace("  ", " ")
                session.add(
                    AuditEvent(at=now, operator=PAUSER, action="broadcast_paused", detail=detail)
                )
            return bool(changed)

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
                    "not_before": outcome.not_before,
                    "wait_reason": outcome.wait_reason,
                    "deferred": 1 if outcome.wait_reason == PAIR else 0,
                    "refund": 1 if outcome.refund else 0,
                    "via": True if outcome.to_template else None,
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
                if status in ("failed", "skipped"):
                    changes |= {"error_code": _bind("code"), "error_reason": _bind("reason")}
                if status == "pending":
                    changes |= {
                        "not_before": bindparam("not_before", type_=UTCDateTime),
                        "wait_reason": _bind("wait_reason"),
                        "deferrals": table.c.deferrals + _bind("deferred"),
                        "attempts": table.c.attempts - _bind("refund"),
                        "via_template": func.coalesce(
                            bindparam("via", type_=Boolean), table.c.via_template
                        ),
                    }
                if status in ("pending", "failed", "skipped"):
                    # Nothing reached Meta: the messaging limit's reservation is given back.
                    changes["template_at"] = case(
                        (_greatest(table.c.parts_sent, "parts") == 0, None),
                        else_=table.c.template_at,
                    )
                # A result that comes back after its row was reconciled still counts: it
                # spares the recipient a second message. Not over a row that Meta's webhook
                # sent back to wait (a refusal reported there): that one is sent again.
                session.execute(
                    update(table)
                    .where(
                        table.c.id == _bind("row_id"),
                        # Not IN: SQLAlchemy 1.4 expands IN, which executemany refuses.
                        or_(
                            table.c.status == "sending",
                            and_(table.c.status == "pending", table.c.wait_reason.is_(None)),
                        ),
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
        pause: tuple[int, int | None, str] | None = None
        with self._db.transaction(write=True) as session:
            query = select(
                table.c.id,
                table.c.broadcast_id,
                table.c.status,
                table.c.parts_sent,
                table.c.via_template,
                table.c.subscriber_id,
                table.c.wait_reason,
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
                changes |= self._failure(status_update, row, part)
                if error_action(status_update.error_code) == PAUSE_JOB:
                    pause = (row.broadcast_id, status_update.error_code, changes["error_reason"])
                    changes.pop("error_reason")
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
        if pause is not None:
            self.pause(*pause)
        return True

    def _failure(self, status_update: StatusUpdate, row: Row, part: int) -> dict[str, object]:
        """The row's changes for a failed status, by Meta's code (as the worker does for a
        refusal in the Graph API's answer)."""
        code = status_update.error_code
        reason = (status_update.error_title or "non consegnato")[:REASON_MAX]
        action = error_action(code)
        waits = {"status": "pending", "lease_until": None, "parts_sent": part}
        if action == SKIPPED_BY_META:
            return {"status": "skipped", "lease_until": None, "error_code": code,
                    "error_reason": skipped_by_meta(reason)}  # fmt: skip
        if action == USE_TEMPLATE and not row.via_template and part == 0:
            # Meta's word that the window had closed: the template, from its first part.
            return waits | {"via_template": True, "wamid": None, "wait_reason": WINDOW,
                            "not_before": None, "error_reason": reason}  # fmt: skip
        if action in (SLOW_DOWN, DELAY_RECIPIENT, PAUSE_JOB):
            later = self._clock() + RETRY_DELAY
            return waits | {"wait_reason": RETRY, "not_before": later, "error_reason": reason}
        return {"status": "failed", "lease_until": None, "error_code": code,
                "error_reason": reason}  # fmt: skip

    @staticmethod
    def _parts(session: Session, broadcast_id: int, row: Row) -> int:
        """How many messages the row's recipient gets (free-form or by template)."""
        kind, messages, template_messages = session.execute(
            select(Broadcast.kind, Broadcast.messages, Broadcast.template_messages).where(
                Broadcast.id == broadcast_id
            )
        ).one()
        return template_count(kind, template_messages) if row.via_template else len(messages)

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
        """The next rows due, minus those skipped or left waiting for the messaging limit;
        a batch that only skipped or deferred rows is followed by the next one."""
        while True:
            ids = self._due(session, job, limit, now)
            if not ids:
                return []
            claimed = self._claim_batch(session, job, ids, now)
            if claimed:
                return claimed

    def _due(self, session: Session, job: Broadcast, limit: int, now: datetime) -> list[int]:
        table = BroadcastRecipient.__table__
        candidates = (
            select(table.c.id)
            .where(
                table.c.broadcast_id == job.id,
                table.c.status == "pending",
                or_(table.c.not_before.is_(None), table.c.not_before <= now),
            )
            .order_by(table.c.id)
            .limit(limit)
        )
        if self._db.dialect == "postgresql":
            # Two workers take disjoint batches instead of queueing on the same rows.
            candidates = candidates.with_for_update(skip_locked=True)
        return list(session.execute(candidates).scalars())

    def _claim_batch(
        self, session: Session, job: Broadcast, ids: list[int], now: datetime
    ) -> list[Claimed]:
        table = BroadcastRecipient.__table__
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
                table.c.deferrals,
                table.c.template_at,
                table.c.subscriber_id,
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
        templated = {
            row.id: row.via_template
            if row.via_template is not None
            else row.user_id not in in_window
            for row in rows
        }
        # Meta's word about these recipients in earlier broadcasts (templates only: a
        # citizen who wrote to us within 24 hours is on WhatsApp and asked for it).
        fresh = [row for row in rows if templated[row.id] and row.parts_sent == 0]
        unreachable, capped = self._meta_history(session, job, fresh, now)
        skips = [
            {"row_id": row.id, "code": UNDELIVERABLE, "reason": UNREACHABLE}
            for row in fresh
            if row.subscriber_id in unreachable
        ] + [
            {
                "row_id": row.id,
                "code": capped[row.subscriber_id][0],
                "reason": skipped_by_meta(capped[row.subscriber_id][1]),
            }
            for row in fresh
            if row.subscriber_id in capped and row.subscriber_id not in unreachable
        ]
        if skips:
            session.execute(
                update(table)
                .where(table.c.id == _bind("row_id"))
                .values(
                    status="skipped",
                    error_code=_bind("code"),
                    error_reason=_bind("reason"),
                    lease_until=None,
                    updated_at=now,
                ),
                skips,
            )
        skipped = {skip["row_id"] for skip in skips}
        rows = [row for row in rows if row.id not in skipped]
        waiting = self._over_the_limit(session, rows, templated, now)
        if waiting:
            session.execute(
                update(table)
                .where(table.c.id.in_(waiting))
                .values(
                    wait_reason=LIMIT,
                    not_before=self._next_free(session, now),
                    via_template=None,
                    updated_at=now,
                )
            )
        lease_until = now + self._lease
        claimed = []
        templates: tuple[str, ...] | None = None
        for row in rows:
            if row.id in waiting:
                continue
            via_template = templated[row.id]
            if via_template and templates is None:
                templates = self._templates(session, job)
            messages = templates if via_template else job.messages
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
                    deferrals=row.deferrals,
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
                    not_before=None,
                    wait_reason=None,
                    # The messaging limit's reservation, kept from an earlier claim.
                    template_at=case(
                        (_bind("via_template").is_(True), func.coalesce(table.c.template_at, now)),
                        else_=table.c.template_at,
                    ),
                ),
                [{"row_id": c.row_id, "via_template": c.via_template} for c in claimed],
            )
        return claimed

    def _over_the_limit(
        self, session: Session, rows: list[Row], templated: dict[int, bool], now: datetime
    ) -> set[int]:
        """The rows that would start a conversation beyond Meta's messaging limit."""
        if self.messaging_limit is None:
            return set()
        new = [row for row in rows if templated[row.id] and row.template_at is None]
        if not new:
            return set()
        table = BroadcastRecipient.__table__
        since = now - LIMIT_WINDOW
        used = session.execute(
            select(func.count(func.distinct(table.c.subscriber_id))).where(
                table.c.template_at >= since
            )
        ).scalar_one()
        # A recipient who got a template within 24 hours is counted already.
        counted = set(
            session.execute(
                select(table.c.subscriber_id).where(
                    table.c.template_at >= since,
                    table.c.subscriber_id.in_({row.subscriber_id for row in new}),
                )
            ).scalars()
        )
        room = self.messaging_limit - used
        waiting = set()
        for row in new:
            if row.subscriber_id in counted:
                continue
            if room > 0:
                room -= 1
                counted.add(row.subscriber_id)
            else:
                waiting.add(row.id)
        return waiting

    def _next_free(self, session: Session, now: datetime) -> datetime:
        """When the oldest template of the last 24 hours stops counting."""
        table = BroadcastRecipient.__table__
        oldest = session.execute(
            select(func.min(table.c.template_at)).where(table.c.template_at >= now - LIMIT_WINDOW)
        ).scalar_one()
        return (oldest or now) + LIMIT_WINDOW

    def _meta_history(
        self, session: Session, job: Broadcast, rows: list[Row], now: datetime
    ) -> tuple[set[int], dict[int, tuple[int, str]]]:
        """Subscribers Meta could not reach in the last :data:`UNREACHABLE_AFTER`
        broadcasts and not since; for a memo, those Meta capped or who stopped marketing
        messages within 24 hours (their code and Meta's words)."""
        subscribers = {row.subscriber_id for row in rows}
        if not subscribers:
            return set(), {}
        table = BroadcastRecipient.__table__
        history = session.execute(
            select(
                table.c.subscriber_id,
                table.c.id,
                table.c.status,
                table.c.error_code,
                table.c.error_reason,
                table.c.updated_at,
            ).where(
                table.c.subscriber_id.in_(subscribers),
                table.c.broadcast_id != job.id,
                or_(
                    table.c.error_code.in_((UNDELIVERABLE, *META_SKIPS)),
                    table.c.status.in_(("delivered", "read")),
                ),
            )
        ).all()
        reached: dict[int, int] = {}
        for item in history:
            if item.status in ("delivered", "read"):
                reached[item.subscriber_id] = max(reached.get(item.subscriber_id, 0), item.id)
        misses: dict[int, int] = {}
        capped: dict[int, tuple[int, str]] = {}
        for item in history:
            if item.error_code == UNDELIVERABLE and item.id > reached.get(item.subscriber_id, 0):
                misses[item.subscriber_id] = misses.get(item.subscriber_id, 0) + 1
            if (
                job.kind == MEMO_BROADCAST
                and item.error_code in META_SKIPS
                and item.status == "skipped"
                and item.updated_at >= now - DAY
            ):
                reason = (item.error_reason or "").removeprefix(f"{SKIPPED_PREFIX}: ")
                capped[item.subscriber_id] = (item.error_code, reason)
        unreachable = {sub for sub, count in misses.items() if count >= UNREACHABLE_AFTER}
        return unreachable, capped

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
            (
                table.c.via_template.is_(True),
                table.c.parts_sent >= template_count(job.kind, job.template_messages),
            ),
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

    def _templates(self, session: Session, job: Broadcast) -> tuple[str, ...]:
        """What a recipient outside the window gets: for a memo, one template only (its
        teaser, with the link to its page); otherwise the job's template messages."""
        if job.kind != MEMO_BROADCAST:
            return tuple(job.template_messages)
        memo = MemoService.stored(session, job.memo_id) if job.memo_id is not None else None
        if memo is None:  # never without its memo; if so, still a single template
            return tuple(job.template_messages[:1])
        return (memo_teaser(memo, memo_url(self.memo_site, memo.published_on)),)

    # -- «Leggi il memo» ---------------------------------------------------------------------

    def memo_on_request(self, user_id: str, payload: str) -> list[str] | None:
        """The whole memo, free-form, for a citizen who tapped «Leggi il memo» on its
        template; None if no memo was sent to them by template (the assistant answers).

        ``payload`` is the button's: ``memo:<send_key>`` names the recipient's row (if the
        payload was set on sending), anything else (the button's text) means the latest
        memo this citizen got by template. The tap has opened the service window, so these
        messages are free; they are sent as often as the citizen asks.
        """
        table = BroadcastRecipient.__table__
        query = select(Broadcast.messages).join(table, table.c.broadcast_id == Broadcast.id)
        if payload.startswith(MEMO_PAYLOAD_PREFIX):
            query = query.where(table.c.send_key == payload.removeprefix(MEMO_PAYLOAD_PREFIX))
        else:
            query = (
                query.join(Subscriber, Subscriber.id == table.c.subscriber_id)
                .where(
                    Subscriber.user_id == user_id,
                    Subscriber.channel == "whatsapp",
                    table.c.via_template.is_(True),
                    table.c.parts_sent > 0,
                )
                .order_by(table.c.id.desc())
                .limit(1)
            )
        query = query.where(Broadcast.kind == MEMO_BROADCAST)
        with self._db.transaction() as session:
            messages = session.execute(query).scalars().first()
        return list(messages) if messages else None

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


def template_count(kind: str, template_messages: Sequence[str]) -> int:
    """Template messages (each one paid) a recipient outside the window gets: one for a
    memo (its teaser, :meth:`BroadcastDelivery._templates`), else one per part."""
    return 1 if kind == MEMO_BROADCAST else len(template_messages)


def skipped_by_meta(reason: str) -> str:
    """The reason of a row Meta chose not to deliver: «saltato da Meta», not a failure."""
    return f"{SKIPPED_PREFIX}: {reason}"[:REASON_MAX]


def _greatest(column: ColumnElement[int], name: str) -> ColumnElement[int]:
    # GREATEST exists on PostgreSQL only; SQLite's two-argument MAX is a different name.
    return case((column > _bind(name), column), else_=_bind(name))


def _callback(data: str | None) -> tuple[str | None, int]:
    """``"<send_key>:<part>"`` as we sent it; (None, 0) for anything else."""
    key, _, part = (data or "").rpartition(":")
    if not key or not part.isdigit():
        return None, 0
    return key, int(part)
