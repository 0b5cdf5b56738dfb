"""Tables of the store: the subscriber register and the data the office maintains.

A subscriber is anonymous: a sequential label (the primary key, never reused), the
channel, a salted hash of the channel's user id and, only while subscribed, the user id
itself. Each subscription period is a consent row (given ... withdrawn), which is also
what the monthly statistics count. The office's data (memos, pharmacy shifts, bathing
zones, calls for grants, reports collected in the chat) is loaded with ``urp`` commands.
Operators' accounts and the conversations handed over to them (handoffs, their
messages, the office's quick replies) live here too, so that every replica of the bot and
of the console sees the same queue.
The migrations in ``urp/migrations`` create exactly these tables; a test compares the two.

Over 500 lines on purpose: the schema is one idea, read as a whole against the migrations
(a new migration is checked against this one file), and its sections already follow the
features (subscription, information, handoff, console, whatsapp, broadcasts, review).
Split per feature, the tables would still share the base, the naming convention and the
status values, and every feature would import from several schema modules.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
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


CONSENT_SCOPES = ("service", "marketing")  # the broadcast service; Meta's marketing messages
CONSENT_ACTIONS = ("requested", "given", "withdrawn")


class ConsentEvent(Base):
    """One consent or revocation, as it happened: the log that proves each opt-in and opt-out.

    Unlike ``consents`` (one row per subscription period, gone with the subscriber), a row
    here is never changed: «Iscrivimi», the «SÌ» of a double opt-in, «Cancellami», «STOP»,
    Meta's marketing stop and resume. Known by the salted hash of the number, as the register.
    """

    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint("scope IN ('service', 'marketing')", name="scope"),
        CheckConstraint("action IN ('requested', 'given', 'withdrawn')", name="action"),
        Index(None, "user_hash", "scope", "at"),
        Index(None, "at"),
    )

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False)  # when the citizen (or Meta) said it
    channel = Column(String(32), nullable=False)
    user_hash = Column(String(64), nullable=False)  # HMAC-SHA256 of "channel:user_id"
    scope = Column(String(16), nullable=False)
    action = Column(String(16), nullable=False)
    source = Column(String(32), nullable=False)  # chat, stop, confirm, import, meta
    policy_version = Column(String(64))  # the privacy notice shown (requested, given)
    topics = Column(String(512))  # comma-separated topic keys asked for (requested, given)
    message = Column(Text)  # the citizen's words, or Meta's detail; never the number


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
    # The chat a handoff step was about, for its audit trail (issue 26, migration 0015).
    handoff_id = Column(Integer)


# -- office data: memos, pharmacy shifts, bathing zones, calls, reports ----------------------

ON_DUTY = "turno"
SUPPORT = "appoggio"
ALLOWED = "allowed"
BANNED = "banned"
REPORT_STATUSES = ("new", "in_progress", "closed")


class Memo(Base):
    """A memo as published: one per date (adding the same date again replaces it)."""

    __tablename__ = "memos"
    __table_args__ = (UniqueConstraint("published_on"),)

    id = Column(Integer, primary_key=True)
    published_on = Column(Date, nullable=False)
    header = Column(Text, nullable=False)
    added_at = Column(UTCDateTime, nullable=False)


class MemoItem(Base):
    __tablename__ = "memo_items"
    __table_args__ = (UniqueConstraint("memo_id", "position"),)

    id = Column(Integer, primary_key=True)
    memo_id = Column(Integer, ForeignKey("memos.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)  # order in the memo, from 1
    title = Column(Text, nullable=False)
    text = Column(Text, nullable=False)
    link = Column(Text, nullable=False)
    topic = Column(String(64))  # a subscription topic key, for topic-based broadcasts


class PharmacyShift(Base):
    """One pharmacy's shift on one day, on duty or in support."""

    __tablename__ = "pharmacy_shifts"
    __table_args__ = (
        UniqueConstraint("day", "name"),
        CheckConstraint(f"role IN ('{ON_DUTY}', '{SUPPORT}')", name="role"),
    )

    id = Column(Integer, primary_key=True)
    day = Column(Date, nullable=False)  # the unique constraint's index serves day ranges
    name = Column(Text, nullable=False)
    address = Column(Text, nullable=False)
    phone = Column(String(64), nullable=False)
    role = Column(String(16), nullable=False)
    area = Column(Text, nullable=False)
    hours = Column(Text)  # "8:30-20:00", "notturno"; None: the whole day


