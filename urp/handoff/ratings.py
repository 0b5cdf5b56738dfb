"""The citizens' ratings of their chats with an operator: asked, answered, summed up.

When an operator resolves a chat in which they wrote, the citizen gets «Com'è andata con
l'operatore?» with five buttons (a list on WhatsApp, which shows at most three buttons).
The answer never goes through the NLU: the channels' door (``channels/gate.py``) asks
:meth:`RatingService.answer` first, which recognises only what the question expects:

- **the stars**: a bare 1-5 («4», «4/5», «5 stelle») or a button's payload, for
  :data:`STARS_TTL` (24 hours) after the question, whatever the citizen writes meanwhile,
  since a bare number means nothing else to the assistant;
- then **whether to comment**: «Scrivi un commento» or «No, grazie», only as the very next
  message (anything else is a new question and goes on to the assistant);
- then **the comment**: the very next text message, within :data:`COMMENT_TTL`.

Everything else passes, untouched. Nearly every message has no rating pending, so the
door's service remembers «nothing pending» for a conversation :data:`NO_PENDING_TTL`
seconds (:class:`NoPendingCache`) rather than reading the store at each message. The
question is asked by the console, another process, which cannot tell that memory; two
rules keep it right all the same: a rating just asked awaits the stars, and a message that
may be stars always reads the store; once a rating is found, the memory forgets the
conversation, so the next steps are read too. The rest (a step taken on another replica)
is seen within those few seconds.

The console reads the summary (:meth:`RatingService.report`):
the average per week or month, how many, the distribution and the comments. The rating
belongs to the handoff, not to an operator: the office's service is measured, nobody's
performance.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from time import monotonic
from typing import Any, Protocol

from sqlalchemy import delete, select, update

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.models import Handoff as HandoffRow
from urp.core.models import HandoffRating as RatingRow
from urp.handoff.rasa_api import RasaUnavailableError

logger = logging.getLogger(__name__)

STARS_TTL = timedelta(hours=24)
OFFER_TTL = timedelta(hours=1)
COMMENT_TTL = timedelta(hours=1)
COMMENT_MAX = 1000
LATEST_COMMENTS = 50
NO_PENDING_TTL = 3.0  # seconds a lookup that found no rating pending is trusted
NO_PENDING_CAPACITY = 10_000  # conversations remembered, at most

QUESTION = (
    "Com'è andata con l'operatore? Dai un voto da 1 a 5: tocca un pulsante o scrivi il numero."
)
STAR_TITLES = {
    1: "1 · Molto male",
    2: "2 · Male",
    3: "3 · Così così",
    4: "4 · Bene",
    5: "5 · Molto bene",
}
COMMENT_BUTTON = "Scrivi un commento"
NO_BUTTON = "No, grazie"
THANKS_OFFER = "Grazie del voto! Vuoi lasciare un commento per l'ufficio?"
ASK_COMMENT = "Scrivilo pure qui, in un messaggio: lo leggerà l'ufficio."
THANKS_NO_COMMENT = "Va bene, grazie ancora! Se ti serve altro, scrivimi pure."
THANKS_COMMENT = "Grazie, l'ho passato all'ufficio. Se ti serve altro, scrivimi pure."

# «4», «4/5», «4 stelle», «voto 4», «4!», «⭐⭐⭐⭐»: nothing else is a rating.
_STARS = re.compile(r"(?:voto\s*)?([1-5])\s*(?:/\s*5|su\s*5|stell[ae])?\s*[.!]?")
_STAR_EMOJI = re.compile(r"(?:\u2b50\ufe0f?){1,5}")
_YES = {"scrivi un commento", "commento", "si", "ok", "va bene", "certo", "si grazie"}
_NO = {"no grazie", "no", "no va bene cosi", "nessun commento"}


@dataclass(frozen=True)
class RatingReply:
    """What the citizen is told: a text and, maybe, buttons as Rasa shapes them."""

    text: str
    buttons: tuple[Mapping[str, str], ...] = ()

    @property
    def metadata(self) -> dict[str, Any]:
        """For a ``bot`` event: Rasa merges it into the message the channel sends."""
        return {"buttons": [dict(b) for b in self.buttons]} if self.buttons else {}


QUESTION_REPLY = RatingReply(
    QUESTION,
    tuple({"title": title, "payload": str(stars)} for stars, title in STAR_TITLES.items()),
)
OFFER_REPLY = RatingReply(
    THANKS_OFFER,
    (
        {"title": COMMENT_BUTTON, "payload": COMMENT_BUTTON},
        {"title": NO_BUTTON, "payload": NO_BUTTON},
    ),
)


class Sayer(Protocol):
    """The Rasa side that sends a message to the citizen (:class:`urp.handoff.chat.Conversations`)."""

    def say(
        self, conversation_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> None: ...


def stars_in(text: str) -> int | None:
    """The 1-5 a message means as a rating, or None if it is anything else."""
    words = text.strip()
    if _STAR_EMOJI.fullmatch(words):
        return words.count("\u2b50")
    for stars, title in STAR_TITLES.items():
        if words == title:
            return stars
    found = _STARS.fullmatch(words.lower())
    return int(found.group(1)) if found else None


def _plain(text: str) -> str:
    """Lowercase, without accents and punctuation: «Sì, grazie!» -> «si grazie»."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", letters).split())


