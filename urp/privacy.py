"""The citizen's right to erasure, and how long personal data is kept (GDPR).

Two jobs, one home:

- :meth:`PrivacyService.erase` — «cancella i miei dati», confirmed in the chat: the
  subscription (the row, its consents and topics, the salted hash that recognises a
  returning subscriber), the chats handed over to the office (their messages deleted, the
  number replaced by ``cancellata-<id>``), the number on the citizen's reports, the
  WhatsApp delivery records and 24-hour window, the consent log (every opt-in and opt-out,
  Meta's marketing stop included). The report itself stays, for the office's work,
  without the number.
- :meth:`PrivacyService.purge` — retention (``privacy.retention_days`` of the settings):
  the messages of handoffs closed before the cut-off, the numbers of older reports, the
  WhatsApp delivery records, the trainers' review inbox (masked messages), the consent
  log's older events except those still in force (see :func:`_expired_consent_events`).

The conversations themselves live in Rasa's tracker store (:class:`TrackerEvents`): the
events older than the retention period are deleted, and so are all the events of a
citizen who asked for erasure. The latter cannot happen inside the chat's turn (Rasa
saves the turn after the action, and would write the session back), so
``urp privacy purge`` and the console's background job do it minutes later, recognising
the request by its action in the tracker store itself: no list of numbers is kept.

Audit rows say what was erased and how much, never whose.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

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
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from urp.core.clock import Clock, utc_now
from urp.core.db import Database, hide_values
from urp.core.errors import OperatorError
from urp.core.hashing import UserHasher
from urp.core.models import (
    OPEN_STATUSES,
    RESOLVED,
    AuditEvent,
    BroadcastRecipient,
    ConsentEvent,
    Handoff,
    HandoffMessage,
    HandoffNote,
    HandoffRating,
    InboundDelivery,
    Report,
    ReviewItem,
    Subscriber,
    WebOutboxMessage,
    WhatsAppContact,
    WhatsAppOutbound,
)
from urp.core.settings import PROJECT_ROOT

ERASE_ACTION = "action_erase_my_data"  # the chat's action: the request, in the tracker store
ERASED_NUMBER = ""  # what a report keeps instead of the number
SYSTEM = "sistema"
TRACKER_STORE_URL_ENV = "URP_TRACKER_STORE_URL"
TRACKER_DB_ENV = "URP_TRACKER_DB"
DEFAULT_TRACKER_DB = "var/rasa-tracker.db"
WHATSAPP = "whatsapp"
TWILIO = "twilio"
ERASE_AUDIT = "privacy_erase"
CITIZEN_REQUEST = "richiesta del cittadino"
# Events on RabbitMQ (production profile): each expires, and an erasure is announced.
ERASURE_EVENT = "urp_conversation_erased"
EVENTS_TTL_ENV = "URP_EVENTS_TTL_DAYS"
DEFAULT_EVENTS_TTL_DAYS = 7.0


def anonymous_conversation(handoff_id: int) -> str:
    return f"cancellata-{handoff_id}"


def number_senders(number: str) -> tuple[tuple[str, str], ...]:
    """(channel, conversation id) a WhatsApp number writes from: the Cloud API's sender
    is the digits, Twilio's ``whatsapp:+<digits>``."""
    return ((WHATSAPP, number), (TWILIO, f"whatsapp:+{number}"))


def _required_operator(operator: str) -> str:
    name = operator.strip()
    if not name:
        raise ValueError("an erasure requested outside the chat needs the operator's name")
    return name[:128]


def _office_request(by: str, reference: str) -> str:
    request = f"richiesta per e-mail o PEC, per {by}"
    reference = " ".join(reference.split())[:64]
    return f"{request} (protocollo {reference})" if reference else request


@dataclass(frozen=True)
class ErasureResult:
    subscription: bool  # there was one, now gone
    handoffs: int
    reports: int
    # False: found by a label whose subscriber had left, so the number was already gone and
    # nothing else could be traced to them.
    number_known: bool = True

    @property
    def anything(self) -> bool:
        return self.subscription or bool(self.handoffs or self.reports)


