"""From Rasa's events (a conversation log) to the trainers' review inbox.

A citizen's message goes to the inbox when the bot was unsure of it:

- ``fallback``: below the fallback threshold (``nlu_fallback``);
- ``low_confidence``: understood, but with a confidence under :data:`LOW_CONFIDENCE`;
- ``ambiguous``: the two best intents within :data:`AMBIGUITY_MARGIN` of each other;
- ``handoff``: the message after which the bot handed the chat to a person, unless the
  citizen had asked for one (``request_operator``...);
- ``operator``: an operator answered it in the bot's place (a message of a handed-over
  chat that got an operator's reply);
- ``faq``: the office's FAQ had no answer for it, only suggestions or nothing (the FAQ
  action set the slot ``faq_outcome`` to ``suggestions`` or ``none``): what to write next.

Only the masked text is kept (:func:`urp.review.masking.mask`); the conversation id is
used in memory only, to tell which message a later handoff or reply refers to. The
events are dicts as Rasa publishes them (``parse_data`` with ``intent_ranking``) or
stores them in the tracker store's ``events`` table.
"""

from __future__ import annotations

import difflib
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from urp.nlu.data import normalise
from urp.review.masking import mask

FALLBACK_INTENT = "nlu_fallback"
LOW_CONFIDENCE = 0.75
AMBIGUITY_MARGIN = 0.2
GROUP_SIMILARITY = 0.75
# The citizen asked for a person, an appointment, or said "sì" to the offer of one:
# the handoff was what they wanted, not a sign the bot misunderstood.
DELIBERATE_HANDOFF_INTENTS = frozenset({"request_operator", "book_appointment", "abuse", "affirm"})
HANDOFF_ACTION = "action_handoff"
# Metadata of an operator's message in the tracker (urp.handoff.chat.OPERATOR_MESSAGE_KEY).
OPERATOR_MESSAGE_KEY = "urp_operator_message"
EXTERNAL_KEY = "is_external"
# The slot the FAQ action sets, and its values for a question the FAQ did not answer.
FAQ_OUTCOME_SLOT = "faq_outcome"
FAQ_FELL_THROUGH = frozenset({"none", "suggestions"})
# The event types the collector reads (the others never add anything).
REVIEW_EVENT_TYPES = ("user", "bot", "action", "slot")
# Conversations remembered at once (for a later handoff or reply): the oldest are dropped.
MEMORY = 10_000

FALLBACK = "fallback"
LOW = "low_confidence"
AMBIGUOUS = "ambiguous"
HANDOFF = "handoff"
OPERATOR = "operator"
FAQ = "faq"
# Stored as bits of one integer, so that merging two sightings is an OR in any database.
REASON_BITS = {FALLBACK: 1, LOW: 2, AMBIGUOUS: 4, HANDOFF: 8, OPERATOR: 16, FAQ: 32}
REASON_LABELS = {
    FALLBACK: "non capito",
    LOW: "poco sicuro",
    AMBIGUOUS: "incerto tra due intent",
    HANDOFF: "passato a un operatore",
    OPERATOR: "risposto da un operatore",
    FAQ: "domanda senza risposta nelle FAQ",
}


def reasons_to_bits(reasons: Iterable[str]) -> int:
    return sum({REASON_BITS[r] for r in reasons})


def bits_to_reasons(bits: int) -> tuple[str, ...]:
    return tuple(r for r, bit in REASON_BITS.items() if bits & bit)


@dataclass(frozen=True)
class Sighting:
    """One citizen's message the bot was unsure of, masked; ``new`` is False when a later
    event (a handoff, an operator's reply) only adds a reason to a message already seen."""

    text: str
    suggested_intent: str | None
    confidence: float | None
    second_intent: str | None
    reasons: frozenset[str]
    channel: str | None
    at: datetime
    conversation: str
    timestamp: float
    new: bool = True

    @property
    def key(self) -> str:
        return normalise(self.text)


