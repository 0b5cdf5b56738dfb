"""The subscriber register: subscribe, unsubscribe, topics, status, export, import.

Plain Python for the Rasa actions, the channels and the operator CLI alike. A subscriber
is known by the channel and a salted hash of the channel's user id (see
:mod:`urp.core.hashing`); the user id itself (the WhatsApp number) is kept only while the
subscription is active. Every method runs in one transaction and returns a small frozen
result; times are timezone-aware UTC.

Each consent and revocation also goes to the consent log (:mod:`urp.subscription.consents`),
in the same transaction; so does a double opt-in's request, until its «SÌ» subscribes.

Two requests for the same number at the same moment (two threads, two processes) end
in one subscriber: the insert is ``INSERT ... ON CONFLICT DO NOTHING`` on the unique
(channel, user_hash) pair, and the database decides which one wins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.models import ACTIVE, CANCELLED, AuditEvent, Consent, Subscriber, SubscriberTopic
from urp.core.settings import SubscriptionSettings
from urp.subscription.consents import (
    GIVEN,
    REQUESTED,
    SERVICE,
    WITHDRAWN,
    ConsentSource,
    add_event,
    event_topics,
    latest_event,
)
from urp.subscription.results import (
    ConfirmOutcome,
    ConfirmResult,
    DropResult,
    ExportRow,
    FollowResult,
    ImportReport,
    ImportRow,
    SkippedRow,
    SkipReason,
    SubscribeOutcome,
    SubscribeResult,
    SubscriberStatus,
    UnknownTopicError,
    UnsubscribeOutcome,
    UnsubscribeResult,
)
from urp.subscription.stats import SubscriberStats, subscriber_stats

logger = logging.getLogger(__name__)

Hasher = Callable[[str, str], str]  # (channel, user_id) -> hash, e.g. urp.core.hashing.UserHasher
EXPORT_NUMBERS_ACTION = "export_numbers"


class SubscriberService:
    """Operations on the register of one database, with the municipality's topics."""

    def __init__(
        self,
        database: Database,
        settings: SubscriptionSettings,
        hasher: Hasher,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._settings = settings
        self._hash = hasher
        self._clock = clock

    # -- citizens --------------------------------------------------------------------------

    def subscribe(
        self,
        channel: str,
        user_id: str,
        message: str,
        policy_version: str,
        topics: Iterable[str] = (),
    ) -> SubscribeResult:
        """Subscribe to the default topic plus ``topics``; the message is the consent."""
        wanted = self._topic_keys((self._settings.default_topic, *topics))
        key = self._key(channel, user_id)
        with self._db.transaction(write=True) as session:
            outcome, subscriber = self._enrol(
                session, key, user_id, message, policy_version, wanted
            )
            if outcome == SubscribeOutcome.ALREADY_ACTIVE:
                wanted = self._followed(session, subscriber.id)  # nothing changes
            return SubscribeResult(outcome, self._settings.label(subscriber.id), wanted)

    def unsubscribe(
        self,
        channel: str,
        user_id: str,
        *,
        source: ConsentSource = ConsentSource.CHAT,
        message: str | None = None,
    ) -> UnsubscribeResult:
        """Stop everything at once and erase the number; label and dates stay.

        The revocation is logged even from someone not subscribed: it also cancels a
        double opt-in still waiting for its «SÌ», and it is what was asked.
        """
        key = self._key(channel, user_id)
        now = self._clock()
        with self._db.transaction(write=True) as session:
            add_event(session, key, WITHDRAWN, source, at=now, message=message)
            subscriber = self._find(session, key)
            if subscriber is None or subscriber.status != ACTIVE:
                label = self._settings.label(subscriber.id) if subscriber else None
                return UnsubscribeResult(UnsubscribeOutcome.NOT_SUBSCRIBED, label)
            subscriber.status = CANCELLED
            subscriber.cancelled_at = now
            subscriber.user_id = None
            session.execute(
                update(Consent)
                .where(Consent.subscriber_id == subscriber.id, Consent.withdrawn_at.is_(None))
                .values(withdrawn_at=now)
            )
            session.execute(
                delete(SubscriberTopic).where(SubscriberTopic.subscriber_id == subscriber.id)
            )
            return UnsubscribeResult(
                UnsubscribeOutcome.CANCELLED, self._settings.label(subscriber.id)
            )

    def follow(
        self,
        channel: str,
        user_id: str,
        topic_keys: Iterable[str],
        message: str,
        policy_version: str,
    ) -> FollowResult:
        """Follow topics; someone not subscribed gets the default topic plus these."""
        keys = self._topic_keys(topic_keys, required=True)
        default_and_keys = self._topic_keys((self._settings.default_topic, *keys))
        key = self._key(channel, user_id)
        with self._db.transaction(write=True) as session:
            outcome, subscriber = self._enrol(
                session, key, user_id, message, policy_version, default_and_keys
            )
            label = self._settings.label(subscriber.id)
            if outcome != SubscribeOutcome.ALREADY_ACTIVE:
                return FollowResult(outcome, label, default_and_keys, default_and_keys)
            before = set(self._followed(session, subscriber.id))
            added = tuple(k for k in keys if k not in before)
            self._add_topics(session, subscriber.id, added)
            if added:
                add_event(
                    session,
                    key,
                    GIVEN,
                    ConsentSource.CHAT,
                    at=self._clock(),
                    policy_version=policy_version,
                    topics=added,
                    message=message,
                )
            return FollowResult(outcome, label, added, self._followed(session, subscriber.id))

    def drop(self, channel: str, user_id: str, topic_keys: Iterable[str]) -> DropResult:
        """Stop following topics. Never unsubscribes, even when no topic remains."""
        keys = self._topic_keys(topic_keys, required=True)
        key = self._key(channel, user_id)
        with self._db.transaction(write=True) as session:
            subscriber = self._find(session, key)
            if subscriber is None or subscriber.status != ACTIVE:
                return DropResult(False, None, (), ())
            before = self._followed(session, subscriber.id)
            removed = tuple(k for k in before if k in keys)
            session.execute(
                delete(SubscriberTopic).where(
                    SubscriberTopic.subscriber_id == subscriber.id,
                    SubscriberTopic.topic.in_(removed),
                )
            )
            remaining = tuple(k for k in before if k not in removed)
            return DropResult(True, self._settings.label(subscriber.id), removed, remaining)

    def request(
        self,
        channel: str,
        user_id: str,
        message: str,
        policy_version: str,
        topics: Iterable[str] = (),
    ) -> tuple[str, ...]:
        """Double opt-in, first step: log that the notice was shown and what was asked for.

        Nothing is subscribed yet; returns the topics a «SÌ» would start (the default one
        first). The caller checks that the citizen is not subscribed already.
        """
        wanted = self._topic_keys((self._settings.default_topic, *topics))
        key = self._key(channel, user_id)
        with self._db.transaction(write=True) as session:
            add_event(
                session,
                key,
                REQUESTED,
                ConsentSource.CHAT,
                at=self._clock(),
                policy_version=policy_version,
                topics=wanted,
                message=message,
            )
        return wanted

    def confirm(
        self,
        channel: str,
        user_id: str,
        message: str,
        policy_version: str,
        *,
        confirmed: bool,
    ) -> ConfirmResult:
        """Double opt-in, second step: ``confirmed`` says whether the answer was a «sì».

        Subscribes to what was asked for, with the notice version that was shown, only if
        the last word of this citizen was the request and it is at most ``confirm_minutes``
        old; anything else leaves the citizen as they were.
        """
        key = self._key(channel, user_id)
        now = self._clock()
        with self._db.transaction(write=True) as session:
            asked = latest_event(session, key[1], SERVICE, channel=key[0])
            if asked is None or asked.action != REQUESTED:
                return ConfirmResult(ConfirmOutcome.NO_REQUEST)
            if now - asked.at > timedelta(minutes=self._settings.confirm_minutes):
                return ConfirmResult(ConfirmOutcome.EXPIRED)
            if not confirmed:
                return ConfirmResult(ConfirmOutcome.NOT_CONFIRMED)
            known = [t for t in event_topics(asked) if t in self._settings.topics]
            wanted = self._topic_keys((self._settings.default_topic, *known))
            outcome, subscriber = self._enrol(
                session,
                key,
                user_id,
                message,
                asked.policy_version or policy_version,
                wanted,
                source=ConsentSource.CONFIRM,
            )
            if outcome == SubscribeOutcome.ALREADY_ACTIVE:
                wanted = self._followed(session, subscriber.id)
            result = SubscribeResult(outcome, self._settings.label(subscriber.id), wanted)
            return ConfirmResult(ConfirmOutcome.CONFIRMED, result)

    def status(self, channel: str, user_id: str) -> SubscriberStatus:
        """Is this user subscribed, since when, to which topics."""
        key = self._key(channel, user_id)
        with self._db.transaction() as session:
            subscriber = self._find(session, key, lock=False)
            if subscriber is None:
                return SubscriberStatus(False, None, None, None, ())
            label = self._settings.label(subscriber.id)
            if subscriber.status != ACTIVE:
                return SubscriberStatus(False, label, None, subscriber.cancelled_at, ())
            topics = self._followed(session, subscriber.id)
            return SubscriberStatus(True, label, subscriber.subscribed_at, None, topics)

    # -- operators -------------------------------------------------------------------------

    def stats(self, timezone: tzinfo) -> SubscriberStats:
        """Totals, month by month (in ``timezone``) since the first subscription, by topic."""
        with self._db.transaction() as session:
            return subscriber_stats(session, self._settings.topics, self._clock(), timezone)

    def export_rows(
        self, *, with_numbers: bool = False, operator: str | None = None, destination: str = ""
    ) -> list[ExportRow]:
        """Every subscriber by label; phone numbers only on request, recorded with who asked."""
        operator = (operator or "").strip()
        if with_numbers and not operator:
            raise ValueError("exporting phone numbers requires the operator's name")
        with self._db.transaction(write=with_numbers) as session:
            subscribers = session.execute(select(Subscriber).order_by(Subscriber.id)).scalars()
            rows = [
                ExportRow(
                    self._settings.label(s.id),
                    s.status == ACTIVE,
                    s.subscribed_at,
                    s.cancelled_at,
                    s.user_id if with_numbers else None,
                )
                for s in subscribers
            ]
            if with_numbers:
                numbers = sum(row.number is not None for row in rows)
                detail = f"{numbers} numeri di telefono esportati"
                if destination:
                    detail += f" in {destination}"
                session.add(
                    AuditEvent(
                        at=self._clock(),
                        operator=operator,
                        action=EXPORT_NUMBERS_ACTION,
                        detail=detail,
                    )
                )
                logger.warning("Esportazione con numeri richiesta da %s: %s", operator, detail)
        return rows

    def import_rows(
        self, rows: Iterable[ImportRow], channel: str, policy_version: str
    ) -> ImportReport:
        """Add subscribers from an office's spreadsheet, keeping their label numbers.

        A number already present, or a label already used by another number, is skipped
        and reported. New subscribers afterwards get labels above the highest one.
        """
        imported = 0
        skipped: list[SkippedRow] = []
        with self._db.transaction(write=True) as session:
            if self._db.dialect == "postgresql":
                # Live subscriptions wait until the labels and the sequence are settled.
                session.execute(text("LOCK TABLE subscribers IN SHARE ROW EXCLUSIVE MODE"))
            for row in rows:
                label = self._settings.label(row.label_number)
                key = self._key(channel, row.user_id)
                inserted = session.execute(
                    self._db.upsert_insert(Subscriber)
                    .values(
                        id=row.label_number,
                        channel=key[0],
                        user_hash=key[1],
                        user_id=row.user_id,
                        status=ACTIVE,
                        subscribed_at=row.subscribed_at,
                    )
                    .on_conflict_do_nothing()
                ).rowcount
                if inserted:
                    session.add(
                        Consent(
                            subscriber_id=row.label_number,
                            given_at=row.subscribed_at,
                            policy_version=policy_version,
                        )
                    )
                    add_event(
                        session,
                        key,
                        GIVEN,
                        ConsentSource.IMPORT,
                        at=row.subscribed_at,
                        policy_version=policy_version,
                        topics=(self._settings.default_topic,),
                    )
                    self._add_topics(
                        session,
                        row.label_number,
                        (self._settings.default_topic,),
                        row.subscribed_at,
                    )
                    imported += 1
                    continue
                existing = self._find(session, key, lock=False)
                if existing is not None:
                    detail = f"già registrato come {self._settings.label(existing.id)}"
                    skipped.append(SkippedRow(row.line, label, SkipReason.NUMBER_PRESENT, detail))
                else:
                    skipped.append(SkippedRow(row.line, label, SkipReason.LABEL_TAKEN))
            session.flush()
            if imported and self._db.dialect == "postgresql":
                # Explicit ids do not advance the sequence: move it past the highest label,
                # never back (labels of deleted rows stay used).
                session.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('subscribers', 'id'), GREATEST("
                        "(SELECT max(id) FROM subscribers), COALESCE(pg_sequence_last_value("
                        "pg_get_serial_sequence('subscribers', 'id')::regclass), 0)))"
                    )
                )
        return ImportReport(imported, tuple(skipped))

    # -- internals -------------------------------------------------------------------------

    def _key(self, channel: str, user_id: str) -> tuple[str, str]:
        if not channel or len(channel) > 32:
            raise ValueError(f"invalid channel name: {channel!r}")
        if not user_id or len(user_id) > 128:
            raise ValueError("the user id must be 1 to 128 characters long")
        return channel, self._hash(channel, user_id)

    def _topic_keys(self, keys: Iterable[str], *, required: bool = False) -> tuple[str, ...]:
        unique = tuple(dict.fromkeys(keys))
        unknown = [k for k in unique if k not in self._settings.topics]
        if unknown:
            raise UnknownTopicError(f"unknown topic(s): {', '.join(unknown)}")
        if required and not unique:
            raise ValueError("no topic given")
        return unique

    def _find(
        self, session: Session, key: tuple[str, str], *, lock: bool = True
    ) -> Subscriber | None:
        query = select(Subscriber).where(
            Subscriber.channel == key[0], Subscriber.user_hash == key[1]
        )
        if lock:
            # PostgreSQL: concurrent changes to one subscriber queue up here. SQLite needs
            # nothing: its writers already hold the database lock (BEGIN IMMEDIATE).
            query = query.with_for_update()
        return session.execute(query).scalar_one_or_none()

    def _enrol(
        self,
        session: Session,
        key: tuple[str, str],
        user_id: str,
        message: str,
        policy_version: str,
        topics: tuple[str, ...],
        *,
        source: ConsentSource = ConsentSource.CHAT,
    ) -> tuple[SubscribeOutcome, Subscriber]:
        now = self._clock()
        subscriber = self._find(session, key)
        outcome = SubscribeOutcome.REACTIVATED
        if subscriber is None:
            # The look-up above only spares PostgreSQL a sequence number on the common
            # "already there" path; the conflict clause is what settles a race.
            inserted = session.execute(
                self._db.upsert_insert(Subscriber)
                .values(
                    channel=key[0],
                    user_hash=key[1],
                    user_id=user_id,
                    status=ACTIVE,
                    subscribed_at=now,
                )
                .on_conflict_do_nothing(index_elements=["channel", "user_hash"])
            ).rowcount
            subscriber = self._find(session, key)
            if inserted:
                outcome = SubscribeOutcome.CREATED
        if outcome == SubscribeOutcome.REACTIVATED:
            if subscriber.status == ACTIVE:
                return SubscribeOutcome.ALREADY_ACTIVE, subscriber
            subscriber.status = ACTIVE
            subscriber.user_id = user_id
            subscriber.subscribed_at = now
            subscriber.cancelled_at = None
        session.add(
            Consent(
                subscriber_id=subscriber.id,
                given_at=now,
                policy_version=policy_version,
                message=message,
            )
        )
        add_event(
            session,
            key,
            GIVEN,
            source,
            at=now,
            policy_version=policy_version,
            topics=topics,
            message=message,
        )
        self._add_topics(session, subscriber.id, topics, now)
        return outcome, subscriber

    def _add_topics(
        self,
        session: Session,
        subscriber_id: int,
        topics: Iterable[str],
        at: datetime | None = None,
    ) -> None:
        followed_at = at or self._clock()
        values = [
            {"subscriber_id": subscriber_id, "topic": topic, "followed_at": followed_at}
            for topic in topics
        ]
        if values:
            session.execute(
                self._db.upsert_insert(SubscriberTopic).on_conflict_do_nothing(), values
            )

    def _followed(self, session: Session, subscriber_id: int) -> tuple[str, ...]:
        keys = session.execute(
            select(SubscriberTopic.topic).where(SubscriberTopic.subscriber_id == subscriber_id)
        ).scalars()
        order = {key: index for index, key in enumerate(self._settings.topics)}
        return tuple(sorted(keys, key=lambda k: (order.get(k, len(order)), k)))
