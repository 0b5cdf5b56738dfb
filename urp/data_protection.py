"""The citizen's right to erasure, and how long personal data is kept (GDPR).

Two jobs, one home:

- :meth:`DataProtection.erase` — «cancella i miei dati», confirmed in the chat: the
  subscription (the row, its consents and topics, the salted hash that recognises a
  returning subscriber), the chats handed over to the office (their messages deleted, the
  number replaced by ``cancellata-<id>``), the number on the citizen's reports, the
  WhatsApp delivery records and 24-hour window. The report itself stays, for the office's
  work, without the number.
- :meth:`DataProtection.purge` — retention (``privacy.retention_days`` of the settings):
  the messages of handoffs closed before the cut-off, the numbers of older reports, the
  WhatsApp delivery records, the trainers' review inbox (masked messages).

The conversations themselves live in Rasa's tracker store (:class:`TrackerEvents`): the
events older than the retention period are deleted, and so are all the events of a
citizen who asked for erasure. The latter cannot happen inside the chat's turn (Rasa
saves the turn after the action, and would write the session back), so
``urp privacy purge`` and the console's background job do it minutes later, recognising
the request by its action in the tracker store itself: no list of numbers is kept.

Audit rows say what was erased and how much, never whose.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Float,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine

from urp.db import Database
from urp.models import (
    OPEN_STATUSES,
    RESOLVED,
    AuditEvent,
    Handoff,
    HandoffMessage,
    Report,
    ReviewItem,
    Subscriber,
    WhatsAppContact,
    WhatsAppOutbound,
)
from urp.privacy import UserHasher
from urp.settings import PROJECT_ROOT
from urp.subscribers import Clock, utc_now

ERASE_ACTION = "action_erase_my_data"  # the chat's action: the request, in the tracker store
ERASED_NUMBER = ""  # what a report keeps instead of the number
SYSTEM = "sistema"
TRACKER_STORE_URL_ENV = "URP_TRACKER_STORE_URL"
TRACKER_DB_ENV = "URP_TRACKER_DB"
DEFAULT_TRACKER_DB = "var/rasa-tracker.db"
WHATSAPP = "whatsapp"


def anonymous_conversation(handoff_id: int) -> str:
    return f"cancellata-{handoff_id}"


@dataclass(frozen=True)
class ErasureResult:
    subscription: bool  # there was one, now gone
    handoffs: int
    reports: int


@dataclass(frozen=True)
class PurgeResult:
    handoffs: int  # closed handoffs whose messages and number went
    reports: int  # reports that lost the number
    deliveries: int  # WhatsApp delivery records deleted
    review_items: int = 0  # messages of the trainers' inbox last seen before the cut-off
    tracker_events: int = 0  # Rasa events deleted (old ones and erasure requests)
    erased_conversations: int = 0


class DataProtection:
    def __init__(self, database: Database, hasher: UserHasher, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._hash = hasher
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def erase(self, channel: str, user_id: str) -> ErasureResult:
        """Everything the store holds about this citizen, in one transaction."""
        now = self._clock()
        user_hash = self._hash(channel, user_id)
        with self._db.transaction(write=True) as session:
            subscription = session.execute(
                delete(Subscriber).where(
                    Subscriber.channel == channel, Subscriber.user_hash == user_hash
                )
            ).rowcount
            handoff_ids = list(
                session.scalars(select(Handoff.id).where(Handoff.conversation_id == user_id))
            )
            self._anonymise_handoffs(session, handoff_ids, now)
            reports = session.execute(
                update(Report)
                .where(Report.channel == channel, Report.user_id == user_id)
                .values(user_id=ERASED_NUMBER)
            ).rowcount
            if channel == WHATSAPP:
                whatsapp_hash = self._hash(WHATSAPP, user_id)
                session.execute(
                    delete(WhatsAppContact).where(WhatsAppContact.user_hash == whatsapp_hash)
                )
                session.execute(
                    delete(WhatsAppOutbound).where(WhatsAppOutbound.user_hash == whatsapp_hash)
                )
            session.add(
                AuditEvent(
                    at=now,
                    operator=SYSTEM,
                    action="privacy_erase",
                    detail=(
                        f"richiesta del cittadino: iscrizione {'sì' if subscription else 'no'}, "
                        f"{len(handoff_ids)} conversazioni con l'URP, {reports} segnalazioni"
                    ),
                )
            )
        return ErasureResult(bool(subscription), len(handoff_ids), reports)

    def purge(self, retention: timedelta) -> PurgeResult:
        """Delete or anonymise what is older than ``retention``."""
        now = self._clock()
        cutoff = now - retention
        with self._db.transaction(write=True) as session:
            handoff_ids = list(
                session.scalars(
                    select(Handoff.id).where(
                        Handoff.status == RESOLVED,
                        Handoff.resolved_at < cutoff,
                        ~Handoff.conversation_id.startswith("cancellata-"),
                    )
                )
            )
            self._anonymise_handoffs(session, handoff_ids, now)
            reports = session.execute(
                update(Report)
                .where(Report.created_at < cutoff, Report.user_id != ERASED_NUMBER)
                .values(user_id=ERASED_NUMBER)
            ).rowcount
            deliveries = session.execute(
                delete(WhatsAppOutbound).where(WhatsAppOutbound.sent_at < cutoff)
            ).rowcount
            session.execute(delete(WhatsAppContact).where(WhatsAppContact.last_inbound_at < cutoff))
            # The trainers' inbox holds masked messages only, but no longer than the rest.
            review = session.execute(
                delete(ReviewItem).where(ReviewItem.last_seen_at < cutoff)
            ).rowcount
            if handoff_ids or reports or deliveries or review:
                session.add(
                    AuditEvent(
                        at=now,
                        operator=SYSTEM,
                        action="privacy_purge",
                        detail=(
                            f"conservazione {retention.days} giorni: {len(handoff_ids)} "
                            f"conversazioni con l'URP, {reports} segnalazioni, "
                            f"{deliveries} esiti di consegna, {review} messaggi da rivedere"
                        ),
                    )
                )
        return PurgeResult(len(handoff_ids), reports, deliveries, review_items=review)

    @staticmethod
    def _anonymise_handoffs(session, handoff_ids: list[int], now: datetime) -> None:
        if not handoff_ids:
            return
        session.execute(delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(handoff_ids)))
        for handoff_id in handoff_ids:
            session.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id)
                .values(conversation_id=anonymous_conversation(handoff_id))
            )
        session.execute(
            update(Handoff)
            .where(Handoff.id.in_(handoff_ids), Handoff.status.in_(OPEN_STATUSES))
            .values(status=RESOLVED, resolved_at=now, last_activity_at=now)
        )


def tracker_store_url() -> str:
    """Rasa's SQL tracker store: ``URP_TRACKER_STORE_URL``, else the SQLite file of make run."""
    url = os.environ.get(TRACKER_STORE_URL_ENV)
    if url:
        return url
    path = os.environ.get(TRACKER_DB_ENV) or DEFAULT_TRACKER_DB
    absolute = path if os.path.isabs(path) else str(PROJECT_ROOT / path)
    return f"sqlite:///{absolute}"


