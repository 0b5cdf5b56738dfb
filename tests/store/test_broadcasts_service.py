"""Broadcast jobs in the store: recipients, claims, priorities, leases, Meta's statuses."""

from __future__ import annotations

from datetime import date

import pytest

from tests.store.broadcasts import RATE, number, services, subscribe
from tests.store.conftest import FixedClock, raw_rows
from tests.store.races import in_threads
from urp.broadcasts.delivery import Outcome
from urp.broadcasts.service import BroadcastError, BroadcastService
from urp.core.db import Database
from urp.information.memo import Memo, MemoItem, MemoService
from urp.subscription.subscribers import SubscriberService
from urp.whatsapp.webhook import StatusUpdate


@pytest.fixture
def broadcasts(database: Database, clock: FixedClock) -> BroadcastService:
    return services(database, clock=clock, lease=60, grace=120)[0]


def emergency(broadcasts: BroadcastService, topic: str = "emergenze") -> int:
    return broadcasts.start_emergency(
        topic, "Sciopero dei bus domani.", created_by="test", rate=RATE
    )


def status(
    message_id: str, state: str, callback: str | None = None, **error: object
) -> StatusUpdate:
    return StatusUpdate(message_id, "", state, None, callback_data=callback, **error)  # type: ignore[arg-type]


def test_recipients_are_the_active_followers_and_no_number_is_copied(
    database: Database, service: SubscriberService, broadcasts: BroadcastService
) -> None:
    followers = subscribe(service, 3, "emergenze")
    subscribe(service, 2, start=10)  # only the default topic, "memo"
    service.unsubscribe("whatsapp", followers[2])
    job = emergency(broadcasts)
    rows = raw_rows(database, "broadcast_recipients")
    assert [row["subscriber_id"] for row in rows] == [1, 2]
    assert {row["status"] for row in rows} == {"pending"}
    assert len({row["send_key"] for row in rows}) == 2
    stored = repr(raw_rows(database, "broadcasts")) + repr(rows)
    assert not any(user_id in stored for user_id in followers)
    assert broadcasts.report(job).counts == {"pending": 2}


def test_a_memo_goes_to_the_default_topic_and_to_its_items_topics_once(
    database: Database, service: SubscriberService, broadcasts: BroadcastService
) -> None:
    subscribe(service, 2)  # memo
    subscribe(service, 1, "eventi", start=5)  # memo and eventi: one row, not two
    service.drop("whatsapp", number(5), ["memo"])
    subscribe(service, 1, "viabilita", start=9)
    service.drop("whatsapp", number(9), ["memo"])  # viabilità only: not in this memo
    memo = Memo(
        date(2024, 1, 15),
        "MEMO",
        (MemoItem("EVENTI", "Concerto.", "https://c.it/e", "eventi"),),
    )
    MemoService(database).publish(memo)
    job = broadcasts.start_memo(memo, "memo", created_by="test", rate=RATE)
    assert broadcasts.report(job).counts == {"pending": 3}
    with pytest.raises(BroadcastError, match="già stato inviato"):
        broadcasts.start_memo(memo, "memo", created_by="test")
    again = broadcasts.start_memo(memo, "memo", created_by="test", again=True)
    assert broadcasts.report(again).topics == ("memo", "eventi")


def test_claiming_marks_rows_sending_and_skips_who_left_or_dropped_the_topic(
    service: SubscriberService, broadcasts: BroadcastService
) -> None:
    numbers = subscribe(service, 4, "emergenze")
    job = emergency(broadcasts)
    service.unsubscribe("whatsapp", numbers[1])
    service.drop("whatsapp", numbers[2], ["emergenze"])
    claimed = broadcasts.claim(10)
    assert [row.user_id for row in claimed] == [numbers[0], numbers[3]]
    assert all(row.via_template for row in claimed)  # nobody wrote in the last 24 hours
    assert broadcasts.report(job).counts == {"sending": 2, "skipped": 2}
    assert broadcasts.claim(10) == []


def test_within_24_hours_of_writing_the_message_is_free_form(
    database: Database, service: SubscriberService, clock: FixedClock
) -> None:
    numbers = subscribe(service, 2, "emergenze")
    broadcasts, store = services(database, clock=clock)
    store.wrote(numbers[0], clock.advance(hours=-1))
    clock.advance(hours=1)
    emergency(broadcasts)
    claimed = {row.user_id: row for row in broadcasts.claim(10)}
    assert not claimed[numbers[0]].via_template
    assert claimed[numbers[0]].messages == ("Sciopero dei bus domani.",)
    assert claimed[numbers[1]].via_template


def test_two_workers_claiming_at_once_get_different_rows(
    service: SubscriberService, broadcasts: BroadcastService
) -> None:
    subscribe(service, 60, "emergenze")
    emergency(broadcasts)

    def work(barrier: object) -> list[int]:
        barrier.wait()  # type: ignore[attr-defined]
        rows = []
        while claimed := broadcasts.claim(7):
            rows += [row.row_id for row in claimed]
        return rows

    rows = in_threads(work)
    assert sorted(rows) == list(range(1, 61))


def test_emergencies_are_claimed_before_a_running_memo(
    database: Database, service: SubscriberService, broadcasts: BroadcastService
) -> None:
    subscribe(service, 5, "emergenze")
    memo = Memo(date(2024, 1, 15), "MEMO", ())
    MemoService(database).publish(memo)
    memo_job = broadcasts.start_memo(memo, "memo", created_by="test", rate=RATE)
    assert {row.broadcast_id for row in broadcasts.claim(2)} == {memo_job}
    urgent = emergency(broadcasts)
    assert {row.broadcast_id for row in broadcasts.claim(10)} == {urgent}
    assert {row.broadcast_id for row in broadcasts.claim(10)} == {memo_job}