@dataclass(frozen=True)
class PurgeResult:
    handoffs: int  # closed handoffs whose messages and number went
    reports: int  # reports that lost the number
    deliveries: int  # WhatsApp delivery records deleted
    review_items: int = 0  # messages of the trainers' inbox last seen before the cut-off
    tracker_events: int = 0  # Rasa events deleted (old ones and erasure requests)
    erased_conversations: int = 0
    consent_events: int = 0  # events of the consent log no longer in force


class PrivacyService:
    def __init__(self, database: Database, hasher: UserHasher, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._hash = hasher
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def erase(self, channel: str, user_id: str) -> ErasureResult:
        """Everything the store holds about this citizen, in one transaction."""
        now = self._clock()
        with self._db.transaction(write=True) as session:
            result = self._erase(session, channel, user_id, now)
            session.add(self._audit(now, SYSTEM, CITIZEN_REQUEST, result))
        return result

    def erase_number(self, number: str, *, operator: str, reference: str = "") -> ErasureResult:
        """A request by e-mail or PEC naming the phone number (WhatsApp digits, see
        :func:`urp.subscription.files.whatsapp_number`): every channel it can write from."""
        operator = _required_operator(operator)
        now = self._clock()
        with self._db.transaction(write=True) as session:
            results = [
                self._erase(session, channel, user_id, now)
                for channel, user_id in number_senders(number)
            ]
            # Messages acknowledged but not answered yet (seconds, unless Rasa is down): not
            # in the chat's own erasure, which would lose what the citizen writes right after.
            for channel, user_id in number_senders(number):
                session.execute(
                    delete(InboundDelivery).where(
                        InboundDelivery.channel == channel,
                        InboundDelivery.sender_key == self._hash(channel, user_id),
                    )
                )
            result = ErasureResult(
                any(r.subscription for r in results),
                sum(r.handoffs for r in results),
                sum(r.reports for r in results),
            )
            session.add(self._audit(now, operator, _office_request("numero", reference), result))
        return result

    def conversations_of_label(self, label_number: int) -> tuple[str, ...]:
        """The conversation id (the number) a subscriber's label leads to, if still known."""
        with self._db.transaction() as session:
            user_id = session.execute(
                select(Subscriber.user_id).where(Subscriber.id == label_number)
            ).scalar_one_or_none()
        return (user_id,) if user_id else ()

    def erase_label(
        self, label_number: int, *, operator: str, reference: str = ""
    ) -> ErasureResult | None:
        """A request by e-mail or PEC naming the subscriber's label ("Utente 00042").

        A subscriber who left no longer has the number: only the label, dates and consents
        can go (``number_known`` False). None if there is no such label.
        """
        operator = _required_operator(operator)
        now = self._clock()
        with self._db.transaction(write=True) as session:
            subscriber = session.execute(
                select(Subscriber.channel, Subscriber.user_id, Subscriber.user_hash).where(
                    Subscriber.id == label_number
                )
            ).first()
            if subscriber is None:
                result = None
            elif subscriber.user_id:
                result = self._erase(session, subscriber.channel, subscriber.user_id, now)
            else:
                # The hash outlives the number: the consent log knows them by it.
                self._forget_consents(session, subscriber.user_hash)
                self._forget_subscribers(session, Subscriber.id == label_number)
                result = ErasureResult(True, 0, 0, number_known=False)
            session.add(self._audit(now, operator, _office_request("etichetta", reference), result))
        return result

    def _erase(self, session: Session, channel: str, user_id: str, now: datetime) -> ErasureResult:
        user_hash = self._hash(channel, user_id)
        subscription = self._forget_subscribers(
            session, Subscriber.channel == channel, Subscriber.user_hash == user_hash
        )
        handoff_ids = list(
            session.scalars(select(Handoff.id).where(Handoff.conversation_id == user_id))
        )
        self._anonymise_handoffs(session, handoff_ids, now)
        reports = session.execute(
            update(Report)
            .where(Report.channel == channel, Report.user_id == user_id)
            .values(user_id=ERASED_NUMBER)
        ).rowcount
        self._forget_consents(session, user_hash)
        # What the web chat still keeps for the citizen's widget (urp.widget.outbox).
        session.execute(delete(WebOutboxMessage).where(WebOutboxMessage.conversation_id == user_id))
        if channel == WHATSAPP:
            session.execute(delete(WhatsAppContact).where(WhatsAppContact.user_hash == user_hash))
            session.execute(delete(WhatsAppOutbound).where(WhatsAppOutbound.user_hash == user_hash))
        return ErasureResult(bool(subscription), len(handoff_ids), reports)

    @staticmethod
    def _forget_consents(session: Session, user_hash: str) -> None:
        """The citizen's whole consent log, Meta's marketing stop included: once erased
        they are nobody to this service, and a new subscription starts a new log."""
        session.execute(delete(ConsentEvent).where(ConsentEvent.user_hash == user_hash))

    @staticmethod
    def _forget_subscribers(session: Session, *where: ColumnElement[bool]) -> int:
        """Delete subscribers (consents and topics go with them), how many."""
        # The broadcasts they received keep counting them, anonymously (the foreign key
        # would set the subscriber to NULL too); Meta's message id encodes the number.
        session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.subscriber_id.in_(select(Subscriber.id).where(*where)))
            .values(subscriber_id=None, wamid=None)
            .execution_options(synchronize_session=False)
        )
        return session.execute(delete(Subscriber).where(*where)).rowcount

    @staticmethod
    def _audit(
        now: datetime, operator: str, request: str, result: ErasureResult | None
    ) -> AuditEvent:
        if result is None or not result.anything:
            detail = f"{request}: nessun dato trovato"
        else:
            detail = (
                f"{request}: iscrizione {'sì' if result.subscription else 'no'}, "
                f"{result.handoffs} conversazioni con l'URP, {result.reports} segnalazioni"
            )
            if not result.number_known:
                detail += " (numero non più conservato)"
        return AuditEvent(at=now, operator=operator, action=ERASE_AUDIT, detail=detail)

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
            # Meta's message ids encode the recipient's number: old broadcasts keep their counts.
            session.execute(
                update(BroadcastRecipient)
                .where(BroadcastRecipient.updated_at < cutoff, BroadcastRecipient.wamid.isnot(None))
                .values(wamid=None)
            )
            # The trainers' inbox holds masked messages only, but no longer than the rest.
            review = session.execute(
                delete(ReviewItem).where(ReviewItem.last_seen_at < cutoff)
            ).rowcount
            consents = session.execute(
                delete(ConsentEvent)
                .where(_expired_consent_events(cutoff))
                .execution_options(synchronize_session=False)
            ).rowcount
            if handoff_ids or reports or deliveries or review or consents:
                session.add(
                    AuditEvent(
                        at=now,
                        operator=SYSTEM,
                        action="privacy_purge",
                        detail=(
                            f"conservazione {retention.days} giorni: {len(handoff_ids)} "
                            f"conversazioni con l'URP, {reports} segnalazioni, "
                            f"{deliveries} esiti di consegna, {review} messaggi da rivedere, "
                            f"{consents} eventi del registro dei consensi"
                        ),
                    )
                )
        return PurgeResult(
            len(handoff_ids), reports, deliveries, review_items=review, consent_events=consents
        )

    @staticmethod
    def _anonymise_handoffs(session, handoff_ids: list[int], now: datetime) -> None:
        if not handoff_ids:
            return
        session.execute(delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(handoff_ids)))
        session.execute(delete(HandoffNote).where(HandoffNote.handoff_id.in_(handoff_ids)))
        # The stars stay for the statistics; the comment may quote the citizen.
        session.execute(
            update(HandoffRating)
            .where(HandoffRating.handoff_id.in_(handoff_ids))
            .values(pending_conversation=None, awaiting=None, pending_until=None, comment=None)
            .execution_options(synchronize_session=False)
        )
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