@dataclass
class InboxItem:
    """A distinct message of the inbox (the same words, however often they came)."""

    text: str
    suggested_intent: str | None
    confidence: float | None
    reasons: tuple[str, ...]
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    channel: str | None = None
    id: int | None = None

    @property
    def key(self) -> str:
        return normalise(self.text)

    @property
    def reason_labels(self) -> list[str]:
        return [REASON_LABELS[r] for r in self.reasons]


@dataclass
class InboxGroup:
    """Messages that say nearly the same thing, most frequent first."""

    items: list[InboxItem] = field(default_factory=list)

    @property
    def occurrences(self) -> int:
        return sum(item.occurrences for item in self.items)

    @property
    def suggested_intent(self) -> str | None:
        votes: Counter[str] = Counter()
        for item in self.items:
            if item.suggested_intent:
                votes[item.suggested_intent] += item.occurrences
        return votes.most_common(1)[0][0] if votes else None


def is_review_event(event: Mapping[str, Any]) -> bool:
    """Whether the collector may learn something from ``event``: of all the slots, only
    the FAQ's outcome (the broker passes on nothing else, to keep its queue short)."""
    kind = event.get("event")
    if kind == "slot":
        return event.get("name") == FAQ_OUTCOME_SLOT
    return kind in REVIEW_EVENT_TYPES


def _ranking(parse_data: Mapping[str, Any]) -> list[tuple[str, float]]:
    ranking = parse_data.get("intent_ranking") or []
    pairs = [
        (str(r.get("name")), float(r.get("confidence") or 0.0))
        for r in ranking
        if isinstance(r, Mapping) and r.get("name") and r.get("name") != FALLBACK_INTENT
    ]
    if not pairs:
        intent = parse_data.get("intent") or {}
        if isinstance(intent, Mapping) and intent.get("name") not in (None, FALLBACK_INTENT):
            pairs = [(str(intent["name"]), float(intent.get("confidence") or 0.0))]
    return sorted(pairs, key=lambda pair: -pair[1])


def _is_citizen_text(event: Mapping[str, Any]) -> bool:
    text = event.get("text")
    metadata = event.get("metadata") or {}
    if isinstance(metadata, Mapping) and (
        metadata.get(EXTERNAL_KEY) or OPERATOR_MESSAGE_KEY in metadata
    ):
        return False
    # "/intent{...}": a button, a photo or a position sent as a payload, not words.
    return isinstance(text, str) and bool(text.strip()) and not text.startswith("/")


@dataclass
class _Last:
    """The latest message of a conversation, in memory only."""

    sighting: Sighting
    intent: str | None
    reasons: set[str]
    emitted: bool