@dataclass(frozen=True)
class RatedComment:
    at: datetime
    stars: int
    channel: str
    text: str


@dataclass(frozen=True)
class RatingPeriod:
    start: date  # the Monday of the week, or the first of the month
    label: str  # "settimana del 07/12/2026", "dicembre 2026"
    count: int
    average: float | None


@dataclass(frozen=True)
class RatingReport:
    asked: int
    rated: int
    average: float | None
    distribution: dict[int, int]  # stars -> how many
    periods: list[RatingPeriod]
    comments: list[RatedComment]  # newest first

    @property
    def response_rate(self) -> float | None:
        return round(100 * self.rated / self.asked) if self.asked else None


class NoPendingCache:
    """The conversations found without a pending rating in the last ``ttl`` seconds.

    Only «nothing pending» is remembered, never a rating. Thread-safe (the door looks up in
    threads); at most ``capacity`` conversations, the expired dropped first.
    """

    def __init__(
        self,
        ttl: float = NO_PENDING_TTL,
        *,
        clock: Callable[[], float] = monotonic,
        capacity: int = NO_PENDING_CAPACITY,
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._capacity = capacity
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def __contains__(self, conversation_id: str) -> bool:
        """Whether the conversation had no rating pending a moment ago."""
        with self._lock:
            until = self._until.get(conversation_id)
            if until is None:
                return False
            if until <= self._clock():
                del self._until[conversation_id]
                return False
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._until)

    def remember(self, conversation_id: str) -> None:
        """No rating pending for ``conversation_id``, as just read."""
        now = self._clock()
        with self._lock:
            if conversation_id not in self._until and len(self._until) >= self._capacity:
                self._until = {c: until for c, until in self._until.items() if until > now}
                if len(self._until) >= self._capacity:
                    self._until.clear()
            self._until[conversation_id] = now + self.ttl

    def forget(self, conversation_id: str) -> None:
        with self._lock:
            self._until.pop(conversation_id, None)


MONTHS = (
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
)


