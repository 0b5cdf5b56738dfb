"""The inbox: acknowledged messages kept until handled, claimed by one replica at a time,
in order per citizen, taken again after a crash, forgotten once answered."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.store.conftest import START, FixedClock, raw_rows
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.whatsapp.inbox import MAX_ATTEMPTS, Claimed, Inbox, InboxWorker, retry_delay
from urp.whatsapp.store import WhatsAppStore
from urp.whatsapp.webhook import InboundMessage

ANNA, BRUNO = "393330000001", "393330000002"


def message(message_id: str, sender: str = ANNA, text: str | None = "ciao") -> InboundMessage:
    return InboundMessage(
        message_id=message_id,
        sender=sender,
        phone_number_id="106540352242922",
        sent_at=START,
        kind="text",
        text=text,
    )


def new_inbox(database: Database, hasher: UserHasher, clock: FixedClock) -> Inbox:
    """One replica's inbox (its own store: the week of ids is shared through the table)."""
    return Inbox(database, WhatsAppStore(database, hasher, clock=clock), hasher, clock=clock)


@pytest.fixture
def inbox(database: Database, hasher: UserHasher, clock: FixedClock) -> Inbox:
    return new_inbox(database, hasher, clock)


def ids(claims: list[Claimed]) -> list[str]:
    return [claim.message_id for claim in claims]


def test_a_message_is_stored_once_whichever_replica_gets_it_and_however_often(
    database: Database, hasher: UserHasher, clock: FixedClock
) -> None:
    replicas = [new_inbox(database, hasher, clock) for _ in range(2)]
    with ThreadPoolExecutor(8) as pool:
        accepted = list(
            pool.map(lambda i: replicas[i % 2].accept("whatsapp", [message("wamid.A")]), range(8))
        )
    assert sum(len(new) for new in accepted) == 1
    [row] = raw_rows(database, "inbound_deliveries")
    assert row["message_id"] == "wamid.A" and row["attempts"] == 0
    assert ANNA not in row["sender_key"]  # a salted hash: the number is only in the message


def test_the_stored_message_comes_back_whole(inbox: Inbox) -> None:
    photo = InboundMessage(
        message_id="wamid.P",
        sender=ANNA,
        phone_number_id="106540352242922",
        sent_at=START,
        kind="image",
        text="buca in via Marconi",
        media_id="MEDIA1",
        caption="buca in via Marconi",
    )
    inbox.accept("whatsapp", [photo])
    [claim] = inbox.claim("whatsapp", 10)
    assert claim.message == photo and claim.attempts == 1


def test_two_replicas_never_claim_the_same_message(
    database: Database, hasher: UserHasher, clock: FixedClock
) -> None:
    inbox = new_inbox(database, hasher, clock)
    inbox.accept("whatsapp", [message(f"wamid.{n}", sender=f"3933300{n:05d}") for n in range(60)])
    replicas = [new_inbox(database, hasher, clock) for _ in range(2)]
    start = threading.Barrier(4)

    def claim_all(replica: Inbox) -> list[str]:
        start.wait()
        taken: list[str] = []
        while claims := replica.claim("whatsapp", 5):
            taken += ids(claims)
        return taken

    with ThreadPoolExecutor(4) as pool:
        taken = list(pool.map(claim_all, replicas * 2))
    every = [message_id for batch in taken for message_id in batch]
    assert sorted(every) == sorted(f"wamid.{n}" for n in range(60))  # each once, none lost


def test_a_citizen_s_messages_are_claimed_one_at_a_time_in_order(inbox: Inbox) -> None:
    inbox.accept("whatsapp", [message("wamid.A1"), message("wamid.B1", BRUNO)])
    inbox.accept("whatsapp", [message("wamid.A2")])
    first = inbox.claim("whatsapp", 10)
    assert ids(first) == ["wamid.A1", "wamid.B1"]
    assert inbox.claim("whatsapp", 10) == []  # A2 waits for A1
    assert inbox.done(first[0])
    assert ids(inbox.claim("whatsapp", 10)) == ["wamid.A2"]


