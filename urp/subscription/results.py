"""What the subscriber register answers: outcomes and small frozen results.

Kept apart from :mod:`urp.subscription.subscribers` (which imports them all back, so both
names work) to keep the service readable in one file of under 500 lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class UnknownTopicError(ValueError):
    """A topic key that the settings do not define."""


class SubscribeOutcome(Enum):
    CREATED = "created"
    ALREADY_ACTIVE = "already_active"
    REACTIVATED = "reactivated"  # came back: same label, fresh consent


class UnsubscribeOutcome(Enum):
    CANCELLED = "cancelled"
    NOT_SUBSCRIBED = "not_subscribed"


class ConfirmOutcome(Enum):
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"  # the answer was not a «sì»: nothing changes
    EXPIRED = "expired"  # the «sì» came after confirm_minutes
    NO_REQUEST = "no_request"  # nothing to confirm (never asked, or already confirmed)


class SkipReason(Enum):
    NUMBER_PRESENT = "number_present"  # the number is already in the register
    LABEL_TAKEN = "label_taken"  # the label belongs to another number
    INVALID = "invalid"  # the row could not be read (see the detail)


@dataclass(frozen=True)
class SubscribeResult:
    outcome: SubscribeOutcome
    label: str
    topics: tuple[str, ...]  # the topic keys followed now


@dataclass(frozen=True)
class ConfirmResult:
    outcome: ConfirmOutcome
    subscription: SubscribeResult | None = None  # when CONFIRMED


@dataclass(frozen=True)
class UnsubscribeResult:
    outcome: UnsubscribeOutcome
    label: str | None  # None: this number was never subscribed


@dataclass(frozen=True)
class FollowResult:
    subscription: SubscribeOutcome  # ALREADY_ACTIVE unless following also subscribed
    label: str
    added: tuple[str, ...]  # topics newly followed
    topics: tuple[str, ...]  # all topics followed now


@dataclass(frozen=True)
class DropResult:
    subscribed: bool
    label: str | None
    removed: tuple[str, ...]
    topics: tuple[str, ...]  # what remains: may be empty, the subscription stays active


@dataclass(frozen=True)
class SubscriberStatus:
    subscribed: bool
    label: str | None  # also for a former subscriber; None if never subscribed
    since: datetime | None  # start of the current subscription
    cancelled_at: datetime | None  # when a former subscriber left
    topics: tuple[str, ...]


@dataclass(frozen=True)
class ExportRow:
    label: str
    active: bool
    subscribed_at: datetime
    cancelled_at: datetime | None
    number: str | None  # only when explicitly asked for, and only for active subscribers


@dataclass(frozen=True)
class ImportRow:
    line: int  # in the source file, for the report
    label_number: int
    user_id: str
    subscribed_at: datetime


@dataclass(frozen=True)
class SkippedRow:
    line: int
    label: str | None
    reason: SkipReason
    detail: str = ""  # never the phone number


@dataclass(frozen=True)
class ImportReport:
    imported: int
    skipped: tuple[SkippedRow, ...]