class RatingService:
    """The ratings of one database. With ``no_pending`` (the channels' door), a
    conversation just found without a pending rating is not looked up again for a few
    seconds, unless the message may be stars."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock = utc_now,
        no_pending: NoPendingCache | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._no_pending = no_pending

    # -- asking ------------------------------------------------------------------------

    def ask_after(
        self, handoff_id: int, conversation_id: str, operator_wrote: bool, rasa: Sayer
    ) -> bool:
        """Ask the citizen to rate a chat just resolved, if an operator wrote in it; once
        per chat. If the question cannot be sent, nothing stays pending."""
        if not operator_wrote:
            return False
        now = self._clock()
        insert = (
            self._db.upsert_insert(RatingRow)
            .values(
                handoff_id=handoff_id,
                asked_at=now,
                pending_conversation=conversation_id,
                awaiting="stars",
                pending_until=now + STARS_TTL,
            )
            .on_conflict_do_nothing(index_elements=[RatingRow.handoff_id])
        )
        with self._db.transaction(write=True) as session:
            # One question pending per conversation: an older unanswered one is dropped.
            session.execute(
                update(RatingRow)
                .where(RatingRow.pending_conversation == conversation_id)
                .values(pending_conversation=None, awaiting=None, pending_until=None)
            )
            if session.execute(insert).rowcount != 1:
                return False
        try:
            rasa.say(conversation_id, QUESTION_REPLY.text, QUESTION_REPLY.metadata)
        except RasaUnavailableError:
            logger.warning("handoff %s: rating question not sent", handoff_id)
            with self._db.transaction(write=True) as session:
                session.execute(delete(RatingRow).where(RatingRow.handoff_id == handoff_id))
            return False
        return True

    # -- the citizen's answers ---------------------------------------------------------

    def answer(self, conversation_id: str, text: str) -> RatingReply | None:
        """The reply if ``text`` is the answer the conversation's rating awaits; else None,
        and the message goes on to the assistant as usual."""
        if not conversation_id or not isinstance(text, str):
            return None
        memory = self._no_pending
        # A rating just asked (maybe by another process) awaits the stars: those are always
        # read; any other message may trust a recent «nothing pending».
        if memory is not None and conversation_id in memory and stars_in(text) is None:
            return None
        now = self._clock()
        # Nearly every message has no rating pending: one read on an index, no write lock.
        with self._db.transaction() as session:
            pending = session.execute(
                select(RatingRow.id).where(RatingRow.pending_conversation == conversation_id)
            ).first()
        if memory is not None:
            if pending is None:
                memory.remember(conversation_id)
            else:
                memory.forget(conversation_id)
        if pending is None:
            return None
        with self._db.transaction(write=True) as session:
            row = session.execute(
                select(RatingRow)
                .where(RatingRow.pending_conversation == conversation_id)
                .order_by(RatingRow.asked_at.desc())
                .limit(1)
                .with_for_update()
            ).scalar_one_or_none()
            if row is None:
                return None
            if row.pending_until is None or row.pending_until <= now:
                _settle(row)
                return None
            if row.awaiting == "stars":
                stars = stars_in(text)
                if stars is None:
                    return None  # another question meanwhile: the rating still waits
                row.stars, row.rated_at = stars, now
                row.awaiting, row.pending_until = "offer", now + OFFER_TTL
                return OFFER_REPLY
            if row.awaiting == "offer":
                plain = _plain(text)
                if plain in _YES:
                    row.awaiting, row.pending_until = "comment", now + COMMENT_TTL
                    return RatingReply(ASK_COMMENT)
                _settle(row)
                return RatingReply(THANKS_NO_COMMENT) if plain in _NO else None
            words = text.strip()
            _settle(row)
            if not words or words.startswith("/"):
                return None  # a photo, a position, a button of the assistant: not a comment
            row.comment, row.commented_at = words[:COMMENT_MAX], now
            return RatingReply(THANKS_COMMENT)

    # -- the console -------------------------------------------------------------------

    def report(self, start: date, end: date, timezone: tzinfo, *, by: str = "week") -> RatingReport:
        """The ratings of the chats resolved-and-asked from ``start`` to ``end`` (included,
        days in ``timezone``), per week or per month."""
        lower = datetime.combine(start, time(), timezone)
        upper = datetime.combine(end + timedelta(days=1), time(), timezone)
        with self._db.transaction() as session:
            rows = session.execute(
                select(
                    RatingRow.asked_at,
                    RatingRow.stars,
                    RatingRow.comment,
                    RatingRow.commented_at,
                    HandoffRow.channel,
                )
                .join(HandoffRow, HandoffRow.id == RatingRow.handoff_id)
                .where(RatingRow.asked_at >= lower, RatingRow.asked_at < upper)
                .order_by(RatingRow.asked_at)
            ).all()
        rated = [row for row in rows if row.stars is not None]
        distribution = {stars: 0 for stars in range(1, 6)}
        buckets: dict[date, list[int]] = {}
        for row in rated:
            distribution[row.stars] += 1
            day = row.asked_at.astimezone(timezone).date()
            buckets.setdefault(_period_start(day, by), []).append(row.stars)
        periods = []
        cursor = _period_start(start, by)
        while cursor <= end:
            values = buckets.get(cursor, [])
            periods.append(
                RatingPeriod(cursor, _period_label(cursor, by), len(values), _average(values))
            )
            cursor = _next_period(cursor, by)
        comments = [
            RatedComment(row.commented_at or row.asked_at, row.stars, row.channel, row.comment)
            for row in reversed(rated)
            if row.comment
        ][:LATEST_COMMENTS]
        return RatingReport(
            len(rows),
            len(rated),
            _average([row.stars for row in rated]),
            distribution,
            periods,
            comments,
        )

    def stars_by_handoff(self, handoff_ids: Sequence[int]) -> dict[int, int]:
        """The stars each of these chats got, for the exports."""
        if not handoff_ids:
            return {}
        with self._db.transaction() as session:
            rows = session.execute(
                select(RatingRow.handoff_id, RatingRow.stars).where(
                    RatingRow.handoff_id.in_(handoff_ids), RatingRow.stars.is_not(None)
                )
            ).all()
        return {row.handoff_id: row.stars for row in rows}


def _settle(row: RatingRow) -> None:
    """Nothing more is awaited: the conversation id leaves the row."""
    row.pending_conversation = row.awaiting = row.pending_until = None


def _average(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _period_start(day: date, by: str) -> date:
    if by == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())


def _next_period(start: date, by: str) -> date:
    if by == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=7)


def _period_label(start: date, by: str) -> str:
    if by == "month":
        return f"{MONTHS[start.month - 1]} {start.year}"
    return f"settimana del {start:%d/%m/%Y}"