class BathingZone(Base):
    """A stretch of coast and whether bathing is allowed there."""

    __tablename__ = "bathing_zones"
    __table_args__ = (CheckConstraint(f"status IN ('{ALLOWED}', '{BANNED}')", name="status"),)

    key = Column(String(64), primary_key=True)
    name = Column(Text, nullable=False)
    synonyms = Column(JSON, nullable=False)  # list of names citizens use
    coast = Column(Text, nullable=False)  # which stretch of coast, in words
    position = Column(Integer, nullable=False)  # order along the coast, as in the file
    status = Column(String(16), nullable=False)
    since = Column(Date)
    ordinance = Column(Text)  # "Ordinanza n. 123/2026"
    ordinance_url = Column(Text)
    updated_at = Column(UTCDateTime, nullable=False)


class Contribution(Base):
    """A call for grants ("bando"): open, upcoming or closed depending on its dates."""

    __tablename__ = "calls"

    key = Column(String(100), primary_key=True)  # a slug, stable across reloads
    title = Column(Text, nullable=False)
    eligible = Column(Text, nullable=False)  # who can apply
    opens_on = Column(Date)  # None: not announced yet (see expected)
    closes_on = Column(Date)  # None: open until funds run out
    expected = Column(Text)  # "dopo metà gennaio", for upcoming calls without a date
    link = Column(Text, nullable=False)
    keywords = Column(JSON, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)


class Report(Base):
    """A problem reported in the chat (collect mode), with its protocol code."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("code"),
        UniqueConstraint("year", "number"),
        CheckConstraint(
            "status IN ({})".format(", ".join(f"'{s}'" for s in REPORT_STATUSES)), name="status"
        ),
        Index(None, "status"),
    )

    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False)  # "SEG-2026-000123"
    year = Column(Integer, nullable=False)
    number = Column(Integer, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    channel = Column(String(32), nullable=False)
    # Only so that an operator can answer: never listed or exported.
    user_id = Column(String(128), nullable=False)
    description = Column(Text, nullable=False)
    address = Column(Text)
    latitude = Column(Float)
    longitude = Column(Float)
    photo_url = Column(Text)
    status = Column(String(16), nullable=False)


class ReportCounter(Base):
    """The last protocol number handed out in a year (numbers restart every year)."""

    __tablename__ = "report_counters"

    year = Column(Integer, primary_key=True, autoincrement=False)
    last = Column(Integer, nullable=False)


# -- operators and handoffs to them -----------------------------------------------------------

OPERATOR_ROLES = ("operator", "trainer", "admin")
PENDING = "pending"
ASSIGNED = "assigned"
RESOLVED = "resolved"
HANDOFF_STATUSES = (PENDING, ASSIGNED, RESOLVED)
OPEN_STATUSES = (PENDING, ASSIGNED)
HANDOFF_REASONS = (
    "unclear",
    "request",
    "appointment",
    "abuse",
    "action_failed",
    "no_information",
)
MESSAGE_AUTHORS = ("citizen", "bot", "operator")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{value}'" for value in values))


# The same predicate in the model and in migration 0003: "open" means pending or assigned.
OPEN_HANDOFF = _one_of("status", OPEN_STATUSES)


class Operator(Base):
    """A person of the office who answers handed-over chats (or trains the bot)."""

    __tablename__ = "operators"
    __table_args__ = (
        UniqueConstraint("username"),
        CheckConstraint(_one_of("role", OPERATOR_ROLES), name="role"),
    )

    id = Column(Integer, primary_key=True)
    username = Column(String(32), nullable=False)
    display_name = Column(String(128), nullable=False)
    password_hash = Column(String(255), nullable=False)  # "scrypt$n$r$p$salt$hash"
    role = Column(String(16), nullable=False)
    active = Column(Boolean, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    last_login_at = Column(UTCDateTime)
    # Publishing memos and emergencies to every subscriber: granted per account by an
    # admin (admins have it by their role). Migration 0009.
    can_publish = Column(Boolean, nullable=False, server_default=false())
    # Set when an admin chose the password (new account, reset): until the operator picks
    # their own, the console shows only «Il tuo account». Migration 0016.
    must_change_password = Column(Boolean, nullable=False, server_default=false())


class Handoff(Base):
    """A conversation the bot handed over to the office, from the request to its resolution."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint(_one_of("status", HANDOFF_STATUSES), name="status"),
        CheckConstraint(_one_of("reason", HANDOFF_REASONS), name="reason"),
        # At most one open handoff per conversation: the database settles two bot replicas
        # handing over the same chat at once (INSERT ... ON CONFLICT DO NOTHING).
        Index(
            "uq_handoffs_open_conversation_id",
            "conversation_id",
            unique=True,
            sqlite_where=text(OPEN_HANDOFF),
            postgresql_where=text(OPEN_HANDOFF),
        ),
        Index(None, "status"),
        Index(None, "created_at"),
    )

    id = Column(Integer, primary_key=True)
    # Rasa's sender id: the phone number on WhatsApp, so never logged nor printed.
    conversation_id = Column(String(128), nullable=False)
    channel = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False)
    reason = Column(String(32), nullable=False)
    out_of_hours = Column(Boolean, nullable=False)  # asked while the URP was closed
    operator_id = Column(Integer, ForeignKey("operators.id"))  # who holds or resolved it
    created_at = Column(UTCDateTime, nullable=False)
    assigned_at = Column(UTCDateTime)
    resolved_at = Column(UTCDateTime)
    last_activity_at = Column(UTCDateTime, nullable=False)
    reminded_at = Column(UTCDateTime)  # when the citizen was told again to wait


