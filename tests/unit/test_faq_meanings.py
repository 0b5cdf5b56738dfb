"""The FAQ questions' vectors in the store: computed once, read by every index after."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from urp.core.db import Database, upgrade
from urp.core.settings import FaqSettings
from urp.faq.entries import DRAFT, FaqEntry
from urp.faq.meanings import StoredMeanings, fill, text_hash
from urp.faq.search import ANSWER, LiveFaqIndex
from urp.faq.store import FaqService
from urp.nlu import embeddings

TARI = FaqEntry(
    "tari-pagamento",
    ("Come si paga la TARI?", "dove pago la tassa sui rifiuti"),
    "La *TARI* si paga con l'avviso pagoPA, online o in banca.",
    "https://www.comune.example.it/tari",
    "tributi",
)
LIBRARY = FaqEntry(
    "biblioteca-orari",
    ("Quali sono gli orari della biblioteca?", "quando apre la biblioteca comunale"),
    "La biblioteca è aperta dal lunedì al sabato, dalle 9 alle 19.",
    topic="cultura",
)
SETTINGS = FaqSettings()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'urp.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def service(database: Database) -> FaqService:
    """A new, migrated SQLite store with the two entries published."""
    service = FaqService(database)
    service.import_entries([TARI, LIBRARY], by="prova")
    return service


class Embedder:
    """``embeddings.encode`` counted: which texts were embedded (none, once stored)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        self._real = embeddings.encode
        monkeypatch.setattr(embeddings, "encode", self)

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        return self._real(texts)


def questions(*entries: FaqEntry) -> list[str]:
    return [question for entry in entries for question in entry.questions]


def stored_hashes(service: FaqService, texts: list[str]) -> set[str]:
    return set(service.meanings(embeddings.MODEL, [text_hash(text) for text in texts]))


def test_a_build_stores_the_vectors_and_the_next_one_only_reads(service, monkeypatch) -> None:
    embedder = Embedder(monkeypatch)
    first = LiveFaqIndex(service, SETTINGS)
    assert first.answer("come si paga la tari?").kind == ANSWER
    assert stored_hashes(service, questions(TARI, LIBRARY)) == {
        text_hash(text) for text in questions(TARI, LIBRARY)
    }
    embedder.texts.clear()
    embeddings.clear_cache()  # another replica: nothing in its memory
    second = LiveFaqIndex(service, SETTINGS)
    assert second.answer("come si paga la tari?").kind == ANSWER
    assert set(embedder.texts) <= {"come si paga la tari?"}  # the message, no question


def test_the_stored_vectors_are_the_computed_ones(service) -> None:
    texts = questions(TARI)
    computed = embeddings.encode(texts)
    assert np.array_equal(StoredMeanings(service)(texts), computed)
    assert np.array_equal(StoredMeanings(service)(texts), computed)  # now read
    assert len(service.meanings(embeddings.MODEL, [text_hash(texts[0])])) == 1


def test_a_changed_question_is_the_only_one_embedded(service, monkeypatch) -> None:
    LiveFaqIndex(service, SETTINGS).index()
    edited = replace(TARI, questions=(*TARI.questions[:1], "entro quando si paga la tari"))
    service.import_entries([edited], by="prova")
    embeddings.clear_cache()
    embedder = Embedder(monkeypatch)
    LiveFaqIndex(service, SETTINGS).index()
    assert embedder.texts == ["entro quando si paga la tari"]


def test_texts_asked_twice_are_embedded_once_and_returned_in_order(service, monkeypatch) -> None:
    embedder = Embedder(monkeypatch)
    texts = ["orari dell'anagrafe", "tassa sui rifiuti", "orari dell'anagrafe"]
    rows = StoredMeanings(service)(texts)
    assert embedder.texts == ["orari dell'anagrafe", "tassa sui rifiuti"]
    assert np.array_equal(rows[0], rows[2]) and not np.array_equal(rows[0], rows[1])


def test_fill_computes_only_the_missing_vectors_and_prunes_the_unused(service, monkeypatch) -> None:
    StoredMeanings(service)([*TARI.questions, "una domanda che nessuna voce ha più"])
    service.add_draft("come rinnovo la carta d'identità?", "All'anagrafe.", by="mario")
    embedder = Embedder(monkeypatch)
    expected = [*LIBRARY.questions, "come rinnovo la carta d'identità?"]
    assert fill(service) == 3
    assert sorted(embedder.texts) == sorted(expected)  # drafts too: publishing only reads
    every = [*questions(TARI, LIBRARY), "come rinnovo la carta d'identità?"]
    assert stored_hashes(service, every) == {text_hash(text) for text in every}
    assert not stored_hashes(service, ["una domanda che nessuna voce ha più"])
    assert service.entries((DRAFT,))  # the draft is there, and so is its vector
    embedder.texts.clear()
    assert fill(service) == 0 and embedder.texts == []


def test_another_model_s_vectors_are_never_read(service, monkeypatch) -> None:
    fill(service)
    monkeypatch.setattr(embeddings, "MODEL", "un-altro-modello/1.0")
    embeddings.clear_cache()
    embedder = Embedder(monkeypatch)
    LiveFaqIndex(service, SETTINGS).index()
    assert sorted(embedder.texts) == sorted(questions(TARI, LIBRARY))
    assert fill(service) == 0  # the new model's are stored; the old model's are pruned
    monkeypatch.undo()
    assert not stored_hashes(service, questions(TARI, LIBRARY))


class ReadOnly(FaqService):
    """A store that reads but cannot write the vectors (a read-only replica)."""

    saves = 0

    def save_meanings(self, model: str, vectors: dict[str, bytes]) -> None:
        self.saves += 1
        raise PermissionError("attempt to write a readonly database")


def test_a_failed_write_still_returns_the_vectors_and_is_logged_once(
    database, service, caplog
) -> None:
    read_only = ReadOnly(database)
    provider = StoredMeanings(read_only)
    with caplog.at_level(logging.WARNING, logger="urp.faq.meanings"):
        first = provider(["orari della piscina"])
        second = provider(["orari del cimitero"])
    assert np.array_equal(first, embeddings.encode(["orari della piscina"]))
    assert np.array_equal(second, embeddings.encode(["orari del cimitero"]))
    assert read_only.saves == 2
    assert len([r for r in caplog.records if r.name == "urp.faq.meanings"]) == 1
    assert not stored_hashes(service, ["orari della piscina"])


def test_a_store_without_the_table_still_gets_an_index(tmp_path: Path) -> None:
    """A replica of the new code on a store not yet upgraded: it computes the vectors."""
    database = Database(f"sqlite:///{tmp_path / 'urp.db'}")
    upgrade(database, "0016")
    service = FaqService(database)
    service.import_entries([TARI, LIBRARY], by="prova")
    assert LiveFaqIndex(service, SETTINGS).answer("come si paga la tari?").kind == ANSWER
    database.dispose()