class ReviewCollector:
    """Reads events one at a time (the broker) or a whole log, and says which messages
    belong in the inbox. Keeps only the latest message of each conversation in memory."""

    def __init__(
        self,
        *,
        low_confidence: float = LOW_CONFIDENCE,
        ambiguity_margin: float = AMBIGUITY_MARGIN,
        memory: int = MEMORY,
    ) -> None:
        self.low_confidence = low_confidence
        self.ambiguity_margin = ambiguity_margin
        self._memory = memory
        self._last: OrderedDict[str, _Last] = OrderedDict()

    def feed(self, event: Mapping[str, Any]) -> list[Sighting]:
        """What this event adds to the inbox (usually nothing)."""
        conversation = str(event.get("sender_id") or "")
        kind = event.get("event")
        if kind == "user":
            return self._user(conversation, event)
        if kind == "action" and event.get("name") == HANDOFF_ACTION:
            return self._flag(conversation, HANDOFF, DELIBERATE_HANDOFF_INTENTS)
        metadata = event.get("metadata") or {}
        if kind == "bot" and isinstance(metadata, Mapping) and OPERATOR_MESSAGE_KEY in metadata:
            return self._flag(conversation, OPERATOR, frozenset())
        if (
            kind == "slot"
            and event.get("name") == FAQ_OUTCOME_SLOT
            and event.get("value") in FAQ_FELL_THROUGH
        ):
            return self._flag(conversation, FAQ, frozenset())
        return []

    def _user(self, conversation: str, event: Mapping[str, Any]) -> list[Sighting]:
        if not _is_citizen_text(event):
            return []
        parse_data = event.get("parse_data") or {}
        ranking = _ranking(parse_data)
        intent = (parse_data.get("intent") or {}).get("name")
        reasons = set()
        if intent == FALLBACK_INTENT:
            reasons.add(FALLBACK)
        if ranking and ranking[0][1] < self.low_confidence and intent != FALLBACK_INTENT:
            reasons.add(LOW)
        if len(ranking) > 1 and ranking[0][1] - ranking[1][1] < self.ambiguity_margin:
            reasons.add(AMBIGUOUS)
        timestamp = float(event.get("timestamp") or 0.0)
        sighting = Sighting(
            text=mask(" ".join(str(event["text"]).split())),
            suggested_intent=ranking[0][0] if ranking else None,
            confidence=round(ranking[0][1], 4) if ranking else None,
            second_intent=ranking[1][0] if len(ranking) > 1 else None,
            reasons=frozenset(reasons),
            channel=str(event.get("input_channel") or "") or None,
            at=datetime.fromtimestamp(timestamp, UTC),
            conversation=conversation,
            timestamp=timestamp,
        )
        self._last[conversation] = _Last(sighting, intent, reasons, emitted=bool(reasons))
        self._last.move_to_end(conversation)
        while len(self._last) > self._memory:
            self._last.popitem(last=False)
        return [sighting] if reasons else []

    def _flag(self, conversation: str, reason: str, unless: frozenset[str]) -> list[Sighting]:
        last = self._last.get(conversation)
        if last is None or reason in last.reasons or last.intent in unless:
            return []
        last.reasons.add(reason)
        new = not last.emitted
        last.emitted = True
        return [replace(last.sighting, reasons=frozenset(last.reasons), new=new)]


def merge(sightings: Iterable[Sighting]) -> list[InboxItem]:
    """The same words once, with how often they came and every reason they came for."""
    items: dict[str, InboxItem] = {}
    for s in sightings:
        item = items.get(s.key)
        if item is None:
            items[s.key] = InboxItem(
                text=s.text,
                suggested_intent=s.suggested_intent,
                confidence=s.confidence,
                reasons=tuple(r for r in REASON_BITS if r in s.reasons),
                occurrences=int(s.new),
                first_seen=s.at,
                last_seen=s.at,
                channel=s.channel,
            )
            continue
        item.reasons = tuple(r for r in REASON_BITS if r in s.reasons or r in item.reasons)
        item.occurrences += int(s.new)
        item.first_seen = min(item.first_seen, s.at)
        item.last_seen = max(item.last_seen, s.at)
    return list(items.values())


def inbox_from_events(
    events: Iterable[Mapping[str, Any]], collector: ReviewCollector | None = None
) -> list[InboxItem]:
    """The inbox a conversation log makes: masked, de-duplicated, most frequent first."""
    collector = collector or ReviewCollector()
    sightings = [s for event in events for s in collector.feed(event)]
    return sorted(merge(sightings), key=lambda item: (-item.occurrences, item.first_seen))


def similar(a: str, b: str, threshold: float = GROUP_SIMILARITY) -> bool:
    """Nearly the same words (normalised texts): a typo, a greeting more or less."""
    matcher = difflib.SequenceMatcher(None, a, b)
    return matcher.real_quick_ratio() >= threshold and matcher.ratio() >= threshold


def group(items: Iterable[InboxItem], threshold: float = GROUP_SIMILARITY) -> list[InboxGroup]:
    """Items grouped by similarity (each joins the first group whose lead it resembles),
    the groups with the most messages first."""
    groups: list[InboxGroup] = []
    ordered = sorted(items, key=lambda item: (-item.occurrences, item.first_seen))
    for item in ordered:
        key = item.key
        for candidate in groups:
            if similar(candidate.items[0].key, key, threshold):
                candidate.items.append(item)
                break
        else:
            groups.append(InboxGroup([item]))
    return sorted(groups, key=lambda g: -g.occurrences)
