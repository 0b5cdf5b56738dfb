"""The live FAQ index rebuilds in the background: a citizen never waits for it."""

from __future__ import annotations

import logging
import threading

import numpy as np

from urp.core.settings import FaqSettings
from urp.faq.entries import FaqEntry
from urp.faq.search import ANSWER, NONE, LiveFaqIndex
from urp.nlu import embeddings

TARI = FaqEntry(
    "tari-pagamento",
    ("Come si paga la TARI?", "dove pago la tassa sui rifiuti"),
    "La *TARI* si paga con l'avviso pagoPA, online o in banca.",
)
LIBRARY = FaqEntry(
    "biblioteca-orari",
    ("Quali sono gli orari della biblioteca?", "quando apre la biblioteca comunale"),
    "La biblioteca è aperta dal lunedì al sabato, dalle 9 alle 19.",
)
SETTINGS = FaqSettings()


class FakeService:
    """The store's revision and published entries, changed by the test."""

    def __init__(self, published: list[FaqEntry]) -> None:
        self.published = published
        self.stamp = "1"
        self.failing = False
        self.loads = 0

    def revision(self) -> str:
        return self.stamp

    def entries(self) -> list[FaqEntry]:
        self.loads += 1
        if self.failing:
            raise OSError("database is locked")
        return list(self.published)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class HeldMeanings:
    """The questions' vectors, held back while ``hold`` is set (a slow rebuild)."""

    def __init__(self) -> None:
        self.hold = False
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.hold:
            self.started.set()
            assert self.release.wait(30), "the test never released the rebuild"
        return embeddings.encode(texts)


def live_index(
    service: FakeService,
    meanings: HeldMeanings,
    clock: Clock,
    recheck: float = 1.0,
    patience: float = 0,
) -> LiveFaqIndex:
    return LiveFaqIndex(
        service,  # type: ignore[arg-type]
        SETTINGS,
        recheck=recheck,
        clock=clock,
        meanings=meanings,
        patience=patience,
    )


def test_the_previous_index_answers_while_the_new_one_is_built() -> None:
    service, meanings, clock = FakeService([TARI]), HeldMeanings(), Clock()
    live = live_index(service, meanings, clock)
    before = live.index()
    assert live.answer("orari della biblioteca").kind == NONE

    service.published, service.stamp = [TARI, LIBRARY], "2"
    meanings.hold = True
    clock.now += 1
    assert live.index() is before  # at once: the rebuild runs in the background
    assert meanings.started.wait(30)
    clock.now += 1
    assert live.index() is before  # a second check starts no second rebuild
    assert live.answer("come si paga la tari?").kind == ANSWER
    assert meanings.calls == 2

    meanings.release.set()
    assert live.wait(30)
    after = live.index()
    assert after is not before and len(after) == 2
    assert live.search("quando apre la biblioteca comunale")[0].entry.id == "biblioteca-orari"
    clock.now += 1
    assert live.index() is after and meanings.calls == 2  # same revision: no rebuild


def test_the_message_that_notices_waits_a_little_for_a_quick_rebuild() -> None:
    """With some patience, a small FAQ's edit is answered from the next message."""
    service, meanings, clock = FakeService([TARI]), HeldMeanings(), Clock()
    live = live_index(service, meanings, clock, recheck=0, patience=60)
    before = live.index()
    service.published, service.stamp = [TARI, LIBRARY], "2"
    after = live.index()
    assert after is not before and len(after) == 2


def test_a_failed_rebuild_keeps_the_previous_index_and_is_retried(caplog) -> None:
    service, meanings, clock = FakeService([TARI]), HeldMeanings(), Clock()
    live = live_index(service, meanings, clock)
    before = live.index()
    service.published, service.stamp, service.failing = [TARI, LIBRARY], "2", True
    with caplog.at_level(logging.INFO, logger="urp.faq.search"):
        for _ in range(3):
            clock.now += 1
            assert live.index() is before
            assert live.wait(30)
        assert service.loads == 4  # the first build, then one try per check
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        service.failing = False
        clock.now += 1
        live.index()
        assert live.wait(30)
    assert len(live.index()) == 2
    assert any("di nuovo" in r.getMessage() for r in caplog.records)
