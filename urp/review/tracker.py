"""Rasa's SQL tracker store (``SQLTrackerStore``: PostgreSQL in production) read as events.

The ``events`` table has one row per event: ``sender_id``, ``type_name``, ``timestamp``
and the event as JSON in ``data`` (without the sender, which is added back here). Read in
id order, in batches, so a long history never sits in memory at once. The URL and the
conversation ids are never printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from urp.core.db import hide_values
from urp.core.errors import OperatorError
from urp.review.inbox import REVIEW_EVENT_TYPES

BATCH = 1000
EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


class TrackerStoreError(OperatorError, RuntimeError):
    """The tracker store cannot be read."""


def tracker_events(url: str, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The events the review inbox reads, oldest first, with their ``sender_id``."""
    try:
        parsed = make_url(url)
        engine = sa.create_engine(parsed, future=True)
        hide_values(engine)
    except (ArgumentError, ImportError) as error:
        raise TrackerStoreError(f"indirizzo del tracker store non valido: {error}") from error
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        # SQLite would create an empty file: say instead that there is nothing to read.
        raise TrackerStoreError(f"il tracker store {parsed.database} non esiste")
    query = sa.select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.data).where(
        EVENTS.c.type_name.in_(REVIEW_EVENT_TYPES)
    )
    if since is not None:
        query = query.where(EVENTS.c.timestamp >= since.timestamp())
    last = 0
    try:
        with engine.connect() as connection:
            while True:
                rows = connection.execute(
                    query.where(EVENTS.c.id > last).order_by(EVENTS.c.id).limit(BATCH)
                ).all()
                for row in rows:
                    event = json.loads(row.data)
                    if isinstance(event, dict):
                        yield {**event, "sender_id": row.sender_id}
                if len(rows) < BATCH:
                    return
                last = rows[-1].id
    except SQLAlchemyError as error:
        name = type(getattr(error, "orig", None) or error).__name__
        raise TrackerStoreError(
            f"tracker store non leggibile ({engine.url.render_as_string(hide_password=True)}):"
            f" {name}"
        ) from error
    finally:
        engine.dispose()
