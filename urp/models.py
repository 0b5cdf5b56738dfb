"""Tables of the subscriber register.

A subscriber is anonymous: a sequential label (the primary key, never reused), the
channel, a salted hash of the channel's user id and, only while subscribed, the user id
itself. Each subscription period is a consent row (given ... withdrawn), which is also
what the monthly statistics count. The migrations in ``urp/migrations`` create exactly
these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base: Any = declarative_base(metadata=metadata)

ACTIVE = "active"
CANCELLED = "cancelled"


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes in and out, also on SQLite (which keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the register stores timezone-aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Subscriber(Base):
    __tablename__ = "subscribers"
    # AUTOINCREMENT: SQLite must never hand out again the label of a deleted last row.
    __table_args__ = (
        UniqueConstraint("channel", "user_hash"),
        CheckConstraint(f"status IN ('{ACTIVE}', '{CANCELLED}')", name="status"),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)  # the label number: "Utente 00042" is 42
    channel = Column(String(32), nullable=False)
    user_hash = Column(String(64), nullable=False)  # HMAC-SHA256 of "channel:user_id"
    user_id = Column(String(128))  # the phone number; erased when the subscriber leaves
    status = Column(String(16), nullable=False)
    subscribed_at = Column(UTCDateTime, nullable=False)  # start of the current/last period
    cancelled_at = Column(UTCDateTime)  # end of the last period; None while active


class Consent(Base):
    """One subscription period: the consent given and, once the subscriber leaves, withdrawn."""

    __tablename__ = "consents"
    __table_args__ = (
        Index(None, "subscriber_id"),
        Index(None, "given_at"),
        Index(None, "withdrawn_at"),
    )

    id = Column(Integer, primary_key=True)
    subscriber_id = Column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    )
    given_at = Column(UTCDateTime, nullable=False)
    policy_version = Column(String(64), nullable=False)
    message = Column(Text)  # the citizen's words; None for subscribers imported from a sheet
    withdrawn_at = Column(UTCDateTime)


class SubscriberTopic(Base):
    """A topic an active subscriber follows (all rows go when the subscriber leaves)."""

    __tablename__ = "subscriber_topics"

    subscriber_id = Column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    topic = Column(String(64), primary_key=True)
    followed_at = Column(UTCDateTime, nullable=False)


class AuditEvent(Base):
    """Who did something sensitive (exporting phone numbers), never the numbers themselves."""

    __tablename__ = "audit_events"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False)
    operator = Column(String(128), nullable=False)
    action = Column(String(64), nullable=False)
    detail = Column(Text, nullable=False)
