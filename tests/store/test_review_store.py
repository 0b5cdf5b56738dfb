"""The review inbox in the store (SQLite and PostgreSQL): sightings counted once, masked
text only, and the trainers' decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.conftest import raw_rows
from tests.unit.review_log import LOG, WEB, WHATSAPP, training_copy, user
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.nlu.data import read_examples
from urp.review.inbox import ReviewCollector
from urp.review.store import ReviewStateError, ReviewStore
from urp.review.training import ExampleRefusedError, TrainingData

GATTILE = "mi chiamo [nome], il gattile di via Flaminia [civico] è aperto? [telefono]"


@pytest.fixture
def store(database: Database, hasher: UserHasher) -> ReviewStore:
    return ReviewStore(database, hasher)


@pytest.fixture
def training(tmp_path: Path) -> TrainingData:
    return training_copy(tmp_path)


def collect(store: ReviewStore, events: list[dict]) -> int:
    collector = ReviewCollector()
    return store.record(s for event in events for s in collector.feed(event))


def test_the_log_makes_the_inbox_with_masked_text_only(
    store: ReviewStore, database: Database
) -> None:
    assert collect(store, LOG) == 7
    items = store.open_items()
    # The most frequent first; between equals, the most recent.
    assert [(i.text, i.occurrences) for i in items][:2] == [
        ("la farmacia del porto fa la notte?", 2),
        (GATTILE, 2),
    ]
    assert {i.text: i.reasons for i in items}[GATTILE] == ("fallback", "ambiguous")
    stored = repr(raw_rows(database, "review_items")) + repr(raw_rows(database, "review_sightings"))
    for personal in ("Mario", "Anna", "4567", "@example", WHATSAPP, WEB):
        assert personal not in stored


def test_the_same_log_twice_counts_each_message_once(store: ReviewStore) -> None:
    collect(store, LOG)
    assert collect(store, LOG) == 0
    assert sum(i.occurrences for i in store.open_items()) == 7


def test_a_later_reason_is_merged(store: ReviewStore) -> None:
    text = "ma il cimitero?"
    collect(store, [user(WEB, 1.0, text, [("ask_opening_hours", 0.7), ("out_of_scope", 0.1)])])
    collect(
        store,
        [
            user(WHATSAPP, 5.0, text, [("ask_opening_hours", 0.9), ("out_of_scope", 0.1)]),
            {"event": "action", "sender_id": WHATSAPP, "timestamp": 6.0, "name": "action_handoff"},
        ],
    )
    [item] = store.open_items()
    assert item.reasons == ("low_confidence", "handoff")
    assert item.occurrences == 2
    assert item.first_seen < item.last_seen


def test_a_labelled_item_lands_in_its_file_and_leaves_the_inbox(
    store: ReviewStore, training: TrainingData, database: Database
) -> None:
    collect(store, LOG)
    item = next(i for i in store.open_items() if i.text == "la farmacia del porto fa la notte?")
    added = store.label(item.id, "ask_pharmacy_shift", "tina.verdi", training)
    assert added.path == training.nlu_dir / "pharmacy.yml"
    assert "la farmacia del porto fa la notte?" in [ex.plain for ex in read_examples(added.path)]
    assert item.id not in [i.id for i in store.open_items()]
    assert store.counts() == {"open": 4, "added": 1, "discarded": 0}
    [row] = [r for r in raw_rows(database, "review_items") if r["id"] == item.id]
    assert (row["status"], row["intent"], row["nlu_file"], row["decided_by"]) == (
        "added",
        "ask_pharmacy_shift",
        "data/nlu/pharmacy.yml",
        "tina.verdi",
    )
    audit = raw_rows(database, "audit_events")
    assert [(a["operator"], a["action"], a["detail"]) for a in audit] == [
        (
            "tina.verdi",
            "review_added",
            f"review:{item.id} intent:ask_pharmacy_shift suggested:ask_pharmacy_shift",
        )
    ]
    with pytest.raises(ReviewStateError, match="già stato deciso"):
        store.discard(item.id, "tina.verdi")


def test_a_duplicate_is_refused_and_the_item_stays_open(
    store: ReviewStore, training: TrainingData
) -> None:
    collect(store, [user(WEB, 1.0, "grazie mille", [("thank", 0.5), ("greet", 0.45)])])
    [item] = store.open_items()
    with pytest.raises(ExampleRefusedError, match="già presente"):
        store.label(item.id, "thank", "tina.verdi", training)
    assert [i.id for i in store.open_items()] == [item.id]


def test_an_edited_text_and_out_of_scope_and_discard(
    store: ReviewStore, training: TrainingData
) -> None:
    collect(store, LOG)
    items = {i.text: i for i in store.open_items()}
    dog = items["il cane del vicino abbaia tutta la notte"]
    added = store.label(dog.id, "out_of_scope", "tina.verdi", training)
    assert added.path.name == "out_of_scope.yml"
    gattile = items[GATTILE]
    edited = "il gattile comunale è aperto oggi pomeriggio?"
    store.label(gattile.id, "ask_opening_hours", "tina.verdi", training, text=edited)
    assert edited in [ex.plain for ex in read_examples(training.nlu_dir / "opening_hours.yml")]
    store.discard(items["scrivetemi la mail a [email]"].id, "tina.verdi")
    assert store.counts() == {"open": 2, "added": 2, "discarded": 1}


def test_an_unknown_item(store: ReviewStore) -> None:
    with pytest.raises(ReviewStateError, match="non è nella casella"):
        store.discard(999, "tina.verdi")
