"""The broadcast worker: sends the claimed rows through the Graph API at the job's rate.

Runs from ``urp broadcasts run`` or inside another process (``await worker.run()``).
One task claims small batches (:meth:`urp.broadcasts.delivery.BroadcastDelivery.claim`),
many tasks send (enough requests in flight that Meta's latency, not the worker, sets the
pace), a token bucket keeps the rate, and the results are written in batches a few times
a second: a database transaction per message would cap the rate well below Meta's tiers.
Any number of workers may run at once, and any may be killed: see
:mod:`urp.broadcasts.delivery` for why no recipient gets a message twice.

Meta's refusals, by code (:func:`urp.whatsapp.graph.error_action`): throughput reached
(130429, or a 429) halves the whole worker's pace, which recovers slowly, and the message
is tried again; the pair rate limit (131056) delays that recipient, 6 seconds and then four
times longer each time; outside the window (131047) the row goes back to be sent with the
template; Meta's marketing cap and opt-out (131049, 131050) skip the row («saltato da
Meta»); account and policy errors (131048, 368, 131031, 190...) pause the job, for the
operators; any other code fails the row with Meta's own words.

Outside the window a row goes as its broadcast's template: an emergency's own where the
settings have one (``whatsapp.templates.emergency``, a utility template), else the memo's.
A marketing template never goes to a citizen who stopped Meta's marketing messages from
WhatsApp's own menu (the consent log, :class:`MarketingOptOuts`): the row is skipped
before the request, as Meta would refuse it anyway (131050), and counted among «saltati».
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from urp.broadcasts.delivery import MAX_ATTEMPTS, PAIR, Claimed, Outcome, skipped_by_meta
from urp.broadcasts.service import BroadcastService, broadcast_template
from urp.core.clock import Clock, utc_now
from urp.core.db import Database, DatabaseError
from urp.core.hashing import UserHasher
from urp.core.models import MEMO_BROADCAST
from urp.core.settings import MessageTemplate, Settings
from urp.subscription.consents import ConsentLog
from urp.whatsapp.graph import (
    DELAY_RECIPIENT,
    MARKETING_STOPPED,
    PAUSE_JOB,
    SKIPPED_BY_META,
    SLOW_DOWN,
    USE_TEMPLATE,
    GraphApiError,
    GraphClient,
    GraphSettings,
    error_action,
    template_message,
    text_messages,
)
from urp.whatsapp.store import WhatsAppStore

logger = logging.getLogger(__name__)

MEMO_TEMPLATE = "memo"
# Requests in flight: aiohttp's limit of connections per session. At Meta's ~0.3 s per
# request that is over 300 messages/s, beyond the Cloud API's default 80 per second.
CONCURRENCY = 100
FLUSH_EVERY = 0.2  # seconds between writes of the results
POLL_EVERY = 1.0  # seconds between looks for new broadcasts when there is nothing to send
# A worker stops sending a row this long before its lease runs out: past the lease the row
# may be handed to another worker, so a late request could be a second message.
LEASE_MARGIN = timedelta(seconds=30)
# Meta's throughput refusals: the pace is halved (down to SLOWEST of the job's rate), then
# recovers by a quarter every RECOVER_EVERY seconds without one; a message is tried again
# up to THROTTLE_RETRIES times before its row goes back to the queue.
SLOWEST = 1 / 16
RECOVER_EVERY = 10.0
THROTTLE_RETRIES = 5
# The pair rate limit: Meta allows about one message every 6 seconds to the same user and
# advises a backoff of 4^n seconds; here 6 s, then four times longer, at most 15 minutes.
PAIR_BACKOFF = 6.0
PAIR_BACKOFF_MAX = 900.0
NO_TEMPLATE = (
    "fuori dalla finestra di 24 ore e nessun modello approvato "
    f"(whatsapp.templates.{MEMO_TEMPLATE} nelle impostazioni)"
)
CHANNEL = "whatsapp"
MARKETING = "marketing"  # the template category Meta's marketing opt-out applies to
OPTED_OUT = "ha interrotto i messaggi di marketing dal menu di WhatsApp"


class MarketingOptOuts:
    """Who, among some numbers, stopped Meta's marketing messages (their last word in the
    consent log). One query per claimed batch, by the numbers' salted hashes."""

    def __init__(self, consents: ConsentLog, hasher: Callable[[str, str], str]) -> None:
        self._consents = consents
        self._hash = hasher

    def among(self, user_ids: Iterable[str]) -> set[str]:
        by_hash = {self._hash(CHANNEL, user_id): user_id for user_id in user_ids}
        if not by_hash:
            return set()
        return {by_hash[h] for h in self._consents.marketing_opted_out_among(by_hash)}