_metadata = MetaData()
# The columns of Rasa 3.6's SQLTrackerStore that the purge reads (table "events").
_events = Table(
    "events",
    _metadata,
    Column("sender_id", String(255)),
    Column("action_name", String(255)),
    Column("timestamp", Float),
)


class TrackerEvents:
    """The ``events`` table of Rasa's SQL tracker store."""

    def __init__(self, url: str) -> None:
        self._engine: Engine = create_engine(url, future=True, pool_pre_ping=True)

    @classmethod
    def from_environment(cls) -> TrackerEvents:
        return cls(tracker_store_url())

    def exists(self) -> bool:
        return inspect(self._engine).has_table("events")

    def purge(self, cutoff: datetime) -> tuple[int, int]:
        """Delete the events before ``cutoff`` and every event of whoever asked for erasure.

        Returns (events deleted, conversations erased on request).
        """
        if not self.exists():
            return 0, 0
        with self._engine.begin() as connection:
            requested = select(_events.c.sender_id).where(_events.c.action_name == ERASE_ACTION)
            erased = connection.execute(
                select(func.count(func.distinct(_events.c.sender_id))).where(
                    _events.c.action_name == ERASE_ACTION
                )
            ).scalar_one()
            deleted = connection.execute(
                delete(_events).where(_events.c.sender_id.in_(requested))
            ).rowcount
            deleted += connection.execute(
                delete(_events).where(_events.c.timestamp < cutoff.timestamp())
            ).rowcount
        return deleted, erased

    def dispose(self) -> None:
        self._engine.dispose()


def purge_all(
    protection: DataProtection, tracker: TrackerEvents | None, retention: timedelta
) -> PurgeResult:
    """The whole retention job: the store, then Rasa's conversations."""
    result = protection.purge(retention)
    if tracker is None:
        return result
    deleted, erased = tracker.purge(protection.now() - retention)
    return replace(result, tracker_events=deleted, erased_conversations=erased)
