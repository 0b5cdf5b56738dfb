"""Following and dropping topics, and the status question."""

from __future__ import annotations

import pytest

from tests.store.conftest import START, FixedClock, raw_rows
from urp.core.db import Database
from urp.subscription.subscribers import SubscribeOutcome, SubscriberService, UnknownTopicError

NUMBER = "393331234567"


def test_following_when_not_subscribed_subscribes_to_the_default_and_that_topic(
    service: SubscriberService, database: Database
) -> None:
    result = service.follow("whatsapp", NUMBER, ["emergenze"], "voglio le allerte", "2024-01")
    assert result.subscription is SubscribeOutcome.CREATED
    assert result.label == "Numero 0001"
    assert result.topics == ("memo", "emergenze")
    [consent] = raw_rows(database, "consents")
    assert consent["message"] == "voglio le allerte"


def test_following_after_leaving_reactivates(service: SubscriberService, clock: FixedClock) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01", ["bandi"])
    service.unsubscribe("whatsapp", NUMBER)
    clock.advance(days=1)
    result = service.follow("whatsapp", NUMBER, ["eventi"], "eventi", "2024-01")
    assert result.subscription is SubscribeOutcome.REACTIVATED
    assert result.topics == ("memo", "eventi")  # what was followed before leaving is gone


def test_follow_and_drop_while_subscribed(service: SubscriberService) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    added = service.follow("whatsapp", NUMBER, ["eventi", "memo", "bandi"], "anche", "2024-01")
    assert added.subscription is SubscribeOutcome.ALREADY_ACTIVE
    assert added.added == ("eventi", "bandi")
    assert added.topics == ("memo", "eventi", "bandi")
    dropped = service.drop("whatsapp", NUMBER, ["eventi", "balneazione"])
    assert dropped.subscribed
    assert dropped.removed == ("eventi",)
    assert dropped.topics == ("memo", "bandi")
    assert service.status("whatsapp", NUMBER).topics == ("memo", "bandi")


def test_dropping_every_topic_keeps_the_subscription(service: SubscriberService) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01")
    result = service.drop("whatsapp", NUMBER, ["memo"])
    assert result.subscribed and result.removed == ("memo",)
    assert result.topics == ()
    status = service.status("whatsapp", NUMBER)
    assert status.subscribed and status.topics == ()


def test_dropping_when_not_subscribed(service: SubscriberService) -> None:
    result = service.drop("whatsapp", NUMBER, ["memo"])
    assert not result.subscribed
    assert (result.label, result.removed, result.topics) == (None, (), ())


def test_status_of_a_subscriber(service: SubscriberService) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01", ["balneazione"])
    status = service.status("whatsapp", NUMBER)
    assert status.subscribed
    assert status.label == "Numero 0001"
    assert status.since == START
    assert status.cancelled_at is None
    assert status.topics == ("memo", "balneazione")


def test_status_of_a_stranger(service: SubscriberService) -> None:
    status = service.status("whatsapp", NUMBER)
    assert not status.subscribed
    assert (status.label, status.since, status.cancelled_at, status.topics) == (
        None,
        None,
        None,
        (),
    )


def test_unknown_topics_are_refused(service: SubscriberService) -> None:
    with pytest.raises(UnknownTopicError, match="calcio"):
        service.follow("whatsapp", NUMBER, ["calcio"], "calcio", "2024-01")
    with pytest.raises(UnknownTopicError):
        service.subscribe("whatsapp", NUMBER, "Iscrivimi", "2024-01", ["calcio"])
    with pytest.raises(ValueError, match="no topic"):
        service.drop("whatsapp", NUMBER, [])
    assert service.status("whatsapp", NUMBER).label is None
