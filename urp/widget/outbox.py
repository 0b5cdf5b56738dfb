"""What the web chat sends a citizen, kept until their widget has it (issue 26).

A web citizen is not always there: the page is closed when an operator answers at the
office's reopening, or the connection stalls while the bot replies. Every message to a
web conversation (the bot's and the operators') is stored here, in the project's
database, before it is emitted, and carries its id (``urp.id``) and the id of the
conversation's message before it (``urp.previous``). The widget:

- shows a message once, in order: an id it has seen is dropped; a message whose
  ``previous`` it has not seen tells it something was missed, and it asks again;
- acknowledges each id it shows (``urp_ack``), and on every (re)connection says the last
  id it has (``session_request`` with ``last``): the server replays the rest, in order.

Everything is in the database, so any replica can replay what another stored, and the
console, on any machine, says «consegnato» only for what the widget acknowledged (the
operator's reply is linked to its ``handoff_messages`` row, whose ``delivered`` becomes
true with the acknowledgement), «in attesa che il cittadino torni» before.

Retention: acknowledged rows go after :data:`ACKNOWLEDGED_KEPT`; the others are kept as
long as the conversation itself (``privacy.retention_days``). Ids only grow, even across
purges, so a widget that saw id N never takes a later message for an old one.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.models import HandoffMessage as HandoffMessageRow
from urp.core.models import WebOutboxMessage as Row

logger = logging.getLogger(__name__)

# The key of a bot_uttered payload that tells the widget who wrote and which message it is.
TAG_KEY = "urp"
# Acknowledged messages are kept a little, for a second tab of the same conversation.
ACKNOWLEDGED_KEPT = timedelta(days=1)
# At most this many messages per replay: the widget keeps 200, and asks again for the rest.
REPLAY_LIMIT = 100


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    previous_id: int | None
    payload: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        """The payload as the widget gets it: the tag says its id and the one before."""
        tag = dict(self.payload.get(TAG_KEY) or {})
        tag.update(id=self.id, previous=self.previous_id or 0)
        return {**self.payload, TAG_KEY: tag}


def _message(row: Row) -> OutboxMessage:
    return OutboxMessage(row.id, row.previous_id, dict(row.payload))


class WebOutbox:
    """The web chat's messages in one database."""

    def __init__(self, database: Database, *, clock: Clock = utc_now) -> None:
        self.database = database
        self._clock = clock

    def store(
        self,
        conversation_id: str,
        payload: Mapping[str, Any],
        *,
        handoff_message_id: int | None = None,
    ) -> OutboxMessage:
        """Keep ``payload`` for the conversation, after its latest message.

        An operator's reply is stored once: sent again (a retry after a timeout), the
        message already kept comes back, with its id, so the widget shows it once.
        """
        try:
            return self._store(conversation_id, dict(payload), handoff_message_id)
        except IntegrityError:
            # The same reply stored meanwhile by another replica: that one counts.
            kept = self._for_handoff_message(handoff_message_id) if handoff_message_id else None
            if kept is None:
                raise
            return kept

    def _store(
        self, conversation_id: str, payload: dict[str, Any], handoff_message_id: int | None
    ) -> OutboxMessage:
        with self.database.transaction(write=True) as session:
            if handoff_message_id is not None:
                kept = session.execute(
                    select(Row).where(Row.handoff_message_id == handoff_message_id)
                ).scalar_one_or_none()
                if kept is not None:
                    return _message(kept)
            previous = session.execute(
                select(func.max(Row.id)).where(Row.conversation_id == conversation_id)
            ).scalar_one_or_none()
            row = Row(
                conversation_id=conversation_id,
                previous_id=previous,
                payload=payload,
                handoff_message_id=handoff_message_id,
                created_at=self._clock(),
            )
            session.add(row)
            session.flush()
            return _message(row)

    def _for_handoff_message(self, handoff_message_id: int) -> OutboxMessage | None:
        with self.database.transaction() as session:
            row = session.execute(
                select(Row).where(Row.handoff_message_id == handoff_message_id)
            ).scalar_one_or_none()
            return _message(row) if row is not None else None

    def after(self, conversation_id: str, last_id: int) -> list[OutboxMessage]:
        """The conversation's messages after ``last_id``, oldest first (at most
        :data:`REPLAY_LIMIT`)."""
        with self.database.transaction() as session:
            rows = session.execute(
                select(Row)
                .where(Row.conversation_id == conversation_id, Row.id > last_id)
                .order_by(Row.id)
                .limit(REPLAY_LIMIT)
            ).scalars()
            return [_message(row) for row in rows]

    def acknowledge(self, conversation_id: str, up_to_id: int) -> int:
        """The widget has the conversation's messages up to ``up_to_id``: how many were
        waiting. The operators' replies among them are delivered from now on."""
        now = self._clock()
        with self.database.transaction(write=True) as session:
            waiting = (
                Row.conversation_id == conversation_id,
                Row.id <= up_to_id,
                Row.acked_at.is_(None),
            )
            replies = [
                reply
                for reply in session.execute(select(Row.handoff_message_id).where(*waiting))
                .scalars()
                .all()
                if reply is not None
            ]
            count = session.execute(update(Row).where(*waiting).values(acked_at=now)).rowcount
            if replies:
                session.execute(
                    update(HandoffMessageRow)
                    .where(HandoffMessageRow.id.in_(replies))
                    .values(delivered=True)
                )
            return int(count or 0)

    def waiting(self, handoff_message_ids: Collection[int]) -> set[int]:
        """Which of these operator replies are kept for a web citizen who has not had them."""
        ids = list(handoff_message_ids)
        if not ids:
            return set()
        with self.database.transaction() as session:
            return set(
                session.execute(
                    select(Row.handoff_message_id).where(
                        Row.handoff_message_id.in_(ids), Row.acked_at.is_(None)
                    )
                ).scalars()
            )

    def purge(self, retention: timedelta, now: datetime | None = None) -> int:
        """Acknowledged messages after :data:`ACKNOWLEDGED_KEPT`, any after ``retention``."""
        now = now or self._clock()
        with self.database.transaction(write=True) as session:
            deleted = session.execute(
                delete(Row).where(
                    or_(
                        Row.acked_at < now - ACKNOWLEDGED_KEPT,
                        Row.created_at < now - retention,
                    )
                )
            ).rowcount
        if deleted:
            logger.info("web chat: %s delivered or expired messages purged", deleted)
        return int(deleted or 0)

    def erase(self, conversation_id: str) -> int:
        """Every message kept for a conversation (an erasure request)."""
        with self.database.transaction(write=True) as session:
            return int(
                session.execute(delete(Row).where(Row.conversation_id == conversation_id)).rowcount
                or 0
            )