class TokenBucket:
    """At most ``rate`` takes per second on average, in bursts of at most ``burst``."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = asyncio.Lock()
        self.set_rate(rate)
        self._tokens = 1.0
        self._updated = clock()

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        # A tenth of a second's worth: smooth for Meta, and it absorbs the event loop's
        # late wake-ups so that the average rate is the configured one.
        self._burst = max(1.0, rate / 10)

    async def take(self) -> None:
        # One waiter at a time sleeps for the next token: no herd of tasks waking up.
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self._burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class BroadcastWorker:
    """Sends the running broadcasts; :meth:`close` releases the Graph API connections."""

    @classmethod
    def from_environment(cls, database: Database, settings: Settings) -> BroadcastWorker | None:
        """A worker with the Cloud API credentials of the environment; None without them."""
        graph = GraphSettings.from_environment()
        if graph is None:
            return None
        hasher = UserHasher.from_environment()
        store = WhatsAppStore(database, hasher)
        limit = settings.whatsapp_messaging_limit
        return cls(
            BroadcastService(database, store, messaging_limit=limit),
            GraphClient(graph),
            store,
            settings.whatsapp_templates,
            opt_outs=MarketingOptOuts(ConsentLog(database, hasher), hasher),
        )

    def __init__(
        self,
        service: BroadcastService,
        client: GraphClient,
        store: WhatsAppStore,
        templates: Mapping[str, MessageTemplate],
        *,
        opt_outs: MarketingOptOuts | None = None,
        concurrency: int = CONCURRENCY,
        poll_every: float = POLL_EVERY,
        lease_margin: timedelta = LEASE_MARGIN,
        clock: Clock = utc_now,
        pair_backoff: float = PAIR_BACKOFF,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._service = service
        self._client = client
        self._store = store
        self._templates = templates
        self._kinds: dict[int, str] = {}  # broadcast id -> kind (memo, emergency)
        self._opt_outs = opt_outs
        self._concurrency = concurrency
        self._poll_every = poll_every
        self._lease_margin = lease_margin
        self._clock = clock
        self._pair_backoff = pair_backoff
        self._monotonic = monotonic
        self._bucket = TokenBucket(1.0)
        self._rate = 1.0  # the job's configured rate
        self._pace = 1.0  # the fraction of it Meta's throughput lets us use now
        self._throttled_at = -RECOVER_EVERY
        self._paused: set[int] = set()  # jobs this worker paused (the pause is written once)
        self._outcomes: list[Outcome] = []
        self._wamids: list[tuple[str, str, str]] = []  # (wamid, number, kind) to record
        self._cancelled: set[int] = set()
        self._in_flight: dict[int, int] = {}  # broadcast id -> rows claimed, not finished

    async def run(self, *, until_idle: bool = True, stop: asyncio.Event | None = None) -> None:
        """Send until no running broadcast has work left (``until_idle``) or ``stop`` is set.

        On ``stop``, the rows already claimed (a fraction of a second's worth) are sent
        before returning.
        """
        stop = stop or asyncio.Event()
        queue: asyncio.Queue[Claimed] = asyncio.Queue()
        senders = [asyncio.create_task(self._sender(queue)) for _ in range(self._concurrency)]
        flusher = asyncio.create_task(self._flusher(stop))
        try:
            await self._feed(queue, stop, until_idle)
            await queue.join()
        finally:
            stop.set()
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
            await flusher
            await self._flush()

    async def close(self) -> None:
        await self._client.close()

    async def _feed(
        self, queue: asyncio.Queue[Claimed], stop: asyncio.Event, until_idle: bool
    ) -> None:
        while not stop.is_set():
            # A quarter of a second's worth, and at most two batches claimed ahead: an
            # emergency, an unsubscribe or a cancel takes effect within half a second.
            batch = max(10, min(200, int(self._bucket.rate / 4)))
            if sum(self._in_flight.values()) > batch:
                await _wait(stop, batch / 2 / self._bucket.rate)
                continue
            claimed, skipped = await asyncio.to_thread(self._claim, batch)
            self._outcomes.extend(skipped)  # here: the flusher swaps the list in this thread
            if claimed:
                self._rate = claimed[0].rate
                self._recover()
                self._in_flight[claimed[0].broadcast_id] = self._in_flight.get(
                    claimed[0].broadcast_id, 0
                ) + len(claimed)
                for row in claimed:
                    queue.put_nowait(row)
                continue
            idle = until_idle and queue.empty() and not any(self._in_flight.values())
            # Written first, so that settle sees them; not written: busy, try again.
            if (
                idle
                and await self._try_flush()
                and not await asyncio.to_thread(self._service.settle)
            ):
                return
            await _wait(stop, self._poll_every)

    def _claim(self, batch: int) -> tuple[list[Claimed], list[Outcome]]:
        """The next rows to send, and the outcomes of those skipped because the citizen
        stopped marketing messages: one query per batch, rather than a request each that
        Meta refuses. A batch that only skipped rows is followed by the next one (as the
        claim does for its own skips): the skipped rows are this worker's until recorded.
        """
        skipped: list[Outcome] = []
        while True:
            claimed = self._service.claim(batch)
            for job in {row.broadcast_id for row in claimed} - self._kinds.keys():
                self._kinds[job] = self._service.report(job).kind  # once per job
            marketing = [row for row in claimed if self._is_marketing(row)]
            if self._opt_outs is None or not marketing:
                return claimed, skipped
            stopped = self._opt_outs.among(row.user_id for row in marketing)
            gone = {row.row_id for row in marketing if row.user_id in stopped}
            skipped += [
                Outcome(
                    row.row_id,
                    "skipped",
                    row.parts_sent,
                    error_code=MARKETING_STOPPED,
                    error_reason=OPTED_OUT,
                )
                for row in marketing
                if row.row_id in gone
            ]
            remaining = [row for row in claimed if row.row_id not in gone]
            if remaining or not gone:
                return remaining, skipped

    def _template(self, row: Claimed) -> MessageTemplate | None:
        """The template the row's broadcast sends outside the window: an emergency its own
        (a utility one, where Meta approved it), else the memo's."""
        return broadcast_template(
            self._templates, self._kinds.get(row.broadcast_id, MEMO_BROADCAST)
        )

    def _is_marketing(self, row: Claimed) -> bool:
        """Whether the row goes as a template of Meta's marketing category."""
        template = self._template(row)
        return row.via_template and template is not None and template.category == MARKETING

    async def _sender(self, queue: asyncio.Queue[Claimed]) -> None:
        while True:
            row = await queue.get()
            try:
                outcome = await self._send(row)
                # Only now: the flusher swaps the list while a request is awaited.
                self._outcomes.append(outcome)
            except Exception:
                # Unknown fate: the row stays sending, its lease expires, it is reconciled.
                logger.exception("Invio %s: errore inatteso su una riga", row.broadcast_id)
            finally:
                self._in_flight[row.broadcast_id] -= 1
                queue.task_done()

    def _slow_down(self) -> None:
        """Meta said the number's throughput is reached: half the pace, for everyone."""
        now = self._monotonic()
        if now - self._throttled_at > 0.5:  # one halving per burst of refusals
            self._pace = max(SLOWEST, self._pace / 2)
            logger.warning("Meta: troppi messaggi al secondo, invio rallentato")
        self._throttled_at = now
        self._bucket.set_rate(self._rate * self._pace)

    def _recover(self) -> None:
        if self._pace < 1 and self._monotonic() - self._throttled_at >= RECOVER_EVERY:
            self._pace = min(1.0, self._pace * 1.25)
            self._throttled_at = self._monotonic() - RECOVER_EVERY / 2
        rate = self._rate * self._pace
        if rate != self._bucket.rate:
            self._bucket.set_rate(rate)

    async def _send(self, row: Claimed) -> Outcome:
        if row.via_template and self._template(row) is None:
            return Outcome(row.row_id, "failed", row.parts_sent, error_reason=NO_TEMPLATE)
        first_wamid = None
        part = row.parts_sent
        throttled = 0
        while part < len(row.messages):
            if row.broadcast_id in self._cancelled and part == row.parts_sent:
                return Outcome(row.row_id, "pending", part)  # cancelled: back in the queue
            await self._bucket.take()
            # After the wait for the rate, which may be long: then only the request itself
            # (its timeout and retries of 429s) may outlast the lease, and the grace period
            # covers that much.
            if self._clock() >= row.lease_until - self._lease_margin:
                # The lease is running out: given back, unsent, to the reconciliation.
                return Outcome(row.row_id, "sending", part, first_wamid, attempt=row.attempts)
            message = self._message(row, part)
            try:
                wamid = await self._client.send(
                    message, retry_uncertain=False, retry_throttled=False
                )
            except GraphApiError as error:
                if error.uncertain:
                    # A 5xx or no answer: Meta may have it, so never sent again blindly.
                    # Its statuses settle the row; without any, the reconciliation
                    # sends it again once the grace period has passed.
                    return Outcome(row.row_id, "sending", part, first_wamid, attempt=row.attempts)
                action = error_action(error.code, error.status)
                if action == SLOW_DOWN and throttled < THROTTLE_RETRIES:
                    throttled += 1
                    self._slow_down()
                    continue  # the same part, at the slower pace
                outcome = await self._refused(row, part, first_wamid, error, action)
                if outcome is not None:
                    return outcome
                if error.retryable and row.attempts < MAX_ATTEMPTS:
                    return Outcome(row.row_id, "pending", part, first_wamid)
                return Outcome(row.row_id, "failed", part, first_wamid, error.code, error.meta_text)
            self._wamids.append((wamid, row.user_id, message["type"]))
            first_wamid = first_wamid or (wamid if part == 0 else None)
            part += 1
        return Outcome(row.row_id, "sent", len(row.messages), first_wamid)

    async def _refused(
        self, row: Claimed, part: int, first_wamid: str | None, error: GraphApiError, action: str
    ) -> Outcome | None:
        """What Meta's refusal means for the row; None: a failure like any other."""
        if action == DELAY_RECIPIENT:
            wait = min(PAIR_BACKOFF_MAX, self._pair_backoff * 4**row.deferrals)
            later = self._clock() + timedelta(seconds=wait)
            return Outcome(row.row_id, "pending", part, first_wamid, error.code,
                           not_before=later, wait_reason=PAIR, refund=True)  # fmt: skip
        if action == USE_TEMPLATE and not row.via_template and part == 0:
            return Outcome(row.row_id, "pending", 0, to_template=True, refund=True)
        if action == SKIPPED_BY_META:
            reason = skipped_by_meta(error.meta_text)
            return Outcome(row.row_id, "skipped", part, first_wamid, error.code, reason)
        if action == PAUSE_JOB:
            # Every other message would fail alike: stop the job, keep the row for later.
            self._cancelled.add(row.broadcast_id)
            if row.broadcast_id not in self._paused:
                self._paused.add(row.broadcast_id)
                await asyncio.to_thread(
                    self._service.pause, row.broadcast_id, error.code, error.meta_text
                )
            return Outcome(row.row_id, "pending", part, first_wamid, refund=True)
        return None

    def _message(self, row: Claimed, part: int) -> dict[str, Any]:
        text = row.messages[part]
        if row.via_template:
            template = self._template(row)
            assert template is not None
            message = template_message(row.user_id, template.name, template.language, text)
        else:
            # Each part is below the limit already: this only shapes it.
            message = text_messages(row.user_id, text)[0]
        message["biz_opaque_callback_data"] = f"{row.send_key}:{part}"
        return message

    async def _flusher(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _wait(stop, FLUSH_EVERY)
            if await self._try_flush():
                with contextlib.suppress(DatabaseError):  # known next time
                    self._cancelled = await asyncio.to_thread(
                        self._service.cancelled_among,
                        [job for job, rows in self._in_flight.items() if rows],
                    )

    async def _try_flush(self) -> bool:
        """:meth:`_flush`; False if the database refused, the results kept for next time."""
        try:
            await self._flush()
        except DatabaseError:
            # Only that it failed: a database error's text may quote the values written.
            logger.warning("Invio: risultati non ancora registrati, nuovo tentativo tra poco")
            return False
        return True

    async def _flush(self) -> None:
        """Write the results gathered so far; on an error they are kept for the next try
        (both writes are idempotent), never dropped."""
        outcomes, self._outcomes = self._outcomes, []
        wamids, self._wamids = self._wamids, []
        try:
            if wamids:
                # First, so that Meta's statuses find the delivery records.
                await asyncio.to_thread(self._store.sent_many, wamids)
            if outcomes:
                await asyncio.to_thread(self._service.record, outcomes)
        except BaseException:
            self._outcomes[:0] = outcomes
            self._wamids[:0] = wamids
            raise


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
