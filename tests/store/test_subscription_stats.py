"""Statistics: active, new and cancelled per month (municipality's time), by topic."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from tests.store.conftest import FixedClock
from urp.core.db import Database
from urp.subscription.stats import MonthStats, TopicStats
from urp.subscription.subscribers import SubscriberService

ROME = ZoneInfo("Europe/Rome")


def test_stats_month_by_month_and_by_topic(service: SubscriberService, clock: FixedClock) -> None:
    clock.now = datetime(2024, 1, 15, 10, tzinfo=UTC)
    service.subscribe("whatsapp", "393330000001", "Iscrivimi", "2024-01")
    service.subscribe("whatsapp", "393330000002", "Iscrivimi", "2024-01", ["eventi"])
    # 23:30 UTC on 31 January is already 1 February in Rome.
    clock.now = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    service.subscribe("whatsapp", "393330000003", "Iscrivimi", "2024-01", ["bandi"])
    clock.now = datetime(2024, 2, 10, tzinfo=UTC)
    service.unsubscribe("whatsapp", "393330000001")
    clock.now = datetime(2024, 3, 5, tzinfo=UTC)
    service.subscribe("whatsapp", "393330000001", "Iscrivimi", "2024-03")  # comes back
    service.follow("whatsapp", "393330000004", ["eventi"], "eventi", "2024-03")
    clock.now = datetime(2024, 5, 2, tzinfo=UTC)
    service.unsubscribe("whatsapp", "393330000003")

    stats = service.stats(ROME)

    assert stats.active == 3
    assert stats.cancelled == 1
    assert stats.months == (
        MonthStats("2024-01", new=2, cancelled=0, net=2, active=2),
        MonthStats("2024-02", new=1, cancelled=1, net=0, active=2),
        MonthStats("2024-03", new=2, cancelled=0, net=2, active=4),
        MonthStats("2024-04", new=0, cancelled=0, net=0, active=4),
        MonthStats("2024-05", new=0, cancelled=1, net=-1, active=3),
    )
    by_topic = {topic.key: topic.subscribers for topic in stats.topics}
    assert by_topic == {
        "memo": 3,
        "emergenze": 0,
        "eventi": 2,
        "viabilita": 0,
        "bandi": 0,
        "balneazione": 0,
    }
    assert [topic.label for topic in stats.topics][:2] == [
        "memo settimanale",
        "emergenze e allerte",
    ]


def test_topics_no_longer_in_the_settings_are_still_counted(
    service: SubscriberService, database: Database
) -> None:
    service.subscribe("whatsapp", "393330000001", "Iscrivimi", "2024-01")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO subscriber_topics (subscriber_id, topic, followed_at) "
                "VALUES (1, 'sagre', :at)"
            ),
            {"at": datetime(2024, 1, 1, tzinfo=UTC)},
        )
    assert service.stats(ROME).topics[-1] == TopicStats("sagre", "sagre", 1)
    assert service.status("whatsapp", "393330000001").topics == ("memo", "sagre")


def test_stats_of_an_empty_register(service: SubscriberService) -> None:
    stats = service.stats(ROME)
    assert (stats.active, stats.cancelled, stats.months) == (0, 0, ())
    assert all(topic.subscribers == 0 for topic in stats.topics)


def test_months_follow_the_time_zone_across_the_year_end(
    service: SubscriberService, clock: FixedClock
) -> None:
    clock.now = datetime(2023, 12, 31, 23, 15, tzinfo=UTC)  # 00:15 on 1 January in Rome
    service.subscribe("whatsapp", "393330000001", "Iscrivimi", "2024-01")
    clock.now = datetime(2024, 2, 1, tzinfo=UTC)
    assert [m.month for m in service.stats(ROME).months] == ["2024-01", "2024-02"]
    assert [m.month for m in service.stats(UTC).months] == ["2023-12", "2024-01", "2024-02"]
