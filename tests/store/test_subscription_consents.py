"""The consent log (urp.subscription.consents): every opt-in and opt-out, timestamped, with
the number only as its salted hash; Meta's marketing opt-out; the double opt-in."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.store.conftest import SALT, START, FixedClock, raw_rows
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import Settings
from urp.subscription.consents import ConsentLog, ConsentSource
from urp.subscription.subscribers import (
    ConfirmOutcome,
    ImportRow,
    SubscribeOutcome,
    SubscriberService,
    UnsubscribeOutcome,
)

NUMBER = "393331234567"
OTHER = "393339876543"


@pytest.fixture
def log(database: Database, hasher: UserHasher, clock: FixedClock) -> ConsentLog:
    return ConsentLog(database, hasher, clock=clock)


@pytest.fixture
def confirming(
    database: Database, settings: Settings, hasher: UserHasher, clock: FixedClock
) -> SubscriberService:
    """The register of a Comune that asks «Rispondi SÌ per confermare» (30 minutes)."""
    subscription = replace(settings.subscription, confirm=True, confirm_minutes=30)
    return SubscriberService(database, subscription, hasher, clock=clock)


def steps(log: ConsentLog, number: str = NUMBER) -> list[tuple[str, str, str]]:
    return [(r.scope, r.action, r.source) for r in log.history("whatsapp", number)]


def test_each_consent_and_revocation_is_a_timestamped_row(
    service: SubscriberService, log: ConsentLog, clock: FixedClock, database: Database
) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "v1")
    clock.advance(days=3)
    service.unsubscribe("whatsapp", NUMBER, message="Cancellami")
    clock.advance(days=1)
    service.subscribe("whatsapp", NUMBER, "iscrivimi", "v2")
    clock.advance(hours=2)
    result = service.unsubscribe("whatsapp", NUMBER, source=ConsentSource.STOP, message="STOP")
    assert result.outcome == UnsubscribeOutcome.CANCELLED
    history = log.history("whatsapp", NUMBER)
    assert [(r.action, r.source, r.at - START) for r in history] == [
        ("given", "chat", timedelta(0)),
        ("withdrawn", "chat", timedelta(days=3)),
        ("given", "chat", timedelta(days=4)),
        ("withdrawn", "stop", timedelta(days=4, hours=2)),
    ]
    assert [r.policy_version for r in history if r.action == "given"] == ["v1", "v2"]
    assert history[0].topics == ("memo",) and history[0].message == "Iscrivimi"
    rows = raw_rows(database, "consent_events")
    assert all(NUMBER not in str(value) for row in rows for value in row.values())
    assert {row["user_hash"] for row in rows} == {UserHasher(SALT.encode())("whatsapp", NUMBER)}


def test_a_revocation_is_logged_even_from_someone_not_subscribed(
    service: SubscriberService, log: ConsentLog
) -> None:
    result = service.unsubscribe("whatsapp", NUMBER, source=ConsentSource.STOP, message="stop")
    assert result.outcome == UnsubscribeOutcome.NOT_SUBSCRIBED
    assert steps(log) == [("service", "withdrawn", "stop")]


def test_topics_followed_later_and_imported_subscribers_are_logged(
    service: SubscriberService, log: ConsentLog
) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "v1")
    service.follow("whatsapp", NUMBER, ["emergenze"], "iscrivimi alle emergenze", "v1")
    service.follow("whatsapp", NUMBER, ["emergenze"], "iscrivimi alle emergenze", "v1")
    assert [r.topics for r in log.history("whatsapp", NUMBER)] == [("memo",), ("emergenze",)]
    row = ImportRow(line=2, label_number=7, user_id=OTHER, subscribed_at=START)
    service.import_rows([row], "whatsapp", "v0")
    assert steps(log, OTHER) == [("service", "given", "import")]


def test_meta_s_marketing_stop_is_honoured_until_resumed(
    log: ConsentLog, hasher: UserHasher, clock: FixedClock
) -> None:
    me, other = hasher("whatsapp", NUMBER), hasher("whatsapp", OTHER)
    assert not log.marketing_opted_out(me)
    assert log.record_marketing("whatsapp", NUMBER, stopped=True, at=START, detail="stop")
    assert log.marketing_opted_out(me) and not log.marketing_opted_out(other)
    assert log.marketing_opted_out_among([me, other, me]) == {me}
    assert log.record_marketing("whatsapp", NUMBER, stopped=False, at=START + timedelta(hours=1))
    assert not log.marketing_opted_out(me)
    assert log.marketing_opted_out_among([me, other]) == set()
    assert steps(log) == [("marketing", "withdrawn", "meta"), ("marketing", "given", "meta")]


def test_meta_s_late_or_repeated_deliveries_do_not_change_the_last_word(
    log: ConsentLog, hasher: UserHasher
) -> None:
    me = hasher("whatsapp", NUMBER)
    later = START + timedelta(minutes=5)
    assert log.record_marketing("whatsapp", NUMBER, stopped=True, at=later)
    # The «resume» of before arrives after the «stop»: the stop is still the last word.
    assert log.record_marketing("whatsapp", NUMBER, stopped=False, at=START)
    assert log.marketing_opted_out(me) and log.marketing_opted_out_among([me]) == {me}
    assert not log.record_marketing("whatsapp", NUMBER, stopped=True, at=later)  # a repeat
    assert len(log.history("whatsapp", NUMBER)) == 2


def test_the_marketing_opt_out_does_not_touch_the_subscription(
    service: SubscriberService, log: ConsentLog
) -> None:
    service.subscribe("whatsapp", NUMBER, "Iscrivimi", "v1")
    log.record_marketing("whatsapp", NUMBER, stopped=True)
    assert service.status("whatsapp", NUMBER).subscribed


def test_double_opt_in_subscribes_only_on_a_yes_in_time(
    confirming: SubscriberService, log: ConsentLog, clock: FixedClock
) -> None:
    asked = confirming.request("whatsapp", NUMBER, "iscrivimi alle emergenze", "v3", ["emergenze"])
    assert asked == ("memo", "emergenze")
    assert not confirming.status("whatsapp", NUMBER).subscribed
    refused = confirming.confirm("whatsapp", NUMBER, "va bene", "v4", confirmed=False)
    assert refused.outcome == ConfirmOutcome.NOT_CONFIRMED
    assert not confirming.status("whatsapp", NUMBER).subscribed
    clock.advance(minutes=29)
    done = confirming.confirm("whatsapp", NUMBER, "SÌ", "v4", confirmed=True)
    assert done.outcome == ConfirmOutcome.CONFIRMED and done.subscription is not None
    assert done.subscription.outcome == SubscribeOutcome.CREATED
    assert done.subscription.topics == ("memo", "emergenze")
    assert confirming.status("whatsapp", NUMBER).topics == ("memo", "emergenze")
    history = log.history("whatsapp", NUMBER)
    assert [(r.action, r.source, r.policy_version) for r in history] == [
        ("requested", "chat", "v3"),
        ("given", "confirm", "v3"),  # the notice that was shown, not a newer one
    ]
    assert history[1].message == "SÌ"
    again = confirming.confirm("whatsapp", NUMBER, "sì", "v4", confirmed=True)
    assert again.outcome == ConfirmOutcome.NO_REQUEST


def test_double_opt_in_expires(confirming: SubscriberService, clock: FixedClock) -> None:
    confirming.request("whatsapp", NUMBER, "Iscrivimi", "v1")
    clock.advance(minutes=31)
    late = confirming.confirm("whatsapp", NUMBER, "sì", "v1", confirmed=True)
    assert late.outcome == ConfirmOutcome.EXPIRED
    assert not confirming.status("whatsapp", NUMBER).subscribed


def test_double_opt_in_without_a_request_or_after_a_stop(
    confirming: SubscriberService,
) -> None:
    nothing = confirming.confirm("whatsapp", NUMBER, "sì", "v1", confirmed=True)
    assert nothing.outcome == ConfirmOutcome.NO_REQUEST
    confirming.request("whatsapp", NUMBER, "Iscrivimi", "v1")
    confirming.unsubscribe("whatsapp", NUMBER, source=ConsentSource.STOP, message="STOP")
    stopped = confirming.confirm("whatsapp", NUMBER, "sì", "v1", confirmed=True)
    assert stopped.outcome == ConfirmOutcome.NO_REQUEST
    assert not confirming.status("whatsapp", NUMBER).subscribed