class HandoffMessage(Base):
    """One message of a handed-over conversation: the transcript the operator reads."""

    __tablename__ = "handoff_messages"
    __table_args__ = (
        CheckConstraint(_one_of("author", MESSAGE_AUTHORS), name="author"),
        Index(None, "handoff_id"),
    )

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    author = Column(String(16), nullable=False)
    operator_id = Column(Integer, ForeignKey("operators.id"))  # for the operator's messages
    text = Column(Text)  # None for a photo or a position without words
    media_url = Column(Text)
    latitude = Column(Float)
    longitude = Column(Float)
    delivered = Column(Boolean, nullable=False)  # an operator's reply reached the citizen


class QuickReply(Base):
    """A ready answer the office keeps for operators (the reporting-platform redirect...)."""

    __tablename__ = "quick_replies"
    __table_args__ = (UniqueConstraint("title"),)

    id = Column(Integer, primary_key=True)
    title = Column(String(100), nullable=False)
    text = Column(Text, nullable=False)
    position = Column(Integer, nullable=False)  # order in the office's file, from 1


# -- the operators' console ------------------------------------------------------------------


class ConsoleSession(Base):
    """An operator logged in to the console: only a SHA-256 of the cookie's token is kept.

    In the database rather than in a signed cookie, so that logging out, an account being
    disabled or the idle timeout end the session on every console replica at once.
    """

    __tablename__ = "console_sessions"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index(None, "operator_id"),
        Index(None, "expires_at"),
    )

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False)  # hex SHA-256 of the cookie's token
    operator_id = Column(Integer, ForeignKey("operators.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(64), nullable=False)  # what every form of the session posts
    created_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)  # last_seen_at plus the idle timeout


# Login throttling counts an account's recent failed logins on every attempt.
Index("ix_audit_events_action_operator_at", AuditEvent.action, AuditEvent.operator, AuditEvent.at)


class LoginThrottle(Base):
    """Console login attempts of one account or one client address in the current window
    (migration 0009). A conditional UPDATE takes an attempt before the password is checked,
    so concurrent attempts can never go past the limit; a success gives its attempt back."""

    __tablename__ = "login_throttles"

    key = Column(String(160), primary_key=True)  # "account:<username>", "address:<ip>"
    window_start = Column(UTCDateTime, nullable=False)
    attempts = Column(Integer, nullable=False)  # failed or in progress, since window_start
    blocked_until = Column(UTCDateTime)


# -- WhatsApp Cloud API: deliveries seen, the 24-hour window, what became of our messages ------

# What Meta says of a message we sent, in the order it can happen ("failed" at any time).
WHATSAPP_STATUSES = ("accepted", "sent", "delivered", "read", "failed")


class WhatsAppInbound(Base):
    """A message id Meta delivered: a second delivery of it is dropped (kept for a week)."""

    __tablename__ = "whatsapp_inbound"
    __table_args__ = (Index(None, "received_at"),)

    message_id = Column(String(128), primary_key=True)  # "wamid..."
    received_at = Column(UTCDateTime, nullable=False)


class WhatsAppContact(Base):
    """When a citizen last wrote: free-form messages only within 24 hours of it."""

    __tablename__ = "whatsapp_contacts"

    user_hash = Column(String(64), primary_key=True)  # HMAC of the number, never the number
    last_inbound_at = Column(UTCDateTime, nullable=False)


class WhatsAppOutbound(Base):
    """A message we sent and the statuses Meta reported for it."""

    __tablename__ = "whatsapp_outbound"
    __table_args__ = (
        CheckConstraint(_one_of("status", WHATSAPP_STATUSES), name="status"),
        Index(None, "user_hash"),
    )

    wamid = Column(String(128), primary_key=True)
    user_hash = Column(String(64), nullable=False)
    kind = Column(String(16), nullable=False)  # text, interactive, image, template...
    status = Column(String(16), nullable=False)
    error_code = Column(Integer)
    error_title = Column(String(255))
    sent_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)


