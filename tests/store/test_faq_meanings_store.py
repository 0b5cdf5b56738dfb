"""The FAQ questions' vectors in the store (urp.faq.meanings), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from urp.core.db import Database
from urp.faq.store import MEANINGS_BATCH, FaqService

MODEL = "modello-di-prova/1"


def vector(number: int) -> bytes:
    return number.to_bytes(4, "little") * 384


def test_vectors_are_read_back_by_model_and_hash(database: Database) -> None:
    service = FaqService(database)
    service.save_meanings(MODEL, {"a" * 32: vector(1), "b" * 32: vector(2)})
    service.save_meanings("altro/2", {"a" * 32: vector(3)})
    assert service.meanings(MODEL, ["a" * 32, "b" * 32, "c" * 32]) == {
        "a" * 32: vector(1),
        "b" * 32: vector(2),
    }
    assert service.meanings("altro/2", ["a" * 32]) == {"a" * 32: vector(3)}
    assert service.meanings(MODEL, []) == {}


def test_a_vector_saved_twice_is_kept_once(database: Database) -> None:
    """Two replicas embedding the same new question save the same vector at once."""
    services = [FaqService(database), FaqService(database)]
    batch = {f"{number:032x}": vector(number) for number in range(50)}
    errors: list[BaseException] = []

    def save(service: FaqService) -> None:
        try:
            service.save_meanings(MODEL, batch)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=save, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    services[0].save_meanings(MODEL, {"0" * 32: vector(99), "f" * 32: vector(7)})
    assert errors == []
    stored = services[0].meanings(MODEL, [*batch, "f" * 32])
    assert stored == {**batch, "f" * 32: vector(7)}  # the first vector saved stays


def test_more_hashes_than_one_statement_takes(database: Database) -> None:
    service = FaqService(database)
    many = {f"{number:032x}": vector(number) for number in range(MEANINGS_BATCH * 2 + 7)}
    service.save_meanings(MODEL, many)
    assert service.meanings(MODEL, list(many)) == many
    keep = list(many)[: MEANINGS_BATCH + 3]
    service.save_meanings("vecchio/0", {"a" * 32: vector(1)})
    assert service.prune_meanings(MODEL, keep) == len(many) - len(keep) + 1
    assert service.meanings(MODEL, list(many)) == {key: many[key] for key in keep}
    assert service.meanings("vecchio/0", ["a" * 32]) == {}
