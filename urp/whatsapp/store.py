"""What the WhatsApp channel remembers, in the project's database (shared by replicas).

- **deliveries seen**: Meta delivers at least once; a message id inserted once
  (``INSERT ... ON CONFLICT DO NOTHING``) is processed once, whichever replica got it and
  across restarts. Ids are kept for a week (Meta retries for up to seven days); the
  message itself waits in the inbox (:mod:`urp.whatsapp.inbox`) until it is answered;
- **the 24-hour window**: when each citizen last wrote, by a salted hash of the number;
- **delivery records**: each message sent, and what Meta's ``statuses`` said of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.models import WHATSAPP_STATUSES, WhatsAppContact, WhatsAppInbound, WhatsAppOutbound
from urp.whatsapp.webhook import StatusUpdate

CHANNEL = "whatsapp"
KEEP_SEEN = timedelta(days=7)
WINDOW = timedelta(hours=24)
PURGE_EVERY = timedelta(hours=1)
# A later status never goes back: "read" stays read if a late "delivered" arrives.
_RANK = {status: rank for rank, status in enumerate(WHATSAPP_STATUSES)}


class WhatsAppStore:
    def __init__(self, database: Database, hasher: UserHasher, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._hash = hasher
        self._clock = clock
        self._purged_at: datetime | None = None

    def first_delivery(self, message_id: str) -> bool:
        """True the first time this message id arrives, False for every repeat."""
        with self._db.transaction(write=True) as session:
            return self.first_delivery_in(session, message_id)

    def first_delivery_in(self, session: Session, message_id: str) -> bool:
        """The same in the caller's transaction (the inbox stores the message with it)."""
        now = self._clock()
        insert = (
            self._db.upsert_insert(WhatsAppInbound)
            .values(message_id=message_id, received_at=now)
            .on_conflict_do_nothing(index_elements=[WhatsAppInbound.message_id])
        )
        first = session.execute(insert).rowcount == 1
        if self._purged_at is None or now - self._purged_at > PURGE_EVERY:
            session.execute(
                delete(WhatsAppInbound).where(WhatsAppInbound.received_at < now - KEEP_SEEN)
            )
            self._purged_at = now
        return first

    def wrote(self, user_id: str, at: datetime) -> None:
        """The citizen wrote at ``at``: the 24-hour window runs from the latest message."""
        user_hash = self._hash(CHANNEL, user_id)
        insert = self._db.upsert_insert(WhatsAppContact).values(
            user_hash=user_hash, last_inbound_at=at
        )
        insert = insert.on_conflict_do_update(
            index_elements=[WhatsAppContact.user_hash],
            set_={"last_inbound_at": insert.excluded.last_inbound_at},
            where=WhatsAppContact.last_inbound_at < insert.excluded.last_inbound_at,
        )
        with self._db.transaction(write=True) as session:
            session.execute(insert)

    def in_window(self, user_id: str) -> bool:
        """Whether a free-form message may be sent: the citizen wrote in the last 24 hours."""
        with self._db.transaction() as session:
            last = session.execute(
                select(WhatsAppContact.last_inbound_at).where(
                    WhatsAppContact.user_hash == self._hash(CHANNEL, user_id)
                )
            ).scalar_one_or_none()
        return last is not None and self._clock() - last < WINDOW

    def in_window_many(self, session: Session, user_ids: Iterable[str]) -> set[str]:
        """Which of these citizens wrote in the last 24 hours: one query, in the caller's
        transaction (a broadcast's claim, which must not wait for a second connection)."""
        by_hash = {self._hash(CHANNEL, user_id): user_id for user_id in user_ids}
        if not by_hash:
            return set()
        hashes = session.execute(
            select(WhatsAppContact.user_hash).where(
                WhatsAppContact.user_hash.in_(by_hash),
                WhatsAppContact.last_inbound_at > self._clock() - WINDOW,
            )
        ).scalars()
        return {by_hash[user_hash] for user_hash in hashes}

    def sent(self, wamid: str, user_id: str, kind: str) -> None:
        self.sent_many([(wamid, user_id, kind)])

    def sent_many(self, messages: Iterable[tuple[str, str, str]]) -> None:
        """Record messages sent, as (wamid, user_id, kind), in one transaction."""
        now = self._clock()
        values = [
            {
                "wamid": wamid,
                "user_hash": self._hash(CHANNEL, user_id),
                "kind": kind[:16],
                "status": "accepted",
                "sent_at": now,
                "updated_at": now,
            }
            for wamid, user_id, kind in messages
        ]
        if not values:
            return
        insert = self._db.upsert_insert(WhatsAppOutbound).on_conflict_do_nothing(
            index_elements=[WhatsAppOutbound.wamid]
        )
        with self._db.transaction(write=True) as session:
            session.execute(insert, values)

    def status(self, update_: StatusUpdate) -> bool:
        """Record a status from the webhook; False for a message we do not know."""
        if update_.status not in _RANK:
            return False
        with self._db.transaction(write=True) as session:
            row = session.get(WhatsAppOutbound, update_.message_id)
            if row is None:
                return False
            if update_.status == "failed" or _RANK[update_.status] > _RANK[row.status]:
                session.execute(
                    update(WhatsAppOutbound)
                    .where(WhatsAppOutbound.wamid == update_.message_id)
                    .values(
                        status=update_.status,
                        error_code=update_.error_code,
                        error_title=(update_.error_title or None) and update_.error_title[:255],
                        updated_at=self._clock(),
                    )
                )
            return True

    def outbound(self, wamid: str) -> tuple[str, int | None] | None:
        """The status of a message we sent and its error code, if any."""
        with self._db.transaction() as session:
            row = session.get(WhatsAppOutbound, wamid)
            return (row.status, row.error_code) if row else None