class InboundDelivery(Base):
    """A citizen's message acknowledged to Meta or Twilio and not answered yet: written
    before the webhook's 200, deleted once Rasa has handled it (urp.whatsapp.inbox)."""

    __tablename__ = "inbound_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id"),
        Index(None, "sender_key", "id"),  # a citizen's queue, oldest first
        Index(None, "channel", "lease_until"),
    )

    id = Column(Integer, primary_key=True)  # arrival order
    channel = Column(String(16), nullable=False)  # the input channel: whatsapp, twilio
    message_id = Column(String(128), nullable=False)
    sender_key = Column(String(64), nullable=False)  # HMAC of the number, never the number
    message = Column(JSON, nullable=False)  # the parsed message, the number included
    received_at = Column(UTCDateTime, nullable=False)
    attempts = Column(Integer, nullable=False)  # claims so far
    lease_until = Column(UTCDateTime)  # claimed (or waiting to be retried) until then
    claim_token = Column(String(32))  # who holds the lease


# -- broadcasts: the memo and emergency messages sent to subscribers ---------------------------

MEMO_BROADCAST = "memo"
EMERGENCY_BROADCAST = "emergency"
BROADCAST_KINDS = (MEMO_BROADCAST, EMERGENCY_BROADCAST)
RUNNING = "running"
COMPLETED = "completed"
# Stopped by the worker because Meta refused the account (spam rate limit, policy, token):
# the operators read why, fix it, and resume.
PAUSED = "paused"
BROADCAST_STATUSES = (RUNNING, CANCELLED, COMPLETED, PAUSED)
# A recipient's row: pending -> sending -> sent -> delivered -> read, or failed, or skipped
# (unsubscribed, or no longer following the topics, when its turn came).
RECIPIENT_STATUSES = ("pending", "sending", "sent", "delivered", "read", "failed", "skipped")


class Broadcast(Base):
    """One publication sent to the active subscribers of some topics, at a given rate."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(_one_of("kind", BROADCAST_KINDS), name="kind"),
        CheckConstraint(_one_of("status", BROADCAST_STATUSES), name="status"),
        Index(None, "status", "priority"),
    )

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)
    topics = Column(JSON, nullable=False)  # subscription topic keys: followers of any get it
    priority = Column(Integer, nullable=False)  # higher first: emergencies before memos
    memo_id = Column(Integer, ForeignKey("memos.id", ondelete="SET NULL"))
    # What goes out, fixed at publication so that a resumed broadcast sends the same words:
    # the free-form messages, and the same text cut for the template's one parameter.
    messages = Column(JSON, nullable=False)
    template_messages = Column(JSON, nullable=False)
    status = Column(String(16), nullable=False)
    rate = Column(Float, nullable=False)  # messages per second
    created_at = Column(UTCDateTime, nullable=False)
    finished_at = Column(UTCDateTime)
    created_by = Column(String(128), nullable=False)
    # Why the worker paused it: Meta's code and words, for the command line and the console.
    paused_code = Column(Integer)
    paused_reason = Column(String(255))
    paused_at = Column(UTCDateTime)


class BroadcastRecipient(Base):
    """One subscriber of a broadcast. The phone number is never copied here: it is read
    from the register when the row's turn comes, so an unsubscribe mid-run is honoured."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "subscriber_id"),
        UniqueConstraint("send_key"),
        CheckConstraint(_one_of("status", RECIPIENT_STATUSES), name="status"),
        Index(None, "broadcast_id", "status", "id"),  # claiming the next pending rows
        Index(None, "wamid"),  # Meta's statuses
        # A recipient Meta could not reach, or capped for marketing, in earlier broadcasts.
        Index(None, "subscriber_id", "error_code"),
        Index(None, "template_at"),  # the messaging limit: templates of the last 24 hours
    )

    id = Column(Integer, primary_key=True)
    broadcast_id = Column(Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False)
    # None once the subscriber erased their data: the row stays, counted anonymously.
    subscriber_id = Column(Integer, ForeignKey("subscribers.id", ondelete="SET NULL"))
    status = Column(String(16), nullable=False)
    # Travels as biz_opaque_callback_data ("<send_key>:<part>"), which Meta echoes in its
    # statuses: it tells a recovered row which parts already reached Meta.
    send_key = Column(String(64), nullable=False)
    via_template = Column(Boolean)  # chosen at the first claim, then kept; None until then
    parts_sent = Column(Integer, nullable=False)  # messages Meta accepted, in order
    attempts = Column(Integer, nullable=False)  # claims so far
    error_code = Column(Integer)
    error_reason = Column(String(255))
    wamid = Column(String(128))  # of the first message: delivered and read follow it
    lease_until = Column(UTCDateTime)  # while sending: the worker's exclusive right to send
    updated_at = Column(UTCDateTime, nullable=False)
    # A pending row waits until then: for Meta's messaging limit ("limit") or its pair
    # rate limit ("pair"), as wait_reason says.
    not_before = Column(UTCDateTime)
    wait_reason = Column(String(16))
    # When a business-initiated template was started for the row: Meta's messaging limit
    # counts the distinct recipients of these in a rolling 24 hours.
    template_at = Column(UTCDateTime)
    deferrals = Column(Integer, nullable=False, server_default=text("0"))  # pair-limit delays