# The one event per citizen and scope that retention keeps, however old, if it is the last:
# the consent behind an active subscription (GDPR art. 7(1): the Comune must be able to
# show it as long as it sends), and Meta's marketing stop (the broadcast worker honours
# it). Anything else older than the cut-off has done its job.
_IN_FORCE = {"service": "given", "marketing": "withdrawn"}


def _expired_consent_events(cutoff: datetime) -> ColumnElement[bool]:
    """Events before ``cutoff`` that are superseded, or last but no longer in force."""
    later = ConsentEvent.__table__.alias("later")
    superseded = (
        select(later.c.id)
        .where(
            later.c.user_hash == ConsentEvent.user_hash,
            later.c.scope == ConsentEvent.scope,
            (later.c.at > ConsentEvent.at)
            | ((later.c.at == ConsentEvent.at) & (later.c.id > ConsentEvent.id)),
        )
        .exists()
    )
    in_force = or_(
        *(
            (ConsentEvent.scope == scope) & (ConsentEvent.action == action)
            for scope, action in _IN_FORCE.items()
        )
    )
    return (ConsentEvent.at < cutoff) & (superseded | ~in_force)


def events_ttl_days(environ: Mapping[str, str] = os.environ) -> float:
    """Days an event lives on RabbitMQ (``URP_EVENTS_TTL_DAYS``, default 7)."""
    value = environ.get(EVENTS_TTL_ENV) or str(DEFAULT_EVENTS_TTL_DAYS)
    try:
        days = float(value)
    except ValueError:
        days = 0.0
    if not days > 0:
        raise OperatorError(f"{EVENTS_TTL_ENV} vuole un numero di giorni positivo, non {value!r}")
    return days


