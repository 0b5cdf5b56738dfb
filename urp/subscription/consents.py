"""The consent log: each opt-in and opt-out, timestamped, never changed afterwards.

Why a log beside the register: the register says who is subscribed now; a Comune must
also be able to show *when* and *how* each citizen said yes or no (GDPR art. 7(1), Meta's
opt-in policy). Every row is one event of one scope:

- ``service``: the broadcast service. ``requested`` when a double opt-in asked «Rispondi
  SÌ» (with the notice's version and the topics asked for), ``given`` on «Iscrivimi» (or the
  «SÌ»), ``withdrawn`` on «Cancellami» or «STOP».
- ``marketing``: Meta's marketing messages, as the ``user_preferences`` webhook reports a
  citizen's «stop» and «resume» from WhatsApp's own menu. Meta refuses marketing templates
  to whoever stopped them, so the broadcast worker asks :meth:`ConsentLog.marketing_opted_out`
  (or :meth:`ConsentLog.marketing_opted_out_among` for a batch) before it sends one.

A citizen is the salted hash of ``channel:user_id`` (:mod:`urp.core.hashing`), as in the
register: the number itself is never stored here, nor logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.models import ConsentEvent

logger = logging.getLogger(__name__)

Hasher = Callable[[str, str], str]  # (channel, user_id) -> hash

SERVICE = "service"
MARKETING = "marketing"
REQUESTED = "requested"
GIVEN = "given"
WITHDRAWN = "withdrawn"
# Meta's user_preferences webhook: only the marketing_messages category exists today.
META_MARKETING_CATEGORY = "marketing_messages"
META_STOP = "stop"
META_RESUME = "resume"
_BATCH = 500  # hashes per IN (...) query


class ConsentSource(Enum):
    CHAT = "chat"  # «Iscrivimi», «Cancellami», a topic asked for in the chat
    STOP = "stop"  # the «STOP» keyword
    CONFIRM = "confirm"  # the «SÌ» of a double opt-in
    IMPORT = "import"  # the office's spreadsheet of existing subscribers
    META = "meta"  # WhatsApp's own menu, reported by the user_preferences webhook


@dataclass(frozen=True)
class ConsentRecord:
    at: datetime
    channel: str
    scope: str
    action: str
    source: str
    policy_version: str | None
    topics: tuple[str, ...]
    message: str | None


def add_event(
    session: Session,
    key: tuple[str, str],
    action: str,
    source: ConsentSource,
    *,
    at: datetime,
    scope: str = SERVICE,
    policy_version: str | None = None,
    topics: Iterable[str] = (),
    message: str | None = None,
) -> None:
    """Append one event of ``key`` (channel, user hash) in the caller's transaction (the
    register's, so both or neither)."""
    session.add(
        ConsentEvent(
            at=at,
            channel=key[0],
            user_hash=key[1],
            scope=scope,
            action=action,
            source=source.value,
            policy_version=policy_version,
            topics=",".join(topics) or None,
            message=message,
        )
    )


def latest_event(
    session: Session, user_hash: str, scope: str, *, channel: str | None = None
) -> ConsentEvent | None:
    """The last event of a scope for a citizen (by the time it happened, then by arrival)."""
    query = select(ConsentEvent).where(
        ConsentEvent.user_hash == user_hash, ConsentEvent.scope == scope
    )
    if channel is not None:
        query = query.where(ConsentEvent.channel == channel)
    query = query.order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc()).limit(1)
    return session.execute(query).scalar_one_or_none()


def event_topics(event: ConsentEvent) -> tuple[str, ...]:
    return tuple(t for t in (event.topics or "").split(",") if t)


class ConsentLog:
    """Reads the log, and records what arrives outside the register (Meta's preferences)."""

    def __init__(self, database: Database, hasher: Hasher, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._hash = hasher
        self._clock = clock

    def record_marketing(
        self,
        channel: str,
        user_id: str,
        *,
        stopped: bool,
        at: datetime | None = None,
        detail: str | None = None,
    ) -> bool:
        """Meta says the citizen stopped (or resumed) marketing messages; False if a repeat.

        ``at`` is Meta's timestamp: deliveries can come late or twice, and the latest
        *event* wins, not the latest delivery.
        """
        user_hash = self._hash(channel, user_id)
        when = at or self._clock()
        action = WITHDRAWN if stopped else GIVEN
        with self._db.transaction(write=True) as session:
            repeated = session.execute(
                select(ConsentEvent.id).where(
                    ConsentEvent.user_hash == user_hash,
                    ConsentEvent.scope == MARKETING,
                    ConsentEvent.action == action,
                    ConsentEvent.at == when,
                )
            ).first()
            if repeated is not None:
                return False
            add_event(
                session,
                (channel, user_hash),
                action,
                ConsentSource.META,
                at=when,
                scope=MARKETING,
                message=(detail or "")[:500] or None,
            )
        logger.info(
            "Preferenza di Meta registrata: messaggi di marketing %s",
            "interrotti" if stopped else "ripresi",
        )
        return True

    def marketing_opted_out(self, user_hash: str) -> bool:
        """Whether the citizen's last word to Meta on marketing messages was «stop»."""
        with self._db.transaction() as session:
            event = latest_event(session, user_hash, MARKETING)
        return event is not None and event.action == WITHDRAWN

    def marketing_opted_out_among(self, user_hashes: Iterable[str]) -> set[str]:
        """The hashes, among these, whose last word on marketing messages was «stop».

        One query per 500 hashes: a broadcast asks once per batch it claims, not per person.
        """
        wanted = list(dict.fromkeys(user_hashes))
        last: dict[str, tuple[datetime, int, str]] = {}
        with self._db.transaction() as session:
            for start in range(0, len(wanted), _BATCH):
                rows = session.execute(
                    select(
                        ConsentEvent.user_hash,
                        ConsentEvent.at,
                        ConsentEvent.id,
                        ConsentEvent.action,
                    ).where(
                        ConsentEvent.scope == MARKETING,
                        ConsentEvent.user_hash.in_(wanted[start : start + _BATCH]),
                    )
                )
                for user_hash, at, event_id, action in rows:
                    if user_hash not in last or (at, event_id) > last[user_hash][:2]:
                        last[user_hash] = (at, event_id, action)
        return {h for h, (_, _, action) in last.items() if action == WITHDRAWN}

    def history(self, channel: str, user_id: str) -> tuple[ConsentRecord, ...]:
        """Every event of a citizen, oldest first: what a Comune shows when asked."""
        user_hash = self._hash(channel, user_id)
        with self._db.transaction() as session:
            rows = session.execute(
                select(ConsentEvent)
                .where(ConsentEvent.user_hash == user_hash)
                .order_by(ConsentEvent.at, ConsentEvent.id)
            ).scalars()
            return tuple(
                ConsentRecord(
                    at=row.at,
                    channel=row.channel,
                    scope=row.scope,
                    action=row.action,
                    source=row.source,
                    policy_version=row.policy_version,
                    topics=event_topics(row),
                    message=row.message,
                )
                for row in rows
            )