# -- the trainers' review inbox ----------------------------------------------------------------

REVIEW_STATUSES = ("open", "added", "discarded")


class ReviewItem(Base):
    """A distinct citizen's message the bot was unsure of, masked, waiting for a trainer.

    ``reasons`` are bits (:data:`urp.review.inbox.REASON_BITS`) so that two sightings
    merge with an OR in any database. No conversation id and no phone number: only the
    masked words.
    """

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("text_key"),
        CheckConstraint(_one_of("status", REVIEW_STATUSES), name="status"),
        Index(None, "status", "last_seen_at"),
    )

    id = Column(Integer, primary_key=True)
    text = Column(Text, nullable=False)  # masked
    text_key = Column(String(64), nullable=False)  # SHA-256 of the normalised masked text
    suggested_intent = Column(String(64))  # the model's best guess but nlu_fallback
    confidence = Column(Float)
    reasons = Column(Integer, nullable=False)
    channel = Column(String(32))
    occurrences = Column(Integer, nullable=False)
    first_seen_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False)
    status = Column(String(16), nullable=False)
    intent = Column(String(64))  # the trainer's label, once added
    nlu_file = Column(String(255))  # where the example went (data/nlu/...)
    decided_by = Column(String(128))
    decided_at = Column(UTCDateTime)


class ReviewSighting(Base):
    """One message counted once, however often the broker and ``urp review collect`` see
    it: a salted hash of its conversation and time, never the conversation id."""

    __tablename__ = "review_sightings"
    __table_args__ = (UniqueConstraint("message_key"), Index(None, "item_id"))

    id = Column(Integer, primary_key=True)
    item_id = Column(Integer, ForeignKey("review_items.id", ondelete="CASCADE"), nullable=False)
    message_key = Column(String(64), nullable=False)


# -- the office's knowledge base (FAQ) ---------------------------------------------------------

# An entry is written as a draft (an operator's reply), published, or retired (kept, never
# answered). The same tuple is urp.faq.entries.STATUSES.
FAQ_STATUSES = ("draft", "published", "retired")


