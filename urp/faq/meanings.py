"""The sentence embeddings of the FAQ's questions, computed once and kept in the store.

Embedding a question costs about 11 ms on one core: 80 s for a FAQ of 1,000 entries, in
every replica of the action server at its start and at every rebuild that met new
questions. So the vectors live in the store (``faq_meanings``), keyed by the embedding
model (:data:`urp.nlu.embeddings.MODEL`) and a hash of the exact text: ``urp faq import``
computes the new questions' vectors once (:func:`fill`) and every replica's index reads
them (:class:`StoredMeanings`), embedding only what is still missing and saving it for
the others.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from urp.faq.entries import DRAFT, PUBLISHED
from urp.nlu import embeddings

if TYPE_CHECKING:
    from urp.faq.store import FaqService

logger = logging.getLogger(__name__)

# Questions embedded, then saved, per round: an interrupted fill keeps what it computed.
BATCH = 500
_VECTOR = np.dtype("<f4")


def text_hash(text: str) -> str:
    """The key of a text's vector: blake2b of its exact UTF-8 bytes, 16 bytes in hex."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _vector(value: bytes) -> np.ndarray | None:
    """A stored vector; None if it is not one (a different size: not ours to read)."""
    if len(value) != embeddings.DIMENSIONS * _VECTOR.itemsize:
        return None
    return np.frombuffer(value, dtype=_VECTOR)


def _stored(service: FaqService, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
    found = {}
    for key, value in service.meanings(model, keys).items():
        vector = _vector(value)
        if vector is not None:
            found[key] = vector
    return found


def _batches(texts: Sequence[str]) -> list[list[str]]:
    return [list(texts[start : start + BATCH]) for start in range(0, len(texts), BATCH)]


def _embedded(texts: list[str]) -> dict[str, np.ndarray]:
    """The vectors of ``texts``, by text hash."""
    vectors = embeddings.encode(texts).astype(_VECTOR)
    return {text_hash(text): vector for text, vector in zip(texts, vectors, strict=True)}


def _as_stored(vectors: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {key: vector.tobytes() for key, vector in vectors.items()}


class StoredMeanings:
    """The FAQ index's vectors of questions (:class:`urp.faq.search.FaqIndex`'s
    ``meanings``): read from the store, the missing ones embedded and saved.

    The store only spares work: if it cannot be read or written, the vectors are computed
    all the same and the failure is logged once, until the store answers again.
    """

    def __init__(self, service: FaqService, model: str | None = None) -> None:
        self._service = service
        self._model = model
        self._failing = {"read": False, "write": False}

    def __call__(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text, in order."""
        model = self._model or embeddings.MODEL
        keys = [text_hash(text) for text in texts]
        try:
            found = _stored(self._service, model, keys)
        except Exception:
            self._failed("read", "Vettori delle domande FAQ non letti dall'archivio: li calcolo")
            found = {}
        else:
            self._recovered("read")
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        for batch in _batches(missing):
            computed = _embedded(batch)
            found.update(computed)
            try:
                self._service.save_meanings(model, _as_stored(computed))
            except Exception:
                self._failed("write", "Vettori delle domande FAQ non salvati nell'archivio")
            else:
                self._recovered("write")
        rows = np.zeros((len(texts), embeddings.DIMENSIONS), dtype=np.float32)
        for row, key in enumerate(keys):
            rows[row] = found[key]
        return rows

    def _failed(self, what: str, message: str) -> None:
        if not self._failing[what]:
            logger.warning(message, exc_info=True)
        self._failing[what] = True

    def _recovered(self, what: str) -> None:
        self._failing[what] = False


def fill(service: FaqService, model: str | None = None) -> int:
    """Embed and store the vectors the published and draft entries' questions lack, and
    delete those no question uses any more; returns how many were computed.

    Run after an import: the replicas' rebuild then only reads. Unlike the index's reading,
    a failure of the store reaches the caller (the operator who imported).
    """
    model = model or embeddings.MODEL
    texts = list(
        dict.fromkeys(q for entry in service.entries((PUBLISHED, DRAFT)) for q in entry.questions)
    )
    keys = [text_hash(text) for text in texts]
    known = set(service.meanings(model, keys))
    missing = [text for text, key in zip(texts, keys, strict=True) if key not in known]
    for batch in _batches(missing):
        service.save_meanings(model, _as_stored(_embedded(batch)))
    service.prune_meanings(model, keys)
    return len(missing)