def erasure_event(sender_id: str, at: float) -> dict[str, Any]:
    """What consumers of the events receive when a citizen's data is erased."""
    return {"event": ERASURE_EVENT, "sender_id": sender_id, "timestamp": at}


def publish_erasures(sender_ids: Sequence[str], environ: Mapping[str, str] = os.environ) -> bool:
    """Tell whoever consumes the production profile's events on RabbitMQ (the exchange the
    replicas publish to, ``RABBITMQ_*``) that these conversations were erased, as the
    replicas do for an erasure in the chat. False where there is no RabbitMQ to tell
    (the variables unset, or no replica ever declared the exchange).
    """
    host, exchange = environ.get("RABBITMQ_HOST"), environ.get("RABBITMQ_EXCHANGE")
    if not host or not exchange or not sender_ids:
        return False
    ttl = events_ttl_days(environ) * 86_400
    return asyncio.run(_publish_erasures(host, exchange, sender_ids, ttl, environ))


async def _publish_erasures(
    host: str,
    exchange_name: str,
    sender_ids: Sequence[str],
    ttl: float,
    environ: Mapping[str, str],
) -> bool:
    import aio_pika
    from aio_pika.exceptions import ChannelNotFoundEntity
    from yarl import URL

    user = environ.get("RABBITMQ_USERNAME") or "guest"
    password = environ.get("RABBITMQ_PASSWORD") or "guest"
    if host.startswith("amqp"):  # a full URL, as Rasa's Pika broker also accepts
        url = URL(host)
        if url.user is None:
            url = url.with_user(user).with_password(password)
        connection = await aio_pika.connect(url)
    else:
        port = int(environ.get("RABBITMQ_PORT") or 5672)
        connection = await aio_pika.connect(host=host, port=port, login=user, password=password)
    async with connection:
        channel = await connection.channel()  # with publisher confirms: published is stored
        try:
            exchange = await channel.get_exchange(exchange_name, ensure=True)
        except ChannelNotFoundEntity:
            return False
        at = time.time()
        for sender_id in sender_ids:
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(erasure_event(sender_id, at)).encode(),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    expiration=ttl,
                ),
                routing_key="",
            )
    return True


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
        hide_values(self._engine)

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

    def erase(self, sender_ids: Iterable[str]) -> int:
        """Delete every event of these conversations now; how many.

        For requests outside the chat: the conversation is not in the middle of a turn.
        """
        senders = list(sender_ids)
        if not senders or not self.exists():
            return 0
        with self._engine.begin() as connection:
            return connection.execute(
                delete(_events).where(_events.c.sender_id.in_(senders))
            ).rowcount

    def dispose(self) -> None:
        self._engine.dispose()


def purge_all(
    protection: PrivacyService, tracker: TrackerEvents | None, retention: timedelta
) -> PurgeResult:
    """The whole retention job: the store, then Rasa's conversations."""
    result = protection.purge(retention)
    if tracker is None:
        return result
    deleted, erased = tracker.purge(protection.now() - retention)
    return replace(result, tracker_events=deleted, erased_conversations=erased)
