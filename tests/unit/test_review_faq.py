"""Questions the office's FAQ could not answer reach the trainers' inbox, masked, with
their own reason: from the collector, through the store, and through the event broker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from tests.unit.review_log import WEB, WHATSAPP, action, bot, user
from tests.unit.test_brokers_review import SALT, publish, store  # noqa: F401
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.review.inbox import (
    FAQ,
    REASON_LABELS,
    ReviewCollector,
    inbox_from_events,
    is_review_event,
)
from urp.review.store import ReviewStore
from urp.review.tracker import tracker_events

LIBRARY = "a che ora apre la biblioteca comunale? sono Mario Rossi 3331234567"
LIBRARY_MASKED = "a che ora apre la biblioteca comunale? sono [nome] [telefono]"
SURE = [("out_of_scope", 0.97), ("ask_opening_hours", 0.02)]


def faq_outcome(sender: str, at: float, value: str) -> dict[str, Any]:
    return {
        "event": "slot",
        "sender_id": sender,
        "timestamp": at,
        "name": "faq_outcome",
        "value": value,
    }


def test_a_question_the_faq_did_not_answer_goes_to_the_inbox_masked() -> None:
    events = [
        user(WHATSAPP, 1.0, LIBRARY, SURE),
        action(WHATSAPP, 1.1, "action_faq"),
        faq_outcome(WHATSAPP, 1.2, "none"),
        bot(WHATSAPP, 1.3, "Di questo non mi occupo..."),
    ]
    collector = ReviewCollector()
    found = [collector.feed(event) for event in events]
    # The NLU was sure (out_of_scope): nothing until the FAQ says it had no answer.
    assert found[0] == [] and found[3] == []
    [sighting] = found[2]
    assert (sighting.text, sighting.reasons, sighting.new) == (LIBRARY_MASKED, {FAQ}, True)
    [item] = inbox_from_events(events)
    assert item.reasons == (FAQ,) and item.occurrences == 1
    assert item.reason_labels == ["domanda senza risposta nelle FAQ"]
    assert REASON_LABELS[FAQ] == "domanda senza risposta nelle FAQ"


def test_suggestions_count_as_no_answer_and_an_answer_does_not() -> None:
    events = [
        user(WEB, 1.0, "orari piscina", SURE),
        faq_outcome(WEB, 1.1, "suggestions"),
        user(WHATSAPP, 2.0, "come si paga la tari", SURE),
        faq_outcome(WHATSAPP, 2.1, "answer"),
        # A slot of the FAQ for a chat with no message remembered adds nothing.
        faq_outcome("altra-chat", 3.0, "none"),
    ]
    assert [(i.text, i.reasons) for i in inbox_from_events(events)] == [("orari piscina", (FAQ,))]


def test_an_unsure_message_the_faq_missed_is_counted_once_with_both_reasons() -> None:
    events = [
        user(WEB, 1.0, "orari del cimitero", [("ask_opening_hours", 0.6), ("out_of_scope", 0.3)]),
        faq_outcome(WEB, 1.1, "none"),
        faq_outcome(WEB, 1.2, "none"),  # said twice: still once
    ]
    collector = ReviewCollector()
    first, second, third = (collector.feed(event) for event in events)
    assert [s.reasons for s in first] == [frozenset({"low_confidence"})]
    assert [(s.reasons, s.new) for s in second] == [(frozenset({"low_confidence", FAQ}), False)]
    assert third == []
    [item] = inbox_from_events(events)
    assert (item.occurrences, item.reasons) == (1, ("low_confidence", FAQ))


def test_only_the_faq_slot_is_read_of_all_the_slots() -> None:
    assert is_review_event(faq_outcome(WEB, 1.0, "none"))
    assert not is_review_event({"event": "slot", "name": "erase_outcome", "value": "erased"})
    assert is_review_event(user(WEB, 1.0, "ciao", SURE))
    assert not is_review_event({"event": "session_started"})


def test_the_store_lists_the_questions_the_faq_missed(store: Database) -> None:  # noqa: F811
    review = ReviewStore(store, UserHasher(SALT.encode()))
    collector = ReviewCollector()
    events = [
        user(WEB, 1.0, "orari piscina", SURE),
        faq_outcome(WEB, 1.1, "suggestions"),
        user(WHATSAPP, 2.0, "ma il cimitero?", [("ask_opening_hours", 0.5), ("x", 0.4)]),
    ]
    review.record(s for event in events for s in collector.feed(event))
    assert {i.text for i in review.open_items()} == {"orari piscina", "ma il cimitero?"}
    assert [(i.text, i.reasons) for i in review.open_items(reason=FAQ)] == [
        ("orari piscina", (FAQ,))
    ]


def test_the_broker_passes_the_faq_outcome_to_the_inbox(store: Database) -> None:  # noqa: F811
    publish(
        {"type": "brokers.handoff.HandoffEventBroker"},
        [
            user(WHATSAPP, 1.0, LIBRARY, SURE),
            {"event": "slot", "sender_id": WHATSAPP, "name": "requested_slot", "value": None},
            faq_outcome(WHATSAPP, 1.2, "none"),
        ],
    )
    [item] = ReviewStore(store, UserHasher(SALT.encode())).open_items(reason=FAQ)
    assert (item.text, item.reasons) == (LIBRARY_MASKED, (FAQ,))


def test_urp_review_collect_reads_the_faq_outcome_in_the_tracker_store(tmp_path: Path) -> None:
    """The same reason from Rasa's SQL tracker store (``urp review collect``)."""
    path = tmp_path / "tracker.db"
    tracker_store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    events = [
        user(WHATSAPP, 1.0, LIBRARY, SURE),
        faq_outcome(WHATSAPP, 1.2, "none"),
        bot(WHATSAPP, 1.3, "Di questo non mi occupo..."),
    ]
    plain = [{k: v for k, v in event.items() if k != "sender_id"} for event in events]
    asyncio.run(tracker_store.save(DialogueStateTracker.from_dict(WHATSAPP, plain)))
    tracker_store.engine.dispose()
    [item] = inbox_from_events(tracker_events(f"sqlite:///{path}"))
    assert (item.text, item.reasons) == (LIBRARY_MASKED, (FAQ,))