def test_cancel_stops_claims_and_resume_goes_on(
    service: SubscriberService, broadcasts: BroadcastService
) -> None:
    subscribe(service, 4, "emergenze")
    job = emergency(broadcasts)
    broadcasts.claim(1)
    broadcasts.cancel(job)
    assert broadcasts.claim(10) == []
    with pytest.raises(BroadcastError, match="annullato"):
        broadcasts.cancel(job)
    broadcasts.resume(job)
    assert len(broadcasts.claim(10)) == 3
    with pytest.raises(BroadcastError, match="non esiste"):
        broadcasts.resume(99)


def test_a_broadcast_completes_when_every_row_is_settled(
    service: SubscriberService, broadcasts: BroadcastService
) -> None:
    subscribe(service, 2, "emergenze")
    job = emergency(broadcasts)
    claimed = broadcasts.claim(10)
    broadcasts.record([Outcome(claimed[0].row_id, "sent", 1, "wamid.1")])
    broadcasts.record([Outcome(claimed[1].row_id, "failed", 0, None, 131026, "Undeliverable")])
    assert broadcasts.claim(10) == []
    report = broadcasts.report(job)
    assert report.status == "completed" and report.finished_at is not None
    assert report.counts == {"sent": 1, "failed": 1}
    assert [(f.code, f.reason, f.count) for f in report.failures] == [(131026, "Undeliverable", 1)]


def test_an_expired_lease_resumes_after_the_parts_meta_reported(
    service: SubscriberService, broadcasts: BroadcastService, clock: FixedClock
) -> None:
    subscribe(service, 3, "emergenze")
    job = emergency(broadcasts)
    reported, silent, late = broadcasts.claim(10)
    # The worker died: Meta had the first message only, and said so.
    assert broadcasts.record_status(status("wamid.R", "sent", f"{reported.send_key}:0"))
    clock.advance(seconds=60 + 119)  # lease over, grace not yet: nothing moves
    assert broadcasts.claim(10) == []
    clock.advance(seconds=2)
    again = broadcasts.claim(10)
    assert [row.row_id for row in again] == [silent.row_id, late.row_id]
    assert all(row.parts_sent == 0 and row.attempts == 2 for row in again)
    # A late answer to the dead worker still counts: no second message for that row.
    broadcasts.record([Outcome(late.row_id, "sent", 1, "wamid.L")])
    counts = broadcasts.report(job).counts
    assert counts == {"sent": 2, "sending": 1}


def test_meta_s_statuses_move_the_rows_forward_never_back(
    service: SubscriberService, broadcasts: BroadcastService
) -> None:
    subscribe(service, 2, "emergenze")
    job = emergency(broadcasts)
    first, second = broadcasts.claim(10)
    broadcasts.record(
        [Outcome(first.row_id, "sent", 1, "wamid.A"), Outcome(second.row_id, "sent", 1, "wamid.B")]
    )
    assert broadcasts.record_status(status("wamid.A", "read", f"{first.send_key}:0"))
    assert broadcasts.record_status(status("wamid.A", "delivered"))  # by wamid, late
    assert broadcasts.record_status(
        status("wamid.B", "failed", error_code=131047, error_title="Re-engagement message")
    )
    assert not broadcasts.record_status(status("wamid.OTHER", "delivered"))
    report = broadcasts.report(job)
    assert report.counts == {"read": 1, "failed": 1}
    assert report.failures[0].code == 131047


def test_a_row_whose_every_part_meta_reported_is_sent_with_its_delivery_record(
    database: Database, service: SubscriberService, broadcasts: BroadcastService
) -> None:
    (user_id,) = subscribe(service, 1, "emergenze")
    job = emergency(broadcasts)
    (row,) = broadcasts.claim(10)
    # The worker never heard Meta's answer (no answer, or a 5xx after Meta took it); the
    # status says Meta has the message: sent now, not after the lease and grace.
    assert broadcasts.record_status(status("wamid.T", "sent", f"{row.send_key}:0"))
    assert broadcasts.report(job).counts == {"sent": 1}
    outbound = raw_rows(database, "whatsapp_outbound")
    assert [(r["wamid"], r["kind"], r["status"]) for r in outbound] == [
        ("wamid.T", "template", "sent")
    ]
    assert user_id not in repr(outbound)
    # The worker's own late word changes nothing.
    broadcasts.record([Outcome(row.row_id, "sending", 0, attempt=row.attempts)])
    assert broadcasts.report(job).counts == {"sent": 1}
    assert broadcasts.record_status(status("wamid.T", "delivered", f"{row.send_key}:0"))
    assert broadcasts.report(job).counts == {"delivered": 1}
    assert len(raw_rows(database, "whatsapp_outbound")) == 1


def test_a_row_given_up_waits_the_grace_period_only_and_only_its_claim_releases_it(
    service: SubscriberService, broadcasts: BroadcastService, clock: FixedClock
) -> None:
    subscribe(service, 2, "emergenze")
    emergency(broadcasts)
    given_up, held = broadcasts.claim(10)
    broadcasts.record(
        [
            Outcome(given_up.row_id, "sending", 0, attempt=given_up.attempts),
            # An earlier claim's word: the row's present holder keeps its lease.
            Outcome(held.row_id, "sending", 0, attempt=held.attempts - 1),
        ]
    )
    clock.advance(seconds=121)  # the grace period (120 s) is over, lease + grace is not
    assert [row.row_id for row in broadcasts.claim(10)] == [given_up.row_id]