def test_each_channel_claims_its_own_messages(inbox: Inbox) -> None:
    inbox.accept("twilio", [message("SM1", "whatsapp:+393330000001")])
    inbox.accept("whatsapp", [message("wamid.A1")])
    assert ids(inbox.claim("whatsapp", 10)) == ["wamid.A1"]
    assert ids(inbox.claim("twilio", 10)) == ["SM1"]


def test_a_message_left_by_a_dead_holder_is_claimed_again_when_its_lease_runs_out(
    database: Database, inbox: Inbox, clock: FixedClock
) -> None:
    inbox.accept("whatsapp", [message("wamid.A1")])
    [dead] = inbox.claim("whatsapp", 10)
    clock.advance(seconds=inbox.lease.total_seconds() - 1)
    assert inbox.claim("whatsapp", 10) == []  # still held
    clock.advance(seconds=2)
    [again] = inbox.claim("whatsapp", 10)
    assert again.attempts == 2  # the handler checks whether Rasa already has it
    assert not inbox.done(dead)  # a late holder does not settle another's claim
    assert inbox.done(again)
    assert raw_rows(database, "inbound_deliveries") == []


def test_a_renewed_lease_keeps_the_message_in_hand(inbox: Inbox, clock: FixedClock) -> None:
    inbox.accept("whatsapp", [message("wamid.A1")])
    [held] = inbox.claim("whatsapp", 10)
    for _ in range(3):
        clock.advance(seconds=inbox.lease.total_seconds() / 2)
        inbox.renew([held])
        assert inbox.claim("whatsapp", 10) == []
    assert inbox.done(held)


def test_a_released_message_is_claimable_at_once(inbox: Inbox) -> None:
    inbox.accept("whatsapp", [message("wamid.A1")])
    inbox.release(inbox.claim("whatsapp", 10))
    assert ids(inbox.claim("whatsapp", 10)) == ["wamid.A1"]


def test_a_failed_message_is_retried_later_then_given_up_and_the_citizen_goes_on(
    database: Database, inbox: Inbox, clock: FixedClock
) -> None:
    inbox.accept("whatsapp", [message("wamid.A1"), message("wamid.A2")])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [claim] = inbox.claim("whatsapp", 10)
        assert (claim.message_id, claim.attempts) == ("wamid.A1", attempt)
        inbox.retry_later(claim)
        assert inbox.claim("whatsapp", 10) == []  # not before its delay, nor A2 before it
        clock.advance(seconds=retry_delay(attempt).total_seconds())
    assert ids(inbox.claim("whatsapp", 10)) == ["wamid.A2"]
    assert [row["message_id"] for row in raw_rows(database, "inbound_deliveries")] == ["wamid.A2"]


def test_the_delays_grow_up_to_five_minutes() -> None:
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert delays[0] == timedelta(seconds=5) and delays == sorted(delays)
    assert max(delays) == timedelta(minutes=5)


def test_a_message_waiting_more_than_a_day_is_given_up(
    database: Database, inbox: Inbox, clock: FixedClock
) -> None:
    inbox.accept("whatsapp", [message("wamid.A1")])
    clock.advance(hours=25)
    assert inbox.claim("whatsapp", 10) == []
    assert raw_rows(database, "inbound_deliveries") == []


def test_a_handled_message_leaves_no_text_and_its_id_is_refused_for_a_week(
    database: Database, hasher: UserHasher, clock: FixedClock
) -> None:
    inbox = new_inbox(database, hasher, clock)
    inbox.accept("whatsapp", [message("wamid.A1")])
    assert inbox.done(inbox.claim("whatsapp", 10)[0])
    assert raw_rows(database, "inbound_deliveries") == []
    assert inbox.accept("whatsapp", [message("wamid.A1")]) == []  # Meta's repeat
    clock.advance(days=8)
    later = new_inbox(database, hasher, clock)  # a restart: purges on its first write
    assert ids_of(later.accept("whatsapp", [message("wamid.A2")])) == ["wamid.A2"]
    assert [row["message_id"] for row in raw_rows(database, "whatsapp_inbound")] == ["wamid.A2"]


