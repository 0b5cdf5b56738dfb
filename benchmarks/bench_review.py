"""Review inbox: what the broker adds per message, and the trainers' page.

Every user event passes the collector (masking only when the bot was unsure); an unsure
message is one small transaction in the store. The inbox page groups up to 200 open
messages by similarity, and an example is checked against the whole of data/nlu and the
held-out set before it is written. SQLite file, one process.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.bench_handoff import _print, _timed
from urp.core.db import Database, upgrade
from urp.core.hashing import UserHasher
from urp.review.inbox import ReviewCollector, group
from urp.review.store import ReviewStore
from urp.review.training import TrainingData

EVENTS = 2000
MESSAGE = "scusate ma il gattile di via Flaminia 12 apre anche la domenica mattina"


def _event(n: int, confidence: float) -> dict:
    words = MESSAGE.split()[n % 5 :]
    text = " ".join([*words, str(n)]) + f" mi chiamo Anna, 33312{n:05d}"
    ranking = [
        {"name": "ask_opening_hours", "confidence": confidence},
        {"name": "out_of_scope", "confidence": 0.05},
    ]
    return {
        "event": "user",
        "sender_id": f"39333{n:07d}",
        "timestamp": 1_700_000_000.0 + n,
        "text": text,
        "parse_data": {"intent": ranking[0], "intent_ranking": ranking},
    }


def main() -> None:
    collector = ReviewCollector()
    sure = [_event(n, 0.97) for n in range(EVENTS)]
    unsure = [_event(n, 0.5) for n in range(EVENTS)]
    _print("collector, message understood", _timed(EVENTS, lambda n: collector.feed(sure[n])))
    _print(
        "collector, unsure message (masked)", _timed(EVENTS, lambda n: collector.feed(unsure[n]))
    )
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'urp.db'}")
        upgrade(database)
        store = ReviewStore(database, UserHasher(b"bench-salt-0123456789"))
        sightings = [collector.feed(event)[0] for event in unsure]
        _print("store, one unsure message", _timed(EVENTS, lambda n: store.record([sightings[n]])))
        _print(
            "inbox page: 200 open messages, grouped",
            _timed(20, lambda n: group(store.open_items(200))),
        )
        database.dispose()
    training = TrainingData.of_project()
    _print(
        "checks of one new example",
        _timed(10, lambda n: training.problems("ask_opening_hours", f"il gattile apre alle {n}?")),
    )
