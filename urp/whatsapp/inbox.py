"""The inbox: every message a webhook acknowledged, kept until Rasa has handled it.

Meta and Twilio deliver again only what got no 2xx. So the channels write each message
here **before** answering 200 (if the database cannot take it they answer 503, and the
provider retries), in the same transaction as the week-long record of message ids that
drops Meta's repeats (:meth:`urp.whatsapp.store.WhatsAppStore.first_delivery_in`); then
they process it from here:

- a worker (:class:`InboxWorker`, one per channel in each Rasa process) **claims** rows
  with a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the writer's lock), so
  two replicas never hold the same message; only the oldest row of each citizen can be
  claimed, so one citizen's messages are handled one at a time, in order, whichever
  replica got them;
- the lease is renewed while Rasa works; once Rasa has handled the message the row is
  deleted with its text and number. A failure releases it for a later attempt (5 s,
  10 s, ... up to 5 minutes apart); a row whose holder died (SIGKILL, power cut) is
  claimed again when its lease runs out, by any replica, at start-up or by the periodic
  look;
- after :data:`MAX_ATTEMPTS` claims, or :data:`MAX_AGE` after it arrived, a message is
  given up (logged by its id): a message that crashes every attempt must not hold its
  citizen's queue, nor keep personal data, for ever.

Processing is at least once: a claim after the first (``attempts > 1``) may find the
message already handled, which the channel checks in Rasa's tracker by message id
(channels/background.py). The one window left for a second answer is a crash between the
answer leaving and Rasa saving the conversation (the rest of that turn).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.models import InboundDelivery
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import InboundMessage

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # renewed every third of it while Rasa works
RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=5)
MAX_ATTEMPTS = 10  # about 20 minutes of retries
MAX_AGE = timedelta(hours=24)
CONCURRENCY = 32  # messages of different citizens handled at once by one worker
POLL_EVERY = 5.0  # seconds between looks for rows left by a dead holder or due a retry
STOP_GRACE = 10.0  # seconds a stopping worker lets the messages in hand finish


@dataclass(frozen=True)
class Claimed:
    row_id: int
    token: str  # the claim's: only its holder settles the row
    attempts: int  # this claim included: above 1, the message may have been handled
    message: InboundMessage

    @property
    def message_id(self) -> str:
        return self.message.message_id


def _stored(message: InboundMessage) -> dict[str, Any]:
    return {**asdict(message), "sent_at": message.sent_at.isoformat()}


def _loaded(stored: dict[str, Any]) -> InboundMessage:
    # Only the fields this version knows: a row may outlive an upgrade by a few seconds.
    known = {f.name for f in fields(InboundMessage)}
    values = {key: value for key, value in stored.items() if key in known}
    return InboundMessage(**{**values, "sent_at": datetime.fromisoformat(stored["sent_at"])})


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th failed attempt."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


class Inbox:
    """The acknowledged messages waiting to be handled, shared by every replica."""

    def __init__(
        self,
        database: Database,
        store: WhatsAppStore,
        hasher: UserHasher,
        *,
        lease: timedelta = LEASE,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._store = store
        self._hash = hasher
        self.lease = lease
        self._clock = clock

    def accept(self, channel: str, messages: Sequence[InboundMessage]) -> list[InboundMessage]:
        """Store the messages never seen before, in one transaction; the new ones.

        Raises if the database cannot take them: the webhook must not answer 2xx then.
        """
        if not messages:
            return []
        now = self._clock()
        new: list[InboundMessage] = []
        with self._db.transaction(write=True) as session:
            for message in messages:
                if not self._store.first_delivery_in(session, message.message_id):
                    continue
                session.execute(
                    self._db.upsert_insert(InboundDelivery)
                    .values(
                        channel=channel,
                        message_id=message.message_id,
                        sender_key=self._hash(channel, message.sender),
                        message=_stored(message),
                        received_at=now,
                        attempts=0,
                    )
                    .on_conflict_do_nothing(index_elements=[InboundDelivery.message_id])
                )
                new.append(message)
        return new

    def claim(self, channel: str, limit: int) -> list[Claimed]:
        """Up to ``limit`` messages of ``channel``, the oldest of each citizen, leased."""
        now = self._clock()
        table = InboundDelivery.__table__
        earlier = table.alias("earlier")
        candidates = (
            select(table.c.id)
            .where(
                table.c.channel == channel,
                or_(table.c.lease_until.is_(None), table.c.lease_until <= now),
                ~exists().where(
                    earlier.c.sender_key == table.c.sender_key, earlier.c.id < table.c.id
                ),
            )
            .order_by(table.c.id)
            .limit(limit)
        )
        with self._db.transaction() as session:  # idle replicas take no write lock
            if not session.execute(candidates).first():
                return []
        if self._db.dialect == "postgresql":
            # Two replicas take disjoint rows instead of queueing on the same ones.
            candidates = candidates.with_for_update(skip_locked=True)
        with self._db.transaction(write=True) as session:
            self._give_up(session, channel, now)
            ids = list(session.execute(candidates).scalars())
            if not ids:
                return []
            token = secrets.token_hex(16)
            session.execute(
                update(table)
                .where(table.c.id.in_(ids))
                .values(
                    lease_until=now + self.lease,
                    attempts=table.c.attempts + 1,
                    claim_token=token,
                )
            )
            rows = session.execute(
                select(table.c.id, table.c.attempts, table.c.message)
                .where(table.c.id.in_(ids))
                .order_by(table.c.id)
            ).all()
        return [Claimed(row.id, token, row.attempts, _loaded(row.message)) for row in rows]

    def renew(self, claims: Iterable[Claimed]) -> None:
        """Extend the leases of the messages still in hand."""
        by_token: dict[str, list[int]] = {}
        for claim in claims:
            by_token.setdefault(claim.token, []).append(claim.row_id)
        if not by_token:
            return
        table = InboundDelivery.__table__
        lease_until = self._clock() + self.lease
        with self._db.transaction(write=True) as session:
            for token, ids in by_token.items():
                session.execute(
                    update(table)
                    .where(table.c.id.in_(ids), table.c.claim_token == token)
                    .values(lease_until=lease_until)
                )

    def done(self, claim: Claimed) -> bool:
        """Rasa handled the message: the row goes, with its text and number. False if
        the lease had run out and another claim holds it now (that one settles it)."""
        table = InboundDelivery.__table__
        with self._db.transaction(write=True) as session:
            deleted = session.execute(
                delete(table).where(table.c.id == claim.row_id, table.c.claim_token == claim.token)
            )
            return deleted.rowcount == 1

    def retry_later(self, claim: Claimed) -> None:
        """The attempt failed: the message is claimed again after :func:`retry_delay`."""
        self._release([claim], self._clock() + retry_delay(claim.attempts))

    def release(self, claims: Iterable[Claimed]) -> None:
        """Hand back messages not finished (a stopping worker): claimable at once."""
        self._release(claims, None)

    def erase(self, channel: str, user_id: str) -> int:
        """Forget a citizen's messages still waiting (right to erasure); how many."""
        table = InboundDelivery.__table__
        with self._db.transaction(write=True) as session:
            return session.execute(
                delete(table).where(
                    table.c.channel == channel, table.c.sender_key == self._hash(channel, user_id)
                )
            ).rowcount

    def _release(self, claims: Iterable[Claimed], until: datetime | None) -> None:
        claims = list(claims)
        if not claims:
            return
        table = InboundDelivery.__table__
        with self._db.transaction(write=True) as session:
            for claim in claims:
                session.execute(
                    update(table)
                    .where(table.c.id == claim.row_id, table.c.claim_token == claim.token)
                    .values(lease_until=until, claim_token=None)
                )

    def _give_up(self, session: Session, channel: str, now: datetime) -> None:
        table = InboundDelivery.__table__
        stale = session.execute(
            select(table.c.id, table.c.message_id, table.c.attempts).where(
                table.c.channel == channel,
                or_(table.c.lease_until.is_(None), table.c.lease_until <= now),
                or_(table.c.attempts >= MAX_ATTEMPTS, table.c.received_at < now - MAX_AGE),
            )
        ).all()
        for row in stale:
            # The message id only: the row holds a phone number.
            logger.error(
                "Messaggio %s abbandonato dopo %d tentativi: non ha avuto risposta",
                row.message_id,
                row.attempts,
            )
        if stale:
            session.execute(delete(table).where(table.c.id.in_([row.id for row in stale])))