def ids_of(messages: list[InboundMessage]) -> list[str]:
    return [m.message_id for m in messages]


def test_erasure_forgets_a_citizen_s_waiting_messages(inbox: Inbox) -> None:
    inbox.accept("whatsapp", [message("wamid.A1"), message("wamid.B1", BRUNO)])
    assert inbox.erase("whatsapp", ANNA) == 1
    assert ids(inbox.claim("whatsapp", 10)) == ["wamid.B1"]


# -- the worker ------------------------------------------------------------------------------


class Recorder:
    """A handler: records what it handled; a citizen's message can be held or fail."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.failing: set[str] = set()
        self.gates: dict[str, asyncio.Event] = {}
        self.started: dict[str, asyncio.Event] = {}

    async def __call__(self, claim: Claimed) -> None:
        self.started.setdefault(claim.message_id, asyncio.Event()).set()
        if claim.message_id in self.gates:
            await self.gates[claim.message_id].wait()
        if claim.message_id in self.failing:
            raise RuntimeError("Rasa non risponde")
        self.handled.append(claim.message_id)

    async def until(self, condition, worker: InboxWorker) -> None:
        while not condition():
            worker.wake()
            await asyncio.sleep(0.01)


def test_the_worker_handles_each_citizen_in_order_and_others_meanwhile(
    database: Database, inbox: Inbox
) -> None:
    async def scenario() -> None:
        recorder = Recorder()
        recorder.gates["wamid.A1"] = asyncio.Event()
        worker = InboxWorker(inbox, "whatsapp", recorder, poll_every=0.05)
        inbox.accept("whatsapp", [message("wamid.A1"), message("wamid.A2")])
        inbox.accept("whatsapp", [message("wamid.B1", BRUNO)])
        worker.start()
        await recorder.until(lambda: "wamid.B1" in recorder.handled, worker)
        assert "wamid.A2" not in recorder.handled  # behind A1, which is still in hand
        recorder.gates["wamid.A1"].set()
        await recorder.until(lambda: len(recorder.handled) == 3, worker)
        await worker.stop()
        assert recorder.handled == ["wamid.B1", "wamid.A1", "wamid.A2"]

    asyncio.run(asyncio.wait_for(scenario(), 120))  # a hang fails, not blocks
    assert raw_rows(database, "inbound_deliveries") == []


def test_the_worker_retries_a_failure_and_a_new_worker_takes_what_a_stopped_one_left(
    database: Database, inbox: Inbox, clock: FixedClock
) -> None:
    async def scenario() -> None:
        recorder = Recorder()
        recorder.failing.add("wamid.A1")
        recorder.gates["wamid.B1"] = asyncio.Event()  # never opened: in hand at the stop
        worker = InboxWorker(inbox, "whatsapp", recorder, poll_every=0.05)
        inbox.accept("whatsapp", [message("wamid.A1"), message("wamid.B1", BRUNO)])
        worker.start()
        await recorder.until(lambda: "wamid.B1" in recorder.started, worker)
        await recorder.until(lambda: _waiting_for_a_retry(database, "wamid.A1"), worker)
        await worker.stop(grace=0)  # B1 handed back, unfinished
        recorder.failing.clear()
        recorder.gates.clear()
        clock.advance(seconds=retry_delay(1).total_seconds())
        restarted = InboxWorker(inbox, "whatsapp", recorder, poll_every=0.05)
        restarted.start()
        await recorder.until(lambda: len(recorder.handled) == 2, restarted)
        await restarted.stop()
        assert sorted(recorder.handled) == ["wamid.A1", "wamid.B1"]

    asyncio.run(asyncio.wait_for(scenario(), 120))  # a hang fails, not blocks
    assert raw_rows(database, "inbound_deliveries") == []


def _waiting_for_a_retry(database: Database, message_id: str) -> bool:
    rows = [r for r in raw_rows(database, "inbound_deliveries") if r["message_id"] == message_id]
    return bool(rows) and rows[0]["claim_token"] is None and rows[0]["lease_until"] is not None