class FaqEntryRow(Base):
    """One answer of the office's knowledge base (urp.faq); its questions are in
    ``faq_questions``. Migration 0011."""

    __tablename__ = "faq_entries"
    __table_args__ = (CheckConstraint(_one_of("status", FAQ_STATUSES), name="status"),)

    id = Column(String(64), primary_key=True)  # a slug the office chooses: "tari-pagamento"
    answer = Column(Text, nullable=False)  # WhatsApp-formatted, one phone screen
    link = Column(Text)  # the Comune's page, https://
    topic = Column(String(64))
    status = Column(String(16), nullable=False)
    # Bumped by every change: with the count and the last change it makes the revision the
    # replicas poll, which changes even when two changes share a timestamp.
    version = Column(Integer, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    updated_by = Column(String(128), nullable=False)  # an operator's username, or who imported


class FaqQuestion(Base):
    """One way citizens ask for an FAQ entry; position 1 is the entry's title."""

    __tablename__ = "faq_questions"
    __table_args__ = (UniqueConstraint("entry_id", "position"),)

    id = Column(Integer, primary_key=True)
    entry_id = Column(String(64), ForeignKey("faq_entries.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)  # from 1, as in the office's file
    text = Column(Text, nullable=False)


class FaqMeaning(Base):
    """The sentence embedding of an FAQ question, computed once (by ``urp faq import`` or
    the first replica that needs it) and read by every replica's index (urp.faq.meanings).

    Keyed by the embedding model and a hash of the text, not by the question's row: an
    edited entry keeps the vectors of its unchanged questions, and a new model never reads
    an old model's vectors. Migration 0017."""

    __tablename__ = "faq_meanings"

    model = Column(String(64), primary_key=True)  # urp.nlu.embeddings.MODEL
    text_hash = Column(String(32), primary_key=True)  # blake2b, 16 bytes, hex
    vector = Column(LargeBinary, nullable=False)  # float32, little-endian, DIMENSIONS values


# -- issue 26, console teamwork: internal notes and each chat's audit trail (0015) ----------

# A chat's audit trail (who claimed, replied, assigned, transferred...) read in order.
Index("ix_audit_events_handoff_id_at", AuditEvent.handoff_id, AuditEvent.at)
# The history's filter by operator.
Index("ix_handoffs_operator_id", Handoff.operator_id)


class HandoffNote(Base):
    """An operator's internal note on a chat: operators read it, the citizen never does.

    A transfer's message to the colleague is a note addressed to them (``addressee_id``).
    Kept with the handoff; erased with its messages (urp.privacy)."""

    __tablename__ = "handoff_notes"
    __table_args__ = (Index(None, "handoff_id", "at"),)

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    operator_id = Column(Integer, ForeignKey("operators.id"), nullable=False)
    addressee_id = Column(Integer, ForeignKey("operators.id"))
    text = Column(Text, nullable=False)


# -- issue 26, console pages: the citizens' ratings of the chats with an operator ------------

# What the citizen is asked next: the stars, whether to comment, the comment itself.
RATING_STEPS = ("stars", "offer", "comment")


class HandoffRating(Base):
    """A citizen's rating (1-5, one optional comment) of a chat an operator resolved.

    Asked when the operator resolves the chat; while an answer is awaited the row keeps the
    conversation id (as ``handoffs`` does, and gone with it) so that the channels' door
    recognises the answer. No operator's name: the office's service is rated, not a person.
    Migration 0016.
    """

    __tablename__ = "handoff_ratings"
    __table_args__ = (
        UniqueConstraint("handoff_id"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
        CheckConstraint(_one_of("awaiting", RATING_STEPS), name="awaiting"),
        Index(None, "pending_conversation"),
        Index(None, "asked_at"),
    )

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False)
    asked_at = Column(UTCDateTime, nullable=False)
    # While an answer is awaited: whose, which step, until when; None afterwards.
    pending_conversation = Column(String(128))
    awaiting = Column(String(16))
    pending_until = Column(UTCDateTime)
    stars = Column(Integer)
    rated_at = Column(UTCDateTime)
    comment = Column(Text)
    commented_at = Column(UTCDateTime)


# -- issue 26, web delivery: what the web chat sends, kept until the widget has it (0014) ---


class WebOutboxMessage(Base):
    """One message to a web citizen (the bot's or an operator's), as ``bot_uttered`` carries
    it, kept until their widget acknowledges its id (urp.widget.outbox).

    Ids only grow (``sqlite_autoincrement``; a PostgreSQL sequence), so a widget that has
    seen id N never mistakes a later message for an old one, even after a purge.
    ``previous_id`` is the conversation's message before this one: a widget that has not
    seen it knows it missed something and asks again. Acknowledged rows go after a day,
    the others with the conversation (privacy.retention_days).
    """

    __tablename__ = "web_outbox"
    __table_args__ = (
        UniqueConstraint("handoff_message_id"),
        Index(None, "conversation_id", "id"),
        Index(None, "created_at"),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(64), nullable=False)  # "socketio:<session id>"
    previous_id = Column(Integer)  # None: the conversation's first (or the first kept)
    payload = Column(JSON, nullable=False)  # text, quick replies, image, the "urp" tag
    # An operator's reply: acknowledged, it is «consegnato» in the console.
    handoff_message_id = Column(Integer, ForeignKey("handoff_messages.id", ondelete="SET NULL"))
    created_at = Column(UTCDateTime, nullable=False)
    acked_at = Column(UTCDateTime)  # None until the widget confirms it has the message
