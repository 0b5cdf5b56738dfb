"""The review inbox in the store: sightings recorded, trainers' decisions taken.

Each distinct masked message is one :class:`urp.core.models.ReviewItem`; each time a citizen
sent it is one :class:`urp.core.models.ReviewSighting`, keyed by a salted hash of the
conversation and the time, so the live broker and ``urp review collect`` over the same
tracker store count a message once, however often they see it. Decisions are recorded
in the audit trail with the trainer's username, never with the message.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, literal, select, update

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.errors import OperatorError
from urp.core.hashing import UserHasher
from urp.core.models import AuditEvent, ReviewItem, ReviewSighting, UTCDateTime
from urp.review.inbox import (
    REASON_BITS,
    InboxItem,
    Sighting,
    bits_to_reasons,
    reasons_to_bits,
)
from urp.review.training import Added, TrainingData

logger = logging.getLogger(__name__)

OPEN = "open"
ADDED = "added"
DISCARDED = "discarded"
OUT_OF_SCOPE_INTENT = "out_of_scope"
INBOX_LIMIT = 500
# The hasher's "channel": sightings are keyed apart from the subscribers' register.
SIGHTING_CHANNEL = "review"


class ReviewStateError(OperatorError, LookupError):
    """The item does not exist, or another trainer has decided it already."""


@dataclass(frozen=True)
class Decision:
    """What became of an item: ``added`` (with intent and file) or ``discarded``."""

    item_id: int
    status: str
    intent: str | None = None
    path: str | None = None


def text_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _item(row: ReviewItem) -> InboxItem:
    return InboxItem(
        text=row.text,
        suggested_intent=row.suggested_intent,
        confidence=row.confidence,
        reasons=bits_to_reasons(row.reasons),
        occurrences=row.occurrences,
        first_seen=row.first_seen_at,
        last_seen=row.last_seen_at,
        channel=row.channel,
        id=row.id,
    )


class ReviewStore:
    def __init__(self, database: Database, hasher: UserHasher, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._hasher = hasher
        self._clock = clock

    @property
    def database(self) -> Database:
        """Where the inbox is kept (the console's FAQ pages, next to it, use it too)."""
        return self._db

    # -- collecting ------------------------------------------------------------------------

    def record(self, sightings: Iterable[Sighting]) -> int:
        """Add sightings to the inbox; how many messages were new (not counted before)."""
        counted = 0
        with self._db.transaction(write=True) as session:
            for s in sightings:
                key = text_key(s.key)
                at = literal(s.at, UTCDateTime())
                session.execute(
                    self._db.upsert_insert(ReviewItem.__table__)
                    .values(
                        text=s.text,
                        text_key=key,
                        suggested_intent=s.suggested_intent,
                        confidence=s.confidence,
                        reasons=0,
                        channel=s.channel,
                        occurrences=0,
                        first_seen_at=s.at,
                        last_seen_at=s.at,
                        status=OPEN,
                    )
                    .on_conflict_do_nothing(index_elements=["text_key"])
                )
                item_id = session.execute(
                    select(ReviewItem.id).where(ReviewItem.text_key == key)
                ).scalar_one()
                session.execute(
                    update(ReviewItem)
                    .where(ReviewItem.id == item_id)
                    .values(reasons=ReviewItem.reasons.op("|")(reasons_to_bits(s.reasons)))
                )
                if not s.new:
                    continue
                message = self._hasher(
                    SIGHTING_CHANNEL, f"{s.conversation}\x1f{s.timestamp!r}\x1f{key}"
                )
                inserted = session.execute(
                    self._db.upsert_insert(ReviewSighting.__table__)
                    .values(item_id=item_id, message_key=message)
                    .on_conflict_do_nothing(index_elements=["message_key"])
                )
                if inserted.rowcount:
                    counted += 1
                    session.execute(
                        update(ReviewItem)
                        .where(ReviewItem.id == item_id)
                        .values(
                            occurrences=ReviewItem.occurrences + 1,
                            first_seen_at=case(
                                (ReviewItem.first_seen_at > at, at),
                                else_=ReviewItem.first_seen_at,
                            ),
                            last_seen_at=case(
                                (ReviewItem.last_seen_at < at, at),
                                else_=ReviewItem.last_seen_at,
                            ),
                        )
                    )
        return counted

    # -- reading ---------------------------------------------------------------------------

    def open_items(self, limit: int = INBOX_LIMIT, reason: str | None = None) -> list[InboxItem]:
        """The inbox: undecided messages, the most frequent and recent first; with
        ``reason``, only those that came for it (``faq``: what the FAQ could not answer)."""
        query = select(ReviewItem).where(ReviewItem.status == OPEN, ReviewItem.occurrences > 0)
        if reason is not None:
            query = query.where(ReviewItem.reasons.op("&")(REASON_BITS[reason]) != 0)
        with self._db.transaction() as session:
            rows = session.execute(
                query.order_by(ReviewItem.occurrences.desc(), ReviewItem.last_seen_at.desc()).limit(
                    limit
                )
            ).scalars()
            return [_item(row) for row in rows]

    def get(self, item_id: int) -> InboxItem:
        with self._db.transaction() as session:
            row = session.get(ReviewItem, item_id)
            if row is None:
                raise ReviewStateError(f"Il messaggio n. {item_id} non è nella casella.")
            return _item(row)

    def status(self, item_id: int) -> str:
        with self._db.transaction() as session:
            row = session.get(ReviewItem, item_id)
            if row is None:
                raise ReviewStateError(f"Il messaggio n. {item_id} non è nella casella.")
            return str(row.status)

    def counts(self) -> dict[str, int]:
        with self._db.transaction() as session:
            rows = session.execute(
                select(ReviewItem.status, func.count())
                .where(ReviewItem.occurrences > 0)
                .group_by(ReviewItem.status)
            ).all()
        return {OPEN: 0, ADDED: 0, DISCARDED: 0} | {str(s): int(n) for s, n in rows}

    # -- deciding --------------------------------------------------------------------------

    def label(
        self,
        item_id: int,
        intent: str,
        operator: str,
        training: TrainingData,
        text: str | None = None,
    ) -> Added:
        """Write the item (or the trainer's edited ``text``) as an example of ``intent``."""
        item = self._open(item_id)
        added = training.add(intent, text if text and text.strip() else item.text)
        try:
            relative = added.path.relative_to(training.nlu_dir.parent.parent)
        except ValueError:
            relative = added.path
        suggested = item.suggested_intent or "-"
        self._close(
            item_id, ADDED, operator, intent=intent, nlu_file=str(relative), suggested=suggested
        )
        return added

    def discard(self, item_id: int, operator: str) -> None:
        """Not an example worth keeping (noise, a test, nothing to learn)."""
        self._open(item_id)
        self._close(item_id, DISCARDED, operator)

    def _open(self, item_id: int) -> InboxItem:
        if self.status(item_id) != OPEN:
            raise ReviewStateError(f"Il messaggio n. {item_id} è già stato deciso.")
        return self.get(item_id)

    def _close(
        self, item_id: int, status: str, operator: str, suggested: str = "", **values: str
    ) -> None:
        """Decided: in the item, and in the audit trail (with the model's suggestion, to
        see how often trainers accept it)."""
        now: datetime = self._clock()
        with self._db.transaction(write=True) as session:
            changed = session.execute(
                update(ReviewItem)
                .where(ReviewItem.id == item_id, ReviewItem.status == OPEN)
                .values(status=status, decided_by=operator, decided_at=now, **values)
            ).rowcount
            if not changed:
                raise ReviewStateError(f"Il messaggio n. {item_id} è già stato deciso.")
            detail = f"review:{item_id}"
            if "intent" in values:
                detail += f" intent:{values['intent']} suggested:{suggested}"
            session.add(
                AuditEvent(at=now, operator=operator, action=f"review_{status}", detail=detail)
            )
