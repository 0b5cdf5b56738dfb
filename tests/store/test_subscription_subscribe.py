"""Subscribe, unsubscribe, come back: labels, consent, and the number erased on leaving."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from tests.store.conftest import START, FixedClock, raw_rows
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import Settings
from urp.subscription.subscribers import SubscribeOutcome, SubscriberService, UnsubscribeOutcome

NUMBER = "393331234567"


def test_subscribe_creates_a_subscriber_with_the_default_topic(
    service: SubscriberService, database: Database
) -> None:
    result = service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    assert result.outcome is SubscribeOutcome.CREATED
    assert result.label == "Numero 0001"
    assert result.topics == ("memo",)
    [row] = raw_rows(database, "subscribers")
    assert row["user_id"] == NUMBER and row["status"] == "active"
    assert row["channel"] == "whatsapp" and len(row["user_hash"]) == 64
    [consent] = raw_rows(database, "consents")
    assert consent["policy_version"] == "2024-01"
    assert consent["message"] == "Iscrivimi"
    assert consent["withdrawn_at"] is None


def test_times_come_back_timezone_aware_in_utc(service: SubscriberService) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    since = service.status("whatsapp", NUMBER).since
    assert since == START
    assert since is not None and since.utcoffset() is not None


def test_subscribing_again_while_active_creates_nothing(
    service: SubscriberService, database: Database
) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    again = service.subscribe("whatsapp", NUMBER, "iscrivimi di nuovo", "2024-01", ["eventi"])
    assert again.outcome is SubscribeOutcome.ALREADY_ACTIVE
    assert again.label == "Numero 0001"
    assert again.topics == ("memo",)  # nothing changes: following is a separate request
    assert len(raw_rows(database, "subscribers")) == 1
    assert len(raw_rows(database, "consents")) == 1


def test_the_same_user_id_on_another_channel_is_another_subscriber(
    service: SubscriberService,
) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    other = service.subscribe("webchat", NUMBER, "Iscrivimi", "2024-01")
    assert other.outcome is SubscribeOutcome.CREATED
    assert other.label == "Numero 0002"


def test_unsubscribe_stops_everything_and_erases_the_number(
    service: SubscriberService, database: Database, clock: FixedClock
) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01", ["eventi", "bandi"])
    left_at = clock.advance(days=3)
    result = service.unsubscribe("whatsapp", NUMBER)
    assert result.outcome is UnsubscribeOutcome.CANCELLED
    assert result.label == "Numero 0001"
    [row] = raw_rows(database, "subscribers")
    assert row["user_id"] is None
    assert row["status"] == "cancelled"
    assert row["user_hash"]  # kept, to recognise a return
    assert row["subscribed_at"] is not None and row["cancelled_at"] is not None
    assert raw_rows(database, "subscriber_topics") == []
    [consent] = raw_rows(database, "consents")
    assert consent["withdrawn_at"] is not None
    status = service.status("whatsapp", NUMBER)
    assert not status.subscribed
    assert status.label == "Numero 0001"
    assert status.cancelled_at == left_at
    assert status.topics == ()
    # The number is nowhere in the store any more.
    for table in ("subscribers", "consents", "subscriber_topics", "audit_events"):
        assert NUMBER not in repr(raw_rows(database, table)), table


def test_unsubscribing_when_not_subscribed_is_reported(service: SubscriberService) -> None:
    never = service.unsubscribe("whatsapp", NUMBER)
    assert never.outcome is UnsubscribeOutcome.NOT_SUBSCRIBED
    assert never.label is None
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    service.unsubscribe("whatsapp", NUMBER)
    twice = service.unsubscribe("whatsapp", NUMBER)
    assert twice.outcome is UnsubscribeOutcome.NOT_SUBSCRIBED
    assert twice.label == "Numero 0001"


def test_coming_back_reactivates_the_same_label_with_fresh_consent(
    service: SubscriberService, database: Database, clock: FixedClock
) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    service.subscribe("whatsapp", "393330000000", "Iscrivimi", "2024-01")
    clock.advance(days=10)
    service.unsubscribe("whatsapp", NUMBER)
    back_at = clock.advance(days=30)
    result = service.subscribe("whatsapp", NUMBER, "iscrivimi ancora", "2024-06", ["bandi"])
    assert result.outcome is SubscribeOutcome.REACTIVATED
    assert result.label == "Numero 0001"
    assert result.topics == ("memo", "bandi")
    row = raw_rows(database, "subscribers")[0]
    assert row["user_id"] == NUMBER and row["status"] == "active"
    assert row["cancelled_at"] is None
    first, fresh = (c for c in raw_rows(database, "consents") if c["subscriber_id"] == 1)
    assert first["withdrawn_at"] is not None and first["policy_version"] == "2024-01"
    assert fresh["withdrawn_at"] is None
    assert (fresh["policy_version"], fresh["message"]) == ("2024-06", "iscrivimi ancora")
    status = service.status("whatsapp", NUMBER)
    assert status.subscribed and status.since == back_at


def test_a_cancelled_label_is_never_given_to_someone_else(service: SubscriberService) -> None:
    service.subscribe("whatsapp", "393330000001", "Iscrivimi", "2024-01")
    service.subscribe("whatsapp", "393330000002", "Iscrivimi", "2024-01")
    service.unsubscribe("whatsapp", "393330000002")
    newcomer = service.subscribe("whatsapp", "393330000003", "Iscrivimi", "2024-01")
    assert newcomer.label == "Numero 0003"


def test_labels_are_not_reused_even_after_deleting_the_highest_row(
    service: SubscriberService, database: Database
) -> None:
    service.subscribe("whatsapp", "393330000001", "Iscrivimi", "2024-01")
    service.subscribe("whatsapp", "393330000002", "Iscrivimi", "2024-01")
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM subscribers WHERE id = 2"))
    newcomer = service.subscribe("whatsapp", "393330000003", "Iscrivimi", "2024-01")
    assert newcomer.label == "Numero 0003"


def test_a_returning_subscriber_is_recognised_only_with_the_same_salt(
    database: Database, settings: Settings, clock: FixedClock
) -> None:
    first = SubscriberService(database, settings.subscription, UserHasher(b"a" * 32), clock=clock)
    other = SubscriberService(database, settings.subscription, UserHasher(b"b" * 32), clock=clock)
    first.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    first.unsubscribe("whatsapp", NUMBER)
    assert first.status("whatsapp", NUMBER).label == "Numero 0001"
    assert other.status("whatsapp", NUMBER).label is None


@pytest.mark.parametrize(
    ("channel", "user_id"), [("", NUMBER), ("whatsapp", ""), ("x" * 33, NUMBER)]
)
def test_bad_channel_or_user_id_is_refused(
    service: SubscriberService, channel: str, user_id: str
) -> None:
    with pytest.raises(ValueError):
        service.subscribe(channel, user_id, "Iscrivimi", "2024-01")


def test_naive_times_are_refused(
    database: Database, settings: Settings, hasher: UserHasher
) -> None:
    naive = SubscriberService(
        database, settings.subscription, hasher, clock=lambda: datetime(2024, 1, 1)
    )
    with pytest.raises(StatementError, match="naive datetime"):
        naive.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    assert naive.status("whatsapp", NUMBER).label is None
