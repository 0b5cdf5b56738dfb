"""FAQ search: what answering a citizen's question from the office's entries costs.

:class:`urp.faq.search.LiveFaqIndex` as the action server uses it, over a SQLite store with
100 and 1,000 published entries (the examples, then copies with their own ids): one
lookup (with the message's sentence embedding from the NLU, as the action server gets it),
building the index the first time (it embeds every question and stores the vectors), the
first time again with the vectors in the store (another replica, or a restart: it reads
them) and again after a change (reading the vectors, as the live index does) and the
memory the index holds.
Questions: the example entries' own, in turn.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

from benchmarks.bench_handoff import _print, _timed
from urp.core.db import Database, upgrade
from urp.core.settings import PROJECT_ROOT, FaqSettings, load_settings
from urp.faq.entries import FaqEntry
from urp.faq.meanings import StoredMeanings
from urp.faq.search import FaqIndex, LiveFaqIndex
from urp.faq.store import FaqService
from urp.nlu import embeddings
from urp.tools.eval_faq import comuni, synthetic_entries

LOOKUPS = 1000
SIZES = (100, 1000)


def main() -> None:
    settings = load_settings(PROJECT_ROOT / "settings" / "ancona.yml").faq
    examples = [entry for entries in comuni().values() for entry in entries]
    questions = [question for entry in examples for question in entry.questions]
    for size in SIZES:
        with tempfile.TemporaryDirectory() as folder:
            database = Database(f"sqlite:///{Path(folder) / 'urp.db'}")
            upgrade(database)
            _measure(FaqService(database), synthetic_entries(examples, size), settings, questions)
            database.dispose()


def _measure(
    service: FaqService, entries: list[FaqEntry], settings: FaqSettings, questions: list[str]
) -> None:
    service.import_entries(entries, by="bench")
    live = LiveFaqIndex(service, settings)
    start = time.perf_counter()
    live.answer("orari della biblioteca")  # the first call builds the index
    first = time.perf_counter() - start
    print(f"  {len(entries)} published entries")
    print(f"  {'first build (embeds every new question)':<44} {first:6.1f} s")
    embeddings.clear_cache()  # another replica: the vectors only in the store
    start = time.perf_counter()
    LiveFaqIndex(service, settings).answer("orari della biblioteca")
    stored = time.perf_counter() - start
    print(f"  {'first build with stored vectors':<44} {stored:6.1f} s")
    # The message's sentence embedding comes from the NLU, in the parse data.
    vectors = embeddings.encode(questions)
    _print(
        "LiveFaqIndex.answer, one question",
        _timed(
            LOOKUPS,
            lambda n: live.answer(questions[n % len(questions)], vectors[n % len(questions)]),
        ),
    )
    stored = StoredMeanings(service)  # as the live index reads the vectors
    _print("index rebuild, entries and vectors read", _timed(
        3, lambda n: FaqIndex.build(service.entries(), settings, meanings=stored)))  # fmt: skip
    tracemalloc.start()
    start = time.perf_counter()
    index = FaqIndex.build(entries, settings, meanings=stored)
    took = time.perf_counter() - start
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  {'index in memory':<44} {held / 1e6:6.1f} MB   ({len(index.questions)}"
        f" questions; built in {took:.2f} s under tracemalloc)"
    )