Handler = Callable[[Claimed], Awaitable[None]]


class InboxWorker:
    """Handles one channel's messages from the inbox, as they arrive and after a restart.

    :meth:`start` when the server starts, :meth:`wake` after the webhook stored new
    messages, :meth:`stop` before the server stops.
    """

    def __init__(
        self,
        inbox: Inbox,
        channel: str,
        handle: Handler,
        *,
        concurrency: int = CONCURRENCY,
        poll_every: float = POLL_EVERY,
    ) -> None:
        self._inbox = inbox
        self._channel = channel
        self._handle = handle
        self._concurrency = concurrency
        self._poll_every = poll_every
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_hand: dict[int, Claimed] = {}
        self._tasks: set[asyncio.Task] = set()
        self._running: asyncio.Task | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        """Start handling (the server has started): what is waiting first."""
        self._running = asyncio.create_task(self._run())

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop claiming; let the messages in hand finish for ``grace`` seconds, then
        hand back the others (another replica, or the next start, takes them)."""
        self._stopping = True
        self.wake()
        if self._running is not None:
            await self._running
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        unfinished = list(self._in_hand.values())
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if unfinished:
            await self._settle(self._inbox.release, unfinished)

    async def _run(self) -> None:
        renewing = asyncio.create_task(self._renew())
        try:
            while not self._stopping:
                self._wake.clear()
                free = self._concurrency - len(self._in_hand)
                claims = await self._claim(free) if free > 0 else []
                if self._stopping:
                    await self._settle(self._inbox.release, claims)
                    break
                for claim in claims:
                    self._start(claim)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_every)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _claim(self, limit: int) -> list[Claimed]:
        try:
            return await asyncio.to_thread(self._inbox.claim, self._channel, limit)
        except Exception:
            # The database blinked: the rows wait there, the next look takes them.
            logger.exception("Messaggi in arrivo (%s) non presi in carico", self._channel)
            return []

    def _start(self, claim: Claimed) -> None:
        self._in_hand[claim.row_id] = claim
        task = asyncio.create_task(self._process(claim))
        self._tasks.add(task)  # a reference, or the loop may drop the task
        task.add_done_callback(self._tasks.discard)

    async def _process(self, claim: Claimed) -> None:
        try:
            try:
                await self._handle(claim)
            except Exception:
                # The message id only: the sender is a phone number.
                logger.exception(
                    "Messaggio %s non elaborato (tentativo %d): sarà ripreso",
                    claim.message_id,
                    claim.attempts,
                )
                await self._settle(self._inbox.retry_later, claim)
            else:
                await self._settle(self._inbox.done, claim)
        finally:
            self._in_hand.pop(claim.row_id, None)
            self.wake()  # the citizen's next message, if any, can go now

    async def _settle(self, method: Callable[[Any], Any], argument: Any) -> None:
        try:
            await asyncio.to_thread(method, argument)
        except Exception:
            # Left leased: claimed again when the lease runs out.
            logger.exception("Stato dei messaggi in arrivo non registrato")

    async def _renew(self) -> None:
        every = self._inbox.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            if self._in_hand:
                await self._settle(self._inbox.renew, list(self._in_hand.values()))
